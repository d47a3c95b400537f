//! `herald listen`: the real binary on loopback prints an event Herald's own signer signed
//! (one JSON line with its `webhook_id`, answered 2xx), refuses a badly signed or unsigned
//! one with 401 and prints nothing of it on stdout, prints the event `herald work` sends a
//! partner's endpoint registered at it, refuses to listen beyond loopback, and stops
//! cleanly on SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use herald_delivery::{signature_header, Secret};
use herald_kit::world::{register_relay_endpoint, relay_world};
use herald_store::Mode;
use serde_json::{json, Value};

use crate::common::{loopback_address, read_store, wait_listening, Scratch};

/// A partner's aggregated event, as the worker sends it.
fn partner_event() -> Value {
    json!({
        "type": "message.published",
        "timestamp": "2026-11-25T10:04:29.123Z",
        "data": {
            "message": {"id": "incident-teams", "category": "service_incident", "cloud": "global",
                        "accepted_at": 1_795_601_069_123_i64},
            "content": {"title": "Teams is degraded", "body": "We are on it.", "locale": "en"},
            "customers": ["contoso", "northwind"],
            "subscriptions": ["contoso-e3", "northwind-e5"]
        }
    })
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// POSTs `body` to `address` with the given headers; the answer's status.
fn post(address: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut request = reqwest::Client::new()
                .post(format!("http://{address}/hooks"))
                .header("content-type", "application/json")
                .body(body.to_vec());
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            request
                .send()
                .await
                .expect("the receiver answers")
                .status()
                .as_u16()
        })
}

/// The headers Herald's sender puts on an event signed with `secret` now.
fn signed(secret: &Secret, id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let now = now_seconds();
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", now.to_string()),
        (
            "webhook-signature",
            signature_header(std::slice::from_ref(secret), id, now, body),
        ),
    ]
}

fn listen(secret: &Secret, address: &str, json: bool) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .args([
            "listen",
            "--secret",
            &secret.to_string(),
            "--listen",
            address,
        ])
        .env_remove("HERALD_LISTEN_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if json {
        command.arg("--json");
    }
    command.spawn().expect("herald listen starts")
}

/// SIGTERM, then what it printed; asserts it exited 0.
fn stop(listener: Child) -> (String, String) {
    let killed = Command::new("kill")
        .args(["-TERM", &listener.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = listener.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    assert!(stderr.contains("herald listen: stopped"), "{stderr}");
    (stdout, stderr)
}

#[test]
fn listen_prints_an_event_herald_signed_as_json_and_refuses_a_badly_signed_one() {
    let secret = Secret::generate().unwrap();
    let address = loopback_address();
    let listener = listen(&secret, &address, true);
    wait_listening(&address);

    let body = serde_json::to_vec(&partner_event()).unwrap();
    let status = post(&address, &signed(&secret, "msg_good", &body), &body);
    assert!((200..300).contains(&status), "{status}");

    let other = Secret::generate().unwrap();
    let status = post(&address, &signed(&other, "msg_forged", &body), &body);
    assert_eq!(status, 401);
    assert_eq!(post(&address, &[], &body), 401);
    let mut tampered = signed(&secret, "msg_tampered", &body);
    tampered[0].1 = "msg_other".to_owned();
    assert_eq!(post(&address, &tampered, &body), 401);

    let (stdout, stderr) = stop(listener);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let mut expected = partner_event();
    expected["webhook_id"] = json!("msg_good");
    assert_eq!(lines, vec![expected], "{stdout}");
    assert!(stderr.contains(&format!("http://{address}/")), "{stderr}");
    assert!(stderr.contains("--webhooks-allow-private"), "{stderr}");
    assert!(stderr.contains("refused webhook msg_forged"), "{stderr}");
    assert!(stderr.contains("refused webhook msg_other"), "{stderr}");
    assert!(stderr.contains("refused a request without"), "{stderr}");
}

#[test]
fn listen_prints_an_event_readably_with_its_ids_escaped() {
    let secret = Secret::generate().unwrap();
    let address = loopback_address();
    let listener = listen(&secret, &address, false);
    wait_listening(&address);
    let mut event = partner_event();
    event["data"]["message"]["id"] = json!("incident\u{1b}[2J");
    let body = serde_json::to_vec(&event).unwrap();
    let status = post(&address, &signed(&secret, "msg_1", &body), &body);
    assert!((200..300).contains(&status), "{status}");
    let (stdout, _) = stop(listener);
    assert!(
        stdout.contains(
            "msg_1  message.published  message incident\\u{1b}[2J (service_incident)  \"Teams is degraded\""
        ),
        "{stdout}"
    );
    assert!(stdout.contains("customers: contoso, northwind"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
}

#[test]
fn listen_refuses_an_address_beyond_loopback_and_a_malformed_secret() {
    let s = Scratch::new();
    let secret = Secret::generate().unwrap().to_string();
    let run = s
        .run(&["listen", "--secret", &secret, "--listen", "0.0.0.0:0"])
        .failure();
    assert!(
        run.stderr.contains("not a loopback address"),
        "{}",
        run.stderr
    );
    let run = s.run(&["listen", "--secret", "hunter2"]).failure();
    assert!(run.stderr.contains("whsec_"), "{}", run.stderr);
}

#[test]
fn listen_prints_the_event_herald_work_sends_a_partners_endpoint_registered_at_it() {
    let s = Scratch::new();
    let world = s.write_json("world.json", &serde_json::to_value(relay_world(2)).unwrap());
    s.run(&["import", &world, "--db", &s.db()]).success();
    let address = loopback_address();
    let secret = Secret::generate().unwrap();
    read_store(&s.db(), async |store| {
        let url = format!("http://{address}/relay");
        register_relay_endpoint(
            store,
            &url,
            &secret.to_string(),
            Mode::Aggregated,
            1_700_000_000_000,
        )
        .await
        .unwrap();
    });
    s.publish_exchange_incident();

    let listener = listen(&secret, &address, true);
    wait_listening(&address);
    s.run(&[
        "work",
        "--db",
        &s.db(),
        "--webhooks-allow-private",
        "--until-idle",
    ])
    .success();
    let (stdout, stderr) = stop(listener);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}\n{stderr}");
    let event = &lines[0];
    assert_eq!(event["type"], "message.published");
    assert!(event["webhook_id"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    assert_eq!(event["data"]["message"]["id"], "exchange-down");
    assert_eq!(event["data"]["content"]["title"], "Mail delayed");
    assert_eq!(event["data"]["customers"], json!(["c000000", "c000001"]));
    assert!(!stderr.contains("refused"), "{stderr}");
}
