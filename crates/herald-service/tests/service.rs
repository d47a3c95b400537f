//! The use cases against a real SQLite file holding the example world: what a publish
//! becomes, and who may ask for it.

use std::path::Path;

use herald_domain::{wire, Directory, Policy};
use herald_service::{Caller, Outcome, Refusal, Service, ServiceError};
use herald_store::{Actor, Principal, Store};
use serde_json::json;
use tempfile::TempDir;

/// A fixed time (Unix milliseconds): tests pass time in, they never read a clock.
const NOW: i64 = 1_700_000_000_000;

/// The use cases over a fresh store in a temporary folder holding `examples/world.json`.
async fn service() -> (TempDir, Service) {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(&folder.path().join("herald.db")).await.unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/world.json");
    let world = wire::World::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let directory = Directory::build(world).unwrap();
    store
        .import(&directory, NOW, &Actor::Operator)
        .await
        .unwrap();
    let service = Service::new(store, Policy::default_policy()).await.unwrap();
    (folder, service)
}

fn message(value: serde_json::Value) -> wire::Message {
    serde_json::from_value(value).unwrap()
}

fn vendor() -> Caller {
    Caller::new(
        Principal::Vendor {
            cloud: "global".into(),
        },
        "vendor-key".into(),
    )
    .unwrap()
}

fn partner(partner: &str) -> Caller {
    Caller::new(
        Principal::Partner {
            cloud: "global".into(),
            partner: partner.into(),
        },
        format!("{partner}-key"),
    )
    .unwrap()
}

fn renewal() -> serde_json::Value {
    json!({"id": "renewal", "category": "subscription", "subscriptions": ["contoso-e3"], "title": "Renews in 30 days"})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_is_accepted_once_repeated_after_and_another_under_its_id_conflicts() {
    let (_folder, service) = service().await;
    let Outcome::Accepted(accepted) = service
        .publish_as(&vendor(), message(renewal()), NOW)
        .await
        .unwrap()
    else {
        panic!("the renewal was not accepted");
    };
    assert_eq!(
        (accepted.id.as_str(), accepted.cloud.as_str()),
        ("renewal", "global")
    );
    assert!(accepted.customers_in_scope >= 1, "{accepted:?}");

    let repeated = service
        .publish_as(&vendor(), message(renewal()), NOW + 1)
        .await
        .unwrap();
    assert_eq!(repeated, Outcome::Repeated(accepted.clone()));

    let mut other = renewal();
    other["title"] = json!("Renews in 7 days");
    let conflict = service
        .publish_as(&vendor(), message(other), NOW + 2)
        .await
        .unwrap();
    assert_eq!(conflict, Outcome::Conflict("renewal".into()));
    assert_eq!(service.store().messages().await.unwrap(), vec![accepted]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_message_is_refused_with_its_reason_and_nothing_is_written() {
    let (_folder, service) = service().await;
    let unknown = json!({"id": "renewal", "category": "subscription", "subscriptions": ["nobody-e3"], "title": "Renews"});
    let Outcome::Invalid(reason) = service
        .publish_as(&vendor(), message(unknown), NOW)
        .await
        .unwrap()
    else {
        panic!("a message naming an unknown subscription was accepted");
    };
    assert!(reason.contains("nobody-e3"), "{reason}");
    assert!(service.store().messages().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_vendor_of_the_messages_cloud_publishes_it() {
    let (_folder, service) = service().await;
    let refused = service
        .publish_as(&partner("fabrikam"), message(renewal()), NOW)
        .await;
    assert!(
        matches!(refused, Err(ServiceError::Refused(Refusal::Forbidden(_)))),
        "{refused:?}"
    );
    let mut elsewhere = renewal();
    elsewhere["cloud"] = json!("us-gov");
    let refused = service.publish_as(&vendor(), message(elsewhere), NOW).await;
    let Err(ServiceError::Refused(Refusal::Forbidden(detail))) = refused else {
        panic!("a message for another cloud was not refused: {refused:?}");
    };
    assert!(detail.contains("us-gov"), "{detail}");
    assert!(service.store().messages().await.unwrap().is_empty());
}
