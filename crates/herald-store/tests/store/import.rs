//! Directory import: what is imported reads back as the same directory and routes the
//! same; an import replaces the whole previous directory.

use herald_domain::report::report;
use herald_domain::{route, wire, Directory, Message, Policy};
use herald_store::{Actor, Counts, ImportSummary, StoreError};
use serde_json::json;

use crate::common::{conformance_wires, fixture, temp_store};

/// What becomes of a message against a directory: its routing report as JSON, or the
/// reason it was rejected.
fn outcome(policy: &Policy, directory: &Directory, wire: wire::Message) -> Result<String, String> {
    let message = Message::parse(wire, policy, directory).map_err(|e| e.reason)?;
    let routing = route(policy, directory, &message);
    Ok(serde_json::to_string(&report(policy, directory, &message, &routing)).expect("serialises"))
}

#[tokio::test]
async fn an_import_reads_back_as_the_directory_imported() {
    let fx = fixture();
    let t = temp_store().await;

    let summary = t
        .store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .expect("imports");
    assert_eq!(
        summary,
        ImportSummary {
            generation: 1,
            products: 5,
            partners: 7,
            customers: 9,
            subscriptions: 14
        }
    );
    assert_eq!(t.store.counts().await.unwrap(), fx.directory_counts());

    let loaded = t
        .store
        .load_directory()
        .await
        .expect("the stored directory loads");
    assert_eq!(loaded.to_world(), fx.directory.to_world());
    assert_eq!(t.store.load_world().await.unwrap(), fx.directory.to_world());

    // Routing every conformance message against the stored directory gives exactly what
    // it gives against the directory imported, rejections included.
    let mut routed = 0;
    for wire in conformance_wires() {
        let id = wire.id.clone();
        let before = outcome(&fx.policy, &fx.directory, wire.clone());
        let after = outcome(&fx.policy, &loaded, wire);
        routed += usize::from(before.is_ok());
        assert_eq!(
            after, before,
            "message {id} routes differently after import"
        );
    }
    assert_eq!(routed, fx.messages.len());
    assert_eq!(
        routed, 17,
        "the conformance suite accepts 17 of its 22 messages"
    );

    // Importing the same directory again changes nothing.
    t.store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .expect("imports again");
    assert_eq!(t.store.counts().await.unwrap(), fx.directory_counts());
    assert_eq!(t.store.load_world().await.unwrap(), fx.directory.to_world());
}

/// A second world sharing some ids with the conformance world, with other content.
fn second_world() -> wire::World {
    serde_json::from_value(json!({
        "products": [
            {"id": "m365-e3", "name": "Microsoft 365 E3 (renamed)", "services": ["exchange"]},
            {"id": "viva", "services": ["viva-insights"]}
        ],
        "partners": [
            {"id": "fabrikam", "kind": "direct_bill", "name": "Fabrikam Two"},
            {"id": "adventure", "kind": "direct_bill"}
        ],
        "customers": [
            {"id": "contoso", "name": "Contoso Two"},
            {"id": "woodgrove", "agreements": ["customer_agreement"]}
        ],
        "subscriptions": [
            {"id": "contoso-viva", "customer": "contoso", "product": "viva", "partner": "adventure"},
            {"id": "woodgrove-e3", "customer": "woodgrove", "product": "m365-e3", "agreement": "customer_agreement"}
        ]
    }))
    .expect("the second world has the wire shape")
}

#[tokio::test]
async fn a_second_import_replaces_the_first_whole() {
    let fx = fixture();
    let t = temp_store().await;
    t.store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .expect("first import");

    let second = Directory::build(second_world()).unwrap_or_else(|e| panic!("{e}"));
    let summary = t
        .store
        .import(&second, 0, &Actor::Operator)
        .await
        .expect("second import");
    assert_eq!(
        summary,
        ImportSummary {
            generation: 2,
            products: 2,
            partners: 2,
            customers: 2,
            subscriptions: 2
        }
    );
    assert_eq!(
        t.store.counts().await.unwrap(),
        Counts {
            products: 2,
            partners: 2,
            customers: 2,
            subscriptions: 2,
            ..Counts::default()
        }
    );
    let stored = t.store.load_world().await.unwrap();
    assert_eq!(stored, second.to_world());

    // Nothing of the first world survives: not its other records, nor the content of the
    // records whose ids the second world reuses.
    let loaded = t.store.load_directory().await.unwrap();
    let first = fx.directory.to_world();
    for p in &first.products {
        assert_eq!(
            loaded.product_ix(p.id.as_str()).is_some(),
            ["m365-e3"].contains(&p.id.as_str()),
            "product {}",
            p.id
        );
    }
    for p in &first.partners {
        assert_eq!(
            loaded.partner_ix(p.id.as_str()).is_some(),
            p.id.as_str() == "fabrikam",
            "partner {}",
            p.id
        );
    }
    for c in &first.customers {
        assert_eq!(
            loaded.customer_ix(c.id.as_str()).is_some(),
            c.id.as_str() == "contoso",
            "customer {}",
            c.id
        );
    }
    for s in &first.subscriptions {
        assert!(
            loaded.subscription_ix(s.id.as_str()).is_none(),
            "subscription {} of the first import survived",
            s.id
        );
    }
    let contoso = stored.customers.iter().find(|c| c.id.as_str() == "contoso");
    let contoso = contoso.expect("contoso is in the second world");
    assert_eq!(contoso.name.as_deref(), Some("Contoso Two"));
    assert!(
        contoso.agreements.is_empty(),
        "the first import's agreements survived"
    );
    assert!(
        contoso.contacts.is_empty(),
        "the first import's contacts survived"
    );
    let e3 = stored.products.iter().find(|p| p.id.as_str() == "m365-e3");
    assert_eq!(e3.expect("m365-e3").services.len(), 1);

    // A message about a subscription of the first world is now refused.
    let renewal = conformance_wires()
        .into_iter()
        .find(|m| m.id.as_str() == "renewal-contoso-e3")
        .expect("renewal-contoso-e3");
    let refused = outcome(&fx.policy, &loaded, renewal).expect_err("contoso-e3 is gone");
    assert!(refused.contains("contoso-e3"), "{refused}");
}

#[tokio::test]
async fn an_empty_import_empties_the_directory() {
    let fx = fixture();
    let t = temp_store().await;
    t.store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .expect("first import");
    let empty = Directory::build(wire::World::default()).expect("an empty world is valid");
    t.store
        .import(&empty, 0, &Actor::Operator)
        .await
        .expect("empty import");
    assert_eq!(t.store.counts().await.unwrap(), Counts::default());
    assert_eq!(t.store.load_world().await.unwrap(), wire::World::default());
}

#[tokio::test]
async fn a_replacement_made_from_an_older_directory_writes_nothing() {
    let fx = fixture();
    let t = temp_store().await;
    let first = t
        .store
        .import(&fx.directory, 0, &Actor::Operator)
        .await
        .expect("first import");
    let second = Directory::build(second_world()).unwrap_or_else(|e| panic!("{e}"));
    let stale = t
        .store
        .replace_directory(&second, first.generation - 1, 0, &Actor::Operator)
        .await;
    assert!(
        matches!(stale, Err(StoreError::DirectoryChanged)),
        "{stale:?}"
    );
    assert_eq!(t.store.counts().await.unwrap(), fx.directory_counts());
    assert_eq!(
        t.store.directory_generation().await.unwrap(),
        first.generation
    );
    let replaced = t
        .store
        .replace_directory(&second, first.generation, 0, &Actor::Operator)
        .await
        .expect("replaced on the generation it was made from");
    assert_eq!(replaced.generation, first.generation + 1);
    assert_eq!(t.store.load_directory().await.unwrap(), second);
}
