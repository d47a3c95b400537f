//! `herald route --world W M`: the conformance contract of `shared/conformance/README.md`.

use serde_json::{json, Value};

use crate::common::{
    conformance, conformance_messages, expected, triples, world_with_unknown_customer, Scratch,
};

/// Checks `herald route` output against `expected.json`, line by line, in input order.
fn assert_conformant(lines: &[Value]) {
    let expected = expected();
    assert_eq!(lines.len(), expected.len(), "one line per message");
    for (line, case) in lines.iter().zip(&expected) {
        let id = case["message"].as_str().unwrap();
        assert_eq!(line["message"], id, "lines are in input order");
        if case["rejected"] == true {
            let error = line["error"].as_str();
            let error = error.unwrap_or_else(|| panic!("{id} was not rejected: {line}"));
            assert!(
                error.contains(id),
                "the error of {id} does not name it: {error}"
            );
            assert!(line.get("decisions").is_none(), "{id}: {line}");
        } else {
            assert!(line.get("error").is_none(), "{id} was rejected: {line}");
            assert_eq!(
                triples(&line["decisions"]),
                triples(&case["decisions"]),
                "decisions of {id}"
            );
        }
    }
}

#[test]
fn route_prints_the_conformance_decisions_in_input_order() {
    let s = Scratch::new();
    let run = s
        .run(&[
            "route",
            "--world",
            &conformance("world.json"),
            &conformance("messages.json"),
        ])
        .success();
    assert_conformant(&run.json_lines());
    // Twenty-two messages, of which five are rejected: the exit code is still 0.
    let lines = run.json_lines();
    assert_eq!(lines.iter().filter(|l| l.get("error").is_some()).count(), 5);
}

#[test]
fn route_reads_newline_delimited_messages_too() {
    let s = Scratch::new();
    let ndjson: String = conformance_messages()
        .iter()
        .map(|m| format!("{m}\n\n"))
        .collect();
    let messages = s.write("messages.ndjson", &ndjson);
    let world = conformance("world.json");
    let lines = s
        .run(&["route", "--world", &world, &messages])
        .success()
        .json_lines();
    assert_conformant(&lines);
    let from_array = s
        .run(&["route", "--world", &world, &conformance("messages.json")])
        .success()
        .json_lines();
    assert_eq!(lines, from_array);
}

#[test]
fn route_sorts_decisions_by_customer_and_partners_by_id() {
    // Decisions sorted by customer id and partners by id, as the contract says.
    let s = Scratch::new();
    let lines = s
        .run(&[
            "route",
            "--world",
            &conformance("world.json"),
            &conformance("messages.json"),
        ])
        .success()
        .json_lines();
    for line in lines.iter().filter(|l| l.get("decisions").is_some()) {
        let decisions = triples(&line["decisions"]);
        let customers: Vec<&String> = decisions.iter().map(|d| &d.0).collect();
        assert!(customers.windows(2).all(|w| w[0] < w[1]), "{line}");
        for (_, _, partners) in &decisions {
            assert!(partners.windows(2).all(|w| w[0] < w[1]), "{line}");
        }
    }
}

#[test]
fn route_refuses_a_world_naming_an_unknown_customer() {
    let s = Scratch::new();
    let world = s.write_json("world.json", &world_with_unknown_customer());
    let run = s
        .run(&["route", "--world", &world, &conformance("messages.json")])
        .failure();
    assert_eq!(
        run.stdout, "",
        "no decision is printed from an invalid world"
    );
    for needle in ["subscription \"ghost-e3\"", "`customer`", "\"ghost\""] {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks {needle}: {}",
            run.stderr
        );
    }
}

#[test]
fn route_refuses_a_world_that_does_not_parse_naming_the_record() {
    let s = Scratch::new();
    let mut world: Value = serde_json::from_str(&crate::common::read(&conformance("world.json")))
        .expect("world.json parses");
    world["customers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "odd", "agreements": ["handshake"]}));
    let world = s.write_json("world.json", &world);
    let run = s
        .run(&["route", "--world", &world, &conformance("messages.json")])
        .failure();
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("\"odd\""), "{}", run.stderr);
    assert!(run.stderr.contains("handshake"), "{}", run.stderr);
}

#[test]
fn route_refuses_unreadable_messages() {
    let s = Scratch::new();
    let world = conformance("world.json");
    let truncated = s.write("truncated.json", "[{\"id\":");
    let missing = s.path("missing.json");
    for messages in [truncated, missing] {
        let run = s.run(&["route", "--world", &world, &messages]).failure();
        assert_eq!(run.stdout, "");
        assert!(run.stderr.contains(&messages), "{}", run.stderr);
    }
}

#[test]
fn route_follows_the_policy_it_is_given() {
    // The variant tells only the partner of record about incidents, not the reseller.
    let s = Scratch::new();
    let messages = s.write_json(
        "incident.json",
        &json!([{"id": "incident-bp", "category": "service_incident", "services": ["intune"]}]),
    );
    let world = conformance("world.json");
    let policy = crate::common::domain_policy("incident-partners-only.toml");
    let default = s.run(&["route", "--world", &world, &messages]).success();
    let variant = s
        .run(&["route", "--world", &world, &messages, "--policy", &policy])
        .success();
    let by_env = s
        .run_with(
            &["route", "--world", &world, &messages],
            &[("HERALD_POLICY", &policy)],
        )
        .success();
    let adatum = |run: &crate::common::Run| triples(&run.json_lines()[0]["decisions"])[0].clone();
    assert_eq!(
        adatum(&default),
        (
            "adatum".into(),
            true,
            vec!["northwind".into(), "tailspin".into()]
        )
    );
    assert_eq!(
        adatum(&variant),
        ("adatum".into(), true, vec!["northwind".into()])
    );
    assert_eq!(variant.json_lines(), by_env.json_lines());
}
