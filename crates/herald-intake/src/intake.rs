//! The loop: requests pulled from the shared consumer, each published, announced and then
//! acknowledged, a few at once, until asked to stop.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, consumer, stream, AckKind};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use herald_domain::wire;
use herald_service::{Outcome, Refusal, Service, ServiceError};
use herald_store::{Actor, MessageSummary};
use serde::Serialize;
use serde_json::Value;

use crate::{Bus, IntakeError, NatsConfig, Subjects};

/// How long a request whose publish failed in the store waits before it is handed out
/// again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// A request refused for good, as announced on `<prefix>.rejected.<cloud>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Rejection {
    /// The subject the request came on.
    pub subject: String,
    /// The message id, when the request had one.
    pub id: Option<String>,
    /// Why, as the API's problem types name it: `malformed-request`, `forbidden`,
    /// `invalid-message` or `message-id-conflict`.
    pub kind: String,
    /// What is wrong, in words a person can act on.
    pub reason: String,
}

/// What an intake did, counted as it went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Messages newly accepted.
    pub accepted: u64,
    /// Requests for a message already accepted, answered with its summary again.
    pub repeated: u64,
    /// Requests refused for good.
    pub rejected: u64,
    /// Requests handed back to be tried again: the store failed, or the bus did not take
    /// their announcement.
    pub retried: u64,
}

/// The counters behind a [`Tally`], shared by the requests in hand.
#[derive(Default)]
struct Counts {
    accepted: AtomicU64,
    repeated: AtomicU64,
    rejected: AtomicU64,
    retried: AtomicU64,
}

impl Counts {
    fn tally(&self) -> Tally {
        Tally {
            accepted: self.accepted.load(Ordering::Relaxed),
            repeated: self.repeated.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }
}

/// An intake connected to the bus, its stream and its consumer ready.
pub struct Intake {
    client: async_nats::Client,
    consumer: consumer::PullConsumer,
    service: Service,
    config: NatsConfig,
    subjects: Subjects,
    /// The consumer's own ack wait: the one it was made with, whichever process made it.
    ack_wait: Duration,
    /// Whether [`Intake::run`] is taking requests, for [`Bus::ready`].
    running: Arc<AtomicBool>,
}

/// Why a call to JetStream failed, as an [`IntakeError`] naming what was asked.
fn refused(what: String, why: impl std::fmt::Display) -> IntakeError {
    IntakeError::JetStream {
        what,
        why: why.to_string(),
    }
}

impl Intake {
    /// Connects to the bus `config` names, makes the stream and the shared consumer when
    /// they are missing, and publishes what it reads through `service`.
    pub async fn connect(config: &NatsConfig, service: Service) -> Result<Intake, IntakeError> {
        let client = async_nats::ConnectOptions::new()
            .name("herald intake")
            .connect(config.url.as_str())
            .await
            .map_err(|e| IntakeError::Connect {
                url: config.url.clone(),
                why: e.to_string(),
            })?;
        let subjects = Subjects::new(&config.prefix);
        let jetstream = jetstream::new(client.clone());
        let stream = jetstream
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                description: Some("Publish requests for Herald, taken by `herald consume`".into()),
                subjects: vec![subjects.every_publish()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                ..stream::Config::default()
            })
            .await
            .map_err(|e| refused(format!("the stream {}", config.stream), e))?;
        let mut consumer = stream
            .get_or_create_consumer(
                &config.consumer,
                consumer::pull::Config {
                    durable_name: Some(config.consumer.clone()),
                    description: Some(
                        "Every herald intake process, each taking its own requests".into(),
                    ),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: config.ack_wait,
                    max_deliver: -1,
                    filter_subject: subjects.every_publish(),
                    ..consumer::pull::Config::default()
                },
            )
            .await
            .map_err(|e| refused(format!("the consumer {}", config.consumer), e))?;
        // A consumer another process made keeps the ack wait it was made with.
        let ack_wait = consumer
            .info()
            .await
            .map_err(|e| refused(format!("the consumer {}", config.consumer), e))?
            .config
            .ack_wait;
        if ack_wait != config.ack_wait {
            tracing::warn!(
                "the consumer {} was made with an ack wait of {}s, not the {}s configured here; it keeps its own",
                config.consumer,
                ack_wait.as_secs(),
                config.ack_wait.as_secs()
            );
        }
        Ok(Intake {
            client,
            consumer,
            service,
            config: config.clone(),
            subjects,
            ack_wait,
            running: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A handle saying whether the bus answers and this intake takes requests.
    pub fn bus(&self) -> Bus {
        Bus {
            client: self.client.clone(),
            running: Arc::clone(&self.running),
        }
    }

    /// Takes requests until `stop` completes, then finishes those in hand, sends what is
    /// owed to the bus and answers what it did. Requests fetched but not begun go to
    /// another process once their ack wait ends. Reading that ends before `stop` is an
    /// error: the process should not go on as if it read the bus.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<Tally, IntakeError> {
        let messages = self
            .consumer
            .stream()
            .max_messages_per_batch(self.config.in_flight)
            .messages()
            .await
            .map_err(|e| refused(format!("reading the consumer {}", self.config.consumer), e))?;
        let counts = Counts::default();
        let stopped = AtomicBool::new(false);
        self.running.store(true, Ordering::Relaxed);
        messages
            .take_until(async {
                stop.await;
                stopped.store(true, Ordering::Relaxed);
            })
            .for_each_concurrent(self.config.in_flight, |message| async {
                match message {
                    Ok(message) => self.take(message, &counts).await,
                    Err(e) => tracing::warn!("reading the bus: {e}; reading on"),
                }
            })
            .await;
        self.running.store(false, Ordering::Relaxed);
        if let Err(e) = self.client.flush().await {
            tracing::warn!("the last acknowledgements may not have reached the bus ({e}); their requests are handed out again and change nothing");
        }
        if !stopped.load(Ordering::Relaxed) {
            return Err(refused(
                format!("reading the consumer {}", self.config.consumer),
                "the bus ended the stream of requests",
            ));
        }
        Ok(counts.tally())
    }

    /// Publishes one request, announces what became of it and acknowledges it; a failure
    /// of the store, or an announcement the bus did not take, hands it back to be tried
    /// again.
    async fn take(&self, message: jetstream::Message, counts: &Counts) {
        let subject = message.subject.to_string();
        let (cloud, summary, replayed) = match self.settle(&message, &subject).await {
            Settled::Published {
                cloud,
                summary,
                replayed,
            } => (cloud, summary, replayed),
            Settled::Refused { cloud, refused } => {
                self.reject(&message, &subject, &cloud, refused, counts)
                    .await;
                return;
            }
            Settled::Failed => {
                hand_back(&message, counts).await;
                return;
            }
        };
        let id = summary.id.as_str();
        if let Err(e) = self.announce(&cloud, &summary, replayed).await {
            tracing::warn!(subject, id, "could not announce the message ({e})");
            hand_back(&message, counts).await;
            return;
        }
        let count = if replayed {
            &counts.repeated
        } else {
            &counts.accepted
        };
        count.fetch_add(1, Ordering::Relaxed);
        // Sent after the announcement on the same connection, so the bus never has the
        // acknowledgement without it.
        if let Err(e) = message.ack().await {
            tracing::warn!(
                subject,
                id,
                "could not acknowledge ({e}); it is handed out again and changes nothing"
            );
        }
    }

    /// What publishing the request `message` (on `subject`) came to.
    async fn settle(&self, message: &jetstream::Message, subject: &str) -> Settled {
        let Some(cloud) = self.subjects.cloud_of(subject).map(str::to_owned) else {
            // The consumer's filter lets no other subject through.
            let reason = format!("the subject {subject} names no cloud");
            return Settled::refused("?".into(), "malformed-request", None, reason);
        };
        let wire = match request(&message.payload) {
            Ok(wire) => wire,
            Err((id, reason)) => {
                return Settled::refused(cloud, "malformed-request", id, reason);
            }
        };
        let id = wire.id.as_str().to_owned();
        let actor = Actor::Bus {
            cloud: cloud.clone(),
            subject: subject.to_owned(),
        };
        let publishing = self.service.publish_in(&cloud, wire, now(), &actor);
        match self.in_progress(message, publishing).await {
            Ok(Outcome::Accepted(summary)) => Settled::Published {
                cloud,
                summary,
                replayed: false,
            },
            Ok(Outcome::Repeated(summary)) => Settled::Published {
                cloud,
                summary,
                replayed: true,
            },
            Ok(Outcome::Conflict(id)) => {
                let reason = Outcome::conflict_reason(&id);
                Settled::refused(cloud, "message-id-conflict", Some(id), reason)
            }
            Ok(Outcome::Invalid(reason)) => {
                Settled::refused(cloud, "invalid-message", Some(id), reason)
            }
            Err(ServiceError::Refused(refusal)) => {
                let kind = match refusal {
                    Refusal::Forbidden(_) => "forbidden",
                    Refusal::InvalidMessage(_) => "invalid-message",
                    _ => "malformed-request",
                };
                Settled::refused(cloud, kind, Some(id), refusal.detail().to_owned())
            }
            Err(e) => {
                tracing::error!(subject, id, "could not publish ({e})");
                Settled::Failed
            }
        }
    }

    /// Awaits `work` on `message`'s behalf, telling the bus every third of the ack wait
    /// that it is still in hand, so that a long publish (a million customers) is not handed
    /// to another process meanwhile.
    async fn in_progress<T>(
        &self,
        message: &jetstream::Message,
        work: impl Future<Output = T>,
    ) -> T {
        let mut work = std::pin::pin!(work);
        let mut every = tokio::time::interval(self.ack_wait / 3);
        every.tick().await;
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = every.tick() => {
                    if let Err(e) = message.ack_with(AckKind::Progress).await {
                        tracing::warn!(subject = %message.subject, "could not say the request is in hand ({e})");
                    }
                }
            }
        }
    }

    /// Announces an accepted message's summary on `<prefix>.published.<cloud>`, with the
    /// header `Nats-Msg-Id` (so a stream capturing announcements keeps one) and, for a
    /// request already accepted, `Idempotent-Replayed: true`, as the API answers it.
    async fn announce(
        &self,
        cloud: &str,
        summary: &MessageSummary,
        replayed: bool,
    ) -> Result<(), async_nats::client::PublishError> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{cloud}/{}", summary.id).as_str());
        if replayed {
            headers.insert("Idempotent-Replayed", "true");
        }
        let body = serde_json::to_vec(summary).expect("a summary serialises");
        self.client
            .publish_with_headers(self.subjects.published(cloud), headers, body.into())
            .await
    }

    /// Announces why a request is refused on `<prefix>.rejected.<cloud>`, then terminates
    /// it: the bus never hands it out again. When the announcement cannot be sent, the
    /// request is handed back instead, to be refused (and announced) again.
    async fn reject(
        &self,
        message: &jetstream::Message,
        subject: &str,
        cloud: &str,
        refused: Refused,
        counts: &Counts,
    ) {
        tracing::info!(subject, id = refused.id, "refused: {}", refused.reason);
        let rejection = Rejection {
            subject: subject.to_owned(),
            id: refused.id,
            kind: refused.kind.to_owned(),
            reason: refused.reason,
        };
        let body = serde_json::to_vec(&rejection).expect("a rejection serialises");
        if let Err(e) = self
            .client
            .publish(self.subjects.rejected(cloud), body.into())
            .await
        {
            tracing::warn!(subject, "could not announce the refusal ({e})");
            hand_back(message, counts).await;
            return;
        }
        counts.rejected.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = message.ack_with(AckKind::Term).await {
            tracing::warn!(
                subject,
                "could not terminate the request ({e}); it is handed out again and refused again"
            );
        }
    }
}

/// What publishing a request came to.
enum Settled {
    /// Stored now (`replayed` false) or before, with its summary, in `cloud`.
    Published {
        cloud: String,
        summary: MessageSummary,
        replayed: bool,
    },
    /// Refused for good, to be announced on `cloud`'s subject.
    Refused { cloud: String, refused: Refused },
    /// The store failed: to be tried again.
    Failed,
}

impl Settled {
    fn refused(cloud: String, kind: &'static str, id: Option<String>, reason: String) -> Settled {
        Settled::Refused {
            cloud,
            refused: Refused { kind, id, reason },
        }
    }
}

/// Why a request is refused: the API's problem kind, its message id when it had one, and
/// what is wrong.
struct Refused {
    kind: &'static str,
    id: Option<String>,
    reason: String,
}

/// Hands `message` back to the bus, to be tried again after [`RETRY_AFTER`].
async fn hand_back(message: &jetstream::Message, counts: &Counts) {
    tracing::info!(subject = %message.subject, "handing the request back, to be tried again in {}s", RETRY_AFTER.as_secs());
    if let Err(e) = message.ack_with(AckKind::Nak(Some(RETRY_AFTER))).await {
        tracing::warn!(subject = %message.subject, "could not hand it back ({e}); the bus hands it out again once its ack wait ends");
    }
    counts.retried.fetch_add(1, Ordering::Relaxed);
}

/// A request's body as a message, or its id (when it has one) and what is wrong with it.
/// As the API's body, it must be a JSON object: serde would read an array as a message's
/// fields in order.
fn request(payload: &[u8]) -> Result<wire::Message, (Option<String>, String)> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| (None, format!("the request is not JSON: {e}")))?;
    if !value.is_object() {
        return Err((None, "the request must be a JSON object".into()));
    }
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    serde_json::from_value(value)
        .map_err(|e| (id, format!("the request is not the expected shape: {e}")))
}

/// Now, in Unix milliseconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
