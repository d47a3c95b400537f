//! Composing a message: the category first, then its scope (products, services and regions
//! picked from the directory, customers found by search, subscriptions by id), its title
//! and body in one or two locales; the audience seen before publishing (customers told
//! directly, partners told, emails by language, and why or why not for any customer, the
//! explanation `explain` gives); then published.
//!
//! The form posts to itself: `find` looks customers up, `preview` routes the draft without
//! storing it, `publish` publishes it. Each keeps what was typed, so nothing is lost to a
//! refusal, which is shown above the form in the words the API would use.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use herald_domain::explain::Explanation;
use herald_domain::report::Report;
use herald_domain::wire;
use herald_service::ServiceError;
use herald_store::{Endpoint, Mode};
use maud::{html, Markup};
use serde_json::{json, Map, Value};

use super::page::{self, Oops};
use super::session::{check_form, Visitor};
use super::vendor;
use crate::state::AppState;

/// How many customers a search shows.
const FOUND: usize = 25;
/// How many customers told directly the audience names.
const NAMED: usize = 50;
/// The scope fields picked from lists of the directory.
const PICKED: [&str; 3] = ["products", "services", "regions"];

/// The form as posted: every field, in order, repeated fields (checkboxes) kept.
#[derive(Default)]
struct Draft(Vec<(String, String)>);

impl Draft {
    fn parse(body: &[u8]) -> Draft {
        Draft(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `field`, trimmed; empty when absent.
    fn one(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == field)
            .map_or("", |(_, v)| v.trim())
    }

    /// Every value of `field` (ticked boxes, or ids separated by commas or spaces).
    fn many(&self, field: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| k == field)
            .flat_map(|(_, v)| v.split([',', ' ', '\n']))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        values.dedup();
        values
    }

    /// The draft as a message's JSON, as the API would take it.
    fn message(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.one("id")));
        m.insert("category".into(), json!(self.one("category")));
        for field in PICKED.into_iter().chain(["customers", "subscriptions"]) {
            let values = self.many(field);
            if !values.is_empty() {
                m.insert(field.into(), json!(values));
            }
        }
        if !self.one("thread").is_empty() {
            m.insert("thread".into(), json!(self.one("thread")));
            m.insert("status".into(), json!(self.one("status")));
        }
        let texts: Vec<(&str, &str, &str)> = [1, 2]
            .into_iter()
            .map(|n| {
                (
                    self.one(&format!("locale_{n}")),
                    self.one(&format!("title_{n}")),
                    self.one(&format!("body_{n}")),
                )
            })
            .filter(|(_, title, body)| !title.is_empty() || !body.is_empty())
            .collect();
        match texts.as_slice() {
            [] => {}
            [("", title, body)] => {
                m.insert("title".into(), json!(title));
                m.insert("body".into(), json!(body));
            }
            many => {
                let (mut titles, mut bodies) = (BTreeMap::new(), BTreeMap::new());
                for (locale, title, body) in many {
                    let locale = if locale.is_empty() { "en" } else { locale };
                    titles.insert(locale.to_owned(), title.to_owned());
                    bodies.insert(locale.to_owned(), body.to_owned());
                }
                m.insert("title".into(), json!(titles));
                m.insert("body".into(), json!(bodies));
            }
        }
        Value::Object(m)
    }

    /// The draft as a message, or why it is not one.
    fn wire(&self) -> Result<wire::Message, String> {
        serde_json::from_value(self.message())
            .map_err(|e| format!("the message is not complete: {e}"))
    }
}

/// `GET /compose`: an empty form.
pub async fn form(State(state): State<AppState>, visitor: Visitor) -> Result<Response, Oops> {
    visitor.vendor_only("compose messages")?;
    let mut draft = Draft::default();
    draft.0.push(("id".into(), page::fresh_id("console")));
    draft.0.push(("locale_1".into(), "en-US".into()));
    Ok(
        render(&state, &visitor, &draft, Outcome::Empty, StatusCode::OK)
            .await?
            .into_response(),
    )
}

/// What the last step of the form came to.
enum Outcome {
    Empty,
    Found(Vec<(String, Option<String>)>),
    /// The draft's routing, the webhook events it would send, and why or why not for the
    /// customer asked about.
    Audience(Box<Report>, usize, Option<Explanation>),
    Refused(String),
}

/// `POST /compose`: find customers, preview the audience, or publish.
pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Oops> {
    let draft = Draft::parse(&body);
    check_form(&headers, &visitor.csrf, draft.one("csrf"))?;
    visitor.vendor_only("compose messages")?;
    let service = state.service();
    let (outcome, status) = match draft.one("action") {
        "find" => (
            Outcome::Found(find(&state, &visitor, draft.one("find")).await?),
            StatusCode::OK,
        ),
        "publish" => {
            let published = match draft.wire() {
                Ok(wire) => vendor::publish(&state, &visitor, wire)
                    .await
                    .map_err(|e| e.detail()),
                Err(e) => Err(e),
            };
            match published {
                Ok(summary) => {
                    return Ok(Redirect::to(&page::link("messages", &summary.id)).into_response())
                }
                Err(reason) => (Outcome::Refused(reason), StatusCode::UNPROCESSABLE_ENTITY),
            }
        }
        _ => match draft.wire() {
            Err(reason) => (Outcome::Refused(reason), StatusCode::UNPROCESSABLE_ENTITY),
            Ok(wire) => match service.route_report(&visitor.caller, wire.clone()).await {
                Ok(report) => {
                    let endpoints = state
                        .store()
                        .endpoints_for(visitor.caller.0.cloud(), &report.category)
                        .await?;
                    let webhooks = webhooks(&report, &endpoints);
                    let why = draft.one("explain");
                    let explanation = if why.is_empty() {
                        None
                    } else {
                        Some(service.explain_draft(&visitor.caller, wire, why).await)
                    };
                    match explanation.transpose() {
                        Ok(explanation) => (
                            Outcome::Audience(Box::new(report), webhooks, explanation),
                            StatusCode::OK,
                        ),
                        Err(e) => (
                            Outcome::Refused(refusal(e)?),
                            StatusCode::UNPROCESSABLE_ENTITY,
                        ),
                    }
                }
                Err(e) => (
                    Outcome::Refused(refusal(e)?),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
            },
        },
    };
    Ok(render(&state, &visitor, &draft, outcome, status)
        .await?
        .into_response())
}

/// A refusal's words, to show above the form; a failure is an error page.
fn refusal(e: ServiceError) -> Result<String, Oops> {
    match e {
        ServiceError::Refused(refusal) => Ok(refusal.detail().to_owned()),
        e => Err(Oops::from(e)),
    }
}

/// Up to [`FOUND`] customers of the visitor's cloud whose id or name holds `words`.
async fn find(
    state: &AppState,
    visitor: &Visitor,
    words: &str,
) -> Result<Vec<(String, Option<String>)>, Oops> {
    let snapshot = state.service().current_snapshot().await?;
    let directory = &snapshot.directory;
    let Some(cloud) = directory.cloud_ix(visitor.caller.0.cloud()) else {
        return Ok(Vec::new());
    };
    let words = words.to_lowercase();
    Ok(directory
        .customers()
        .iter()
        .filter(|c| c.cloud == cloud)
        .filter(|c| {
            c.id.as_str().to_lowercase().contains(&words)
                || c.name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(&words))
        })
        .take(FOUND)
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect())
}

/// The form, filled with `draft`, and below it what the last step came to.
async fn render(
    state: &AppState,
    visitor: &Visitor,
    draft: &Draft,
    outcome: Outcome,
    status: StatusCode,
) -> Result<(StatusCode, Markup), Oops> {
    let snapshot = state.service().current_snapshot().await?;
    let directory = &snapshot.directory;
    let products: Vec<(String, String)> = directory
        .products()
        .iter()
        .map(|p| {
            (
                p.id.to_string(),
                p.name.clone().unwrap_or_else(|| p.id.to_string()),
            )
        })
        .collect();
    let services: Vec<(String, String)> = directory
        .services()
        .iter()
        .map(|s| (s.to_string(), s.to_string()))
        .collect();
    let regions: Vec<(String, String)> = directory
        .cloud_ix(visitor.caller.0.cloud())
        .map(|cloud| directory.regions_in(cloud))
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.to_owned(), r.to_owned()))
        .collect();
    let picked = |field: &str| draft.many(field);
    let category = draft.one("category");
    let body = html! {
        h1 { "Compose a message" }
        @if let Outcome::Refused(reason) = &outcome {
            p.error role="alert" { (reason) }
        }
        form.compose method="post" action="/compose" {
            input type="hidden" name="csrf" value=(visitor.csrf);
            fieldset {
                legend { "1. Category" }
                @for c in state.policy().categories() {
                    label.choice {
                        input type="radio" name="category" value=(c.name) required checked[c.name == category];
                        (page::category(&c.name))
                    }
                }
            }
            fieldset {
                legend { "2. Scope" }
                @for (field, label, options) in [("products", "Products", &products), ("services", "Services", &services), ("regions", "Regions", &regions)] {
                    fieldset.picker {
                        legend { (label) }
                        @let chosen = picked(field);
                        @for (value, name) in options {
                            label.choice {
                                input type="checkbox" name=(field) value=(value) checked[chosen.contains(value)];
                                (name)
                            }
                        }
                    }
                }
                label for="customers" { "Customers (ids, separated by commas)" }
                input #customers name="customers" value=(picked("customers").join(", "));
                div.inline {
                    label for="find" { "Find customers by id or name" }
                    input #find name="find" value=(draft.one("find")) type="search";
                    button.secondary type="submit" name="action" value="find" formnovalidate { "Find" }
                }
                @if let Outcome::Found(found) = &outcome {
                    @if found.is_empty() { p.empty { "No customer of this cloud matches." } }
                    @for (id, name) in found {
                        label.choice {
                            input type="checkbox" name="customers" value=(id);
                            code { (id) } @if let Some(n) = name { " " (n) }
                        }
                    }
                }
                label for="subscriptions" { "Subscriptions (ids, separated by commas)" }
                input #subscriptions name="subscriptions" value=(picked("subscriptions").join(", "));
            }
            fieldset {
                legend { "3. Incident thread (for incidents: updates reach everyone it reached)" }
                label for="thread-id" { "Thread id" }
                input #thread-id name="thread" value=(draft.one("thread")) placeholder="leave empty for a one-off message";
                label for="thread-status" { "Status" }
                select #thread-status name="status" {
                    @for s in ["investigating", "identified", "monitoring", "resolved"] {
                        option value=(s) selected[s == draft.one("status")] { (s) }
                    }
                }
            }
            fieldset {
                legend { "4. Title and body, per locale" }
                @for n in [1, 2] {
                    div.locale {
                        label for=(format!("locale-{n}")) { "Locale" @if n == 2 { " (optional)" } }
                        input id=(format!("locale-{n}")) name=(format!("locale_{n}")) value=(draft.one(&format!("locale_{n}"))) placeholder="en-US";
                        label for=(format!("title-{n}")) { "Title" }
                        input id=(format!("title-{n}")) name=(format!("title_{n}")) value=(draft.one(&format!("title_{n}")));
                        label for=(format!("body-{n}")) { "Body" }
                        textarea id=(format!("body-{n}")) name=(format!("body_{n}")) rows="4" { (draft.one(&format!("body_{n}"))) }
                    }
                }
            }
            fieldset {
                legend { "5. Check, then publish" }
                label for="message-id" { "Message id (publishing it again changes nothing)" }
                input #message-id name="id" value=(draft.one("id")) required;
                label for="explain" { "Why or why not, for customer (optional)" }
                input #explain name="explain" value=(draft.one("explain")) placeholder="customer id";
                div.actions {
                    button type="submit" name="action" value="preview" { "See the audience" }
                    button type="submit" name="action" value="publish" { "Publish" }
                }
            }
        }
        @if let Outcome::Audience(report, webhooks, explanation) = &outcome {
            (audience(report, *webhooks, explanation.as_ref()))
        }
    };
    Ok((status, page::page(visitor, "Compose", false, body)))
}

/// How many webhook events the routed draft would send: one to each of `endpoints` (the
/// enabled ones of the cloud that take its category) owned by the vendor, a partner told
/// (one per customer for an endpoint that wants that) or a customer told directly.
fn webhooks(report: &Report, endpoints: &[Endpoint]) -> usize {
    endpoints
        .iter()
        .map(|e| match (e.owner_kind.as_str(), e.owner.as_deref()) {
            ("vendor", _) => 1,
            ("partner", Some(partner)) => report
                .partner_copies
                .iter()
                .find(|c| c.partner == partner)
                .map_or(0, |c| match e.mode {
                    Mode::Aggregated => 1,
                    Mode::PerCustomer => c.customers.len(),
                }),
            ("customer", Some(customer)) => report
                .decisions
                .iter()
                .filter(|d| d.direct && d.customer == customer)
                .count(),
            _ => 0,
        })
        .sum()
}

/// Who the draft reaches: customers told directly, partners told, deliveries by channel
/// and emails by language.
fn audience(report: &Report, webhooks: usize, explanation: Option<&Explanation>) -> Markup {
    let direct: Vec<&str> = report
        .decisions
        .iter()
        .filter(|d| d.direct)
        .map(|d| d.customer.as_str())
        .collect();
    let mut by_locale: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for d in &report.decisions {
        for r in d.copy.iter().flat_map(|c| &c.readers) {
            *by_locale
                .entry(("customers", r.locale.as_str()))
                .or_default() += 1;
        }
    }
    for c in &report.partner_copies {
        for r in &c.readers {
            *by_locale
                .entry(("partners", r.locale.as_str()))
                .or_default() += 1;
        }
    }
    html! {
        section.card.audience #audience {
            h2 { "Audience" }
            ul.figures {
                li { strong { (report.decisions.len()) } " customers in scope" }
                li { strong { (direct.len()) } " told directly" }
                li { strong { (report.partner_copies.len()) } " partners told" }
            }
            h3 { "Told directly" }
            p {
                (page::ids(&direct.iter().take(NAMED).map(|s| (*s).to_owned()).collect::<Vec<_>>()))
                @if direct.len() > NAMED { " and " (direct.len() - NAMED) " more" }
            }
            h3 { "Partners told" }
            @if report.partner_copies.is_empty() { p { "—" } } @else {
                ul {
                    @for c in &report.partner_copies {
                        li { code { (c.partner) } ": " (c.customers.len()) " customer" @if c.customers.len() != 1 { "s" } ", " (c.readers.len()) " reader" @if c.readers.len() != 1 { "s" } }
                    }
                }
            }
            h3 { "Emails by language" }
            @if by_locale.is_empty() { p { "No email." } } @else {
                table {
                    thead { tr { th { "To" } th { "Language" } th.num { "Emails" } } }
                    tbody {
                        @for ((to, locale), n) in &by_locale {
                            tr { td { (to) } td { (locale) } td.num { (n) } }
                        }
                    }
                }
            }
            h3 { "Deliveries by channel" }
            ul.figures {
                li { strong { (by_locale.values().sum::<usize>()) } " emails" }
                li { strong { (webhooks) } " webhook events" }
            }
            @if let Some(e) = explanation {
                h3 { "Why " code { (e.id) } @if e.heard { " hears" } @else { " does not hear" } }
                ol.lines { @for line in &e.lines { li { (line) } } }
            }
        }
    }
}
