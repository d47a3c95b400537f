//! The web console, at `/`: pages rendered on the server (maud) for vendors, partners and
//! customers, on the same use cases and authorization as the API, so that a browser never
//! sees more than the API would show the same key.
//!
//! - `session`: signing in with an API key, the session cookie, CSRF on every form.
//! - `vendor`: the message list with filters, a message with its decisions, deliveries by
//!   channel and dead letters to replay, a thread's timeline with updates, the dead letters
//!   of the cloud.
//! - `compose`: a message composed, its audience seen before it is published, published.
//! - `records`: the vendor's directory with search, and its audit log.
//! - `hooks`: each visitor's webhook endpoints: registered, the secret rotated, a test
//!   event sent, failed deliveries with their attempts, a dead one replayed.
//! - `reader`: a partner's open incidents grouped by customer and its inbox; a customer's
//!   inbox and the incidents that affect it; a message read, which marks it read.
//! - `live`: server-sent events telling an open page that what it shows has changed.
//! - `page`: the layout, the error page, and how times and localized text are shown.
//!
//! Every page reads without JavaScript; the one script (`assets/live.js`) only brings a
//! page up to date when the store changes. Nothing is fetched from elsewhere.

mod compose;
mod hooks;
mod live;
mod page;
mod reader;
mod records;
mod session;
mod vendor;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use herald_store::Principal;

use self::page::Oops;
use self::session::Visitor;
use crate::state::AppState;

/// The console's style sheet.
const CSS: &str = include_str!("assets/console.css");
/// The script that brings a live page up to date.
const LIVE_JS: &str = include_str!("assets/live.js");

/// What every page of the console is sent with: never cached (a page may show a secret
/// once, or what a signed-out visitor saw), never framed by another page (against
/// clickjacking), scripts, styles sheets and forms from the console alone, no referrer
/// beyond it.
const HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// Adds [`HEADERS`] to a page; an error that is not a page yet (a path or form the
/// framework could not read) becomes one, with its status and words.
async fn guarded(response: Response) -> Response {
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let failed = response.status().is_client_error() || response.status().is_server_error();
    let mut response = if failed && !is_page {
        let status = response.status();
        let text = axum::body::to_bytes(response.into_body(), 2048)
            .await
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
            .unwrap_or_default();
        Oops::plain(status, text).into_response()
    } else {
        response
    };
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route(
            "/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/inbox", get(reader::inbox))
        .route("/messages/{id}", get(message))
        .route("/messages/{id}/explain", get(vendor::explain))
        .route("/threads/{id}", get(thread))
        .route("/threads/{id}/update", post(vendor::post_update))
        .route("/deliveries", get(vendor::dead_letters))
        .route("/deliveries/{id}/replay", post(vendor::replay))
        .route("/compose", get(compose::form).post(compose::submit))
        .route("/directory", get(records::search))
        .route("/directory/{kind}/{id}", get(records::show))
        .route("/audit", get(records::audit))
        .route("/endpoints", get(hooks::list).post(hooks::register))
        .route("/endpoints/{id}", get(hooks::failures))
        .route("/endpoints/{id}/rotate", post(hooks::rotate))
        .route("/endpoints/{id}/test", post(hooks::test))
        .route("/live", get(live::events))
        .route("/assets/console.css", get(|| asset("text/css", CSS)))
        .route("/assets/live.js", get(|| asset("text/javascript", LIVE_JS)))
        .layer(axum::middleware::map_response(guarded))
}

/// An embedded asset.
async fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// `/`: the vendor's messages, a partner's open incidents, a customer's inbox.
async fn home(
    state: State<AppState>,
    visitor: Visitor,
    query: axum::extract::Query<vendor::ListQuery>,
) -> Result<Response, Oops> {
    match visitor.caller.0 {
        Principal::Vendor { .. } => vendor::messages(state, visitor, query).await,
        Principal::Partner { .. } => reader::notices(state, visitor).await,
        Principal::Customer { .. } => reader::customer_home(state, visitor).await,
    }
}

/// `/messages/{id}`: the vendor's whole message; a partner's or customer's own copy,
/// marked read as it is opened.
async fn message(
    state: State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, Oops> {
    if visitor.is_vendor() {
        vendor::message(state, visitor, id).await
    } else {
        reader::message(state, visitor, id).await
    }
}

/// `/threads/{id}`: an incident's timeline as the visitor was told it.
async fn thread(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, Oops> {
    let timeline = state.service().timeline(&visitor.caller, &id).await?;
    Ok(vendor::timeline_page(&visitor, &timeline).into_response())
}

/// What a path the server does not have answers: for a browser, the console's page of
/// what does not exist; for anyone else, the API's problem.
pub fn wants_page(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The console's page of what does not exist.
pub async fn not_found_page() -> Response {
    guarded(Oops::not_found("such page").into_response()).await
}
