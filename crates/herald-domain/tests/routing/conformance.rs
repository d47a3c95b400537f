//! Conformance as data: the public cases of `shared/conformance` (copied to
//! `tests/data/conformance/`) and every extra case file `tests/data/cases/*.json`
//! (`{"about"?, "world", "messages", "expected"}`), run through the library exactly as
//! `herald route` runs them: parse the world, build the directory, read the batch, check
//! each message against the default policy, route it, and compare (customer, direct,
//! sorted partners) with the expectation; a rejected message must be an error with a
//! reason. Every mismatch is reported at once, with an "N passed, M failed" summary.

use std::collections::BTreeMap;

use herald_domain::{route, wire, Directory, Message, Policy};
use serde::Deserialize;

use crate::common::{read_data, rows, Row};

/// One expectation, in the format of `expected.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    message: String,
    #[serde(default)]
    rejected: bool,
    #[serde(default)]
    decisions: Option<Vec<ExpectedDecision>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedDecision {
    customer: String,
    direct: bool,
    #[serde(default)]
    partners: Vec<String>,
}

/// An extra case file: a world, its messages and what should become of them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// What the case covers, for whoever reads the file.
    #[serde(default)]
    about: Option<String>,
    world: wire::World,
    messages: serde_json::Value,
    expected: Vec<Expected>,
}

/// What became of the messages of one suite.
#[derive(Default)]
struct Outcome {
    passed: usize,
    failures: Vec<String>,
}

impl Outcome {
    fn summary(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed, self.failures.len());
        for f in &self.failures {
            s.push_str("\n  FAIL ");
            s.push_str(f);
        }
        s
    }

    fn absorb(&mut self, other: Outcome) {
        self.passed += other.passed;
        self.failures.extend(other.failures);
    }
}

/// Rows sorted the way the conformance contract compares them.
fn normalised(mut rows: Vec<Row>) -> Vec<Row> {
    for r in &mut rows {
        r.2.sort();
    }
    rows.sort();
    rows
}

/// Runs one suite: a world, a batch of messages (JSON array or NDJSON text) and the
/// expectations. `name` prefixes every failure.
fn run_suite(name: &str, world: wire::World, messages: &str, expected: &[Expected]) -> Outcome {
    let mut out = Outcome::default();
    let fail_all = |out: &mut Outcome, why: String| {
        out.failures.push(format!("{name}: {why}"));
    };
    let policy = Policy::default_policy();
    let dir = match Directory::build(world) {
        Ok(d) => d,
        Err(e) => {
            fail_all(&mut out, format!("the world was refused: {e}"));
            return out;
        }
    };
    let batch = match wire::Message::batch_from_str(messages) {
        Ok(b) => b,
        Err(e) => {
            fail_all(&mut out, format!("the messages are unreadable: {e}"));
            return out;
        }
    };

    // What the router made of each message: its rows, or the reason it was rejected.
    let mut got: BTreeMap<String, Result<Vec<Row>, String>> = BTreeMap::new();
    for (n, item) in batch.into_iter().enumerate() {
        let (id, result) = match item {
            Err((id, reason)) => (
                id.map_or_else(|| format!("<item {n}>"), |i| i.to_string()),
                Err(reason),
            ),
            Ok(w) => {
                let id = w.id.to_string();
                let result = Message::parse(w, &policy, &dir)
                    .map(|m| rows(&dir, &route(&policy, &dir, &m)))
                    .map_err(|e| e.reason);
                (id, result)
            }
        };
        if got.insert(id.clone(), result).is_some() {
            out.failures
                .push(format!("{name}/{id}: the batch has this message id twice"));
        }
    }

    let mut seen = Vec::new();
    for want in expected {
        let id = &want.message;
        seen.push(id.clone());
        let problem = match (got.get(id), want.rejected, &want.decisions) {
            (_, true, Some(_)) => Some("expects both a rejection and decisions".to_owned()),
            (_, false, None) => Some("expects neither a rejection nor decisions".to_owned()),
            (None, _, _) => Some("no such message in the batch".to_owned()),
            (Some(Ok(have)), true, None) => Some(format!(
                "should be rejected with an error, was routed to {have:?}"
            )),
            (Some(Err(reason)), true, None) => reason
                .trim()
                .is_empty()
                .then(|| "rejected without a reason".to_owned()),
            (Some(Err(reason)), false, Some(_)) => Some(format!("rejected: {reason}")),
            (Some(Ok(have)), false, Some(decisions)) => {
                let want_rows = normalised(
                    decisions
                        .iter()
                        .map(|d| (d.customer.clone(), d.direct, d.partners.clone()))
                        .collect(),
                );
                if normalised(have.clone()) != want_rows {
                    Some(format!(
                        "decisions differ\n      want {want_rows:?}\n      have {have:?}"
                    ))
                } else if normalised(have.clone()) != *have {
                    Some(format!(
                        "decisions are right but not sorted by customer and partner id: {have:?}"
                    ))
                } else {
                    None
                }
            }
        };
        match problem {
            Some(p) => out.failures.push(format!("{name}/{id}: {p}")),
            None => out.passed += 1,
        }
    }
    for id in got.keys().filter(|id| !seen.contains(id)) {
        out.failures
            .push(format!("{name}/{id}: the message has no expectation"));
    }
    out
}

#[test]
fn the_public_conformance_cases_pass() {
    let world: wire::World =
        serde_json::from_str(&read_data("conformance/world.json")).expect("world.json parses");
    let expected: Vec<Expected> = serde_json::from_str(&read_data("conformance/expected.json"))
        .expect("expected.json parses");
    let out = run_suite(
        "conformance",
        world,
        &read_data("conformance/messages.json"),
        &expected,
    );
    println!("conformance: {}", out.summary());
    assert!(
        out.failures.is_empty() && out.passed == expected.len() && out.passed > 0,
        "conformance: {}",
        out.summary()
    );
}

#[test]
fn the_public_cases_also_pass_as_newline_delimited_json() {
    // The contract accepts NDJSON as well as an array; the same messages give the same result.
    let world: wire::World =
        serde_json::from_str(&read_data("conformance/world.json")).expect("world.json parses");
    let expected: Vec<Expected> = serde_json::from_str(&read_data("conformance/expected.json"))
        .expect("expected.json parses");
    let array: Vec<serde_json::Value> =
        serde_json::from_str(&read_data("conformance/messages.json")).expect("an array");
    let ndjson: String = array.iter().map(|m| format!("{m}\n\n")).collect::<String>();
    let out = run_suite("conformance-ndjson", world, &ndjson, &expected);
    assert!(
        out.failures.is_empty() && out.passed == expected.len(),
        "conformance-ndjson: {}",
        out.summary()
    );
}

#[test]
fn every_case_file_passes() {
    let dir = crate::common::data_path("cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected the case files of tests/data/cases, found {}",
        files.len()
    );

    let mut total = Outcome::default();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("a readable case file");
        let case: CaseFile = match serde_json::from_str(&text) {
            Ok(c) => c,
            Err(e) => {
                total
                    .failures
                    .push(format!("{name}: not a case file ({e})"));
                continue;
            }
        };
        println!(
            "{name}: {}",
            case.about.as_deref().unwrap_or("(no `about`)")
        );
        if case.expected.is_empty() {
            total
                .failures
                .push(format!("{name}: the case expects nothing"));
        }
        let out = run_suite(
            &name,
            case.world,
            &case.messages.to_string(),
            &case.expected,
        );
        total.absorb(out);
    }
    println!("cases ({} files): {}", files.len(), total.summary());
    assert!(
        total.failures.is_empty() && total.passed > 0,
        "cases ({} files): {}",
        files.len(),
        total.summary()
    );
}

#[test]
fn the_runner_reports_every_mismatch_at_once() {
    // The runner itself must be able to fail: wrong expectations are all reported.
    let world: wire::World =
        serde_json::from_str(&read_data("conformance/world.json")).expect("world.json parses");
    let expected: Vec<Expected> = serde_json::from_str(
        r#"[
          {"message": "renewal-contoso-e3", "decisions": [{"customer": "contoso", "direct": true, "partners": []}]},
          {"message": "renewal-contoso-azure", "rejected": true},
          {"message": "bad-unknown-category", "decisions": []},
          {"message": "no-such-message", "decisions": []}
        ]"#,
    )
    .expect("expectations parse");
    let messages = r#"[
      {"id": "renewal-contoso-e3", "category": "subscription", "subscriptions": ["contoso-e3"]},
      {"id": "renewal-contoso-azure", "category": "subscription", "subscriptions": ["contoso-azure"]},
      {"id": "bad-unknown-category", "category": "marketing", "products": ["azure-plan"]},
      {"id": "unexpected", "category": "product", "products": ["azure-plan"]}
    ]"#;
    let out = run_suite("self-check", world, messages, &expected);
    assert_eq!(out.passed, 0, "{}", out.summary());
    assert_eq!(out.failures.len(), 5, "{}", out.summary());
    assert!(out.summary().starts_with("0 passed, 5 failed"));
    for id in [
        "renewal-contoso-e3",
        "renewal-contoso-azure",
        "bad-unknown-category",
        "no-such-message",
        "unexpected",
    ] {
        assert!(
            out.failures.iter().any(|f| f.contains(id)),
            "{id} is reported: {}",
            out.summary()
        );
    }
}

#[test]
fn a_malformed_line_of_newline_delimited_messages_is_named_by_its_line_in_the_file() {
    let text = "\n\n{\"id\": \"a\", \"category\": \"subscription\", \"subscriptions\": [\"x\"]}\n{not json\n";
    let error = herald_domain::wire::Message::batch_from_str(text).expect_err("line 4 is not JSON");
    assert!(error.starts_with("line 4:"), "{error}");
}
