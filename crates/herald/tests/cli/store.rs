//! `herald import`, `publish`, `messages` and `show` over a real SQLite file: bad input
//! changes nothing, accepted means stored, a repeat changes nothing, a conflict is refused.

use serde_json::json;

use crate::common::{
    conformance, expected, imported, state, stored_message, triples, world_with_unknown_customer,
    Scratch,
};

#[test]
fn import_writes_the_world_through_herald_db() {
    let s = Scratch::new();
    let db = s.db();
    s.run_with(
        &["import", &conformance("world.json")],
        &[("HERALD_DB", &db)],
    )
    .success();
    let after = state(&db);
    assert_eq!(
        (
            after.counts.products,
            after.counts.partners,
            after.counts.customers,
            after.counts.subscriptions
        ),
        (5, 7, 9, 14)
    );
    assert!(after.messages.is_empty());
}

#[test]
fn an_invalid_import_leaves_the_database_as_it_was() {
    let s = imported();
    let db = s.db();
    // Messages too, so "as it was" covers them.
    s.run(&["publish", &conformance("messages.json"), "--db", &db])
        .failure();
    let before = state(&db);
    assert_eq!(before.counts.messages, 17);

    let unknown = s.write_json("unknown-customer.json", &world_with_unknown_customer());
    let run = s.run(&["import", &unknown, "--db", &db]).failure();
    assert!(
        run.stderr.contains("subscription \"ghost-e3\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`customer`"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(state(&db), before);

    let broken = s.write("broken.json", "{\"products\": [");
    s.run(&["import", &broken, "--db", &db]).failure();
    assert_eq!(state(&db), before);

    // An array is not an empty world: it must not wipe the directory.
    let array = s.write("array.json", "[]");
    let run = s.run(&["import", &array, "--db", &db]).failure();
    assert!(
        run.stderr.contains("a world is a JSON object"),
        "{}",
        run.stderr
    );
    assert_eq!(state(&db), before);

    // Nor is an object leaving a list out: `{}` must not wipe every cloud.
    let empty = s.write("empty.json", "{}");
    let run = s.run(&["import", &empty, "--db", &db]).failure();
    for list in ["products", "partners", "customers", "subscriptions"] {
        assert!(run.stderr.contains(&format!("`{list}`")), "{}", run.stderr);
    }
    let partial = s.write(
        "partial.json",
        r#"{"products": [], "partners": [], "customers": []}"#,
    );
    let run = s.run(&["import", &partial, "--db", &db]).failure();
    assert!(run.stderr.contains("`subscriptions`"), "{}", run.stderr);
    assert!(!run.stderr.contains("`customers`"), "{}", run.stderr);
    assert_eq!(state(&db), before);
}

#[test]
fn publish_refuses_a_message_naming_an_unknown_subscription() {
    let s = imported();
    let db = s.db();
    let before = state(&db);
    let bad = json!({"id": "bad-one", "category": "subscription", "subscriptions": ["contoso-e3", "nope-sub"]});
    let file = s.write_json("bad.json", &json!([bad]));
    let run = s.run(&["publish", &file, "--db", &db]).failure();
    assert!(run.stderr.contains("bad-one"), "{}", run.stderr);
    assert!(run.stderr.contains("nope-sub"), "{}", run.stderr);
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("accepted")),
        "{}",
        run.stdout
    );
    assert_eq!(state(&db), before);
    assert_eq!(stored_message(&db, "bad-one"), None);
}

#[test]
fn publish_accepts_once_and_refuses_a_changed_message_under_the_same_id() {
    let s = imported();
    let db = s.db();
    let good = json!({"id": "good-one", "category": "service_incident", "services": ["teams"], "title": "Teams sign-in failures"});
    let bad = json!({"id": "bad-one", "category": "subscription", "subscriptions": ["nope-sub"]});

    // One bad and one good message: the bad one is refused, the good one stored.
    let mixed = s.write_json("mixed.json", &json!([bad, good]));
    let run = s.run(&["publish", &mixed, "--db", &db]).failure();
    assert!(
        run.stdout.contains(
            "accepted good-one: 5 customers in scope, 5 told directly, 5 partners told, 10 deliveries queued"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("error: refused bad-one"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nope-sub"), "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().last(),
        Some("2 messages: 1 accepted, 0 repeated, 1 refused"),
        "a summary ends the output: {}",
        run.stdout
    );
    let after = state(&db);
    assert_eq!(
        (
            after.counts.messages,
            after.counts.decisions,
            after.counts.partner_copies,
            after.counts.deliveries
        ),
        (1, 5, 5, 10)
    );
    let ids: Vec<&str> = after.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["good-one"]);

    // The same message again, as NDJSON this time: nothing changes.
    let again = s.write("good.ndjson", &format!("{good}\n"));
    let run = s
        .run_with(&["publish", &again], &[("HERALD_DB", &db)])
        .success();
    assert!(
        run.stdout.contains("already published good-one") && run.stdout.contains("nothing changed"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.lines().last(),
        Some("1 message: 0 accepted, 1 repeated, 0 refused"),
        "{}",
        run.stdout
    );
    assert_eq!(state(&db), after);
    let stored = stored_message(&db, "good-one");

    // The same id with other content is refused, and nothing changes.
    let mut changed = good.clone();
    changed["services"] = json!(["exchange"]);
    let changed = s.write_json("changed.json", &json!([changed]));
    let run = s.run(&["publish", &changed, "--db", &db]).failure();
    assert!(run.stderr.contains("good-one"), "{}", run.stderr);
    assert!(run.stderr.contains("different content"), "{}", run.stderr);
    assert!(
        run.stdout.ends_with("0 accepted, 0 repeated, 1 refused\n"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("accepted")),
        "{}",
        run.stdout
    );
    assert_eq!(state(&db), after);
    assert_eq!(stored_message(&db, "good-one"), stored);
}

#[test]
fn publish_of_the_conformance_messages_stores_the_accepted_ones() {
    let s = imported();
    let db = s.db();
    let run = s
        .run(&["publish", &conformance("messages.json"), "--db", &db])
        .failure();
    let expected = expected();
    for case in &expected {
        let id = case["message"].as_str().unwrap();
        if case["rejected"] == true {
            assert!(
                run.stderr.contains(&format!("refused {id}")),
                "{}",
                run.stderr
            );
            assert_eq!(stored_message(&db, id), None, "{id} was stored");
        } else {
            assert!(
                run.stdout.contains(&format!("accepted {id}:")),
                "{}",
                run.stdout
            );
            let stored = stored_message(&db, id).unwrap_or_else(|| panic!("{id} not stored"));
            assert_eq!(
                triples(&stored["decisions"]),
                triples(&case["decisions"]),
                "{id}"
            );
        }
    }
    let listed: Vec<String> = state(&db).messages.into_iter().map(|m| m.id).collect();
    let accepted: Vec<String> = expected
        .iter()
        .filter(|c| c["rejected"] != true)
        .map(|c| c["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, accepted);
}

#[test]
fn messages_lists_what_is_stored() {
    let s = imported();
    let db = s.db();
    let run = s.run(&["messages", "--db", &db]).success();
    assert!(run.stdout.contains("no messages"), "{}", run.stdout);

    s.run(&["publish", &conformance("messages.json"), "--db", &db])
        .failure();
    let run = s.run_with(&["messages"], &[("HERALD_DB", &db)]).success();
    let rows: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert!(
        run.stdout.lines().next().unwrap().starts_with("id"),
        "{}",
        run.stdout
    );
    assert_eq!(rows.len(), 17, "{}", run.stdout);
    let first: Vec<&str> = rows[0].split_whitespace().collect();
    // renewal-contoso-e3: one customer in scope, not told directly, one partner told.
    assert_eq!(
        first[..6],
        [
            "renewal-contoso-e3",
            "subscription",
            "global",
            "1",
            "0",
            "1"
        ]
    );
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().next().unwrap())
        .collect();
    assert!(ids.contains(&"gov-incident-exchange"));
    assert!(!ids.iter().any(|id| id.starts_with("bad-")), "{ids:?}");
}

#[test]
fn show_prints_decisions_and_deliveries() {
    let s = imported();
    let db = s.db();
    s.run(&["publish", &conformance("messages.json"), "--db", &db])
        .failure();

    let run = s
        .run(&["show", "price-change-mixed", "--db", &db])
        .success();
    let out = &run.stdout;
    assert!(
        out.contains("message price-change-mixed (subscription in cloud global, policy default/1)"),
        "{out}"
    );
    assert!(
        out.contains("decisions:") && out.contains("deliveries:"),
        "{out}"
    );
    let contoso = out
        .lines()
        .find(|l| l.trim_start().starts_with("contoso "))
        .unwrap_or_else(|| panic!("no decision line for contoso:\n{out}"));
    assert!(
        contoso.contains("direct") && !contoso.contains("not direct"),
        "{contoso}"
    );
    assert!(contoso.contains("fabrikam"), "{contoso}");
    assert!(out.contains("billing@contoso.example"), "{out}");
    assert!(out.contains("billing@fabrikam.example"), "{out}");
    assert!(out.contains("pending"), "{out}");
}

#[test]
fn show_json_is_the_stored_message() {
    let s = imported();
    let db = s.db();
    s.run(&["publish", &conformance("messages.json"), "--db", &db])
        .failure();
    let id = "incident-teams-everywhere";
    let shown = s.run(&["show", id, "--json", "--db", &db]).success().json();
    assert_eq!(shown["summary"]["id"], id);
    assert_eq!(shown["summary"]["deliveries"], 10);
    let case = expected().into_iter().find(|c| c["message"] == id).unwrap();
    assert_eq!(triples(&shown["decisions"]), triples(&case["decisions"]));
    assert_eq!(shown["deliveries"].as_array().unwrap().len(), 10);
    assert_eq!(Some(shown), stored_message(&db, id));
}

#[test]
fn show_of_an_unknown_message_names_it() {
    let s = imported();
    let run = s.run(&["show", "nope", "--db", &s.db()]).failure();
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("\"nope\""), "{}", run.stderr);
}

#[test]
fn a_retry_is_recognised_whatever_its_list_order_and_after_the_directory_changed() {
    let s = imported();
    let db = s.db();
    let first = json!({"id": "renewals", "category": "subscription", "subscriptions": ["contoso-e3", "adatum-bp"], "title": "Renewals"});
    let file = s.write_json("first.json", &json!([first]));
    s.run(&["publish", &file, "--db", &db]).success();
    let after = state(&db);

    // The same message with its list reordered and its cloud spelled out is a repeat.
    let retry = json!({"id": "renewals", "cloud": "global", "category": "subscription", "subscriptions": ["adatum-bp", "contoso-e3", "adatum-bp"], "title": "Renewals"});
    let file = s.write_json("retry.json", &json!([retry]));
    let run = s.run(&["publish", &file, "--db", &db]).success();
    assert!(
        run.stdout.contains("already published renewals"),
        "{}",
        run.stdout
    );
    assert_eq!(state(&db), after);

    // After an import that drops a subscription it names, a retry is still a repeat, not
    // a message about an unknown subscription.
    let mut world: serde_json::Value =
        serde_json::from_str(&crate::common::read(&conformance("world.json"))).unwrap();
    world["subscriptions"]
        .as_array_mut()
        .unwrap()
        .retain(|sub| sub["id"] != "adatum-bp");
    let smaller = s.write_json("smaller.json", &world);
    s.run(&["import", &smaller, "--db", &db]).success();
    let imported_again = state(&db);
    let run = s.run(&["publish", &file, "--db", &db]).success();
    assert!(
        run.stdout.contains("already published renewals"),
        "{}",
        run.stdout
    );
    assert_eq!(state(&db), imported_again);
}
