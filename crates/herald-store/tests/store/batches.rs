//! Batches: a message reaching thousands of customers is written in batches built on
//! several threads while they are written. What is stored must be exactly what the domain
//! decided and planned, read through `herald_domain` alone, not through the code that
//! built the batches.

use std::collections::BTreeSet;

use herald_domain::plan::{customer_copy, partner_copies};
use herald_domain::synthetic::{self, Options, CATALOG};
use herald_domain::{route, wire, Directory, Message, Policy};
use herald_store::{Actor, Publish, Published, Rows, BATCH};

use crate::common::{temp_store, ACCEPTED_AT};

/// A synthetic directory of `customers` customers in two clouds.
fn directory(customers: usize) -> Directory {
    synthetic::directory(Options {
        customers,
        seed: 7,
        detailed: true,
        us_gov: true,
    })
    .expect("the synthetic directory is valid")
}

/// An incident on every service of the catalog, in the global cloud.
fn incident(policy: &Policy, directory: &Directory) -> Message {
    let services: BTreeSet<&str> = CATALOG
        .iter()
        .flat_map(|(_, _, s)| s.iter().copied())
        .collect();
    let wire: wire::Message = serde_json::from_value(serde_json::json!({
        "id": "everything-down",
        "category": "service_incident",
        "services": services,
        "title": {"en": "Outage", "de": "Ausfall"},
        "body": {"en": "We are on it.", "de": "Wir sind dran."},
    }))
    .expect("the wire shape");
    Message::parse(wire, policy, directory).expect("a valid message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_incident_is_stored_exactly_as_routed_and_planned() {
    let policy = Policy::default_policy();
    let directory = directory(5_000);
    let message = incident(&policy, &directory);
    let routing = route(&policy, &directory, &message);
    assert!(
        routing.decisions().len() > 3 * BATCH,
        "several batches, so several threads: {}",
        routing.decisions().len()
    );
    let publish = Publish {
        policy: &policy,
        directory: &directory,
        message: &message,
        routing: &routing,
        accepted_at: ACCEPTED_AT,
        thread_head: None,
    };
    let t = temp_store().await;
    t.store
        .import(&directory, 0, &Actor::Operator)
        .await
        .expect("imports");
    let Published::Accepted(summary) = t
        .store
        .publish(&publish, None, &Actor::Operator)
        .await
        .unwrap()
    else {
        panic!("not accepted into an empty store");
    };
    let stored = t
        .store
        .message("global", "everything-down")
        .await
        .unwrap()
        .unwrap();

    // Decisions, in customer order, one per routed decision.
    assert_eq!(stored.decisions.len(), routing.decisions().len());
    let mut expected_deliveries = BTreeSet::new();
    for (got, d) in stored.decisions.iter().zip(routing.decisions()) {
        let customer = directory.customer(d.customer);
        assert_eq!(got.customer, customer.id.as_str());
        assert_eq!(got.direct, d.direct);
        let partners: Vec<&str> = routing
            .partners(d)
            .iter()
            .map(|p| directory.partner(*p).id.as_str())
            .collect();
        assert_eq!(got.partners, partners, "{}", got.customer);
        let sub_id = |s: &herald_domain::ids::SubscriptionIx| {
            directory.subscription(*s).id.as_str().to_owned()
        };
        let subs: Vec<String> = routing.subscriptions(d).iter().map(sub_id).collect();
        assert_eq!(got.subscriptions, subs, "{}", got.customer);
        let copy = customer_copy(&policy, &directory, &message, &routing, d);
        assert_eq!(
            got.copy,
            copy.as_ref()
                .map(|c| c.subscriptions.iter().map(sub_id).collect::<Vec<_>>())
        );
        for reader in copy.iter().flat_map(|c| &c.readers) {
            let contact = directory.contact(reader.contact);
            expected_deliveries.insert((
                "customer".to_owned(),
                customer.id.to_string(),
                contact.id.to_string(),
                reader.locale.to_owned(),
            ));
        }
    }

    // Partner copies, each with only its own customers and subscriptions.
    let copies = partner_copies(&policy, &directory, &message, &routing);
    assert_eq!(stored.partner_copies.len(), copies.len());
    for (got, copy) in stored.partner_copies.iter().zip(&copies) {
        let partner = directory.partner(copy.partner);
        assert_eq!(got.partner, partner.id.as_str());
        let customers: Vec<&str> = copy
            .customers
            .iter()
            .map(|c| directory.customer(*c).id.as_str())
            .collect();
        assert_eq!(got.customers, customers, "{}", got.partner);
        let subs: Vec<&str> = copy
            .subscriptions
            .iter()
            .map(|s| directory.subscription(*s).id.as_str())
            .collect();
        assert_eq!(got.subscriptions, subs, "{}", got.partner);
        for reader in &copy.readers {
            expected_deliveries.insert((
                "partner".to_owned(),
                partner.id.to_string(),
                directory.contact(reader.contact).id.to_string(),
                reader.locale.to_owned(),
            ));
        }
    }

    // One delivery per reader of every copy, each with its own id.
    let deliveries: BTreeSet<_> = stored
        .deliveries
        .iter()
        .map(|d| {
            (
                d.recipient.clone(),
                d.org.clone().expect("customers and partners are mailed"),
                d.to.clone(),
                d.locale.clone().expect("mail is in a locale"),
            )
        })
        .collect();
    assert_eq!(
        deliveries.len(),
        stored.deliveries.len(),
        "no delivery twice"
    );
    assert_eq!(deliveries, expected_deliveries);
    let ids: BTreeSet<i64> = stored.deliveries.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), stored.deliveries.len());
    assert!(
        stored
            .deliveries
            .iter()
            .any(|d| d.locale.as_deref() == Some("de")),
        "German readers read the German text"
    );

    // The counts agree, and collecting the rows gives the same rows in every respect.
    assert_eq!(summary.customers_in_scope, stored.decisions.len() as i64);
    assert_eq!(
        summary.customers_direct,
        stored.decisions.iter().filter(|d| d.direct).count() as i64
    );
    assert_eq!(summary.partners_told, copies.len() as i64);
    assert_eq!(summary.deliveries, stored.deliveries.len() as i64);
    let rows = Rows::build(&publish);
    assert_eq!(rows.message.customers_direct, summary.customers_direct);
    assert_eq!(rows.message.deliveries, summary.deliveries);
    assert!(rows
        .decisions
        .iter()
        .all(|b| (1..=BATCH).contains(&b.customers)));
    assert!(rows
        .deliveries
        .iter()
        .all(|b| (1..=BATCH).contains(&b.deliveries)));
}
