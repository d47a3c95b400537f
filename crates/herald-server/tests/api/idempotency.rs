//! The message id is the idempotency key: the same message posted twice at once is one
//! message, both posts get its answer, and another message under the id is refused.

use herald_store::KeyFor;
use serde_json::json;

use crate::common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_post_twice_at_once_is_one_message() {
    let server = Server::with_conformance().await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let message = json!({"id": "twice", "category": "service_incident", "services": ["teams"], "title": "Twice"});
    let before = server.store.counts().await.unwrap();

    let (a, b) = tokio::join!(
        server.post(&vendor, "/v1/messages", &message),
        server.post(&vendor, "/v1/messages", &message)
    );
    assert_eq!((a.0, b.0), (201, 201), "{} / {}", a.1, b.1);
    assert_eq!(a.1, b.1, "both get the original answer");
    let after = server.store.counts().await.unwrap();
    assert_eq!(after.messages, before.messages + 1);
    assert_eq!(after.decisions, before.decisions + 5);

    // Later, the same again: the original answer, marked as a replay.
    let response = server
        .client
        .post(format!("{}/v1/messages", server.base))
        .bearer_auth(&vendor)
        .json(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response.headers().get("idempotent-replayed").unwrap(),
        "true"
    );
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), a.1);

    // Another message under the id: refused, naming the field, and nothing changes.
    let other = json!({"id": "twice", "category": "service_incident", "services": ["exchange"], "title": "Other"});
    let (status, problem) = server.post(&vendor, "/v1/messages", &other).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "/problems/message-id-conflict");
    assert!(
        problem["detail"].as_str().unwrap().contains("`id`"),
        "{problem}"
    );
    assert_eq!(server.store.counts().await.unwrap(), after);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_used_in_one_cloud_tells_another_cloud_nothing() {
    let server = Server::with_conformance().await;
    let global = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let gov = server
        .key(KeyFor::Vendor {
            cloud: "us-gov".into(),
        })
        .await;
    let message = json!({"id": "shared-id", "category": "service_incident", "services": ["exchange"], "title": "Down"});
    let (status, first) = server.post(&global, "/v1/messages", &message).await;
    assert_eq!(status, 201, "{first}");
    // The same id in us-gov is us-gov's own message: no conflict, no hint.
    let (status, second) = server.post(&gov, "/v1/messages", &message).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["cloud"], "us-gov");
    assert_eq!(second["customers_in_scope"], 1);
    let (_, seen) = server.get(&gov, "/v1/messages/shared-id").await;
    assert_eq!(seen["summary"]["cloud"], "us-gov", "{seen}");
    let (_, seen) = server.get(&global, "/v1/messages/shared-id").await;
    assert_eq!(seen["summary"]["cloud"], "global", "{seen}");
    server.stop().await;
}
