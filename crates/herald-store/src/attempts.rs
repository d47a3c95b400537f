//! An attempt at a delivery as a channel reports it, and what it leads to: the rows of
//! `delivery_attempts` each engine writes in bulk.

use serde::Serialize;

/// How one attempt at a delivery ended: the `outcome` column of `delivery_attempts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// The receiver took it.
    Delivered,
    /// It did not arrive this time; it is tried again on the schedule.
    Failed,
    /// The receiver answered 410 Gone: its endpoint is disabled and the delivery is dead.
    Gone,
    /// It cannot succeed (an address Herald will not send to, a permanent SMTP refusal):
    /// it is dead at once.
    Refused,
}

impl Outcome {
    /// The name stored in `delivery_attempts.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::Gone => "gone",
            Outcome::Refused => "refused",
        }
    }
}

/// One attempt at a delivery, as a channel reports it and a `delivery_attempts` row holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    /// When it started, in Unix milliseconds.
    pub at: i64,
    /// How long it took, in microseconds.
    pub latency_us: i64,
    pub outcome: Outcome,
    /// The HTTP status or SMTP reply code, when the receiver answered.
    pub code: Option<i64>,
    /// The SMTP reply text, or the start of an HTTP answer's body.
    pub reply: Option<String>,
    /// What went wrong, in words, when it did.
    pub error: Option<String>,
}

/// What becomes of a delivery after an attempt: the worker decides from the outcome and
/// its retry schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// It arrived; nothing more to do.
    Delivered,
    /// Try again at this time (Unix milliseconds).
    RetryAt(i64),
    /// No more attempts: a dead letter, until a person replays it.
    Dead,
}

/// An attempt to record, and what it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    pub delivery: i64,
    pub batch: i64,
    /// The attempt's number: 1 for the first.
    pub number: i64,
    pub attempt: Attempt,
    pub next: Next,
    /// An endpoint to disable, and why: its receiver answered 410 Gone.
    pub disable: Option<(String, String)>,
}
