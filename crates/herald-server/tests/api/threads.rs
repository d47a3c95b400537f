//! Incident threads through the API: an update after a directory change reaches the old
//! audience and the newly affected, each principal sees the timeline it was told of, and
//! a partner's notices list its customers' open incidents until they are resolved.

use herald_store::KeyFor;
use serde_json::{json, Value};

use crate::common::{world_of, Server};

fn update(id: &str, status: &str) -> Value {
    json!({
        "id": id, "category": "service_incident", "services": ["sharepoint"], "regions": ["eu"],
        "thread": "sharepoint-eu", "status": status,
        "title": format!("SharePoint in Europe: {status}"), "body": "Sites load slowly."
    })
}

/// The customers and partners of a message's decisions, as `customer:direct:partners`.
async fn decisions(server: &Server, vendor: &str, id: &str) -> Vec<String> {
    let (status, page) = server
        .get(vendor, &format!("/v1/messages/{id}/decisions"))
        .await;
    assert_eq!(status, 200, "{page}");
    page["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let partners: Vec<&str> = d["partners"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            format!(
                "{}:{}:{}",
                d["customer"].as_str().unwrap(),
                d["direct"],
                partners.join(",")
            )
        })
        .collect()
}

/// The global world after contoso moved its SharePoint subscription from fabrikam to
/// litware, and bellows' suspended one came back.
fn changed_world() -> Value {
    let mut world = world_of("global");
    for s in world["subscriptions"].as_array_mut().unwrap() {
        match s["id"].as_str().unwrap() {
            "contoso-e3" => s["partner"] = json!("litware"),
            "bellows-e3" => {
                s.as_object_mut().unwrap().remove("status");
            }
            _ => {}
        }
    }
    world
}

/// A server where thread `sharepoint-eu` began (`sp-1`) before the directory changed and
/// was updated to `status` (`sp-2`) after; and the global vendor's key.
async fn thread_across_a_directory_change(status: &str) -> (Server, String) {
    let server = Server::with_conformance().await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let first = server
        .post(&vendor, "/v1/messages", &update("sp-1", "investigating"))
        .await;
    assert_eq!(first.0, 201, "{}", first.1);
    let changed = server.put(&vendor, "/v1/directory", &changed_world()).await;
    assert_eq!(changed.0, 200, "{}", changed.1);
    let second = server
        .post(&vendor, "/v1/messages", &update("sp-2", status))
        .await;
    assert_eq!(second.0, 201, "{}", second.1);
    (server, vendor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_after_a_directory_change_reaches_the_old_audience_and_the_newly_affected() {
    let server = Server::with_conformance().await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let (status, first) = server
        .post(&vendor, "/v1/messages", &update("sp-1", "investigating"))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["thread"], "sharepoint-eu");
    assert_eq!(
        decisions(&server, &vendor, "sp-1").await,
        ["contoso:true:fabrikam"]
    );

    let (status, body) = server.put(&vendor, "/v1/directory", &changed_world()).await;
    assert_eq!(status, 200, "{body}");
    let (status, second) = server
        .post(&vendor, "/v1/messages", &update("sp-2", "identified"))
        .await;
    assert_eq!(status, 201, "{second}");
    // contoso keeps hearing, and fabrikam, its partner when the thread began, is still
    // told; litware, its partner now, and bellows, newly affected, hear too.
    assert_eq!(
        decisions(&server, &vendor, "sp-2").await,
        ["bellows:true:fabrikam", "contoso:true:fabrikam,litware"]
    );
    let (status, why) = server
        .get(&vendor, "/v1/messages/sp-2/explain?partner=fabrikam")
        .await;
    assert_eq!(status, 200, "{why}");
    assert!(
        why["rules"].as_array().unwrap().contains(&json!("T1")),
        "{why}"
    );
    assert_eq!(why["changed_since"], false, "{why}");
    assert_eq!(why["decided"]["customers"], json!(["bellows", "contoso"]));

    // The first message was decided against the directory before the change: its
    // explanation says so, and shows what was decided then.
    let (status, then) = server
        .get(&vendor, "/v1/messages/sp-1/explain?customer=contoso")
        .await;
    assert_eq!(status, 200, "{then}");
    assert_eq!(then["changed_since"], true, "{then}");
    assert_eq!(then["decided"]["partners"], json!(["fabrikam"]), "{then}");
    assert!(
        then["lines"][0]
            .as_str()
            .unwrap()
            .contains("has changed since"),
        "{then}"
    );

    let (status, fabrikam_copy) = server
        .get(
            &server.key(KeyFor::Partner("fabrikam".into())).await,
            "/v1/messages/sp-2",
        )
        .await;
    assert_eq!(status, 200, "{fabrikam_copy}");
    assert_eq!(fabrikam_copy["customers"], json!(["bellows", "contoso"]));
    assert_eq!(
        fabrikam_copy["subscriptions"],
        json!(["bellows-e3"]),
        "fabrikam's copy names no subscription it no longer sells"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_principal_sees_the_timeline_it_was_told_of() {
    let (server, vendor) = thread_across_a_directory_change("monitoring").await;

    let (status, whole) = server.get(&vendor, "/v1/threads/sharepoint-eu").await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["thread"]["status"], "monitoring");
    assert_eq!(whole["thread"]["updates"], 2);
    let statuses = |t: &Value, at: &str| -> Vec<String> {
        t["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u[at]["status"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(statuses(&whole, "summary"), ["investigating", "monitoring"]);

    let litware = server.key(KeyFor::Partner("litware".into())).await;
    let (status, told) = server.get(&litware, "/v1/threads/sharepoint-eu").await;
    assert_eq!(status, 200, "{told}");
    assert_eq!(
        statuses(&told, "message"),
        ["monitoring"],
        "litware was told of the second update only"
    );
    assert_eq!(told["thread"]["updates"], 1);
    assert_eq!(told["updates"][0]["customers"], json!(["contoso"]));

    let contoso = server.key(KeyFor::Customer("contoso".into())).await;
    let (status, own) = server.get(&contoso, "/v1/threads/sharepoint-eu").await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(statuses(&own, "message"), ["investigating", "monitoring"]);
    assert_eq!(
        own["updates"][0]["content"]["title"],
        "SharePoint in Europe: investigating"
    );
    assert!(
        !own.to_string().contains("fabrikam"),
        "a customer's view names no partner: {own}"
    );

    for (who, key) in [
        (
            "an unaffected customer",
            server.key(KeyFor::Customer("adatum".into())).await,
        ),
        (
            "an unrelated partner",
            server.key(KeyFor::Partner("tailspin".into())).await,
        ),
        (
            "another cloud's vendor",
            server
                .key(KeyFor::Vendor {
                    cloud: "us-gov".into(),
                })
                .await,
        ),
    ] {
        let (status, body) = server.get(&key, "/v1/threads/sharepoint-eu").await;
        assert_eq!(status, 404, "{who}: {body}");
        assert!(!body.to_string().contains("investigating"), "{who}: {body}");
    }
    let (status, _) = server.get(&vendor, "/v1/threads/no-such-thread").await;
    assert_eq!(status, 404);

    // The list of messages filters by thread and category, within what each may see.
    let listed = |page: &Value| -> Vec<String> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, page) = server
        .get(&vendor, "/v1/messages?thread=sharepoint-eu&limit=1")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(listed(&page), ["sp-2"]);
    let next = page["next"].as_str().unwrap();
    let (_, rest) = server
        .get(
            &vendor,
            &format!("/v1/messages?thread=sharepoint-eu&before={next}"),
        )
        .await;
    assert_eq!(listed(&rest), ["sp-1"]);
    let (_, page) = server
        .get(&litware, "/v1/messages?thread=sharepoint-eu")
        .await;
    assert_eq!(listed(&page), ["sp-2"]);
    let (_, page) = server
        .get(&contoso, "/v1/messages?category=service_incident")
        .await;
    assert_eq!(listed(&page), ["sp-2", "sp-1"]);
    let (_, page) = server.get(&contoso, "/v1/messages?category=product").await;
    assert!(listed(&page).is_empty(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_sees_its_customers_open_incidents_until_resolved() {
    let (server, vendor) = thread_across_a_directory_change("identified").await;
    let teams = json!({
        "id": "teams-us-1", "category": "service_incident", "services": ["teams"], "regions": ["us"],
        "thread": "teams-us", "status": "investigating", "title": "Teams calls drop"
    });
    let (status, body) = server.post(&vendor, "/v1/messages", &teams).await;
    assert_eq!(status, 201, "{body}");

    let fabrikam = server.key(KeyFor::Partner("fabrikam".into())).await;
    let (status, notices) = server.get(&fabrikam, "/v1/partner/notices").await;
    assert_eq!(status, 200, "{notices}");
    assert_eq!(
        notices["open_incidents"], 1,
        "the Teams incident touches no fabrikam customer: {notices}"
    );
    let customers: Vec<&str> = notices["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer"].as_str().unwrap())
        .collect();
    assert_eq!(customers, ["bellows", "contoso"]);
    let bellows = &notices["customers"][0]["incidents"][0];
    assert_eq!(bellows["thread"], "sharepoint-eu");
    assert_eq!(bellows["status"], "identified");
    assert_eq!(bellows["message"], "sp-2");
    assert_eq!(bellows["subscriptions"], json!(["bellows-e3"]));
    assert_eq!(
        bellows["content"]["title"],
        "SharePoint in Europe: identified"
    );

    let northwind = server.key(KeyFor::Partner("northwind".into())).await;
    let (_, theirs) = server.get(&northwind, "/v1/partner/notices").await;
    assert_eq!(theirs["open_incidents"], 1, "{theirs}");
    assert_eq!(theirs["customers"][0]["customer"], "adatum");
    assert!(!theirs.to_string().contains("sharepoint-eu"), "{theirs}");

    server
        .post(&vendor, "/v1/messages", &update("sp-3", "resolved"))
        .await;
    let (_, after) = server.get(&fabrikam, "/v1/partner/notices").await;
    assert_eq!(after, json!({"customers": [], "open_incidents": 0}));

    for key in [vendor, server.key(KeyFor::Customer("contoso".into())).await] {
        let (status, body) = server.get(&key, "/v1/partner/notices").await;
        assert_eq!(status, 403, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_keeps_its_category_and_concurrent_updates_all_land() {
    let server = Server::with_conformance().await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    server
        .post(&vendor, "/v1/messages", &update("sp-1", "investigating"))
        .await;
    let operational = json!({
        "id": "op", "category": "operational", "customers": ["alpine"],
        "thread": "sharepoint-eu", "status": "identified", "title": "Maintenance"
    });
    let (status, problem) = server.post(&vendor, "/v1/messages", &operational).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("thread of `service_incident` messages"),
        "{problem}"
    );

    let updates: Vec<Value> = [
        (2, "identified"),
        (3, "identified"),
        (4, "monitoring"),
        (5, "monitoring"),
    ]
    .into_iter()
    .map(|(n, status)| update(&format!("sp-{n}"), status))
    .collect();
    let (a, b, c, d) = tokio::join!(
        server.post(&vendor, "/v1/messages", &updates[0]),
        server.post(&vendor, "/v1/messages", &updates[1]),
        server.post(&vendor, "/v1/messages", &updates[2]),
        server.post(&vendor, "/v1/messages", &updates[3]),
    );
    for (status, body) in [a, b, c, d] {
        assert_eq!(status, 201, "{body}");
    }
    let (_, whole) = server.get(&vendor, "/v1/threads/sharepoint-eu").await;
    assert_eq!(whole["thread"]["updates"], 5, "{whole}");
}
