//! `herald migrate`: a store brought to the schema of this build, once (a second run has
//! nothing to apply), and a store a newer Herald wrote refused by `migrate` and by every
//! other command alike, naming both versions and left as it was.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::common::{imported, read_store, Scratch};

/// The newest schema version this build knows: the number of its newest migration file.
fn known_version() -> i64 {
    let migrations =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../herald-store/migrations/sqlite");
    std::fs::read_dir(&migrations)
        .expect("the store's migrations")
        .map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let number = name.split('_').next().unwrap().to_owned();
            number.parse::<i64>().unwrap()
        })
        .max()
        .expect("at least one migration")
}

/// What the database at `db` holds, read without the store (which refuses a newer one):
/// every table's definition and number of rows, and the migrations applied.
fn contents(db: &str) -> Vec<String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let options = SqliteConnectOptions::from_str("sqlite:")
                .unwrap()
                .filename(db)
                .read_only(true);
            let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
            let tables: Vec<(String, String)> = sqlx::query_as(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            let mut contents = Vec::new();
            for (name, sql) in tables {
                let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{name}\""))
                    .fetch_one(&mut connection)
                    .await
                    .unwrap();
                contents.push(format!("{sql}: {rows} rows"));
            }
            let migrations: Vec<(i64, String)> = sqlx::query_as(
                "SELECT version, description FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            contents.extend(
                migrations
                    .iter()
                    .map(|(v, d)| format!("migration {v}: {d}")),
            );
            connection.close().await.unwrap();
            contents
        })
}

/// Takes the store at `db` back to before migration 8, which made the audit log.
fn before_the_audit_log(db: &str) {
    read_store(db, async |store| {
        for sql in [
            "DROP TABLE audit",
            "DELETE FROM _sqlx_migrations WHERE version = 8",
        ] {
            sqlx::query(sql)
                .execute(crate::common::sqlite(store))
                .await
                .unwrap();
        }
    });
}

#[test]
fn migrate_applies_every_migration_once_and_then_has_nothing_to_apply() {
    let s = Scratch::new();
    let db = s.db();
    let known = known_version();
    let first = s.run(&["migrate", "--db", &db]).success();
    assert_eq!(
        first.stdout.trim(),
        format!("applied {known} migrations to the store at {db}; it is at schema version {known}")
    );
    let second = s.run(&["migrate", "--db", &db]).success();
    assert_eq!(
        second.stdout.trim(),
        format!("the store at {db} is at schema version {known}; nothing to apply")
    );
    let listed = s.run(&["messages", "--db", &db]).success();
    assert!(
        listed.stdout.contains("no messages in"),
        "{}",
        listed.stdout
    );
}

#[test]
fn every_command_brings_the_schema_up_to_date_as_it_opens_the_store() {
    let s = imported();
    let db = s.db();
    before_the_audit_log(&db);
    let run = s.run(&["migrate", "--db", &db]).success();
    assert!(
        run.stdout
            .starts_with("applied 1 migration to the store at"),
        "{}",
        run.stdout
    );
    // Without it again; this time reading the audit log brings it back.
    before_the_audit_log(&db);
    s.run(&["audit", "--db", &db]).success();
    let run = s.run(&["migrate", "--db", &db]).success();
    assert!(run.stdout.ends_with("nothing to apply\n"), "{}", run.stdout);
}

#[test]
fn a_store_a_newer_herald_wrote_is_refused_by_every_command_and_left_as_it_was() {
    let s = imported();
    let db = s.db();
    let known = known_version();
    let newer = known + 1;
    read_store(&db, async |store| {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (?, 'a migration of a newer Herald', TRUE, x'00', 0)",
        )
        .bind(newer)
        .execute(crate::common::sqlite(store))
        .await
        .unwrap();
    });
    let before = contents(&db);
    let refusal = format!(
        "this store was written by a newer Herald (schema version {newer}, this binary knows up to {known}); use a newer herald"
    );
    let listen = crate::common::loopback_address();
    for args in [
        vec!["migrate", "--db", &db],
        vec!["messages", "--db", &db],
        vec!["serve", "--listen", &listen, "--db", &db],
    ] {
        let run = s.run(&args).failure();
        assert!(run.stderr.contains(&refusal), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(contents(&db), before, "{args:?} changed the store");
    }
}
