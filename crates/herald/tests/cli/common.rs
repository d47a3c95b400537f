//! Running the built `herald` in a scratch folder, the conformance files, and reading a
//! database back through `herald_store` to see exactly what a command changed (or making
//! a key there at a fixed time, which the binary cannot).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use herald_domain::wire;
use herald_kit::world::exchange_incident;
use herald_store::{Actor, Counts, Engine, KeyFor, MessageSummary, Pool, Principal, Store};
use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;

/// A file of the conformance suite kept by `herald-domain`.
pub fn conformance(file: &str) -> String {
    path_arg(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../herald-domain/tests/data/conformance")
            .join(file),
    )
}

/// A test policy kept by `herald-domain`.
pub fn domain_policy(file: &str) -> String {
    path_arg(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../herald-domain/tests/data/policies")
            .join(file),
    )
}

fn path_arg(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// The conformance messages as JSON values, in file order.
pub fn conformance_messages() -> Vec<Value> {
    serde_json::from_str(&read(&conformance("messages.json"))).expect("messages.json parses")
}

/// The cases of `expected.json`, in file order.
pub fn expected() -> Vec<Value> {
    serde_json::from_str(&read(&conformance("expected.json"))).expect("expected.json parses")
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// (customer, direct, partners) of every decision of a routing or a stored message.
pub fn triples(decisions: &Value) -> Vec<(String, bool, Vec<String>)> {
    decisions
        .as_array()
        .unwrap_or_else(|| panic!("decisions is not a list: {decisions}"))
        .iter()
        .map(|d| {
            (
                d["customer"].as_str().expect("customer").to_owned(),
                d["direct"].as_bool().expect("direct"),
                serde_json::from_value(d["partners"].clone()).expect("partners"),
            )
        })
        .collect()
}

/// A scratch folder: the working directory of every run, and where its files go.
pub struct Scratch {
    dir: TempDir,
    /// The PostgreSQL schema that is the scratch's database, for a test on the engine
    /// `HERALD_TEST_ENGINE` names when that is PostgreSQL; dropped with the scratch.
    schema: Option<herald_store::scratch::Scratch>,
}

/// What a run of `herald` did.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the run exited 0.
    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "herald {:?} failed:\n{}",
            self.args,
            self.stderr
        );
        self
    }

    /// Asserts the run exited non-zero, with something on stderr.
    #[track_caller]
    pub fn failure(self) -> Run {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "herald {:?} succeeded (or was killed): {:?}\nstdout:\n{}",
            self.args,
            self.code,
            self.stdout
        );
        assert!(
            !self.stderr.trim().is_empty(),
            "herald {:?} failed silently",
            self.args
        );
        self
    }

    /// Every line of stdout parsed as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Stdout parsed as one JSON value.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Scratch {
    /// A folder whose database is its SQLite file.
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary folder"),
            schema: None,
        }
    }

    /// A folder whose database is on the engine `HERALD_TEST_ENGINE` names (`cargo xtask
    /// test` runs the worker's tests on each): its SQLite file, or a fresh schema of the
    /// PostgreSQL database `HERALD_TEST_POSTGRES` names.
    pub fn on_engine() -> Scratch {
        // On a thread of its own, so that an async test may make one too.
        let store = std::thread::spawn(|| block_on(herald_store::scratch::Scratch::new()))
            .join()
            .expect("making a scratch store does not panic")
            .expect("a scratch store on the engine HERALD_TEST_ENGINE names");
        Scratch {
            schema: (store.engine() == Engine::Postgres).then_some(store),
            ..Scratch::new()
        }
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> String {
        path_arg(&self.dir.path().join(name))
    }

    /// The database most tests use: the folder's SQLite file, or the URL of the scratch's
    /// PostgreSQL schema.
    pub fn db(&self) -> String {
        match &self.schema {
            Some(schema) => schema.place().to_owned(),
            None => self.path("herald.db"),
        }
    }

    /// Writes a file into the folder and gives its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        path
    }

    /// Writes a JSON value into the folder and gives its path.
    pub fn write_json(&self, name: &str, value: &Value) -> String {
        self.write(name, &serde_json::to_string_pretty(value).unwrap())
    }

    /// Runs `herald args…` in the folder, with no Herald setting from the environment.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// The token `herald keys create args…` prints, for the folder's database.
    pub fn token(&self, args: &[&str]) -> String {
        let db = self.db();
        let mut all = vec!["keys", "create"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--db", &db]);
        self.run(&all).success().stdout.trim().to_owned()
    }

    /// Publishes incident `exchange-down` (Exchange, every region) into the database.
    pub fn publish_exchange_incident(&self) {
        let message = self.write(
            "incident.json",
            &serde_json::to_string(&exchange_incident("exchange-down")).unwrap(),
        );
        self.run(&["publish", &message, "--db", &self.db()])
            .success();
    }

    /// Runs `herald args…` in the folder with the environment variables `env`.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("HERALD_DB")
            .env_remove("HERALD_POLICY");
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().expect("herald runs");
        Run {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// The NATS server with JetStream the tests use: the one `HERALD_TEST_NATS` names
/// (`cargo xtask test` sets it), or this machine's.
pub fn nats_url() -> String {
    std::env::var("HERALD_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Waits until `done` holds, or fails after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A GET over a plain TCP connection: the status line and the body.
pub fn get(address: &str, path: &str, key: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).expect("the server accepts");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// The address of a free port on loopback, for a server a test starts.
pub fn loopback_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// Waits, 30 seconds at most, until something accepts connections on `address`.
pub fn wait_listening(address: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(address).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "herald serve did not listen on {address}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A scratch folder whose database holds the conformance directory.
pub fn imported() -> Scratch {
    imported_into(Scratch::new())
}

/// `s`, its database given the conformance directory.
pub fn imported_into(s: Scratch) -> Scratch {
    let run = s
        .run(&["import", &conformance("world.json"), "--db", &s.db()])
        .success();
    assert!(
        run.stdout
            .contains("5 products, 7 partners, 9 customers, 14 subscriptions"),
        "{}",
        run.stdout
    );
    s
}

/// Everything a database holds, in numbers, records and messages.
#[derive(Debug, PartialEq)]
pub struct State {
    pub counts: Counts,
    pub world: wire::World,
    pub messages: Vec<MessageSummary>,
}

/// Runs `work` to its end on a runtime of its own.
fn block_on<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(work)
}

/// Opens the store at `db` (a SQLite file or a PostgreSQL URL) through the store crate,
/// reads (or, to set a test up, writes) it with `read`, and closes it.
pub fn read_store<T>(db: &str, read: impl AsyncFnOnce(&Store) -> T) -> T {
    block_on(async {
        let (store, _) = Store::open_at(db).await.expect("the database opens");
        let out = read(&store).await;
        store.close().await;
        out
    })
}

/// A fresh schema of the PostgreSQL database `HERALD_TEST_POSTGRES` names, dropped when the
/// scratch is; its `place()` is the URL to give as `--db`.
pub fn postgres() -> herald_store::scratch::Scratch {
    use herald_store::scratch::Scratch;
    block_on(async {
        let url = Scratch::postgres_url().expect("HERALD_TEST_POSTGRES names a database");
        Scratch::postgres(&url)
            .await
            .expect("a scratch schema is made")
    })
}

/// Reads the SQLite file at `db` with `read` over a read-only connection of its own,
/// without the store (which would bring the schema up to date, or refuse a newer one).
pub fn read_sqlite<T>(db: &str, read: impl AsyncFnOnce(&mut SqliteConnection) -> T) -> T {
    block_on(async {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .unwrap()
            .filename(db)
            .read_only(true);
        let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
        let out = read(&mut connection).await;
        connection.close().await.unwrap();
        out
    })
}

/// The SQLite pool under a store the CLI's tests made: they edit its file by hand, the
/// way an earlier or a newer Herald would have left it.
pub fn sqlite(store: &Store) -> &sqlx::SqlitePool {
    match store.pool() {
        Pool::Sqlite(pool) => pool,
        Pool::Postgres(_) => panic!("the CLI's tests keep their stores in SQLite files"),
    }
}

/// Reads a database through the store crate.
pub fn state(db: &str) -> State {
    assert!(
        db.starts_with("postgres://") || PathBuf::from(db).exists(),
        "{db} does not exist"
    );
    read_store(db, async |store| State {
        counts: store.counts().await.unwrap(),
        world: store.load_world().await.unwrap(),
        messages: store.messages().await.unwrap(),
    })
}

/// One stored message as the store crate reads it, serialised, from whichever cloud holds
/// it (the tests' message ids are unique across clouds).
pub fn stored_message(db: &str, id: &str) -> Option<Value> {
    read_store(db, async |store| {
        let listed = store.messages().await.unwrap();
        let cloud = listed.iter().find(|m| m.id == id)?.cloud.clone();
        let detail = store.message(&cloud, id).await.unwrap();
        detail.map(|d| serde_json::to_value(d).unwrap())
    })
}

/// The conformance world with a subscription naming a customer that does not exist.
pub fn world_with_unknown_customer() -> Value {
    let mut world: Value =
        serde_json::from_str(&read(&conformance("world.json"))).expect("world.json parses");
    world["subscriptions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "ghost-e3", "customer": "ghost", "product": "m365-e3", "partner": "fabrikam"}));
    world
}

/// Who `token` acts as, as the store crate authenticates it.
pub fn authenticate(db: &str, token: &str) -> Option<Principal> {
    read_store(db, async |store| {
        store
            .authenticate(token)
            .await
            .unwrap()
            .map(|key| key.principal)
    })
}

/// Makes a key through the store crate at `now` (Unix milliseconds), and gives its token.
pub fn key_made_at(db: &str, key_for: KeyFor, now: i64) -> String {
    read_store(db, async |store| {
        store
            .create_key(key_for, now, &Actor::Operator)
            .await
            .unwrap()
            .token
    })
}
