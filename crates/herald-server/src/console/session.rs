//! Signing in and out of the console, and who a browser is.
//!
//! A browser signs in with an API key and gets a session (`herald_session`, a cookie that
//! is HttpOnly, SameSite=Strict, and Secure when the request came over TLS through a
//! proxy that says so), stored in the store so that every server of it knows the session.
//! Each session has a CSRF token that every form carries; a posted form is refused unless
//! it sends that token back and, when the browser says where the form came from (`Origin`,
//! `Sec-Fetch-Site`), it came from this console. The sign-in form, before any session,
//! carries a token of its own, also kept in a cookie (`herald_sign_in`).

use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use herald_service::Caller;
use herald_store::Principal;
use maud::html;
use serde::Deserialize;

use super::page::{self, Oops};
use crate::state::AppState;

/// The session cookie.
const SESSION: &str = "herald_session";
/// The sign-in form's own token, before there is a session.
const SIGN_IN: &str = "herald_sign_in";
/// How long a session lasts: a working day.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;

/// A signed-in browser: who it acts as, and the token its forms carry.
pub struct Visitor {
    pub caller: Caller,
    pub csrf: String,
    /// The session token, which the live stream checks again as it goes on.
    pub(super) token: String,
}

impl Visitor {
    /// What the visitor is, in words: "the vendor of global", "partner fabrikam", ….
    pub fn who(&self) -> String {
        match &self.caller.0 {
            Principal::Vendor { cloud } => format!("vendor · {cloud}"),
            Principal::Partner { partner, .. } => format!("partner · {partner}"),
            Principal::Customer { customer, .. } => format!("customer · {customer}"),
        }
    }

    pub fn is_vendor(&self) -> bool {
        matches!(self.caller.0, Principal::Vendor { .. })
    }

    /// The vendor's cloud; anyone else is refused, as the API refuses it, since only the
    /// vendor may `act`.
    pub fn vendor_cloud(&self, act: &str) -> Result<String, Oops> {
        Ok(self.caller.vendor_cloud(act)?.to_owned())
    }

    /// Refuses anyone but the vendor, who alone may `act`.
    pub fn vendor_only(&self, act: &str) -> Result<(), Oops> {
        if self.is_vendor() {
            Ok(())
        } else {
            Err(Oops::forbidden(&format!("Only the vendor may {act}.")))
        }
    }
}

/// Where a browser that is not signed in goes.
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to("/sign-in").into_response()
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION) else {
            return Err(SignInFirst.into_response());
        };
        let session = state
            .store()
            .session(token, crate::clock::now())
            .await
            .map_err(|e| Oops::from(e).into_response())?;
        let Some(session) = session else {
            return Err(SignInFirst.into_response());
        };
        // A vendor key for every cloud changes only the catalog, which the console does
        // not edit: it signs in as no one here.
        let caller = Caller::new(session.key.principal, session.key.id)
            .map_err(|refusal| Oops::from(refusal).into_response())?;
        Ok(Visitor {
            caller,
            csrf: session.csrf,
            token: token.to_owned(),
        })
    }
}

/// The value of cookie `name` the request carries.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the request came over TLS, as the proxy in front of the server says.
fn over_tls(headers: &HeaderMap) -> bool {
    let says = |name: &str, needle: &str| {
        headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.to_ascii_lowercase().contains(needle))
    };
    says("x-forwarded-proto", "https") || says("forwarded", "proto=https")
}

/// A `Set-Cookie` for `name`, living `max_age` seconds (0 removes it).
fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie names and hex values are header-safe")
}

/// Refuses a form that came from another site, as the browser tells: by `Sec-Fetch-Site`
/// (sent by every current browser) anything but `same-origin`, or, from a browser that
/// does not send it, an `Origin` whose host is not the one the request was sent to
/// (`X-Forwarded-Host` behind a proxy, else `Host`).
fn same_origin(headers: &HeaderMap) -> Result<(), Oops> {
    let cross = || {
        Oops::forbidden(
            "This form was sent from another site. Open the console and send it from there.",
        )
    };
    let text = |name| {
        headers
            .get(name)
            .and_then(|h: &HeaderValue| h.to_str().ok())
    };
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(cross()),
        };
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let host = text("x-forwarded-host").or_else(|| text(HOST.as_str()));
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if host.is_none() || origin_host != host {
            return Err(cross());
        }
    }
    Ok(())
}

/// Refuses a posted form unless it came from this console and carries `expected`, the
/// token of the session (or of the sign-in form) it was served with.
pub fn check_form(headers: &HeaderMap, expected: &str, sent: &str) -> Result<(), Oops> {
    same_origin(headers)?;
    if expected.is_empty() || !same_bytes(expected.as_bytes(), sent.as_bytes()) {
        return Err(Oops::forbidden(
            "This form has expired or did not come from this console. Go back, reload the page and send it again.",
        ));
    }
    Ok(())
}

/// Whether `a` and `b` are equal, in a time that depends on their length only.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A fresh random token in hex.
fn fresh_token() -> Result<String, Oops> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| Oops::internal(format!("no random bytes: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `GET /sign-in`: the form, with a token of its own in a cookie.
pub async fn sign_in_form(headers: HeaderMap) -> Result<Response, Oops> {
    sign_in_page(&headers, None, StatusCode::OK)
}

/// The sign-in page, with `error` above the form when the last try failed.
fn sign_in_page(
    headers: &HeaderMap,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, Oops> {
    let token = fresh_token()?;
    let body = html! {
        section.card.narrow {
            h1 { "Sign in" }
            p { "Sign in with an API key: a vendor's, a partner's or a customer's. The console shows what the API would show that key, and nothing more." }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form method="post" action="/sign-in" {
                input type="hidden" name="csrf" value=(token);
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="off" required placeholder="hk_…";
                button type="submit" { "Sign in" }
            }
        }
    };
    let mut response = (status, page::bare("Sign in", body)).into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, set_cookie(headers, SIGN_IN, &token, 3_600));
    Ok(response)
}

/// The sign-in form as posted.
#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

/// `POST /sign-in`: a session for a valid key, then the console's home.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Result<Response, Oops> {
    check_form(
        &headers,
        cookie(&headers, SIGN_IN).unwrap_or(""),
        &form.csrf,
    )?;
    let opened = state
        .store()
        .open_session(form.key.trim(), crate::clock::now(), SESSION_LIFETIME_MS)
        .await?;
    let Some((key, session)) = opened else {
        return sign_in_page(
            &headers,
            Some("That key is unknown or revoked. Check it and try again."),
            StatusCode::UNAUTHORIZED,
        );
    };
    if key.principal.every_cloud() {
        state.store().close_session(&session.token).await?;
        return sign_in_page(
            &headers,
            Some("A vendor key for every cloud only changes the product catalog, through the API. Sign in with a vendor key of one cloud."),
            StatusCode::FORBIDDEN,
        );
    }
    // A browser signing in again leaves no session of its own behind.
    if let Some(previous) = cookie(&headers, SESSION) {
        state.store().close_session(previous).await?;
    }
    let mut response = Redirect::to("/").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        SET_COOKIE,
        set_cookie(
            &headers,
            SESSION,
            &session.token,
            SESSION_LIFETIME_MS / 1000,
        ),
    );
    cookies.append(SET_COOKIE, set_cookie(&headers, SIGN_IN, "", 0));
    Ok(response)
}

/// A form that carries only the session's token.
#[derive(Deserialize)]
pub struct Plain {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /sign-out`: the session ends, in the store, for every server.
pub async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<Plain>,
) -> Result<Response, Oops> {
    check_form(&headers, &visitor.csrf, &form.csrf)?;
    state.store().close_session(&visitor.token).await?;
    let mut response = Redirect::to("/sign-in").into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, set_cookie(&headers, SESSION, "", 0));
    Ok(response)
}
