//! The dispatcher: each subcommand of a parsed command line handed to the module that runs
//! it, on an async runtime when it needs one. It holds no command of its own, and only
//! `main` uses it, so no module imports it back.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command, PolicyCommand};

/// Runs one command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Route {
            world,
            messages,
            policy,
        } => crate::routing::route_file(&world, &messages, &policy),
        Command::Explain {
            world,
            messages,
            message,
            customer,
            partner,
            json,
            policy,
        } => crate::routing::explain(
            &world,
            &messages,
            message.as_deref(),
            customer.as_deref(),
            partner.as_deref(),
            json,
            &policy,
        ),
        Command::Policy {
            command: PolicyCommand::Show { policy },
        } => crate::policy::show(&policy),
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => crate::policy::check(&file),
        Command::Migrate { db } => block_on(crate::store::migrate(&db.db)),
        Command::Copy { from, to } => block_on(crate::store::copy(&from, &to)),
        Command::Import { world, db } => block_on(crate::store::import(&world, &db.db)),
        Command::Publish {
            messages,
            db,
            policy,
        } => block_on(crate::messages::publish(&messages, &db.db, &policy)),
        Command::Messages { db } => block_on(crate::messages::list(&db.db)),
        Command::Show {
            id,
            cloud,
            json,
            db,
        } => block_on(crate::messages::show(&id, &cloud, json, &db.db)),
        Command::Deliveries { command } => block_on(crate::deliveries::run(command)),
        Command::Audit {
            cloud,
            limit,
            json,
            db,
        } => block_on(crate::audit::run(
            cloud.as_deref(),
            limit.into(),
            json,
            &db.db,
        )),
        Command::Completions { shell } => crate::manual::completions(shell),
        Command::Man { out } => crate::manual::man_pages(&out),
        Command::Work(args) => block_on(crate::work::run(args)),
        Command::Serve(args) => block_on(crate::serve::run(args)),
        Command::Consume(args) => block_on(crate::consume::run(args)),
        Command::Listen(args) => block_on(crate::listen::run(args)),
        Command::Keys { command } => block_on(crate::keys::run(command)),
        Command::Demo {
            customers,
            seed,
            db,
            serve,
            listen,
        } => block_on(crate::demo::run(
            customers,
            seed,
            db,
            serve.then_some(listen),
        )),
        Command::Bench { command } => block_on(crate::bench::run(command)),
    }
}

fn block_on<F: std::future::Future<Output = Result<ExitCode>>>(future: F) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?
        .block_on(future)
}
