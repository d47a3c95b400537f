//! Deliveries through the API after a worker tried them: each partner's webhook event is
//! the very copy it reads through the API; a partner sees, reads and replays only
//! deliveries sent to it; the vendor sees its cloud's; a replay of what is still queued is
//! a conflict.

use herald_delivery::Secret;
use herald_store::KeyFor;
use serde_json::json;

use crate::common::Server;
use crate::webhook_receiver::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_sees_and_replays_its_own_dead_deliveries_and_no_one_elses() {
    let server = Server::with_conformance().await;
    // Northwind's endpoint: a port nothing listens on, so every attempt fails.
    let endpoint = server
        .partner_endpoint(
            "northwind",
            "http://127.0.0.1:9/hooks",
            &Secret::generate().unwrap(),
        )
        .await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let (status, _) = server
        .post(
            &vendor,
            "/v1/messages",
            &json!({"id": "teams-down", "category": "service_incident", "services": ["teams"], "title": "Teams sign-in failures"}),
        )
        .await;
    assert_eq!(status, 201);

    // One attempt each, then dead.
    let tally = server.work_until_idle("0ms").await;
    assert_eq!(tally.dead, 1, "{tally:?}");

    let northwind = server.key(KeyFor::Partner("northwind".into())).await;
    let (status, listed) = server.get(&northwind, "/v1/deliveries").await;
    assert_eq!(status, 200, "{listed}");
    let dead = listed["deliveries"].as_array().unwrap();
    assert_eq!(dead.len(), 1, "{listed}");
    assert_eq!(dead[0]["status"], "dead");
    assert_eq!(dead[0]["channel"], "webhook");
    assert_eq!(dead[0]["to"], endpoint.id.as_str());
    let id = dead[0]["id"].as_i64().unwrap();

    let (status, shown) = server
        .get(&northwind, &format!("/v1/deliveries/{id}"))
        .await;
    assert_eq!(status, 200, "{shown}");
    let attempts = shown["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["outcome"], "failed");
    assert!(
        attempts[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{shown}"
    );

    let (_, vendors) = server.get(&vendor, "/v1/deliveries?status=dead").await;
    assert!(vendors["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == id));

    // Tailspin, also told of the message, sees none of northwind's deliveries.
    let tailspin = server.key(KeyFor::Partner("tailspin".into())).await;
    let (status, _) = server.get(&tailspin, &format!("/v1/deliveries/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(
            &tailspin,
            &format!("/v1/deliveries/{id}/retry"),
            &json!(null),
        )
        .await;
    assert_eq!(status, 404);
    let (_, theirs) = server.get(&tailspin, "/v1/deliveries").await;
    assert_eq!(theirs["deliveries"], json!([]));

    // Northwind fixed its receiver and replays: queued at once, and a second replay
    // while it is queued is a conflict.
    let (status, replayed) = server
        .post(
            &northwind,
            &format!("/v1/deliveries/{id}/retry"),
            &json!(null),
        )
        .await;
    assert_eq!(status, 202, "{replayed}");
    assert_eq!(replayed["status"], "retrying");
    let (status, again) = server
        .post(
            &northwind,
            &format!("/v1/deliveries/{id}/retry"),
            &json!(null),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["type"], "/problems/delivery-still-queued");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_partners_event_is_the_copy_it_reads_through_the_api_signed_for_it_alone() {
    let server = Server::with_conformance().await;
    let mut receiver = Receiver::start();
    // Northwind (the distributor) and tailspin (its reseller) are both told of a Teams
    // incident, about different subscriptions.
    for partner in ["northwind", "tailspin"] {
        let secret = Secret::generate().unwrap();
        server
            .partner_endpoint(
                partner,
                &receiver.url("127.0.0.1", &format!("/{partner}")),
                &secret,
            )
            .await;
        receiver.know(partner, &secret);
    }
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let (status, _) = server
        .post(
            &vendor,
            "/v1/messages",
            &json!({"id": "teams-down", "category": "service_incident", "services": ["teams"], "title": "Teams sign-in failures"}),
        )
        .await;
    assert_eq!(status, 201);
    let tally = server.work_until_idle("0s").await;
    assert_eq!(tally.delivered, 2, "{tally:?}");

    for _ in 0..2 {
        let request = receiver.next();
        let partner = request["path"].as_str().unwrap().trim_start_matches('/');
        let other = if partner == "northwind" {
            "tailspin"
        } else {
            "northwind"
        };
        assert_eq!(request["verified"][partner], true, "{request}");
        assert_eq!(
            request["verified"][other], false,
            "signed for {partner} alone"
        );
        let event: serde_json::Value =
            serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
        assert_eq!(event["type"], "message.published");
        let key = server.key(KeyFor::Partner(partner.into())).await;
        let (status, copy) = server.get(&key, "/v1/messages/teams-down").await;
        assert_eq!(status, 200);
        assert_eq!(event["data"], copy, "{partner}'s event is its own copy");
    }
    server.stop().await;
}
