//! The rows a publish writes, computed from a routing before any I/O.
//!
//! Building the rows is pure and separate from writing them, so the benchmark can write the
//! very same rows through a bare `INSERT` as its baseline.

use herald_domain::plan::{customer_copy, partner_copies, Reader};
use herald_domain::{Directory, Message, Policy, Routing};

/// The `messages` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub id: String,
    pub cloud: String,
    pub category: String,
    pub policy_version: String,
    pub request: String,
    pub accepted_at: i64,
    pub customers_in_scope: i64,
    pub customers_direct: i64,
    pub partners_told: i64,
    pub deliveries: i64,
}

/// A `decisions` row; list columns hold JSON arrays of ids. Ids and rule ids are borrowed
/// from the directory and the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRow<'a> {
    pub customer: &'a str,
    pub direct: bool,
    pub partners: String,
    pub subscriptions: String,
    /// The subscriptions the customer's own copy names, when it hears directly.
    pub copy: Option<String>,
    pub scope_rule: &'a str,
    pub customer_rule: &'a str,
    pub partners_rule: &'a str,
}

/// A `partner_copies` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerCopyRow<'a> {
    pub partner: &'a str,
    pub customers: String,
    pub subscriptions: String,
}

/// A `deliveries` row, pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow<'a> {
    pub recipient: &'static str,
    pub org: &'a str,
    pub contact: &'a str,
    pub channel: &'static str,
    pub address: &'a str,
    pub locale: &'a str,
}

/// Everything one publish writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows<'a> {
    pub message: MessageRow,
    pub decisions: Vec<DecisionRow<'a>>,
    pub partner_copies: Vec<PartnerCopyRow<'a>>,
    pub deliveries: Vec<DeliveryRow<'a>>,
}

/// A JSON array of ids. Ids are nearly always plain text, written as they are; any other is
/// escaped by serde_json.
fn json_ids<'a, I>(ids: I) -> String
where
    I: Iterator<Item = &'a str> + Clone,
{
    let mut out = String::with_capacity(2 + ids.clone().map(|id| id.len() + 3).sum::<usize>());
    out.push('[');
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if id.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            out.push('"');
            out.push_str(id);
            out.push('"');
        } else {
            out.push_str(&serde_json::to_string(id).expect("a string serialises"));
        }
    }
    out.push(']');
    out
}

impl<'a> Rows<'a> {
    /// The rows for a routed message accepted at `accepted_at` (Unix milliseconds).
    pub fn build(
        policy: &'a Policy,
        directory: &'a Directory,
        message: &'a Message,
        routing: &Routing,
        accepted_at: i64,
    ) -> Rows<'a> {
        let category = policy.category(message.category);
        let scope_rule = policy.rule(category.scope_rule).id.as_str();
        let sub_id =
            |s: &herald_domain::ids::SubscriptionIx| directory.subscription(*s).id.as_str();
        let mut decisions = Vec::with_capacity(routing.decisions().len());
        let mut deliveries = Vec::with_capacity(routing.decisions().len());
        for d in routing.decisions() {
            let customer = directory.customer(d.customer);
            let copy = customer_copy(policy, directory, message, routing, d);
            if let Some(copy) = &copy {
                deliveries.extend(
                    copy.readers
                        .iter()
                        .map(|r| delivery(directory, "customer", customer.id.as_str(), r)),
                );
            }
            decisions.push(DecisionRow {
                customer: customer.id.as_str(),
                direct: d.direct,
                partners: json_ids(
                    routing
                        .partners(d)
                        .iter()
                        .map(|p| directory.partner(*p).id.as_str()),
                ),
                subscriptions: json_ids(routing.subscriptions(d).iter().map(sub_id)),
                copy: copy.map(|c| json_ids(c.subscriptions.iter().map(sub_id))),
                scope_rule,
                customer_rule: &policy.rule(d.customer_rule).id,
                partners_rule: &policy.rule(d.partners_rule).id,
            });
        }
        let copies = partner_copies(policy, directory, message, routing);
        let mut partner_rows = Vec::with_capacity(copies.len());
        for copy in &copies {
            let partner = directory.partner(copy.partner);
            deliveries.extend(
                copy.readers
                    .iter()
                    .map(|r| delivery(directory, "partner", partner.id.as_str(), r)),
            );
            partner_rows.push(PartnerCopyRow {
                partner: partner.id.as_str(),
                customers: json_ids(
                    copy.customers
                        .iter()
                        .map(|c| directory.customer(*c).id.as_str()),
                ),
                subscriptions: json_ids(copy.subscriptions.iter().map(sub_id)),
            });
        }
        Rows {
            message: MessageRow {
                id: message.id.to_string(),
                cloud: directory.cloud(message.cloud).to_string(),
                category: category.name.clone(),
                policy_version: policy.version().to_owned(),
                request: message.wire.canonical(),
                accepted_at,
                customers_in_scope: decisions.len() as i64,
                customers_direct: decisions.iter().filter(|d| d.direct).count() as i64,
                partners_told: partner_rows.len() as i64,
                deliveries: deliveries.len() as i64,
            },
            decisions,
            partner_copies: partner_rows,
            deliveries,
        }
    }
}

/// The pending email delivery of a copy to one of its readers.
fn delivery<'a>(
    directory: &'a Directory,
    recipient: &'static str,
    org: &'a str,
    reader: &Reader<'a>,
) -> DeliveryRow<'a> {
    let contact = directory.contact(reader.contact);
    DeliveryRow {
        recipient,
        org,
        contact: contact.id.as_str(),
        channel: "email",
        address: &contact.email,
        locale: reader.locale,
    }
}
