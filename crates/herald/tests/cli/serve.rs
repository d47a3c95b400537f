//! `herald serve`: it answers over HTTP with the keys `herald keys` makes, takes its
//! settings from a configuration file, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};

use crate::common::{get, imported, loopback_address, wait_listening};

#[test]
fn serve_answers_with_keys_from_the_cli_and_stops_on_sigterm() {
    let s = imported();
    let db = s.db();
    let key = s.token(&["--partner", "fabrikam"]);
    let address = loopback_address();
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
    wait_listening(&address);

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

#[test]
fn serve_logs_each_request_as_json_with_its_route_and_key_id_but_never_the_secret() {
    let s = imported();
    let db = s.db();
    let token = s.token(&["--partner", "fabrikam"]);
    let (id, secret) = token
        .strip_prefix("hk_")
        .and_then(|rest| rest.split_once('_'))
        .expect("a token is hk_<id>_<secret>");
    let address = loopback_address();
    let server = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--db", &db, "--listen", &address, "--workers", "0"])
        .args(["--log-format", "json"])
        .env_remove("HERALD_LOG")
        .env_remove("HERALD_LOG_FORMAT")
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald serve starts");
    wait_listening(&address);
    let (status, body) = get(&address, "/v1/messages/incident-teams-everywhere", &token);
    assert!(status.contains("404"), "not published: {status}: {body}");
    let (status, _) = get(&address, "/v1/inbox", &token);
    assert!(status.contains("200"), "{status}");
    let wrong = format!("hk_{id}_{}", "0".repeat(secret.len()));
    let (status, _) = get(&address, "/v1/inbox", &wrong);
    assert!(status.contains("401"), "{status}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains(secret),
        "the key's secret is in the log:\n{stderr}"
    );
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "herald::request")
        .collect();
    let routes: Vec<(&str, u64)> = requests
        .iter()
        .map(|l| (l["route"].as_str().unwrap(), l["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        routes,
        [
            ("/v1/messages/{id}", 404),
            ("/v1/inbox", 200),
            ("/v1/inbox", 401)
        ],
        "the route templates, not the paths: {stderr}"
    );
    for line in &requests {
        assert_eq!(line["method"], "GET", "{line}");
        assert_eq!(line["key"], id, "{line}");
        assert!(
            line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{line}"
        );
        assert_eq!(line["level"], "INFO", "{line}");
    }
}
