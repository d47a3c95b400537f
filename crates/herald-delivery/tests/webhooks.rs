//! The webhook channel against a receiver Herald did not write: a Python server that
//! verifies every request with the PyPI `standardwebhooks` package and reports what it
//! saw, one JSON line per request (`tests/support/webhook_receiver.py`).
//!
//! Signatures verify, also across a secret rotation (both secrets during the overlap, only
//! the new one after); events share one kept-alive connection; 410 Gone disables the
//! endpoint; redirects are not followed; a slow receiver is given up on within the bound;
//! and the guard keeps Herald from reaching inner addresses, at registration and at send
//! time, unless told otherwise.

mod support;
#[path = "support/webhook_receiver.rs"]
mod webhook_receiver;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use herald_delivery::{check_url, Guard, GuardError, Secret, Sender, SenderConfig};
use herald_store::scratch::Scratch;
use herald_store::{Actor, AttemptOutcome, Mode, NewEndpoint, Principal};
use serde_json::json;
use webhook_receiver::Receiver;

/// A sender allowed to reach the receiver on loopback.
fn loopback_sender() -> Sender {
    Sender::new(SenderConfig {
        guard: Guard {
            allow_private: true,
        },
        ..SenderConfig::default()
    })
    .expect("a sender")
}

/// Now, in Unix seconds: the receiver checks the timestamp is recent.
fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn event(n: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "message.published", "timestamp": "2026-11-25T10:00:00Z", "data": {"n": n, "title": "Teams sign-in failures — Störung 障害"}})).unwrap()
}

#[tokio::test]
async fn every_event_is_signed_so_that_the_reference_implementation_verifies_it_over_one_connection(
) {
    let secret = Secret::generate().unwrap();
    let other = Secret::generate().unwrap();
    let mut receiver = Receiver::start();
    receiver.know("secret", &secret);
    receiver.know("other", &other);
    let sender = loopback_sender();
    let mut connections = std::collections::BTreeSet::new();
    for n in 0..5 {
        let id = format!("msg_{n}");
        let body = event(n);
        let attempt = sender
            .send(
                &receiver.url("127.0.0.1", "/ok"),
                std::slice::from_ref(&secret),
                &id,
                now_s(),
                &body,
            )
            .await;
        assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
        assert_eq!(attempt.code, Some(200));
        assert_eq!(attempt.reply.as_deref(), Some(r#"{"ok": true}"#));
        assert_eq!(attempt.error, None);
        let seen = receiver.next();
        assert_eq!(seen["verified"], json!({"secret": true, "other": false}));
        assert_eq!(seen["webhook_id"], id);
        assert_eq!(seen["content_type"], "application/json");
        assert_eq!(seen["body"].as_str().unwrap().as_bytes(), &body[..]);
        connections.insert(seen["client_port"].as_u64().unwrap());
    }
    assert_eq!(
        connections.len(),
        1,
        "one kept-alive connection carries every event: {connections:?}"
    );
}

#[tokio::test]
async fn across_a_rotation_both_secrets_verify_during_the_overlap_and_only_the_new_one_after() {
    let scratch = Scratch::new().await.unwrap();
    let store = scratch.open().await.unwrap();
    let (old, new) = (Secret::generate().unwrap(), Secret::generate().unwrap());
    let mut receiver = Receiver::start();
    receiver.know("old", &old);
    receiver.know("new", &new);
    let vendor = Principal::Vendor {
        cloud: "global".into(),
    };
    let t0 = 1_800_000_000_000;
    let endpoint = store
        .create_endpoint(
            &vendor,
            NewEndpoint {
                url: receiver.url("127.0.0.1", "/ok"),
                description: "operations".into(),
                categories: None,
                mode: None,
            },
            &old.to_string(),
            t0,
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(endpoint.mode, Mode::Aggregated);
    let hour = 3_600_000;
    let sender = loopback_sender();
    let send_at = |at: i64| {
        let (store, sender, endpoint) = (&store, &sender, &endpoint);
        async move {
            let secrets: Vec<Secret> = store
                .signing_secrets(&endpoint.id, at)
                .await
                .unwrap()
                .iter()
                .map(|s| Secret::parse(s).unwrap())
                .collect();
            let attempt = sender
                .send(&endpoint.url, &secrets, "msg_rotation", now_s(), &event(0))
                .await;
            assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
            secrets.len()
        }
    };

    assert_eq!(send_at(t0 + hour - 1).await, 1, "before the rotation");
    assert_eq!(
        receiver.next()["verified"],
        json!({"old": true, "new": false})
    );
    store
        .rotate_endpoint_secret(
            &vendor,
            &endpoint.id,
            &new.to_string(),
            t0 + hour,
            hour,
            &Actor::Operator,
        )
        .await
        .unwrap()
        .expect("the vendor's endpoint");
    assert_eq!(send_at(t0 + hour + 60_000).await, 2, "during the overlap");
    let during = receiver.next();
    assert_eq!(during["verified"], json!({"old": true, "new": true}));
    assert_eq!(during["signatures"].as_array().unwrap().len(), 2);
    assert_eq!(send_at(t0 + 2 * hour).await, 1, "once the overlap is over");
    let after = receiver.next();
    assert_eq!(after["verified"], json!({"old": false, "new": true}));
    assert_eq!(after["signatures"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_receiver_answering_410_is_gone_and_its_endpoint_disabled() {
    let scratch = Scratch::new().await.unwrap();
    let store = scratch.open().await.unwrap();
    // An endpoint belongs to an organisation of the directory.
    let world: herald_domain::wire::World = serde_json::from_value(json!({
        "products": [], "partners": [{"id": "northwind", "kind": "direct_bill"}],
        "customers": [], "subscriptions": []
    }))
    .unwrap();
    store
        .import(
            &herald_domain::Directory::build(world).unwrap(),
            1,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let secret = Secret::generate().unwrap();
    let mut receiver = Receiver::start();
    receiver.know("secret", &secret);
    let partner = Principal::Partner {
        cloud: "global".into(),
        partner: "northwind".into(),
    };
    let endpoint = store
        .create_endpoint(
            &partner,
            NewEndpoint {
                url: receiver.url("127.0.0.1", "/gone"),
                description: String::new(),
                categories: Some(vec!["service_incident".into()]),
                mode: Some(Mode::PerCustomer),
            },
            &secret.to_string(),
            1,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let listed = store
        .endpoints_for("global", "service_incident")
        .await
        .unwrap();
    assert_eq!(listed, vec![endpoint.clone()]);

    let attempt = loopback_sender()
        .send(&endpoint.url, &[secret], "msg_gone", now_s(), &event(0))
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Gone, "{attempt:?}");
    assert_eq!(attempt.code, Some(410));
    assert_eq!(attempt.reply.as_deref(), Some("this endpoint is gone"));
    assert_eq!(receiver.next()["verified"]["secret"], true);

    let disabled = store.endpoint_gone(&endpoint.id, 2).await.unwrap().unwrap();
    assert_eq!(disabled.disabled_at, Some(2));
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("the receiver answered 410 Gone")
    );
    assert!(store
        .endpoints_for("global", "service_incident")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let secret = Secret::generate().unwrap();
    let mut receiver = Receiver::start();
    receiver.know("secret", &secret);
    let sender = loopback_sender();
    let secrets = [secret];
    let attempt = sender
        .send(
            &receiver.url("127.0.0.1", "/redirect"),
            &secrets,
            "msg_redirect",
            now_s(),
            &event(0),
        )
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Failed, "{attempt:?}");
    assert_eq!(attempt.code, Some(302));
    assert!(
        attempt
            .error
            .as_deref()
            .unwrap()
            .contains("does not follow"),
        "{attempt:?}"
    );
    assert_eq!(receiver.next()["path"], "/redirect");
    // Had the redirect been followed, /target would be reported before this marker.
    sender
        .send(
            &receiver.url("127.0.0.1", "/marker"),
            &secrets,
            "msg_marker",
            now_s(),
            b"{}",
        )
        .await;
    assert_eq!(receiver.next()["path"], "/marker");
}

#[tokio::test]
async fn a_slow_receiver_is_given_up_on_within_the_bound() {
    let secret = Secret::generate().unwrap();
    let mut receiver = Receiver::start();
    receiver.know("secret", &secret);
    let bound = Duration::from_millis(500);
    let sender = Sender::new(SenderConfig {
        timeout: bound,
        guard: Guard {
            allow_private: true,
        },
        ..SenderConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let attempt = sender
        .send(
            &receiver.url("127.0.0.1", "/slow"),
            &[secret],
            "msg_slow",
            now_s(),
            &event(0),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(attempt.outcome, AttemptOutcome::Failed, "{attempt:?}");
    assert_eq!(
        attempt.error.as_deref(),
        Some("the receiver did not answer in time")
    );
    assert!(
        took >= bound && took < bound + Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(receiver.next()["path"], "/slow");
}

#[tokio::test]
async fn a_receiver_not_listening_fails_and_may_be_tried_again() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", closed.local_addr().unwrap());
    drop(closed);
    let attempt = loopback_sender()
        .send(
            &url,
            &[Secret::generate().unwrap()],
            "msg_closed",
            now_s(),
            b"{}",
        )
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Failed, "{attempt:?}");
    assert_eq!(attempt.code, None);
    assert!(attempt.error.is_some());
}

#[tokio::test]
async fn the_guard_refuses_inner_addresses_at_registration_unless_allowed() {
    let refused = Guard::default();
    let allowed = Guard {
        allow_private: true,
    };
    for (url, kind) in [
        ("http://127.0.0.1:8080/hooks", "a loopback address"),
        ("https://10.1.2.3/hooks", "a private address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "the cloud metadata address",
        ),
        ("http://[::1]/hooks", "a loopback address"),
        ("http://[fd00:ec2::254]/", "the cloud metadata address"),
        ("http://[::ffff:192.168.0.1]/", "a private address"),
        ("http://localhost:8080/hooks", "a loopback address"),
        ("http://2130706433/", "a loopback address"),
    ] {
        match check_url(url, refused).await {
            Err(GuardError::Refused { kind: why, .. }) => assert_eq!(why, kind, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
        check_url(url, allowed)
            .await
            .unwrap_or_else(|e| panic!("{url} is allowed when private addresses are: {e}"));
    }
    assert!(check_url("https://1.1.1.1/hooks", refused).await.is_ok());
    for url in ["ftp://1.1.1.1/", "file:///etc/passwd"] {
        assert!(
            matches!(check_url(url, allowed).await, Err(GuardError::Scheme(_))),
            "{url}"
        );
    }
    assert!(matches!(
        check_url("not a url", allowed).await,
        Err(GuardError::Unparsable { .. })
    ));
    let e = check_url("http://localhost/", refused).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"localhost\" is 127.0.0.1, a loopback address, which Herald does not send to; register a public address"
    );
}

/// Every kind of address the guard refuses, as the word it gives, and addresses that must
/// pass (`None`): each range of IANA's special-purpose registries, and every way an IPv6
/// address can wrap an IPv4 one, wrapping an inner and a public address.
const ADDRESSES: &[(&str, Option<&str>)] = &[
    ("1.1.1.1", None),
    ("8.8.8.8", None),
    ("100.63.255.255", None),
    ("100.128.0.1", None),
    ("172.15.0.1", None),
    ("172.32.0.1", None),
    ("198.17.255.255", None),
    ("198.20.0.1", None),
    ("2606:4700:4700::1111", None),
    ("::ffff:1.1.1.1", None),
    ("::ffff:0:1.1.1.1", None),
    ("2002:101:101::1", None),
    ("64:ff9b::1.1.1.1", None),
    ("0.0.0.0", Some("an unspecified address")),
    ("0.1.2.3", Some("an unspecified address")),
    ("10.1.2.3", Some("a private address")),
    ("172.16.0.1", Some("a private address")),
    ("172.31.255.255", Some("a private address")),
    ("192.168.1.1", Some("a private address")),
    ("100.64.0.1", Some("a shared (carrier-grade NAT) address")),
    (
        "100.127.255.254",
        Some("a shared (carrier-grade NAT) address"),
    ),
    ("127.0.0.1", Some("a loopback address")),
    ("127.255.0.9", Some("a loopback address")),
    ("169.254.169.254", Some("the cloud metadata address")),
    ("169.254.10.1", Some("a link-local address")),
    ("192.0.0.9", Some("an IETF protocol assignment")),
    ("192.0.0.170", Some("an IETF protocol assignment")),
    ("192.0.2.1", Some("a documentation address")),
    ("198.51.100.7", Some("a documentation address")),
    ("203.0.113.7", Some("a documentation address")),
    ("198.18.0.1", Some("a benchmarking address")),
    ("198.19.255.254", Some("a benchmarking address")),
    ("192.88.99.1", Some("a reserved address")),
    ("224.0.0.1", Some("a multicast address")),
    ("239.255.255.250", Some("a multicast address")),
    ("240.0.0.1", Some("a reserved address")),
    ("254.1.2.3", Some("a reserved address")),
    ("255.255.255.255", Some("the broadcast address")),
    ("::", Some("an unspecified address")),
    ("::1", Some("a loopback address")),
    ("fc00::1", Some("a unique local (private) address")),
    ("fd12:3456::1", Some("a unique local (private) address")),
    ("fd00:ec2::254", Some("the cloud metadata address")),
    ("fe80::1", Some("a link-local address")),
    ("febf::1", Some("a link-local address")),
    ("fec0::1", Some("a site-local address")),
    ("ff02::1", Some("a multicast address")),
    ("ff0e::1", Some("a multicast address")),
    ("2001:db8::1", Some("a documentation address")),
    ("3fff::1", Some("a documentation address")),
    ("100::1", Some("a discard-only address")),
    ("2001:2::1", Some("a benchmarking address")),
    ("2001:10::1", Some("an IETF protocol assignment")),
    ("5f00::1", Some("a segment routing (SRv6) address")),
    ("4000::1", Some("a reserved address")),
    ("::ffff:127.0.0.1", Some("a loopback address")),
    ("::ffff:10.0.0.1", Some("a private address")),
    ("::ffff:169.254.169.254", Some("the cloud metadata address")),
    ("::ffff:0:127.0.0.1", Some("a loopback address")),
    ("::ffff:0:192.168.0.1", Some("a private address")),
    ("::ffff:0:203.0.113.1", Some("a documentation address")),
    ("::10.0.0.1", Some("a private address")),
    ("::127.0.0.1", Some("a loopback address")),
    ("2002:7f00:1::1", Some("a loopback address")),
    ("2002:a9fe:a9fe::1", Some("the cloud metadata address")),
    ("2002:c0a8:101:ffff::1", Some("a private address")),
    ("64:ff9b::192.168.0.1", Some("a private address")),
    ("64:ff9b::127.0.0.1", Some("a loopback address")),
    (
        "64:ff9b::169.254.169.254",
        Some("the cloud metadata address"),
    ),
    ("64:ff9b:1::1.1.1.1", Some("a local-use NAT64 address")),
    ("64:ff9b:1:ffff::a00:1", Some("a local-use NAT64 address")),
    (
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        Some("a Teredo tunnel address"),
    ),
    (
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
        Some("a Teredo tunnel address"),
    ),
];

/// An address as the host of a URL.
fn host(address: &str) -> String {
    if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_owned()
    }
}

#[tokio::test]
async fn the_guard_judges_every_special_range_and_every_wrapper_of_ipv4_alike_at_registration_and_at_send_time(
) {
    let sender = Sender::new(SenderConfig::default()).unwrap();
    let secrets = [Secret::generate().unwrap()];
    let mut wrong = Vec::new();
    for &(address, expected) in ADDRESSES {
        let url = format!("https://{}/hooks", host(address));
        let registered = match check_url(&url, Guard::default()).await {
            Ok(_) => None,
            Err(GuardError::Refused { kind, .. }) => Some(kind),
            Err(e) => panic!("{url}: {e}"),
        };
        if registered != expected {
            wrong.push(format!(
                "{address} at registration: {registered:?}, not {expected:?}"
            ));
            continue;
        }
        if let Some(kind) = expected {
            // Refused before connecting: nothing leaves the machine.
            let attempt = sender
                .send(&url, &secrets, "msg_guard", now_s(), b"{}")
                .await;
            let error = attempt.error.as_deref().unwrap_or_default();
            if attempt.outcome != AttemptOutcome::Refused || !error.contains(kind) {
                wrong.push(format!("{address} at send time: {attempt:?}"));
            }
        }
        let allowed = Guard {
            allow_private: true,
        };
        assert!(check_url(&url, allowed).await.is_ok(), "{url}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn the_guard_refuses_inner_addresses_at_send_time_also_behind_a_name() {
    let secret = Secret::generate().unwrap();
    let mut receiver = Receiver::start();
    receiver.know("secret", &secret);
    let guarded = Sender::new(SenderConfig::default()).unwrap();
    let secrets = [secret];
    for url in [
        receiver.url("127.0.0.1", "/literal"),
        receiver.url("localhost", "/name"),
        receiver.url("[::1]", "/v6"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/hooks".to_owned(),
    ] {
        let attempt = guarded
            .send(&url, &secrets, "msg_inner", now_s(), b"{}")
            .await;
        assert_eq!(
            attempt.outcome,
            AttemptOutcome::Refused,
            "{url}: {attempt:?}"
        );
        assert_eq!(attempt.code, None);
        assert!(
            attempt
                .error
                .as_deref()
                .unwrap()
                .contains("which Herald does not send to"),
            "{url}: {attempt:?}"
        );
    }
    // None of them reached the receiver: the first request it reports is this one, sent
    // by name through a sender allowed to reach loopback.
    let attempt = loopback_sender()
        .send(
            &receiver.url("localhost", "/allowed"),
            &secrets,
            "msg_allowed",
            now_s(),
            b"{}",
        )
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    let seen = receiver.next();
    assert_eq!(seen["path"], "/allowed");
    assert_eq!(seen["verified"]["secret"], true);
}
