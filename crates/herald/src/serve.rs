//! `herald serve`: the HTTP API over the store, the worker beside it, and the intake from
//! NATS when one is configured, until SIGTERM or Ctrl-C.

use anyhow::{Context, Result};
use herald_server::{serve, shutdown_signal, AppState, ServeConfig};

use crate::cli::ServeArgs;
use crate::consume::{connect, tally_line as intake_line};
use crate::inputs::{load_policy, open};
use crate::work::{load_config, tally_line, work_beside};

/// Runs the server as configured by the file, the environment and the flags.
pub async fn run(args: ServeArgs) -> Result<std::process::ExitCode> {
    let config = load_config(args.shared, args.listen, args.body_limit, args.nats.into())?;
    serve_with(config).await
}

/// Runs the server as `config` says.
pub async fn serve_with(config: ServeConfig) -> Result<std::process::ExitCode> {
    crate::logging::install(&config.log)?;
    let policy = load_policy(config.policy.as_deref())?;
    let store = open(&config.db).await?;
    let state = AppState::new(store.clone(), policy.clone(), &config).await?;
    let intake = match &config.nats {
        None => None,
        Some(nats) => {
            let intake = connect(nats, state.service().clone()).await?;
            state.reads(intake.bus());
            Some(intake)
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.listen))?;
    tracing::info!(
        "listening on http://{} with {}",
        listener.local_addr()?,
        config.db
    );
    // One signal stops them all: the server finishes its requests, the worker what it
    // sends, the intake the requests in hand.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = work_beside(&store, &config, &policy, stopped.clone());
    let intake = intake.map(|intake| {
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let read = intake
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = &read {
                // The server goes on answering; /readyz says it no longer reads the bus.
                tracing::error!("the intake stopped reading the bus: {e}");
            }
            read
        })
    });
    let served = serve(listener, state, &config, async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    })
    .await
    .context("the server failed");
    if let Some(intake) = intake {
        let tally = intake.await.context("the intake failed")??;
        tracing::info!("intake stopped: {}", intake_line(&tally));
    }
    if let Some(worker) = worker {
        let tally = worker.await.context("the delivery worker failed")??;
        tracing::info!("delivery stopped: {}", tally_line(&tally));
    }
    served?;
    store.checkpoint().await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(std::process::ExitCode::SUCCESS)
}
