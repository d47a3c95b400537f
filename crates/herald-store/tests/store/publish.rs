//! Publishing: the message, its decisions, partner copies and deliveries in one
//! transaction; a repeat changes nothing; a different message under a published id is
//! refused; a publish that fails part way leaves no trace.

use herald_domain::wire::Text;
use herald_domain::Message;
use herald_store::{Actor, Counts, Published, StoreError};

use crate::common::{
    allow, counts_plus, expected_decisions, fixture, refuse, store_with_directory, Written,
    ACCEPTED_AT,
};

/// Publishes conformance message `id` into a store holding the conformance directory and
/// checks everything it wrote against the rows it was given and `expected.json`.
async fn publish_and_read_back(id: &str) -> Written {
    let fx = fixture();
    let t = store_with_directory().await;
    let before = t.store.counts().await.unwrap();
    assert_eq!(before, fx.directory_counts());

    let routed = fx.routed(id, ACCEPTED_AT);
    let Published::Accepted(summary) = t
        .store
        .publish(&routed.publish(), None, &Actor::Operator)
        .await
        .expect("publishes")
    else {
        panic!("{id} was not accepted into an empty store");
    };
    let rows = routed.rows();
    let m = &rows.message;
    assert_eq!(summary.id, id);
    assert_eq!(
        (summary.cloud.as_str(), summary.category.as_str()),
        (m.cloud.as_str(), m.category.as_str())
    );
    assert_eq!(summary.policy_version, "default/1");
    assert_eq!(summary.accepted_at, ACCEPTED_AT);
    let written = Written::of_rows(&rows);
    assert_eq!(summary.customers_in_scope, written.decisions.len() as i64);
    assert_eq!(
        summary.customers_direct,
        written.decisions.iter().filter(|d| d.direct).count() as i64
    );
    assert_eq!(summary.partners_told, rows.partner_copies().count() as i64);
    assert_eq!(summary.deliveries, written.deliveries.len() as i64);

    assert_eq!(t.store.counts().await.unwrap(), counts_plus(before, &rows));

    let detail = t
        .store
        .message("global", id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(detail.summary, summary);
    assert_eq!(t.store.summary("global", id).await.unwrap(), Some(summary));
    assert_eq!(
        detail.request,
        serde_json::from_str::<serde_json::Value>(&fx.message(id).wire.canonical()).unwrap(),
        "the stored request is the message as published, in canonical form"
    );
    let stored = Written::of_detail(&detail);
    assert_eq!(stored, written);
    assert_eq!(Some(stored.triples()), expected_decisions(id));
    for d in &detail.deliveries {
        assert_eq!((d.status.as_str(), d.attempts), ("pending", 0), "{d:?}");
    }
    let mut delivery_ids: Vec<i64> = detail.deliveries.iter().map(|d| d.id).collect();
    delivery_ids.dedup();
    assert_eq!(delivery_ids.len(), detail.deliveries.len());
    written
}

#[tokio::test]
async fn publishing_price_change_mixed_stores_every_row() {
    let written = publish_and_read_back("price-change-mixed").await;
    // R2 and R4 meet: contoso's own copy names only its direct subscription, and fabrikam's
    // copy only the one it sold.
    assert_eq!(written.decisions.len(), 1);
    assert_eq!(
        written.decisions[0].copy,
        Some(vec!["contoso-azure".to_owned()])
    );
    assert_eq!(
        written.copies,
        vec![(
            "fabrikam".to_owned(),
            vec!["contoso".to_owned()],
            vec!["contoso-e3".to_owned()]
        )]
    );
    let orgs: Vec<(&str, &str)> = written
        .deliveries
        .iter()
        .map(|d| (d.0.as_str(), d.1.as_str()))
        .collect();
    assert_eq!(orgs, [("customer", "contoso"), ("partner", "fabrikam")]);
}

#[tokio::test]
async fn publishing_incident_teams_everywhere_stores_every_row() {
    let written = publish_and_read_back("incident-teams-everywhere").await;
    assert_eq!(written.decisions.len(), 5);
    assert!(written.decisions.iter().all(|d| d.direct));
    let partners: Vec<&str> = written.copies.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        partners,
        ["fabrikam", "litware", "northwind", "tailspin", "wingtip"]
    );
    // Every customer and every partner told has someone to read its copy.
    assert_eq!(written.deliveries.len(), 10);
}

#[tokio::test]
async fn every_accepted_conformance_message_is_stored_in_publish_order() {
    let fx = fixture();
    let t = store_with_directory().await;
    let mut expected = fx.directory_counts();
    for message in &fx.messages {
        let rows = fx.routed_of(message, ACCEPTED_AT);
        let published = t
            .store
            .publish(&rows.publish(), None, &Actor::Operator)
            .await
            .expect("publishes");
        assert!(
            matches!(published, Published::Accepted(_)),
            "{}: {published:?}",
            message.id
        );
        expected = counts_plus(expected, &rows.rows());
        let cloud = message.wire.cloud.as_ref().map_or("global", |c| c.as_str());
        let detail = t
            .store
            .message(cloud, message.id.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Some(Written::of_detail(&detail).triples()),
            expected_decisions(message.id.as_str()),
            "{}",
            message.id
        );
    }
    assert_eq!(t.store.counts().await.unwrap(), expected);
    assert_eq!(expected.messages, 17);
    let listed: Vec<String> = t
        .store
        .messages()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let published: Vec<String> = fx.messages.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(listed, published);
}

#[tokio::test]
async fn publishing_the_same_message_again_changes_nothing() {
    let fx = fixture();
    let t = store_with_directory().await;
    let rows = fx.routed("incident-teams-everywhere", ACCEPTED_AT);
    let Published::Accepted(first) = t
        .store
        .publish(&rows.publish(), None, &Actor::Operator)
        .await
        .unwrap()
    else {
        panic!("the first publish was not accepted");
    };
    let counts = t.store.counts().await.unwrap();
    let detail = t
        .store
        .message("global", "incident-teams-everywhere")
        .await
        .unwrap();

    assert_eq!(
        t.store
            .publish(&rows.publish(), None, &Actor::Operator)
            .await
            .unwrap(),
        Published::Repeated(first.clone())
    );
    // Published again a minute later: still the same message, accepted at the first time.
    let later = fx.routed("incident-teams-everywhere", ACCEPTED_AT + 60_000);
    assert_eq!(
        t.store
            .publish(&later.publish(), None, &Actor::Operator)
            .await
            .unwrap(),
        Published::Repeated(first)
    );

    assert_eq!(t.store.counts().await.unwrap(), counts);
    assert_eq!(
        t.store
            .message("global", "incident-teams-everywhere")
            .await
            .unwrap(),
        detail
    );
}

#[tokio::test]
async fn a_different_message_under_a_published_id_is_refused() {
    let fx = fixture();
    let t = store_with_directory().await;
    let id = "price-change-mixed";
    t.store
        .publish(
            &fx.routed(id, ACCEPTED_AT).publish(),
            None,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let counts = t.store.counts().await.unwrap();
    let detail = t.store.message("global", id).await.unwrap();

    // Another message altogether under the same id.
    let mut other = fx.message("incident-teams-everywhere").wire.clone();
    other.id = id.into();
    // The same message with its title corrected.
    let mut retitled = fx.message(id).wire.clone();
    retitled.title = Some(Text::Plain("Price change (corrected)".to_owned()));

    for wire in [other, retitled] {
        let message = Message::parse(wire, &fx.policy, &fx.directory).expect("a valid message");
        match t
            .store
            .publish(
                &fx.routed_of(&message, ACCEPTED_AT + 1).publish(),
                None,
                &Actor::Operator,
            )
            .await
        {
            Err(e @ StoreError::Conflict(_)) => {
                assert!(matches!(&e, StoreError::Conflict(got) if got == id));
                let text = e.to_string();
                assert!(
                    text.contains(id) && text.contains("different content"),
                    "{text}"
                );
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(t.store.counts().await.unwrap(), counts);
        assert_eq!(t.store.message("global", id).await.unwrap(), detail);
    }
}

#[tokio::test]
async fn a_publish_that_fails_part_way_leaves_no_trace() {
    let fx = fixture();
    let t = store_with_directory().await;
    let id = "incident-teams-everywhere";
    let good = fx.routed(id, ACCEPTED_AT);

    // Each trigger makes SQLite refuse one write of the publish, after the message row and
    // everything before that write were already written inside the transaction: the first
    // decision batch, the partners' deliveries (the last batch), the partners' copies, and
    // the final counts on the message.
    let refusals = [
        ("BEFORE INSERT", "decision_batches", "TRUE"),
        (
            "BEFORE INSERT",
            "delivery_batches",
            "NEW.recipient = 'partner'",
        ),
        ("BEFORE INSERT", "partner_copies", "TRUE"),
        ("BEFORE UPDATE", "messages", "TRUE"),
    ];
    for (when, table, condition) in refusals {
        let refusal = format!("{when} ON {table} WHEN {condition}");
        refuse(&t.store, when, table, condition).await;
        match t
            .store
            .publish(&good.publish(), None, &Actor::Operator)
            .await
        {
            Err(e @ StoreError::Sqlite(_)) | Err(e @ StoreError::Database(_)) => {
                assert!(e.to_string().contains("refused"), "{refusal}: {e}")
            }
            other => panic!("{refusal}: the refused write was not reported: {other:?}"),
        }
        allow(&t.store, table).await;
        assert_eq!(
            t.store.counts().await.unwrap(),
            fx.directory_counts(),
            "{refusal}"
        );
        assert_eq!(
            t.store.message("global", id).await.unwrap(),
            None,
            "{refusal}"
        );
        assert!(t.store.messages().await.unwrap().is_empty(), "{refusal}");
    }

    // The failed attempts held nothing back: the message is accepted as new.
    assert!(matches!(
        t.store
            .publish(&good.publish(), None, &Actor::Operator)
            .await
            .unwrap(),
        Published::Accepted(_)
    ));
    assert_eq!(
        t.store.counts().await.unwrap(),
        counts_plus(fx.directory_counts(), &good.rows())
    );
}

#[tokio::test]
async fn an_empty_store_has_nothing_to_show() {
    let t = store_with_directory().await;
    assert_eq!(t.store.message("global", "nope").await.unwrap(), None);
    assert_eq!(t.store.summary("global", "nope").await.unwrap(), None);
    assert!(t.store.messages().await.unwrap().is_empty());
    assert_eq!(
        t.store.counts().await.unwrap(),
        Counts {
            messages: 0,
            ..fixture().directory_counts()
        }
    );
}

#[tokio::test]
async fn rows_routed_against_a_replaced_directory_are_refused_and_change_nothing() {
    let fx = fixture();
    let t = store_with_directory().await;
    let snapshot = t.store.load_snapshot().await.unwrap();
    assert_eq!(snapshot.directory, fx.directory);

    // An import replaces the directory after the rows were routed against it.
    t.store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .unwrap();
    let newer = t.store.load_snapshot().await.unwrap();
    assert_eq!(newer.generation, snapshot.generation + 1);

    let before = t.store.counts().await.unwrap();
    let rows = fx.routed("price-change-mixed", ACCEPTED_AT);
    match t
        .store
        .publish(&rows.publish(), Some(snapshot.generation), &Actor::Operator)
        .await
    {
        Err(StoreError::DirectoryChanged) => {}
        other => panic!("expected DirectoryChanged, got {other:?}"),
    }
    assert_eq!(t.store.counts().await.unwrap(), before);

    // Routed against the current directory, the same rows are accepted.
    let accepted = t
        .store
        .publish(&rows.publish(), Some(newer.generation), &Actor::Operator)
        .await
        .unwrap();
    assert!(matches!(accepted, Published::Accepted(_)), "{accepted:?}");
}

#[tokio::test]
async fn clouds_never_share_a_message_id() {
    // The us-gov vendor publishes under an id the global vendor used: its own message, no
    // conflict, and neither cloud reads the other's under that id.
    let fx = fixture();
    let t = store_with_directory().await;
    let global = fx.routed("incident-teams-everywhere", ACCEPTED_AT);
    t.store
        .publish(&global.publish(), None, &Actor::Operator)
        .await
        .unwrap();
    let mut gov = fx.message("gov-incident-exchange").wire.clone();
    gov.id = "incident-teams-everywhere".into();
    let gov = Message::parse(gov, &fx.policy, &fx.directory).expect("a valid message");
    let routed = fx.routed_of(&gov, ACCEPTED_AT);
    assert!(matches!(
        t.store
            .publish(&routed.publish(), None, &Actor::Operator)
            .await
            .unwrap(),
        Published::Accepted(_)
    ));
    let id = "incident-teams-everywhere";
    let global = t.store.summary("global", id).await.unwrap().unwrap();
    let gov = t.store.summary("us-gov", id).await.unwrap().unwrap();
    assert_eq!(
        (global.cloud.as_str(), gov.cloud.as_str()),
        ("global", "us-gov")
    );
    assert_ne!(global.customers_in_scope, 0);
    assert_eq!(gov.customers_in_scope, 1);
    assert_eq!(t.store.summary("mars", id).await.unwrap(), None);

    // Requests read together are each cloud's own, and only those stored.
    let other = fx.routed("price-change-mixed", ACCEPTED_AT);
    t.store
        .publish(&other.publish(), None, &Actor::Operator)
        .await
        .unwrap();
    let wanted = [id, "price-change-mixed", "nowhere"];
    let global = t.store.stored_requests("global", &wanted).await.unwrap();
    let gov = t.store.stored_requests("us-gov", &wanted).await.unwrap();
    for (cloud, requests, ids) in [
        ("global", &global, &[id, "price-change-mixed"][..]),
        ("us-gov", &gov, &[id][..]),
    ] {
        let mut found: Vec<&str> = requests.keys().map(String::as_str).collect();
        found.sort_unstable();
        assert_eq!(found, ids, "{cloud}");
        for (found, request) in requests {
            let one = t.store.stored_request(cloud, found).await.unwrap();
            assert_eq!(
                one.map(|(_, r)| r).as_ref(),
                Some(request),
                "{cloud} {found}"
            );
        }
    }
    assert_ne!(global[id], gov[id]);
}

#[tokio::test]
async fn an_update_routed_before_another_update_of_its_thread_landed_is_refused_and_changes_nothing(
) {
    let fx = fixture();
    let t = store_with_directory().await;
    let thread_message = |id: &str| {
        let mut wire = fx.message("incident-teams-everywhere").wire.clone();
        wire.id = id.into();
        wire.thread = Some("teams".into());
        wire.status = Some(herald_domain::wire::ThreadStatus::Investigating);
        Message::parse(wire, &fx.policy, &fx.directory).expect("a valid message")
    };
    let first = thread_message("first");
    t.store
        .publish(
            &fx.routed_of(&first, ACCEPTED_AT).publish(),
            None,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let head = t
        .store
        .thread_head("global", "teams", &fx.directory)
        .await
        .unwrap()
        .expect("the thread is stored");
    assert_eq!(head.category, "service_incident");
    assert_eq!(
        head.reached.len(),
        fx.routed_of(&first, 0)
            .rows()
            .decisions
            .iter()
            .map(|b| b.customers)
            .sum::<usize>()
    );

    // An update routed as if it opened the thread, when the thread already has a head.
    let update = thread_message("update");
    let before = t.store.counts().await.unwrap();
    match t
        .store
        .publish(
            &fx.routed_of(&update, ACCEPTED_AT).publish(),
            None,
            &Actor::Operator,
        )
        .await
    {
        Err(StoreError::ThreadMoved(thread)) => assert_eq!(thread, "teams"),
        other => panic!("expected ThreadMoved, got {other:?}"),
    }
    assert_eq!(t.store.counts().await.unwrap(), before);
    let (thread, messages) = t.store.thread("global", "teams").await.unwrap().unwrap();
    assert_eq!((thread.updates, messages.len()), (1, 1));
}
