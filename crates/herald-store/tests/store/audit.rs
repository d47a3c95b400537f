//! The audit log: every kind of write leaves exactly one entry naming its actor, action,
//! target and cloud, in the write's own transaction; a refused write, a repeat, or a write
//! whose entry cannot be written leaves none; a cloud reads its own entries and those of
//! every cloud, newest first, a page at a time.

use herald_domain::wire::{self, Record, RecordKind};
use herald_store::{
    Action, Actor, AuditEntry, Change, KeyFor, Mode, NewEndpoint, Next, Principal, Published,
    Replayed, Settled, Store, StoreError,
};
use serde_json::json;

use crate::common::{allow, fixture, refuse, store_with_directory, temp_store, ACCEPTED_AT};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ROTATED: &str = "whsec_c2Vjb25kIHNlY3JldCBvZiBhIHdlYmhvb2sh";

/// Every entry, newest first.
async fn log(store: &Store) -> Vec<AuditEntry> {
    store.audit(None, None, 1_000).await.unwrap().entries
}

/// The one entry written since the log held `before` entries; fails on none or several.
async fn one_new(store: &Store, before: usize) -> AuditEntry {
    let entries = log(store).await;
    assert_eq!(
        entries.len(),
        before + 1,
        "exactly one new entry: {entries:#?}"
    );
    entries.into_iter().next().expect("one entry")
}

/// The key `key` as an actor.
fn acting(key: &herald_store::NewKey) -> Actor {
    Actor::Key {
        id: key.id.clone(),
        principal: key.principal.clone(),
    }
}

fn record(world: &wire::World, kind: RecordKind, id: &str) -> Record {
    match kind {
        RecordKind::Product => Record::Product(
            world
                .products
                .iter()
                .find(|p| p.id.as_str() == id)
                .unwrap()
                .clone(),
        ),
        RecordKind::Partner => Record::Partner(
            world
                .partners
                .iter()
                .find(|p| p.id.as_str() == id)
                .unwrap()
                .clone(),
        ),
        RecordKind::Customer => Record::Customer(
            world
                .customers
                .iter()
                .find(|c| c.id.as_str() == id)
                .unwrap()
                .clone(),
        ),
        RecordKind::Subscription => Record::Subscription(
            world
                .subscriptions
                .iter()
                .find(|s| s.id.as_str() == id)
                .unwrap()
                .clone(),
        ),
    }
}

#[tokio::test]
async fn every_kind_of_write_leaves_one_entry_naming_its_actor_action_and_target() {
    let fx = fixture();
    let t = temp_store().await;
    let store = &t.store;
    let world = fx.directory.to_world();
    let at = ACCEPTED_AT;

    // The operator imports the whole world: an entry for every cloud.
    store
        .import(&fx.directory, at, &Actor::Operator)
        .await
        .unwrap();
    let e = one_new(store, 0).await;
    assert_eq!(
        (e.at, e.cloud, e.actor, e.action, e.target.as_str()),
        (at, None, Actor::Operator, Action::DirectoryImport, "*")
    );
    assert_eq!(e.detail, json!({"products": 5}));

    // The operator makes the global vendor's key.
    let vendor_key = store
        .create_key(
            KeyFor::Vendor {
                cloud: "global".into(),
            },
            at + 1,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let e = one_new(store, 1).await;
    assert_eq!(
        (e.cloud.as_deref(), &e.actor, e.action, e.target.as_str()),
        (
            Some("global"),
            &Actor::Operator,
            Action::KeyCreate,
            vendor_key.id.as_str()
        )
    );
    assert_eq!(
        e.detail,
        json!({"principal": {"kind": "vendor", "cloud": "global"}})
    );
    assert!(!e.detail.to_string().contains(&vendor_key.token[3..]));
    let vendor = acting(&vendor_key);

    // The vendor key changes records: its cloud's customer, the shared catalog, and
    // (as the operator) another cloud's subscription.
    let mut contoso = record(&world, RecordKind::Customer, "contoso");
    if let Record::Customer(c) = &mut contoso {
        c.name = Some("Contoso Renamed".into());
    }
    let generation = store.directory_generation().await.unwrap();
    store
        .change_record(Change::Put(&contoso), generation, at + 2, &vendor)
        .await
        .unwrap();
    let e = one_new(store, 2).await;
    assert_eq!(
        (
            e.at,
            e.cloud.as_deref(),
            &e.actor,
            e.action,
            e.target.as_str()
        ),
        (
            at + 2,
            Some("global"),
            &vendor,
            Action::DirectoryPut,
            "contoso"
        )
    );
    assert_eq!(
        e.detail,
        json!({"kind": "customer", "id": "contoso", "generation": generation + 1})
    );
    let product = record(&world, RecordKind::Product, "m365-e3");
    store
        .change_record(Change::Put(&product), generation + 1, at + 3, &vendor)
        .await
        .unwrap();
    let e = one_new(store, 3).await;
    assert_eq!(
        (e.cloud, e.action, e.target.as_str()),
        (None, Action::DirectoryPut, "m365-e3"),
        "the catalog is every cloud's"
    );
    store
        .change_record(
            Change::Delete(RecordKind::Subscription, "gov-dept-e3"),
            generation + 2,
            at + 4,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let e = one_new(store, 4).await;
    assert_eq!(
        (e.cloud.as_deref(), e.action, e.target.as_str()),
        (Some("us-gov"), Action::DirectoryDelete, "gov-dept-e3"),
        "a subscription is its customer's cloud's"
    );

    // The vendor key publishes.
    let routed = fx.routed("price-change-mixed", at + 5);
    let Published::Accepted(summary) = store
        .publish(&routed.publish(), None, &vendor)
        .await
        .unwrap()
    else {
        panic!("accepted into an empty store");
    };
    let e = one_new(store, 5).await;
    assert_eq!(
        (
            e.at,
            e.cloud.as_deref(),
            &e.actor,
            e.action,
            e.target.as_str()
        ),
        (
            at + 5,
            Some("global"),
            &vendor,
            Action::MessagePublish,
            "price-change-mixed"
        )
    );
    assert_eq!(
        e.detail,
        json!({
            "category": summary.category,
            "thread": null,
            "customers_in_scope": summary.customers_in_scope,
            "customers_direct": summary.customers_direct,
            "partners_told": summary.partners_told,
            "deliveries": summary.deliveries,
        })
    );

    // A partner key registers, rotates, disables, enables and deletes an endpoint.
    let partner_key = store
        .create_key(
            KeyFor::Partner("northwind".into()),
            at + 6,
            &Actor::Operator,
        )
        .await
        .unwrap();
    one_new(store, 6).await;
    let partner = acting(&partner_key);
    let owner = &partner_key.principal;
    let endpoint = store
        .create_endpoint(
            owner,
            NewEndpoint {
                url: "https://ops:hunter2@hooks.example:8443/T0/B1/xyzzy?token=s3cret".into(),
                description: "operations".into(),
                categories: None,
                mode: Some(Mode::PerCustomer),
            },
            SECRET,
            at + 7,
            &partner,
        )
        .await
        .unwrap();
    let e = one_new(store, 7).await;
    assert_eq!(
        (e.cloud.as_deref(), &e.actor, e.action, e.target.as_str()),
        (
            Some("global"),
            &partner,
            Action::EndpointCreate,
            endpoint.id.as_str()
        )
    );
    assert_eq!(
        e.detail,
        json!({"url": "https://hooks.example:8443", "categories": null, "mode": "per_customer"}),
        "the log keeps no path, query or user name of a URL, which may carry a secret"
    );
    store
        .rotate_endpoint_secret(owner, &endpoint.id, ROTATED, at + 8, 1_000, &partner)
        .await
        .unwrap()
        .expect("its own endpoint");
    let e = one_new(store, 8).await;
    assert_eq!(
        (e.action, e.target.as_str(), &e.detail),
        (
            Action::EndpointRotate,
            endpoint.id.as_str(),
            &json!({"old_secrets_expire_at": at + 8 + 1_000})
        )
    );
    store
        .disable_endpoint(owner, &endpoint.id, "maintenance", at + 9, &partner)
        .await
        .unwrap()
        .expect("its own endpoint");
    let e = one_new(store, 9).await;
    assert_eq!(
        (e.action, &e.detail),
        (Action::EndpointDisable, &json!({"reason": "maintenance"}))
    );
    store
        .enable_endpoint(owner, &endpoint.id, at + 10, &partner)
        .await
        .unwrap()
        .expect("its own endpoint");
    assert_eq!(one_new(store, 10).await.action, Action::EndpointEnable);
    assert!(store
        .delete_endpoint(owner, &endpoint.id, at + 11, &partner)
        .await
        .unwrap());
    let e = one_new(store, 11).await;
    assert_eq!(
        (e.at, &e.actor, e.action, e.target.as_str()),
        (
            at + 11,
            &partner,
            Action::EndpointDelete,
            endpoint.id.as_str()
        )
    );
    for entry in log(store).await {
        let text = entry.detail.to_string();
        assert!(
            !text.contains(SECRET) && !text.contains(ROTATED),
            "{entry:?}"
        );
    }

    // The vendor replays a delivery that arrived.
    let leased = store
        .lease_batches(at + 12, at + 60_000, 1, usize::MAX, true)
        .await
        .unwrap();
    let delivery = herald_store::delivery_id(leased[0].id, 0);
    store
        .record_attempts(
            &[Settled {
                delivery,
                batch: leased[0].id,
                number: 1,
                attempt: herald_store::Attempt {
                    at: at + 12,
                    latency_us: 1_000,
                    outcome: herald_store::AttemptOutcome::Delivered,
                    code: Some(250),
                    reply: None,
                    error: None,
                },
                next: Next::Delivered,
                disable: None,
            }],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        log(store).await.len(),
        12,
        "a worker's attempt is no one's write"
    );
    assert_eq!(
        store
            .replay("global", delivery, at + 13, &vendor)
            .await
            .unwrap(),
        Replayed::Queued
    );
    let e = one_new(store, 12).await;
    assert_eq!(
        (e.cloud.as_deref(), &e.actor, e.action, e.target),
        (
            Some("global"),
            &vendor,
            Action::DeliveryReplay,
            delivery.to_string()
        )
    );
    assert_eq!(e.detail["message"], "price-change-mixed");
    assert_eq!(e.detail["was"], "delivered");

    // The operator revokes the partner's key.
    store
        .revoke_key(&partner_key.id, at + 14, &Actor::Operator)
        .await
        .unwrap();
    let e = one_new(store, 13).await;
    assert_eq!(
        (e.cloud.as_deref(), e.action, e.target.as_str()),
        (Some("global"), Action::KeyRevoke, partner_key.id.as_str())
    );

    // The vendor key replaces its cloud's part: the entry counts that cloud's records.
    store.import(&fx.directory, at + 15, &vendor).await.unwrap();
    let e = one_new(store, 14).await;
    assert_eq!(
        (e.cloud.as_deref(), &e.actor, e.action, e.target.as_str()),
        (Some("global"), &vendor, Action::DirectoryImport, "global")
    );
    assert_eq!(
        e.detail,
        json!({"products": 5, "partners": 6, "customers": 8, "subscriptions": 13})
    );

    // The log reads back in the order written, newest first.
    let actions: Vec<Action> = log(store).await.iter().rev().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            Action::DirectoryImport,
            Action::KeyCreate,
            Action::DirectoryPut,
            Action::DirectoryPut,
            Action::DirectoryDelete,
            Action::MessagePublish,
            Action::KeyCreate,
            Action::EndpointCreate,
            Action::EndpointRotate,
            Action::EndpointDisable,
            Action::EndpointEnable,
            Action::EndpointDelete,
            Action::DeliveryReplay,
            Action::KeyRevoke,
            Action::DirectoryImport,
        ]
    );
}

#[tokio::test]
async fn a_refused_or_repeated_write_leaves_no_entry() {
    let fx = fixture();
    let t = store_with_directory().await;
    let store = &t.store;
    let written = log(store).await.len();
    assert_eq!(written, 1, "the import");

    // A publish refused part way, by the database, after the message row was written.
    let routed = fx.routed("incident-teams-everywhere", ACCEPTED_AT);
    refuse(store, "BEFORE UPDATE", "messages", "TRUE").await;
    assert!(store
        .publish(&routed.publish(), None, &Actor::Operator)
        .await
        .is_err());
    allow(store, "messages").await;
    assert_eq!(
        log(store).await.len(),
        written,
        "a publish refused part way"
    );

    // A publish routed against a directory that has changed since.
    let generation = store.directory_generation().await.unwrap();
    assert!(matches!(
        store
            .publish(&routed.publish(), Some(generation - 1), &Actor::Operator)
            .await,
        Err(StoreError::DirectoryChanged)
    ));
    assert_eq!(
        log(store).await.len(),
        written,
        "a publish on an old directory"
    );

    // A repeat changes nothing, so it records nothing.
    store
        .publish(&routed.publish(), Some(generation), &Actor::Operator)
        .await
        .unwrap();
    let written = written + 1;
    assert!(matches!(
        store
            .publish(&routed.publish(), Some(generation), &Actor::Operator)
            .await
            .unwrap(),
        Published::Repeated(_)
    ));
    assert_eq!(log(store).await.len(), written, "a repeated publish");

    // A record change checked against an older directory.
    let product = record(&fx.directory.to_world(), RecordKind::Product, "m365-e3");
    assert!(matches!(
        store
            .change_record(Change::Put(&product), generation - 1, 1, &Actor::Operator)
            .await,
        Err(StoreError::DirectoryChanged)
    ));
    assert_eq!(log(store).await.len(), written, "a record change refused");

    // Keys refused, and another owner's endpoint.
    assert!(store
        .create_key(KeyFor::Partner("nobody".into()), 1, &Actor::Operator)
        .await
        .is_err());
    assert!(store
        .revoke_key("0123456789abcdef", 1, &Actor::Operator)
        .await
        .is_err());
    let owner = Principal::Partner {
        cloud: "global".into(),
        partner: "northwind".into(),
    };
    let endpoint = store
        .create_endpoint(
            &owner,
            NewEndpoint {
                url: "https://203.0.113.7/hooks".into(),
                description: String::new(),
                categories: None,
                mode: None,
            },
            SECRET,
            1,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let written = written + 1;
    let stranger = Principal::Partner {
        cloud: "global".into(),
        partner: "litware".into(),
    };
    let id = endpoint.id.as_str();
    let by = &Actor::Operator;
    assert_eq!(
        store
            .rotate_endpoint_secret(&stranger, id, ROTATED, 2, 0, by)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .disable_endpoint(&stranger, id, "no", 2, by)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.enable_endpoint(&stranger, id, 2, by).await.unwrap(),
        None
    );
    assert!(!store.delete_endpoint(&stranger, id, 2, by).await.unwrap());
    assert!(matches!(
        store
            .create_endpoint(
                &Principal::Vendor {
                    cloud: "global".into()
                },
                NewEndpoint {
                    url: "https://203.0.113.7/hooks".into(),
                    description: String::new(),
                    categories: None,
                    mode: Some(Mode::PerCustomer),
                },
                SECRET,
                2,
                by,
            )
            .await,
        Err(StoreError::PerCustomerForPartnersOnly)
    ));
    // A delivery still queued, and one that does not exist, are not replayed.
    assert!(matches!(
        store.replay("global", 0, 2, by).await.unwrap(),
        Replayed::StillQueued(_) | Replayed::Unknown
    ));
    assert_eq!(
        store.replay("us-gov", 0, 2, by).await.unwrap(),
        Replayed::Unknown
    );
    assert_eq!(
        log(store).await.len(),
        written,
        "refused keys and endpoints"
    );
}

#[tokio::test]
async fn a_write_whose_entry_cannot_be_written_does_not_happen() {
    let fx = fixture();
    let t = store_with_directory().await;
    let store = &t.store;
    let before = store.counts().await.unwrap();
    refuse(store, "BEFORE INSERT", "audit", "TRUE").await;
    let empty = herald_domain::Directory::build(wire::World::default()).unwrap();
    assert!(store.import(&empty, 1, &Actor::Operator).await.is_err());
    let routed = fx.routed("price-change-mixed", ACCEPTED_AT);
    assert!(store
        .publish(&routed.publish(), None, &Actor::Operator)
        .await
        .is_err());
    assert!(store
        .create_key(KeyFor::Partner("northwind".into()), 1, &Actor::Operator)
        .await
        .is_err());
    assert_eq!(store.counts().await.unwrap(), before);
    assert_eq!(store.load_directory().await.unwrap(), fx.directory);
    assert!(store.keys().await.unwrap().is_empty());
    assert_eq!(log(store).await.len(), 1, "the first import alone");
}

#[tokio::test]
async fn a_cloud_reads_its_entries_and_every_clouds_newest_first_a_page_at_a_time() {
    let fx = fixture();
    let t = store_with_directory().await;
    let store = &t.store;
    let mut made = Vec::new();
    for (n, key_for) in [
        KeyFor::Partner("northwind".into()),
        KeyFor::Partner("gov-fabrikam".into()),
        KeyFor::Customer("gov-dept".into()),
        KeyFor::Customer("contoso".into()),
        KeyFor::Vendor {
            cloud: "us-gov".into(),
        },
    ]
    .into_iter()
    .enumerate()
    {
        let key = store
            .create_key(key_for, ACCEPTED_AT + n as i64, &Actor::Operator)
            .await
            .unwrap();
        made.push(key.id);
    }
    store
        .import(&fx.directory, ACCEPTED_AT + 9, &Actor::Operator)
        .await
        .unwrap();

    // us-gov: its three keys and the two imports of every cloud, newest first.
    let first = store.audit(Some("us-gov"), None, 2).await.unwrap();
    let seen = |entries: &[AuditEntry]| -> Vec<(Option<String>, String)> {
        entries
            .iter()
            .map(|e| (e.cloud.clone(), e.target.clone()))
            .collect()
    };
    let gov = |i: usize| (Some("us-gov".to_owned()), made[i].clone());
    let every = (None, "*".to_owned());
    assert_eq!(seen(&first.entries), [every.clone(), gov(4)]);
    let second = store.audit(Some("us-gov"), first.next, 2).await.unwrap();
    assert_eq!(seen(&second.entries), [gov(2), gov(1)]);
    let third = store.audit(Some("us-gov"), second.next, 2).await.unwrap();
    assert_eq!(seen(&third.entries), [every]);
    assert_eq!(third.next, None, "the last page");

    // A cloud with no entries of its own still sees what concerns every cloud.
    let elsewhere = store.audit(Some("eu"), None, 10).await.unwrap();
    assert!(elsewhere.entries.iter().all(|e| e.cloud.is_none()));
    assert_eq!(elsewhere.entries.len(), 2);

    // Without a cloud, the whole log.
    let all = store.audit(None, None, 100).await.unwrap();
    assert_eq!(all.entries.len(), 7);
    assert!(all.entries.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(all.next, None);
}
