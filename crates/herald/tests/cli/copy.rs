//! `herald copy`: a demo store (with keys, an endpoint and its rotated secret, an inbox
//! read and a replay besides) copied from its SQLite file into PostgreSQL and from there
//! into a new SQLite file, with nothing lost: every table's rows the same, every command
//! showing the same, a key made before the copy authenticating against each copy, and the
//! PostgreSQL copy taking new writes. A target that holds data is refused and unchanged.

use herald_store::{Actor, Mode, NewEndpoint, Principal, Reader};

use crate::common::{authenticate, read_sqlite, read_store, state, Scratch};

/// What the commands a person reads a store with show of the store at `db`: the messages,
/// each message and its deliveries, the deliveries in trouble, the keys and the audit log.
fn shown(s: &Scratch, db: &str) -> Vec<String> {
    let mut shown = vec![
        s.run(&["messages", "--db", db]).success().stdout,
        s.run(&["keys", "list", "--json", "--db", db])
            .success()
            .stdout,
        s.run(&["audit", "--json", "--limit", "500", "--db", db])
            .success()
            .stdout,
        s.run(&["deliveries", "list", "--json", "--db", db])
            .success()
            .stdout,
    ];
    for m in state(db).messages {
        for args in [
            vec!["show", &m.id, "--cloud", &m.cloud, "--json", "--db", db],
            vec!["show", &m.id, "--cloud", &m.cloud, "--db", db],
            vec![
                "deliveries",
                "list",
                "--message",
                &m.id,
                "--cloud",
                &m.cloud,
                "--limit",
                "100000",
                "--json",
                "--db",
                db,
            ],
        ] {
            shown.push(s.run(&args).success().stdout);
        }
    }
    shown
}

/// Every row of every table of the SQLite file at `db` (the migrations' own aside, and the
/// console's sessions, which a copy leaves behind), each as its values quoted, sorted
/// within its table.
fn sqlite_rows(db: &str) -> Vec<(String, Vec<String>)> {
    read_sqlite(db, async |connection| {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT IN ('_sqlx_migrations', 'sqlite_sequence', 'console_sessions') ORDER BY name",
        )
        .fetch_all(&mut *connection)
        .await
        .unwrap();
        let mut all = Vec::new();
        for table in tables {
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(&table)
                    .fetch_all(&mut *connection)
                    .await
                    .unwrap();
            let quoted: Vec<String> = columns.iter().map(|c| format!("quote({c})")).collect();
            let mut rows: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT {} FROM {table}",
                quoted.join(" || ',' || ")
            ))
            .fetch_all(&mut *connection)
            .await
            .unwrap();
            rows.sort();
            all.push((table, rows));
        }
        all
    })
}

/// The lines of a copy's summary that count a table's rows.
fn table_lines(summary: &str) -> Vec<&str> {
    summary.lines().skip(1).collect()
}

/// Adds to the store at `db` what the demo does not make: an endpoint with a rotated
/// secret, an inbox read, and a partner key.
fn beyond_the_demo(db: &str) -> String {
    read_store(db, async |store| {
        let vendor = Principal::Vendor {
            cloud: "global".into(),
        };
        let endpoint = store
            .create_endpoint(
                &vendor,
                NewEndpoint {
                    url: "https://hooks.example/herald".into(),
                    description: "the vendor's hook".into(),
                    categories: Some(vec!["service_incident".into()]),
                    mode: Some(Mode::Aggregated),
                },
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                1_700_000_000_000,
                &Actor::Operator,
            )
            .await
            .unwrap();
        store
            .rotate_endpoint_secret(
                &vendor,
                &endpoint.id,
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                1_700_000_001_000,
                3_600_000,
                &Actor::Operator,
            )
            .await
            .unwrap()
            .expect("the endpoint is the vendor's");
        let message = store
            .message("global", "demo-product-azure")
            .await
            .unwrap()
            .expect("the demo published demo-product-azure");
        let partner = message.partner_copies[0].partner.clone();
        store
            .mark_read(
                "global",
                Reader::Partner(&partner),
                "demo-product-azure",
                1_700_000_002_000,
            )
            .await
            .unwrap()
            .expect("the partner was told");
        partner
    })
}

#[test]
fn a_demo_store_goes_to_postgres_and_back_with_nothing_lost() {
    let s = Scratch::new();
    let db = s.path("demo.db");
    s.run(&["demo", "--customers", "300", "--db", &db])
        .success();
    let partner = beyond_the_demo(&db);
    let vendor_token = s
        .run(&[
            "keys", "create", "--vendor", "--cloud", "global", "--db", &db,
        ])
        .success()
        .stdout
        .trim()
        .to_owned();
    s.run(&["keys", "create", "--partner", &partner, "--db", &db])
        .success();
    let listed = s
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
    let delivered = listed[0]["id"].as_i64().expect("a delivery id").to_string();
    s.run(&["deliveries", "retry", &delivered, "--db", &db])
        .success();
    let before = shown(&s, &db);
    let rows = sqlite_rows(&db);
    for table in [
        "api_keys",
        "endpoint_secrets",
        "inbox_reads",
        "delivery_retries",
        "delivery_attempts",
        "threads",
        "audit",
    ] {
        let (_, held) = rows.iter().find(|(t, _)| t == table).unwrap();
        assert!(
            !held.is_empty(),
            "the source's {table} is empty: the test would prove nothing of it"
        );
    }

    let pg = crate::common::postgres();
    let place = pg.place();
    let to_postgres = s.run(&["copy", "--from", &db, "--to", place]).success();
    assert!(
        to_postgres.stdout.starts_with("copied ")
            && to_postgres
                .stdout
                .contains(&format!("from {db} to {place}:")),
        "{}",
        to_postgres.stdout
    );
    let back = s.path("back.db");
    let to_sqlite = s.run(&["copy", "--from", place, "--to", &back]).success();
    assert_eq!(
        table_lines(&to_postgres.stdout),
        table_lines(&to_sqlite.stdout)
    );
    for (table, held) in &rows {
        let counted = format!("{} rows", held.len());
        if !["directory_state", "store_identity"].contains(&table.as_str()) {
            let line = table_lines(&to_postgres.stdout)
                .into_iter()
                .find(|l| l.split_whitespace().next() == Some(table))
                .unwrap_or_else(|| {
                    panic!("{table} is not in the summary:\n{}", to_postgres.stdout)
                });
            assert!(
                line.ends_with(&format!(" {}", held.len())),
                "{table}: {counted} in the source, `{line}` copied"
            );
        }
    }

    assert_eq!(sqlite_rows(&back), rows, "a table changed on the way");
    assert_eq!(shown(&s, place), before, "PostgreSQL shows another store");
    assert_eq!(
        shown(&s, &back),
        before,
        "the copy back shows another store"
    );
    let vendor = Some(Principal::Vendor {
        cloud: "global".into(),
    });
    for copy in [place, back.as_str()] {
        assert_eq!(authenticate(copy, &vendor_token), vendor, "{copy}");
    }

    // A target holding data is refused, named, and left as it was.
    for target in [place, back.as_str()] {
        let refused = s.run(&["copy", "--from", &db, "--to", target]).failure();
        assert!(
            refused
                .stderr
                .contains("the target already holds data (products: "),
            "{}",
            refused.stderr
        );
        assert_eq!(refused.stdout, "");
        assert_eq!(shown(&s, target), before, "a refused copy changed {target}");
    }
    assert_eq!(sqlite_rows(&back), rows);

    // A source that does not exist is named, and no target is made.
    let missing = s.path("missing.db");
    let nowhere = s.path("nowhere.db");
    let refused = s
        .run(&["copy", "--from", &missing, "--to", &nowhere])
        .failure();
    assert!(
        refused
            .stderr
            .contains(&format!("there is no database at {missing} to copy")),
        "{}",
        refused.stderr
    );
    assert!(!std::path::Path::new(&nowhere).exists());

    // The PostgreSQL copy takes new rows after the copied ones: a message (with its
    // decisions, copies and deliveries), a key and their audit entries.
    let message = s.write(
        "incident.json",
        &serde_json::to_string(&herald_kit::world::exchange_incident("after-the-copy")).unwrap(),
    );
    s.run(&["publish", &message, "--db", place]).success();
    s.run(&[
        "keys", "create", "--vendor", "--cloud", "us-gov", "--db", place,
    ])
    .success();
    let after = state(place);
    assert_eq!(
        after.messages.last().map(|m| m.id.as_str()),
        Some("after-the-copy")
    );
    assert_eq!(after.messages.len(), state(&db).messages.len() + 1);
}
