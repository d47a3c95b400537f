//! The doors between clouds, principals and processes: a refusal names only what its
//! caller may know, a server answers from the directory as it is now, a one-cloud key
//! cannot change the catalog every cloud shares, and a key dies with its organisation.

use std::collections::BTreeSet;

use herald_domain::{wire, Directory};
use herald_store::{Actor, KeyFor, NewEndpoint, Principal, StoreError};
use serde_json::{json, Value};

use crate::common::{conformance, world_of, Server};

async fn vendor(server: &Server, cloud: &str) -> String {
    server
        .key(KeyFor::Vendor {
            cloud: cloud.into(),
        })
        .await
}

/// Every id of `cloud`'s partners, customers, subscriptions and contacts, and the cloud's
/// own name: what no answer to another cloud's key may hold, unless its request named it.
fn ids_of(cloud: &str) -> BTreeSet<String> {
    let world = world_of(cloud);
    let mut ids = BTreeSet::from([cloud.to_owned()]);
    for kind in ["partners", "customers", "subscriptions"] {
        for record in world[kind].as_array().unwrap() {
            ids.insert(record["id"].as_str().unwrap().to_owned());
            for contact in record["contacts"].as_array().into_iter().flatten() {
                ids.insert(contact["id"].as_str().unwrap().to_owned());
            }
        }
    }
    ids
}

/// Asserts the problem `answer` names no id of `cloud` that `request` does not name itself.
fn names_nothing_of(cloud: &str, request: &Value, answer: &Value) {
    let request = request.to_string();
    let detail = answer["detail"].as_str().unwrap();
    for id in ids_of(cloud) {
        let named = format!("\"{id}\"");
        if !request.contains(&named) {
            assert!(
                !detail.contains(&named),
                "the answer names {id:?} of cloud {cloud:?}: {answer}"
            );
        }
    }
}

/// `world` with each id in `renamed` (old, new) replaced wherever it is written.
fn renamed(world: &Value, renamed: &[(&str, &str)]) -> Value {
    let mut text = world.to_string();
    for (old, new) in renamed {
        text = text.replace(&format!("\"{old}\""), &format!("\"{new}\""));
    }
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_directory_names_no_record_of_another_cloud() {
    let server = Server::with_conformance().await;
    let gov = vendor(&server, "us-gov").await;
    let global = vendor(&server, "global").await;
    let before = server.get(&global, "/v1/directory").await.1;

    // The us-gov cloud, its partner and customer renamed to ids the global cloud uses.
    let taken = renamed(
        &world_of("us-gov"),
        &[("gov-fabrikam", "fabrikam"), ("gov-dept", "contoso")],
    );
    let (status, problem) = server.put(&gov, "/v1/directory", &taken).await;
    assert_eq!(status, 422, "{problem}");
    names_nothing_of("global", &taken, &problem);
    assert!(
        problem["detail"].as_str().unwrap().contains("\"fabrikam\""),
        "the refusal names the request's own record: {problem}"
    );

    // The other direction: the global cloud taking the us-gov cloud's ids.
    let taken = renamed(
        &world_of("global"),
        &[
            ("fabrikam", "gov-fabrikam"),
            ("contoso-admin", "gov-dept-admin"),
        ],
    );
    let (status, problem) = server.put(&global, "/v1/directory", &taken).await;
    assert_eq!(status, 422, "{problem}");
    names_nothing_of("us-gov", &taken, &problem);

    // A contact id is unique across the directory: taking another cloud's is refused
    // without naming whose it is.
    let contact = json!({"id": "contoso-admin", "name": "Dept Admin", "email": "x@dept.example", "roles": ["technical"]});
    let path = "/v1/directory/customers/gov-dept/contacts/contoso-admin";
    let (status, problem) = server.put(&gov, path, &contact).await;
    assert_eq!(status, 422, "{problem}");
    names_nothing_of("global", &contact, &problem);
    let (status, problem) = server
        .put(
            &gov,
            "/v1/directory/customers/gov-dept",
            &json!({"id": "gov-dept", "name": "Dept", "cloud": "us-gov", "contacts": [contact]}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    names_nothing_of("global", &contact, &problem);

    assert_eq!(server.get(&global, "/v1/directory").await.1, before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_comes_from_the_directory_as_it_is_now() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server, "global").await;
    let fabrikam = server.key(KeyFor::Partner("fabrikam".into())).await;
    // The server reads the directory once, now.
    assert_eq!(server.get(&vendor, "/v1/directory").await.0, 200);

    // Another process adds a customer, Zephyr, with a subscription Fabrikam sold, and
    // publishes an incident of it: this server has not seen either.
    let mut world: wire::World = serde_json::from_value(conformance("world.json")).unwrap();
    world.customers.push(
        serde_json::from_value(json!({"id": "zephyr", "name": "Zephyr", "contacts": [
            {"id": "zephyr-admin", "name": "Zephyr Admin", "email": "admin@zephyr.example", "roles": ["technical"]}
        ]}))
        .unwrap(),
    );
    world.subscriptions.push(
        serde_json::from_value(
            json!({"id": "zephyr-e3", "customer": "zephyr", "product": "m365-e3", "partner": "fabrikam"}),
        )
        .unwrap(),
    );
    server
        .store
        .import(&Directory::build(world).unwrap(), 0, &Actor::Operator)
        .await
        .unwrap();
    let update = |id: &str, status: &str| {
        json!({
            "id": id, "category": "service_incident", "services": ["exchange"],
            "customers": ["zephyr"], "thread": "zephyr-mail", "status": status,
            "title": "Mail is down", "body": "For Zephyr."
        })
    };
    let service = herald_service::Service::new(
        server.store.clone(),
        herald_domain::Policy::default_policy(),
    )
    .await
    .unwrap();
    service
        .publish(
            &serde_json::from_value(update("zephyr-1", "investigating")).unwrap(),
            1_700_000_000_000,
            &Actor::Operator,
        )
        .await
        .unwrap();

    let (status, notices) = server.get(&fabrikam, "/v1/partner/notices").await;
    assert_eq!(status, 200, "{notices}");
    assert_eq!(
        notices["customers"][0]["incidents"][0]["subscriptions"],
        json!(["zephyr-e3"]),
        "{notices}"
    );
    let (status, routed) = server
        .post(&vendor, "/v1/route", &update("zephyr-2", "identified"))
        .await;
    assert_eq!(status, 200, "{routed}");
    assert!(routed.to_string().contains("zephyr"), "{routed}");
    let (status, published) = server
        .post(&vendor, "/v1/messages", &update("zephyr-2", "identified"))
        .await;
    assert_eq!(status, 201, "{published}");
    server.stop().await;
}

/// The customers `vendor` would tell of a Teams incident, as `POST /v1/route` reports them.
async fn told_of_teams(server: &Server, vendor: &str) -> Value {
    let incident = json!({"id": "teams-down", "category": "service_incident", "services": ["teams"], "title": "Teams is down"});
    let (status, routed) = server.post(vendor, "/v1/route", &incident).await;
    assert_eq!(status, 200, "{routed}");
    routed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_key_for_every_cloud_changes_the_catalog() {
    let server = Server::with_conformance().await;
    let gov = vendor(&server, "us-gov").await;
    let global = vendor(&server, "global").await;
    let catalog = server.key(KeyFor::VendorOfEveryCloud).await;
    let before = told_of_teams(&server, &global).await;
    let without_teams = json!({"id": "m365-e3", "name": "Microsoft 365 E3", "services": ["exchange", "sharepoint"]});

    // A key of one cloud reads the catalog, and changes nothing of it, whichever way.
    let path = "/v1/directory/products/m365-e3";
    assert_eq!(server.get(&gov, path).await.0, 200);
    for (status, problem) in [
        server.put(&gov, path, &without_teams).await,
        server.delete(&gov, path).await,
        server
            .put(
                &gov,
                "/v1/directory/products/viva",
                &json!({"id": "viva", "services": ["viva-insights"]}),
            )
            .await,
    ] {
        assert_eq!(status, 403, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("--all-clouds"),
            "{problem}"
        );
    }
    let mut world = world_of("us-gov");
    world["products"][0] = without_teams.clone();
    let (status, problem) = server.put(&gov, "/v1/directory", &world).await;
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("\"m365-e3\""),
        "{problem}"
    );
    assert_eq!(told_of_teams(&server, &global).await, before);
    // Named as they are, products change nothing and are taken.
    assert_eq!(
        server
            .put(&gov, "/v1/directory", &world_of("us-gov"))
            .await
            .0,
        200
    );

    // A key for every cloud changes the catalog and nothing of any one cloud.
    let (status, stored) = server.put(&catalog, path, &without_teams).await;
    assert_eq!((status, &stored), (200, &without_teams));
    assert_ne!(told_of_teams(&server, &global).await, before);
    assert_eq!(
        server.get(&catalog, "/v1/directory").await.1["partners"],
        json!([])
    );
    for (status, problem) in [
        server
            .put(&catalog, "/v1/directory", &world_of("global"))
            .await,
        server
            .put(
                &catalog,
                "/v1/directory/partners/skyline",
                &json!({"id": "skyline", "kind": "direct_bill"}),
            )
            .await,
        server.get(&catalog, "/v1/messages").await,
        server
            .post(
                &catalog,
                "/v1/route",
                &json!({"id": "x", "category": "service_incident", "services": ["teams"]}),
            )
            .await,
        server.get(&catalog, "/v1/endpoints").await,
        server.get(&catalog, "/v1/deliveries").await,
    ] {
        assert_eq!(status, 403, "{problem}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_dies_with_its_organisation_and_is_not_inherited() {
    let server = Server::with_conformance().await;
    let global = vendor(&server, "global").await;
    let adventure = json!({"id": "adventure", "kind": "direct_bill", "name": "Adventure Works"});
    let path = "/v1/directory/partners/adventure";
    assert_eq!(server.put(&global, path, &adventure).await.0, 201);
    let key = server.key(KeyFor::Partner("adventure".into())).await;
    let secret = herald_delivery::Secret::generate().unwrap();
    server
        .partner_endpoint(
            "adventure",
            "https://hooks.adventure.example/herald",
            &secret,
        )
        .await;
    assert_eq!(server.get(&key, "/v1/inbox").await.0, 200);
    assert_eq!(
        server.get(&key, "/v1/endpoints").await.1["endpoints"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Deleted, the partner's key no longer opens anything, and its endpoint is gone; the
    // audit log's entry of the deletion says so.
    assert_eq!(server.delete(&global, path).await.0, 204);
    let (_, log) = server.get(&global, "/v1/audit?limit=1").await;
    let deleted = &log["entries"][0];
    assert_eq!(deleted["action"], "directory.delete", "{log}");
    let key_id = key.split('_').nth(1).unwrap();
    assert_eq!(deleted["detail"]["revoked_keys"], json!([key_id]), "{log}");
    assert_eq!(
        deleted["detail"]["deleted_endpoints"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{log}"
    );
    assert_eq!(server.get(&key, "/v1/inbox").await.0, 401);
    assert!(server
        .store
        .endpoints_for("global", "service_incident")
        .await
        .unwrap()
        .is_empty());
    let revoked = server.store.keys().await.unwrap();
    assert!(revoked
        .iter()
        .any(|k| k.principal.cloud() == "global" && k.revoked_at.is_some()));

    // A request its key made just before the deletion registers no endpoint after it.
    let late = server
        .store
        .create_endpoint(
            &Principal::Partner {
                cloud: "global".into(),
                partner: "adventure".into(),
            },
            NewEndpoint {
                url: "https://hooks.adventure.example/late".into(),
                description: String::new(),
                categories: None,
                mode: None,
            },
            &secret.to_string(),
            1_700_000_000_000,
            &Actor::Operator,
        )
        .await;
    assert!(matches!(late, Err(StoreError::OwnerGone)), "{late:?}");

    // Made again under the same id, it inherits neither the key nor the endpoint.
    assert_eq!(server.put(&global, path, &adventure).await.0, 201);
    assert_eq!(server.get(&key, "/v1/inbox").await.0, 401);
    let again = server.key(KeyFor::Partner("adventure".into())).await;
    assert_eq!(
        server.get(&again, "/v1/endpoints").await.1["endpoints"],
        json!([])
    );

    // A replacement of the whole cloud that leaves a customer out revokes its key too.
    let contoso = server.key(KeyFor::Customer("contoso".into())).await;
    assert_eq!(server.get(&contoso, "/v1/inbox").await.0, 200);
    let mut world = world_of("global");
    world["customers"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["id"] != "contoso");
    world["subscriptions"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["customer"] != "contoso");
    assert_eq!(server.put(&global, "/v1/directory", &world).await.0, 200);
    assert_eq!(server.get(&contoso, "/v1/inbox").await.0, 401);
    server.stop().await;
}
