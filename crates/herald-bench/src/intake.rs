//! `herald bench intake`: small publish requests through NATS JetStream, read by the
//! intake `herald consume` runs (in this process), from the first request sent to the last
//! announced on `<prefix>.published.<cloud>` (which goes out after its commit); against
//! the same messages POSTed to `/v1/messages` of a server in this process, from as many
//! clients as the intake has requests in hand, each into a fresh store of the same engine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use futures_util::StreamExt;
use herald_delivery::worker::now_ms;
use herald_domain::{Directory, Policy};
use herald_intake::{Intake, NatsConfig};
use herald_service::Service;
use serde_json::{json, Value};

use crate::api::{small_message, Server};
use crate::webhooks::round3;
use crate::workload::{publish_all, store_with_vendor, synthetic_directory};

/// The least share of the HTTP API's rate the intake should keep.
const GOAL_RATIO: f64 = 0.9;
/// The longest the benchmark waits for every request to be announced.
const DEADLINE: Duration = Duration::from_secs(600);

/// The sizes of the benchmark.
pub struct Sizes {
    pub messages: usize,
    pub customers: usize,
    pub in_flight: usize,
}

/// The requests: small messages, each naming three customers.
fn bodies(directory: &Directory, sizes: &Sizes) -> Vec<String> {
    let keyed: Vec<usize> = (0..100).map(|k| k * sizes.customers / 100).collect();
    (0..sizes.messages)
        .map(|i| small_message(directory, &keyed, i).to_string())
        .collect()
}

/// The requests sent through JetStream and read by an intake in this process: the seconds
/// from the first sent to the last announced.
async fn through_nats(
    url: &str,
    db: Option<&str>,
    directory: &Directory,
    bodies: &[String],
    sizes: &Sizes,
) -> Result<f64> {
    let (store, _, _scratch) = store_with_vendor(db, directory).await?;
    let service = Service::new(store.clone(), Policy::default_policy()).await?;
    let unique = format!("herald-bench-{}-{}", std::process::id(), now_ms());
    let mut config = NatsConfig::new(url);
    config.prefix = unique.clone();
    config.stream = unique.to_uppercase();
    config.in_flight = sizes.in_flight;
    let intake = Intake::connect(&config, service).await?;
    let measured = send_and_count(url, &unique, intake, bodies).await;
    // The stream goes whatever became of the run, so that none is left behind.
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("could not connect to NATS at {url}"))?;
    let _ = async_nats::jetstream::new(client)
        .delete_stream(&config.stream)
        .await;
    store.close().await;
    measured
}

/// Sends `bodies` into the stream of the subjects `unique` begins, with `intake` reading
/// them, and answers the seconds from the first sent to the last announced.
async fn send_and_count(url: &str, unique: &str, intake: Intake, bodies: &[String]) -> Result<f64> {
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("could not connect to NATS at {url}"))?;
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut announced = client.subscribe(format!("{unique}.published.>")).await?;
    client.flush().await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(intake.run(async {
        let _ = stopped.await;
    }));

    let n = bodies.len();
    let counting = tokio::spawn(async move {
        let mut seen = 0;
        while seen < n {
            match tokio::time::timeout(DEADLINE, announced.next()).await {
                Ok(Some(_)) => seen += 1,
                _ => break,
            }
        }
        seen
    });
    let started = Instant::now();
    let subject = format!("{unique}.publish.global");
    for some in bodies.chunks(256) {
        let mut stored = Vec::with_capacity(some.len());
        for body in some {
            stored.push(
                jetstream
                    .publish(subject.clone(), body.clone().into())
                    .await?,
            );
        }
        for ack in stored {
            ack.await?;
        }
    }
    let seen = counting.await?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(seen == n, "{seen} of {n} requests were announced");
    let _ = stop.send(());
    let tally = running.await??;
    ensure!(
        tally.accepted as usize == n,
        "the intake accepted {} of {n} requests: {tally:?}",
        tally.accepted
    );
    Ok(seconds)
}

/// The same requests POSTed to `/v1/messages` of a server in this process from
/// `sizes.in_flight` clients, each sending its next when answered.
async fn through_http(
    db: Option<&str>,
    directory: &Directory,
    bodies: Vec<String>,
    sizes: &Sizes,
) -> Result<f64> {
    let (store, vendor, _scratch) = store_with_vendor(db, directory).await?;
    let server = Server::start(&store).await?;
    let seconds = publish_all(
        std::slice::from_ref(&server.base),
        &vendor,
        Arc::new(bodies),
        sizes.in_flight,
    )
    .await?;
    server.stop().await?;
    store.close().await;
    Ok(seconds)
}

/// Runs the benchmark against the NATS server at `url`.
pub async fn bench_intake(url: &str, db: Option<&str>, sizes: &Sizes) -> Result<Value> {
    ensure!(sizes.messages > 0, "--messages must be at least 1");
    ensure!(sizes.in_flight > 0, "--in-flight must be at least 1");
    let directory = synthetic_directory(sizes.customers)?;
    let bodies = bodies(&directory, sizes);
    let nats = through_nats(url, db, &directory, &bodies, sizes).await?;
    let http = through_http(db, &directory, bodies, sizes).await?;
    let n = sizes.messages as f64;
    let ratio = (n / nats) / (n / http);
    Ok(json!({
        "bench": "intake",
        "engine": if db.is_some() { "postgres" } else { "sqlite" },
        "customers": sizes.customers,
        "messages": sizes.messages,
        "in_flight": sizes.in_flight,
        "herald": {
            "what": "small publish requests (three customers each) sent into a JetStream stream and read by the intake in this process, the requests in hand at once as given; from the first sent to the last announced on herald.published (after its commit)",
            "seconds": round3(nats),
            "requests_per_s": (n / nats).round(),
        },
        "baseline": {
            "what": "the same messages POSTed to /v1/messages of a server in this process from as many clients, each sending its next when answered, into a fresh store",
            "seconds": round3(http),
            "requests_per_s": (n / http).round(),
        },
        "ratio_to_baseline": round3(ratio),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio >= GOAL_RATIO,
    }))
}
