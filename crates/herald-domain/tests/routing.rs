//! Herald's routing core, tested from the outside: one integration test binary for the
//! whole crate (one binary keeps link time down), with one module per part of POLICY.md.
//!
//! - `conformance`: the public conformance cases and every extra case file under
//!   `tests/data/cases/`, run as data (adding a case is adding a file).
//! - `consequences`: one test per "Consequences worth a test each" bullet.
//! - `directory`: one test per rule of "A valid directory".
//! - `docs`: every TOML and JSON example in `docs/` parses; whole policies as policies.
//! - `copies`: "What each copy may say" and "Who inside an organization" (contacts, locales).
//! - `limits`: a world missing a list, ids, emails, titles and bodies that break their
//!   rules, each refused naming the record or message and field.
//! - `policy`: the policy as data: round trip, refused policies, changed policies.
//! - `properties`: proptest invariants over random small worlds and messages.
//! - `explain`: explanations name the deciding subscriptions and rules.
//! - `threads`: incident threads, and updates that reach a thread's whole audience.
//!
//! A crate root resolves `mod x;` next to itself, hence the `#[path]`s into `routing/`.

#[path = "routing/common.rs"]
mod common;
#[path = "routing/conformance.rs"]
mod conformance;
#[path = "routing/consequences.rs"]
mod consequences;
#[path = "routing/copies.rs"]
mod copies;
#[path = "routing/directory.rs"]
mod directory;
#[path = "routing/docs.rs"]
mod docs;
#[path = "routing/explain.rs"]
mod explain;
#[path = "routing/limits.rs"]
mod limits;
#[path = "routing/policy.rs"]
mod policy;
#[path = "routing/properties.rs"]
mod properties;
#[path = "routing/threads.rs"]
mod threads;
