//! Herald's store, tested against real SQLite files in temporary folders and, with
//! `HERALD_TEST_ENGINE=postgres`, against schemas of a real PostgreSQL database: one integration
//! test binary for the crate, with one module per promise of `herald_store`.
//!
//! - `import`: a directory import round-trips and replaces the previous directory whole.
//! - `publish`: a publish writes the message, its decisions, partner copies and deliveries
//!   in one transaction, or nothing; a repeat changes nothing; a different message under
//!   the same id is refused.
//! - `batches`: a large message is stored in batches exactly as the domain routed and
//!   planned it.
//! - `deliveries`: deliveries are leased in batches, every attempt recorded, a failed one
//!   retried alone and then dead, a batch whose lease ran out taken over with only what
//!   was not settled, a dead letter replayed; queued deliveries wake a worker in this
//!   process and, on PostgreSQL, in every other.
//! - `durability`: what was committed is there after the file is closed and reopened.
//! - `files`: the database and its log are readable by their owner only.
//! - `concurrency`: publishers racing on one message id yield exactly one acceptance.
//! - `records`: one record put or deleted reads back as the directory the change made;
//!   a change checked against an older directory, or losing a race, writes nothing.
//! - `inbox`: a customer's inbox is what its stored decisions say it heard, broadcasts
//!   included, also in a database whose messages were stored before inbox rows existed.
//! - `endpoints`: webhook endpoints are their owners' alone; a rotated secret signs
//!   beside its successor until the overlap ends; a publish finds the enabled endpoints
//!   of its cloud that want its category, through an index.
//! - `keys`: API keys act as the vendor of one cloud, one partner or one customer of the
//!   stored directory; a wrong secret, a malformed token, an unknown id or a revoked key
//!   acts as no one; the secret is never stored or listed.
//! - `sessions`: a console session acts as its key until it expires, is closed or the key
//!   is revoked; only the token's hash is stored.
//! - `audit`: every kind of write leaves one audit entry naming its actor, in the write's
//!   own transaction; a refused or repeated write leaves none; a cloud reads its own
//!   entries and those of every cloud, newest first, a page at a time.
//!
//! The data is the public conformance world and messages kept by `herald-domain`.
//! A crate root resolves `mod x;` next to itself, hence the `#[path]`s into `store/`.

#[path = "store/audit.rs"]
mod audit;
#[path = "store/batches.rs"]
mod batches;
#[path = "store/common.rs"]
mod common;
#[path = "store/concurrency.rs"]
mod concurrency;
#[path = "store/deliveries.rs"]
mod deliveries;
#[path = "store/durability.rs"]
mod durability;
#[path = "store/endpoints.rs"]
mod endpoints;
#[cfg(unix)]
#[path = "store/files.rs"]
mod files;
#[path = "store/import.rs"]
mod import;
#[path = "store/inbox.rs"]
mod inbox;
#[path = "store/keys.rs"]
mod keys;
#[path = "store/publish.rs"]
mod publish;
#[path = "store/records.rs"]
mod records;
#[path = "store/sessions.rs"]
mod sessions;
