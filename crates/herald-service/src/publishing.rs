//! Publishing a message as its publisher sent it: recognise a repeat, check the message
//! against the stored directory, route it (an update of an incident thread widened to
//! everyone the thread has reached), hand the routed message to the store, and route again
//! when the directory, or the thread, changed in between. A dry run answers the routing
//! report instead, and stores nothing.

use herald_domain::ids::CloudId;
use herald_domain::report::{report, Report};
use herald_domain::thread::route_update;
use herald_domain::{route, wire, Directory, Message, Routing};
use herald_store::{Actor, MessageSummary, Publish, Published, StoreError};
use tokio::runtime::RuntimeFlavor;

use crate::{Caller, Refusal, Service, ServiceError};

/// What became of a published message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Newly accepted and durably enqueued.
    Accepted(MessageSummary),
    /// The same message was already accepted: nothing changed, and this is its summary.
    Repeated(MessageSummary),
    /// Another message was already accepted under this id.
    Conflict(String),
    /// The message breaks a rule of the policy or names what the directory does not hold;
    /// the reason is a sentence for the publisher.
    Invalid(String),
}

impl Outcome {
    /// Why a message under the taken id `id` is refused, naming the field: the same
    /// sentence whichever way the message came.
    pub fn conflict_reason(id: &str) -> String {
        format!("field `id`: {}", StoreError::Conflict(id.to_owned()))
    }
}

/// A message in the vendor's cloud, as `actor` speaks for it: a message naming no cloud is
/// for `cloud`, and one naming another cloud is refused.
pub(crate) fn in_cloud(
    cloud: &str,
    wire: &mut wire::Message,
    actor: &Actor,
) -> Result<(), Refusal> {
    match &wire.cloud {
        None => {
            wire.cloud = Some(CloudId::from(cloud));
            Ok(())
        }
        Some(c) if c.as_str() == cloud => Ok(()),
        Some(c) => {
            let speaker = match actor {
                Actor::Bus { subject, .. } => format!("subject {subject} publishes"),
                _ => "this key acts".to_owned(),
            };
            Err(Refusal::Forbidden(format!(
                "field `cloud`: {speaker} in cloud \"{cloud}\" only, and the message is for cloud \"{c}\""
            )))
        }
    }
}

/// Runs `work`, which computes without yielding, so that it holds up no other task: on a
/// multi-threaded runtime the worker first hands its other tasks to another thread.
/// Elsewhere (a single-threaded runtime, or no runtime) it just runs.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

impl Service {
    /// Publishes `wire` at `now` (Unix milliseconds) against the stored directory; when the
    /// directory changes before the message is stored, it is read again and the message
    /// routed again.
    ///
    /// A repeat is recognised before the message is checked against today's directory: a
    /// retry after the directory changed is still the message already accepted. The audit
    /// log says `actor` published an accepted message.
    pub async fn publish(
        &self,
        wire: &wire::Message,
        now: i64,
        actor: &Actor,
    ) -> Result<Outcome, StoreError> {
        if let Some(repeat) = self.repeat(wire).await? {
            return Ok(repeat);
        }
        let policy = self.policy();
        let mut snapshot = self.current_snapshot().await?;
        loop {
            let message = match Message::parse(wire.clone(), policy, &snapshot.directory) {
                Ok(message) => message,
                Err(e) => return Ok(Outcome::Invalid(e.reason)),
            };
            let (routing, thread_head) =
                match self.route_in_thread(&snapshot.directory, &message).await? {
                    Ok(routed) => routed,
                    Err(reason) => return Ok(Outcome::Invalid(reason)),
                };
            let publish = Publish {
                policy,
                directory: &snapshot.directory,
                message: &message,
                routing: &routing,
                accepted_at: now,
                thread_head,
            };
            match self
                .store()
                .publish(&publish, Some(snapshot.generation), actor)
                .await
            {
                Ok(Published::Accepted(summary)) => return Ok(Outcome::Accepted(summary)),
                Ok(Published::Repeated(summary)) => return Ok(Outcome::Repeated(summary)),
                Err(StoreError::Conflict(id)) => return Ok(Outcome::Conflict(id)),
                Err(StoreError::ThreadMoved(_)) => {}
                Err(StoreError::DirectoryChanged) => {
                    snapshot = self.current_snapshot().await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Publishes `wire` at `now` for `caller`, who must be the vendor of one cloud: a
    /// message naming no cloud is for the caller's, and one naming another is refused.
    pub async fn publish_as(
        &self,
        caller: &Caller,
        wire: wire::Message,
        now: i64,
    ) -> Result<Outcome, ServiceError> {
        let cloud = caller.vendor_cloud("publish messages")?;
        self.publish_in(cloud, wire, now, &caller.actor()).await
    }

    /// Publishes `wire` at `now` in `cloud` for `actor`, who speaks for its vendor (the
    /// message bus, whose subject names the cloud): a message naming no cloud is for
    /// `cloud`, and one naming another is refused.
    pub async fn publish_in(
        &self,
        cloud: &str,
        mut wire: wire::Message,
        now: i64,
        actor: &Actor,
    ) -> Result<Outcome, ServiceError> {
        in_cloud(cloud, &mut wire, actor)?;
        Ok(self.publish(&wire, now, actor).await?)
    }

    /// Who would hear of `wire` were `caller` to publish it now, and why: the routing
    /// report against the stored directory, widened to the thread it updates. Nothing is
    /// stored.
    pub async fn route_report(
        &self,
        caller: &Caller,
        mut wire: wire::Message,
    ) -> Result<Report, ServiceError> {
        in_cloud(
            caller.vendor_cloud("route messages")?,
            &mut wire,
            &caller.actor(),
        )?;
        let snapshot = self.current_snapshot().await?;
        let message = Message::parse(wire, self.policy(), &snapshot.directory)
            .map_err(|e| Refusal::InvalidMessage(e.reason))?;
        let (routing, _) = self
            .route_in_thread(&snapshot.directory, &message)
            .await?
            .map_err(Refusal::InvalidMessage)?;
        // The report takes time in proportion to the customers in scope: a blocking thread
        // writes it, so that no other task waits on this one.
        let service = self.clone();
        tokio::task::spawn_blocking(move || {
            report(service.policy(), &snapshot.directory, &message, &routing)
        })
        .await
        .map_err(|e| ServiceError::Failed(format!("the routing report was not written: {e}")))
    }

    /// Routes `message` against `directory`, widened to everyone its thread has reached
    /// when it updates one. Answers the routing and the thread's head it was widened from,
    /// or why the message cannot update its thread.
    pub async fn route_in_thread(
        &self,
        directory: &Directory,
        message: &Message,
    ) -> Result<Result<(Routing, Option<i64>), String>, StoreError> {
        let policy = self.policy();
        let Some(thread) = &message.thread else {
            return Ok(Ok((blocking(|| route(policy, directory, message)), None)));
        };
        let cloud = directory.cloud(message.cloud).as_str();
        let Some(head) = self
            .store()
            .thread_head(cloud, thread.id.as_str(), directory)
            .await?
        else {
            return Ok(Ok((blocking(|| route(policy, directory, message)), None)));
        };
        let category = &policy.category(message.category).name;
        if &head.category != category {
            return Ok(Err(format!(
                "message \"{}\" was rejected: thread \"{}\" is a thread of `{}` messages, and this one is `{category}`; name another thread or publish it as `{}`",
                message.id, thread.id, head.category, head.category
            )));
        }
        let routing = blocking(|| route_update(policy, directory, message, &head.reached));
        Ok(Ok((routing, Some(head.head))))
    }

    /// What an already stored message under `wire`'s id makes of it: a repeat, a conflict,
    /// or nothing when the id is new.
    async fn repeat(&self, wire: &wire::Message) -> Result<Option<Outcome>, StoreError> {
        let id = wire.id.as_str();
        let cloud = wire.cloud.as_ref().map_or("global", |c| c.as_str());
        let Some(stored) = self.store().request(cloud, id).await? else {
            return Ok(None);
        };
        if stored != wire.canonical() {
            return Ok(Some(Outcome::Conflict(id.to_owned())));
        }
        let summary = self
            .store()
            .summary(cloud, id)
            .await?
            .ok_or_else(|| StoreError::Damaged(format!("message \"{id}\" was lost")))?;
        Ok(Some(Outcome::Repeated(summary)))
    }
}
