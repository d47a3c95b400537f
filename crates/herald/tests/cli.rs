//! The `herald` binary, run as a user runs it: one integration test binary for the crate,
//! each test in its own scratch folder (the working directory, the database, the files it
//! writes), with one module per group of subcommands.
//!
//! - `route`: the conformance contract (`herald route --world W M`), arrays and NDJSON,
//!   invalid worlds and unreadable input.
//! - `store`: `import`, `publish`, `messages` and `show` over a real SQLite file, checked
//!   through `herald_store` as well as through the output.
//! - `migrate`: `herald migrate` applies what a store lacks once, and every command
//!   refuses, unchanged, a store a newer Herald wrote, on a SQLite file and on
//!   PostgreSQL (named by `--db` or `HERALD_DB`).
//! - `examples`: the samples the README's tour uses route, publish and are refused as it
//!   says.
//! - `explain`: why a customer or partner did or did not hear, as text and JSON.
//! - `manual`: `completions` for every shell and a man page per command.
//! - `policy`: `policy show` and `policy check`.
//! - `keys`: `keys create`, `list` and `revoke`: a token printed once, authenticating as
//!   whom it was made for until revoked; refusals that write nothing.
//! - `audit`: `herald audit` lists what the operator did at the command line (imports,
//!   keys made and revoked) newest first, as text and JSON lines, one cloud's or all.
//! - `serve`: the HTTP API with keys made by the CLI, settings from a file, and a clean
//!   stop on SIGTERM.
//! - `processes`: two `herald serve` on one database file, writing at the same moment:
//!   every accepted change kept, and each answering from the directory as it is now.
//! - `work`: `herald work` delivering to a receiver that verifies signatures with the PyPI
//!   `standardwebhooks` package: a worker killed mid-fan-out loses nothing, failures are
//!   tried again on the schedule, a 410 disables its endpoint, an address inside the
//!   network is refused at send time and a replay sends it once allowed.
//! - `listen`: `herald listen` prints an event Herald's signer signed (readably, or as a
//!   JSON line) and the one `herald work` sends an endpoint registered at it, refuses a
//!   badly signed one with 401, listens on loopback only and stops cleanly on SIGTERM.
//! - `terminal`: ids and text from data are printed escaped, whatever the database holds,
//!   and `herald … | head -1` ends quietly.
//! - `copy`: `herald copy` moves a demo store from SQLite to PostgreSQL and back with
//!   nothing lost, and refuses, unchanged, a target that holds data.
//! - `consume`: `herald consume` reads publish requests from NATS JetStream: two
//!   consumers, one SIGKILLed mid-stream, store each request once and announce every one,
//!   accepted or refused with its reason; a request sent again changes nothing.
//! - `demo`: the whole job on a generated directory, and its refusal to reuse a database.
//! - `bench`: `bench route`, `bench publish`, `bench api` and `bench deliver` print their
//!   figures as JSON (no timing is asserted).
//!
//! A crate root resolves `mod x;` next to itself, hence the `#[path]`s into `cli/`.

#[path = "cli/audit.rs"]
mod audit;
#[path = "cli/bench.rs"]
mod bench;
#[path = "cli/common.rs"]
mod common;
#[path = "cli/consume.rs"]
mod consume;
#[path = "cli/copy.rs"]
mod copy;
#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/examples.rs"]
mod examples;
#[path = "cli/explain.rs"]
mod explain;
#[path = "cli/keys.rs"]
mod keys;
#[path = "cli/listen.rs"]
mod listen;
#[path = "cli/manual.rs"]
mod manual;
#[path = "cli/migrate.rs"]
mod migrate;
#[path = "cli/policy.rs"]
mod policy;
#[path = "cli/processes.rs"]
mod processes;
#[path = "cli/route.rs"]
mod route;
#[path = "cli/serve.rs"]
mod serve;
#[path = "../../herald-delivery/tests/support/smtp_server.rs"]
mod smtp_server;
#[path = "cli/store.rs"]
mod store;
#[path = "../../herald-delivery/tests/support/mod.rs"]
mod support;
#[path = "cli/terminal.rs"]
mod terminal;
#[path = "../../herald-delivery/tests/support/webhook_receiver.rs"]
mod webhook_receiver;
#[path = "cli/work.rs"]
mod work;
