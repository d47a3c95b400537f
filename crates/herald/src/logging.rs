//! The log of `herald serve` and `herald work`: `tracing` events written to stderr, one
//! readable line each by default or one JSON object each for machines
//! (`--log-format json`), filtered as `RUST_LOG` filters (`--log-level`, `HERALD_LOG`). The
//! other commands print for the person who ran them (`terminal`) and install no log.
//!
//! While `herald work` shows its live progress line on a terminal, each log line is
//! written above it: the line is cleared, the log line written, the line drawn again.

use std::io::{self, Write};

use anyhow::{Context, Result};
use herald_server::config::{LogConfig, LogFormat};
use indicatif::ProgressBar;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Stderr, written around `0`'s line while it is drawn.
#[derive(Clone)]
struct AroundProgress(ProgressBar);

impl Write for AroundProgress {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.suspend(|| io::stderr().lock().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.suspend(|| io::stderr().lock().write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Sends this process's events to stderr as `config` says.
pub fn install(config: &LogConfig) -> Result<()> {
    install_around(config, &ProgressBar::hidden())
}

/// [`install`], each line written above `progress` while it is drawn.
pub fn install_around(config: &LogConfig, progress: &ProgressBar) -> Result<()> {
    let filter: Targets = config.level.parse().with_context(|| {
        format!(
            "the log level {:?} is not one: name a level (error, warn, info, debug, trace, off) or levels by target (herald::request=off,info)",
            config.level
        )
    })?;
    let progress = progress.clone();
    let layer =
        tracing_subscriber::fmt::layer().with_writer(move || AroundProgress(progress.clone()));
    let registry = tracing_subscriber::registry().with(filter);
    match config.format {
        LogFormat::Text => registry.with(layer).try_init(),
        LogFormat::Json => registry
            .with(layer.json().flatten_event(true).with_current_span(false))
            .try_init(),
    }
    .context("the log could not be set up")
}
