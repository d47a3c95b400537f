//! `herald work`, and the worker inside `herald serve`: delivering what publishing queued,
//! as the configuration says (the file, `HERALD_…` variables, flags).

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use herald_delivery::config::{DeliverySettings, SmtpSettings};
use herald_delivery::email::{Mailer, MailerConfig};
use herald_delivery::{Channels, Guard, Progress, Sender, SenderConfig, Tally, WorkerConfig};
use herald_domain::Policy;
use herald_intake::NatsSettings;
use herald_server::config::{LogConfig, LogFormat, LogSettings, Settings, WebhookSettings};
use herald_server::ServeConfig;
use herald_store::Store;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{ConfigArgs, WorkArgs};
use crate::inputs::{load_policy, open_existing};

/// The configuration: the file `args` names, under the settings the environment and flags
/// gave (`listen` and `body_limit` are `herald serve`'s alone, and `nats` is read by
/// `herald serve` and `herald consume`).
pub fn load_config(
    args: ConfigArgs,
    listen: Option<SocketAddr>,
    body_limit: Option<usize>,
    nats: NatsSettings,
) -> Result<ServeConfig> {
    let d = args.delivery;
    ServeConfig::load(
        args.config.as_deref(),
        Settings {
            listen,
            db: args.db,
            policy: args.policy,
            body_limit,
            webhooks: WebhookSettings {
                allow_private: d.webhooks_allow_private,
            },
            delivery: DeliverySettings {
                workers: d.workers,
                lease_seconds: d.lease_seconds,
                retry_schedule: d.retry_schedule,
            },
            smtp: SmtpSettings {
                url: d.smtp_url,
                from: d.smtp_from,
                ca: d.smtp_ca,
                pool: None,
            },
            nats,
            log: LogSettings {
                format: args.log_format,
                level: args.log_level,
            },
        },
    )
    .map_err(anyhow::Error::msg)
}

/// The channels a worker sends through, as `config` says: a mailer when it names a mail
/// server, and the webhook sender under its guard.
pub fn channels(config: &ServeConfig) -> Result<Channels> {
    let email = match &config.smtp.url {
        None => None,
        Some(url) => {
            let extra_root_ca = match &config.smtp.ca {
                None => None,
                Some(path) => Some(std::fs::read(path).with_context(|| {
                    format!(
                        "could not read the mail server's root certificate {}",
                        path.display()
                    )
                })?),
            };
            let mut mailer = MailerConfig::new(url, &config.smtp.from);
            mailer.extra_root_ca = extra_root_ca;
            mailer.pool_size = config.smtp.pool.max(1);
            Some(Mailer::with_config(&mailer)?)
        }
    };
    let webhooks = Sender::new(SenderConfig {
        guard: Guard {
            allow_private: config.webhooks.allow_private,
        },
        ..SenderConfig::default()
    })?;
    Ok(Channels { email, webhooks })
}

/// How a worker works under `config`, with `policy`'s default locale.
pub fn worker_config(config: &ServeConfig, policy: &Policy, until_idle: bool) -> WorkerConfig {
    WorkerConfig {
        concurrency: config.delivery.workers.max(1),
        lease: config.delivery.lease,
        schedule: config.delivery.retry_schedule.clone(),
        default_locale: policy.default_locale().to_owned(),
        until_idle,
        ..WorkerConfig::default()
    }
}

/// Says where mail goes, before the first mail waits on it: a warning when no mail server
/// is configured, and an error naming the server and why when it cannot be reached. The
/// server is checked beside the work, which starts at once; the check is handed back, to be
/// awaited (or dropped) when the work ends.
pub fn announce_mail(channels: &Arc<Channels>) -> Option<tokio::task::JoinHandle<()>> {
    if channels.email.is_none() {
        tracing::warn!("no mail server is configured (HERALD_SMTP_URL), so email waits for a worker that has one");
        return None;
    }
    let channels = Arc::clone(channels);
    Some(tokio::spawn(async move {
        if let Some(mailer) = &channels.email {
            if let Err(why) = mailer.check().await {
                tracing::error!(
                    "the mail server cannot be reached ({why}); mail waits and is tried again on the schedule"
                );
            }
        }
    }))
}

/// The first Ctrl-C or SIGTERM, after which a worker leases nothing more and finishes
/// what is in flight, and the second, after which it abandons that (unrecorded: another
/// worker sends it once the lease runs out). Both are listened for from the start, so a
/// second signal is never missed.
fn stop_signals() -> Result<(impl Future<Output = ()>, impl Future<Output = ()>)> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("could not listen for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("could not listen for SIGTERM")?;
    let (first, stop) = tokio::sync::oneshot::channel::<()>();
    let (second, abandon) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        for (signalled, said) in [
            (first, "stopping: finishing what is in flight (Ctrl-C again to abandon it)"),
            (second, "abandoning what is in flight: it is not recorded, and a worker sends it once its lease runs out"),
        ] {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("{said}");
            let _ = signalled.send(());
        }
    });
    Ok((
        async {
            let _ = stop.await;
        },
        async {
            let _ = abandon.await;
        },
    ))
}

/// One line on what a worker did, in deliveries.
pub fn tally_line(tally: &Tally) -> String {
    format!(
        "{} delivered, {} to be tried again, {} dead",
        tally.delivered, tally.retrying, tally.dead
    )
}

/// The live line of `herald work` on a terminal: a spinner and the tally so far. Hidden
/// when stderr is not a terminal, or when the log is JSON for a machine to read.
fn progress_bar(log: &LogConfig) -> ProgressBar {
    if log.format != LogFormat::Text {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message("waiting for deliveries");
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
    );
    bar
}

/// Shows how far the work has come as `progress` tells it, until dropped: on `bar` when it
/// is drawn, ten times a second; otherwise as a log line every `every` (never when zero),
/// when something changed.
fn show_progress(
    progress: Arc<Progress>,
    bar: ProgressBar,
    every: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    let drawn = !bar.is_hidden();
    if !drawn && every.is_zero() {
        return None;
    }
    let every = if drawn {
        Duration::from_millis(100)
    } else {
        every
    };
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        let (mut last, mut last_at) = (Tally::default(), Instant::now());
        let mut rate = 0.0;
        loop {
            ticks.tick().await;
            let tally = progress.tally();
            let settled = |t: &Tally| t.delivered + t.dead;
            let elapsed = last_at.elapsed().as_secs_f64();
            if drawn {
                // A rate over a tenth of a second jumps about; a second's average reads.
                if elapsed >= 1.0 {
                    rate = (settled(&tally) - settled(&last)) as f64 / elapsed;
                    (last, last_at) = (tally.clone(), Instant::now());
                }
                bar.set_message(format!(
                    "{} ({rate:.0} settled a second)",
                    tally_line(&tally)
                ));
                bar.tick();
            } else if tally != last {
                rate = (settled(&tally) - settled(&last)) as f64 / elapsed;
                tracing::info!(
                    delivered = tally.delivered,
                    retrying = tally.retrying,
                    dead = tally.dead,
                    "progress: {} ({rate:.0} settled a second)",
                    tally_line(&tally)
                );
                (last, last_at) = (tally, Instant::now());
            }
        }
    }))
}

/// Runs `herald work`.
pub async fn run(args: WorkArgs) -> Result<ExitCode> {
    let config = load_config(args.shared, None, None, NatsSettings::default())?;
    let bar = progress_bar(&config.log);
    crate::logging::install_around(&config.log, &bar)?;
    let policy = load_policy(config.policy.as_deref())?;
    let store = open_existing(&config.db).await?;
    let channels = Arc::new(channels(&config)?);
    let checking = announce_mail(&channels);
    tracing::info!(
        "delivering from {} with up to {} in flight",
        config.db,
        config.delivery.workers.max(1)
    );
    let (stop, abandon) = stop_signals()?;
    let worker = worker_config(&config, &policy, args.until_idle);
    let showing = show_progress(
        worker.progress.clone(),
        bar.clone(),
        Duration::from_secs(args.progress_seconds),
    );
    let tally = herald_delivery::run_until(store.clone(), channels, worker, stop, abandon).await;
    if let Some(showing) = showing {
        showing.abort();
    }
    bar.finish_and_clear();
    store.checkpoint().await?;
    store.close().await;
    if let Some(checking) = checking {
        // A worker that ran out of work has tried the server too, so the check is done or
        // nearly; one that was stopped stops now.
        if args.until_idle {
            let _ = checking.await;
        } else {
            checking.abort();
        }
    }
    let tally = tally?;
    tracing::info!("stopped: {}", tally_line(&tally));
    Ok(ExitCode::SUCCESS)
}

/// The worker inside `herald serve` and `herald consume`, working `store` as `config`
/// says until `stopped` turns true; none when `config` gives it no workers.
pub fn work_beside(
    store: &Store,
    config: &ServeConfig,
    policy: &Policy,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<Result<Tally>>> {
    (config.delivery.workers > 0).then(|| {
        let (store, config, policy) = (store.clone(), config.clone(), policy.clone());
        tokio::spawn(async move {
            work_in(store, &config, &policy, false, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        })
    })
}

/// Works `store` (opened by the caller) as `config` says until `stop` resolves, or with
/// `until_idle` until every queued delivery is settled.
pub async fn work_in(
    store: Store,
    config: &ServeConfig,
    policy: &Policy,
    until_idle: bool,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Tally> {
    let channels = Arc::new(channels(config)?);
    let checking = announce_mail(&channels);
    let worker = worker_config(config, policy, until_idle);
    let tally = herald_delivery::run(store, channels, worker, stop).await;
    if let Some(checking) = checking {
        checking.abort();
    }
    Ok(tally?)
}
