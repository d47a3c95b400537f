//! Concurrency: publishers racing on one message id, through one pool or through two
//! stores on the same file, yield exactly one acceptance and store one message.

use std::sync::Arc;

use herald_domain::Message;
use herald_store::{Actor, Published, StoreError};

use crate::common::{counts_plus, fixture, store_with_directory, ACCEPTED_AT};

/// How many of `outcomes` were accepted and how many repeated; every summary is the same.
fn tally(outcomes: &[Published]) -> (usize, usize) {
    let summaries: Vec<_> = outcomes
        .iter()
        .map(|p| match p {
            Published::Accepted(s) | Published::Repeated(s) => s,
        })
        .collect();
    assert!(
        summaries.windows(2).all(|w| w[0] == w[1]),
        "racing publishers saw different summaries: {summaries:?}"
    );
    let accepted = outcomes
        .iter()
        .filter(|p| matches!(p, Published::Accepted(_)))
        .count();
    (accepted, outcomes.len() - accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tasks_publishing_the_same_rows_accept_it_once() {
    let fx = fixture();
    let t = store_with_directory().await;
    let rows = Arc::new(fx.routed("incident-teams-everywhere", ACCEPTED_AT));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (store, rows) = (t.store.clone(), Arc::clone(&rows));
            tokio::spawn(
                async move { store.publish(&rows.publish(), None, &Actor::Operator).await },
            )
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("the task ran").expect("publishes"));
    }
    assert_eq!(tally(&outcomes), (1, 1), "{outcomes:?}");
    assert_eq!(
        t.store.counts().await.unwrap(),
        counts_plus(fx.directory_counts(), &rows.rows())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_racing_on_every_message_accept_each_once() {
    let fx = fixture();
    let t = store_with_directory().await;
    let other = t.scratch.open().await.expect("the store opens again");
    let mut expected = fx.directory_counts();
    let mut tasks = Vec::new();
    for message in &fx.messages {
        let rows = Arc::new(fx.routed_of(message, ACCEPTED_AT));
        expected = counts_plus(expected, &rows.rows());
        let pair: Vec<_> = [t.store.clone(), other.clone()]
            .into_iter()
            .map(|store| {
                let rows = Arc::clone(&rows);
                tokio::spawn(
                    async move { store.publish(&rows.publish(), None, &Actor::Operator).await },
                )
            })
            .collect();
        tasks.push((message.id.to_string(), pair));
    }
    for (id, pair) in tasks {
        let mut outcomes = Vec::new();
        for task in pair {
            outcomes.push(task.await.expect("the task ran").expect("publishes"));
        }
        assert_eq!(tally(&outcomes), (1, 1), "{id}: {outcomes:?}");
    }
    assert_eq!(t.store.counts().await.unwrap(), expected);
    assert_eq!(other.counts().await.unwrap(), expected);
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_different_content_under_one_id_accepts_one_and_refuses_the_other() {
    let fx = fixture();
    let t = store_with_directory().await;
    let other = t.scratch.open().await.expect("the store opens again");
    let id = "price-change-mixed";
    let mut impostor = fx.message("incident-teams-everywhere").wire.clone();
    impostor.id = id.into();
    let impostor = Message::parse(impostor, &fx.policy, &fx.directory).unwrap();
    let original_rows = fx.routed(id, ACCEPTED_AT);
    let impostor_rows = fx.routed_of(&impostor, ACCEPTED_AT);

    let (original, impostor) = (original_rows.publish(), impostor_rows.publish());
    let (a, b) = tokio::join!(
        t.store.publish(&original, None, &Actor::Operator),
        other.publish(&impostor, None, &Actor::Operator)
    );
    let stored = t
        .store
        .message("global", id)
        .await
        .unwrap()
        .expect("one of them is stored");
    let (winner, loser) = match (&a, &b) {
        (Ok(Published::Accepted(_)), Err(StoreError::Conflict(_))) => (&original_rows, &b),
        (Err(StoreError::Conflict(_)), Ok(Published::Accepted(_))) => (&impostor_rows, &a),
        _ => panic!("expected one acceptance and one conflict, got {a:?} and {b:?}"),
    };
    assert!(matches!(loser, Err(StoreError::Conflict(got)) if got == id));
    let winner = winner.rows();
    assert_eq!(stored.summary.category, winner.message.category);
    assert_eq!(
        t.store.counts().await.unwrap(),
        counts_plus(fx.directory_counts(), &winner)
    );
    other.close().await;
}
