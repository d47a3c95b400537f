//! Webhook endpoints: the vendor, a partner or a customer registers where its copies are
//! POSTed (signed per the Standard Webhooks specification), rotates the signing secret,
//! disables, enables and deletes an endpoint, and sends it a test event.
//!
//! Each key sees only its own endpoints: the vendor its cloud's vendor endpoints, a partner
//! or customer its own; any other is 404. A secret is shown once, when it is made. What
//! registering, rotating and testing do is `crate::endpoints`, which the console shares.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use herald_service::Caller;
use herald_store::{Endpoint, Mode, DEFAULT_OVERLAP_MS};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::views::{EndpointList, EndpointWithSecret, TestEvent};
use super::Body;
use crate::clock::now;
use crate::endpoints::{
    self, missing, refused, Registration, MAX_DESCRIPTION, MAX_OVERLAP_SECONDS,
};
use crate::problem::{Kind, Problem};
use crate::state::AppState;

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
    let registration = Registration {
        url: body.url,
        description: body.description,
        categories: body.categories,
        mode: body.mode,
    };
    let (endpoint, secret) = endpoints::register(&state, &caller, registration).await?;
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
    let (endpoint, secret) = endpoints::rotate(&state, &caller, &id, overlap_ms).await?;
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
    let (webhook_id, attempt) = endpoints::send_test(&state, &caller, &id).await?;
    Ok(Json(TestEvent {
        webhook_id,
        attempt,
    }))
}
