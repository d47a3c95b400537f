//! Publishing a message as its publisher sent it: recognise a repeat, check the message
//! against the stored directory, route it, store it, and route again when the directory
//! changed in between. An update of an incident thread is routed to the thread's audience
//! so far too, and again when another update was stored in between. The CLI and the HTTP
//! API both publish through here, so a message means the same whichever way it came.

use std::sync::Arc;

use herald_domain::thread::route_update;
use herald_domain::{route, wire, Directory, Message, Policy, Routing};

use crate::audit::Actor;
use crate::rows::Publish;
use crate::store::{blocking, MessageSummary, Published, Snapshot, Store, StoreError};

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

impl Store {
    /// Publishes `wire` at `now` (Unix milliseconds) against `snapshot`, the stored
    /// directory as last read; when the directory has changed since, `snapshot` is read
    /// again and the message routed again.
    ///
    /// A repeat is recognised before the message is checked against today's directory: a
    /// retry after the directory changed is still the message already accepted. The audit
    /// log says `actor` published an accepted message.
    pub async fn publish_wire(
        &self,
        policy: &Policy,
        snapshot: &mut Arc<Snapshot>,
        wire: &wire::Message,
        now: i64,
        actor: &Actor,
    ) -> Result<Outcome, StoreError> {
        if let Some(repeat) = self.repeat(wire).await? {
            return Ok(repeat);
        }
        loop {
            let message = match Message::parse(wire.clone(), policy, &snapshot.directory) {
                Ok(message) => message,
                Err(e) => return Ok(Outcome::Invalid(e.reason)),
            };
            let (routing, thread_head) = match self
                .route_in_thread(policy, &snapshot.directory, &message)
                .await?
            {
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
                .publish(&publish, Some(snapshot.generation), actor)
                .await
            {
                Ok(Published::Accepted(summary)) => return Ok(Outcome::Accepted(summary)),
                Ok(Published::Repeated(summary)) => return Ok(Outcome::Repeated(summary)),
                Err(StoreError::Conflict(id)) => return Ok(Outcome::Conflict(id)),
                Err(StoreError::ThreadMoved(_)) => {}
                Err(StoreError::DirectoryChanged) => {
                    *snapshot = Arc::new(self.load_snapshot().await?);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Routes `message` against `directory`, widened to everyone its thread has reached
    /// when it updates one. Answers the routing and the thread's head it was widened from,
    /// or why the message cannot update its thread.
    pub async fn route_in_thread(
        &self,
        policy: &Policy,
        directory: &Directory,
        message: &Message,
    ) -> Result<Result<(Routing, Option<i64>), String>, StoreError> {
        let Some(thread) = &message.thread else {
            return Ok(Ok((blocking(|| route(policy, directory, message)), None)));
        };
        let cloud = directory.cloud(message.cloud).as_str();
        let Some(head) = self
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
        let Some(stored) = self.request(cloud, id).await? else {
            return Ok(None);
        };
        if stored != wire.canonical() {
            return Ok(Some(Outcome::Conflict(id.to_owned())));
        }
        let summary = self
            .summary(cloud, id)
            .await?
            .ok_or_else(|| StoreError::Damaged(format!("message \"{id}\" was lost")))?;
        Ok(Some(Outcome::Repeated(summary)))
    }
}
