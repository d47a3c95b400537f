//! `herald demo`: the whole job on a generated directory, into a fresh database only: a
//! new SQLite file or an empty PostgreSQL schema.

use crate::common::{state, Scratch};

const DEMO_MESSAGES: [&str; 8] = [
    "demo-price-change",
    "demo-renewal-two-tier",
    "demo-product-azure",
    "demo-incident-exchange-eu",
    "demo-exchange-eu-resolved",
    "demo-incident-gov-teams",
    "demo-maintenance-compute-apac",
    "demo-tenant-migration",
];

#[test]
fn demo_publishes_every_category_delivers_it_and_explains_two_decisions() {
    let s = Scratch::new();
    let db = s.path("demo.db");
    let run = s
        .run(&["demo", "--customers", "400", "--db", &db])
        .success();
    let out = &run.stdout;
    for id in DEMO_MESSAGES {
        assert!(out.contains(id), "{id} is missing from:\n{out}");
    }
    assert!(out.contains("Why did"), "{out}");
    assert!(
        out.contains("hears about message demo-price-change directly, by rule R4"),
        "{out}"
    );
    assert!(out.contains("Was reseller"), "{out}");
    assert!(
        out.contains("about message demo-renewal-two-tier by rule R2"),
        "{out}"
    );

    let stored = state(&db);
    let ids: Vec<&str> = stored.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, DEMO_MESSAGES);
    assert_eq!(stored.counts.customers, 400);
    let queued: i64 = stored.messages.iter().map(|m| m.deliveries).sum();
    assert_eq!(queued, stored.counts.deliveries);
    assert!(
        out.contains(&format!("{queued} deliveries queued")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "delivered: {queued} mails to the demo's SMTP server"
        )),
        "{out}"
    );
    assert!(out.contains("0 to be tried again, 0 dead"), "{out}");
    let delivered = s
        .run(&[
            "deliveries",
            "list",
            "--message",
            "demo-product-azure",
            "--json",
            "--db",
            &db,
        ])
        .success()
        .json();
    let delivered = delivered.as_array().unwrap();
    assert!(!delivered.is_empty());
    assert!(
        delivered
            .iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 1),
        "every mail arrived at its first attempt: {delivered:?}"
    );

    // A second run wants a fresh database and leaves this one alone.
    let again = s
        .run(&["demo", "--customers", "400", "--db", &db])
        .failure();
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert!(again.stderr.contains(&db), "{}", again.stderr);
    assert_eq!(again.stdout, "");
    assert_eq!(state(&db), stored);
}

#[test]
fn demo_runs_on_postgres_into_an_empty_store_only() {
    let s = Scratch::new();
    let pg = crate::common::postgres();
    let place = pg.place();
    let run = s
        .run(&["demo", "--customers", "200", "--db", place])
        .success();
    assert!(
        run.stdout.contains(&format!("database {place}")),
        "{}",
        run.stdout
    );
    let stored = state(place);
    let ids: Vec<&str> = stored.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, DEMO_MESSAGES);
    assert_eq!(stored.counts.customers, 200);

    let again = s
        .run(&["demo", "--customers", "200", "--db", place])
        .failure();
    assert!(
        again.stderr.contains("already holds data (products: "),
        "{}",
        again.stderr
    );
    assert_eq!(state(place), stored);
}
