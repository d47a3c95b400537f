//! What every page shares: the layout (a header naming who is signed in, the navigation
//! for that kind of principal, the sign-out button), the error page, and how times and
//! localized text are shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_store::Principal;
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::session::Visitor;
use crate::problem::Problem;

/// The `<head>` of every page: the embedded style sheet, and the live-update script on
/// pages that ask for it.
fn head(title: &str, live: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Herald" }
            link rel="stylesheet" href="/assets/console.css";
            @if live {
                script src="/assets/live.js" defer {}
            }
        }
    }
}

/// A page for a signed-in visitor: the header with its navigation, then `body`. A `live`
/// page follows the store and shows what arrives without a reload.
pub fn page(visitor: &Visitor, title: &str, live: bool, body: Markup) -> Markup {
    let links: &[(&str, &str)] = match visitor.caller.0 {
        Principal::Vendor { .. } => &[
            ("/", "Messages"),
            ("/compose", "Compose"),
            ("/directory", "Directory"),
            ("/deliveries", "Dead letters"),
            ("/endpoints", "Webhooks"),
            ("/audit", "Audit"),
        ],
        Principal::Partner { .. } => &[
            ("/", "Notices"),
            ("/inbox", "Inbox"),
            ("/endpoints", "Webhooks"),
        ],
        Principal::Customer { .. } => &[("/", "Inbox"), ("/endpoints", "Webhooks")],
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, live))
            body data-live=[live.then_some("/live")] {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/" { "Herald" }
                    nav aria-label="Console" {
                        @for (href, label) in links {
                            a href=(href) { (label) }
                        }
                    }
                    span.who { (visitor.who()) }
                    form.sign-out method="post" action="/sign-out" {
                        input type="hidden" name="csrf" value=(visitor.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main #main tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

/// A page for no one signed in: the sign-in page.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, false))
            body {
                header.top { a.brand href="/" { "Herald" } }
                main #main { (body) }
            }
        }
    }
}

/// A page that went wrong, shown as a page with the problem's title and words: never a
/// trace, and for what the visitor may not see, exactly the page of what does not exist.
#[derive(Debug)]
pub struct Oops(Problem);

impl Oops {
    pub fn forbidden(detail: &str) -> Oops {
        Oops(Problem::new(crate::problem::Kind::Forbidden, detail))
    }

    pub fn not_found(what: impl std::fmt::Display) -> Oops {
        Oops(Problem::not_found(what))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Oops {
        Oops(Problem::internal(cause))
    }

    /// A page of `status`, saying `detail`.
    pub fn plain(status: StatusCode, detail: String) -> Oops {
        Oops(Problem::plain(status, detail))
    }

    /// What went wrong, in words a person can act on.
    pub fn detail(&self) -> String {
        self.0.detail.clone()
    }
}

impl<E: Into<Problem>> From<E> for Oops {
    fn from(e: E) -> Oops {
        Oops(e.into())
    }
}

impl IntoResponse for Oops {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (title, words) = match status {
            StatusCode::NOT_FOUND => ("Not found", "There is nothing here that this key may see."),
            StatusCode::FORBIDDEN => ("Not allowed", self.0.detail.as_str()),
            _ => (self.0.title.as_str(), self.0.detail.as_str()),
        };
        let body = html! {
            section.card.narrow.problem {
                h1 { (title) }
                p { (words) }
                @if status == StatusCode::NOT_FOUND {
                    p.detail { (self.0.detail) }
                }
                p { a href="/" { "Back to the console" } }
            }
        };
        (status, bare(title, body)).into_response()
    }
}

/// Unix milliseconds as a date and time in UTC, such as `2026-12-06 22:41 UTC`.
pub fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// A `<time>` element for Unix milliseconds.
pub fn time(ms: i64) -> Markup {
    let iso = jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default();
    html! { time datetime=(iso) { (when(ms)) } }
}

/// Text that is plain or given per locale, in the first of `locales` it has (then English,
/// then any).
pub fn localized(text: &Value, locales: &[&str]) -> String {
    match text {
        Value::String(s) => s.clone(),
        Value::Object(by_locale) => locales
            .iter()
            .chain(["en-US", "en"].iter())
            .find_map(|l| by_locale.get(*l))
            .or_else(|| by_locale.values().next())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// A category's name as words: `service_incident` as "service incident".
pub fn category(name: &str) -> String {
    name.replace('_', " ")
}

/// An incident's status as a badge.
pub fn status(status: Option<&str>) -> Markup {
    html! {
        @if let Some(s) = status {
            span class=(format!("badge status-{s}")) { (s) }
        }
    }
}

/// The text of a body, its paragraphs kept.
pub fn paragraphs(text: &str) -> Markup {
    html! {
        @for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
            p { (paragraph) }
        }
    }
}

/// A list of ids, or a dash when there are none.
pub fn ids(list: &[String]) -> Markup {
    html! {
        @if list.is_empty() { "—" } @else {
            @for (i, id) in list.iter().enumerate() {
                @if i > 0 { ", " }
                code { (id) }
            }
        }
    }
}

/// A value for a query string or a path segment, percent-encoded: ids may hold `/`, `?`,
/// `#` or `%`.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The path of `id` under `prefix` (`messages`, `threads`, …), its id encoded.
pub fn link(prefix: &str, id: &str) -> String {
    format!("/{prefix}/{}", encode(id))
}

/// A new message id for a form to publish under, made as the form is shown, so that the
/// same form sent twice is one message: `prefix`, the time, and random digits, so that two
/// forms shown in the same second differ.
pub fn fresh_id(prefix: &str) -> String {
    let now = crate::clock::now();
    let mut random = [0u8; 3];
    let _ = getrandom::fill(&mut random);
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let time = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.strftime("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_else(|_| now.to_string());
    format!("{prefix}-{time}-{random}")
}
