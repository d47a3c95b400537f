//! Messages: publishing (vendor), a dry run of routing (vendor), and reading them back, each
//! principal only what it may see.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_domain::explain::{explain_customer, explain_partner};
use herald_domain::ids::CloudId;
use herald_domain::report::report;
use herald_domain::{route, wire, Message};
use herald_store::{Audience, DecisionView, MessageSummary, Outcome, PartnerCopyView, Principal};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::schema::MessageBody;
use super::Body;
use crate::auth::Caller;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// A message in the vendor's cloud: a message naming no cloud is for the key's cloud, and
/// one naming another cloud is refused.
fn in_cloud(cloud: &str, wire: &mut wire::Message) -> Result<(), Problem> {
    match &wire.cloud {
        None => {
            wire.cloud = Some(CloudId::from(cloud));
            Ok(())
        }
        Some(c) if c.as_str() == cloud => Ok(()),
        Some(c) => Err(Problem::new(
            Kind::Forbidden,
            format!(
                "field `cloud`: this key acts in cloud \"{cloud}\" only, and the message is for cloud \"{c}\""
            ),
        )),
    }
}

/// Publishes a message: routes it against the stored directory and stores it with its
/// decisions and deliveries. The message id is the idempotency key.
#[utoipa::path(
    post,
    path = "/v1/messages",
    request_body(content = MessageBody, description = "A message: `id`, `category`, its scope (`subscriptions`, `products`, `services`, `regions`, `customers`), and `title`/`body` as text or per locale."),
    responses(
        (status = 201, description = "Accepted and durably enqueued, with its audience in numbers. The same message again gets this same answer, with `Idempotent-Replayed: true`.", body = Object),
        (status = 400, description = "Not a message.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key, or a message for another cloud.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another message was accepted under this id.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The message breaks a rule of the policy or names what the directory lacks.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Body(mut wire): Body<wire::Message>,
) -> Result<Response, Problem> {
    let cloud = caller.vendor_cloud("publish messages")?.to_owned();
    in_cloud(&cloud, &mut wire)?;
    let mut snapshot = state.snapshot();
    let outcome = state
        .store()
        .publish_wire(state.policy(), &mut snapshot, &wire, now())
        .await?;
    state.keep_snapshot(snapshot);
    match outcome {
        Outcome::Accepted(summary) => {
            state.metrics().published(summary.customers_in_scope);
            Ok((StatusCode::CREATED, Json(summary)).into_response())
        }
        Outcome::Repeated(summary) => Ok((
            StatusCode::CREATED,
            [("Idempotent-Replayed", "true")],
            Json(summary),
        )
            .into_response()),
        Outcome::Conflict(id) => Err(Problem::new(
            Kind::Conflict,
            format!("field `id`: message \"{id}\" was already published with different content; publish changes under a new id"),
        )),
        Outcome::Invalid(reason) => Err(Problem::new(Kind::InvalidMessage, reason)),
    }
}

/// Routes a message against the stored directory and answers who would hear, storing
/// nothing.
#[utoipa::path(
    post,
    path = "/v1/route",
    request_body(content = MessageBody, description = "A message, as for `POST /v1/messages`."),
    responses(
        (status = 200, description = "The decisions and copies the message would make.", body = Object),
        (status = 400, description = "Not a message.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key, or a message for another cloud.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The message breaks a rule of the policy or names what the directory lacks.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_route(
    State(state): State<AppState>,
    caller: Caller,
    Body(mut wire): Body<wire::Message>,
) -> Result<Json<Value>, Problem> {
    let cloud = caller.vendor_cloud("route messages")?.to_owned();
    in_cloud(&cloud, &mut wire)?;
    // Routing takes time in proportion to the customers in scope: a blocking thread does
    // it, so that no other request waits on this one.
    tokio::task::spawn_blocking(move || {
        let snapshot = state.snapshot();
        let policy = state.policy();
        let message = Message::parse(wire, policy, &snapshot.directory)
            .map_err(|e| Problem::new(Kind::InvalidMessage, e.reason))?;
        let routing = route(policy, &snapshot.directory, &message);
        let report = report(policy, &snapshot.directory, &message, &routing);
        serde_json::to_value(report)
            .map(Json)
            .map_err(Problem::internal)
    })
    .await
    .map_err(Problem::internal)?
}

/// Where a page of messages starts, and how long it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many messages, 1 to 500 (default 50).
    limit: Option<usize>,
    /// The `next` of the previous page.
    before: Option<String>,
}

impl ListQuery {
    /// Where the page starts and how long it is, checked.
    pub fn page(&self) -> Result<(Option<i64>, usize), Problem> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(Problem::new(
                Kind::Malformed,
                format!("parameter `limit`: {limit} is not between 1 and 500"),
            ));
        }
        let before = match &self.before {
            None => None,
            Some(cursor) => Some(cursor.parse::<i64>().ok().filter(|c| *c > 0).ok_or_else(
                || {
                    Problem::new(
                        Kind::Malformed,
                        "parameter `before`: pass the `next` of a previous page, unchanged",
                    )
                },
            )?),
        };
        Ok((before, limit))
    }
}

/// The messages the caller may see, newest first: a vendor every message of its cloud, a
/// partner those it has a copy of, a customer those it heard directly.
#[utoipa::path(
    get,
    path = "/v1/messages",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of messages, newest first, and `next` for the following page (null on the last).", body = Object),
        (status = 400, description = "A bad `limit` or `before`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(query) = query?;
    let (before, limit) = query.page()?;
    let principal = &caller.0;
    let audience = match principal {
        Principal::Vendor { .. } => Audience::Everyone,
        Principal::Partner { partner, .. } => Audience::Partner(partner),
        Principal::Customer { customer, .. } => Audience::Customer(customer),
    };
    let page = state
        .store()
        .message_page(principal.cloud(), audience, before, limit)
        .await?;
    let messages: Vec<Value> = page
        .messages
        .iter()
        .map(|m| match principal {
            Principal::Vendor { .. } => json!(m),
            _ => brief(m),
        })
        .collect();
    Ok(Json(
        json!({"messages": messages, "next": page.next.map(|n| n.to_string())}),
    ))
}

/// What a partner or customer may know of a message's summary: not its audience.
pub fn brief(m: &MessageSummary) -> Value {
    json!({"id": m.id, "category": m.category, "cloud": m.cloud, "accepted_at": m.accepted_at})
}

/// What the caller may see of message `id`.
enum Sight {
    /// The vendor of the message's cloud: everything.
    Vendor(MessageSummary),
    /// A partner told about it: its own copy.
    Partner(MessageSummary, PartnerCopyView),
    /// A customer that heard directly: its own copy.
    Customer(MessageSummary, DecisionView),
}

/// What `caller` may see of message `id`; 404 when it may not know the message exists.
async fn sight(state: &AppState, caller: &Caller, id: &str) -> Result<Sight, Problem> {
    let missing = || Problem::not_found(format!("message \"{id}\""));
    let cloud = caller.0.cloud();
    let summary = state
        .store()
        .summary(cloud, id)
        .await?
        .ok_or_else(missing)?;
    match &caller.0 {
        Principal::Vendor { .. } => Ok(Sight::Vendor(summary)),
        Principal::Partner { partner, .. } => {
            match state.store().partner_copy(cloud, id, partner).await? {
                Some(copy) => Ok(Sight::Partner(summary, copy)),
                None => Err(missing()),
            }
        }
        Principal::Customer { customer, .. } => {
            match state.store().customer_decision(cloud, id, customer).await? {
                Some(decision) if decision.direct => Ok(Sight::Customer(summary, decision)),
                _ => Err(missing()),
            }
        }
    }
}

/// Message `id` of `cloud` as published (in canonical form), read as `T`.
async fn request<T: serde::de::DeserializeOwned>(
    state: &AppState,
    cloud: &str,
    id: &str,
) -> Result<T, Problem> {
    let (_, request) = state
        .store()
        .stored_request(cloud, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("message \"{id}\"")))?;
    serde_json::from_str(&request).map_err(Problem::internal)
}

/// The content of a stored message's request: its title, body and locale, never its scope
/// (which may name other organisations).
fn content(request: &Value) -> Value {
    json!({
        "title": request.get("title"),
        "body": request.get("body"),
        "locale": request.get("locale"),
    })
}

/// One message as the caller may see it.
#[utoipa::path(
    get,
    path = "/v1/messages/{id}",
    params(("id" = String, Path, description = "The message id.")),
    responses(
        (status = 200, description = "For the vendor, the message as published with its audience in numbers; for a partner, its copy (its own customers and subscriptions); for a customer, its copy (the subscriptions it may be told of).", body = Object),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No message the caller may know of.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let seen = sight(&state, &caller, &id).await?;
    let request: Value = request(&state, caller.0.cloud(), &id).await?;
    Ok(Json(match seen {
        Sight::Vendor(summary) => json!({"summary": summary, "request": request}),
        Sight::Partner(summary, copy) => json!({
            "message": brief(&summary),
            "content": content(&request),
            "customers": copy.customers,
            "subscriptions": copy.subscriptions,
        }),
        Sight::Customer(summary, decision) => json!({
            "message": brief(&summary),
            "content": content(&request),
            "subscriptions": decision.copy.unwrap_or_default(),
        }),
    }))
}

/// A 403 for a partner or customer that may see the message but not this about it.
fn vendor_only(seen: Sight, what: &str) -> Result<MessageSummary, Problem> {
    match seen {
        Sight::Vendor(summary) => Ok(summary),
        _ => Err(Problem::new(
            Kind::Forbidden,
            format!("only the vendor may read a message's {what}"),
        )),
    }
}

/// Where a page of decisions starts, and how long it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionQuery {
    /// How many decisions, 1 to 10,000 (default 1,000).
    limit: Option<usize>,
    /// The `next` of the previous page: the last customer id it held.
    after: Option<String>,
}

/// A message's decisions, one per customer in scope, in customer order (vendor only).
#[utoipa::path(
    get,
    path = "/v1/messages/{id}/decisions",
    params(("id" = String, Path, description = "The message id."), DecisionQuery),
    responses(
        (status = 200, description = "A page of decisions with the rules behind each, and `next` for the following page (null on the last).", body = Object),
        (status = 400, description = "A bad `limit`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A partner or customer that may see the message, but not its decisions.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No message the caller may know of.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_decisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<DecisionQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(query) = query?;
    vendor_only(sight(&state, &caller, &id).await?, "decisions")?;
    let limit = query.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(Problem::new(
            Kind::Malformed,
            format!("parameter `limit`: {limit} is not between 1 and 10000"),
        ));
    }
    let page = state
        .store()
        .decision_page(caller.0.cloud(), &id, query.after.as_deref(), limit)
        .await?
        .ok_or_else(|| Problem::not_found(format!("message \"{id}\"")))?;
    Ok(Json(
        json!({"decisions": page.decisions, "next": page.next}),
    ))
}

/// Whom to explain: exactly one of a customer and a partner.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainQuery {
    /// The customer whose decision to explain.
    customer: Option<String>,
    /// The partner whose copy to explain.
    partner: Option<String>,
}

/// Why a customer or partner did or did not hear about a message, in the words of the
/// rules, against the directory as it is now (vendor only).
#[utoipa::path(
    get,
    path = "/v1/messages/{id}/explain",
    params(("id" = String, Path, description = "The message id."), ExplainQuery),
    responses(
        (status = 200, description = "The explanation, line by line.", body = Object),
        (status = 400, description = "Neither or both of `customer` and `partner`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A partner or customer that may see the message, but not explanations.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No message, customer or partner the caller may know of.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The message no longer fits the directory as it is now.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_explanation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ExplainQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(query) = query?;
    vendor_only(sight(&state, &caller, &id).await?, "explanations")?;
    let wire: wire::Message = request(&state, caller.0.cloud(), &id).await?;
    let snapshot = state.snapshot();
    let policy = state.policy();
    let message = Message::parse(wire, policy, &snapshot.directory).map_err(|e| {
        Problem::new(
            Kind::InvalidMessage,
            format!("the message no longer fits the directory: {}", e.reason),
        )
    })?;
    let routing = route(policy, &snapshot.directory, &message);
    let explained = match (&query.customer, &query.partner) {
        (Some(customer), None) => {
            explain_customer(policy, &snapshot.directory, &message, &routing, customer)
        }
        (None, Some(partner)) => {
            explain_partner(policy, &snapshot.directory, &message, &routing, partner)
        }
        _ => {
            return Err(Problem::new(
                Kind::Malformed,
                "pass exactly one of the parameters `customer` and `partner`",
            ))
        }
    };
    let explanation = explained.map_err(|e| Problem::new(Kind::NotFound, e.0))?;
    Ok(Json(
        serde_json::to_value(explanation).map_err(Problem::internal)?,
    ))
}

/// The wall clock in Unix milliseconds, read only at the edge.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
