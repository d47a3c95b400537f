//! The log of `herald serve` and `herald work`: `tracing` events written to stderr, one
//! readable line each by default or one JSON object each for machines
//! (`--log-format json`), filtered as `RUST_LOG` filters (`--log-level`, `HERALD_LOG`). The
//! other commands print for the person who ran them (`terminal`) and install no log.

use anyhow::{Context, Result};
use herald_server::config::{LogConfig, LogFormat};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Sends this process's events to stderr as `config` says.
pub fn install(config: &LogConfig) -> Result<()> {
    let filter: Targets = config.level.parse().with_context(|| {
        format!(
            "the log level {:?} is not one: name a level (error, warn, info, debug, trace, off) or levels by target (herald::request=off,info)",
            config.level
        )
    })?;
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    match config.format {
        LogFormat::Text => registry.with(layer).try_init(),
        LogFormat::Json => registry
            .with(layer.json().flatten_event(true).with_current_span(false))
            .try_init(),
    }
    .context("the log could not be set up")
}
