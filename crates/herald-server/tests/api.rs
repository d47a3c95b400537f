//! Herald's HTTP API from the outside: a real server on a free port over a real SQLite
//! file, spoken to over HTTP with keys made by the store.
//!
//! - `boundaries`: refusals that name only what the caller may know, answers from the
//!   directory as it is now, the catalog changed only by a key for every cloud, and keys
//!   that die with their organisation.
//! - `conformance`: the public routing cases through the API.
//! - `audit`: the audit log, each vendor its own cloud's, naming the key behind each
//!   change, newest first a page at a time.
//! - `authorization`: every endpoint against every kind of caller, with the status each
//!   must get and no other organisation's ids in any answer.
//! - `idempotency`: the same message posted twice at once is one message; message ids
//!   are each cloud's own.
//! - `inbox`: a partner's and a customer's inbox, newest first, with what is unread.
//! - `threads`: incident threads, their timelines and a partner's open incidents.
//! - `records`: the directory one record or contact at a time, checked by every rule of a
//!   valid directory, within the key's cloud, and routed by at once.
//! - `deliveries`: deliveries after a worker tried them, each principal seeing and
//!   replaying only its own.
//! - `errors`: malformed requests, oversized bodies and unknown paths as problem+json.
//! - `limits`: a directory missing a list, ids, emails, titles, bodies and webhook
//!   descriptions that break their rules, refused naming the field, storing nothing.
//! - `endpoints`: webhook endpoints, each owner's own, their secrets shown once, refused
//!   with the field named, and test events verified by a receiver Herald did not write
//!   (the delivery tests' Python receiver, `herald-delivery/tests/support/`).

#[path = "api/audit.rs"]
mod audit;
#[path = "api/authorization.rs"]
mod authorization;
#[path = "api/boundaries.rs"]
mod boundaries;
#[path = "api/common.rs"]
mod common;
#[path = "api/conformance.rs"]
mod conformance;
#[path = "api/deliveries.rs"]
mod deliveries;
#[path = "api/endpoints.rs"]
mod endpoints;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/idempotency.rs"]
mod idempotency;
#[path = "api/inbox.rs"]
mod inbox;
#[path = "api/limits.rs"]
mod limits;
#[path = "api/records.rs"]
mod records;
#[path = "../../herald-delivery/tests/support/mod.rs"]
mod support;
#[path = "api/threads.rs"]
mod threads;
#[path = "../../herald-delivery/tests/support/webhook_receiver.rs"]
mod webhook_receiver;
