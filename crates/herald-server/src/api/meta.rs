//! The health and readiness checks, the metrics and the OpenAPI document, which need no
//! key.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

use super::views::{Health, Ready};
use super::ApiDoc;
use crate::problem::Problem;
use crate::state::AppState;

/// Whether the server is up and its store answers.
#[utoipa::path(
    get,
    path = "/healthz",
    security(()),
    responses(
        (status = 200, description = "The server and its store answer.", body = Health),
        (status = 500, description = "The store does not answer.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    state.store().summary("", "").await?;
    Ok(Json(Health { status: "ok" }))
}

/// Whether the server takes requests: its store answers a trivial query and, when it reads
/// publish requests from NATS, it is connected to NATS. A load balancer sends requests
/// elsewhere while it answers 503.
#[utoipa::path(
    get,
    path = "/readyz",
    security(()),
    responses(
        (status = 200, description = "The store answers (and NATS, when the server reads it); the server takes requests.", body = Ready),
        (status = 503, description = "The store or NATS does not answer; send requests elsewhere until it does.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, Problem> {
    state.store().ping().await.map_err(Problem::unavailable)?;
    let nats = match state.bus() {
        None => None,
        Some(bus) => {
            bus.ready().map_err(|why| Problem::not_ready("NATS", why))?;
            Some("ok")
        }
    };
    Ok(Json(Ready {
        ready: true,
        database: "ok",
        nats,
    }))
}

/// Prometheus metrics.
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, Problem> {
    let deliveries = state.store().deliveries_by_status().await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(&deliveries),
    ))
}

/// The OpenAPI document.
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises"),
    )
}

/// Any path the server does not have: for a browser, the console's page of what does not
/// exist; for anyone else, a problem.
pub async fn no_route(headers: HeaderMap) -> Response {
    if crate::console::wants_page(&headers) {
        return crate::console::not_found_page().await;
    }
    Problem::not_found("such path; see /openapi.json").into_response()
}
