//! What the benchmarks run on: the seeded synthetic directory, the messages they publish
//! into it, a fresh store holding it with a vendor key, a closed loop of publishes through
//! the HTTP API, and the peak memory they report from `/proc/self/status`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use herald_delivery::worker::now_ms;
use herald_domain::synthetic::{self, Options, CATALOG};
use herald_domain::{wire, Directory, Message, Policy};
use herald_store::scratch::Scratch;
use herald_store::{Actor, KeyFor, Store};
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

/// A fresh store on the engine `db` names (a SQLite file in a temporary folder, or a
/// schema of its own in that PostgreSQL database), holding `directory`, with a vendor key
/// for the global cloud: the store, the key's token, and the scratch that removes it.
pub(crate) async fn store_with_vendor(
    db: Option<&str>,
    directory: &Directory,
) -> Result<(Store, String, Scratch)> {
    let scratch = match db {
        Some(url) => Scratch::postgres(url).await?,
        None => Scratch::sqlite()?,
    };
    let store = scratch.open().await?;
    store.import(directory, now_ms(), &Actor::Operator).await?;
    let vendor = store
        .create_key(
            KeyFor::Vendor {
                cloud: "global".into(),
            },
            now_ms(),
            &Actor::Operator,
        )
        .await?
        .token;
    Ok((store, vendor, scratch))
}

/// POSTs each of `bodies` to `/v1/messages` of the servers at `bases` in turn, as the
/// vendor `vendor`, from `connections` clients at once, each sending its next when
/// answered; every one must be accepted (201). Answers the seconds it took.
pub(crate) async fn publish_all(
    bases: &[String],
    vendor: &str,
    bodies: Arc<Vec<String>>,
    connections: usize,
) -> Result<f64> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let urls: Arc<Vec<String>> =
        Arc::new(bases.iter().map(|b| format!("{b}/v1/messages")).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, urls, bodies, next, vendor) = (
            client.clone(),
            Arc::clone(&urls),
            Arc::clone(&bodies),
            Arc::clone(&next),
            vendor.to_owned(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return anyhow::Ok(());
                };
                let response = client
                    .post(&urls[i % urls.len()])
                    .bearer_auth(&vendor)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = response.status();
                let answer = response.text().await?;
                ensure!(
                    status.as_u16() == 201,
                    "a publish was answered {status}: {answer}"
                );
            }
        });
    }
    for done in tasks.join_all().await {
        done?;
    }
    Ok(started.elapsed().as_secs_f64())
}
