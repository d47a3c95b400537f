//! The server's configuration: a TOML file, then `HERALD_…` environment variables, then
//! flags, each overriding the one before; the defaults need none of them. The worker's
//! own tables, `[delivery]` and `[smtp]`, are read and resolved by the worker's crate
//! ([`herald_delivery::config`]), and the bus intake's `[nats]` by its own
//! ([`herald_intake::config`]); this one gathers them with the server's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use herald_delivery::config::{DeliveryConfig, DeliverySettings, SmtpConfig, SmtpSettings};
use herald_intake::{NatsConfig, NatsSettings};
use herald_store::Place;
use serde::Deserialize;

/// How the server runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The store: a SQLite file or a PostgreSQL database.
    pub db: Place,
    /// A policy file to use instead of the default policy.
    pub policy: Option<PathBuf>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How webhooks are sent.
    pub webhooks: WebhookConfig,
    /// How deliveries are worked.
    pub delivery: DeliveryConfig,
    /// The mail server email deliveries go through.
    pub smtp: SmtpConfig,
    /// The message bus publish requests are read from, when there is one.
    pub nats: Option<NatsConfig>,
    /// How the process logs.
    pub log: LogConfig,
}

/// How `herald serve` and `herald work` log: lines for a person, or JSON for machines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("the log format is `text` or `json`, not {other:?}")),
        }
    }
}

/// How the process logs: the format, and which events, as `RUST_LOG` says it: a level
/// (`info`), or levels by target (`herald::request=off,info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// How webhooks are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Allows endpoints on loopback, private and link-local addresses, which are refused
    /// by default so that a registered URL cannot reach into the network Herald runs in.
    pub allow_private: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: Place::Sqlite(PathBuf::from("herald.db")),
            policy: None,
            body_limit: 64 * 1024 * 1024,
            webhooks: WebhookConfig::default(),
            delivery: DeliveryConfig::default(),
            smtp: SmtpConfig::default(),
            nats: None,
            log: LogConfig::default(),
        }
    }
}

/// Settings given by the environment or flags; each one given wins over the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    pub db: Option<Place>,
    pub policy: Option<PathBuf>,
    pub body_limit: Option<usize>,
    /// The `[webhooks]` table.
    #[serde(default)]
    pub webhooks: WebhookSettings,
    /// The `[delivery]` table.
    #[serde(default)]
    pub delivery: DeliverySettings,
    /// The `[smtp]` table.
    #[serde(default)]
    pub smtp: SmtpSettings,
    /// The `[nats]` table.
    #[serde(default)]
    pub nats: NatsSettings,
    /// The `[log]` table.
    #[serde(default)]
    pub log: LogSettings,
}

/// Settings of the `[log]` table (`HERALD_LOG_FORMAT` and `HERALD_LOG` in the
/// environment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: Option<LogFormat>,
    pub level: Option<String>,
}

/// Settings of the `[webhooks]` table (`HERALD_WEBHOOKS_…` in the environment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub allow_private: Option<bool>,
}

impl Settings {
    /// These settings over `base`.
    fn over(self, base: Settings) -> Settings {
        Settings {
            listen: self.listen.or(base.listen),
            db: self.db.or(base.db),
            policy: self.policy.or(base.policy),
            body_limit: self.body_limit.or(base.body_limit),
            webhooks: WebhookSettings {
                allow_private: self.webhooks.allow_private.or(base.webhooks.allow_private),
            },
            delivery: self.delivery.over(base.delivery),
            smtp: self.smtp.over(base.smtp),
            nats: self.nats.over(base.nats),
            log: LogSettings {
                format: self.log.format.or(base.log.format),
                level: self.log.level.or(base.log.level),
            },
        }
    }
}

impl ServeConfig {
    /// The configuration from `file` (when given) overridden by `given` (the environment
    /// and flags, already merged).
    pub fn load(file: Option<&Path>, given: Settings) -> Result<ServeConfig, String> {
        let from_file = match file {
            None => Settings::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("could not read the configuration {}: {e}", path.display())
                })?;
                toml::from_str(&text)
                    .map_err(|e| format!("the configuration {} is invalid: {e}", path.display()))?
            }
        };
        let settings = given.over(from_file);
        let defaults = ServeConfig::default();
        Ok(ServeConfig {
            listen: settings.listen.unwrap_or(defaults.listen),
            db: settings.db.unwrap_or(defaults.db),
            policy: settings.policy,
            body_limit: settings.body_limit.unwrap_or(defaults.body_limit),
            webhooks: WebhookConfig {
                allow_private: settings
                    .webhooks
                    .allow_private
                    .unwrap_or(defaults.webhooks.allow_private),
            },
            delivery: settings.delivery.resolve()?,
            smtp: settings.smtp.resolve(),
            nats: settings.nats.resolve()?,
            log: LogConfig {
                format: settings.log.format.unwrap_or(defaults.log.format),
                level: settings.log.level.unwrap_or(defaults.log.level),
            },
        })
    }
}
