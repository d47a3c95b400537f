//! The worker's settings: how deliveries are worked (`[delivery]`) and the mail server
//! email goes through (`[smtp]`). Each table is read as settings, every one optional, that
//! lie over one another (a file, then `HERALD_…` variables and flags), and then resolved
//! against the defaults into the configuration a worker runs with.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::Schedule;

/// How deliveries are worked: by `herald work`, and inside `herald serve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// The most deliveries in flight at once; 0 keeps `herald serve` from delivering.
    pub workers: usize,
    /// How long a worker's lease on deliveries lasts before another may take them over.
    pub lease: Duration,
    /// The waits before each attempt.
    pub retry_schedule: Schedule,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            workers: 64,
            lease: Duration::from_secs(30),
            retry_schedule: Schedule::default(),
        }
    }
}

/// The mail server email deliveries go through; with no URL, email waits for a worker
/// that has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpConfig {
    /// `smtp://host:port`, `smtp://host:port?tls=required` (STARTTLS) or
    /// `smtps://host:port`, with `user:password@` before the host to log in.
    pub url: Option<String>,
    /// The sender: `name@example.com` or `Name <name@example.com>`.
    pub from: String,
    /// A root certificate (PEM file) to trust besides the usual ones.
    pub ca: Option<PathBuf>,
    /// How many connections to the mail server stay open.
    pub pool: u32,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            url: None,
            from: "Herald <notices@herald.localhost>".into(),
            ca: None,
            pool: 8,
        }
    }
}

/// Settings of the `[delivery]` table (`HERALD_DELIVERY_…` in the environment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    pub workers: Option<usize>,
    pub lease_seconds: Option<u64>,
    /// Waits separated by commas, such as `0s,5s,5m,30m,2h,5h,10h,10h`.
    pub retry_schedule: Option<String>,
}

impl DeliverySettings {
    /// These settings over `base`: each one given here wins.
    pub fn over(self, base: DeliverySettings) -> DeliverySettings {
        DeliverySettings {
            workers: self.workers.or(base.workers),
            lease_seconds: self.lease_seconds.or(base.lease_seconds),
            retry_schedule: self.retry_schedule.or(base.retry_schedule),
        }
    }

    /// The configuration these settings make, the defaults filling what none gave, or a
    /// sentence naming the setting that is wrong.
    pub fn resolve(self) -> Result<DeliveryConfig, String> {
        let defaults = DeliveryConfig::default();
        Ok(DeliveryConfig {
            workers: self.workers.unwrap_or(defaults.workers),
            lease: match self.lease_seconds {
                Some(0) => return Err("the delivery lease_seconds must be at least 1".into()),
                Some(seconds) => Duration::from_secs(seconds),
                None => defaults.lease,
            },
            retry_schedule: match self.retry_schedule {
                Some(text) => text.parse().map_err(|e| format!("{e}"))?,
                None => defaults.retry_schedule,
            },
        })
    }
}

/// Settings of the `[smtp]` table (`HERALD_SMTP_…` in the environment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub url: Option<String>,
    pub from: Option<String>,
    pub ca: Option<PathBuf>,
    pub pool: Option<u32>,
}

impl SmtpSettings {
    /// These settings over `base`: each one given here wins.
    pub fn over(self, base: SmtpSettings) -> SmtpSettings {
        SmtpSettings {
            url: self.url.or(base.url),
            from: self.from.or(base.from),
            ca: self.ca.or(base.ca),
            pool: self.pool.or(base.pool),
        }
    }

    /// The configuration these settings make, the defaults filling what none gave; an
    /// empty URL names no mail server.
    pub fn resolve(self) -> SmtpConfig {
        let defaults = SmtpConfig::default();
        SmtpConfig {
            url: self.url.filter(|u| !u.is_empty()),
            from: self.from.unwrap_or(defaults.from),
            ca: self.ca,
            pool: self.pool.unwrap_or(defaults.pool),
        }
    }
}
