//! The webhook channel: one signed POST per event, over a pool of keep-alive connections.
//!
//! Each request carries `webhook-id`, `webhook-timestamp` and `webhook-signature` (one
//! `v1,` signature per secret the endpoint signs with, see [`crate::signing`]) and the
//! event as `application/json`. Redirects are not followed (a receiver could otherwise
//! point Herald anywhere), no proxy is taken from the environment (it would connect on
//! Herald's behalf, past the guard), connecting and the whole exchange are bounded in
//! time, and the [`Guard`] refuses inner addresses when the URL is an address and when its
//! name resolves. Every try becomes one [`Attempt`]: a 2xx answer is delivered, 410 Gone means
//! the receiver wants no more (its endpoint is disabled), anything else is tried again,
//! and a refused address cannot succeed.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_store::{Attempt, AttemptOutcome};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{redirect, StatusCode, Url};

use crate::guard::{Guard, GuardError};
use crate::signing::{signature_header, Secret};
use crate::worker::now_ms;

/// How much of a receiver's answer is kept with the attempt, in bytes.
const REPLY_BYTES: usize = 512;

/// How the sender connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderConfig {
    /// The longest wait for a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// The longest a whole attempt may take, from connecting to the end of the answer.
    pub timeout: Duration,
    /// Which addresses may be reached.
    pub guard: Guard,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            guard: Guard::default(),
        }
    }
}

/// Why the sender could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the webhook sender could not be made: {0}")]
pub struct SenderError(#[from] reqwest::Error);

/// Sends signed events; cloning it shares its connections.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    guard: Guard,
}

impl Sender {
    /// A sender as `config` says, its connections pooled and kept alive between events.
    pub fn new(config: SenderConfig) -> Result<Sender, SenderError> {
        let client = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .no_proxy()
            .dns_resolver(Arc::new(config.guard.resolver()))
            .user_agent(concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            client,
            guard: config.guard,
        })
    }

    /// The guard this sender connects under.
    pub fn guard(&self) -> Guard {
        self.guard
    }

    /// `url` as this sender may POST to it, or, in words, why it may not: it is not a
    /// URL, not `http` or `https`, or an address literal the guard refuses (a name is
    /// checked as it resolves, when connecting). Trying again cannot help either.
    pub fn target(&self, url: &str) -> Result<Target, String> {
        let parsed = Url::parse(url)
            .map_err(|e| format!("\"{url}\" is not a URL Herald can send to: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(GuardError::Scheme(parsed.into()).to_string());
        }
        self.guard
            .check_literal(&parsed)
            .map_err(|e| e.to_string())?;
        Ok(Target(parsed))
    }

    /// POSTs `body` to `url` as event `webhook_id` at `timestamp` (Unix seconds), signed
    /// with each of `secrets`, and reports how the attempt went.
    pub async fn send(
        &self,
        url: &str,
        secrets: &[Secret],
        webhook_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Attempt {
        match self.target(url) {
            Ok(target) => {
                self.send_to(&target, secrets, webhook_id, timestamp, body.to_vec())
                    .await
            }
            Err(reason) => refused(reason),
        }
    }

    /// [`Sender::send`] to a URL already made a [`Target`], as a worker does for many
    /// events to the same endpoint.
    pub async fn send_to(
        &self,
        target: &Target,
        secrets: &[Secret],
        webhook_id: &str,
        timestamp: i64,
        body: Vec<u8>,
    ) -> Attempt {
        let at = now_ms();
        let started = Instant::now();
        let (outcome, code, reply, error) = match self
            .exchange(target, secrets, webhook_id, timestamp, body)
            .await
        {
            Ok((status, reply)) => {
                let (outcome, error) = judge(status);
                (
                    outcome,
                    Some(i64::from(status.as_u16())),
                    Some(reply),
                    error,
                )
            }
            Err(Failure::Refused(e)) => (AttemptOutcome::Refused, None, None, Some(e)),
            Err(Failure::Failed(e)) => (AttemptOutcome::Failed, None, None, Some(e)),
        };
        Attempt {
            at,
            latency_us: started.elapsed().as_micros() as i64,
            outcome,
            code,
            reply,
            error,
        }
    }

    /// The request and its answer: the status and the start of the body.
    async fn exchange(
        &self,
        Target(url): &Target,
        secrets: &[Secret],
        webhook_id: &str,
        timestamp: i64,
        body: Vec<u8>,
    ) -> Result<(StatusCode, String), Failure> {
        let signature = signature_header(secrets, webhook_id, timestamp, &body);
        let mut response = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(Failure::of)?;
        let status = response.status();
        let mut reply = Vec::new();
        while reply.len() < REPLY_BYTES {
            match response.chunk().await.map_err(Failure::of)? {
                Some(chunk) => reply.extend_from_slice(&chunk),
                None => break,
            }
        }
        reply.truncate(REPLY_BYTES);
        Ok((status, String::from_utf8_lossy(&reply).into_owned()))
    }
}

/// A URL a [`Sender`] may POST to, made by [`Sender::target`]: parsed and checked once
/// for all the events sent to it.
#[derive(Clone, Debug)]
pub struct Target(Url);

/// An attempt that could not be made, for `reason`: trying again cannot help.
pub(crate) fn refused(reason: String) -> Attempt {
    Attempt {
        at: now_ms(),
        latency_us: 0,
        outcome: AttemptOutcome::Refused,
        code: None,
        reply: None,
        error: Some(reason),
    }
}

/// What an answer's status makes of the attempt, and the error to record beside it.
fn judge(status: StatusCode) -> (AttemptOutcome, Option<String>) {
    if status.is_success() {
        (AttemptOutcome::Delivered, None)
    } else if status == StatusCode::GONE {
        (
            AttemptOutcome::Gone,
            Some("the receiver answered 410 Gone: it wants no more events".to_owned()),
        )
    } else if status.is_redirection() {
        (
            AttemptOutcome::Failed,
            Some(format!(
                "the receiver answered {status}, a redirect, which Herald does not follow; register the URL it points to"
            )),
        )
    } else {
        (
            AttemptOutcome::Failed,
            Some(format!("the receiver answered {status}")),
        )
    }
}

/// An attempt that got no answer.
enum Failure {
    /// The guard refused the address: trying again cannot help.
    Refused(String),
    /// The network failed or the receiver was too slow: it may work next time.
    Failed(String),
}

impl Failure {
    /// What a request error means: the guard's refusal, found among its causes, or a
    /// failure worth trying again, in words.
    fn of(e: reqwest::Error) -> Failure {
        let mut cause = e.source();
        while let Some(inner) = cause {
            if let Some(refused) = inner.downcast_ref::<GuardError>() {
                return Failure::Refused(refused.to_string());
            }
            cause = inner.source();
        }
        if e.is_timeout() {
            return Failure::Failed("the receiver did not answer in time".to_owned());
        }
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        Failure::Failed(text)
    }
}
