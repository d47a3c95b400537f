//! The webhook deliveries a publish queues: one per enabled endpoint, of the vendor, a
//! partner told or a customer that heard directly, whose categories take the message.
//!
//! Endpoints are few beside the customers a message reaches, so this walks the cloud's
//! endpoints and looks each owner up in the routing, never the other way round: a
//! million-customer incident costs what its endpoints cost.

use herald_domain::Routing;
use serde::Deserialize;
use sqlx::{Sqlite, Transaction};

use crate::endpoints::{enabled_for, Mode};
use crate::rows::{DeliveryBatch, PartnerCopyRow, Recipient, BATCH};
use crate::{Publish, StoreError};

/// One webhook delivery as a batch body holds it: the owner (a partner or customer id,
/// `null` for the vendor), the endpoint, and for a partner's endpoint that takes one
/// event per customer, the customer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WebhookEntry(pub Option<String>, pub String, pub Option<String>);

/// Whether `routing` reaches customer `id` directly.
fn heard_directly(publish: &Publish<'_>, routing: &Routing, id: &str) -> bool {
    publish
        .directory
        .customer_ix(id)
        .and_then(|ix| routing.decision_for(ix))
        .is_some_and(|d| d.direct)
}

/// The webhook delivery batches of a publish whose partners' copies are `copies`, one
/// batch per kind of recipient that has any.
pub(crate) async fn webhook_batches(
    tx: &mut Transaction<'static, Sqlite>,
    publish: &Publish<'_>,
    cloud: &str,
    category: &str,
    copies: &[PartnerCopyRow<'_>],
) -> Result<Vec<DeliveryBatch>, StoreError> {
    let mut entries: [(Recipient, Vec<WebhookEntry>); 3] = [
        (Recipient::Vendor, Vec::new()),
        (Recipient::Partner, Vec::new()),
        (Recipient::Customer, Vec::new()),
    ];
    for e in enabled_for(&mut **tx, cloud, category).await? {
        let owner = e.owner.clone();
        let endpoint = e.id.clone();
        match (e.owner_kind.as_str(), e.owner.as_deref()) {
            ("vendor", _) => entries[0].1.push(WebhookEntry(None, endpoint, None)),
            ("partner", Some(partner)) => {
                let Some(copy) = copies.iter().find(|c| c.partner == partner) else {
                    continue;
                };
                if e.mode == Mode::PerCustomer {
                    let customers: Vec<String> = crate::store::ids(&copy.customers)?;
                    entries[1].1.extend(
                        customers
                            .into_iter()
                            .map(|c| WebhookEntry(owner.clone(), endpoint.clone(), Some(c))),
                    );
                } else {
                    entries[1].1.push(WebhookEntry(owner, endpoint, None));
                }
            }
            ("customer", Some(customer)) if heard_directly(publish, publish.routing, customer) => {
                entries[2].1.push(WebhookEntry(owner, endpoint, None));
            }
            _ => {}
        }
    }
    let mut batches = Vec::new();
    for (recipient, list) in entries {
        for chunk in list.chunks(BATCH) {
            let body: Vec<_> = chunk
                .iter()
                .map(|WebhookEntry(owner, endpoint, customer)| (owner, endpoint, customer))
                .collect();
            batches.push(DeliveryBatch {
                recipient,
                channel: "webhook",
                deliveries: chunk.len(),
                body: serde_json::to_string(&body).expect("ids serialise"),
            });
        }
    }
    Ok(batches)
}
