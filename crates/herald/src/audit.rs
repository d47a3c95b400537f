//! `herald audit`: the audit log, newest first: when, who (an API key and whom it acts as,
//! or the operator at the command line), what was done, to what, and what changed.

use std::process::ExitCode;

use anyhow::Result;
use herald_store::{Actor, AuditEntry, Place};
use serde_json::Value;

use crate::inputs::open_existing;
use crate::keys::whom;
use crate::terminal::{self, escaped, say, time};

/// Prints the newest `limit` entries of `cloud`'s log (with those concerning every cloud),
/// or of the whole log, readably or as one JSON object per line.
pub async fn run(cloud: Option<&str>, limit: usize, json: bool, db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let page = store.audit(cloud, None, limit).await;
    store.close().await;
    let entries = page?.entries;
    if json {
        for entry in &entries {
            say!("{}", terminal::json(entry, false)?);
        }
    } else if entries.is_empty() {
        say!("no audit entries in {}", db);
    } else {
        for entry in &entries {
            say!("{}", line(entry));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One entry on one line: number, time, cloud (`*` for every cloud), actor, action,
/// target and what changed.
fn line(e: &AuditEntry) -> String {
    let actor = match &e.actor {
        Actor::Key { id, principal } => format!("key {} ({})", escaped(id), whom(principal)),
        Actor::Operator => "operator (command line)".to_owned(),
        Actor::Bus { subject, .. } => format!("the bus ({})", escaped(subject)),
    };
    format!(
        "#{:<6} {} {:<8} {:<16} {:<18} by {actor}: {}",
        e.seq,
        time(e.at),
        escaped(e.cloud.as_deref().unwrap_or("*")),
        e.action.as_str(),
        escaped(&e.target),
        terminal::json(&readable_times(e.detail.clone()), false).unwrap_or_default()
    )
}

/// `detail` with every time in it (a number under a key ending in `_at`) written as
/// [`time`] writes it, for a person.
fn readable_times(detail: Value) -> Value {
    match detail {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| match value.as_i64() {
                    Some(at) if key.ends_with("_at") => (key, Value::String(time(at))),
                    _ => (key, readable_times(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(readable_times).collect()),
        other => other,
    }
}
