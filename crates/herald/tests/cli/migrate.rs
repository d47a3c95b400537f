//! `herald migrate`: a store brought to the schema of this build, once (a second run has
//! nothing to apply), and a store a newer Herald wrote refused by `migrate` and by every
//! other command alike, naming both versions and left as it was; the same of a store in
//! PostgreSQL (a schema of its own in the database `HERALD_TEST_POSTGRES` names), which
//! `HERALD_DB` may name as well as `--db`, its password never shown.

use std::path::Path;

use sqlx::{Connection, PgConnection};

use crate::common::{conformance, imported, read_sqlite, read_store, Scratch};

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
    read_sqlite(db, async |connection| {
        let tables: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name",
        )
        .fetch_all(&mut *connection)
        .await
        .unwrap();
        let mut contents = Vec::new();
        for (name, sql) in tables {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{name}\""))
                .fetch_one(&mut *connection)
                .await
                .unwrap();
            contents.push(format!("{sql}: {rows} rows"));
        }
        let migrations: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut *connection)
                .await
                .unwrap();
        contents.extend(
            migrations
                .iter()
                .map(|(v, d)| format!("migration {v}: {d}")),
        );
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

/// What the PostgreSQL store at `place` holds, read without the store (which refuses a
/// newer one): its tables' rows and the migrations applied.
fn postgres_contents(place: &str) -> Vec<String> {
    postgres_session(place, async |connection| {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
        )
        .fetch_all(&mut *connection)
        .await
        .unwrap();
        let mut contents = Vec::new();
        for name in tables {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{name}\""))
                .fetch_one(&mut *connection)
                .await
                .unwrap();
            contents.push(format!("{name}: {rows} rows"));
        }
        let migrations: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut *connection)
                .await
                .unwrap();
        contents.extend(migrations.iter().map(|v| format!("migration {v}")));
        contents
    })
}

/// Runs `session` on one connection to the PostgreSQL store at `place`.
fn postgres_session<T>(place: &str, session: impl AsyncFnOnce(&mut PgConnection) -> T) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let mut connection = PgConnection::connect(place).await.unwrap();
            let out = session(&mut connection).await;
            connection.close().await.unwrap();
            out
        })
}

/// `place` with a password in it, and the password: what `HERALD_DB` may hold, and no
/// output may show. The test server trusts its clients, so any password is taken.
fn with_password(place: &str) -> (String, &'static str) {
    let password = "s3cret-never-shown";
    let join = if place.contains('?') { '&' } else { '?' };
    (format!("{place}{join}password={password}"), password)
}

#[test]
fn migrate_on_postgres_applies_every_migration_once_and_herald_db_names_the_store() {
    let s = Scratch::new();
    let pg = crate::common::postgres();
    let place = pg.place();
    let known = known_version();
    let first = s.run(&["migrate", "--db", place]).success();
    assert_eq!(
        first.stdout.trim(),
        format!(
            "applied {known} migrations to the store at {place}; it is at schema version {known}"
        )
    );
    let again = s.run(&["migrate", "--db", place]).success();
    assert_eq!(
        again.stdout.trim(),
        format!("the store at {place} is at schema version {known}; nothing to apply")
    );

    // Without --db, HERALD_DB names the store; its password is never shown.
    let (secret_place, password) = with_password(place);
    for args in [
        &["migrate"][..],
        &["messages"],
        &["keys", "list"],
        &["audit"],
    ] {
        let run = s.run_with(args, &[("HERALD_DB", &secret_place)]).success();
        assert!(
            !run.stdout.contains(password) && !run.stderr.contains(password),
            "{args:?} showed the password: {run:?}"
        );
        assert!(run.stdout.contains(place), "{args:?}: {}", run.stdout);
    }
    // Nor does --help show the variable's value.
    let help = s
        .run_with(&["messages", "--help"], &[("HERALD_DB", &secret_place)])
        .success();
    assert!(!help.stdout.contains(password), "{}", help.stdout);
    assert!(help.stdout.contains("postgres://"), "{}", help.stdout);
}

#[test]
fn a_postgres_store_a_newer_herald_wrote_is_refused_and_left_as_it_was() {
    let s = Scratch::new();
    let pg = crate::common::postgres();
    let place = pg.place();
    s.run(&["import", &conformance("world.json"), "--db", place])
        .success();
    let known = known_version();
    let newer = known + 1;
    postgres_session(place, async |connection| {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES ($1, 'a migration of a newer Herald', TRUE, '\\x00', 0)",
        )
        .bind(newer)
        .execute(connection)
        .await
        .unwrap();
    });
    let before = postgres_contents(place);
    assert!(
        before.contains(&"partners: 7 rows".to_owned()),
        "{before:?}"
    );
    let refusal = format!(
        "this store was written by a newer Herald (schema version {newer}, this binary knows up to {known}); use a newer herald"
    );
    for args in [
        vec!["migrate", "--db", place],
        vec!["messages", "--db", place],
        vec!["keys", "list", "--db", place],
    ] {
        let run = s.run(&args).failure();
        assert!(run.stderr.contains(&refusal), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(
            postgres_contents(place),
            before,
            "{args:?} changed the store"
        );
    }
}
