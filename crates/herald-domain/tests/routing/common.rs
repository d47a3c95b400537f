//! Helpers shared by the routing tests: loading test data, building directories and
//! messages from JSON, and reading a routing back as ids.

use std::path::PathBuf;

use herald_domain::plan::{partner_copies, PartnerCopy};
use herald_domain::report::{report, Report};
use herald_domain::{route, wire, Directory, Message, MessageError, Policy, Routing};
use serde_json::Value;

/// `tests/data/…` of this crate.
pub fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// The text of a file under `tests/data/`.
pub fn read_data(rel: &str) -> String {
    let path = data_path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Reads a world from JSON; panics (naming the problems) when it is not valid.
pub fn directory(world: Value) -> Directory {
    let world: wire::World = serde_json::from_value(world).expect("world JSON has the wire shape");
    Directory::build(world).unwrap_or_else(|e| panic!("{e}"))
}

/// The conformance world as a directory.
pub fn conformance_directory() -> Directory {
    let world: wire::World =
        serde_json::from_str(&read_data("conformance/world.json")).expect("world.json parses");
    Directory::build(world).unwrap_or_else(|e| panic!("{e}"))
}

/// One conformance message by id, as published.
pub fn conformance_wire(id: &str) -> wire::Message {
    let batch = wire::Message::batch_from_str(&read_data("conformance/messages.json"))
        .expect("messages.json is a batch");
    batch
        .into_iter()
        .map(|m| m.expect("every conformance message has the wire shape"))
        .find(|m| m.id.as_str() == id)
        .unwrap_or_else(|| panic!("no conformance message {id}"))
}

/// One conformance message by id, checked against the default policy.
pub fn conformance_message(dir: &Directory, id: &str) -> Message {
    Message::parse(conformance_wire(id), &Policy::default_policy(), dir)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Checks a message given as JSON against `policy`.
pub fn parse_with(policy: &Policy, dir: &Directory, msg: Value) -> Result<Message, MessageError> {
    let wire: wire::Message = serde_json::from_value(msg).expect("message JSON has the wire shape");
    Message::parse(wire, policy, dir)
}

/// Checks a message given as JSON against the default policy.
pub fn parse(dir: &Directory, msg: Value) -> Result<Message, MessageError> {
    parse_with(&Policy::default_policy(), dir, msg)
}

/// Checks a message that must be valid against the default policy.
pub fn valid(dir: &Directory, msg: Value) -> Message {
    parse(dir, msg).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks a message that must be rejected by the default policy, and returns the reason.
pub fn rejected(dir: &Directory, msg: Value) -> String {
    match parse(dir, msg) {
        Ok(m) => panic!("message {} should have been rejected", m.id),
        Err(e) => {
            assert!(!e.reason.trim().is_empty(), "a rejection gives a reason");
            e.reason
        }
    }
}

/// One decision as the conformance contract states it: (customer, direct, partners).
pub type Row = (String, bool, Vec<String>);

/// A routing as conformance rows, in the order the router gave them.
pub fn rows(dir: &Directory, routing: &Routing) -> Vec<Row> {
    routing
        .decisions()
        .iter()
        .map(|d| {
            (
                dir.customer(d.customer).id.to_string(),
                d.direct,
                routing
                    .partners(d)
                    .iter()
                    .map(|p| dir.partner(*p).id.to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Routes with `policy` and returns the conformance rows.
pub fn route_rows_with(policy: &Policy, dir: &Directory, msg: &Message) -> Vec<Row> {
    rows(dir, &route(policy, dir, msg))
}

/// Routes with the default policy and returns the conformance rows.
pub fn route_rows(dir: &Directory, msg: &Message) -> Vec<Row> {
    route_rows_with(&Policy::default_policy(), dir, msg)
}

/// A row, written briefly.
pub fn row(customer: &str, direct: bool, partners: &[&str]) -> Row {
    (
        customer.to_owned(),
        direct,
        partners.iter().map(|p| (*p).to_owned()).collect(),
    )
}

/// A partner copy as ids: (partner, customers, subscriptions).
pub fn copy_ids(dir: &Directory, copy: &PartnerCopy) -> (String, Vec<String>, Vec<String>) {
    (
        dir.partner(copy.partner).id.to_string(),
        copy.customers
            .iter()
            .map(|c| dir.customer(*c).id.to_string())
            .collect(),
        copy.subscriptions
            .iter()
            .map(|s| dir.subscription(*s).id.to_string())
            .collect(),
    )
}

/// Routes with the default policy and returns the partner copies as ids.
pub fn copies_ids(dir: &Directory, msg: &Message) -> Vec<(String, Vec<String>, Vec<String>)> {
    let policy = Policy::default_policy();
    let routing = route(&policy, dir, msg);
    partner_copies(&policy, dir, msg, &routing)
        .iter()
        .map(|c| copy_ids(dir, c))
        .collect()
}

/// The report of a message under the default policy.
pub fn report_of(dir: &Directory, msg: &Message) -> Report {
    let policy = Policy::default_policy();
    let routing = route(&policy, dir, msg);
    report(&policy, dir, msg, &routing)
}

/// Owned strings from string literals.
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
