//! Herald past one process, each against one process in the same run: `herald bench
//! deliver --processes N` (one incident's webhooks delivered by N `herald work`
//! processes sharing one store, against one `herald work` with as many in flight) and
//! `herald bench api --servers N` (small publishes through N `herald serve` processes on
//! one store, against one server taking the same load). Every process is this very
//! binary, started as an operator would start it. On this 2-core machine more processes
//! add no cores: what the ratio shows is that nothing between them is serialised.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use herald_delivery::worker::now_ms;
use herald_kit::receiver::Receiver;
use herald_kit::world::exchange_incident;
use herald_service::Outcome;
use herald_store::Actor;
use serde_json::{json, Value};

use crate::api::small_message;
use crate::webhooks::{fresh_store, round3, Sizes};
use crate::workload::{publish_all, store_with_vendor, synthetic_directory};

/// The least share of one process's rate that N processes should keep.
const GOAL_RATIO: f64 = 0.9;
/// The longest the benchmark waits for what was sent to arrive.
const DEADLINE: Duration = Duration::from_secs(600);

/// A `herald` process of the benchmark's, killed if the benchmark ends before it does.
struct Process(Child);

impl Process {
    /// Starts `herald args…`, saying only warnings and errors on stderr, with `threads`
    /// runtime threads (`TOKIO_WORKER_THREADS`; as many as cores when `None`).
    fn start(args: &[&str], threads: Option<usize>) -> Result<Process> {
        let herald = std::env::current_exe().context("could not find the herald binary")?;
        let mut command = Command::new(herald);
        match threads {
            Some(n) => command.env("TOKIO_WORKER_THREADS", n.to_string()),
            None => command.env_remove("TOKIO_WORKER_THREADS"),
        };
        let child = command
            .args(args)
            .args(["--log-level", "warn"])
            .env_remove("HERALD_DB")
            .env_remove("HERALD_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("could not start a herald process")?;
        Ok(Process(child))
    }

    /// Waits for it to end, which must be a success.
    fn finish(mut self) -> Result<()> {
        let status = self.0.wait()?;
        ensure!(status.success(), "a herald process ended with {status}");
        Ok(())
    }

    /// Asks it to stop (SIGTERM) and waits for it to end.
    fn stop(self) -> Result<()> {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()?;
        ensure!(signalled.success(), "could not signal a herald process");
        self.finish()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// One incident's webhooks delivered by `processes` `herald work` processes.
struct Delivered {
    /// From the processes' start to the last webhook received.
    seconds: f64,
    /// From the first webhook received to the last: the processes' start (each opening
    /// the store, and all of them sharing two cores as they do) left out.
    sending_seconds: f64,
    webhooks_per_s: f64,
    /// Requests beyond one per webhook (a repeat after a lease ran out).
    repeats: usize,
}

/// Publishes an incident of `sizes.webhooks` per-customer webhooks into a fresh store and
/// delivers it with `processes` `herald work --until-idle` processes, sharing
/// `sizes.concurrency` in flight between them, each with `threads` runtime threads; its
/// rate is taken from the first webhook received to the last, so that starting processes
/// is not counted as delivering.
async fn deliver_with(
    receiver: &Receiver,
    sizes: &Sizes,
    processes: usize,
    threads: Option<usize>,
) -> Result<Delivered> {
    let n = sizes.webhooks;
    let (service, _, scratch) = fresh_store(sizes, n, receiver).await?;
    let published = service
        .publish(
            &exchange_incident("bench-processes"),
            now_ms(),
            &Actor::Operator,
        )
        .await?;
    ensure!(
        matches!(&published, Outcome::Accepted(s) if s.deliveries as usize == n),
        "the benchmark's incident did not queue {n} deliveries: {published:?}"
    );
    let store = service.store().clone();
    drop(service);
    store.close().await;
    receiver.take()?;
    let in_flight = (sizes.concurrency / processes).max(1).to_string();
    let args = [
        "work",
        "--db",
        scratch.place(),
        "--workers",
        &in_flight,
        "--webhooks-allow-private",
        "--until-idle",
        "--progress-seconds",
        "0",
    ];
    let started = Instant::now();
    let workers = (0..processes)
        .map(|_| Process::start(&args, threads))
        .collect::<Result<Vec<_>>>()?;
    receiver.wait_for(n, DEADLINE).await?;
    let taken = receiver.take()?;
    let seconds = taken.span_from(started, n)?;
    for worker in workers {
        worker.finish()?;
    }
    let first = taken
        .arrivals
        .iter()
        .map(|a| a.at)
        .min()
        .expect("n is at least 1");
    let last = taken
        .arrivals
        .iter()
        .map(|a| a.at)
        .max()
        .expect("n is at least 1");
    let sending_seconds = last.duration_since(first).as_secs_f64().max(1e-6);
    Ok(Delivered {
        seconds,
        sending_seconds,
        webhooks_per_s: (n.saturating_sub(1).max(1)) as f64 / sending_seconds,
        repeats: taken.arrivals.len() - n,
    })
}

/// `herald bench deliver --processes N`: the same incident delivered by N processes and by
/// one, each into a fresh store on the same engine; first each process with one runtime
/// thread (what the goal judges: the processes share nothing but the store, so N of them
/// should do what one does), then each with as many as the machine has cores (N processes
/// then run N times as many threads as there are cores, and lose what the machine spends
/// switching between them).
pub async fn bench_deliver_processes(sizes: &Sizes, processes: usize) -> Result<Value> {
    ensure!(processes >= 2, "--processes must be at least 2");
    ensure!(sizes.webhooks > 0, "--webhooks must be at least 1");
    let receiver = Receiver::start().await?;
    let one = deliver_with(&receiver, sizes, 1, Some(1)).await?;
    let many = deliver_with(&receiver, sizes, processes, Some(1)).await?;
    let one_full = deliver_with(&receiver, sizes, 1, None).await?;
    let many_full = deliver_with(&receiver, sizes, processes, None).await?;
    let ratio = many.webhooks_per_s / one.webhooks_per_s;
    let in_flight = (sizes.concurrency / processes).max(1);
    let figures = |d: &Delivered| {
        json!({
            "seconds": round3(d.seconds),
            "sending_seconds": round3(d.sending_seconds),
            "webhooks_per_s": d.webhooks_per_s.round(),
            "repeats": d.repeats,
        })
    };
    let mut herald = figures(&many);
    herald["what"] = json!(format!("one incident's per-customer webhooks delivered by {processes} `herald work` processes sharing one store, {in_flight} in flight and one runtime thread each; the rate from the first webhook received to the last, the seconds from the processes' start"));
    herald["processes"] = json!(processes);
    let mut baseline = figures(&one);
    baseline["what"] = json!(format!("the same incident in a fresh store delivered by one `herald work` process with {} in flight and one runtime thread, timed the same way", sizes.concurrency));
    let mut oversubscribed = json!({
        "what": format!("the same two runs with as many runtime threads in each process as the machine has cores: {processes} processes then run {processes} times as many threads as there are cores"),
        "processes": figures(&many_full),
        "one_process": figures(&one_full),
    });
    oversubscribed["ratio"] = json!(round3(many_full.webhooks_per_s / one_full.webhooks_per_s));
    Ok(json!({
        "bench": "deliver",
        "engine": sizes.engine(),
        "webhooks": sizes.webhooks,
        "concurrency": sizes.concurrency,
        "processes": herald,
        "baseline": baseline,
        "ratio_to_baseline": round3(ratio),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio >= GOAL_RATIO,
        "oversubscribed": oversubscribed,
    }))
}

/// What small publishes through some servers came to.
struct Published {
    seconds: f64,
    per_s: f64,
}

/// Starts `servers` `herald serve` processes on a fresh store holding `customers`
/// customers and sends `messages` small publishes through them in turn from `connections`
/// clients at once, each sending its next when answered.
async fn publish_through(
    db: Option<&str>,
    customers: usize,
    servers: usize,
    messages: usize,
    connections: usize,
) -> Result<Published> {
    let directory = synthetic_directory(customers)?;
    let (store, vendor, scratch) = store_with_vendor(db, &directory).await?;
    store.close().await;
    let keyed: Vec<usize> = (0..100).map(|k| k * customers / 100).collect();
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..messages)
            .map(|i| small_message(&directory, &keyed, i).to_string())
            .collect(),
    );
    drop(directory);

    let mut running = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..servers {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let listen = format!("127.0.0.1:{port}");
        running.push(Process::start(
            &[
                "serve",
                "--db",
                scratch.place(),
                "--listen",
                &listen,
                "--workers",
                "0",
            ],
            None,
        )?);
        bases.push(format!("http://{listen}"));
    }
    let client = reqwest::Client::builder().no_proxy().build()?;
    for base in &bases {
        let started = Instant::now();
        while !client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ensure!(
                started.elapsed() < Duration::from_secs(60),
                "a server at {base} did not get ready"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let seconds = publish_all(&bases, &vendor, bodies, connections).await?;
    for server in running {
        server.stop()?;
    }
    Ok(Published {
        seconds,
        per_s: messages as f64 / seconds,
    })
}

/// `herald bench api --servers N`: small publishes through N servers on one store, against
/// one server taking the same, each on a fresh store of the same engine.
pub async fn bench_api_servers(
    db: Option<&str>,
    customers: usize,
    servers: usize,
    messages: usize,
    connections: usize,
) -> Result<Value> {
    ensure!(servers >= 2, "--servers must be at least 2");
    ensure!(messages > 0, "--messages must be at least 1");
    let one = publish_through(db, customers, 1, messages, connections).await?;
    let many = publish_through(db, customers, servers, messages, connections).await?;
    let ratio = many.per_s / one.per_s;
    Ok(json!({
        "bench": "api",
        "engine": if db.is_some() { "postgres" } else { "sqlite" },
        "customers": customers,
        "messages": messages,
        "connections": connections,
        "servers": {
            "what": format!("small publishes (three customers each) POSTed in turn to {servers} `herald serve` processes on one store from {connections} clients, each sending its next when answered"),
            "servers": servers,
            "seconds": round3(many.seconds),
            "publishes_per_s": many.per_s.round(),
        },
        "baseline": {
            "what": "the same publishes into a fresh store through one `herald serve` process from as many clients",
            "seconds": round3(one.seconds),
            "publishes_per_s": one.per_s.round(),
        },
        "ratio_to_baseline": round3(ratio),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio >= GOAL_RATIO,
    }))
}
