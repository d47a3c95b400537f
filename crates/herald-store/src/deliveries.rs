//! Deliveries after they are queued: leasing them to workers, recording every attempt,
//! retrying on a schedule and ending in a dead letter a person may replay.

use serde::Serialize;

/// How one attempt at a delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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

/// One attempt at a delivery, as a channel reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
