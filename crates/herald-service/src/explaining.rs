//! Why a customer or partner did or did not hear about a stored message: the message
//! routed again against the directory as it is now (an update of a thread widened to
//! everyone the thread had reached before it), explained in the words of the rules, beside
//! what was decided when it was published, and whether today's directory would decide
//! otherwise; or a message not yet published, explained against the directory it would be
//! published on.

use herald_domain::explain::{explain_customer, explain_partner, Explanation};
use herald_domain::plan::partner_copies;
use herald_domain::thread::route_update;
use herald_domain::{wire, Message};
use herald_store::{DecisionView, PartnerCopyView, StoreError};
use serde::Serialize;

use crate::{Caller, Refusal, Service, ServiceError};

/// What was stored for the customer or partner explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Decided {
    Customer(DecisionView),
    Partner(PartnerCopyView),
}

/// An explanation against today's directory, with what was decided when the message was
/// published.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explained {
    #[serde(flatten)]
    pub explanation: Explanation,
    /// The decision (or partner copy) stored when the message was published; null when
    /// it did not reach them.
    pub decided: Option<Decided>,
    /// Whether today's directory would decide otherwise.
    pub changed_since: bool,
}

impl Service {
    /// Why `customer` would or would not hear about `wire` if `caller`, the vendor of its
    /// cloud, published it now: the explanation of a draft, stored nowhere.
    pub async fn explain_draft(
        &self,
        caller: &Caller,
        mut wire: wire::Message,
        customer: &str,
    ) -> Result<Explanation, ServiceError> {
        crate::publishing::in_cloud(
            caller.vendor_cloud("explain messages")?,
            &mut wire,
            &caller.actor(),
        )?;
        let snapshot = self.current_snapshot().await?;
        let (policy, directory) = (self.policy(), &snapshot.directory);
        let message = Message::parse(wire, policy, directory)
            .map_err(|e| Refusal::InvalidMessage(e.reason))?;
        let (routing, _) = self
            .route_in_thread(directory, &message)
            .await?
            .map_err(Refusal::InvalidMessage)?;
        Ok(
            explain_customer(policy, directory, &message, &routing, customer)
                .map_err(|e| Refusal::NotFound(e.0))?,
        )
    }

    /// Explains message `id` to `caller`, who must be the vendor of its cloud, for exactly
    /// one of `customer` and `partner`.
    pub async fn explain(
        &self,
        caller: &Caller,
        id: &str,
        customer: Option<&str>,
        partner: Option<&str>,
    ) -> Result<Explained, ServiceError> {
        self.sight(caller, id).await?.vendor_only("explanations")?;
        let cloud = caller.0.cloud();
        let (seq, wire) = self
            .store()
            .stored_request(cloud, id)
            .await?
            .ok_or_else(|| Refusal::not_found(format!("message \"{id}\"")))?;
        let wire: wire::Message = serde_json::from_str(&wire).map_err(|e| {
            StoreError::Damaged(format!("message \"{id}\" request does not parse: {e}"))
        })?;
        let snapshot = self.current_snapshot().await?;
        let (policy, directory) = (self.policy(), &snapshot.directory);
        let message = Message::parse(wire, policy, directory).map_err(|e| {
            Refusal::InvalidMessage(format!(
                "the message no longer fits the directory: {}",
                e.reason
            ))
        })?;
        // An update of a thread was widened to everyone the thread had reached before it.
        let before = match &message.thread {
            Some(thread) => {
                self.store()
                    .reached_before(cloud, thread.id.as_str(), seq, directory)
                    .await?
            }
            None => Vec::new(),
        };
        let routing = route_update(policy, directory, &message, &before);
        let explained = match (customer, partner) {
            (Some(customer), None) => {
                explain_customer(policy, directory, &message, &routing, customer)
            }
            (None, Some(partner)) => {
                explain_partner(policy, directory, &message, &routing, partner)
            }
            _ => {
                return Err(Refusal::Malformed(
                    "pass exactly one of the parameters `customer` and `partner`".into(),
                )
                .into())
            }
        };
        let mut explanation = explained.map_err(|e| Refusal::NotFound(e.0))?;
        // What was stored when the message was published, and whether today's directory
        // would decide the same: the reasons are given against today's.
        let (decided, same) = match (customer, partner) {
            (Some(customer), _) => {
                let stored = self.store().customer_decision(cloud, id, customer).await?;
                let now = directory
                    .customer_ix(customer)
                    .and_then(|c| routing.decision_for(c))
                    .map(|d| {
                        let partners = routing.partners(d).iter();
                        let partners: Vec<String> = partners
                            .map(|p| directory.partner(*p).id.to_string())
                            .collect();
                        (d.direct, partners)
                    });
                let same = stored.as_ref().map(|d| (d.direct, d.partners.clone())) == now;
                (stored.map(Decided::Customer), same)
            }
            (_, partner) => {
                let partner = partner.unwrap_or_default();
                let stored = self.store().partner_copy(cloud, id, partner).await?;
                let now = directory.partner_ix(partner).and_then(|p| {
                    partner_copies(policy, directory, &message, &routing)
                        .into_iter()
                        .find(|c| c.partner == p)
                        .map(|c| {
                            let customers = c.customers.iter();
                            customers
                                .map(|c| directory.customer(*c).id.to_string())
                                .collect::<Vec<_>>()
                        })
                });
                let same = stored.as_ref().map(|c| c.customers.clone()) == now;
                (stored.map(Decided::Partner), same)
            }
        };
        if !same {
            explanation.lines.insert(0, format!("The directory has changed since message {id} was published, and today it would be decided otherwise: `decided` is what was decided then, and the reasons below are today's."));
        }
        Ok(Explained {
            explanation,
            decided,
            changed_since: !same,
        })
    }
}
