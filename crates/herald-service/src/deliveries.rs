//! Deliveries as each principal may see them: the vendor every delivery of its cloud, a
//! partner or customer only those sent to it; any other is not found. Each can read every
//! attempt at one, and replay one that died (or arrived and is wanted again).

use herald_store::{ChannelCounts, DeliveryDetail, DeliveryView, Replayed, Troubled};

use crate::{Caller, Refusal, Service, ServiceError};

/// A page of deliveries, newest first, and where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    /// The delivery id to pass as `before` for the next page, when there is one.
    pub next: Option<i64>,
}

/// The refusal of a delivery the caller may not see, as if it did not exist.
fn no_delivery(id: i64) -> Refusal {
    Refusal::not_found(format!("delivery {id}"))
}

impl Service {
    /// The deliveries `caller` may see, newest first, `limit` of them older than `before`:
    /// those of `message` (in `status` when given: pending, delivered, retrying or dead),
    /// or with no message, those retrying or dead (or in `status`, one of the two).
    pub async fn deliveries(
        &self,
        caller: &Caller,
        message: Option<&str>,
        status: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<DeliveryPage, ServiceError> {
        let cloud = caller.0.cloud();
        let own = caller.own_deliveries();
        let bad_status = |s: &str| {
            Refusal::Malformed(format!(
                "parameter `status`: {s:?} is not a delivery state here; use {}",
                if message.is_some() {
                    "pending, delivered, retrying or dead"
                } else {
                    "retrying or dead (or name a `message` to list pending or delivered ones)"
                }
            ))
        };
        let mut deliveries = match (message, status) {
            // Those that failed are found among the failures, however many arrived.
            (message, Some(s @ ("retrying" | "dead"))) => {
                let which = Troubled {
                    status: Some(s),
                    message,
                    to: own,
                    endpoint: None,
                };
                self.store()
                    .troubled_deliveries(cloud, which, before, limit + 1)
                    .await?
            }
            (Some(message), _) => {
                if let Some(s) = status.filter(|s| !["pending", "delivered"].contains(s)) {
                    return Err(bad_status(s).into());
                }
                // Read one more than the page, as a page of only the wanted states may need
                // to look further; the filter applies to what was read.
                self.store()
                    .message_deliveries(cloud, message, own, before, limit + 1)
                    .await?
                    .into_iter()
                    .filter(|d| status.is_none_or(|s| d.status == s))
                    .collect::<Vec<_>>()
            }
            (None, Some(other)) => return Err(bad_status(other).into()),
            (None, None) => {
                let which = Troubled {
                    to: own,
                    ..Troubled::default()
                };
                self.store()
                    .troubled_deliveries(cloud, which, before, limit + 1)
                    .await?
            }
        };
        let more = deliveries.len() > limit;
        deliveries.truncate(limit);
        let next = more.then(|| deliveries.last().map(|d| d.id)).flatten();
        Ok(DeliveryPage { deliveries, next })
    }

    /// The webhooks to `caller`'s endpoint `endpoint` that did not arrive at their first
    /// attempt, retrying or dead, newest first, `limit` of them. An endpoint the caller
    /// may not see has none.
    pub async fn endpoint_failures(
        &self,
        caller: &Caller,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryView>, ServiceError> {
        let which = Troubled {
            to: caller.own_deliveries(),
            endpoint: Some(endpoint),
            ..Troubled::default()
        };
        Ok(self
            .store()
            .troubled_deliveries(caller.0.cloud(), which, None, limit)
            .await?)
    }

    /// Where the deliveries of message `id` stand, by channel: the vendor's alone.
    pub async fn delivery_counts(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Vec<ChannelCounts>, ServiceError> {
        self.sight(caller, id)
            .await?
            .vendor_only("deliveries in numbers")?;
        Ok(self
            .store()
            .delivery_counts(caller.0.cloud(), id)
            .await?
            .ok_or_else(|| Refusal::not_found(format!("message \"{id}\"")))?)
    }

    /// Delivery `id` with every attempt, when `caller` may see it.
    pub async fn delivery(&self, caller: &Caller, id: i64) -> Result<DeliveryDetail, ServiceError> {
        let detail = self.store().delivery(caller.0.cloud(), id).await?;
        Ok(detail
            .filter(|d| {
                caller.own_deliveries().is_none_or(|(kind, org)| {
                    d.delivery.recipient == kind && d.delivery.org.as_deref() == Some(org)
                })
            })
            .ok_or_else(|| no_delivery(id))?)
    }

    /// Replays delivery `id` for `caller`, who may see it, at `now`: a worker tries it at
    /// once, then on the retry schedule. Answers the delivery as it now stands; one still
    /// pending or retrying is refused, as a worker will try it anyway.
    pub async fn replay(
        &self,
        caller: &Caller,
        id: i64,
        now: i64,
    ) -> Result<DeliveryDetail, ServiceError> {
        self.delivery(caller, id).await?;
        match self
            .store()
            .replay(caller.0.cloud(), id, now, &caller.actor())
            .await?
        {
            Replayed::Queued => self.delivery(caller, id).await,
            Replayed::StillQueued(d) => Err(Refusal::StillQueued(format!(
                "delivery {id} is still {}: a worker will try it, so there is nothing to replay",
                d.status
            ))
            .into()),
            Replayed::Unknown => Err(no_delivery(id).into()),
        }
    }
}
