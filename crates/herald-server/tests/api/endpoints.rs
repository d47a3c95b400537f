//! Webhook endpoints through the API: the secret is shown once, each owner sees only its
//! own endpoints, refusals name their field, rotation and disabling change what is
//! signed and sent, and a test event reaches a receiver that verifies its signature with
//! the PyPI `standardwebhooks` package.

use herald_delivery::Secret;
use herald_server::config::WebhookConfig;
use herald_server::ServeConfig;
use herald_store::{Actor, KeyFor, Principal};
use serde_json::{json, Value};

use crate::common::Server;
use crate::webhook_receiver::Receiver;

/// A public address that no test ever sends to (TEST-NET-3, reserved for documentation).
const PUBLIC_URL: &str = "https://1.1.1.1/hooks";

async fn vendor(server: &Server, cloud: &str) -> String {
    server
        .key(KeyFor::Vendor {
            cloud: cloud.into(),
        })
        .await
}

/// Registers `body` and returns the answer, which must be 201.
async fn register(server: &Server, key: &str, body: Value) -> Value {
    let (status, answer) = server.post(key, "/v1/endpoints", &body).await;
    assert_eq!(status, 201, "{answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_shown_once_and_rotation_signs_with_both_for_the_overlap() {
    let server = Server::start().await;
    let key = vendor(&server, "global").await;
    let created = register(
        &server,
        &key,
        json!({"url": PUBLIC_URL, "description": "operations", "categories": ["service_incident", "operational", "service_incident"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ep_") && id.len() == 19, "{id}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    Secret::parse(&secret).expect("a Standard Webhooks secret");
    assert_eq!(created["url"], PUBLIC_URL);
    assert_eq!(
        created["categories"],
        json!(["operational", "service_incident"])
    );
    assert_eq!(created["mode"], "aggregated");
    assert_eq!(created["owner_kind"], "vendor");
    assert_eq!(created["disabled_at"], Value::Null);

    let (status, list) = server.get(&key, "/v1/endpoints").await;
    assert_eq!(status, 200);
    assert_eq!(list["endpoints"].as_array().unwrap().len(), 1);
    let (status, one) = server.get(&key, &format!("/v1/endpoints/{id}")).await;
    assert_eq!(status, 200);
    for shown in [&list, &one] {
        let text = shown.to_string();
        assert!(
            !text.contains("whsec_") && !text.contains("\"secret\""),
            "{text}"
        );
    }

    let (status, rotated) = server
        .post(&key, &format!("/v1/endpoints/{id}/rotate"), &Value::Null)
        .await;
    assert_eq!(status, 200, "{rotated}");
    let newer = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(newer, secret);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let signing = server.store.signing_secrets(&id, now()).await.unwrap();
    assert_eq!(
        signing,
        vec![newer.clone(), secret.clone()],
        "both sign now"
    );
    let day = 24 * 60 * 60 * 1000;
    assert_eq!(
        server
            .store
            .signing_secrets(&id, now() + day + 1000)
            .await
            .unwrap(),
        vec![newer.clone()],
        "only the new one signs after the overlap"
    );

    let (status, rotated) = server
        .post(
            &key,
            &format!("/v1/endpoints/{id}/rotate"),
            &json!({"overlap_seconds": 0}),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let (status, _) = server.get(&key, &format!("/v1/endpoints/{id}")).await;
    assert_eq!(status, 200);
    let newest = rotated["secret"].as_str().unwrap().to_owned();
    let signing = server.store.signing_secrets(&id, now()).await.unwrap();
    assert_eq!(
        signing,
        vec![newest],
        "an overlap of 0 retires the old one at once"
    );

    let (status, problem) = server
        .post(
            &key,
            &format!("/v1/endpoints/{id}/rotate"),
            &json!({"overlap_seconds": 700_000}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("overlap_seconds"),
        "{problem}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_owner_sees_and_changes_only_its_own_endpoints() {
    let server = Server::with_conformance().await;
    let owners = [
        vendor(&server, "global").await,
        vendor(&server, "us-gov").await,
        server.key(KeyFor::Partner("northwind".into())).await,
        server.key(KeyFor::Partner("tailspin".into())).await,
        server.key(KeyFor::Customer("adatum".into())).await,
    ];
    let mut ids = Vec::new();
    for key in &owners {
        let created = register(&server, key, json!({"url": PUBLIC_URL})).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for (i, key) in owners.iter().enumerate() {
        let (_, list) = server.get(key, "/v1/endpoints").await;
        let listed: Vec<&str> = list["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, vec![ids[i].as_str()], "owner {i}");
        for (j, id) in ids.iter().enumerate().filter(|(j, _)| *j != i) {
            for (method, path) in [
                ("GET", format!("/v1/endpoints/{id}")),
                ("POST", format!("/v1/endpoints/{id}/rotate")),
                ("POST", format!("/v1/endpoints/{id}/disable")),
                ("POST", format!("/v1/endpoints/{id}/enable")),
                ("POST", format!("/v1/endpoints/{id}/test")),
                ("DELETE", format!("/v1/endpoints/{id}")),
            ] {
                let (status, body) = match method {
                    "GET" => server.get(key, &path).await,
                    "POST" => server.post(key, &path, &Value::Null).await,
                    _ => server.delete(key, &path).await,
                };
                assert_eq!(
                    status, 404,
                    "owner {i} {method} {path} of owner {j}: {body}"
                );
                assert_eq!(body["type"], "/problems/not-found");
            }
        }
    }
    // Nothing another owner asked changed anything.
    let northwind = Principal::Partner {
        cloud: "global".into(),
        partner: "northwind".into(),
    };
    let kept = server
        .store
        .endpoint(&northwind, &ids[2])
        .await
        .unwrap()
        .unwrap();
    assert!(kept.enabled());
    assert_eq!(
        server
            .store
            .signing_secrets(&ids[2], 0)
            .await
            .unwrap()
            .len(),
        1
    );

    let (status, _) = server
        .delete(&owners[2], &format!("/v1/endpoints/{}", ids[2]))
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .get(&owners[2], &format!("/v1/endpoints/{}", ids[2]))
        .await;
    assert_eq!(status, 404);
    assert!(server
        .store
        .signing_secrets(&ids[2], 0)
        .await
        .unwrap()
        .is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_endpoint_names_its_field_and_writes_nothing() {
    let server = Server::with_conformance().await;
    let customer = server.key(KeyFor::Customer("adatum".into())).await;
    let partner = server.key(KeyFor::Partner("northwind".into())).await;
    let vendor = vendor(&server, "global").await;
    for (key, body, field) in [
        (&customer, json!({"url": "http://10.0.0.5/hooks"}), "url"),
        (&customer, json!({"url": "http://127.0.0.1:9000/"}), "url"),
        (&customer, json!({"url": "http://localhost:9000/"}), "url"),
        (
            &customer,
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
            "url",
        ),
        (&customer, json!({"url": "http://[::1]/"}), "url"),
        (
            &customer,
            json!({"url": "http://[2002:a9fe:a9fe::1]/"}),
            "url",
        ),
        (
            &customer,
            json!({"url": "http://[64:ff9b::10.0.0.5]/"}),
            "url",
        ),
        (
            &customer,
            json!({"url": "http://[::ffff:0:127.0.0.1]/"}),
            "url",
        ),
        (
            &customer,
            json!({"url": "http://[2001:0:4136:e378::1]/"}),
            "url",
        ),
        (&customer, json!({"url": "https://198.51.100.7/"}), "url"),
        (&customer, json!({"url": "ftp://1.1.1.1/"}), "url"),
        (&customer, json!({"url": "not a url"}), "url"),
        (
            &customer,
            json!({"url": PUBLIC_URL, "categories": ["gossip"]}),
            "categories",
        ),
        (
            &customer,
            json!({"url": PUBLIC_URL, "categories": []}),
            "categories",
        ),
        (
            &customer,
            json!({"url": PUBLIC_URL, "mode": "per_customer"}),
            "mode",
        ),
        (
            &vendor,
            json!({"url": PUBLIC_URL, "mode": "per_customer"}),
            "mode",
        ),
        (
            &vendor,
            json!({"url": PUBLIC_URL, "description": "x".repeat(1001)}),
            "description",
        ),
    ] {
        let (status, problem) = server.post(key, "/v1/endpoints", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(problem["type"], "/problems/invalid-endpoint", "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("`{field}`")), "{body}: {detail}");
    }
    let (_, problem) = server
        .post(
            &customer,
            "/v1/endpoints",
            &json!({"url": "http://10.0.0.5/hooks"}),
        )
        .await;
    assert_eq!(
        problem["detail"],
        "`url`: \"10.0.0.5\" is 10.0.0.5, a private address, which Herald does not send to; register a public address"
    );
    let (status, problem) = server
        .post(
            &customer,
            "/v1/endpoints",
            &json!({"description": "no url"}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    for key in [&customer, &vendor] {
        let (_, list) = server.get(key, "/v1/endpoints").await;
        assert_eq!(list["endpoints"], json!([]), "nothing was written");
    }
    let created = register(
        &server,
        &partner,
        json!({"url": PUBLIC_URL, "mode": "per_customer"}),
    )
    .await;
    assert_eq!(created["mode"], "per_customer");
    assert_eq!(created["owner"], "northwind");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_endpoint_is_sent_nothing_until_enabled() {
    let server = Server::start().await;
    let key = vendor(&server, "global").await;
    let incidents = register(
        &server,
        &key,
        json!({"url": PUBLIC_URL, "categories": ["service_incident"]}),
    )
    .await;
    let everything = register(&server, &key, json!({"url": PUBLIC_URL})).await;
    let sent_to = |category: &'static str| {
        let store = server.store.clone();
        async move {
            let mut ids: Vec<String> = store
                .endpoints_for("global", category)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let both = {
        let mut ids = vec![
            incidents["id"].as_str().unwrap().to_owned(),
            everything["id"].as_str().unwrap().to_owned(),
        ];
        ids.sort();
        ids
    };
    assert_eq!(sent_to("service_incident").await, both);
    assert_eq!(
        sent_to("product").await,
        vec![everything["id"].as_str().unwrap()]
    );
    assert!(server
        .store
        .endpoints_for("us-gov", "product")
        .await
        .unwrap()
        .is_empty());

    let path = format!("/v1/endpoints/{}", incidents["id"].as_str().unwrap());
    let (status, disabled) = server
        .post(
            &key,
            &format!("{path}/disable"),
            &json!({"reason": "moving to a new receiver"}),
        )
        .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["disabled_reason"], "moving to a new receiver");
    assert!(disabled["disabled_at"].is_i64());
    assert_eq!(
        sent_to("service_incident").await,
        vec![everything["id"].as_str().unwrap()]
    );
    let (status, enabled) = server
        .post(&key, &format!("{path}/enable"), &Value::Null)
        .await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["disabled_at"], Value::Null);
    assert_eq!(sent_to("service_incident").await, both);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_event_reaches_a_receiver_that_verifies_its_signature() {
    let server = Server::start_with(ServeConfig {
        webhooks: WebhookConfig {
            allow_private: true,
        },
        ..ServeConfig::default()
    })
    .await;
    let key = vendor(&server, "global").await;
    let mut receiver = Receiver::start();
    let created = register(
        &server,
        &key,
        json!({"url": receiver.url("localhost", "/hooks")}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    receiver.know(
        "registered",
        &Secret::parse(created["secret"].as_str().unwrap()).unwrap(),
    );

    let (status, test) = server
        .post(&key, &format!("/v1/endpoints/{id}/test"), &Value::Null)
        .await;
    assert_eq!(status, 200, "{test}");
    assert_eq!(test["attempt"]["outcome"], "delivered", "{test}");
    assert_eq!(test["attempt"]["code"], 200);
    let seen = receiver.next();
    assert_eq!(seen["path"], "/hooks");
    assert_eq!(seen["verified"], json!({"registered": true}));
    assert_eq!(seen["webhook_id"], test["webhook_id"]);
    let event: Value = serde_json::from_str(seen["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["type"], "test");
    assert!(
        event["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{event}"
    );
    assert_eq!(event["data"]["endpoint"], id.as_str());

    let (_, rotated) = server
        .post(&key, &format!("/v1/endpoints/{id}/rotate"), &Value::Null)
        .await;
    receiver.know(
        "rotated",
        &Secret::parse(rotated["secret"].as_str().unwrap()).unwrap(),
    );
    let (_, test) = server
        .post(&key, &format!("/v1/endpoints/{id}/test"), &Value::Null)
        .await;
    assert_eq!(test["attempt"]["outcome"], "delivered", "{test}");
    assert_eq!(
        receiver.next()["verified"],
        json!({"registered": true, "rotated": true}),
        "both secrets sign during the overlap"
    );

    let gone = register(
        &server,
        &key,
        json!({"url": receiver.url("127.0.0.1", "/gone")}),
    )
    .await;
    let gone_id = gone["id"].as_str().unwrap();
    let (_, test) = server
        .post(&key, &format!("/v1/endpoints/{gone_id}/test"), &Value::Null)
        .await;
    assert_eq!(test["attempt"]["outcome"], "gone", "{test}");
    assert_eq!(test["attempt"]["code"], 410);
    assert_eq!(receiver.next()["path"], "/gone");
    let (_, after) = server.get(&key, &format!("/v1/endpoints/{gone_id}")).await;
    assert_eq!(after["disabled_reason"], "the receiver answered 410 Gone");

    let (_, metrics) = server.get("", "/metrics").await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("herald_webhook_test_events_total{outcome=\"delivered\"} 2")
            && metrics.contains("herald_webhook_test_events_total{outcome=\"gone\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_event_to_an_inner_address_is_refused_when_sent_too() {
    // An endpoint whose name resolved to a public address at registration and resolves to
    // loopback now, stood for by one stored without the API's check.
    let server = Server::start().await;
    let key = vendor(&server, "global").await;
    let secret = Secret::generate().unwrap();
    let endpoint = server
        .store
        .create_endpoint(
            &Principal::Vendor {
                cloud: "global".into(),
            },
            herald_store::NewEndpoint {
                url: "http://localhost:9/inside".into(),
                description: String::new(),
                categories: None,
                mode: None,
            },
            &secret.to_string(),
            1,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let (status, test) = server
        .post(
            &key,
            &format!("/v1/endpoints/{}/test", endpoint.id),
            &Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{test}");
    assert_eq!(test["attempt"]["outcome"], "refused", "{test}");
    assert!(
        test["attempt"]["error"]
            .as_str()
            .unwrap()
            .contains("a loopback address"),
        "{test}"
    );
    let (_, metrics) = server.get("", "/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("herald_webhook_test_events_total{outcome=\"refused\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}
