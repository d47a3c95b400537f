//! `herald bench …`: whole paths of the product measured against a plain baseline doing
//! the same work in the same run, reported as figures and a ratio.
//!
//! - `route`: a whole-directory incident and a product message routed by the policy engine,
//!   against a hand-written loop computing the same (customer, direct, partners) triples.
//! - `publish`: an incident from publish to every row committed in SQLite, against a bare
//!   prepared `INSERT` per row of the same rows in one transaction, in the same database.
//! - `api`: the HTTP API under open-loop load on loopback, against `GET /healthz` at the
//!   same rates ([`crate::bench_api`]).
//! - `deliver`: each delivery channel into a local receiver, against a bare client of the
//!   same protocol ([`crate::bench_deliver`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use herald_domain::directory::Holding;
use herald_domain::ids::{CustomerIx, PartnerIx};
use herald_domain::synthetic::{self, Options, CATALOG};
use herald_domain::wire::{self, Status};
use herald_domain::{route, Directory, Message, Policy, Routing};
use herald_store::{Actor, Publish, Rows, Store};
use serde_json::{json, Value};

use crate::cli::BenchCommand;
use crate::terminal::{self, say};

/// Runs one benchmark and prints its figures.
pub async fn run(command: BenchCommand) -> Result<ExitCode> {
    let (figures, json) = match command {
        BenchCommand::Route { customers, json } => (bench_route(customers)?, json),
        BenchCommand::Publish {
            customers,
            json,
            dir,
        } => (bench_publish(customers, dir).await?, json),
        BenchCommand::Api {
            customers,
            seconds,
            json,
        } => (crate::bench_api::bench_api(customers, seconds).await?, json),
        BenchCommand::Deliver {
            emails,
            pool,
            webhooks,
            reference,
            concurrency,
            seconds,
            signatures,
            json,
        } => {
            let sizes = crate::bench_webhooks::Sizes {
                webhooks,
                reference,
                concurrency,
                seconds,
                signatures,
            };
            (
                crate::bench_deliver::bench_deliver(emails, pool, &sizes).await?,
                json,
            )
        }
    };
    if json {
        say!("{}", terminal::json(&figures, false)?);
    } else {
        say!("{}", table(&figures));
    }
    Ok(ExitCode::SUCCESS)
}

/// The figures of a report for a person: its top-level figures one a line, then a table of
/// each Herald figure beside its baseline's, their ratio and the goal. A pair is found by
/// name, in any object of the report: `x` beside `baseline_x`, `herald_x` beside
/// `baseline_x`, `herald.x` (or the object's own `x`) beside `baseline.x`, and the bench's
/// own `<bench>_seconds` beside `baseline_seconds`; the goal is `goal_x`, or `goal_ratio`.
/// Everything else is in `--json`.
fn table(report: &Value) -> String {
    let mut out = String::new();
    if let Value::Object(top) = report {
        for (key, value) in top {
            if let Some(text) = scalar(value) {
                out.push_str(&format!("{key}: {text}\n"));
            }
        }
    }
    let bench = report["bench"].as_str().unwrap_or_default();
    let mut rows = Vec::new();
    pairs(report, "", bench, &mut rows);
    let width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(6);
    out.push_str(&format!(
        "{:<width$}  {:>12}  {:>12}  {:>8}  goal",
        "figure", "Herald", "baseline", "ratio"
    ));
    for [figure, herald, baseline, ratio, goal] in rows {
        out.push_str(&format!(
            "\n{figure:<width$}  {herald:>12}  {baseline:>12}  {ratio:>8}  {goal}"
        ));
    }
    out
}

/// A number or text as one word, or nothing for an object, array or null.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.as_f64().map_or_else(|| n.to_string(), number)),
        Value::String(s) => Some(terminal::escaped(s).into_owned()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A figure with as many decimals as its size needs.
fn number(x: f64) -> String {
    if x.fract() == 0.0 || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// Every (Herald, baseline) pair of figures in `value`, at `path`, as table rows.
fn pairs(value: &Value, path: &str, bench: &str, rows: &mut Vec<[String; 5]>) {
    let name = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(o) => {
            let goal = |key: &str| {
                let own = o.get(&format!("goal_{key}")).and_then(scalar);
                let ratio = (key.ends_with("seconds"))
                    .then(|| o.get("goal_ratio").and_then(Value::as_f64))
                    .flatten()
                    .map(|r| format!("ratio≤{}", number(r)));
                match (own, ratio) {
                    (Some(g), Some(r)) => format!("{g},{r}"),
                    (Some(g), None) => g,
                    (None, Some(r)) => r,
                    (None, None) => "-".to_owned(),
                }
            };
            let mut row = |figure: String, key: &str, herald: &Value, baseline: &Value| {
                if let (Some(h), Some(b)) = (herald.as_f64(), baseline.as_f64()) {
                    let ratio = if b == 0.0 {
                        "-".to_owned()
                    } else {
                        format!("{:.3}", h / b)
                    };
                    rows.push([figure, number(h), number(b), ratio, goal(key)]);
                }
            };
            let nested = o.get("baseline").filter(|b| b.is_object());
            let herald = o.get("herald").filter(|h| h.is_object()).unwrap_or(value);
            for (key, v) in o {
                if let Some(b) = o.get(&format!("baseline_{key}")) {
                    row(name(key), key, v, b);
                } else if let Some(x) = key.strip_prefix("herald_") {
                    if let Some(b) = o.get(&format!("baseline_{x}")) {
                        row(name(x), x, v, b);
                    }
                } else if key == &format!("{bench}_seconds") && !o.contains_key("seconds") {
                    if let Some(b) = o.get("baseline_seconds") {
                        row(name(key), "seconds", v, b);
                    }
                }
            }
            if let (Some(Value::Object(base)), Value::Object(h)) = (nested, herald) {
                for (key, b) in base {
                    if let Some(v) = h.get(key) {
                        row(name(key), key, v, b);
                    }
                }
            }
            for (key, v) in o {
                if key != "baseline" && key != "herald" {
                    pairs(v, &name(key), bench, rows);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pairs(item, &format!("{path}[{i}]"), bench, rows);
            }
        }
        _ => {}
    }
}

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

fn message(policy: &Policy, directory: &Directory, value: serde_json::Value) -> Result<Message> {
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
fn everything_incident(policy: &Policy, directory: &Directory, id: &str) -> Result<Message> {
    message(
        policy,
        directory,
        json!({"id": id, "category": "service_incident", "services": every_service(), "title": "Global outage"}),
    )
}

/// The best of `runs` timings of `work`, and its last result.
fn best_of<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last: Option<T> = None;
    for _ in 0..runs {
        // The previous output is dropped first, so two never share the memory.
        drop(last.take());
        let t = Instant::now();
        let out = work();
        best = best.min(t.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

/// The plain loop's answer: per decision (customer, direct, partners as a range of the
/// pool), and the pool.
struct Plain {
    triples: Vec<(CustomerIx, bool, u32, u32)>,
    pool: Vec<PartnerIx>,
}

/// The baseline: a plain loop over the subscriptions, customer by customer, computing the
/// incident's (customer, direct, partners) triples with no policy engine.
fn plain_incident(directory: &Directory) -> Plain {
    let subs = directory.subscriptions();
    let mut triples = Vec::with_capacity(directory.customers().len());
    let mut pool: Vec<PartnerIx> = Vec::with_capacity(subs.len());
    for (c, customer) in directory.customers().iter().enumerate() {
        let start = pool.len();
        let mut any = false;
        for s in &subs[customer.subscriptions.start as usize..customer.subscriptions.end as usize] {
            if s.status != Status::Active {
                continue;
            }
            any = true;
            if let Holding::Csp { partner, reseller } = s.holding {
                pool.push(partner);
                if let Some(r) = reseller {
                    pool.push(r);
                }
            }
        }
        if any {
            let told = &mut pool[start..];
            told.sort_unstable();
            let mut kept = told.len().min(1);
            for i in 1..told.len() {
                if told[i] != told[kept - 1] {
                    told[kept] = told[i];
                    kept += 1;
                }
            }
            pool.truncate(start + kept);
            triples.push((CustomerIx(c as u32), true, start as u32, pool.len() as u32));
        } else {
            pool.truncate(start);
        }
    }
    Plain { triples, pool }
}

fn same_triples(routing: &Routing, plain: &Plain) -> bool {
    routing.decisions().len() == plain.triples.len()
        && routing
            .decisions()
            .iter()
            .zip(&plain.triples)
            .all(|(d, (c, direct, a, b))| {
                d.customer == *c
                    && d.direct == *direct
                    && routing.partners(d) == &plain.pool[*a as usize..*b as usize]
            })
}

fn bench_route(customers: usize) -> Result<serde_json::Value> {
    let policy = Policy::default_policy();
    let t = Instant::now();
    let directory = synthetic_directory(customers)?;
    let load = t.elapsed();
    let rss_loaded = proc_status("VmRSS:");
    let peak_loaded = proc_status("VmHWM:");
    let subscriptions = directory.subscriptions().len();

    let incident = everything_incident(&policy, &directory, "bench-incident")?;
    let (engine, routing) = best_of(5, || route(&policy, &directory, &incident));
    let (baseline, plain) = best_of(5, || plain_incident(&directory));
    ensure!(
        same_triples(&routing, &plain),
        "the policy engine and the plain loop disagree on the incident"
    );

    let product = message(
        &policy,
        &directory,
        json!({"id": "bench-product", "category": "product", "products": ["azure-plan"], "title": "New regions"}),
    )?;
    let (product_time, product_routing) = best_of(5, || route(&policy, &directory, &product));
    let product_subs = directory
        .product_subscriptions(directory.product_ix("azure-plan").expect("in the catalog"))
        .len();

    let secs = |d: Duration| d.as_secs_f64();
    Ok(json!({
        "bench": "route",
        "customers": customers,
        "subscriptions": subscriptions,
        "directory_build_s": secs(load),
        "incident": {
            "decisions": routing.decisions().len(),
            "seconds": secs(engine),
            "subscriptions_per_s": subscriptions as f64 / secs(engine),
            "baseline_seconds": secs(baseline),
            "baseline_subscriptions_per_s": subscriptions as f64 / secs(baseline),
            "ratio_to_baseline": secs(engine) / secs(baseline),
            "goal_seconds": 0.15,
            "goal_ratio": 2.5,
        },
        "product": {
            "decisions": product_routing.decisions().len(),
            "product_subscriptions": product_subs,
            "seconds": secs(product_time),
        },
        "rss_after_load_bytes": rss_loaded,
        "peak_rss_after_load_bytes": peak_loaded,
        "peak_rss_bytes": proc_status("VmHWM:"),
        "goal_peak_rss_bytes": 1u64 << 30,
        "threads": 1,
    }))
}

/// How many rounds the publish benchmark runs; it reports the best of each figure, so one
/// round slowed by the disk or another process does not decide it.
const ROUNDS: usize = 3;

/// One round of the publish benchmark.
struct Round {
    /// Routing, from the start of the publish.
    routed: Duration,
    /// The whole publish: routing, then building the rows while they are written.
    published: Duration,
    /// Building the same rows alone, collected.
    built: Duration,
    /// Writing the collected rows through bare inserts.
    baseline: Duration,
}

async fn bench_publish(customers: usize, dir: Option<PathBuf>) -> Result<serde_json::Value> {
    let policy = Policy::default_policy();
    let directory = synthetic_directory(customers)?;
    // A folder the caller names is theirs: only the benchmark's own files are removed.
    let own_folder = dir.is_none();
    let folder = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("herald-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&folder)?;
    let path = folder.join("bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = Store::open(&path).await?;

    let mut rounds: Vec<Round> = Vec::new();
    let mut counts = (0, 0, 0, 0, 0);
    for round in 0..ROUNDS {
        let incident =
            everything_incident(&policy, &directory, &format!("bench-incident-{round}"))?;
        let t = Instant::now();
        let routing = route(&policy, &directory, &incident);
        let routed = t.elapsed();
        let publish = Publish {
            policy: &policy,
            directory: &directory,
            message: &incident,
            routing: &routing,
            accepted_at: 0,
            thread_head: None,
        };
        // Routed against a directory of its own, not the stored one.
        store.publish(&publish, None, &Actor::Operator).await?;
        let published = t.elapsed();
        store.checkpoint().await?;

        // The same rows again, collected rather than written as they are built.
        let t = Instant::now();
        let rows = Rows::build(&Publish {
            message: &incident,
            ..publish
        });
        let built = t.elapsed();
        let t = Instant::now();
        store
            .insert_rows_plainly(&format!("bench-baseline-{round}"), &rows)
            .await?;
        let baseline = t.elapsed();
        store.checkpoint().await?;
        counts = (
            rows.message.customers_in_scope,
            rows.message.deliveries,
            rows.decisions.len(),
            rows.deliveries.len(),
            rows.partner_copies().count(),
        );
        rounds.push(Round {
            routed,
            built,
            published,
            baseline,
        });
    }
    let t = Instant::now();
    store.insert_scratch_rows(1_000_000).await?;
    let scratch = t.elapsed();
    let best = |f: fn(&Round) -> Duration| {
        rounds
            .iter()
            .map(f)
            .min()
            .expect("at least one round")
            .as_secs_f64()
    };
    let publish = best(|r| r.published);
    let baseline = best(|r| r.baseline);
    let (decisions, deliveries, decision_batches, delivery_batches, copies) = counts;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    if own_folder {
        let _ = std::fs::remove_dir_all(&folder);
    }
    Ok(json!({
        "bench": "publish",
        "customers": customers,
        "rounds": ROUNDS,
        "subscriptions": directory.subscriptions().len(),
        "decisions": decisions,
        "deliveries": deliveries,
        "rows": {"messages": 1, "decision_batches": decision_batches, "partner_copies": copies, "delivery_batches": delivery_batches, "total": 1 + decision_batches + copies + delivery_batches},
        "route_seconds": best(|r| r.routed),
        "rows_build_alone_seconds": best(|r| r.built),
        "publish_seconds": publish,
        "first_publish_seconds": rounds[0].published.as_secs_f64(),
        "baseline_seconds": baseline,
        "ratio_to_baseline": publish / baseline,
        "goal_ratio": 1.5,
        "goal_seconds_at_1m_customers": 2.0,
        "one_million_one_integer_rows_seconds": scratch.as_secs_f64(),
        "peak_rss_bytes": proc_status("VmHWM:"),
    }))
}
