//! `herald serve`: it answers over HTTP with the keys `herald keys` makes, takes its
//! settings from a configuration file, and stops cleanly on SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::imported;

/// A GET over a plain TCP connection: the status line and the body.
fn get(address: &str, path: &str, key: &str) -> (String, String) {
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

#[test]
fn serve_answers_with_keys_from_the_cli_and_stops_on_sigterm() {
    let s = imported();
    let db = s.db();
    let key = s
        .run(&["keys", "create", "--partner", "fabrikam", "--db", &db])
        .success()
        .stdout
        .trim()
        .to_owned();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    // The address comes from the file, the database from the flag.
    let config = s.write(
        "herald.toml",
        &format!("listen = \"{address}\"\ndb = \"elsewhere.db\"\n"),
    );
    let server = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--config", &config, "--db", &db])
        .env_remove("HERALD_DB")
        .env_remove("HERALD_LISTEN")
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald serve starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&address).is_err() {
        assert!(
            Instant::now() < deadline,
            "herald serve did not listen on {address}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let (status, body) = get(&address, "/v1/inbox", &key);
    assert!(status.contains("200"), "{status}: {body}");
    assert!(body.contains("\"unread\":0"), "{body}");
    let (status, _) = get(&address, "/v1/inbox", "hk_0000000000000000_00");
    assert!(status.contains("401"), "{status}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        !std::path::Path::new(&s.path("elsewhere.db")).exists(),
        "the flag's database wins over the file's"
    );
}
