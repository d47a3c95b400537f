//! `herald listen`: a webhook receiver for a developer's terminal. It listens on a loopback
//! address, verifies each request's Standard Webhooks signature with the endpoint's secret
//! (Herald's own [`Secret::verify`]), prints each verified event (a readable line, or the
//! event as one JSON line with its `webhook_id`) and answers 204; an unsigned or badly
//! signed request is answered 401 and named on stderr. It stops on SIGTERM or Ctrl-C.
//!
//! Loopback only: it is a tool to watch events on one's own machine, not a receiver to
//! expose to a network.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Router;
use herald_delivery::Secret;
use serde_json::Value;

use crate::cli::ListenArgs;
use crate::inputs::millis_now;
use crate::terminal::{self, esay, escaped, say};

/// What every request is checked and printed with.
struct Listener {
    secret: Secret,
    json: bool,
}

/// Listens until SIGTERM or Ctrl-C.
pub async fn run(args: ListenArgs) -> Result<ExitCode> {
    let secret = Secret::parse(&args.secret).context("--secret is not an endpoint's secret")?;
    if !args.listen.ip().is_loopback() {
        bail!(
            "--listen {} is not a loopback address: herald listen is a developer's receiver and listens on this machine only (127.0.0.1 or ::1)",
            args.listen
        );
    }
    let socket = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let address = socket.local_addr()?;
    announce(address);
    let listener = Arc::new(Listener {
        secret,
        json: args.json,
    });
    let app = Router::new().fallback(receive).with_state(listener);
    axum::serve(socket, app)
        .with_graceful_shutdown(herald_server::shutdown_signal())
        .await
        .context("the receiver failed")?;
    esay!("herald listen: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Where it listens and how to have Herald send to it, on stderr.
fn announce(address: SocketAddr) {
    let url = format!("http://{address}/");
    esay!("herald listen: verifying webhooks at {url} (Ctrl-C stops)");
    esay!("  register it with POST /v1/endpoints {{\"url\": \"{url}\"}} (its answer's `secret` is the one --secret takes);");
    esay!("  Herald sends to loopback only when `herald serve` (or `herald work`) runs with --webhooks-allow-private");
}

/// One request: verified, printed and answered 204, or refused.
async fn receive(
    State(listener): State<Arc<Listener>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "webhooks are POSTed\n");
    }
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(timestamp), Some(signature)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        esay!("herald listen: refused a request without webhook-id, webhook-timestamp and webhook-signature headers");
        return (StatusCode::UNAUTHORIZED, "not a signed webhook\n");
    };
    let now = millis_now();
    if let Err(e) = listener
        .secret
        .verify(id, timestamp, signature, &body, now / 1000)
    {
        esay!("herald listen: refused webhook {}: {e}", escaped(id));
        return (StatusCode::UNAUTHORIZED, "bad webhook signature\n");
    }
    let Ok(Value::Object(mut event)) = serde_json::from_slice::<Value>(&body) else {
        esay!(
            "herald listen: webhook {} is signed but its body is not a JSON object",
            escaped(id)
        );
        return (StatusCode::BAD_REQUEST, "the body is not a JSON object\n");
    };
    if listener.json {
        event.insert("webhook_id".to_owned(), Value::from(id));
        match terminal::json(&event, false) {
            Ok(line) => say!("{line}"),
            Err(e) => esay!(
                "herald listen: could not write webhook {}: {e}",
                escaped(id)
            ),
        }
    } else {
        print_event(&terminal::time(now), id, &Value::Object(event));
    }
    (StatusCode::NO_CONTENT, "")
}

/// The event as a person reads it: when it arrived, its webhook id and type, then the
/// copy's message id, category and title, and the customers a partner's copy lists.
fn print_event(at: &str, id: &str, event: &Value) {
    let kind = event["type"].as_str().unwrap_or("?");
    let data = &event["data"];
    if kind == "test" {
        say!(
            "{at}  {}  test  {}",
            escaped(id),
            escaped(data["text"].as_str().unwrap_or_default())
        );
        return;
    }
    // A vendor's copy is the message as published; a partner's or customer's names its
    // message in `message` and its text in `content`.
    let (message, title, locale) = if data["summary"].is_object() {
        (&data["summary"], &data["request"]["title"], &Value::Null)
    } else {
        (
            &data["message"],
            &data["content"]["title"],
            &data["content"]["locale"],
        )
    };
    let text = |v: &Value| escaped(v.as_str().unwrap_or("?")).into_owned();
    say!(
        "{at}  {}  {}  message {} ({})  \"{}\"",
        escaped(id),
        escaped(kind),
        text(&message["id"]),
        text(&message["category"]),
        escaped(&title_of(title, locale.as_str()))
    );
    if let Some(customers) = data["customers"].as_array() {
        let names: Vec<String> = customers.iter().map(text).collect();
        say!("    customers: {}", names.join(", "));
    }
}

/// A title in one language, or the copy's locale's (else the first) of a title per locale.
fn title_of(title: &Value, locale: Option<&str>) -> String {
    match title {
        Value::String(s) => s.clone(),
        Value::Object(by_locale) => locale
            .and_then(|l| by_locale.get(l))
            .or_else(|| by_locale.values().next())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}
