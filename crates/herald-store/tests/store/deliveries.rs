//! Deliveries after a publish: leased in batches to one worker at a time, every attempt
//! recorded, a failed one retried on its own and then dead, a batch whose lease ran out
//! taken over with only what was not settled, a lease given back free at once (and
//! another worker's neither renewed nor given back), and a dead letter replayed; a publish wakes the workers
//! waiting for deliveries.

use std::time::Duration;

use herald_store::{
    Actor, Attempt, AttemptOutcome, Engine, Next, Published, Replayed, Settled, StoreError,
    Troubled,
};

use crate::common::{fixture, store_with_directory, TempStore, ACCEPTED_AT};

const LEASE: i64 = 30_000;

fn attempt(at: i64, outcome: AttemptOutcome) -> Attempt {
    Attempt {
        at,
        latency_us: 1_500,
        outcome,
        code: Some(if outcome == AttemptOutcome::Delivered {
            250
        } else {
            451
        }),
        reply: None,
        error: (outcome != AttemptOutcome::Delivered).then(|| "mailbox busy".to_owned()),
    }
}

/// A store with the directory, and an incident reaching every team published into it.
async fn with_incident() -> Result<TempStore, StoreError> {
    let t = store_with_directory().await;
    let routed = fixture().routed("incident-teams-everywhere", ACCEPTED_AT);
    t.store
        .publish(&routed.publish(), None, &Actor::Operator)
        .await?;
    Ok(t)
}

#[tokio::test]
async fn a_worker_leases_as_many_batches_as_it_has_room_for_and_at_least_one(
) -> Result<(), StoreError> {
    let t = with_incident().await?;
    let size = |b: &herald_store::LeasedBatch| b.body.matches("],[").count() + 1;
    let now = ACCEPTED_AT + 1;
    let all = t
        .store
        .lease_batches(now, now + LEASE, 100, usize::MAX, true)
        .await?;
    assert!(all.len() >= 2, "the incident queues several batches");
    // Each lease below starts once the one before has run out.
    let mut at = now;
    for (room, batches) in [(1, 1), (size(&all[0]), 1), (size(&all[0]) + 1, 2)] {
        at += LEASE;
        let leased = t
            .store
            .lease_batches(at, at + LEASE, 100, room, true)
            .await?;
        assert_eq!(
            leased.iter().map(|b| b.id).collect::<Vec<_>>(),
            all[..batches].iter().map(|b| b.id).collect::<Vec<_>>(),
            "room for {room}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_lease_given_back_is_free_at_once_unless_another_worker_took_it_since(
) -> Result<(), StoreError> {
    let t = with_incident().await?;
    let now = ACCEPTED_AT + 1;
    let until = now + LEASE;
    let leased = t
        .store
        .lease_batches(now, until, 100, usize::MAX, true)
        .await?;
    assert!(leased.len() >= 2, "the incident queues several batches");
    let (first, second) = (leased[0].id, leased[1].id);
    let ids = |batches: Vec<herald_store::LeasedBatch>| {
        batches.into_iter().map(|b| b.id).collect::<Vec<_>>()
    };

    t.store.give_back(&[(first, until)], &[]).await?;
    assert_eq!(
        ids(t
            .store
            .lease_batches(now, until, 100, usize::MAX, true)
            .await?),
        vec![first],
        "given back, it is free at once; the others stay leased"
    );

    // The second's lease runs out and another worker takes it: the first worker, giving
    // it back late, leaves the other's lease alone.
    let later = until;
    let taken = ids(t
        .store
        .lease_batches(later, later + LEASE, 100, usize::MAX, true)
        .await?);
    assert!(taken.contains(&second), "{taken:?}");
    assert_eq!(
        t.store
            .extend_leases(&[(second, until)], &[], later + 2 * LEASE)
            .await?,
        (vec![], vec![]),
        "nor is another worker's lease renewed"
    );
    t.store.give_back(&[(second, until)], &[]).await?;
    assert!(
        !ids(t
            .store
            .lease_batches(later, later + LEASE, 100, usize::MAX, true)
            .await?)
        .contains(&second),
        "another worker's lease is not given back"
    );
    assert!(
        ids(t
            .store
            .lease_batches(later + LEASE, later + 2 * LEASE, 100, usize::MAX, true)
            .await?)
        .contains(&second),
        "the other worker's lease still ends as it wrote it"
    );

    // A retry leased and given back is free at once too.
    let delivery = herald_store::delivery_id(second, 0);
    t.store
        .record_attempts(
            &[Settled {
                delivery,
                batch: second,
                number: 1,
                attempt: attempt(later, AttemptOutcome::Failed),
                next: Next::RetryAt(later),
                disable: None,
            }],
            &[],
        )
        .await?;
    let leased_until = later + LEASE;
    let retries = t.store.lease_retries(later, leased_until, 10, true).await?;
    assert_eq!(retries.len(), 1);
    let retry_until = leased_until + 1;
    assert_eq!(
        t.store
            .extend_leases(&[], &[(delivery, leased_until)], retry_until)
            .await?,
        (vec![], vec![delivery]),
        "a lease still as its worker wrote it is renewed"
    );
    assert!(t
        .store
        .lease_retries(later, retry_until, 10, true)
        .await?
        .is_empty());
    t.store.give_back(&[], &[(delivery, retry_until)]).await?;
    let again = t.store.lease_retries(later, retry_until, 10, true).await?;
    assert_eq!(
        again.iter().map(|r| r.delivery).collect::<Vec<_>>(),
        vec![delivery]
    );

    // Its second attempt recorded, the retry is no longer leased: a renewal that comes
    // late leaves it so.
    t.store
        .record_attempts(
            &[Settled {
                delivery,
                batch: second,
                number: 2,
                attempt: attempt(later, AttemptOutcome::Failed),
                next: Next::RetryAt(later),
                disable: None,
            }],
            &[],
        )
        .await?;
    assert_eq!(
        t.store
            .extend_leases(&[], &[(delivery, retry_until)], retry_until + LEASE)
            .await?,
        (vec![], vec![])
    );
    assert_eq!(
        t.store
            .lease_retries(later, later + LEASE, 10, true)
            .await?
            .len(),
        1,
        "due again, it is free"
    );
    Ok(())
}

#[tokio::test]
async fn a_batch_is_leased_once_settled_in_parts_and_taken_over_when_its_lease_runs_out(
) -> Result<(), StoreError> {
    let t = store_with_directory().await;
    let routed = fixture().routed("incident-teams-everywhere", ACCEPTED_AT);
    let Published::Accepted(summary) = t
        .store
        .publish(&routed.publish(), None, &Actor::Operator)
        .await?
    else {
        panic!("accepted into an empty store");
    };
    let now = ACCEPTED_AT + 1;
    let leased = t
        .store
        .lease_batches(now, now + LEASE, 10, usize::MAX, true)
        .await?;
    assert!(!leased.is_empty(), "the publish queued deliveries");
    let entries: usize = leased
        .iter()
        .map(|b| b.body.matches("],[").count() + 1)
        .sum();
    assert_eq!(entries as i64, summary.deliveries);
    assert!(leased.iter().all(|b| b.settled.is_empty()));
    assert!(
        t.store
            .lease_batches(now, now + LEASE, 10, usize::MAX, true)
            .await?
            .is_empty(),
        "a leased batch is no one else's while its lease lasts"
    );
    assert!(
        t.store
            .lease_batches(now, now + LEASE, 10, usize::MAX, false)
            .await?
            .is_empty(),
        "a worker with no mail server leases no mail"
    );

    // The first entry arrives, the second fails; then the worker dies.
    let batch = leased
        .iter()
        .find(|b| b.body.starts_with("[[") && b.body.contains("],["))
        .expect("a batch of two deliveries or more");
    let first = herald_store::delivery_id(batch.id, 0);
    let second = herald_store::delivery_id(batch.id, 1);
    t.store
        .record_attempts(
            &[
                Settled {
                    delivery: first,
                    batch: batch.id,
                    number: 1,
                    attempt: attempt(now, AttemptOutcome::Delivered),
                    next: Next::Delivered,
                    disable: None,
                },
                Settled {
                    delivery: second,
                    batch: batch.id,
                    number: 1,
                    attempt: attempt(now, AttemptOutcome::Failed),
                    next: Next::RetryAt(now + 5_000),
                    disable: None,
                },
            ],
            &[],
        )
        .await?;
    // Where the message's deliveries stand, by channel, while the batch is still leased:
    // the first arrived, the second is to be retried, the rest wait.
    let counts = t
        .store
        .delivery_counts(&summary.cloud, &summary.id)
        .await?
        .expect("the message is stored");
    let sum = |pick: fn(&herald_store::ChannelCounts) -> i64| counts.iter().map(pick).sum::<i64>();
    assert_eq!(sum(|c| c.total), summary.deliveries, "{counts:?}");
    assert_eq!(sum(|c| c.delivered), 1, "{counts:?}");
    assert_eq!(sum(|c| c.retrying), 1, "{counts:?}");
    assert_eq!(sum(|c| c.dead), 0, "{counts:?}");
    assert_eq!(sum(|c| c.waiting), summary.deliveries - 2, "{counts:?}");
    let later = now + LEASE;
    let again = t
        .store
        .lease_batches(later, later + LEASE, 10, usize::MAX, true)
        .await?;
    let taken = again.iter().find(|b| b.id == batch.id).expect("taken over");
    assert_eq!(
        taken.settled,
        vec![0, 1],
        "only what was not settled is sent again"
    );

    // The same attempt recorded twice (a worker whose lease ran out) is kept as first.
    t.store
        .record_attempts(
            &[Settled {
                delivery: first,
                batch: batch.id,
                number: 1,
                attempt: attempt(later, AttemptOutcome::Failed),
                next: Next::RetryAt(later),
                disable: None,
            }],
            &[batch.id],
        )
        .await?;
    let shown = t.store.delivery("global", first).await?.expect("shown");
    assert_eq!(shown.delivery.status, "delivered");
    assert_eq!(shown.attempts.len(), 1);
    assert_eq!(shown.attempts[0].outcome, AttemptOutcome::Delivered);
    assert!(
        t.store.delivery("us-gov", first).await?.is_none(),
        "not another cloud's"
    );

    // The failed one is retried on its own when due, then dies.
    assert!(t
        .store
        .lease_retries(now + 4_999, later, 10, true)
        .await?
        .is_empty());
    let retries = t.store.lease_retries(now + 5_000, later, 10, true).await?;
    assert_eq!(retries.len(), 1);
    assert_eq!((retries[0].delivery, retries[0].attempts), (second, 1));
    assert!(retries[0].entry.starts_with("[\""), "{:?}", retries[0]);
    let retrying = t.store.delivery("global", second).await?.unwrap().delivery;
    assert_eq!(
        (retrying.status.as_str(), retrying.next_attempt_at),
        ("retrying", Some(now + 5_000))
    );
    t.store
        .record_attempts(
            &[Settled {
                delivery: second,
                batch: batch.id,
                number: 2,
                attempt: attempt(now + 5_000, AttemptOutcome::Refused),
                next: Next::Dead,
                disable: None,
            }],
            &[],
        )
        .await?;
    let dead = t.store.delivery("global", second).await?.unwrap();
    assert_eq!(
        (dead.delivery.status.as_str(), dead.attempts.len()),
        ("dead", 2)
    );
    let troubled =
        async |which: Troubled<'_>| t.store.troubled_deliveries("global", which, None, 10).await;
    let dead_ones = async |which: Troubled<'_>| {
        troubled(Troubled {
            status: Some("dead"),
            ..which
        })
        .await
    };
    assert_eq!(
        dead_ones(Troubled::default()).await?,
        vec![dead.delivery.clone()]
    );
    assert_eq!(
        troubled(Troubled::default()).await?,
        vec![dead.delivery.clone()],
        "retrying or dead"
    );
    assert_eq!(
        troubled(Troubled {
            status: Some("retrying"),
            ..Troubled::default()
        })
        .await?,
        vec![]
    );
    let org = dead.delivery.org.as_deref().unwrap();
    let cases = [
        (
            Troubled {
                to: Some(("customer", "nobody")),
                ..Troubled::default()
            },
            0,
            "another recipient's",
        ),
        (
            Troubled {
                to: Some((dead.delivery.recipient.as_str(), org)),
                ..Troubled::default()
            },
            1,
            "its recipient's own",
        ),
        (
            Troubled {
                message: Some(&dead.delivery.message),
                ..Troubled::default()
            },
            1,
            "the message's own dead letter",
        ),
        (
            Troubled {
                message: Some("another-message"),
                ..Troubled::default()
            },
            0,
            "another message's",
        ),
        (
            Troubled {
                endpoint: Some(&dead.delivery.to),
                ..Troubled::default()
            },
            0,
            "an email's contact is no webhook endpoint",
        ),
    ];
    for (which, found, why) in cases {
        assert_eq!(dead_ones(which).await?.len(), found, "{why}");
    }

    // A person replays the dead letter: it is due at once.
    assert_eq!(
        t.store
            .replay("global", second, later, &Actor::Operator)
            .await?,
        Replayed::Queued
    );
    let replayed = t
        .store
        .lease_retries(later, later + LEASE, 10, true)
        .await?;
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].attempts, 2, "the next attempt is the third");
    assert!(matches!(
        t.store
            .replay("global", second, later, &Actor::Operator)
            .await?,
        Replayed::StillQueued(_)
    ));
    assert_eq!(
        t.store
            .replay("us-gov", second, later, &Actor::Operator)
            .await?,
        Replayed::Unknown
    );
    assert_eq!(
        troubled(Troubled::default()).await?.len(),
        1,
        "retrying once replayed"
    );

    // One that arrives on its replay is no longer among them.
    t.store
        .record_attempts(
            &[Settled {
                delivery: second,
                batch: batch.id,
                number: 3,
                attempt: attempt(later, AttemptOutcome::Delivered),
                next: Next::Delivered,
                disable: None,
            }],
            &[],
        )
        .await?;
    assert_eq!(troubled(Troubled::default()).await?, vec![]);
    Ok(())
}

#[tokio::test]
async fn a_publish_wakes_this_processs_worker_and_on_postgresql_every_listening_one() {
    let fx = fixture();
    let t = store_with_directory().await;
    // Another process's store on the same database, listening for queued deliveries.
    let other = t.scratch.open().await.unwrap();
    let _listening = other.listen().await.unwrap();
    let (own, theirs) = (t.store.queued().notified(), other.queued().notified());
    tokio::pin!(own, theirs);
    own.as_mut().enable();
    theirs.as_mut().enable();

    let routed = fx.routed("incident-teams-everywhere", ACCEPTED_AT);
    t.store
        .publish(&routed.publish(), None, &Actor::Operator)
        .await
        .unwrap();

    // A bound far past any wake-up, so that a missing one fails rather than hangs.
    let bound = Duration::from_secs(30);
    tokio::time::timeout(bound, own)
        .await
        .expect("this process's worker wakes");
    if t.store.engine() == Engine::Postgres {
        tokio::time::timeout(bound, theirs)
            .await
            .expect("the listening process's worker wakes");
    }
}
