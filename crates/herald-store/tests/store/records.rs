//! Record changes: one record written or removed reads back as the directory the change
//! made, every other row untouched; a change checked against an older directory, or
//! racing another against the same one, writes nothing.

use herald_domain::wire::{self, Record, RecordKind};
use herald_domain::Directory;
use herald_store::{Actor, Change, Store, StoreError};
use serde_json::json;

use crate::common::{fixture, store_with_directory};

/// `directory` with `put` put into its world, built (so valid), and the record as that
/// directory holds it.
fn changed(directory: &Directory, put: Record) -> (Directory, Record) {
    let mut world = directory.to_world();
    world.put(put.clone());
    let built = Directory::build(world).unwrap_or_else(|e| panic!("{e}"));
    let id = put.id();
    let held = match put {
        Record::Subscription(_) => {
            Record::Subscription(built.subscription_record(built.subscription_ix(id).unwrap()))
        }
        Record::Partner(_) => Record::Partner(built.partner_record(built.partner_ix(id).unwrap())),
        Record::Customer(_) => {
            Record::Customer(built.customer_record(built.customer_ix(id).unwrap()))
        }
        Record::Product(_) => Record::Product(built.product_record(built.product_ix(id).unwrap())),
    };
    (built, held)
}

/// The stored directory reads back as `expected`, as a world and as a directory.
async fn reads_back(store: &Store, expected: &Directory) {
    assert_eq!(store.load_world().await.unwrap(), expected.to_world());
    assert_eq!(&store.load_snapshot().await.unwrap().directory, expected);
}

fn subscription() -> Record {
    Record::Subscription(
        serde_json::from_value(json!({
            "id": "bellows-teams", "customer": "bellows", "product": "m365-bp",
            "partner": "litware", "regions": ["eu", "us", "eu"]
        }))
        .unwrap(),
    )
}

#[tokio::test]
async fn a_record_put_or_deleted_reads_back_as_the_directory_it_made() {
    let fx = fixture();
    let t = store_with_directory().await;
    let start = t.store.directory_generation().await.unwrap();

    // A new subscription.
    let (added, record) = changed(&fx.directory, subscription());
    let generation = t
        .store
        .change_record(Change::Put(&record), start, 0, &Actor::Operator)
        .await
        .expect("written");
    assert_eq!(generation, start + 1);
    assert_eq!(t.store.directory_generation().await.unwrap(), generation);
    reads_back(&t.store, &added).await;

    // A partner replaced: renamed, one contact fewer.
    let mut partner = added.partner_record(added.partner_ix("fabrikam").unwrap());
    partner.name = Some("Fabrikam Renamed".into());
    partner
        .contacts
        .retain(|c| c.id.as_str() != "fabrikam-billing");
    let (renamed, record) = changed(&added, Record::Partner(partner));
    let generation = t
        .store
        .change_record(Change::Put(&record), generation, 0, &Actor::Operator)
        .await
        .expect("written");
    reads_back(&t.store, &renamed).await;

    // The subscription removed again: the directory is the one imported, but for the
    // partner renamed.
    let generation = t
        .store
        .change_record(
            Change::Delete(RecordKind::Subscription, "bellows-teams"),
            generation,
            0,
            &Actor::Operator,
        )
        .await
        .expect("written");
    let mut world = renamed.to_world();
    assert!(world.remove(RecordKind::Subscription, "bellows-teams"));
    reads_back(&t.store, &Directory::build(world).unwrap()).await;
    assert_eq!(generation, start + 3);
    assert_eq!(
        t.store.counts().await.unwrap(),
        fx.directory_counts(),
        "one subscription added and removed"
    );
}

#[tokio::test]
async fn a_change_checked_against_an_older_directory_writes_nothing() {
    let fx = fixture();
    let t = store_with_directory().await;
    let checked = t.store.directory_generation().await.unwrap();
    // The directory is imported again after the change was checked.
    t.store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .unwrap();
    let (_, record) = changed(&fx.directory, subscription());
    match t
        .store
        .change_record(Change::Put(&record), checked, 0, &Actor::Operator)
        .await
    {
        Err(StoreError::DirectoryChanged) => {}
        other => panic!("expected DirectoryChanged, got {other:?}"),
    }
    reads_back(&t.store, &fx.directory).await;
    assert_eq!(t.store.directory_generation().await.unwrap(), checked + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_changes_checked_against_the_same_directory_write_one() {
    let fx = fixture();
    let t = store_with_directory().await;
    let other = t.scratch.open().await.expect("the store opens again");
    let checked = t.store.directory_generation().await.unwrap();
    let (with_subscription, first) = changed(&fx.directory, subscription());
    let product: wire::Product =
        serde_json::from_value(json!({"id": "viva", "services": ["viva-insights"]})).unwrap();
    let (with_product, second) = changed(&fx.directory, Record::Product(product));
    let (a, b) = tokio::join!(
        t.store
            .change_record(Change::Put(&first), checked, 0, &Actor::Operator),
        other.change_record(Change::Put(&second), checked, 0, &Actor::Operator),
    );
    match (a, b) {
        (Ok(_), Err(StoreError::DirectoryChanged)) => {
            reads_back(&t.store, &with_subscription).await
        }
        (Err(StoreError::DirectoryChanged), Ok(_)) => reads_back(&t.store, &with_product).await,
        other => panic!("expected exactly one change written, got {other:?}"),
    }
    assert_eq!(t.store.directory_generation().await.unwrap(), checked + 1);
}
