//! `herald bench …`: whole paths of the product measured against a plain baseline doing
//! the same work in the same run, reported as figures and a ratio. The CLI parses a
//! [`BenchCommand`], calls [`run`] and prints the [`Report`] it gets back.
//!
//! - `route`: a whole-directory incident and a product message routed by the policy engine,
//!   against a hand-written loop computing the same (customer, direct, partners) triples.
//! - `publish`: an incident from publish to every row committed in SQLite, against a bare
//!   prepared `INSERT` per row of the same rows in one transaction, in the same database.
//! - `api`: the HTTP API under open-loop load on loopback, against `GET /healthz` at the
//!   same rates.
//! - `deliver`: each delivery channel into a local receiver, against a bare client of the
//!   same protocol; with `--processes N`, one incident delivered by N `herald work`
//!   processes against one.
//! - `api --servers N`: small publishes through N `herald serve` processes on one store,
//!   against one server.
//! - `intake`: publish requests through NATS JetStream to committed, against
//!   `POST /v1/messages` in the same run.

mod api;
mod deliver;
mod intake;
mod processes;
mod publish;
mod route;
mod table;
mod webhooks;
mod workload;

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use serde_json::Value;

/// The benchmarks `herald bench` runs, each with its sizes and `--json`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Route a whole-directory incident and a product message.
    Route {
        /// How many customers the generated directory has.
        #[arg(long, default_value_t = 1_000_000)]
        customers: usize,
        /// Print one JSON object with the figures.
        #[arg(long)]
        json: bool,
    },
    /// Publish a whole-directory incident into SQLite, or into PostgreSQL with `--db`.
    Publish {
        /// How many customers the generated directory has.
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        /// Print one JSON object with the figures.
        #[arg(long)]
        json: bool,
        /// Where to put the benchmark's SQLite database (a temporary folder by default).
        #[arg(long, conflicts_with = "db")]
        dir: Option<PathBuf>,
        /// A PostgreSQL database (`postgres://user@host:port/database`) to publish into
        /// instead, in a schema of the benchmark's own, dropped afterwards.
        #[arg(long, value_parser = postgres_url)]
        db: Option<String>,
    },
    /// Serve the HTTP API in this process and load it over loopback: small publishes at
    /// 200 requests/s, a whole-directory incident, inbox reads at 1,000 requests/s, each
    /// against `GET /healthz` at the same rate.
    Api {
        /// How many customers the generated directory has.
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        /// How long each rated phase lasts, in seconds.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        seconds: u64,
        /// Print one JSON object with the figures.
        #[arg(long)]
        json: bool,
        /// Instead of the phases above: small publishes through this many `herald serve`
        /// processes on one store, against one server taking the same load.
        #[arg(long, value_parser = clap::value_parser!(u64).range(2..=64))]
        servers: Option<u64>,
        /// With --servers: how many small publishes each run sends.
        #[arg(long, default_value_t = 4_000, requires = "servers")]
        messages: usize,
        /// With --servers: how many clients send at once, each its next when answered.
        #[arg(long, default_value_t = 32, requires = "servers")]
        connections: usize,
        /// With --servers: a PostgreSQL database (`postgres://user@host:port/database`)
        /// holding the store, in a schema of the benchmark's own, dropped afterwards;
        /// a SQLite file without it.
        #[arg(long, value_parser = postgres_url, requires = "servers")]
        db: Option<String>,
    },
    /// Deliver through each channel into a local receiver this command starts: mail
    /// through the pooled mailer into an SMTP sink on loopback, against a hand-written SMTP
    /// client sending the same mails; webhook signing against a bare HMAC-SHA256 loop; one
    /// incident's webhooks through the store and the worker, and a steady 1,000 webhooks/s,
    /// each against a bare HTTP loop POSTing the same requests.
    Deliver {
        /// How many mails the email channel sends.
        #[arg(long, default_value_t = 20_000)]
        emails: usize,
        /// How many SMTP connections the mailer pools (and the baseline opens).
        #[arg(long, default_value_t = 4)]
        pool: u32,
        /// How many webhooks the incident queues (one per customer) [default: 20,000; with
        /// --processes 100,000, so that a batch of 1,024 left to one process at the end is
        /// a small part of the run].
        #[arg(long)]
        webhooks: Option<usize>,
        /// The smaller fan-out whose rate the incident's is compared with, in the same run,
        /// when --webhooks is larger: a webhook should cost no more in a larger message.
        #[arg(long, default_value_t = 20_000)]
        reference: usize,
        /// How many webhooks the worker (and the bare loop) has in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// How long the steady 1,000 webhooks/s lasts, in seconds.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        seconds: u64,
        /// How many events of each size the signing phase signs.
        #[arg(long, default_value_t = 20_000)]
        signatures: usize,
        /// Print one JSON object with the figures.
        #[arg(long)]
        json: bool,
        /// A PostgreSQL database (`postgres://user@host:port/database`) to run the webhook
        /// phases' stores in, a schema of their own each, dropped afterwards; SQLite files
        /// without it.
        #[arg(long, value_parser = postgres_url)]
        db: Option<String>,
        /// Instead of the phases above: one incident's webhooks (--webhooks of them)
        /// delivered by this many `herald work` processes sharing --concurrency in flight,
        /// against one process with all of it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(2..=64))]
        processes: Option<u64>,
    },
    /// Publish requests through NATS JetStream (`herald consume`'s intake, in this process)
    /// to committed, against the same requests POSTed to `/v1/messages`, each into a fresh
    /// store.
    Intake {
        /// The NATS server with JetStream, `nats://host:port`.
        #[arg(long)]
        nats: String,
        /// How many small publish requests each way sends.
        #[arg(long, default_value_t = 4_000)]
        messages: usize,
        /// How many customers the generated directory has.
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        /// How many requests are in hand at once: the intake's in-flight, and the clients
        /// POSTing at once.
        #[arg(long, default_value_t = 32)]
        in_flight: usize,
        /// A PostgreSQL database (`postgres://user@host:port/database`) holding the
        /// stores, in schemas of the benchmark's own, dropped afterwards; SQLite files
        /// without it.
        #[arg(long, value_parser = postgres_url)]
        db: Option<String>,
        /// Print one JSON object with the figures.
        #[arg(long)]
        json: bool,
    },
}

/// What one benchmark measured, and how it was asked to show it.
#[derive(Debug)]
pub struct Report {
    /// The figures: one JSON object, named by its `bench`.
    pub figures: Value,
    /// Whether `--json` asked for the figures as JSON rather than as a table.
    pub json: bool,
}

impl Report {
    /// The figures for a person: its top-level figures one a line, then a table of each
    /// Herald figure beside its baseline's, their ratio and the goal.
    pub fn table(&self) -> String {
        table::table(&self.figures)
    }
}

/// Runs one benchmark and gathers its figures.
pub async fn run(command: BenchCommand) -> Result<Report> {
    let (figures, json) = match command {
        BenchCommand::Route { customers, json } => (route::bench_route(customers)?, json),
        BenchCommand::Publish {
            customers,
            json,
            dir,
            db,
        } => (publish::bench_publish(customers, dir, db).await?, json),
        BenchCommand::Api {
            customers,
            seconds,
            json,
            servers: None,
            ..
        } => (api::bench_api(customers, seconds).await?, json),
        BenchCommand::Api {
            customers,
            json,
            servers: Some(servers),
            messages,
            connections,
            db,
            ..
        } => {
            let figures = processes::bench_api_servers(
                db.as_deref(),
                customers,
                servers as usize,
                messages,
                connections,
            )
            .await?;
            (figures, json)
        }
        BenchCommand::Deliver {
            emails,
            pool,
            webhooks,
            reference,
            concurrency,
            seconds,
            signatures,
            json,
            db,
            processes,
        } => {
            let default = if processes.is_some() { 100_000 } else { 20_000 };
            let sizes = crate::webhooks::Sizes {
                webhooks: webhooks.unwrap_or(default),
                reference,
                concurrency,
                seconds,
                signatures,
                db,
            };
            let figures = match processes {
                Some(n) => processes::bench_deliver_processes(&sizes, n as usize).await?,
                None => deliver::bench_deliver(emails, pool, &sizes).await?,
            };
            (figures, json)
        }
        BenchCommand::Intake {
            nats,
            messages,
            customers,
            in_flight,
            db,
            json,
        } => {
            let sizes = intake::Sizes {
                messages,
                customers,
                in_flight,
            };
            (
                intake::bench_intake(&nats, db.as_deref(), &sizes).await?,
                json,
            )
        }
    };
    Ok(Report { figures, json })
}

/// A `--db` value that names a PostgreSQL database.
fn postgres_url(value: &str) -> Result<String, String> {
    if let Ok(herald_store::Place::Postgres(url)) = herald_store::Place::parse(value) {
        Ok(url)
    } else {
        Err(format!(
            "{value:?} is not a PostgreSQL URL; name one as postgres://user@host:port/database \
             (the benchmark runs on SQLite without --db)"
        ))
    }
}
