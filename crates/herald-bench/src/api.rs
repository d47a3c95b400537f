//! `herald bench api`: the HTTP API under load, on loopback, as partners' and customers'
//! programs and the vendor's publisher would load it.
//!
//! A fresh SQLite file gets a synthetic directory and keys for the vendor, for customers
//! and for partners; the real server runs in this process on its own runtime, and a client
//! inside the benchmark speaks HTTP to it over many keep-alive connections. The load is
//! open: each request is sent on its schedule, not when the previous one is answered, and
//! its latency counts from that scheduled time, so a server that falls behind shows it as
//! queueing rather than slowing the load down.
//!
//! The phases, in order: small messages published at 200 requests/s; one incident whose
//! scope is the whole directory, with `GET /healthz` at 200 requests/s meanwhile (a publish
//! that held up the server's runtime would show there); inboxes read by many customer and
//! partner keys at 1,000 requests/s. Before each rated phase, `GET /healthz` runs at the
//! same rate over the same connections: the cost of HTTP, the client and one trivial query
//! alone, the baseline each phase's p99 is a ratio to.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use herald_delivery::worker::now_ms;
use herald_domain::synthetic::Rng;
use herald_domain::{Directory, Policy};
use herald_server::{serve, AppState, ServeConfig};
use herald_store::{Actor, KeyFor, Store};
use serde_json::{json, Value};
use tokio::sync::{oneshot, Semaphore};

use crate::workload::{every_service, proc_status, synthetic_directory};

/// Small messages published per second, and the p99 the issue sets for them.
const PUBLISH_RATE: u32 = 200;
const PUBLISH_GOAL_P99_MS: f64 = 10.0;
/// Inbox reads per second, and the p99 the issue sets for them.
const INBOX_RATE: u32 = 1000;
const INBOX_GOAL_P99_MS: f64 = 5.0;
/// The keep-alive connections the load is spread over: one client each, taken in turn.
const CONNECTIONS: usize = 64;
/// The most requests in flight at once; a request due beyond that waits, and its wait
/// counts in its latency.
const IN_FLIGHT: usize = 256;
/// How many customers, and at most how many partners, read their inboxes.
const CUSTOMER_KEYS: usize = 200;
const PARTNER_KEYS: usize = 50;

/// Runs the benchmark over a directory of `customers`, each rated phase for `seconds`.
pub async fn bench_api(customers: usize, seconds: u64) -> Result<Value> {
    let directory = synthetic_directory(customers)?;
    let folder = std::env::temp_dir().join(format!("herald-bench-api-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let figures = run_in(&folder, &directory, seconds).await;
    let _ = std::fs::remove_dir_all(&folder);
    let mut figures = figures?;
    figures["customers"] = json!(customers);
    figures["subscriptions"] = json!(directory.subscriptions().len());
    figures["peak_rss_bytes"] = json!(proc_status("VmHWM:"));
    Ok(figures)
}

/// The benchmark over a database in `folder`.
async fn run_in(folder: &Path, directory: &Directory, seconds: u64) -> Result<Value> {
    let store = Store::open(&folder.join("bench.db")).await?;
    let now = now_ms();
    store.import(directory, now, &Actor::Operator).await?;
    let keys = Keys::create(&store, directory).await?;
    let durability = store.durability().await?;
    let server = Server::start(&store).await?;
    let figures = drive(&server.base, directory, &keys, seconds).await;
    server.stop().await?;
    let stored = store.counts().await?.messages;
    store.close().await;
    let mut figures = figures?;
    figures["messages_stored"] = json!(stored);
    figures["sqlite"] = json!(durability);
    Ok(figures)
}

/// The bearer tokens the load presents.
struct Keys {
    vendor: String,
    /// The customers with a key, by position in the directory.
    customers: Vec<usize>,
    /// Customer keys, then partner keys.
    readers: Vec<String>,
    partners: usize,
}

impl Keys {
    /// A vendor key for the global cloud, keys for customers spread evenly over the
    /// directory, and keys for its first partners.
    async fn create(store: &Store, directory: &Directory) -> Result<Keys> {
        let now = now_ms();
        let vendor = store
            .create_key(
                KeyFor::Vendor {
                    cloud: "global".into(),
                },
                now,
                &Actor::Operator,
            )
            .await?
            .token;
        let all = directory.customers();
        let wanted = CUSTOMER_KEYS.min(all.len());
        let customers: Vec<usize> = (0..wanted).map(|k| k * all.len() / wanted).collect();
        let mut readers = Vec::new();
        for &c in &customers {
            let id = all[c].id.to_string();
            readers.push(
                store
                    .create_key(KeyFor::Customer(id), now, &Actor::Operator)
                    .await?
                    .token,
            );
        }
        let partners = directory.partners().iter().take(PARTNER_KEYS);
        for partner in partners.clone() {
            let id = partner.id.to_string();
            readers.push(
                store
                    .create_key(KeyFor::Partner(id), now, &Actor::Operator)
                    .await?
                    .token,
            );
        }
        Ok(Keys {
            vendor,
            customers,
            readers,
            partners: partners.len(),
        })
    }
}

/// The server, serving the store on a free loopback port from a runtime of its own.
pub(crate) struct Server {
    pub(crate) base: String,
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    runtime: tokio::runtime::Runtime,
}

impl Server {
    pub(crate) async fn start(store: &Store) -> Result<Server> {
        let state = AppState::new(
            store.clone(),
            Policy::default_policy(),
            &ServeConfig::default(),
        )
        .await?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("herald-serve")
            .build()
            .context("could not start the server's runtime")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let served = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            serve(listener, state, &ServeConfig::default(), async {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Server {
            base,
            stop,
            served,
            runtime,
        })
    }

    /// Stops the server once the requests in flight are answered.
    pub(crate) async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.served.await?.context("the server failed")?;
        self.runtime.shutdown_background();
        Ok(())
    }
}

/// The phases, against the server at `base`.
async fn drive(base: &str, directory: &Directory, keys: &Keys, seconds: u64) -> Result<Value> {
    let clients = Arc::new(
        (0..CONNECTIONS)
            .map(|_| reqwest::Client::builder().build())
            .collect::<Result<Vec<_>, _>>()?,
    );
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("bench-client")
        .build()
        .context("could not start the client's runtime")?;
    let load = Load {
        base: base.to_owned(),
        clients,
        runtime: client.handle().clone(),
    };
    let figures = phases(&load, base, directory, keys, seconds).await;
    client.shutdown_background();
    figures
}

/// The phases, in order, over `load`.
async fn phases(
    load: &Load,
    base: &str,
    directory: &Directory,
    keys: &Keys,
    seconds: u64,
) -> Result<Value> {
    // Every connection is opened before anything is timed.
    let opened = load.healthz(CONNECTIONS as u32, 1).await?;
    ensure!(
        opened.errors == 0,
        "the server did not answer its health check"
    );

    let publish_baseline = load.healthz(PUBLISH_RATE, seconds).await?;
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..PUBLISH_RATE as usize * seconds as usize)
            .map(|i| small_message(directory, &keys.customers, i).to_string())
            .collect(),
    );
    let vendor: Arc<str> = Arc::from(keys.vendor.as_str());
    let publish = load
        .run(
            "POST /v1/messages",
            PUBLISH_RATE,
            seconds,
            move |client, url, i| {
                let request = client
                    .post(format!("{url}/v1/messages"))
                    .bearer_auth(&vendor)
                    .header("content-type", "application/json")
                    .body(bodies[i].clone());
                answered(request, 201)
            },
        )
        .await?;

    let everyone = json!({
        "id": "bench-everyone",
        "category": "service_incident",
        "services": every_service(),
        "title": "Global outage",
    });
    // `GET /healthz` goes on at the publishing rate meanwhile: a publish that held up the
    // server's runtime would show in its latency.
    let whole = async {
        let t = Instant::now();
        let answer = load.clients[0]
            .post(format!("{base}/v1/messages"))
            .bearer_auth(&keys.vendor)
            .json(&everyone)
            .send()
            .await?;
        let status = answer.status();
        let summary: Value = answer.json().await?;
        ensure!(
            status.as_u16() == 201,
            "the whole-directory incident was refused: {summary}"
        );
        Ok((t.elapsed(), summary))
    };
    let (whole, meanwhile) = tokio::join!(whole, load.healthz(PUBLISH_RATE, seconds));
    let ((whole, summary), meanwhile) = (whole?, meanwhile?);

    let inbox_baseline = load.healthz(INBOX_RATE, seconds).await?;
    let readers = Arc::new(keys.readers.clone());
    let inbox = load
        .run(
            "GET /v1/inbox",
            INBOX_RATE,
            seconds,
            move |client, url, i| {
                let request = client
                    .get(format!("{url}/v1/inbox"))
                    .bearer_auth(&readers[i % readers.len()]);
                answered(request, 200)
            },
        )
        .await?;

    Ok(json!({
        "bench": "api",
        "seconds_per_phase": seconds,
        "connections": CONNECTIONS,
        "most_in_flight": IN_FLIGHT,
        "keys": {"customers": keys.customers.len(), "partners": keys.partners},
        "publish": publish.against(&publish_baseline, PUBLISH_GOAL_P99_MS),
        "whole_directory_incident": {
            "customers_in_scope": summary["customers_in_scope"],
            "deliveries": summary["deliveries"],
            "seconds": whole.as_secs_f64(),
            "healthz_meanwhile": meanwhile.figures(),
        },
        "inbox": inbox.against(&inbox_baseline, INBOX_GOAL_P99_MS),
    }))
}

/// A message touching three customers: a key holder's and two others'. Even ones are about
/// the customers' first subscriptions (renewals); odd ones are incidents on every service
/// narrowed to the three customers.
pub(crate) fn small_message(directory: &Directory, keyed: &[usize], i: usize) -> Value {
    let all = directory.customers();
    let mut rng = Rng(i as u64);
    let chosen = [
        keyed[i % keyed.len()],
        rng.below(all.len()),
        rng.below(all.len()),
    ];
    let id = format!("bench-{i:07}");
    if i.is_multiple_of(2) {
        let subscriptions: Vec<String> = chosen
            .iter()
            .map(|&c| {
                directory.subscriptions()[all[c].subscriptions.start as usize]
                    .id
                    .to_string()
            })
            .collect();
        json!({"id": id, "category": "subscription", "subscriptions": subscriptions, "title": "Your renewal"})
    } else {
        let customers: Vec<String> = chosen.iter().map(|&c| all[c].id.to_string()).collect();
        json!({"id": id, "category": "service_incident", "services": every_service(), "customers": customers, "title": "Degraded service"})
    }
}

/// Whether `request` is answered with `status` and a whole body.
async fn answered(request: reqwest::RequestBuilder, status: u16) -> bool {
    match request.send().await {
        Ok(response) => response.status().as_u16() == status && response.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// The client side: the server's address, the connections to it and the runtime (of one
/// thread, so that the client takes at most one core's share from the server) that sends
/// the requests.
struct Load {
    base: String,
    clients: Arc<Vec<reqwest::Client>>,
    runtime: tokio::runtime::Handle,
}

impl Load {
    /// `GET /healthz` at `rate` for `seconds`.
    async fn healthz(&self, rate: u32, seconds: u64) -> Result<Phase> {
        self.run("GET /healthz", rate, seconds, |client, url, _| {
            answered(client.get(format!("{url}/healthz")), 200)
        })
        .await
    }

    /// Sends request `i`, made by `send` on connection `i` modulo the connections, at
    /// `i / rate` seconds from now, for `seconds`, and measures each from then.
    async fn run<F, Fut>(
        &self,
        path: &'static str,
        rate: u32,
        seconds: u64,
        send: F,
    ) -> Result<Phase>
    where
        F: Fn(&reqwest::Client, &str, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let count = rate as usize * seconds as usize;
        let period = Duration::from_secs(1) / rate;
        let runtime = self.runtime.clone();
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        let send = Arc::new(send);
        let clients = Arc::clone(&self.clients);
        let base: Arc<str> = Arc::from(self.base.as_str());
        let start = Instant::now();
        // The schedule is kept by a thread of its own: a timer of the async runtime fires
        // to the millisecond only, which at 1,000 requests/s would be the whole interval.
        let tasks = tokio::task::spawn_blocking(move || {
            (0..count)
                .map(|i| {
                    let due = start + period * i as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let (send, clients, base) = (send.clone(), clients.clone(), base.clone());
                    let in_flight = Arc::clone(&in_flight);
                    runtime.spawn(async move {
                        let _slot = in_flight.acquire_owned().await;
                        let ok = send(&clients[i % clients.len()], &base, i).await;
                        (due.elapsed(), ok)
                    })
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let mut latencies = Vec::with_capacity(count);
        let mut errors = 0;
        for task in tasks {
            match task.await? {
                (latency, true) => latencies.push(latency),
                (_, false) => errors += 1,
            }
        }
        Ok(Phase {
            path,
            rate,
            elapsed: start.elapsed(),
            errors,
            latencies,
        })
    }
}

/// What one rated phase measured.
struct Phase {
    path: &'static str,
    rate: u32,
    /// From the first scheduled request to the last answer.
    elapsed: Duration,
    errors: usize,
    /// The latency of each request answered as expected, from its scheduled time.
    latencies: Vec<Duration>,
}

impl Phase {
    /// The phase's figures.
    fn figures(&self) -> Value {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        // The nearest rank: the smallest latency at least `p` of the requests did not
        // exceed.
        let ms = |p: f64| {
            let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
            sorted
                .get(rank - 1)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        json!({
            "path": self.path,
            "rate": self.rate,
            "requests": self.latencies.len() + self.errors,
            "errors": self.errors,
            "requests_per_s": self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            "p50_ms": ms(0.50),
            "p99_ms": ms(0.99),
            "max_ms": ms(1.0),
        })
    }

    /// The phase's figures with `baseline`'s, the ratio of their p99s and the goal.
    fn against(&self, baseline: &Phase, goal_p99_ms: f64) -> Value {
        let mut figures = self.figures();
        let base = baseline.figures();
        figures["ratio_p99_to_baseline"] = json!(
            figures["p99_ms"].as_f64().unwrap_or(0.0) / base["p99_ms"].as_f64().unwrap_or(1.0)
        );
        figures["goal_p99_ms"] = json!(goal_p99_ms);
        figures["baseline"] = base;
        figures
    }
}
