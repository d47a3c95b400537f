//! Messages: publishing (vendor), a dry run of routing (vendor), and reading them back, each
//! principal only what it may see.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_domain::explain::{explain_customer, explain_partner};
use herald_domain::plan::partner_copies;
use herald_domain::report::Report;
use herald_domain::thread::route_update;
use herald_domain::{wire, Message};
use herald_service::{Caller, Outcome};
use herald_store::{
    Audience, DecisionView, Filter, MessageSummary, MessageView, PartnerCopyView, Principal,
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::views::{Decided, DecisionPage, ExplanationView, Listed, MessageList};
use super::Body;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// Publishes a message: routes it against the stored directory and stores it with its
/// decisions and deliveries. The message id is the idempotency key.
#[utoipa::path(
    post,
    path = "/v1/messages",
    request_body(content = wire::Message, description = "A message: `id`, `category`, its scope (`subscriptions`, `products`, `services`, `regions`, `customers`), and `title`/`body` as text or per locale."),
    responses(
        (status = 201, description = "Accepted and durably enqueued, with its audience in numbers. The same message again gets this same answer, with `Idempotent-Replayed: true`.", body = MessageSummary),
        (status = 400, description = "Not a message.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key, or a message for another cloud.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another message was accepted under this id.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The message breaks a rule of the policy or names what the directory lacks, or its id, thread, title or body breaks its limits (docs/errors.md).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Body(wire): Body<wire::Message>,
) -> Result<Response, Problem> {
    match state.service().publish_as(&caller, wire, now()).await? {
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
    request_body(content = wire::Message, description = "A message, as for `POST /v1/messages`."),
    responses(
        (status = 200, description = "The decisions and copies the message would make.", body = Report),
        (status = 400, description = "Not a message.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key, or a message for another cloud.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The message breaks a rule of the policy or names what the directory lacks, or its id, thread, title or body breaks its limits (docs/errors.md).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_route(
    State(state): State<AppState>,
    caller: Caller,
    Body(wire): Body<wire::Message>,
) -> Result<Json<Report>, Problem> {
    Ok(Json(state.service().route_report(&caller, wire).await?))
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

/// Which of the messages the caller may see to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// Only messages of this category, such as `service_incident`.
    category: Option<String>,
    /// Only the updates of this incident thread.
    thread: Option<String>,
}

/// The messages the caller may see, newest first: a vendor every message of its cloud, a
/// partner those it has a copy of, a customer those it heard directly.
#[utoipa::path(
    get,
    path = "/v1/messages",
    params(ListQuery, FilterQuery),
    responses(
        (status = 200, description = "A page of messages, newest first, and `next` for the following page (null on the last).", body = MessageList),
        (status = 400, description = "A bad `limit` or `before`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
    filter: Result<Query<FilterQuery>, QueryRejection>,
) -> Result<Json<MessageList>, Problem> {
    let Query(query) = query?;
    let Query(filter) = filter?;
    let (before, limit) = query.page()?;
    let principal = &caller.0;
    let audience = match principal {
        Principal::Vendor { .. } => Audience::Everyone,
        Principal::Partner { partner, .. } => Audience::Partner(partner),
        Principal::Customer { customer, .. } => Audience::Customer(customer),
    };
    let page = state
        .store()
        .message_page(
            principal.cloud(),
            audience,
            Filter {
                category: filter.category.as_deref(),
                thread: filter.thread.as_deref(),
            },
            before,
            limit,
        )
        .await?;
    let messages = page
        .messages
        .iter()
        .map(|m| match principal {
            Principal::Vendor { .. } => Listed::whole(m),
            _ => Listed::brief(m),
        })
        .collect();
    Ok(Json(MessageList {
        messages,
        next: page.next.map(|n| n.to_string()),
    }))
}

/// What the caller may see of a message.
pub enum Sight {
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
    let summary = state
        .store()
        .summary(caller.0.cloud(), id)
        .await?
        .ok_or_else(missing)?;
    sight_of(state, caller, summary).await?.ok_or_else(missing)
}

/// What `caller` may see of the stored message `summary` sums up, if anything.
pub async fn sight_of(
    state: &AppState,
    caller: &Caller,
    summary: MessageSummary,
) -> Result<Option<Sight>, Problem> {
    let (cloud, id) = (caller.0.cloud(), summary.id.as_str());
    Ok(match &caller.0 {
        Principal::Vendor { .. } => Some(Sight::Vendor(summary)),
        Principal::Partner { partner, .. } => state
            .store()
            .partner_copy(cloud, id, partner)
            .await?
            .map(|copy| Sight::Partner(summary, copy)),
        Principal::Customer { customer, .. } => state
            .store()
            .customer_decision(cloud, id, customer)
            .await?
            .filter(|decision| decision.direct)
            .map(|decision| Sight::Customer(summary, decision)),
    })
}

/// Message `id` of `cloud` as published (in canonical form), read as `T`.
pub async fn request<T: serde::de::DeserializeOwned>(
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

/// One message as the caller may see it.
#[utoipa::path(
    get,
    path = "/v1/messages/{id}",
    params(("id" = String, Path, description = "The message id.")),
    responses(
        (status = 200, description = "For the vendor, the message as published with its audience in numbers; for a partner, its copy (its own customers and subscriptions); for a customer, its copy (the subscriptions it may be told of).", body = MessageView),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No message the caller may know of.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MessageView>, Problem> {
    let seen = sight(&state, &caller, &id).await?;
    Ok(Json(view(&state, caller.0.cloud(), seen).await?))
}

/// A message as one who sees it this way may see it: for the vendor, the message as
/// published with its audience in numbers; for a partner or customer, its own copy.
pub async fn view(state: &AppState, cloud: &str, seen: Sight) -> Result<MessageView, Problem> {
    let id = match &seen {
        Sight::Vendor(m) | Sight::Partner(m, _) | Sight::Customer(m, _) => m.id.clone(),
    };
    let request: Value = request(state, cloud, &id).await?;
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
        (status = 200, description = "A page of decisions with the rules behind each, and `next` for the following page (null on the last).", body = DecisionPage),
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
) -> Result<Json<DecisionPage>, Problem> {
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
    Ok(Json(DecisionPage {
        decisions: page.decisions,
        next: page.next,
    }))
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
/// rules, against the directory as it is now, with what was decided when it was published
/// (vendor only).
#[utoipa::path(
    get,
    path = "/v1/messages/{id}/explain",
    params(("id" = String, Path, description = "The message id."), ExplainQuery),
    responses(
        (status = 200, description = "The explanation, line by line, against today's directory; `decided`, the decision (or partner copy) stored when the message was published, null if it did not reach them; and `changed_since`, whether today's directory would decide otherwise.", body = ExplanationView),
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
) -> Result<Json<ExplanationView>, Problem> {
    let Query(query) = query?;
    vendor_only(sight(&state, &caller, &id).await?, "explanations")?;
    let cloud = caller.0.cloud();
    let (seq, wire) = state
        .store()
        .stored_request(cloud, &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("message \"{id}\"")))?;
    let wire: wire::Message = serde_json::from_str(&wire).map_err(Problem::internal)?;
    let snapshot = state.service().current_snapshot().await?;
    let policy = state.policy();
    let message = Message::parse(wire, policy, &snapshot.directory).map_err(|e| {
        Problem::new(
            Kind::InvalidMessage,
            format!("the message no longer fits the directory: {}", e.reason),
        )
    })?;
    // An update of a thread was widened to everyone the thread had reached before it.
    let before = match &message.thread {
        Some(thread) => {
            state
                .store()
                .reached_before(cloud, thread.id.as_str(), seq, &snapshot.directory)
                .await?
        }
        None => Vec::new(),
    };
    let routing = route_update(policy, &snapshot.directory, &message, &before);
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
    let mut explanation = explained.map_err(|e| Problem::new(Kind::NotFound, e.0))?;
    let directory = &snapshot.directory;
    // What was stored when the message was published, and whether today's directory
    // would decide the same: the reasons are given against today's.
    let (decided, same) = match (&query.customer, &query.partner) {
        (Some(customer), _) => {
            let stored = state
                .store()
                .customer_decision(cloud, &id, customer)
                .await?;
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
            let partner = partner.as_deref().unwrap_or_default();
            let stored = state.store().partner_copy(cloud, &id, partner).await?;
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
    Ok(Json(ExplanationView {
        explanation,
        decided,
        changed_since: !same,
    }))
}

/// The wall clock in Unix milliseconds, read only at the edge.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
