//! Webhook endpoints: the vendor, a partner or a customer registers where its copies are
//! POSTed (signed per the Standard Webhooks specification), rotates the signing secret,
//! disables, enables and deletes an endpoint, and sends it a test event.
//!
//! Each key sees only its own endpoints: the vendor its cloud's vendor endpoints, a partner
//! or customer its own; any other is 404. A secret is shown once, when it is made. A URL
//! is refused when it is not http or https, or when its host resolves to a loopback,
//! private, link-local or metadata address, unless the server allows private addresses
//! (`webhooks.allow_private`); the sender refuses the same again at every connection.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use herald_delivery::events::rfc3339;
use herald_delivery::{check_url, Secret};
use herald_service::Caller;
use herald_store::{AttemptOutcome, Endpoint, Mode, NewEndpoint, StoreError, DEFAULT_OVERLAP_MS};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::messages::now;
use super::views::{EndpointList, EndpointWithSecret, TestEvent};
use super::Body;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// The longest a rotated secret may go on signing beside its successor: 7 days.
const MAX_OVERLAP_SECONDS: u64 = 7 * 24 * 60 * 60;
/// The longest description or reason for disabling kept, in characters.
const MAX_DESCRIPTION: usize = 1000;

/// An endpoint to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    /// Where events are POSTed: http or https, on a public address.
    pub url: String,
    /// What the endpoint is for, for the people who look after it.
    pub description: Option<String>,
    /// The categories of message sent to it (each one of the policy's); all when absent.
    pub categories: Option<Vec<String>>,
    /// `aggregated` (the default: one event per message) or, for a partner only,
    /// `per_customer` (one event per message and customer).
    pub mode: Option<Mode>,
}

/// How a secret is rotated.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the current secret goes on signing beside the new one, in seconds: 86400
    /// (24 hours) when absent, at most 604800 (7 days); 0 retires it at once.
    pub overlap_seconds: Option<u64>,
}

/// Why an endpoint is disabled.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableBody {
    /// Shown with the endpoint while it is disabled.
    pub reason: Option<String>,
}

/// An optional JSON object body: an empty body, or `null`, is `T::default()`.
fn optional<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let malformed = |e: String| {
        Problem::new(
            Kind::Malformed,
            format!("the body is not the expected shape: {e}"),
        )
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if value.is_null() {
        return Ok(T::default());
    }
    if !value.is_object() {
        return Err(Problem::new(
            Kind::Malformed,
            "the body must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|e| malformed(e.to_string()))
}

/// The answer for an endpoint the caller does not own.
fn missing(id: &str) -> Problem {
    Problem::not_found(format!("endpoint \"{id}\""))
}

/// A refused endpoint, naming `field`.
fn refused(field: &str, detail: impl std::fmt::Display) -> Problem {
    Problem::new(Kind::InvalidEndpoint, format!("`{field}`: {detail}"))
}

/// A new signing secret.
fn new_secret() -> Result<Secret, Problem> {
    Secret::generate().map_err(Problem::internal)
}

/// Registers an endpoint for the caller and shows its signing secret, this once.
#[utoipa::path(
    post,
    path = "/v1/endpoints",
    request_body = EndpointBody,
    responses(
        (status = 201, description = "Registered: the endpoint and its `secret` (`whsec_…`), which is not shown again.", body = EndpointWithSecret),
        (status = 400, description = "The body is not the expected shape.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A URL that is not http or https, does not resolve or reaches a private address; an unknown category; `per_customer` for anyone but a partner; a description over 1,000 characters or holding a control, bidirectional or zero-width character. The detail names the field.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<EndpointBody>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), Problem> {
    let description = body.description.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(refused(
            "description",
            format!("a description holds at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if let Err(refused_text) = herald_domain::limits::check_characters(&description) {
        return Err(refused(
            "description",
            format!("{refused_text}; a description is plain text a person reads"),
        ));
    }
    let categories = match body.categories {
        None => None,
        Some(mut categories) => {
            if categories.is_empty() {
                return Err(refused(
                    "categories",
                    "the list is empty, so nothing would be sent; leave it out to receive every category",
                ));
            }
            let policy = state.policy();
            if let Some(unknown) = categories
                .iter()
                .find(|c| policy.category_named(c).is_none())
            {
                return Err(refused(
                    "categories",
                    format!(
                        "\"{unknown}\" is not one of the policy's categories: {}",
                        policy.category_names()
                    ),
                ));
            }
            categories.sort();
            categories.dedup();
            Some(categories)
        }
    };
    let url = check_url(&body.url, state.webhooks().guard())
        .await
        .map_err(|e| refused("url", e))?;
    let secret = new_secret()?;
    let new = NewEndpoint {
        url: url.into(),
        description,
        categories,
        mode: body.mode,
    };
    let endpoint = state
        .store()
        .create_endpoint(&caller.0, new, &secret.to_string(), now(), &caller.actor())
        .await
        .map_err(|e| match e {
            StoreError::PerCustomerForPartnersOnly => {
                Problem::new(Kind::InvalidEndpoint, e.to_string())
            }
            e => Problem::from(e),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(EndpointWithSecret {
            endpoint,
            secret: secret.to_string(),
        }),
    ))
}

/// The caller's endpoints, oldest first, without their secrets.
#[utoipa::path(
    get,
    path = "/v1/endpoints",
    responses(
        (status = 200, description = "`endpoints`, oldest first.", body = EndpointList),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<EndpointList>, Problem> {
    let endpoints = state.store().endpoints(&caller.0).await?;
    Ok(Json(EndpointList { endpoints }))
}

/// One of the caller's endpoints, without its secrets.
#[utoipa::path(
    get,
    path = "/v1/endpoints/{id}",
    params(("id" = String, Path, description = "The endpoint id, `ep_…`.")),
    responses(
        (status = 200, description = "The endpoint.", body = Endpoint),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such endpoint.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, Problem> {
    let endpoint = state.store().endpoint(&caller.0, &id).await?;
    endpoint.map(Json).ok_or_else(|| missing(&id))
}

/// Deletes one of the caller's endpoints and its secrets.
#[utoipa::path(
    delete,
    path = "/v1/endpoints/{id}",
    params(("id" = String, Path, description = "The endpoint id, `ep_…`.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such endpoint.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    if state
        .store()
        .delete_endpoint(&caller.0, &id, now(), &caller.actor())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(missing(&id))
    }
}

/// Gives an endpoint a new signing secret, shown this once. The current secret goes on
/// signing beside it for the overlap, so the receiver can switch without losing events.
#[utoipa::path(
    post,
    path = "/v1/endpoints/{id}/rotate",
    params(("id" = String, Path, description = "The endpoint id, `ep_…`.")),
    request_body(content = Option<RotateBody>, description = "Optional: how long the current secret overlaps the new one."),
    responses(
        (status = 200, description = "Rotated: the endpoint and its new `secret`, which is not shown again.", body = EndpointWithSecret),
        (status = 400, description = "The body is not the expected shape, or the overlap is longer than 7 days.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such endpoint.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<EndpointWithSecret>, Problem> {
    let body: RotateBody = optional(&body)?;
    let overlap_ms = match body.overlap_seconds {
        None => DEFAULT_OVERLAP_MS,
        Some(s) if s <= MAX_OVERLAP_SECONDS => s as i64 * 1000,
        Some(s) => {
            return Err(Problem::new(
                Kind::Malformed,
                format!("`overlap_seconds` is {s}, and a rotated secret overlaps its successor for at most {MAX_OVERLAP_SECONDS} seconds (7 days)"),
            ))
        }
    };
    let secret = new_secret()?;
    let endpoint = state
        .store()
        .rotate_endpoint_secret(
            &caller.0,
            &id,
            &secret.to_string(),
            now(),
            overlap_ms,
            &caller.actor(),
        )
        .await?
        .ok_or_else(|| missing(&id))?;
    Ok(Json(EndpointWithSecret {
        endpoint,
        secret: secret.to_string(),
    }))
}

/// Disables an endpoint: nothing more is sent to it until it is enabled.
#[utoipa::path(
    post,
    path = "/v1/endpoints/{id}/disable",
    params(("id" = String, Path, description = "The endpoint id, `ep_…`.")),
    request_body(content = Option<DisableBody>, description = "Optional: why it is disabled."),
    responses(
        (status = 200, description = "Disabled: the endpoint, with when and why (a disabled endpoint keeps the first).", body = Endpoint),
        (status = 400, description = "The body is not the expected shape.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such endpoint.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `reason` over 1,000 characters.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Endpoint>, Problem> {
    let body: DisableBody = optional(&body)?;
    let reason = body
        .reason
        .unwrap_or_else(|| "disabled by its owner".to_owned());
    if reason.chars().count() > MAX_DESCRIPTION {
        return Err(refused(
            "reason",
            format!("a reason holds at most {MAX_DESCRIPTION} characters"),
        ));
    }
    let endpoint = state
        .store()
        .disable_endpoint(&caller.0, &id, &reason, now(), &caller.actor())
        .await?;
    endpoint.map(Json).ok_or_else(|| missing(&id))
}

/// Enables an endpoint again.
#[utoipa::path(
    post,
    path = "/v1/endpoints/{id}/enable",
    params(("id" = String, Path, description = "The endpoint id, `ep_…`.")),
    responses(
        (status = 200, description = "Enabled: the endpoint.", body = Endpoint),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such endpoint.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enable_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, Problem> {
    let endpoint = state
        .store()
        .enable_endpoint(&caller.0, &id, now(), &caller.actor())
        .await?;
    endpoint.map(Json).ok_or_else(|| missing(&id))
}

/// Sends the endpoint a signed `test` event now, enabled or not, and answers how it went.
/// A receiver answering 410 Gone disables the endpoint, as for any event.
#[utoipa::path(
    post,
    path = "/v1/endpoints/{id}/test",
    params(("id" = String, Path, description = "The endpoint id, `ep_…`.")),
    responses(
        (status = 200, description = "Sent: the event's `webhook_id` and the `attempt` (`delivered`, `failed`, `gone` or `refused`, with the receiver's status and the start of its answer).", body = TestEvent),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such endpoint.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn test_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TestEvent>, Problem> {
    let endpoint = state
        .store()
        .endpoint(&caller.0, &id)
        .await?
        .ok_or_else(|| missing(&id))?;
    let at = now();
    let secrets = state
        .store()
        .signing_secrets(&id, at)
        .await?
        .iter()
        .map(|s| Secret::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Problem::internal(format!("endpoint \"{id}\" holds a damaged secret: {e}")))?;
    let webhook_id = format!("test_{id}_{at}");
    let body = json!({
        "type": "test",
        "timestamp": rfc3339(at),
        "data": {
            "endpoint": id,
            "sent_at": at,
            "text": "A test event from Herald: this endpoint receives signed events.",
        },
    });
    let body = serde_json::to_vec(&body).expect("JSON serialises");
    let attempt = state
        .webhooks()
        .send(&endpoint.url, &secrets, &webhook_id, at / 1000, &body)
        .await;
    if attempt.outcome == AttemptOutcome::Gone {
        state.store().endpoint_gone(&id, attempt.at).await?;
    }
    state.metrics().webhook_attempt(attempt.outcome);
    Ok(Json(TestEvent {
        webhook_id,
        attempt,
    }))
}
