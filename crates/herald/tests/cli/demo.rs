//! `herald demo`: the whole job on a generated directory, into a fresh database only: a
//! new SQLite file or an empty PostgreSQL schema; with `--serve`, its store kept open under
//! `herald serve` with keys printed to sign in to the console.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{get, loopback_address, state, wait_listening, Scratch};

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

#[test]
fn demo_serve_keeps_the_store_open_under_the_console_with_a_key_for_each_kind_of_principal() {
    let s = Scratch::new();
    let db = s.path("demo.db");
    let address = loopback_address();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "demo",
            "--customers",
            "300",
            "--db",
            &db,
            "--serve",
            "--listen",
            &address,
        ])
        .env_remove("HERALD_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald demo starts");
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let console = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("The web console:"))
        .expect("the demo prints the console's address");
    assert!(console.contains(&format!("http://{address}/")), "{console}");
    let keys: Vec<(String, String)> = lines
        .by_ref()
        .take(3)
        .map(Result::unwrap)
        .map(|l| {
            let (who, key) = l.trim().rsplit_once(' ').unwrap();
            (who.trim().to_owned(), key.to_owned())
        })
        .collect();
    let who: Vec<&str> = keys.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(who[0], "the vendor of global", "{who:?}");
    assert!(who[1].starts_with("partner "), "{who:?}");
    assert!(who[2].starts_with("customer "), "{who:?}");
    wait_listening(&address);

    let (status, body) = get(&address, "/v1/messages", &keys[0].1);
    assert!(status.contains("200"), "{status}: {body}");
    assert!(body.contains("demo-incident-exchange-eu"), "{body}");
    for (who, key) in &keys[1..] {
        let (status, body) = get(&address, "/v1/inbox", key);
        assert!(status.contains("200"), "{who}: {status}: {body}");
        assert!(body.contains("demo-price-change"), "{who}: {body}");
    }
    let (status, _) = get(&address, "/", "");
    assert!(
        status.contains("303"),
        "the console asks to sign in: {status}"
    );
    let (status, body) = get(&address, "/sign-in", "");
    assert!(
        status.contains("200") && body.contains("API key"),
        "{status}: {body}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(demo.wait().unwrap().success());
}
