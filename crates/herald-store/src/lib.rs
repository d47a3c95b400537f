//! Herald's durable store: the directory, accepted messages, their decisions and copies,
//! and the deliveries workers will send, in one SQLite file (WAL, synchronous commits) or
//! in a PostgreSQL database any number of processes share (`engine`).
//!
//! Two promises hold here. **Accepted means durably enqueued**: a message, its decisions,
//! its copies and its deliveries are written in one transaction, or nothing is. **Bad input
//! changes nothing**: a directory import replaces the whole directory in one transaction,
//! a record change writes its one row in one transaction, and callers validate before
//! they write. Each engine's schema lives in `migrations/`, embedded
//! and applied on open (`schema`); a store a newer Herald wrote is refused, unchanged.

mod attempts;
mod audit;
mod copies;
mod copy;
mod deliveries;
mod directory;
mod endpoints;
mod engine;
mod error;
mod files;
mod inbox;
mod json;
mod keys;
mod kinds;
mod messages;
mod place;
mod postgres;
mod principal;
mod publish;
mod reads;
mod records;
mod rows;
mod schema;
pub mod scratch;
mod sessions;
mod sqlite;
mod store;
mod subscribers;
mod threads;

pub use attempts::{Attempt, Next, Outcome as AttemptOutcome, Settled};
pub use audit::{Action, Actor, AuditEntry, AuditPage};
pub use copies::{
    Brief, Content, CustomerView, DecisionView, MessageSummary, MessageView, PartnerCopyView,
    PartnerView, VendorView,
};
pub use copy::{copy, CopyError, CopySummary};
pub use deliveries::{
    delivery_id, delivery_place, CopyNames, DeliveryDetail, DeliveryView, LeasedBatch, LeasedRetry,
    Replayed, Sending, Target, Troubled,
};
pub use directory::{ImportSummary, Snapshot};
pub use endpoints::{Endpoint, Mode, NewEndpoint, DEFAULT_OVERLAP_MS, GONE_REASON};
pub use engine::{Durability, Engine, Pool};
pub use error::StoreError;
pub use inbox::{InboxItem, InboxPage, Reader};
pub use keys::{KeyFor, KeyInfo, NewKey};
pub use messages::MessageDetail;
pub use place::Place;
pub use principal::{Principal, EVERY_CLOUD};
pub use publish::Published;
pub use reads::{Audience, ChannelCounts, DecisionPage, Filter, Page};
pub use records::Change;
pub use rows::{
    DecisionBatch, DecisionEntry, DeliveryBatch, DeliveryEntry, MessageRow, PartnerCopies,
    PartnerCopyRow, Publish, Recipient, Rows, BATCH,
};
pub use schema::Schema;
pub use sessions::{NewSession, Session};
pub use store::{Counts, Listening, Store};
pub use subscribers::WebhookEntry;
pub use threads::{PartnerNotice, ThreadHead, ThreadSummary};
