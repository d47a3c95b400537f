//! Project automation. `cargo xtask test` checks that the tools the tests need are here
//! (installing what is missing: rustfmt and clippy, the Python packages, Chromium and
//! ChromeDriver for the console's tests in a browser), then runs every check CI runs:
//! formatting, clippy with warnings denied, the docs, all tests (the store's, the API's,
//! the console's and the delivery suites, and the CLI's tests of `herald work` and `herald
//! serve` processes, once on each engine), a release build and the routing conformance
//! suite against the built binary, schemathesis against the HTTP API's own OpenAPI
//! document, and the README's tour as written (`tour`). The tests get a PostgreSQL server
//! (`postgres`) and a NATS server with JetStream (`nats`), which a failed check stops too
//! when xtask started them: every failure ends through [`fail`].

mod nats;
mod postgres;
mod servers;
mod system;
mod tour;

use nats::Nats;
use postgres::Postgres;
use servers::Kind;

use std::env;
use std::fmt::Display;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{exit, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The PyPI packages the checks use, installed into `target/xtask-venv`: schemathesis
/// checks the API against its OpenAPI document, aiosmtpd is the SMTP server mail is
/// delivered to in the tests, and standardwebhooks verifies webhook signatures with an
/// implementation Herald did not write.
const PYTHON_PACKAGES: &[&str] = &[
    "schemathesis==4.32.5",
    "aiosmtpd==1.4.6",
    "standardwebhooks==1.0.0",
];

/// The suites that run once on each engine: first on SQLite with the others, then again
/// with their stores on PostgreSQL.
const ON_EACH_ENGINE: &[&str] = &[
    "herald-store",
    "herald-server",
    "herald-delivery",
    "herald-service",
];

/// The CLI's tests of `herald work`, `herald serve` and `herald consume` processes, which
/// run on each engine too: the `cli` test binary of the `herald` package, filtered to its
/// `work`, `processes` and `consume` modules.
const PROCESSES: [&str; 8] = [
    "-p",
    "herald",
    "--test",
    "cli",
    "--",
    "work::",
    "processes::",
    "consume::",
];

/// The variable that puts a suite's stores on PostgreSQL (`herald_store::scratch`).
const ENGINE: &str = "HERALD_TEST_ENGINE";

/// The throwaway servers xtask started, if it did, so that [`fail`] stops them.
static THROWAWAY: Mutex<Throwaways> = Mutex::new(Throwaways {
    postgres: None,
    nats: None,
});

/// The servers xtask started for the tests because none answered.
#[derive(Default)]
struct Throwaways {
    postgres: Option<postgres::Throwaway>,
    nats: Option<nats::Throwaway>,
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("python") => python(),
        Some("man") => man(),
        Some("tour") => {
            python();
            run(
                "cargo build --release",
                cargo().args(["build", "--release", "-p", "herald"]),
            );
            readme_tour();
        }
        _ => {
            eprintln!("usage: cargo xtask test | python | tour | man\n\n  test    set up what the tests need and run every check CI runs\n  python  install the PyPI packages the tests use into target/xtask-venv\n  tour    run the README's tour as written against the release binary\n  man     write a man page per command of herald into target/man");
            exit(2);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Ends xtask with status 1 after saying why, stopping the throwaway servers first when
/// there are any.
fn fail(why: impl Display) -> ! {
    eprintln!("xtask: {why}");
    stop_servers();
    exit(1);
}

/// Stops the throwaway servers xtask started, if any.
fn stop_servers() {
    let servers = std::mem::take(&mut *THROWAWAY.lock().unwrap_or_else(PoisonError::into_inner));
    drop(servers);
}

/// Stops the throwaway servers when dropped, so that a panic stops them too.
struct StopsServers;

impl Drop for StopsServers {
    fn drop(&mut self) {
        stop_servers();
    }
}

/// Finds the server of kind `K` the tests use ([`servers::Server::find`], a throwaway one
/// keeping what it writes in `target/<home>`), gives a throwaway one to `keep` where
/// [`fail`] stops it, and gives its URL.
fn server<K: servers::Kind>(
    name: &str,
    home: &str,
    keep: impl FnOnce(&mut Throwaways, K::Throwaway),
) -> String {
    let server = servers::Server::<K>::find(&root().join("target").join(home))
        .unwrap_or_else(|why| fail(format!("no {name} server for the tests: {why}")));
    eprintln!("==> {name}: {}", server.describe());
    let url = server.url();
    if let servers::Server::Throwaway(throwaway) = server {
        keep(
            &mut THROWAWAY.lock().unwrap_or_else(PoisonError::into_inner),
            throwaway,
        );
    }
    url
}

fn run(what: &str, cmd: &mut Command) {
    let started = Instant::now();
    eprintln!("==> {what}");
    let status = cmd
        .current_dir(root())
        .status()
        .unwrap_or_else(|e| fail(format!("could not start {what}: {e}")));
    if !status.success() {
        fail(format!("{what} failed ({status})"));
    }
    eprintln!("    {what}: ok in {:.1}s", started.elapsed().as_secs_f64());
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Makes sure the tools the checks use are installed.
fn setup() {
    for component in ["rustfmt", "clippy"] {
        if !have("rustup", "--version") {
            break;
        }
        run(
            &format!("rustup component {component}"),
            Command::new("rustup").args(["component", "add", component]),
        );
    }
    python();
    browser();
}

/// Chromium and ChromeDriver, which the console's browser tests drive: Debian's
/// `chromium` and `chromium-driver`, installed when missing, unless `HERALD_CHROMIUM` and
/// `HERALD_CHROMEDRIVER` name others.
fn browser() {
    let wanted = [
        ("HERALD_CHROMIUM", "/usr/bin/chromium", "chromium"),
        (
            "HERALD_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromium-driver",
        ),
    ];
    for (variable, path, package) in wanted {
        if env::var_os(variable).is_some() || Path::new(path).exists() {
            continue;
        }
        if let Err(e) = system::install(package) {
            fail(format!(
                "{package} is needed by the console's tests in a browser: {e}"
            ));
        }
    }
}

/// The virtual environment the tests' Python tools live in. Tests find its interpreter
/// at `target/xtask-venv/bin/python`.
fn venv() -> PathBuf {
    root().join("target/xtask-venv")
}

/// Installs [`PYTHON_PACKAGES`] into [`venv`], unless they are there already.
fn python() {
    if !have("python3", "--version") {
        fail("python3 is needed by the conformance suite and the delivery tests; install it (apt-get install python3 python3-venv)");
    }
    let venv = venv();
    let stamp = venv.join("herald-packages.txt");
    let wanted = PYTHON_PACKAGES.join("\n");
    if fs::read_to_string(&stamp).is_ok_and(|had| had == wanted) {
        return;
    }
    if !venv.join("bin/pip").exists() {
        run(
            "python3 -m venv",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        );
    }
    run(
        &format!("pip install {}", PYTHON_PACKAGES.join(" ")),
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet"])
            .args(PYTHON_PACKAGES),
    );
    fs::write(&stamp, wanted).expect("target/ is writable");
}

fn test() {
    let started = Instant::now();
    let _stops_servers = StopsServers;
    setup();
    let postgres = server::<Postgres>("PostgreSQL", "xtask-postgres", |kept, server| {
        kept.postgres = Some(server);
    });
    let nats = server::<Nats>("NATS", "xtask-nats", |kept, server| {
        kept.nats = Some(server);
    });
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--check"]),
    );
    run(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    );
    run(
        "cargo doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    );
    run(
        "cargo build --release",
        cargo().args(["build", "--release", "-p", "herald"]),
    );
    run(
        "cargo test",
        cargo()
            .args(["test", "--workspace"])
            .env(Postgres::VARIABLE, &postgres)
            .env(Nats::VARIABLE, &nats),
    );
    run(
        "cargo test on PostgreSQL",
        cargo()
            .args(["test"])
            .args(ON_EACH_ENGINE.iter().flat_map(|suite| ["-p", suite]))
            .env(Postgres::VARIABLE, &postgres)
            .env(Nats::VARIABLE, &nats)
            .env(ENGINE, "postgres"),
    );
    run(
        "herald work and serve processes on PostgreSQL",
        cargo()
            .arg("test")
            .args(PROCESSES)
            .env(Postgres::VARIABLE, &postgres)
            .env(Nats::VARIABLE, &nats)
            .env(ENGINE, "postgres"),
    );
    let shared = root().join("../shared/conformance/check");
    if shared.exists() {
        run(
            "conformance check",
            Command::new("python3")
                .arg(&shared)
                .args(["--", "target/release/herald", "route"]),
        );
    } else {
        fail(format!(
            "{} is missing; the conformance suite did not run",
            shared.display()
        ));
    }
    api_schema_check();
    readme_tour();
    eprintln!(
        "==> every check passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
}

/// Writes the man pages of `herald` and each of its commands into `target/man`.
fn man() {
    run("cargo build", cargo().args(["build", "-p", "herald"]));
    run(
        "herald man",
        Command::new(root().join("target/debug/herald"))
            .args(["man", "--out"])
            .arg(root().join("target/man")),
    );
}

/// Runs the README's tour against the release binary ([`tour`]).
fn readme_tour() {
    let started = Instant::now();
    eprintln!("==> the README's tour");
    match tour::run(&root(), &tour::scratch(&root()), &venv().join("bin/python")) {
        Ok(steps) => eprintln!(
            "    the README's tour: {steps} commands ok in {:.1}s; what they printed is in {}",
            started.elapsed().as_secs_f64(),
            tour::scratch(&root()).join(tour::TRANSCRIPT).display()
        ),
        Err(why) => fail(why),
    }
}

/// Output of a command that must succeed.
fn output(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| fail(format!("could not start {what}: {e}")));
    if !out.status.success() {
        fail(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs schemathesis (from [`venv`]) against `herald serve` over the
/// conformance directory and messages: no answer may be a server error or break the
/// OpenAPI document. Requests the document calls valid but the policy refuses (an unknown
/// category, say) are expected, so that one check is left out.
fn api_schema_check() {
    let st = venv().join("bin/st");
    let scratch = root().join("target/xtask-api");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).expect("a scratch folder under target/");
    let db = scratch.join("api.db");
    let herald = root().join("target/release/herald");
    let data = root().join("crates/herald-domain/tests/data/conformance");
    output(
        "herald import",
        Command::new(&herald)
            .arg("import")
            .arg(data.join("world.json"))
            .arg("--db")
            .arg(&db),
    );
    let key = output(
        "herald keys create",
        Command::new(&herald)
            .args(["keys", "create", "--vendor", "--cloud", "global", "--db"])
            .arg(&db),
    );
    // Some public messages are refused by design; the accepted ones give the reads data.
    let _ = Command::new(&herald)
        .arg("publish")
        .arg(data.join("messages.json"))
        .arg("--db")
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Command::new(&herald)
        .args(["serve", "--listen", &address, "--db"])
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .expect("herald serve starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&address).is_err() {
        if Instant::now() > deadline {
            let _ = server.kill();
            fail(format!("herald serve did not listen on {address}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    eprintln!("==> schemathesis");
    let status = Command::new(&st)
        .arg("run")
        .arg(format!("http://{address}/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {key}")])
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--max-examples", "30", "--seed", "1"])
        .current_dir(&scratch)
        .status();
    let _ = server.kill();
    let _ = server.wait();
    match status {
        Ok(s) if s.success() => eprintln!(
            "    schemathesis: ok in {:.1}s",
            started.elapsed().as_secs_f64()
        ),
        other => fail(format!("schemathesis found problems ({other:?})")),
    }
}
