//! Webhook endpoints, each visitor its own: registered (the signing secret shown once),
//! the secret rotated (shown once again), a signed test event sent and how it went; an
//! endpoint's deliveries that failed, with every attempt, and a dead one replayed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use herald_delivery::Secret;
use herald_store::{Attempt, DeliveryDetail, Endpoint, Mode, DEFAULT_OVERLAP_MS};
use maud::{html, Markup};

use super::page::{self, Oops};
use super::session::{check_form, Visitor};
use crate::endpoints::{self, missing, Registration};
use crate::state::AppState;

/// How many of an endpoint's failed deliveries its page shows.
const TROUBLED_SHOWN: usize = 50;

/// A form's fields, repeated ones (the categories) kept.
fn fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of `name`.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

/// The secret shown once, with what to do with it.
fn secret_shown(secret: &Secret) -> Markup {
    html! {
        div.card.secret role="status" {
            h2 { "The signing secret" }
            p { "Keep it now: it is not shown again. Your receiver checks each event's signature with it (Standard Webhooks)." }
            p { code.token { (secret.to_string()) } }
        }
    }
}

/// The page of the visitor's endpoints, with `above` (a secret, a test's outcome or a
/// refusal) at the top.
async fn endpoints_page(
    state: &AppState,
    visitor: &Visitor,
    above: Markup,
    status: StatusCode,
) -> Result<Response, Oops> {
    let list = state.store().endpoints(&visitor.caller.0).await?;
    let is_partner = matches!(visitor.caller.0, herald_store::Principal::Partner { .. });
    let body = html! {
        h1 { "Webhook endpoints" }
        (above)
        @if list.is_empty() {
            p.empty { "No endpoint yet. Register one below to have each notice POSTed to you, signed." }
        }
        @for e in &list {
            (endpoint_card(visitor, e))
        }
        section.card {
            h2 { "Register an endpoint" }
            form.stack method="post" action="/endpoints" {
                input type="hidden" name="csrf" value=(visitor.csrf);
                label for="url" { "URL (https, on a public address)" }
                input #url name="url" type="url" required placeholder="https://hooks.example.com/herald";
                label for="description" { "Description (optional)" }
                input #description name="description";
                fieldset.picker {
                    legend { "Categories (none ticked: every category)" }
                    @for c in state.policy().categories() {
                        label.choice {
                            input type="checkbox" name="categories" value=(c.name);
                            (page::category(&c.name))
                        }
                    }
                }
                @if is_partner {
                    label for="mode" { "Events" }
                    select #mode name="mode" {
                        option value="aggregated" { "one per message, listing your customers" }
                        option value="per_customer" { "one per message and customer" }
                    }
                }
                button type="submit" { "Register" }
            }
        }
    };
    Ok((status, page::page(visitor, "Webhooks", false, body)).into_response())
}

/// One endpoint and its actions.
fn endpoint_card(visitor: &Visitor, e: &Endpoint) -> Markup {
    let action = |verb: &str| format!("{}/{verb}", page::link("endpoints", &e.id));
    html! {
        section.card.endpoint {
            h2 { code { (e.url) } }
            p.meta {
                code { (e.id) } " · registered " (page::time(e.created_at)) " · "
                @match e.mode { Mode::Aggregated => "one event per message", Mode::PerCustomer => "one event per customer" }
                " · "
                @match &e.categories { None => "every category", Some(c) => (c.join(", ")) }
            }
            @if !e.description.is_empty() { p { (e.description) } }
            @if let Some(at) = e.disabled_at {
                p.warning { "Disabled " (page::time(at)) ": " (e.disabled_reason.as_deref().unwrap_or("")) }
            }
            div.actions {
                form method="post" action=(action("test")) {
                    input type="hidden" name="csrf" value=(visitor.csrf);
                    button type="submit" { "Send a test event" }
                }
                form method="post" action=(action("rotate")) {
                    input type="hidden" name="csrf" value=(visitor.csrf);
                    button.secondary type="submit" { "Rotate the secret" }
                }
                a.button.secondary href=(page::link("endpoints", &e.id)) { "Failed deliveries" }
            }
        }
    }
}

/// `GET /endpoints`: the visitor's endpoints.
pub async fn list(State(state): State<AppState>, visitor: Visitor) -> Result<Response, Oops> {
    endpoints_page(&state, &visitor, html! {}, StatusCode::OK).await
}

/// `POST /endpoints`: registers one, and shows its secret once.
pub async fn register(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Oops> {
    let form = fields(&body);
    check_form(&headers, &visitor.csrf, field(&form, "csrf"))?;
    let categories: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "categories")
        .map(|(_, v)| v.clone())
        .collect();
    let mode = match field(&form, "mode") {
        "per_customer" => Some(Mode::PerCustomer),
        _ => None,
    };
    let description = field(&form, "description");
    let registration = Registration {
        url: field(&form, "url").to_owned(),
        description: (!description.is_empty()).then(|| description.to_owned()),
        categories: (!categories.is_empty()).then_some(categories),
        mode,
    };
    match endpoints::register(&state, &visitor.caller, registration).await {
        Ok((_, secret)) => {
            endpoints_page(&state, &visitor, secret_shown(&secret), StatusCode::CREATED).await
        }
        Err(refused) if refused.status == 422 => {
            let above = html! { p.error role="alert" { (refused.detail) } };
            endpoints_page(&state, &visitor, above, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /endpoints/{id}/rotate`: a new secret, shown once; the old one signs beside it
/// for a day.
pub async fn rotate(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Oops> {
    check_form(&headers, &visitor.csrf, field(&fields(&body), "csrf"))?;
    let (_, secret) = endpoints::rotate(&state, &visitor.caller, &id, DEFAULT_OVERLAP_MS).await?;
    let above = html! {
        (secret_shown(&secret))
        p.meta { "The previous secret goes on signing beside it for 24 hours, while your receiver changes over." }
    };
    endpoints_page(&state, &visitor, above, StatusCode::OK).await
}

/// How an attempt went, in a line.
fn attempt_line(a: &Attempt) -> Markup {
    html! {
        (page::time(a.at)) " · " strong { (a.outcome.as_str()) }
        @if let Some(code) = a.code { " · " (code) }
        " · " (a.latency_us / 1000) " ms"
        @if let Some(e) = &a.error { " · " (e) }
        @if let Some(r) = &a.reply { " · " code { (r) } }
    }
}

/// `POST /endpoints/{id}/test`: a signed test event sent now, and how it went.
pub async fn test(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Oops> {
    check_form(&headers, &visitor.csrf, field(&fields(&body), "csrf"))?;
    let (webhook_id, attempt) = endpoints::send_test(&state, &visitor.caller, &id).await?;
    let above = html! {
        div.card role="status" {
            h2 { "Test event " code { (webhook_id) } }
            p { (attempt_line(&attempt)) }
        }
    };
    endpoints_page(&state, &visitor, above, StatusCode::OK).await
}

/// `GET /endpoints/{id}`: the endpoint's deliveries that did not arrive at once, each with
/// every attempt, a dead one with its replay button.
pub async fn failures(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, Oops> {
    let endpoint = state
        .store()
        .endpoint(&visitor.caller.0, &id)
        .await?
        .ok_or_else(|| Oops::from(missing(&id)))?;
    let troubled = state
        .service()
        .endpoint_failures(&visitor.caller, &id, TROUBLED_SHOWN + 1)
        .await?;
    let more = troubled.len() > TROUBLED_SHOWN;
    let mut details: Vec<DeliveryDetail> = Vec::new();
    for d in troubled.iter().take(TROUBLED_SHOWN) {
        details.push(state.service().delivery(&visitor.caller, d.id).await?);
    }
    let body = html! {
        h1 { "Failed deliveries to " code { (endpoint.url) } }
        p.lead { "Deliveries that did not arrive at the first attempt: retrying on the schedule, or dead until replayed." }
        @if details.is_empty() { p.empty { "None: every event arrived." } }
        @if more { p.meta { "The newest " (TROUBLED_SHOWN) " are shown." } }
        @for d in &details {
            section.card {
                h2 {
                    "Delivery " (d.delivery.id) " of " a href=(page::link("messages", &d.delivery.message)) { code { (d.delivery.message) } }
                    " " span class=(format!("badge {}", d.delivery.status)) { (d.delivery.status) }
                }
                ol.attempts { @for a in &d.attempts { li { (attempt_line(a)) } } }
                @if d.delivery.status == "dead" {
                    form method="post" action=(format!("/deliveries/{}/replay", d.delivery.id)) {
                        input type="hidden" name="csrf" value=(visitor.csrf);
                        button type="submit" aria-label=(format!("Replay delivery {}", d.delivery.id)) { "Replay" }
                    }
                }
            }
        }
        p { a href="/endpoints" { "← Webhook endpoints" } }
    };
    Ok(page::page(&visitor, "Failed deliveries", false, body).into_response())
}
