//! Inboxes: a customer's inbox is exactly the messages whose stored decision says it heard
//! directly, newest first, whether the message wrote a row per customer or is a broadcast
//! found through its decision batches, with what it marked read; and a database whose
//! messages were stored before those rows existed is given them when it is opened.

use herald_domain::synthetic::{self, Options, CATALOG};
use herald_domain::{route, wire, Directory, Message, Policy};
use herald_store::{Actor, Publish, Published, Reader, Store, BATCH};
use serde_json::json;

use crate::common::{temp_store, ACCEPTED_AT};

fn directory() -> Directory {
    synthetic::directory(Options {
        customers: 2_000,
        seed: 11,
        detailed: false,
        us_gov: true,
    })
    .expect("the synthetic directory is valid")
}

fn every_service() -> Vec<&'static str> {
    let mut services: Vec<&str> = CATALOG.iter().flat_map(|(_, _, s)| s.to_vec()).collect();
    services.sort_unstable();
    services.dedup();
    services
}

/// The customers message `i` names: three of the global cloud, spread over the directory.
fn picked(directory: &Directory, i: usize) -> [usize; 3] {
    let global = directory.cloud_ix("global").expect("a global cloud");
    let n = directory.customers().len();
    [(i * 131) % n, (i * 17 + 400) % n, n - 1 - i].map(|mut c| {
        while directory.customers()[c].cloud != global {
            c = (c + 1) % n;
        }
        c
    })
}

/// Broadcasts in turn with messages reaching a few customers each: renewals, narrowed
/// incidents, a product notice and an incident of the smaller cloud.
fn messages(directory: &Directory) -> Vec<serde_json::Value> {
    let customers = directory.customers();
    let first_subscription = |c: usize| {
        directory.subscriptions()[customers[c].subscriptions.start as usize]
            .id
            .to_string()
    };
    let mut out = vec![
        json!({"id": "everything-down", "category": "service_incident", "services": every_service(), "title": "Outage"}),
    ];
    for i in 0..12 {
        let picked = picked(directory, i);
        out.push(json!({
            "id": format!("renewal-{i}"),
            "category": "subscription",
            "subscriptions": picked.iter().map(|&c| first_subscription(c)).collect::<Vec<_>>(),
            "title": "Renewal",
        }));
        out.push(json!({
            "id": format!("narrow-incident-{i}"),
            "category": "service_incident",
            "services": every_service(),
            "customers": picked.iter().map(|&c| customers[c].id.to_string()).collect::<Vec<_>>(),
            "title": "Degraded",
        }));
        if i == 5 {
            out.push(json!({"id": "crm-news", "category": "product", "products": ["dynamics-sales"], "title": "News"}));
            out.push(json!({"id": "everything-down-again", "category": "service_incident", "services": every_service(), "title": "Outage again"}));
            out.push(json!({"id": "gov-down", "cloud": "us-gov", "category": "service_incident", "services": every_service(), "title": "Outage"}));
        }
    }
    out
}

/// Publishes every message, each routed against the stored directory, and gives how many
/// reached more than a batch of customers directly.
async fn publish_all(store: &Store, directory: &Directory) -> usize {
    let policy = Policy::default_policy();
    let snapshot = store.load_snapshot().await.unwrap();
    let mut broadcasts = 0;
    for (n, message) in messages(directory).into_iter().enumerate() {
        let wire: wire::Message = serde_json::from_value(message).unwrap();
        let message = Message::parse(wire, &policy, &snapshot.directory).unwrap();
        let routing = route(&policy, &snapshot.directory, &message);
        let publish = Publish {
            policy: &policy,
            directory: &snapshot.directory,
            message: &message,
            routing: &routing,
            accepted_at: ACCEPTED_AT + n as i64,
            thread_head: None,
        };
        let published = store
            .publish(&publish, Some(snapshot.generation), &Actor::Operator)
            .await
            .unwrap();
        let Published::Accepted(summary) = published else {
            panic!("{}: {published:?}", message.id);
        };
        broadcasts += usize::from(summary.customers_direct > BATCH as i64);
    }
    broadcasts
}

/// What each message's stored decision says, newest first: the messages of its cloud
/// `customer` heard directly.
async fn heard(store: &Store, cloud: &str, customer: &str) -> Vec<String> {
    let mut heard = Vec::new();
    for message in store.messages().await.unwrap().into_iter().rev() {
        if message.cloud != cloud {
            continue;
        }
        let decision = store
            .customer_decision(cloud, &message.id, customer)
            .await
            .unwrap();
        if decision.is_some_and(|d| d.direct) {
            heard.push(message.id);
        }
    }
    heard
}

/// Every page of `customer`'s inbox, seven at a time, and its unread count.
async fn inbox(store: &Store, cloud: &str, customer: &str) -> (Vec<String>, i64) {
    let mut ids = Vec::new();
    let mut before = None;
    let mut unread = None;
    loop {
        let page = store
            .inbox(cloud, Reader::Customer(customer), before, 7)
            .await
            .unwrap();
        assert!(page.items.len() <= 7);
        unread.get_or_insert(page.unread);
        assert_eq!(
            Some(page.unread),
            unread,
            "every page counts the whole inbox"
        );
        ids.extend(page.items.into_iter().map(|item| item.message.id));
        match page.next {
            Some(next) => before = Some(next),
            None => return (ids, unread.expect("at least one page")),
        }
    }
}

/// Every customer named by a message, and every 97th, with its cloud.
fn sample(directory: &Directory) -> Vec<(String, String)> {
    let customers = directory.customers();
    let mut sampled: Vec<usize> = (0..customers.len()).step_by(97).collect();
    for i in 0..12 {
        sampled.extend(picked(directory, i));
    }
    sampled.sort_unstable();
    sampled.dedup();
    sampled
        .into_iter()
        .map(|c| {
            let customer = &customers[c];
            (
                directory.cloud(customer.cloud).to_string(),
                customer.id.to_string(),
            )
        })
        .collect()
}

/// Every sampled customer's inbox against the stored decisions; how many inboxes held a
/// broadcast and how many a message of its own rows.
async fn check_inboxes(store: &Store, directory: &Directory) -> (usize, usize) {
    let (mut with_broadcast, mut with_own) = (0, 0);
    for (cloud, customer) in sample(directory) {
        let expected = heard(store, &cloud, &customer).await;
        let (ids, unread) = inbox(store, &cloud, &customer).await;
        assert_eq!(ids, expected, "the inbox of {customer} in {cloud}");
        assert_eq!(
            unread,
            expected.len() as i64,
            "{customer}: nothing is read yet"
        );
        with_broadcast += usize::from(expected.iter().any(|id| id.starts_with("everything")));
        with_own += usize::from(expected.iter().any(|id| !id.starts_with("everything")));
    }
    (with_broadcast, with_own)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_inbox_is_what_its_stored_decisions_say_it_heard() {
    let directory = directory();
    let t = temp_store().await;
    t.store
        .import(&directory, 0, &Actor::Operator)
        .await
        .unwrap();
    let broadcasts = publish_all(&t.store, &directory).await;
    assert_eq!(broadcasts, 2, "the two global outages reach most customers");
    let (with_broadcast, with_own) = check_inboxes(&t.store, &directory).await;
    assert!(
        with_broadcast > 10 && with_own > 10,
        "{with_broadcast} {with_own}"
    );

    // A message marked read shows when, on its page, and is no longer counted unread: a
    // broadcast and a message of the customer's own rows alike.
    let read_at = ACCEPTED_AT + 60_000;
    let mut marked = 0;
    for (cloud, customer) in sample(&directory) {
        let heard = heard(&t.store, &cloud, &customer).await;
        let Some(broadcast) = heard.iter().find(|id| id.starts_with("everything")) else {
            continue;
        };
        let own = heard.iter().find(|id| !id.starts_with("everything"));
        for id in [Some(broadcast), own].into_iter().flatten() {
            let marked_at = t
                .store
                .mark_read(&cloud, Reader::Customer(&customer), id, read_at)
                .await
                .unwrap();
            assert_eq!(marked_at, Some(read_at), "{customer} reads {id}");
        }
        let reads = 1 + usize::from(own.is_some());
        let page = t
            .store
            .inbox(&cloud, Reader::Customer(&customer), None, 500)
            .await
            .unwrap();
        assert_eq!(page.unread, (heard.len() - reads) as i64, "{customer}");
        for item in &page.items {
            let read = &item.message.id == broadcast || Some(&item.message.id) == own;
            assert_eq!(
                item.read_at,
                read.then_some(read_at),
                "{customer}: {item:?}"
            );
        }
        marked += 1;
    }
    assert!(marked > 10, "{marked}");
    t.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stored_before_inbox_rows_existed_are_given_them_on_open() {
    let directory = directory();
    let t = temp_store().await;
    t.store
        .import(&directory, 0, &Actor::Operator)
        .await
        .unwrap();
    publish_all(&t.store, &directory).await;
    // The database as it was before inbox rows and broadcasts existed.
    t.store
        .pool()
        .execute_script(
            "DROP INDEX messages_broadcast; \
             ALTER TABLE messages DROP COLUMN broadcast; \
             DROP TABLE customer_copies; \
             DELETE FROM _sqlx_migrations WHERE version = 5",
        )
        .await
        .unwrap();
    t.store.close().await;

    let store = t.scratch.open().await.expect("the store opens again");
    let (with_broadcast, with_own) = check_inboxes(&store, &directory).await;
    assert!(
        with_broadcast > 10 && with_own > 10,
        "{with_broadcast} {with_own}"
    );
    store.close().await;
}
