//! Every endpoint against every kind of caller: the status each must get, and no id of an
//! organisation the caller may not know in any answer it gets.
//!
//! The message is the public case `incident-teams-everywhere`, opening incident thread
//! `teams-outage`: adatum hears directly, and its distributor northwind and reseller
//! tailspin are told.

use herald_delivery::Secret;
use herald_store::{Actor, KeyFor};
use serde_json::{json, Value};

use crate::common::{conformance, Server};

/// The callers of the matrix, in column order.
const CALLERS: [&str; 9] = [
    "no key",
    "revoked key",
    "vendor",
    "vendor of another cloud",
    "partner of record",
    "reseller",
    "unrelated partner",
    "customer",
    "another customer",
];

/// The ids each caller may find in an answer; `None` for the vendor, who may see all.
fn allowed(caller: &str) -> Option<&'static [&'static str]> {
    match caller {
        "vendor" => None,
        // Its own cloud's directory.
        "vendor of another cloud" => Some(&["gov-fabrikam", "gov-dept", "gov-dept-e3"]),
        // Northwind's copy: its customers adatum and fourth, and the subscriptions it sold.
        "partner of record" => Some(&["northwind", "adatum", "adatum-bp", "fourth", "fourth-e3"]),
        "reseller" => Some(&["tailspin", "adatum", "adatum-bp"]),
        "customer" => Some(&["adatum", "adatum-bp"]),
        // Each its own id, on the endpoint it registers.
        "unrelated partner" => Some(&["proseware"]),
        "another customer" => Some(&["alpine"]),
        _ => Some(&[]),
    }
}

/// Every id of the conformance world.
fn every_id() -> Vec<String> {
    let world = conformance("world.json");
    ["partners", "customers", "subscriptions"]
        .iter()
        .flat_map(|kind| world[*kind].as_array().unwrap().clone())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// One request of the matrix.
struct Case {
    method: &'static str,
    path: String,
    body: Value,
    /// The status for each caller, in the order of [`CALLERS`].
    statuses: [u16; 9],
}

/// The requests of the matrix; `delivery` is one of the customer adatum's deliveries,
/// and `endpoint` a webhook endpoint of northwind, the partner of record.
fn cases(delivery: i64, endpoint: &str) -> Vec<Case> {
    let new_message = json!({"id": "fresh-notice", "cloud": "global", "category": "service_incident", "services": ["teams"], "title": "Again"});
    let global_world = crate::common::world_of("global");
    let adatum = conformance("world.json")["customers"][1].clone();
    let northwind_desk = conformance("world.json")["partners"][2]["contacts"][0].clone();
    vec![
        Case {
            method: "GET",
            path: "/v1/threads/teams-outage".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 404, 200, 200, 404, 200, 404],
        },
        Case {
            method: "GET",
            path: "/v1/partner/notices".into(),
            body: Value::Null,
            statuses: [401, 401, 403, 403, 200, 200, 200, 403, 403],
        },
        Case {
            method: "GET",
            path: "/v1/messages/incident-teams-everywhere".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 404, 200, 200, 404, 200, 404],
        },
        Case {
            method: "GET",
            path: "/v1/messages/incident-teams-everywhere/decisions".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 404, 403, 403, 404, 403, 404],
        },
        Case {
            method: "GET",
            path: "/v1/messages/incident-teams-everywhere/explain?customer=adatum".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 404, 403, 403, 404, 403, 404],
        },
        Case {
            method: "GET",
            path: "/v1/messages/no-such-message".into(),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 404, 404, 404, 404, 404],
        },
        Case {
            method: "GET",
            path: "/v1/messages".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 200, 200, 200, 200, 200, 200],
        },
        Case {
            method: "GET",
            path: "/v1/inbox".into(),
            body: Value::Null,
            statuses: [401, 401, 403, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: "POST",
            path: "/v1/inbox/incident-teams-everywhere/read".into(),
            body: Value::Null,
            statuses: [401, 401, 403, 403, 200, 200, 404, 200, 404],
        },
        Case {
            method: "POST",
            path: "/v1/route".into(),
            body: new_message.clone(),
            statuses: [401, 401, 200, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: "PUT",
            path: "/v1/directory".into(),
            body: global_world,
            statuses: [401, 401, 200, 422, 403, 403, 403, 403, 403],
        },
        Case {
            method: "POST",
            path: "/v1/messages".into(),
            body: new_message,
            statuses: [401, 401, 201, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: "GET",
            path: "/v1/directory".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: "GET",
            path: "/v1/directory/customers/adatum".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 404, 403, 403, 403, 403, 403],
        },
        Case {
            method: "GET",
            path: "/v1/directory/products/m365-bp".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: "PUT",
            path: "/v1/directory/customers/adatum".into(),
            body: adatum,
            statuses: [401, 401, 200, 404, 403, 403, 403, 403, 403],
        },
        Case {
            method: "DELETE",
            path: "/v1/directory/customers/adatum".into(),
            body: Value::Null,
            statuses: [401, 401, 409, 404, 403, 403, 403, 403, 403],
        },
        Case {
            method: "GET",
            path: "/v1/directory/partners/northwind/contacts/northwind-desk".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 404, 403, 403, 403, 403, 403],
        },
        Case {
            method: "PUT",
            path: "/v1/directory/partners/northwind/contacts/northwind-desk".into(),
            body: northwind_desk,
            statuses: [401, 401, 200, 404, 403, 403, 403, 403, 403],
        },
        Case {
            method: "DELETE",
            path: "/v1/directory/customers/adatum/contacts/no-such-contact".into(),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 403, 403, 403, 403, 403],
        },
        Case {
            method: "GET",
            path: "/v1/deliveries?message=incident-teams-everywhere".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 200, 200, 200, 200, 200, 200],
        },
        Case {
            method: "GET",
            path: "/v1/deliveries".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 200, 200, 200, 200, 200, 200],
        },
        Case {
            method: "GET",
            path: format!("/v1/deliveries/{delivery}"),
            body: Value::Null,
            statuses: [401, 401, 200, 404, 404, 404, 404, 200, 404],
        },
        Case {
            method: "POST",
            path: format!("/v1/deliveries/{delivery}/retry"),
            body: Value::Null,
            statuses: [401, 401, 409, 404, 404, 404, 404, 409, 404],
        },
        Case {
            method: "POST",
            path: "/v1/endpoints".into(),
            body: json!({"url": "https://1.1.1.1/hooks", "categories": ["service_incident"]}),
            statuses: [401, 401, 201, 201, 201, 201, 201, 201, 201],
        },
        Case {
            method: "POST",
            path: "/v1/endpoints".into(),
            body: json!({"url": "https://1.1.1.1/hooks", "mode": "per_customer"}),
            statuses: [401, 401, 422, 422, 201, 201, 201, 422, 422],
        },
        Case {
            method: "GET",
            path: "/v1/endpoints".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 200, 200, 200, 200, 200, 200],
        },
        Case {
            method: "GET",
            path: format!("/v1/endpoints/{endpoint}"),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 200, 404, 404, 404, 404],
        },
        Case {
            method: "POST",
            path: format!("/v1/endpoints/{endpoint}/rotate"),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 200, 404, 404, 404, 404],
        },
        Case {
            method: "POST",
            path: format!("/v1/endpoints/{endpoint}/disable"),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 200, 404, 404, 404, 404],
        },
        Case {
            method: "POST",
            path: format!("/v1/endpoints/{endpoint}/enable"),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 200, 404, 404, 404, 404],
        },
        // The endpoint is on loopback, which this server refuses to send to: the attempt
        // is refused, and nothing leaves the machine.
        Case {
            method: "POST",
            path: format!("/v1/endpoints/{endpoint}/test"),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 200, 404, 404, 404, 404],
        },
        Case {
            method: "DELETE",
            path: format!("/v1/endpoints/{endpoint}"),
            body: Value::Null,
            statuses: [401, 401, 404, 404, 204, 404, 404, 404, 404],
        },
        // Last, so that every write above is in it.
        Case {
            method: "GET",
            path: "/v1/audit".into(),
            body: Value::Null,
            statuses: [401, 401, 200, 200, 403, 403, 403, 403, 403],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_every_caller_as_it_may_and_leaks_nothing() {
    let server = Server::with_conformance().await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let published = server
        .post(
            &vendor,
            "/v1/messages",
            &json!({"id": "incident-teams-everywhere", "category": "service_incident", "services": ["teams"], "title": "Teams sign-in failures", "thread": "teams-outage", "status": "investigating"}),
        )
        .await;
    assert_eq!(published.0, 201, "{}", published.1);

    let revoked = server.key(KeyFor::Customer("adatum".into())).await;
    let revoked_id = revoked.split('_').nth(1).unwrap().to_owned();
    server
        .store
        .revoke_key(&revoked_id, 1_700_000_000_001, &Actor::Operator)
        .await
        .unwrap();
    let keys = [
        String::new(),
        revoked,
        vendor,
        server
            .key(KeyFor::Vendor {
                cloud: "us-gov".into(),
            })
            .await,
        server.key(KeyFor::Partner("northwind".into())).await,
        server.key(KeyFor::Partner("tailspin".into())).await,
        server.key(KeyFor::Partner("proseware".into())).await,
        server.key(KeyFor::Customer("adatum".into())).await,
        server.key(KeyFor::Customer("alpine".into())).await,
    ];
    let ids = every_id();
    let (_, listed) = server
        .get(&keys[2], "/v1/deliveries?message=incident-teams-everywhere")
        .await;
    let adatums = listed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["recipient"] == "customer" && d["org"] == "adatum")
        .unwrap_or_else(|| panic!("adatum is mailed: {listed}"))["id"]
        .as_i64()
        .unwrap();

    let endpoint = server
        .partner_endpoint(
            "northwind",
            "http://127.0.0.1:9/hooks",
            &Secret::generate().unwrap(),
        )
        .await;

    let mut failures = Vec::new();
    for case in cases(adatums, &endpoint.id) {
        for ((caller, key), want) in CALLERS.iter().zip(&keys).zip(case.statuses) {
            let (status, body) = match case.method {
                "GET" => server.get(key, &case.path).await,
                "POST" => server.post(key, &case.path, &case.body).await,
                "DELETE" => server.delete(key, &case.path).await,
                _ => server.put(key, &case.path, &case.body).await,
            };
            if status != want {
                failures.push(format!(
                    "{} {} as {caller}: {status}, expected {want}: {body}",
                    case.method, case.path
                ));
            }
            if let Some(allowed) = allowed(caller) {
                // An id counts whether it is a value of the answer or quoted in its detail,
                // unless the request named it itself.
                let text = body.to_string();
                let asked = format!("{} {}", case.path, case.body);
                for id in ids
                    .iter()
                    .filter(|id| !allowed.contains(&id.as_str()) && !asked.contains(id.as_str()))
                {
                    if text.contains(&format!("\"{id}\""))
                        || text.contains(&format!("\\\"{id}\\\""))
                    {
                        failures.push(format!(
                            "{} {} as {caller} names \"{id}\": {text}",
                            case.method, case.path
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reader_gets_its_own_copy_and_its_own_list() {
    let server = Server::with_conformance().await;
    server.publish_global_messages().await;
    let northwind = server.key(KeyFor::Partner("northwind".into())).await;
    let (status, copy) = server
        .get(&northwind, "/v1/messages/incident-teams-everywhere")
        .await;
    assert_eq!(status, 200, "{copy}");
    assert_eq!(copy["customers"], json!(["adatum", "fourth"]));
    assert_eq!(copy["content"]["title"], "Teams sign-in failures");

    let adatum = server.key(KeyFor::Customer("adatum".into())).await;
    let (_, copy) = server
        .get(&adatum, "/v1/messages/incident-teams-everywhere")
        .await;
    assert_eq!(copy["subscriptions"], json!(["adatum-bp"]));
    // adatum holds adatum-bp only through partners: the renewal is not the vendor's to tell.
    let (status, _) = server.get(&adatum, "/v1/messages/renewal-indirect").await;
    assert_eq!(status, 404);

    // Lists hold exactly what each may open, newest first, a page at a time.
    let (_, list) = server.get(&adatum, "/v1/messages?limit=1").await;
    let first = list["messages"][0]["id"].as_str().unwrap().to_owned();
    let next = list["next"]
        .as_str()
        .expect("more than one page")
        .to_owned();
    let mut seen = vec![first];
    let mut cursor = Some(next);
    while let Some(before) = cursor {
        let (status, page) = server
            .get(&adatum, &format!("/v1/messages?limit=1&before={before}"))
            .await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned()),
        );
        cursor = page["next"].as_str().map(str::to_owned);
    }
    assert!(
        seen.contains(&"incident-teams-everywhere".to_owned()),
        "{seen:?}"
    );
    assert!(!seen.contains(&"renewal-indirect".to_owned()), "{seen:?}");
    for id in &seen {
        let (status, _) = server.get(&adatum, &format!("/v1/messages/{id}")).await;
        assert_eq!(status, 200, "{id} is listed, so it opens");
    }
    server.stop().await;
}
