//! Project automation. `cargo xtask test` checks that the tools the tests need are here
//! (installing what is missing), then runs every check CI runs: formatting, clippy with
//! warnings denied, the docs, all tests, a release build and the routing conformance suite
//! against the built binary.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};
use std::time::Instant;

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        _ => {
            eprintln!("usage: cargo xtask test\n\n  test  set up what the tests need and run every check CI runs");
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

fn run(what: &str, cmd: &mut Command) {
    let started = Instant::now();
    eprintln!("==> {what}");
    let status = cmd.current_dir(root()).status().unwrap_or_else(|e| {
        eprintln!("xtask: could not start {what}: {e}");
        exit(1);
    });
    if !status.success() {
        eprintln!("xtask: {what} failed ({status})");
        exit(1);
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
    if !have("python3", "--version") {
        eprintln!("xtask: python3 is needed to run the conformance suite; install it (apt-get install python3)");
        exit(1);
    }
}

fn test() {
    let started = Instant::now();
    setup();
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
    run("cargo test", cargo().args(["test", "--workspace"]));
    let shared = root().join("../shared/conformance/check");
    if shared.exists() {
        run(
            "conformance check",
            Command::new("python3")
                .arg(&shared)
                .args(["--", "target/release/herald", "route"]),
        );
    } else {
        eprintln!(
            "xtask: {} is missing; the conformance suite did not run",
            shared.display()
        );
        exit(1);
    }
    eprintln!(
        "==> every check passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
}
