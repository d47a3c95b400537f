//! Inboxes: each partner and customer finds the copies it was sent, newest first, counts
//! what it has not read, and marks messages read once.

use herald_store::KeyFor;
use serde_json::{json, Value};

use crate::common::Server;

fn ids(page: &Value) -> Vec<&str> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_holds_the_copies_sent_newest_first_and_counts_the_unread() {
    let server = Server::with_conformance().await;
    server.publish_global_messages().await;
    let tailspin = server.key(KeyFor::Partner("tailspin".into())).await;
    let (status, inbox) = server.get(&tailspin, "/v1/inbox").await;
    assert_eq!(status, 200, "{inbox}");
    // Tailspin resells adatum's m365-bp: the Teams incident and, published after it, the
    // renewal reach it, newest first.
    let received = ids(&inbox);
    assert!(received.contains(&"renewal-indirect"), "{inbox}");
    assert!(received.contains(&"incident-teams-everywhere"), "{inbox}");
    assert!(!received.contains(&"price-change-mixed"), "{inbox}");
    let position = |id: &str| received.iter().position(|r| *r == id).unwrap();
    assert!(position("renewal-indirect") < position("incident-teams-everywhere"));
    assert_eq!(inbox["unread"], received.len());
    assert!(inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["read_at"].is_null()));

    let (status, read) = server
        .post(&tailspin, "/v1/inbox/renewal-indirect/read", &Value::Null)
        .await;
    assert_eq!(status, 200, "{read}");
    let first = read["read_at"].clone();
    assert!(first.is_i64(), "{read}");
    // Read again: the first time stands.
    let (_, again) = server
        .post(&tailspin, "/v1/inbox/renewal-indirect/read", &Value::Null)
        .await;
    assert_eq!(again["read_at"], first);
    let (_, inbox) = server.get(&tailspin, "/v1/inbox").await;
    assert_eq!(inbox["unread"], received.len() - 1);
    let renewal = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "renewal-indirect")
        .unwrap();
    assert_eq!(renewal["read_at"], first);

    // A customer's inbox: only what it heard directly, and its reads are its own.
    let adatum = server.key(KeyFor::Customer("adatum".into())).await;
    let (_, inbox) = server.get(&adatum, "/v1/inbox?limit=500").await;
    assert!(!ids(&inbox).contains(&"renewal-indirect"), "{inbox}");
    assert!(
        ids(&inbox).contains(&"incident-teams-everywhere"),
        "{inbox}"
    );
    assert_eq!(inbox["unread"], json!(ids(&inbox).len()));
    let (status, _) = server
        .post(&adatum, "/v1/inbox/renewal-indirect/read", &Value::Null)
        .await;
    assert_eq!(status, 404, "not adatum's to read");
    server.stop().await;
}
