//! The routing report: decisions and copies of one message in the shape the CLI prints
//! and the store keeps (`{"message", "decisions": [{"customer", "direct", "partners"}…]}`,
//! the conformance contract, with the rules, readers and copies added).

use serde::Serialize;

use crate::directory::Directory;
use crate::message::Message;
use crate::plan::{customer_copy, partner_copies, Reader};
use crate::policy::Policy;
use crate::route::{Decision, Routing};

/// One message's routing, ready to serialise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub message: String,
    pub category: String,
    pub cloud: String,
    pub policy: String,
    pub decisions: Vec<DecisionReport>,
    pub partner_copies: Vec<PartnerCopyReport>,
}

/// One customer's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionReport {
    pub customer: String,
    pub direct: bool,
    pub partners: Vec<String>,
    pub rules: Rules,
    /// The customer's in-scope subscriptions.
    pub subscriptions: Vec<String>,
    /// The customer's own copy, when it hears directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyReport>,
}

/// The rules behind a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rules {
    pub scope: String,
    pub customer: String,
    pub partners: String,
}

/// The customer's copy: what it names and who reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CopyReport {
    pub subscriptions: Vec<String>,
    pub readers: Vec<ReaderReport>,
}

/// A partner's copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerCopyReport {
    pub partner: String,
    pub customers: Vec<String>,
    pub subscriptions: Vec<String>,
    pub readers: Vec<ReaderReport>,
}

/// A contact who reads a copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReaderReport {
    pub contact: String,
    pub email: String,
    pub locale: String,
}

fn readers(directory: &Directory, readers: &[Reader]) -> Vec<ReaderReport> {
    readers
        .iter()
        .map(|r| {
            let c = directory.contact(r.contact);
            ReaderReport {
                contact: c.id.to_string(),
                email: c.email.clone(),
                locale: r.locale.to_owned(),
            }
        })
        .collect()
}

/// One decision as reported.
pub fn decision(
    policy: &Policy,
    directory: &Directory,
    message: &Message,
    routing: &Routing,
    d: &Decision,
) -> DecisionReport {
    let sub_ids = |subs: &[crate::ids::SubscriptionIx]| {
        subs.iter()
            .map(|s| directory.subscription(*s).id.to_string())
            .collect()
    };
    DecisionReport {
        customer: directory.customer(d.customer).id.to_string(),
        direct: d.direct,
        partners: routing
            .partners(d)
            .iter()
            .map(|p| directory.partner(*p).id.to_string())
            .collect(),
        rules: Rules {
            scope: policy
                .rule(policy.category(message.category).scope_rule)
                .id
                .clone(),
            customer: policy.rule(d.customer_rule).id.clone(),
            partners: policy.rule(d.partners_rule).id.clone(),
        },
        subscriptions: sub_ids(routing.subscriptions(d)),
        copy: customer_copy(policy, directory, message, routing, d).map(|c| CopyReport {
            subscriptions: sub_ids(&c.subscriptions),
            readers: readers(directory, &c.readers),
        }),
    }
}

/// The whole routing of a message as reported.
pub fn report(
    policy: &Policy,
    directory: &Directory,
    message: &Message,
    routing: &Routing,
) -> Report {
    Report {
        message: message.id.to_string(),
        category: policy.category(message.category).name.clone(),
        cloud: directory.cloud(message.cloud).to_string(),
        policy: policy.version().to_owned(),
        decisions: routing
            .decisions()
            .iter()
            .map(|d| decision(policy, directory, message, routing, d))
            .collect(),
        partner_copies: partner_copies(policy, directory, message, routing)
            .into_iter()
            .map(|c| PartnerCopyReport {
                partner: directory.partner(c.partner).id.to_string(),
                customers: c
                    .customers
                    .iter()
                    .map(|x| directory.customer(*x).id.to_string())
                    .collect(),
                subscriptions: c
                    .subscriptions
                    .iter()
                    .map(|s| directory.subscription(*s).id.to_string())
                    .collect(),
                readers: readers(directory, &c.readers),
            })
            .collect(),
    }
}
