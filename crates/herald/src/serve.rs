//! `herald serve`: the HTTP API over the store, until SIGTERM or Ctrl-C.

use anyhow::{Context, Result};
use herald_server::{serve, shutdown_signal, AppState};

use crate::cli::ServeArgs;
use crate::inputs::load_policy;
use crate::work::{load_config, tally_line, work_in};

/// Runs the server as configured by the file, the environment and the flags.
pub async fn run(args: ServeArgs) -> Result<std::process::ExitCode> {
    let config = load_config(args.shared, args.listen, args.body_limit)?;
    crate::logging::install(&config.log)?;
    let policy = load_policy(config.policy.as_deref())?;
    let (store, _) = config
        .db
        .open()
        .await
        .with_context(|| format!("could not open the store at {}", config.db))?;
    let state = AppState::new(store.clone(), policy.clone(), &config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.listen))?;
    tracing::info!(
        "listening on http://{} with {}",
        listener.local_addr()?,
        config.db
    );
    // One signal stops both: the server finishes its requests, the worker what it sends.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = (config.delivery.workers > 0).then(|| {
        let (store, config, policy) = (store.clone(), config.clone(), policy.clone());
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            work_in(store, &config, &policy, false, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        })
    });
    let served = serve(listener, state, &config, async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    })
    .await
    .context("the server failed");
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
