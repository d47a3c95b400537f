//! The intake's settings, the `[nats]` table: where the bus is, which stream and consumer
//! it reads, and how many requests are in hand at once. As the worker's tables, it is read
//! as settings, every one optional, laid over one another (a file, then `HERALD_NATS_…`
//! variables and flags), and then resolved against the defaults.

use std::time::Duration;

use serde::Deserialize;

/// How the intake reads the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatsConfig {
    /// The NATS server, `nats://host:port` (several separated by commas: a cluster).
    pub url: String,
    /// The first token of every subject: requests arrive on `<prefix>.publish.<cloud>`,
    /// and are announced on `<prefix>.published.<cloud>` and `<prefix>.rejected.<cloud>`.
    pub prefix: String,
    /// The JetStream stream holding the requests, made when missing.
    pub stream: String,
    /// The durable consumer every intake process shares, each taking its own requests.
    pub consumer: String,
    /// The most requests one process has in hand at once.
    pub in_flight: usize,
    /// How long a request may go unacknowledged (while its process says nothing) before the
    /// bus hands it to another process: it bounds how long a dead process holds requests.
    pub ack_wait: Duration,
}

impl NatsConfig {
    /// The defaults with the server at `url`.
    pub fn new(url: impl Into<String>) -> NatsConfig {
        NatsConfig {
            url: url.into(),
            prefix: "herald".into(),
            stream: "HERALD".into(),
            consumer: "herald-intake".into(),
            in_flight: 32,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// Settings of the `[nats]` table (`HERALD_NATS_…` in the environment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// [`NatsConfig::url`]; none, or empty, for no bus.
    pub url: Option<String>,
    /// [`NatsConfig::prefix`].
    pub prefix: Option<String>,
    /// [`NatsConfig::stream`].
    pub stream: Option<String>,
    /// [`NatsConfig::consumer`].
    pub consumer: Option<String>,
    /// [`NatsConfig::in_flight`].
    pub in_flight: Option<usize>,
    /// [`NatsConfig::ack_wait`], in seconds.
    pub ack_wait_seconds: Option<u64>,
}

impl NatsSettings {
    /// These settings over `base`: each one given here wins.
    pub fn over(self, base: NatsSettings) -> NatsSettings {
        NatsSettings {
            url: self.url.or(base.url),
            prefix: self.prefix.or(base.prefix),
            stream: self.stream.or(base.stream),
            consumer: self.consumer.or(base.consumer),
            in_flight: self.in_flight.or(base.in_flight),
            ack_wait_seconds: self.ack_wait_seconds.or(base.ack_wait_seconds),
        }
    }

    /// The configuration these settings make, the defaults filling what none gave, or a
    /// sentence naming the setting that is wrong. Without a URL (or with an empty one)
    /// there is no bus, and `None`.
    pub fn resolve(self) -> Result<Option<NatsConfig>, String> {
        let Some(url) = self.url.filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let defaults = NatsConfig::new(url);
        Ok(Some(NatsConfig {
            prefix: name("prefix", self.prefix, defaults.prefix)?,
            stream: name("stream", self.stream, defaults.stream)?,
            consumer: name("consumer", self.consumer, defaults.consumer)?,
            in_flight: match self.in_flight {
                Some(0) => return Err("the nats in_flight must be at least 1".into()),
                Some(n) => n,
                None => defaults.in_flight,
            },
            ack_wait: match self.ack_wait_seconds {
                Some(0) => return Err("the nats ack_wait_seconds must be at least 1".into()),
                Some(seconds) => Duration::from_secs(seconds),
                None => defaults.ack_wait,
            },
            url: defaults.url,
        }))
    }
}

/// The setting `what` as given, or `default`: a name that is a subject token and a
/// JetStream name alike, letters, digits, `-` and `_` only.
fn name(what: &str, given: Option<String>, default: String) -> Result<String, String> {
    match given {
        None => Ok(default),
        Some(v)
            if !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(v)
        }
        Some(v) => Err(format!(
            "the nats {what} {v:?} must be letters, digits, `-` and `_` only (it names a subject token or a JetStream name)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_url_there_is_no_bus() {
        assert_eq!(NatsSettings::default().resolve(), Ok(None));
        let empty = NatsSettings {
            url: Some(String::new()),
            ..NatsSettings::default()
        };
        assert_eq!(empty.resolve(), Ok(None));
    }

    #[test]
    fn settings_given_win_over_the_file_and_the_defaults_fill_the_rest() {
        let file = NatsSettings {
            url: Some("nats://bus:4222".into()),
            stream: Some("FROM_FILE".into()),
            in_flight: Some(8),
            ..NatsSettings::default()
        };
        let given = NatsSettings {
            stream: Some("GIVEN".into()),
            ack_wait_seconds: Some(5),
            ..NatsSettings::default()
        };
        let config = given.over(file).resolve().unwrap().unwrap();
        assert_eq!(
            config,
            NatsConfig {
                url: "nats://bus:4222".into(),
                prefix: "herald".into(),
                stream: "GIVEN".into(),
                consumer: "herald-intake".into(),
                in_flight: 8,
                ack_wait: Duration::from_secs(5),
            }
        );
    }

    #[test]
    fn a_wrong_setting_is_named() {
        let with = |settings: NatsSettings| {
            NatsSettings {
                url: Some("nats://bus".into()),
                ..settings
            }
            .resolve()
            .unwrap_err()
        };
        assert!(with(NatsSettings {
            prefix: Some("a.b".into()),
            ..NatsSettings::default()
        })
        .contains("prefix \"a.b\""));
        assert!(with(NatsSettings {
            in_flight: Some(0),
            ..NatsSettings::default()
        })
        .contains("in_flight"));
        assert!(with(NatsSettings {
            ack_wait_seconds: Some(0),
            ..NatsSettings::default()
        })
        .contains("ack_wait_seconds"));
    }
}
