//! `herald bench publish`: an incident from publish to every row committed, against the
//! same rows written bare in one transaction in the same database: a prepared `INSERT` per
//! row on SQLite, one `COPY` per table on PostgreSQL (`--db`, in a scratch schema).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use herald_domain::{route, Policy};
use herald_store::scratch::Scratch;
use herald_store::{Actor, Engine, Publish, Rows};
use serde_json::json;

use crate::workload::{everything_incident, proc_status, synthetic_directory};

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

pub(crate) async fn bench_publish(
    customers: usize,
    dir: Option<PathBuf>,
    db: Option<String>,
) -> Result<serde_json::Value> {
    let policy = Policy::default_policy();
    let directory = synthetic_directory(customers)?;
    // A folder the caller names is theirs: only the benchmark's own files are removed.
    let own_folder = dir.is_none();
    let folder = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("herald-bench-{}", std::process::id())),
    };
    let path = folder.join("bench.db");
    // On PostgreSQL, a schema of its own, dropped with `schema`.
    let schema = match &db {
        Some(url) => Some(Scratch::postgres(url).await?),
        None => {
            std::fs::create_dir_all(&folder)?;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            None
        }
    };
    let place = match &schema {
        Some(scratch) => scratch.place().to_owned(),
        None => path.display().to_string(),
    };
    let (store, _) = herald_store::Store::open_at(&place).await?;
    let engine = store.engine();

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
    drop(schema);
    if engine == Engine::Sqlite {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        if own_folder {
            let _ = std::fs::remove_dir_all(&folder);
        }
    }
    let goal_seconds = match engine {
        Engine::Sqlite => 2.0,
        Engine::Postgres => 3.0,
    };
    Ok(json!({
        "bench": "publish",
        "engine": engine.as_str(),
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
        "goal_seconds_at_1m_customers": goal_seconds,
        "one_million_one_integer_rows_seconds": scratch.as_secs_f64(),
        "peak_rss_bytes": proc_status("VmHWM:"),
    }))
}
