//! Herald's intake from a message bus: the vendor's own systems (monitoring, status
//! tooling, CRM) publish through NATS JetStream rather than the HTTP API.
//!
//! A request is the JSON body of `POST /v1/messages`, published on
//! `<prefix>.publish.<cloud>` (by default `herald.publish.<cloud>`); the subject's cloud is
//! the vendor's, and who may publish on it is set on the bus, which is the credential. The
//! stream holding the requests is made when missing, and every intake process reads it
//! through one durable consumer, each taking requests the others do not (a queue group).
//!
//! Each request is published through [`herald_service::Service::publish_in`], as the API
//! would, and acknowledged only after its commit: a process that dies leaves its requests
//! to another once their ack wait ends. The message id stays the idempotency key, so a
//! request handed out again changes nothing. Every accepted message's audience summary
//! (the API's `201` body) is announced on `<prefix>.published.<cloud>`, and a request that
//! can never be accepted (not a message, invalid, an id taken by another message, another
//! cloud) is terminated and its reason announced on `<prefix>.rejected.<cloud>`; an
//! announcement goes out before its request is acknowledged, so every one is announced at
//! least once. A failure of the store is not the request's fault: it is handed out again.

pub mod config;
mod intake;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use config::{NatsConfig, NatsSettings};
pub use intake::{Intake, Rejection, Tally};

/// A failure of the bus: it cannot be reached, refuses the stream or consumer, or ends
/// the stream of requests.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The server at `url` could not be reached.
    #[error("could not connect to the NATS server at {url}: {why}")]
    Connect { url: String, why: String },
    /// JetStream refused what was asked (`what`), for the reason given.
    #[error("NATS JetStream refused {what}: {why}")]
    JetStream { what: String, why: String },
}

/// The subjects of one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// The subjects whose first token is `prefix`.
    pub fn new(prefix: &str) -> Subjects {
        Subjects {
            prefix: prefix.to_owned(),
        }
    }

    /// Where requests to publish in `cloud` arrive.
    pub fn publish(&self, cloud: &str) -> String {
        format!("{}.publish.{cloud}", self.prefix)
    }

    /// Every cloud's requests: the stream's subjects and the consumer's filter.
    pub fn every_publish(&self) -> String {
        format!("{}.publish.>", self.prefix)
    }

    /// Where accepted messages of `cloud` are announced.
    pub fn published(&self, cloud: &str) -> String {
        format!("{}.published.{cloud}", self.prefix)
    }

    /// Where refused requests for `cloud` are announced.
    pub fn rejected(&self, cloud: &str) -> String {
        format!("{}.rejected.{cloud}", self.prefix)
    }

    /// The cloud a request's `subject` publishes in.
    pub fn cloud_of<'s>(&self, subject: &'s str) -> Option<&'s str> {
        subject
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(".publish.")
            .filter(|cloud| !cloud.is_empty())
    }
}

/// Whether the intake takes requests, for a readiness check: a handle on its connection
/// and on whether it is reading.
#[derive(Clone, Debug)]
pub struct Bus {
    pub(crate) client: async_nats::Client,
    pub(crate) running: Arc<AtomicBool>,
}

impl Bus {
    /// `Ok` while connected to the NATS server and reading; otherwise what is wrong.
    pub fn ready(&self) -> Result<(), String> {
        if !self.running.load(Ordering::Relaxed) {
            return Err("the intake is not reading the bus".into());
        }
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            async_nats::connection::State::Pending => Err("connecting to NATS".into()),
            async_nats::connection::State::Disconnected => {
                Err("disconnected from NATS, reconnecting".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Subjects;

    #[test]
    fn a_request_s_cloud_is_the_subject_after_its_prefix() {
        let subjects = Subjects::new("herald");
        assert_eq!(subjects.publish("global"), "herald.publish.global");
        assert_eq!(subjects.cloud_of("herald.publish.global"), Some("global"));
        assert_eq!(subjects.cloud_of("herald.publish.eu.west"), Some("eu.west"));
        assert_eq!(subjects.cloud_of("herald.publish."), None);
        assert_eq!(subjects.cloud_of("heraldx.publish.global"), None);
        assert_eq!(subjects.cloud_of("herald.published.global"), None);
    }
}
