//! The copies of a message each reader may see, as the API shows them and as webhook
//! events carry them: the vendor sees the message as published with its audience in
//! numbers, a partner its own customers and the subscriptions it sells them, a customer the
//! subscriptions it may be told of. Never the scope, which may name other organisations.
//! The vendor's own views of what it published are here too: a message's summary, each
//! decision and each partner copy as stored.

use serde::Serialize;
use serde_json::Value;

use herald_domain::report::Rules;

use crate::error::StoreError;
use crate::json::ids;
use crate::rows::DecisionEntry;

/// What anyone told of a message may know of it: not its audience.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Brief {
    pub id: String,
    pub category: String,
    pub cloud: String,
    /// When it was accepted, in Unix milliseconds.
    pub accepted_at: i64,
    /// The incident thread it updates, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Where the thread's incident stood with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl From<&MessageSummary> for Brief {
    fn from(m: &MessageSummary) -> Brief {
        Brief {
            id: m.id.clone(),
            category: m.category.clone(),
            cloud: m.cloud.clone(),
            accepted_at: m.accepted_at,
            thread: m.thread.clone(),
            status: m.status.clone(),
        }
    }
}

/// A message's title, body and locale, never its scope (which may name other
/// organisations).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Content {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<herald_domain::wire::Text>))]
    pub title: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<herald_domain::wire::Text>))]
    pub body: Value,
    pub locale: Option<String>,
}

impl Content {
    /// The content of a stored message's request.
    pub fn of(request: &Value) -> Content {
        Content {
            title: request.get("title").cloned().unwrap_or(Value::Null),
            body: request.get("body").cloned().unwrap_or(Value::Null),
            locale: request
                .get("locale")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// A message as the vendor sees it: as published, with its audience in numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VendorView {
    pub summary: MessageSummary,
    /// The message as published, in canonical form.
    #[cfg_attr(feature = "openapi", schema(value_type = herald_domain::wire::Message))]
    pub request: Value,
}

/// A partner's own copy: only its customers and the subscriptions it sells them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PartnerView {
    pub message: Brief,
    pub content: Content,
    pub customers: Vec<String>,
    pub subscriptions: Vec<String>,
}

/// A customer's own copy: the subscriptions it may be told of.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerView {
    pub message: Brief,
    pub content: Content,
    pub subscriptions: Vec<String>,
}

/// A message as the caller may see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum MessageView {
    Vendor(VendorView),
    Partner(PartnerView),
    Customer(CustomerView),
}

impl MessageView {
    /// The vendor's view of a message: as published, with its audience in numbers.
    pub fn vendor(summary: MessageSummary, request: Value) -> MessageView {
        MessageView::Vendor(VendorView { summary, request })
    }

    /// A partner's copy: the customers and subscriptions its copy lists.
    pub fn partner(
        summary: &MessageSummary,
        request: &Value,
        customers: Vec<String>,
        subscriptions: Vec<String>,
    ) -> MessageView {
        MessageView::Partner(PartnerView {
            message: Brief::from(summary),
            content: Content::of(request),
            customers,
            subscriptions,
        })
    }

    /// A customer's copy: the subscriptions it may be told of (its decision's `copy`).
    pub fn customer(
        summary: &MessageSummary,
        request: &Value,
        subscriptions: Vec<String>,
    ) -> MessageView {
        MessageView::Customer(CustomerView {
            message: Brief::from(summary),
            content: Content::of(request),
            subscriptions,
        })
    }
}

/// A stored message and its audience in numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageSummary {
    pub id: String,
    pub cloud: String,
    pub category: String,
    pub policy_version: String,
    pub accepted_at: i64,
    pub customers_in_scope: i64,
    pub customers_direct: i64,
    pub partners_told: i64,
    pub deliveries: i64,
    /// The incident thread the message updates, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Where the thread's incident stood with this update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl MessageSummary {
    /// The columns of `messages` a [`MessageSummary`] is read from.
    pub(crate) const COLUMNS: &'static str = "id, cloud, category, policy_version, accepted_at, customers_in_scope, customers_direct, partners_told, deliveries, thread, status";
}

/// A stored decision, as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionView {
    pub customer: String,
    pub direct: bool,
    pub partners: Vec<String>,
    pub subscriptions: Vec<String>,
    /// The subscriptions the customer's own copy names, when it heard directly.
    pub copy: Option<Vec<String>>,
    pub rules: Rules,
}

impl DecisionView {
    /// A decision as a batch holds it, under its message's scope rule.
    pub(crate) fn of(entry: DecisionEntry, scope_rule: &str) -> DecisionView {
        DecisionView {
            customer: entry.customer,
            direct: entry.direct,
            partners: entry.partners,
            subscriptions: entry.subscriptions,
            copy: entry.copy,
            rules: Rules {
                scope: scope_rule.to_owned(),
                customer: entry.customer_rule,
                partners: entry.partners_rule,
            },
        }
    }
}

/// A stored partner copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerCopyView {
    pub partner: String,
    pub customers: Vec<String>,
    pub subscriptions: Vec<String>,
}

/// A `partner_copies` row: the partner, and its customers and subscriptions as JSON
/// arrays of ids.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredCopy {
    pub partner: String,
    pub customers: String,
    pub subscriptions: String,
}

impl StoredCopy {
    /// The copy as read back, its lists parsed.
    pub(crate) fn view(self) -> Result<PartnerCopyView, StoreError> {
        Ok(PartnerCopyView {
            partner: self.partner,
            customers: ids(&self.customers)?,
            subscriptions: ids(&self.subscriptions)?,
        })
    }
}
