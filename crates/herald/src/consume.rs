//! `herald consume`: publish requests read from NATS JetStream, stored and acknowledged,
//! with the worker beside it as in `herald serve`, until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use anyhow::{Context, Result};
use herald_intake::{Intake, NatsConfig, NatsSettings, Tally};
use herald_server::shutdown_signal;
use herald_service::Service;

use crate::cli::{ConsumeArgs, NatsArgs};
use crate::inputs::{load_policy, open};
use crate::work::{load_config, tally_line as delivery_line, work_beside};

impl From<NatsArgs> for NatsSettings {
    fn from(args: NatsArgs) -> NatsSettings {
        NatsSettings {
            url: args.url,
            prefix: args.prefix,
            stream: args.stream,
            consumer: args.consumer,
            in_flight: args.in_flight,
            ack_wait_seconds: args.ack_wait_seconds,
        }
    }
}

/// Connects the intake of `nats` to `service`, saying where it reads.
pub async fn connect(nats: &NatsConfig, service: Service) -> Result<Intake> {
    let intake = Intake::connect(nats, service).await?;
    tracing::info!(
        "reading publish requests on {}.publish.<cloud> from the stream {} (consumer {}) at {}",
        nats.prefix,
        nats.stream,
        nats.consumer,
        nats.url
    );
    Ok(intake)
}

/// One line on what an intake did.
pub fn tally_line(tally: &Tally) -> String {
    format!(
        "{} accepted, {} repeated, {} rejected, {} handed back after a failure of the store",
        tally.accepted, tally.repeated, tally.rejected, tally.retried
    )
}

/// Runs `herald consume`.
pub async fn run(args: ConsumeArgs) -> Result<ExitCode> {
    let config = load_config(args.shared, None, None, args.nats.into())?;
    crate::logging::install(&config.log)?;
    let Some(nats) = &config.nats else {
        anyhow::bail!(
            "herald consume reads from NATS: name the server with --nats, HERALD_NATS_URL or `url` under [nats] in the configuration"
        );
    };
    let policy = load_policy(config.policy.as_deref())?;
    let store = open(&config.db).await?;
    let service = Service::new(store.clone(), policy.clone()).await?;
    let intake = connect(nats, service).await?;
    tracing::info!("storing in {}", config.db);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = work_beside(&store, &config, &policy, stopped);
    let tally = intake
        .run(async {
            shutdown_signal().await;
            tracing::info!("stopping: finishing the requests in hand");
        })
        .await;
    // The worker stops once the intake has, whether asked to or not.
    let _ = stop.send(true);
    if let Some(worker) = worker {
        let delivered = worker.await.context("the delivery worker failed")??;
        tracing::info!("delivery stopped: {}", delivery_line(&delivered));
    }
    store.checkpoint().await?;
    store.close().await;
    tracing::info!("stopped: {}", tally_line(&tally?));
    Ok(ExitCode::SUCCESS)
}
