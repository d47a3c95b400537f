//! The webhook phases of `herald bench deliver`, each against a bare baseline in the same
//! run, into one receiver on loopback (`herald_kit::receiver`) that checks every signature
//! with its own HMAC-SHA256 (not Herald's signing) and keeps what arrived.
//!
//! - `signing`: [`signature_header`] against a bare HMAC-SHA256 loop over the same payloads.
//! - `webhooks`: one incident queuing a webhook per customer for a partner's `per_customer`
//!   endpoint, in a fresh store, delivered by the worker; against the same requests, signed
//!   already, POSTed by a bare loop over the same number of connections. Beside it, the
//!   same fan-out at a reference size (20,000 by default) in the same run, twice before
//!   the full one and twice after: what a webhook costs must not grow with the size of the
//!   message, so the rate at the full size is given as a ratio to the median rate at the
//!   reference.
//! - `latency`: a message of ten webhooks published every 10 ms while a worker runs, from
//!   each publish's commit to the receiver; against the same requests POSTed at the same
//!   rate by the bare loop, from send to received.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use herald_delivery::worker::now_ms;
use herald_delivery::{signature_header, Channels, Guard, Secret, Sender, SenderConfig};
use herald_delivery::{Tally, WorkerConfig};
use herald_domain::{Directory, Policy};
use herald_kit::receiver::{Arrival, Receiver, Taken};
use herald_kit::world::{exchange_incident, register_relay_endpoint, relay_world};
use herald_service::{Outcome, Service};
use herald_store::scratch::Scratch;
use herald_store::{Actor, Mode, Store};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::{oneshot, Semaphore};

/// The rate the webhook channel should reach end to end, and the p99 it should keep at
/// [`LATENCY_RATE`].
const GOAL_WEBHOOKS_PER_S: f64 = 5_000.0;
const GOAL_WEBHOOKS_PER_S_POSTGRES: f64 = 10_000.0;
const GOAL_P99_MS: f64 = 50.0;
/// How much slower than a bare HMAC loop signing may be.
const GOAL_SIGNING_RATIO: f64 = 1.2;
/// The latency phase: deliveries per second, as [`PER_MESSAGE`] webhooks every
/// [`LATENCY_TICK`].
const LATENCY_RATE: u64 = 1_000;
const PER_MESSAGE: usize = 10;
const LATENCY_TICK: Duration = Duration::from_millis(10);
/// Signing: event sizes, and runs per measurement (the fastest counts).
const SIGNING_SIZES: [usize; 3] = [256, 1024, 4096];
const SIGNING_RUNS: usize = 7;
/// The least share of the reference size's rate the full fan-out should keep, and the
/// longest a 1M-customer incident should take from publish to its last webhook.
const GOAL_SCALE: f64 = 0.9;
const GOAL_PUBLISH_TO_LAST_S: f64 = 60.0;
/// How many times the fan-out at the reference size runs before the full one, and again
/// after it: its rate is the median of them all, as a single run lasts under a second and
/// swings with whatever else the machine is doing, and runs on both sides of the full one
/// cancel out a machine that grows slower or faster meanwhile.
const REFERENCE_RUNS_EACH_SIDE: usize = 2;
/// The longest the benchmark waits for what was sent to arrive.
const ARRIVAL_DEADLINE: Duration = Duration::from_secs(60);

/// The sizes of the webhook phases.
pub struct Sizes {
    pub webhooks: usize,
    /// The smaller fan-out the rate at `webhooks` is compared with; none when not smaller.
    pub reference: usize,
    pub concurrency: usize,
    pub seconds: u64,
    pub signatures: usize,
    /// The PostgreSQL database whose scratch schemas the stores are made in; SQLite files
    /// when none.
    pub db: Option<String>,
}

impl Sizes {
    /// The engine the stores run on.
    pub(crate) fn engine(&self) -> &'static str {
        if self.db.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The rate the webhook channel should reach end to end on that engine.
    fn goal_webhooks_per_s(&self) -> f64 {
        if self.db.is_some() {
            GOAL_WEBHOOKS_PER_S_POSTGRES
        } else {
            GOAL_WEBHOOKS_PER_S
        }
    }
}

/// `signing`, `webhooks` and `latency`, each with its baseline.
pub async fn bench_webhooks(sizes: &Sizes) -> Result<(Value, Value, Value)> {
    ensure!(sizes.webhooks > 0, "--webhooks must be at least 1");
    ensure!(sizes.concurrency > 0, "--concurrency must be at least 1");
    ensure!(sizes.signatures > 0, "--signatures must be at least 1");
    let signing = bench_signing(sizes.signatures);
    let receiver = Receiver::start().await?;
    let throughput = bench_throughput(&receiver, sizes).await?;
    let latency = bench_latency(&receiver, sizes).await?;
    Ok((signing, throughput, latency))
}

/// `signature_header` against the bare loop, per event size.
fn bench_signing(events: usize) -> Value {
    let key = [7u8; 32];
    let secret =
        Secret::parse(&format!("whsec_{}", STANDARD.encode(key))).expect("32 bytes make a secret");
    let timestamp = 1_800_000_000i64;
    let stamp = timestamp.to_string();
    let fastest = |f: &mut dyn FnMut()| {
        (0..SIGNING_RUNS)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .min()
            .expect("at least one run")
    };
    let per_event = |d: Duration| (d.as_nanos() as f64 / events as f64).round();
    let mut sizes = Vec::new();
    let mut worst: f64 = 0.0;
    for size in SIGNING_SIZES {
        let payloads: Vec<(String, Vec<u8>)> = (0..events)
            .map(|n| {
                let mut body =
                    format!("{{\"type\":\"message.published\",\"data\":{{\"n\":{n},\"text\":\"");
                body.extend(std::iter::repeat_n(
                    'x',
                    size.saturating_sub(body.len() + 3),
                ));
                body.push_str("\"}}");
                (format!("msg_{n:08}"), body.into_bytes())
            })
            .collect();
        let bare = fastest(&mut || {
            for (id, body) in &payloads {
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key");
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(stamp.as_bytes());
                mac.update(b".");
                mac.update(body);
                black_box(mac.finalize().into_bytes());
            }
        });
        let herald = fastest(&mut || {
            for (id, body) in &payloads {
                black_box(signature_header(
                    std::slice::from_ref(&secret),
                    id,
                    timestamp,
                    body,
                ));
            }
        });
        let ratio = herald.as_secs_f64() / bare.as_secs_f64();
        worst = worst.max(ratio);
        sizes.push(json!({
            "event_bytes": size,
            "herald_ns_per_event": per_event(herald),
            "baseline_ns_per_event": per_event(bare),
            "ratio_to_baseline": round3(ratio),
        }));
    }
    json!({
        "events": events,
        "runs": SIGNING_RUNS,
        "what": "signature_header (one secret, the signature in base64 in its header) against a bare HMAC-SHA256 of the same id, timestamp and body",
        "baseline": "a bare HMAC-SHA256 loop over the same payloads, the key set up per event",
        "sizes": sizes,
        "worst_ratio_to_baseline": round3(worst),
        "goal_ratio": GOAL_SIGNING_RATIO,
        "meets_goal": worst <= GOAL_SIGNING_RATIO,
    })
}

/// One incident's fan-out through the store and the worker: how long the publish took, how
/// long from the worker's start to the last webhook received, and what arrived.
struct FanOut {
    publish_seconds: f64,
    deliver_seconds: f64,
    taken: Taken,
}

impl FanOut {
    fn webhooks_per_s(&self) -> f64 {
        self.taken.arrivals.len() as f64 / self.deliver_seconds
    }
}

/// Publishes an incident reaching `n` customers into a fresh store, each a webhook for
/// relay's per-customer endpoint, and runs a worker until every one is delivered.
async fn fan_out(receiver: &Receiver, sizes: &Sizes, n: usize) -> Result<FanOut> {
    let concurrency = sizes.concurrency;
    let (service, policy, _scratch) = fresh_store(sizes, n, receiver).await?;
    let store = service.store().clone();
    receiver.take()?;
    let started = Instant::now();
    let published = service
        .publish(
            &exchange_incident("bench-webhooks"),
            now_ms(),
            &Actor::Operator,
        )
        .await?;
    let publish_seconds = started.elapsed().as_secs_f64();
    let Outcome::Accepted(summary) = published else {
        anyhow::bail!("the benchmark's incident was not accepted: {published:?}");
    };
    ensure!(
        summary.deliveries as usize == n,
        "the incident queued {} deliveries where {n} were due",
        summary.deliveries
    );
    drop(service);

    let started = Instant::now();
    let tally = work(&store, concurrency, &policy, true, std::future::pending()).await?;
    let taken = receiver.take()?;
    ensure!(
        tally.delivered as usize == n && tally.retrying == 0 && tally.dead == 0,
        "the worker delivered {tally:?} of {n} webhooks"
    );
    let deliver_seconds = taken.span_from(started, n)?;
    store.close().await;
    Ok(FanOut {
        publish_seconds,
        deliver_seconds,
        taken,
    })
}

/// The worker delivering one incident's webhooks, against the bare loop, and against the
/// same fan-out at the reference size.
async fn bench_throughput(receiver: &Receiver, sizes: &Sizes) -> Result<Value> {
    let n = sizes.webhooks;
    let referenced = sizes.reference > 0 && sizes.reference < n;
    let before = if referenced {
        reference_rates(receiver, sizes).await?
    } else {
        Vec::new()
    };
    let run = fan_out(receiver, sizes, n).await?;
    let herald_seconds = run.deliver_seconds;
    let herald_rate = run.webhooks_per_s();
    let herald = run.taken;
    let after = if referenced {
        reference_rates(receiver, sizes).await?
    } else {
        Vec::new()
    };
    let median = median(&[&before[..], &after[..]].concat());
    let rounded = |rates: &[f64]| rates.iter().map(|r| r.round()).collect::<Vec<_>>();

    let client = bare_client()?;
    let started = Instant::now();
    bare_loop(
        &client,
        &receiver.url(),
        &herald.arrivals,
        sizes.concurrency,
    )
    .await?;
    let baseline = receiver.take()?;
    let baseline_seconds = baseline.span_from(started, n)?;

    let baseline_rate = n as f64 / baseline_seconds;
    let publish_to_last = run.publish_seconds + herald_seconds;
    let scale = median.map(|rate| {
        json!({
            "what": "the same fan-out at the reference size in the same run, before and after the full one, through a fresh store and worker each time, its rate the median of the runs: a webhook should cost no more in a larger message",
            "reference_webhooks": sizes.reference,
            "reference_before_webhooks_per_s": rounded(&before),
            "reference_after_webhooks_per_s": rounded(&after),
            "reference_webhooks_per_s": rate.round(),
            "webhooks_per_s": herald_rate.round(),
            "ratio_to_reference": round3(herald_rate / rate),
            "goal_ratio": GOAL_SCALE,
            "meets_goal": herald_rate >= GOAL_SCALE * rate,
        })
    });
    Ok(json!({
        "webhooks": n,
        "concurrency": sizes.concurrency,
        "mean_bytes": herald.arrivals.iter().map(|a| a.body.len()).sum::<usize>() / n,
        "herald": {
            "what": "one incident published into a fresh store, queuing a webhook per customer for a partner's per_customer endpoint; the worker leases, builds, signs, POSTs and records each; timed from the worker's start to the last one received",
            "engine": sizes.engine(),
            "seconds": round3(herald_seconds),
            "webhooks_per_s": herald_rate.round(),
            "publish_seconds": round3(run.publish_seconds),
            "publish_to_last_webhook_seconds": round3(publish_to_last),
        },
        "baseline": {
            "what": "the same requests, signed already, POSTed by a bare loop over the same concurrency with the same client settings: no store, no lease, no signing",
            "seconds": round3(baseline_seconds),
            "webhooks_per_s": baseline_rate.round(),
        },
        "ratio_to_baseline": round3(herald_rate / baseline_rate),
        "goal_webhooks_per_s": sizes.goal_webhooks_per_s(),
        "meets_goal": herald_rate >= sizes.goal_webhooks_per_s(),
        "scale": scale,
        "goal_publish_to_last_webhook_seconds_at_1m": GOAL_PUBLISH_TO_LAST_S,
        // The goal is set for a 1M-customer incident; a smaller one is not judged by it.
        "meets_goal_publish_to_last_webhook":
            (n >= 1_000_000).then_some(publish_to_last <= GOAL_PUBLISH_TO_LAST_S),
    }))
}

/// The rates of [`REFERENCE_RUNS_EACH_SIDE`] fan-outs at the reference size.
async fn reference_rates(receiver: &Receiver, sizes: &Sizes) -> Result<Vec<f64>> {
    let mut rates = Vec::with_capacity(REFERENCE_RUNS_EACH_SIDE);
    for _ in 0..REFERENCE_RUNS_EACH_SIDE {
        rates.push(
            fan_out(receiver, sizes, sizes.reference)
                .await?
                .webhooks_per_s(),
        );
    }
    Ok(rates)
}

/// The median of `rates`, the mean of the middle two when they are even; none of none.
fn median(rates: &[f64]) -> Option<f64> {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    let half = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[half]),
        _ => Some((sorted[half - 1] + sorted[half]) / 2.0),
    }
}

/// A message of [`PER_MESSAGE`] webhooks every [`LATENCY_TICK`] with a worker running,
/// against the same requests POSTed at the same rate.
async fn bench_latency(receiver: &Receiver, sizes: &Sizes) -> Result<Value> {
    let (service, policy, _scratch) = fresh_store(sizes, PER_MESSAGE, receiver).await?;
    let store = service.store().clone();
    receiver.take()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = {
        let (store, policy) = (store.clone(), policy.clone());
        let concurrency = sizes.concurrency;
        tokio::spawn(async move {
            work(&store, concurrency, &policy, false, async {
                let _ = stopped.await;
            })
            .await
        })
    };
    let messages = (sizes.seconds * 1_000 / LATENCY_TICK.as_millis() as u64) as usize;
    let mut committed: HashMap<String, Instant> = HashMap::with_capacity(messages);
    let mut publish_ms = Vec::with_capacity(messages);
    let mut every = tokio::time::interval(LATENCY_TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..messages {
        every.tick().await;
        let id = format!("bench-latency-{i:06}");
        let sent = Instant::now();
        let published = service
            .publish(&exchange_incident(&id), now_ms(), &Actor::Operator)
            .await?;
        ensure!(
            matches!(published, Outcome::Accepted(_)),
            "message {id} was not accepted: {published:?}"
        );
        let at = Instant::now();
        publish_ms.push(at - sent);
        committed.insert(id, at);
    }
    let expected = messages * PER_MESSAGE;
    receiver.wait_for(expected, ARRIVAL_DEADLINE).await?;
    let _ = stop.send(());
    let tally = worker.await.context("the worker panicked")??;
    ensure!(
        tally.delivered as usize == expected,
        "the worker delivered {tally:?} of {expected} webhooks"
    );
    store.close().await;
    let herald = receiver.take()?;
    let mut latencies = Vec::with_capacity(expected);
    for arrival in &herald.arrivals {
        let body: Value = serde_json::from_slice(&arrival.body)?;
        let id = body["data"]["message"]["id"]
            .as_str()
            .context("an event names no message")?;
        let at = committed
            .get(id)
            .with_context(|| format!("an event names message {id}, which was not published"))?;
        latencies.push(arrival.at.saturating_duration_since(*at));
    }

    // The baseline: the same requests, in the same groups at the same times.
    let client = Arc::new(bare_client()?);
    let url = Arc::new(receiver.url());
    let permits = Arc::new(Semaphore::new(sizes.concurrency));
    let requests: Vec<Arc<Arrival>> = herald.arrivals.into_iter().map(Arc::new).collect();
    let mut sent_at: HashMap<String, Instant> = HashMap::with_capacity(expected);
    let mut tasks = tokio::task::JoinSet::new();
    let mut every = tokio::time::interval(LATENCY_TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for group in requests.chunks(PER_MESSAGE) {
        every.tick().await;
        let now = Instant::now();
        for request in group {
            sent_at.insert(request.id.clone(), now);
            let (client, url, request) = (client.clone(), url.clone(), request.clone());
            let permit = permits.clone().acquire_owned().await?;
            tasks.spawn(async move {
                let posted = post(&client, &url, &request).await;
                drop(permit);
                posted
            });
        }
    }
    for done in tasks.join_all().await {
        done?;
    }
    receiver.wait_for(expected, ARRIVAL_DEADLINE).await?;
    let baseline = receiver.take()?;
    let baseline_latencies: Vec<Duration> = baseline
        .arrivals
        .iter()
        .map(|a| a.at.saturating_duration_since(sent_at[&a.id]))
        .collect();

    let herald = Quantiles::of(latencies);
    let baseline = Quantiles::of(baseline_latencies);
    Ok(json!({
        "rate_per_s": LATENCY_RATE,
        "seconds": sizes.seconds,
        "messages": messages,
        "webhooks": expected,
        "webhooks_per_message": PER_MESSAGE,
        "concurrency": sizes.concurrency,
        "herald": {
            "what": "a message queuing ten webhooks (a partner's per_customer endpoint) published every 10 ms with the worker running; from each publish's commit to the receiver",
            "p50_ms": herald.ms(0.50),
            "p99_ms": herald.ms(0.99),
            "max_ms": herald.ms(1.0),
            "publish_p99_ms": Quantiles::of(publish_ms).ms(0.99),
        },
        "baseline": {
            "what": "the same requests, signed already, ten every 10 ms by a bare loop with the same client settings; from send to received",
            "p50_ms": baseline.ms(0.50),
            "p99_ms": baseline.ms(0.99),
            "max_ms": baseline.ms(1.0),
        },
        "ratio_p99_to_baseline": round3(herald.ms(0.99) / baseline.ms(0.99).max(0.001)),
        "goal_p99_ms": GOAL_P99_MS,
        "meets_goal": herald.ms(0.99) < GOAL_P99_MS,
    }))
}

/// A new store on the engine `sizes` names (a SQLite file in a temporary folder, or a
/// schema of its own in the PostgreSQL database), removed when the returned [`Scratch`] is
/// dropped, holding partner relay with `customers` customers (each holding one subscription
/// through it), and relay's endpoint on `receiver` taking one event per customer; with the
/// use cases over it, under the default policy.
pub(crate) async fn fresh_store(
    sizes: &Sizes,
    customers: usize,
    receiver: &Receiver,
) -> Result<(Service, Policy, Scratch)> {
    let scratch = match &sizes.db {
        Some(url) => Scratch::postgres(url).await?,
        None => Scratch::sqlite()?,
    };
    let store = scratch.open().await?;
    let directory = Directory::build(relay_world(customers)).map_err(|e| anyhow::anyhow!("{e}"))?;
    store.import(&directory, now_ms(), &Actor::Operator).await?;
    register_relay_endpoint(
        &store,
        &receiver.url(),
        &receiver.secret().to_string(),
        Mode::PerCustomer,
        now_ms(),
    )
    .await?;
    let policy = Policy::default_policy();
    Ok((Service::new(store, policy.clone()).await?, policy, scratch))
}

/// Runs a worker over `store` with `concurrency` in flight until `shutdown`, or, when
/// `until_idle`, until every delivery is settled.
async fn work(
    store: &Store,
    concurrency: usize,
    policy: &Policy,
    until_idle: bool,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Tally> {
    let channels = Arc::new(Channels {
        email: None,
        webhooks: Sender::new(SenderConfig {
            guard: Guard {
                allow_private: true,
            },
            ..SenderConfig::default()
        })?,
    });
    let config = WorkerConfig {
        concurrency,
        default_locale: policy.default_locale().to_owned(),
        until_idle,
        ..WorkerConfig::default()
    };
    Ok(herald_delivery::run(store.clone(), channels, config, shutdown).await?)
}

/// A client as Herald's sender makes one (no redirects, no proxy, the same timeouts and
/// user agent), for the bare loops.
fn bare_client() -> Result<reqwest::Client> {
    let config = SenderConfig::default();
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .no_proxy()
        .user_agent(concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// POSTs every request of `requests` from `concurrency` tasks.
async fn bare_loop(
    client: &reqwest::Client,
    url: &str,
    requests: &[Arrival],
    concurrency: usize,
) -> Result<()> {
    let requests = Arc::new(requests.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, requests, next) = (
            client.clone(),
            url.to_owned(),
            requests.clone(),
            next.clone(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    return anyhow::Ok(());
                };
                post(&client, &url, request).await?;
            }
        });
    }
    for done in tasks.join_all().await {
        done?;
    }
    Ok(())
}

/// POSTs one request as Herald sent it, headers and all, and reads the answer.
async fn post(client: &reqwest::Client, url: &str, request: &Arrival) -> Result<()> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &request.id)
        .header("webhook-timestamp", &request.timestamp)
        .header("webhook-signature", &request.signature)
        .body(request.body.clone())
        .send()
        .await?;
    let status = response.status();
    response.bytes().await?;
    ensure!(status.is_success(), "the receiver answered {status}");
    Ok(())
}

/// Latencies, sorted, to read quantiles from.
struct Quantiles(Vec<Duration>);

impl Quantiles {
    fn of(mut latencies: Vec<Duration>) -> Quantiles {
        latencies.sort_unstable();
        Quantiles(latencies)
    }

    /// Quantile `q` in milliseconds, to the microsecond.
    fn ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
        (self.0[i].as_secs_f64() * 1e6).round() / 1e3
    }
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
