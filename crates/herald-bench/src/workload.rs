//! What the benchmarks run on: the seeded synthetic directory, the messages they publish
//! into it, and the peak memory they report from `/proc/self/status`.

use anyhow::{Context, Result};
use herald_domain::synthetic::{self, Options, CATALOG};
use herald_domain::{wire, Directory, Message, Policy};
use serde_json::json;

/// A number from `/proc/self/status`, in bytes (`VmHWM` is the peak resident set).
pub(crate) fn proc_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub(crate) fn synthetic_directory(customers: usize) -> Result<Directory> {
    synthetic::directory(Options {
        customers,
        seed: 42,
        detailed: false,
        us_gov: false,
    })
    .context("the synthetic directory is invalid")
}

pub(crate) fn message(
    policy: &Policy,
    directory: &Directory,
    value: serde_json::Value,
) -> Result<Message> {
    let wire: wire::Message = serde_json::from_value(value)?;
    Ok(Message::parse(wire, policy, directory)?)
}

/// Every service of the catalog, once each.
pub(crate) fn every_service() -> Vec<&'static str> {
    let mut services: Vec<&str> = CATALOG
        .iter()
        .flat_map(|(_, _, s)| s.iter().copied())
        .collect();
    services.sort_unstable();
    services.dedup();
    services
}

/// An incident on every service: it touches every customer with an active subscription.
pub(crate) fn everything_incident(
    policy: &Policy,
    directory: &Directory,
    id: &str,
) -> Result<Message> {
    message(
        policy,
        directory,
        json!({"id": id, "category": "service_incident", "services": every_service(), "title": "Global outage"}),
    )
}
