//! The request log: one `tracing` event per answered request, with its method, the route
//! template it matched (`/v1/directory/{kind}/{id}`, never the raw path, so ids of another
//! cloud or a partner's customers never land in a log), its status, its latency and the
//! id of the API key it presented: the public `<id>` of `hk_<id>_<secret>`, and nothing
//! else of the token. The process that runs the server chooses where and how events are
//! written (a subscriber); this module only says what a request was.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

/// The target of request events, for filtering them (`HERALD_LOG=herald::request=off`).
pub const TARGET: &str = "herald::request";

/// The longest key id logged; store ids are 16 hex digits.
const KEY_ID_MAX: usize = 32;

/// Logs every request once it is answered.
pub async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let key = key_id(&request).map(str::to_owned);
    let response = next.run(request).await;
    // To the microsecond: a float's last digits say nothing and read as noise.
    let latency_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1_000.0;
    tracing::info!(
        target: TARGET,
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        latency_ms,
        key = key.as_deref().unwrap_or("-"),
        "request"
    );
    response
}

/// The id of the API key a request presents, when its `Authorization` header is a bearer
/// token of Herald's shape whose id is plain (letters and digits, short); `None` otherwise,
/// so that nothing a caller writes in the header but a key's public id is logged.
fn key_id(request: &Request) -> Option<&str> {
    let header = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    let (id, _secret) = token.strip_prefix("hk_")?.split_once('_')?;
    let plain =
        !id.is_empty() && id.len() <= KEY_ID_MAX && id.bytes().all(|b| b.is_ascii_alphanumeric());
    plain.then_some(id)
}
