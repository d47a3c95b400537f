//! `herald serve`: the HTTP API over the store, until SIGTERM or Ctrl-C.

use std::path::PathBuf;

use anyhow::{Context, Result};
use herald_domain::Policy;
use herald_server::config::{Settings, WebhookSettings};
use herald_server::{serve, shutdown_signal, AppState, ServeConfig};
use herald_store::Store;

use crate::cli::ServeArgs;

/// Runs the server as configured by the file, the environment and the flags.
pub async fn run(args: ServeArgs) -> Result<std::process::ExitCode> {
    let config = ServeConfig::load(
        args.config.as_deref(),
        Settings {
            listen: args.listen,
            db: args.db,
            policy: args.policy,
            body_limit: args.body_limit,
            webhooks: WebhookSettings {
                allow_private: args.webhooks_allow_private,
            },
        },
    )
    .map_err(anyhow::Error::msg)?;
    let policy = match &config.policy {
        None => Policy::default_policy(),
        Some(path) => Policy::parse(&read(path)?)
            .with_context(|| format!("the policy {} is invalid", path.display()))?,
    };
    let store = Store::open(&config.db)
        .await
        .with_context(|| format!("could not open {}", config.db.display()))?;
    let state = AppState::new(store.clone(), policy, &config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.listen))?;
    eprintln!(
        "herald serve: listening on http://{} with {}",
        listener.local_addr()?,
        config.db.display()
    );
    serve(listener, state, &config, shutdown_signal())
        .await
        .context("the server failed")?;
    store.checkpoint().await?;
    store.close().await;
    eprintln!("herald serve: stopped");
    Ok(std::process::ExitCode::SUCCESS)
}

fn read(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))
}
