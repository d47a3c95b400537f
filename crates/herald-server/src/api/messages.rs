//! Messages: publishing (vendor), a dry run of routing (vendor), and reading them back, each
//! principal only what it may see.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_domain::report::Report;
use herald_domain::wire;
use herald_service::{Caller, Explained, Outcome};
use herald_store::{Filter, MessageSummary, MessageView, Principal};
use serde::Deserialize;
use utoipa::IntoParams;

use super::views::{DecisionPage, Listed, MessageList};
use super::Body;
use crate::clock::now;
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
        Outcome::Conflict(id) => Err(Problem::new(Kind::Conflict, Outcome::conflict_reason(&id))),
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
    let filter = Filter {
        category: filter.category.as_deref(),
        thread: filter.thread.as_deref(),
    };
    let page = state
        .service()
        .message_page(&caller, filter, before, limit)
        .await?;
    let messages = page
        .messages
        .iter()
        .map(|m| match caller.0 {
            Principal::Vendor { .. } => Listed::whole(m),
            _ => Listed::brief(m),
        })
        .collect();
    Ok(Json(MessageList {
        messages,
        next: page.next.map(|n| n.to_string()),
    }))
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
    Ok(Json(state.service().message_view(&caller, &id).await?))
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
    state
        .service()
        .sight(&caller, &id)
        .await?
        .vendor_only("decisions")?;
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
        (status = 200, description = "The explanation, line by line, against today's directory; `decided`, the decision (or partner copy) stored when the message was published, null if it did not reach them; and `changed_since`, whether today's directory would decide otherwise.", body = Explained),
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
) -> Result<Json<Explained>, Problem> {
    let Query(query) = query?;
    let explained = state
        .service()
        .explain(
            &caller,
            &id,
            query.customer.as_deref(),
            query.partner.as_deref(),
        )
        .await?;
    Ok(Json(explained))
}
