//! What each principal may read: the vendor every message of its cloud, a partner the
//! copies it was sent (its own customers and subscriptions), a customer the copies it
//! heard directly; a thread's updates and an inbox likewise. Anything else is refused
//! exactly as if it did not exist.

use std::collections::BTreeMap;

use herald_store::{
    Audience, Content, DecisionView, Filter, InboxPage, MessageSummary, MessageView, Page,
    PartnerCopyView, Principal, StoreError, ThreadSummary,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::{Caller, Refusal, Service, ServiceError};

/// What the caller may see of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Sight {
    /// The vendor of the message's cloud: everything.
    Vendor(MessageSummary),
    /// A partner told about it: its own copy.
    Partner(MessageSummary, PartnerCopyView),
    /// A customer that heard directly: its own copy.
    Customer(MessageSummary, DecisionView),
}

impl Sight {
    /// The message seen.
    pub fn summary(&self) -> &MessageSummary {
        match self {
            Sight::Vendor(m) | Sight::Partner(m, _) | Sight::Customer(m, _) => m,
        }
    }

    /// The message, for the vendor alone: a partner or customer that may see it may not
    /// see its `what` (its decisions, say).
    pub fn vendor_only(self, what: &str) -> Result<MessageSummary, Refusal> {
        match self {
            Sight::Vendor(summary) => Ok(summary),
            _ => Err(Refusal::Forbidden(format!(
                "only the vendor may read a message's {what}"
            ))),
        }
    }
}

/// The refusal for a message the caller may not know of.
fn no_message(id: &str) -> Refusal {
    Refusal::not_found(format!("message \"{id}\""))
}

/// The stored request of message `id`, read as `T`.
fn parse_request<T: DeserializeOwned>(id: &str, request: &str) -> Result<T, ServiceError> {
    serde_json::from_str(request).map_err(|e| {
        StoreError::Damaged(format!("message \"{id}\" request does not parse: {e}")).into()
    })
}

impl Service {
    /// What `caller` may see of message `id`; refused as not found when it may not know
    /// the message exists.
    pub async fn sight(&self, caller: &Caller, id: &str) -> Result<Sight, ServiceError> {
        let summary = self
            .store()
            .summary(caller.0.cloud(), id)
            .await?
            .ok_or_else(|| no_message(id))?;
        Ok(self
            .sight_of(caller, summary)
            .await?
            .ok_or_else(|| no_message(id))?)
    }

    /// What `caller` may see of the stored message `summary` sums up, if anything.
    pub async fn sight_of(
        &self,
        caller: &Caller,
        summary: MessageSummary,
    ) -> Result<Option<Sight>, StoreError> {
        let (cloud, id) = (caller.0.cloud(), summary.id.as_str());
        Ok(match &caller.0 {
            Principal::Vendor { .. } => Some(Sight::Vendor(summary)),
            Principal::Partner { partner, .. } => self
                .store()
                .partner_copy(cloud, id, partner)
                .await?
                .map(|copy| Sight::Partner(summary, copy)),
            Principal::Customer { customer, .. } => self
                .store()
                .customer_decision(cloud, id, customer)
                .await?
                .filter(|decision| decision.direct)
                .map(|decision| Sight::Customer(summary, decision)),
        })
    }

    /// Message `id` of `cloud` as published (in canonical form), read as `T`.
    pub async fn request<T: DeserializeOwned>(
        &self,
        cloud: &str,
        id: &str,
    ) -> Result<T, ServiceError> {
        let (_, request) = self
            .store()
            .stored_request(cloud, id)
            .await?
            .ok_or_else(|| no_message(id))?;
        parse_request(id, &request)
    }

    /// Messages `ids` of `cloud` as published (in canonical form), each read as `T`, in
    /// the order of `ids`, read together; one that is not stored is not found.
    pub async fn requests<T: DeserializeOwned>(
        &self,
        cloud: &str,
        ids: &[&str],
    ) -> Result<Vec<T>, ServiceError> {
        let stored = self.store().stored_requests(cloud, ids).await?;
        ids.iter()
            .map(|id| {
                let request = stored.get(*id).ok_or_else(|| no_message(id))?;
                parse_request(id, request)
            })
            .collect()
    }

    /// A message as one who sees it this way may see it: for the vendor, the message as
    /// published with its audience in numbers; for a partner or customer, its own copy.
    pub async fn view(&self, cloud: &str, seen: Sight) -> Result<MessageView, ServiceError> {
        let request: Value = self.request(cloud, &seen.summary().id).await?;
        Ok(match seen {
            Sight::Vendor(summary) => MessageView::vendor(summary, request),
            Sight::Partner(summary, copy) => {
                MessageView::partner(&summary, &request, copy.customers, copy.subscriptions)
            }
            Sight::Customer(summary, decision) => {
                MessageView::customer(&summary, &request, decision.copy.unwrap_or_default())
            }
        })
    }

    /// Message `id` as `caller` may see it.
    pub async fn message_view(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<MessageView, ServiceError> {
        let seen = self.sight(caller, id).await?;
        self.view(caller.0.cloud(), seen).await
    }

    /// A page of the messages `caller` may see, newest first, of those `filter` keeps:
    /// `limit` of them, older than `before` when given.
    pub async fn message_page(
        &self,
        caller: &Caller,
        filter: Filter<'_>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let principal = &caller.0;
        let audience = match principal {
            Principal::Vendor { .. } => Audience::Everyone,
            Principal::Partner { partner, .. } => Audience::Partner(partner),
            Principal::Customer { customer, .. } => Audience::Customer(customer),
        };
        self.store()
            .message_page(principal.cloud(), audience, filter, before, limit)
            .await
    }
}

/// A thread's updates as the caller may see them.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// The thread as far as the caller was told: for a partner or customer, its status
    /// and times are those of the last update it was sent.
    pub thread: ThreadSummary,
    /// Oldest first, each as the caller may see it.
    pub updates: Vec<MessageView>,
}

impl Service {
    /// Thread `id` as `caller` may see it: the vendor every update with its audience; a
    /// partner or customer the updates it was sent, as its own copies. Refused as not
    /// found when the caller was told of none.
    pub async fn timeline(&self, caller: &Caller, id: &str) -> Result<Timeline, ServiceError> {
        let missing = || Refusal::not_found(format!("thread \"{id}\""));
        let cloud = caller.0.cloud();
        let (thread, messages) = self.store().thread(cloud, id).await?.ok_or_else(missing)?;
        let mut seen = Vec::new();
        for message in messages {
            if let Some(sight) = self.sight_of(caller, message).await? {
                seen.push(sight);
            }
        }
        let (Some(first), Some(last)) = (seen.first(), seen.last()) else {
            return Err(missing().into());
        };
        let (first, last) = (first.summary(), last.summary());
        // Those told of only some updates learn where the incident stood when last told.
        let thread = match &caller.0 {
            Principal::Vendor { .. } => thread,
            _ => ThreadSummary {
                status: last.status.clone().unwrap_or(thread.status),
                opened_at: first.accepted_at,
                updated_at: last.accepted_at,
                updates: seen.len() as i64,
                ..thread
            },
        };
        let mut updates = Vec::with_capacity(seen.len());
        for sight in seen {
            updates.push(self.view(cloud, sight).await?);
        }
        Ok(Timeline { thread, updates })
    }

    /// A page of `caller`'s inbox, newest first: the copies a partner or customer was
    /// sent, each with when it was read, and how many are unread. The vendor has none.
    pub async fn inbox(
        &self,
        caller: &Caller,
        before: Option<i64>,
        limit: usize,
    ) -> Result<InboxPage, ServiceError> {
        let reader = caller.reader()?;
        Ok(self
            .store()
            .inbox(caller.0.cloud(), reader, before, limit)
            .await?)
    }

    /// Marks message `id` of `caller`'s inbox read at `now` (the first time counts), and
    /// answers when it was first read.
    pub async fn mark_read(
        &self,
        caller: &Caller,
        id: &str,
        now: i64,
    ) -> Result<i64, ServiceError> {
        let reader = caller.reader()?;
        Ok(self
            .store()
            .mark_read(caller.0.cloud(), reader, id, now)
            .await?
            .ok_or_else(|| Refusal::not_found(format!("message \"{id}\" in this inbox")))?)
    }
}

/// One open incident of one of a partner's customers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    pub thread: String,
    pub category: String,
    pub status: String,
    pub opened_at: i64,
    pub updated_at: i64,
    /// The id of the thread's latest update.
    pub message: String,
    pub content: Content,
    /// The partner's subscriptions of this customer the latest update names.
    pub subscriptions: Vec<String>,
}

/// A customer's open incidents.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerIncidents {
    pub customer: String,
    pub incidents: Vec<Incident>,
}

/// A partner's customers' open incidents.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notices {
    pub customers: Vec<CustomerIncidents>,
    /// How many open threads reached any of the partner's customers.
    pub open_incidents: usize,
}

impl Service {
    /// Every open incident (a thread not yet resolved) that reached any of the customers
    /// of `caller`, a partner, grouped by customer: what a partner would otherwise gather
    /// by hand across its tenants.
    pub async fn partner_notices(&self, caller: &Caller) -> Result<Notices, ServiceError> {
        let Principal::Partner { cloud, partner } = &caller.0 else {
            return Err(Refusal::Forbidden(
                "only a partner key has notices: the open incidents of its own customers".into(),
            )
            .into());
        };
        let notices = self.store().partner_notices(cloud, partner).await?;
        let snapshot = self.current_snapshot().await?;
        let directory = &snapshot.directory;
        let mut by_customer: BTreeMap<&str, Vec<Incident>> = BTreeMap::new();
        for notice in &notices {
            let latest: Value = self.request(cloud, &notice.message).await?;
            for customer in &notice.customers {
                let subscriptions = notice
                    .subscriptions
                    .iter()
                    .filter(|s| {
                        directory.subscription_ix(s).is_some_and(|ix| {
                            let held_by = directory.subscription(ix).customer;
                            directory.customer(held_by).id.as_str() == customer
                        })
                    })
                    .cloned()
                    .collect();
                by_customer.entry(customer).or_default().push(Incident {
                    thread: notice.thread.id.clone(),
                    category: notice.thread.category.clone(),
                    status: notice.thread.status.clone(),
                    opened_at: notice.thread.opened_at,
                    updated_at: notice.thread.updated_at,
                    message: notice.message.clone(),
                    content: Content::of(&latest),
                    subscriptions,
                });
            }
        }
        let customers = by_customer
            .into_iter()
            .map(|(customer, incidents)| CustomerIncidents {
                customer: customer.to_owned(),
                incidents,
            })
            .collect();
        Ok(Notices {
            customers,
            open_incidents: notices.len(),
        })
    }
}
