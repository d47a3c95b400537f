//! The webhook deliveries a publish queues: one per enabled endpoint, of the vendor, a
//! partner told or a customer that heard directly, whose categories take the message.
//!
//! Endpoints are few beside the customers a message reaches, so this walks the cloud's
//! endpoints and looks each owner up in the routing, never the other way round: a
//! million-customer incident costs what its endpoints cost.

use crate::engine::Tx;
use herald_domain::Routing;
use serde::Deserialize;

use crate::endpoints::{enabled_for, Mode};
use crate::error::StoreError;
use crate::rows::{Audiences, DeliveryBatch, Publish, Recipient, BATCH};

/// One webhook delivery as a batch body holds it: the owner (a partner or customer id,
/// `null` for the vendor), the endpoint, and for a partner's endpoint that takes one
/// event per customer, the customer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WebhookEntry {
    /// The partner or customer that owns the endpoint; `None` for the vendor.
    pub owner: Option<String>,
    /// The endpoint's id.
    pub endpoint: String,
    /// The customer the event is about, for a partner's endpoint in per-customer mode.
    pub customer: Option<String>,
}

impl WebhookEntry {
    /// A delivery to `endpoint` of `owner` (the vendor's when `None`), about `customer`
    /// when the endpoint takes one event per customer.
    pub fn new(owner: Option<String>, endpoint: String, customer: Option<String>) -> Self {
        WebhookEntry {
            owner,
            endpoint,
            customer,
        }
    }
}

/// Whether `routing` reaches customer `id` directly.
fn heard_directly(publish: &Publish<'_>, routing: &Routing, id: &str) -> bool {
    publish
        .directory
        .customer_ix(id)
        .and_then(|ix| routing.decision_for(ix))
        .is_some_and(|d| d.direct)
}

/// The webhook delivery batches of a publish whose partners' copies list `audiences`, one
/// batch per kind of recipient that has any.
pub(crate) async fn webhook_batches(
    tx: &mut Tx,
    publish: &Publish<'_>,
    cloud: &str,
    category: &str,
    audiences: &Audiences,
) -> Result<Vec<DeliveryBatch>, StoreError> {
    let mut entries: [(Recipient, Vec<WebhookEntry>); 3] = [
        (Recipient::Vendor, Vec::new()),
        (Recipient::Partner, Vec::new()),
        (Recipient::Customer, Vec::new()),
    ];
    let directory = publish.directory;
    for e in enabled_for(tx, cloud, category).await? {
        let owner = e.owner.clone();
        let endpoint = e.id.clone();
        match (e.owner_kind.as_str(), e.owner.as_deref()) {
            ("vendor", _) => entries[0].1.push(WebhookEntry::new(None, endpoint, None)),
            ("partner", Some(partner)) => {
                let customers = directory
                    .partner_ix(partner)
                    .map(|p| audiences.customers(p));
                let Some(customers) = customers.filter(|c| !c.is_empty()) else {
                    continue;
                };
                if e.mode == Mode::PerCustomer {
                    entries[1].1.extend(customers.iter().map(|c| {
                        let customer = directory.customer(*c).id.to_string();
                        WebhookEntry::new(owner.clone(), endpoint.clone(), Some(customer))
                    }));
                } else {
                    entries[1].1.push(WebhookEntry::new(owner, endpoint, None));
                }
            }
            ("customer", Some(customer)) if heard_directly(publish, publish.routing, customer) => {
                entries[2].1.push(WebhookEntry::new(owner, endpoint, None));
            }
            _ => {}
        }
    }
    let mut batches = Vec::new();
    for (recipient, list) in entries {
        for chunk in list.chunks(BATCH) {
            let body: Vec<_> = chunk
                .iter()
                .map(|e| (&e.owner, &e.endpoint, &e.customer))
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
