//! What the API answers, each response body as a type: handlers build these, so the
//! OpenAPI document describes exactly what is sent. Stored rows and routing reports are
//! the store's, the domain's and the use cases' own types; what the API composes from them
//! is here.

use herald_store::{
    Attempt, AuditEntry, Brief, DecisionView, DeliveryView, Endpoint, MessageSummary, MessageView,
    ThreadSummary,
};
use serde::Serialize;
use utoipa::ToSchema;

/// A message in a list: its brief, and for the vendor its audience in numbers too.
#[derive(Serialize, ToSchema)]
pub struct Listed {
    #[serde(flatten)]
    pub brief: Brief,
    /// The vendor's only, as are the counts below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers_in_scope: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers_direct: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partners_told: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<i64>,
}

impl Listed {
    /// Everything, for the vendor.
    pub fn whole(m: &MessageSummary) -> Listed {
        Listed {
            brief: Brief::from(m),
            policy_version: Some(m.policy_version.clone()),
            customers_in_scope: Some(m.customers_in_scope),
            customers_direct: Some(m.customers_direct),
            partners_told: Some(m.partners_told),
            deliveries: Some(m.deliveries),
        }
    }

    /// The brief alone, for a partner or customer.
    pub fn brief(m: &MessageSummary) -> Listed {
        Listed {
            brief: Brief::from(m),
            policy_version: None,
            customers_in_scope: None,
            customers_direct: None,
            partners_told: None,
            deliveries: None,
        }
    }
}

/// A page of messages, newest first.
#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<Listed>,
    /// Pass as `before` for the following page; null on the last.
    pub next: Option<String>,
}

/// A page of a message's decisions, in customer order.
#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    pub decisions: Vec<DecisionView>,
    /// Pass as `after` for the following page; null on the last.
    pub next: Option<String>,
}

/// A message of an inbox.
#[derive(Serialize, ToSchema)]
pub struct InboxEntry {
    #[serde(flatten)]
    pub message: Brief,
    /// When it was first marked read, in Unix milliseconds; null while unread.
    pub read_at: Option<i64>,
}

/// A page of an inbox, newest first.
#[derive(Serialize, ToSchema)]
pub struct InboxPage {
    pub messages: Vec<InboxEntry>,
    /// How many messages of the whole inbox are unread.
    pub unread: i64,
    /// Pass as `before` for the following page; null on the last.
    pub next: Option<String>,
}

/// A message marked read.
#[derive(Serialize, ToSchema)]
pub struct ReadMark {
    pub id: String,
    /// When it was first marked read, in Unix milliseconds.
    pub read_at: i64,
}

/// A thread's updates as the caller may see them.
#[derive(Serialize, ToSchema)]
pub struct ThreadView {
    /// The thread as far as the caller was told: for a partner or customer, its status and
    /// times are those of the last update it was sent.
    pub thread: ThreadSummary,
    /// Oldest first, each as `GET /v1/messages/{id}` shows it to the caller.
    pub updates: Vec<MessageView>,
}

/// A cloud's directory after a replacement, in numbers.
#[derive(Serialize, ToSchema)]
pub struct DirectoryCounts {
    pub cloud: String,
    pub products: usize,
    pub partners: usize,
    pub customers: usize,
    pub subscriptions: usize,
}

/// The server is up and its store answers.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// The server takes requests: its store answers a query.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// Always `true`.
    pub ready: bool,
    /// How the store answered: always `ok`.
    pub database: &'static str,
    /// How NATS answered, when the server reads publish requests from it: always `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats: Option<&'static str>,
}

/// A page of deliveries.
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` for the following page; null on the last.
    pub next: Option<String>,
}

/// An endpoint with its signing secret, shown once: when it is registered or rotated.
#[derive(Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The new signing secret (`whsec_…`); keep it, as it is not shown again.
    pub secret: String,
}

/// The caller's endpoints.
#[derive(Serialize, ToSchema)]
pub struct EndpointList {
    pub endpoints: Vec<Endpoint>,
}

/// A test event sent to an endpoint, and how the attempt went.
#[derive(Serialize, ToSchema)]
pub struct TestEvent {
    /// The event's `webhook-id` header.
    pub webhook_id: String,
    pub attempt: Attempt,
}

/// A page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the following page; null on the last.
    pub next: Option<String>,
}
