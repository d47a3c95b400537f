//! `herald bench route`: a whole-directory incident and a product message routed by the
//! policy engine, against a hand-written loop computing the same (customer, direct,
//! partners) triples.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use herald_domain::directory::Holding;
use herald_domain::ids::{CustomerIx, PartnerIx};
use herald_domain::wire::Status;
use herald_domain::{route, Directory, Policy, Routing};
use serde_json::json;

use crate::workload::{everything_incident, message, proc_status, synthetic_directory};

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

pub(crate) fn bench_route(customers: usize) -> Result<serde_json::Value> {
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
