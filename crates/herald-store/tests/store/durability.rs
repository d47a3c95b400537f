//! Durability: what a store committed is in the file, for a store opened on it later or
//! at the same time.

use herald_store::{Actor, Published};

use crate::common::{counts_plus, fixture, temp_store, ACCEPTED_AT};

#[tokio::test]
async fn a_reopened_file_holds_everything_committed() {
    let fx = fixture();
    let t = temp_store().await;
    t.store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .unwrap();
    let ids = ["price-change-mixed", "incident-teams-everywhere"];
    let mut expected = fx.directory_counts();
    for id in ids {
        let rows = fx.routed(id, ACCEPTED_AT);
        t.store
            .publish(&rows.publish(), None, &Actor::Operator)
            .await
            .unwrap();
        expected = counts_plus(expected, &rows.rows());
    }
    let counts = t.store.counts().await.unwrap();
    assert_eq!(counts, expected);
    let world = t.store.load_world().await.unwrap();
    let listed = t.store.messages().await.unwrap();
    let mut details = Vec::new();
    for id in ids {
        details.push(
            t.store
                .message("global", id)
                .await
                .unwrap()
                .expect("stored"),
        );
    }
    t.store.close().await;

    let reopened = t.scratch.open().await.expect("the store opens again");
    assert_eq!(reopened.counts().await.unwrap(), counts);
    assert_eq!(reopened.load_world().await.unwrap(), world);
    assert_eq!(
        reopened.load_directory().await.unwrap().to_world(),
        fx.directory.to_world()
    );
    assert_eq!(reopened.messages().await.unwrap(), listed);
    for (id, detail) in ids.into_iter().zip(&details) {
        assert_eq!(
            reopened.message("global", id).await.unwrap().as_ref(),
            Some(detail)
        );
    }
    // The reopened store still knows what it accepted.
    let again = reopened
        .publish(
            &fx.routed(ids[0], ACCEPTED_AT).publish(),
            None,
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(again, Published::Repeated(details[0].summary.clone()));
    assert_eq!(reopened.counts().await.unwrap(), counts);
    reopened.close().await;
}

#[tokio::test]
async fn a_second_store_on_the_same_file_sees_each_commit() {
    let fx = fixture();
    let t = temp_store().await;
    let other = t.scratch.open().await.expect("the store opens again");
    t.store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(other.counts().await.unwrap(), fx.directory_counts());

    let rows = fx.routed("price-change-mixed", ACCEPTED_AT);
    let Published::Accepted(summary) = t
        .store
        .publish(&rows.publish(), None, &Actor::Operator)
        .await
        .unwrap()
    else {
        panic!("not accepted");
    };
    assert_eq!(
        other.counts().await.unwrap(),
        counts_plus(fx.directory_counts(), &rows.rows())
    );
    assert_eq!(
        other.summary("global", "price-change-mixed").await.unwrap(),
        Some(summary.clone())
    );
    assert_eq!(
        other
            .publish(&rows.publish(), None, &Actor::Operator)
            .await
            .unwrap(),
        Published::Repeated(summary)
    );
    other.close().await;
}
