//! The use cases against a real SQLite file holding the example world: what a publish
//! becomes and who may ask for it, record changes, explanations, and what a partner may
//! read.

use std::path::Path;

use herald_domain::wire::RecordKind;
use herald_domain::{wire, Directory, Policy};
use herald_service::{Caller, Decided, Editor, Outcome, Refusal, Service, ServiceError};
use herald_store::scratch::Scratch;
use herald_store::{Actor, Change, Filter, MessageView, Principal};
use serde_json::json;

/// A fixed time (Unix milliseconds): tests pass time in, they never read a clock.
const NOW: i64 = 1_700_000_000_000;

/// The use cases over a fresh store holding `examples/world.json`.
async fn service() -> (Scratch, Service) {
    let folder = Scratch::new().await.unwrap();
    let store = folder.open().await.unwrap();
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

fn editor() -> Editor {
    Editor(
        Principal::Vendor {
            cloud: "global".into(),
        },
        "vendor-key".into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_change_checked_against_a_directory_changed_since_is_refused_and_writes_nothing() {
    let (_folder, service) = service().await;
    // Another process deletes customer graphic after this service read the directory.
    let store = service.store();
    let generation = store.directory_generation().await.unwrap();
    store
        .change_record(
            Change::Delete(RecordKind::Customer, "graphic"),
            generation,
            NOW,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let changed = store.directory_generation().await.unwrap();

    let subscription = json!({"id": "graphic-e3", "customer": "graphic", "product": "m365-e3", "agreement": "enterprise_agreement"});
    let refused = service
        .put_record(
            &editor(),
            RecordKind::Subscription,
            "graphic-e3",
            subscription,
            NOW + 1,
        )
        .await;
    let Err(ServiceError::Refused(Refusal::InvalidDirectory(detail))) = refused else {
        panic!("a subscription of a deleted customer was not refused: {refused:?}");
    };
    assert!(detail.contains("graphic"), "{detail}");
    assert_eq!(store.directory_generation().await.unwrap(), changed);
    let world = store.load_world().await.unwrap();
    assert!(world
        .subscriptions
        .iter()
        .all(|s| s.id.as_str() != "graphic-e3"));
    assert!(world.customers.iter().all(|c| c.id.as_str() != "graphic"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_put_is_stored_and_kept_for_routing() {
    let (_folder, service) = service().await;
    let customer =
        json!({"id": "zephyr", "name": "Zephyr", "agreements": ["enterprise_agreement"]});
    let placed = service
        .put_record(&editor(), RecordKind::Customer, "zephyr", customer, NOW)
        .await
        .unwrap();
    assert!(!placed.replaced);
    assert_eq!(placed.stored.id(), "zephyr");
    let snapshot = service.current_snapshot().await.unwrap();
    assert!(snapshot.directory.customer_ix("zephyr").is_some());
    assert_eq!(
        snapshot.generation,
        service.store().directory_generation().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explanation_gives_the_reasons_and_what_was_decided() {
    let (_folder, service) = service().await;
    let published = service
        .publish_as(&vendor(), message(renewal()), NOW)
        .await
        .unwrap();
    assert!(matches!(published, Outcome::Accepted(_)), "{published:?}");

    let explained = service
        .explain(&vendor(), "renewal", Some("contoso"), None)
        .await
        .unwrap();
    assert!(!explained.changed_since);
    assert!(!explained.explanation.lines.is_empty());
    let Some(Decided::Customer(decision)) = explained.decided else {
        panic!("no stored decision for contoso: {explained:?}");
    };
    assert_eq!(decision.partners, vec!["fabrikam".to_owned()]);

    let told = service
        .explain(&vendor(), "renewal", None, Some("fabrikam"))
        .await
        .unwrap();
    assert!(
        matches!(told.decided, Some(Decided::Partner(_))),
        "{told:?}"
    );

    let both = service
        .explain(&vendor(), "renewal", Some("contoso"), Some("fabrikam"))
        .await;
    assert!(
        matches!(both, Err(ServiceError::Refused(Refusal::Malformed(_)))),
        "{both:?}"
    );
    let by_partner = service
        .explain(&partner("fabrikam"), "renewal", Some("contoso"), None)
        .await;
    assert!(
        matches!(
            by_partner,
            Err(ServiceError::Refused(Refusal::Forbidden(_)))
        ),
        "{by_partner:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_sees_its_own_copy_and_not_another_partners_message() {
    let (_folder, service) = service().await;
    service
        .publish_as(&vendor(), message(renewal()), NOW)
        .await
        .unwrap();

    let seen = service
        .message_view(&partner("fabrikam"), "renewal")
        .await
        .unwrap();
    let MessageView::Partner(copy) = seen else {
        panic!("fabrikam was not shown its own copy: {seen:?}");
    };
    assert_eq!(copy.customers, vec!["contoso".to_owned()]);
    assert_eq!(copy.subscriptions, vec!["contoso-e3".to_owned()]);

    let unseen = service.message_view(&partner("litware"), "renewal").await;
    let Err(ServiceError::Refused(Refusal::NotFound(detail))) = unseen else {
        panic!("litware saw fabrikam's message: {unseen:?}");
    };
    assert_eq!(detail, "there is no message \"renewal\"");
    let listed = service
        .message_page(&partner("litware"), Filter::default(), None, 50)
        .await
        .unwrap();
    assert!(listed.messages.is_empty(), "{listed:?}");
    let listed = service
        .message_page(&partner("fabrikam"), Filter::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(listed.messages.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inbox_is_a_partners_or_a_customers_and_the_vendor_has_none() {
    let (_folder, service) = service().await;
    service
        .publish_as(&vendor(), message(renewal()), NOW)
        .await
        .unwrap();
    let fabrikam = partner("fabrikam");
    let inbox = service.inbox(&fabrikam, None, 50).await.unwrap();
    assert_eq!((inbox.items.len(), inbox.unread), (1, 1), "{inbox:?}");
    assert_eq!(
        service
            .mark_read(&fabrikam, "renewal", NOW + 5)
            .await
            .unwrap(),
        NOW + 5
    );
    assert_eq!(service.inbox(&fabrikam, None, 50).await.unwrap().unread, 0);

    let vendors = service.inbox(&vendor(), None, 50).await;
    assert!(
        matches!(vendors, Err(ServiceError::Refused(Refusal::Forbidden(_)))),
        "{vendors:?}"
    );
    let not_sent = service.mark_read(&partner("litware"), "renewal", NOW).await;
    assert!(
        matches!(not_sent, Err(ServiceError::Refused(Refusal::NotFound(_)))),
        "{not_sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_sees_the_deliveries_sent_to_it_and_no_other_partners() {
    let (_folder, service) = service().await;
    service
        .publish_as(&vendor(), message(renewal()), NOW)
        .await
        .unwrap();
    let own = service
        .deliveries(&partner("fabrikam"), Some("renewal"), None, None, 50)
        .await
        .unwrap();
    assert!(!own.deliveries.is_empty());
    assert!(own
        .deliveries
        .iter()
        .all(|d| d.org.as_deref() == Some("fabrikam")));
    let id = own.deliveries[0].id;
    assert_eq!(
        service
            .delivery(&partner("fabrikam"), id)
            .await
            .unwrap()
            .delivery
            .id,
        id
    );

    let litware = partner("litware");
    let none = service
        .deliveries(&litware, Some("renewal"), None, None, 50)
        .await
        .unwrap();
    assert!(none.deliveries.is_empty(), "{none:?}");
    let hidden = service.delivery(&litware, id).await;
    assert!(
        matches!(hidden, Err(ServiceError::Refused(Refusal::NotFound(_)))),
        "{hidden:?}"
    );
    let replayed = service.replay(&litware, id, NOW + 1).await;
    assert!(
        matches!(replayed, Err(ServiceError::Refused(Refusal::NotFound(_)))),
        "{replayed:?}"
    );
}
