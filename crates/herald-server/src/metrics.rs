//! Prometheus metrics: requests by route and status, messages published, decisions made,
//! endpoints' test events by outcome, and deliveries by status (read from the store when
//! scraped).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use herald_store::AttemptOutcome;

/// The counters the server keeps itself.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    published: AtomicU64,
    decisions: AtomicU64,
    test_events: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts a message newly accepted with `decisions` decisions.
    pub fn published(&self, decisions: i64) {
        self.published.fetch_add(1, Ordering::Relaxed);
        self.decisions
            .fetch_add(decisions.max(0) as u64, Ordering::Relaxed);
    }

    /// Counts a test event sent to an endpoint, by how its attempt ended.
    pub fn webhook_attempt(&self, outcome: AttemptOutcome) {
        *self
            .test_events
            .lock()
            .expect("no thread panics holding it")
            .entry(outcome.as_str())
            .or_default() += 1;
    }

    /// The Prometheus text exposition, with the deliveries by status given.
    pub fn render(&self, deliveries: &[(String, i64)]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP herald_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE herald_http_requests_total counter\n");
        for ((route, status), n) in self
            .requests
            .lock()
            .expect("no thread panics holding it")
            .iter()
        {
            let _ = writeln!(
                out,
                "herald_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP herald_messages_published_total Messages newly accepted.\n");
        out.push_str("# TYPE herald_messages_published_total counter\n");
        let _ = writeln!(
            out,
            "herald_messages_published_total {}",
            self.published.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP herald_decisions_total Decisions stored for newly accepted messages.\n",
        );
        out.push_str("# TYPE herald_decisions_total counter\n");
        let _ = writeln!(
            out,
            "herald_decisions_total {}",
            self.decisions.load(Ordering::Relaxed)
        );
        out.push_str("# HELP herald_webhook_test_events_total Test events sent to webhook endpoints, by outcome.\n");
        out.push_str("# TYPE herald_webhook_test_events_total counter\n");
        for (outcome, n) in self
            .test_events
            .lock()
            .expect("no thread panics holding it")
            .iter()
        {
            let _ = writeln!(
                out,
                "herald_webhook_test_events_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP herald_deliveries Deliveries in the store, by status.\n");
        out.push_str("# TYPE herald_deliveries gauge\n");
        for (status, n) in deliveries {
            let _ = writeln!(out, "herald_deliveries{{status=\"{status}\"}} {n}");
        }
        out
    }
}

/// Counts every answered request under its route template (never the raw path, so ids do
/// not become labels).
pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    *metrics
        .requests
        .lock()
        .expect("no thread panics holding it")
        .entry((route, status))
        .or_default() += 1;
    response
}
