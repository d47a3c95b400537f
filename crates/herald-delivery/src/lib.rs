//! Herald's delivery: workers lease the deliveries a publish queued, send each through its
//! channel (email over SMTP, webhooks signed per the Standard Webhooks specification),
//! record every attempt, retry on a schedule and end in a dead letter. The inbox channel
//! needs no worker: a publish writes the copies the API serves in its own transaction.

pub mod config;
pub mod email;
pub mod events;
pub mod guard;
mod recent;
pub mod schedule;
pub mod signing;
pub mod webhook;
pub mod worker;

pub use guard::{check_url, Guard, GuardError};
pub use schedule::Schedule;
pub use signing::{signature_header, Secret, SecretError, VerifyError};
pub use webhook::{Sender, SenderConfig, SenderError, Target};
pub use worker::{run, run_until, Channels, Progress, Tally, WorkError, WorkerConfig};
