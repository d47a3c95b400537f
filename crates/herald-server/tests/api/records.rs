//! The directory one record at a time: each kind and each contact created, read, replaced
//! and deleted; a change that breaks a rule of a valid directory, or is deleted while
//! others name it, refused with the record and field named and nothing changed; another
//! cloud's records never seen; and messages published after a change routed by it.

use herald_domain::{wire, Directory};
use herald_store::{Actor, KeyFor};
use serde_json::{json, Value};

use crate::common::{answer, conformance, world_of, Server};

async fn vendor(server: &Server, cloud: &str) -> String {
    server
        .key(KeyFor::Vendor {
            cloud: cloud.into(),
        })
        .await
}

/// A problem's detail.
fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_created_read_replaced_and_deleted() {
    let server = Server::with_conformance().await;
    let global = vendor(&server, "global").await;
    let catalog = server.key(KeyFor::VendorOfEveryCloud).await;
    // The catalog every cloud shares is changed by the vendor for every cloud.
    let key = |kind: &str| {
        if kind == "products" {
            &catalog
        } else {
            &global
        }
    };
    let cases = [
        (
            "products",
            "viva",
            json!({"id": "viva", "name": "Viva", "services": ["viva-insights"]}),
            json!({"id": "viva", "name": "Viva Suite", "services": ["viva-insights", "viva-learning"]}),
        ),
        (
            "partners",
            "adventure",
            json!({"id": "adventure", "kind": "direct_bill", "name": "Adventure Works"}),
            json!({"id": "adventure", "kind": "indirect_provider", "name": "Adventure Works", "locale": "en-GB"}),
        ),
        (
            "customers",
            "woodgrove",
            json!({"id": "woodgrove", "name": "Woodgrove Bank", "agreements": ["enterprise_agreement"],
                   "contacts": [{"id": "woodgrove-admin", "name": "Woodgrove Admin", "email": "admin@woodgrove.example", "roles": ["admin"]}]}),
            json!({"id": "woodgrove", "name": "Woodgrove Bank", "agreements": ["enterprise_agreement", "customer_agreement"], "locale": "en-US",
                   "contacts": [{"id": "woodgrove-admin", "name": "Woodgrove Admin", "email": "it@woodgrove.example", "roles": ["admin", "technical"]}]}),
        ),
        (
            "subscriptions",
            "woodgrove-viva",
            json!({"id": "woodgrove-viva", "customer": "woodgrove", "product": "viva", "agreement": "enterprise_agreement", "regions": ["eu"]}),
            json!({"id": "woodgrove-viva", "customer": "woodgrove", "product": "viva", "partner": "adventure", "status": "suspended", "regions": ["eu", "us"]}),
        ),
    ];
    for (kind, id, created, replaced) in &cases {
        let path = format!("/v1/directory/{kind}/{id}");
        let vendor = key(kind);
        let (status, _) = server.get(vendor, &path).await;
        assert_eq!(status, 404, "{path} before it is put");
        let (status, stored) = server.put(vendor, &path, created).await;
        assert_eq!((status, &stored), (201, created), "{path} created");
        assert_eq!(server.get(vendor, &path).await, (200, created.clone()));
        assert_eq!(server.get(&global, &path).await, (200, created.clone()));
        let (status, stored) = server.put(vendor, &path, replaced).await;
        assert_eq!((status, &stored), (200, replaced), "{path} replaced");
        assert_eq!(server.get(vendor, &path).await, (200, replaced.clone()));
    }
    // Deleted in the order nothing named is deleted first.
    for (kind, id, _, _) in cases.iter().rev() {
        let path = format!("/v1/directory/{kind}/{id}");
        let vendor = key(kind);
        let (status, answer) = server.delete(vendor, &path).await;
        assert_eq!(status, 204, "{path}: {answer}");
        let (status, problem) = server.get(vendor, &path).await;
        assert_eq!(status, 404, "{path} after it is deleted");
        assert_eq!(problem["type"], "/problems/not-found");
        let (status, _) = server.delete(vendor, &path).await;
        assert_eq!(status, 404, "{path} deleted twice");
    }
    let (_, directory) = server.get(&global, "/v1/directory").await;
    assert_eq!(directory, normalised(world_of("global")));
    server.stop().await;
}

/// A world as the server gives it back: records sorted by id, defaults left out.
fn normalised(world: Value) -> Value {
    let world: wire::World = serde_json::from_value(world).expect("a world");
    json!(Directory::build(world).expect("a valid world").to_world())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_reads_back_as_it_was_put_and_round_trips() {
    let server = Server::with_conformance().await;
    let global = vendor(&server, "global").await;
    let (status, directory) = server.get(&global, "/v1/directory").await;
    assert_eq!(status, 200);
    assert_eq!(directory, normalised(world_of("global")));
    let (status, answer) = server.put(&global, "/v1/directory", &directory).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.get(&global, "/v1/directory").await.1, directory);

    // Each vendor reads its own cloud and the whole catalog.
    let gov = vendor(&server, "us-gov").await;
    let (status, directory) = server.get(&gov, "/v1/directory").await;
    assert_eq!(status, 200);
    let ids = |kind: &str| -> Vec<String> {
        directory[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("partners"), ["gov-fabrikam"]);
    assert_eq!(ids("customers"), ["gov-dept"]);
    assert_eq!(ids("subscriptions"), ["gov-dept-e3"]);
    assert_eq!(ids("products").len(), 5);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_read_and_changed_inside_their_organisation() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server, "global").await;
    let (status, admin) = server
        .get(
            &vendor,
            "/v1/directory/customers/contoso/contacts/contoso-admin",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(admin["email"], "it@contoso.example");

    let path = "/v1/directory/customers/contoso/contacts/contoso-security";
    let security = json!({"id": "contoso-security", "name": "Contoso SOC", "email": "soc@contoso.example", "roles": ["technical"], "locale": "en-US"});
    assert_eq!(
        server.put(&vendor, path, &security).await,
        (201, security.clone())
    );
    let (_, contoso) = server.get(&vendor, "/v1/directory/customers/contoso").await;
    assert_eq!(contoso["contacts"].as_array().unwrap().len(), 3);
    assert_eq!(contoso["contacts"][2], security);
    let renamed = json!({"id": "contoso-security", "name": "Contoso Security", "email": "soc@contoso.example", "roles": ["technical", "admin"]});
    let (status, stored) = server.put(&vendor, path, &renamed).await;
    assert_eq!(status, 200);
    // Roles are given back in their fixed order.
    assert_eq!(stored["roles"], json!(["admin", "technical"]));
    assert_eq!(server.get(&vendor, path).await, (200, stored));
    assert_eq!(server.delete(&vendor, path).await.0, 204);
    assert_eq!(server.get(&vendor, path).await.0, 404);
    assert_eq!(server.delete(&vendor, path).await.0, 404);

    // A partner's contact, replaced.
    let desk = "/v1/directory/partners/northwind/contacts/northwind-desk";
    let (_, mut contact) = server.get(&vendor, desk).await;
    contact["email"] = json!("partners@northwind.example");
    assert_eq!(
        server.put(&vendor, desk, &contact).await,
        (200, contact.clone())
    );

    // Refused: another organisation's contact id, an id other than the path's, a contact
    // of no organisation of this cloud, and a path kind that has no contacts.
    let (_, before) = server.get(&vendor, "/v1/directory").await;
    let taken = json!({"id": "fabrikam-ops", "name": "Ops", "email": "ops@contoso.example"});
    let (status, problem) = server
        .put(
            &vendor,
            "/v1/directory/customers/contoso/contacts/fabrikam-ops",
            &taken,
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        detail(&problem).contains("contact \"fabrikam-ops\", field `id`"),
        "{problem}"
    );
    let (status, problem) = server.put(&vendor, path, &taken).await;
    assert_eq!(status, 422, "{problem}");
    assert!(detail(&problem).contains("field `id`"), "{problem}");
    for (path, want) in [
        ("/v1/directory/customers/nobody/contacts/x", 404),
        (
            "/v1/directory/customers/gov-dept/contacts/gov-dept-admin",
            404,
        ),
        ("/v1/directory/products/m365-e3/contacts/x", 404),
    ] {
        assert_eq!(server.get(&vendor, path).await.0, want, "GET {path}");
        let contact = path.rsplit('/').next().unwrap();
        let body = json!({"id": contact, "name": "X", "email": "x@x.example"});
        assert_eq!(server.put(&vendor, path, &body).await.0, want, "PUT {path}");
    }
    assert_eq!(server.get(&vendor, "/v1/directory").await.1, before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_breaks_a_rule_is_refused_naming_the_field_and_changes_nothing() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server, "global").await;
    let (_, before) = server.get(&vendor, "/v1/directory").await;
    let counts = server.store.counts().await.unwrap();

    let cases = [
        (
            "/v1/directory/subscriptions/contoso-viva",
            json!({"id": "contoso-viva", "customer": "contoso", "product": "viva", "agreement": "enterprise_agreement"}),
            "subscription \"contoso-viva\", field `product`",
        ),
        (
            "/v1/directory/subscriptions/contoso-csp",
            json!({"id": "contoso-csp", "customer": "contoso", "product": "m365-bp"}),
            "subscription \"contoso-csp\", field `partner`",
        ),
        (
            // An indirect reseller's subscription without its distributor.
            "/v1/directory/subscriptions/adatum-e3",
            json!({"id": "adatum-e3", "customer": "adatum", "product": "m365-e3", "reseller": "tailspin"}),
            "subscription \"adatum-e3\", field `partner`",
        ),
        (
            "/v1/directory/subscriptions/adatum-e3",
            json!({"id": "adatum-e3", "customer": "adatum", "product": "m365-e3", "partner": "fabrikam", "reseller": "tailspin"}),
            "subscription \"adatum-e3\", field `reseller`",
        ),
        (
            // Contoso's Azure plan is held under the agreement this would take away.
            "/v1/directory/customers/contoso",
            json!({"id": "contoso", "name": "Contoso Ltd"}),
            "subscription \"contoso-azure\", field `agreement`",
        ),
        (
            // Fabrikam sells subscriptions as partner of record; an advisor cannot.
            "/v1/directory/partners/fabrikam",
            json!({"id": "fabrikam", "kind": "advisor"}),
            "subscription \"alpine-dynamics\", field `partner`",
        ),
        (
            "/v1/directory/customers/bellows",
            json!({"id": "bellows", "advisors": ["fabrikam"]}),
            "customer \"bellows\", field `advisors`",
        ),
        (
            "/v1/directory/partners/fabrikam",
            json!({"id": "fabrikam-it", "kind": "direct_bill"}),
            "partner \"fabrikam\", field `id`",
        ),
        (
            "/v1/directory/products/viva",
            json!({"id": " ", "services": []}),
            "product \"viva\", field `id`",
        ),
    ];
    let catalog = server.key(KeyFor::VendorOfEveryCloud).await;
    for (path, body, named) in &cases {
        let key = if path.contains("/products/") {
            &catalog
        } else {
            &vendor
        };
        let (status, problem) = server.put(key, path, body).await;
        assert_eq!(status, 422, "{path}: {problem}");
        assert_eq!(problem["type"], "/problems/invalid-directory");
        assert!(detail(&problem).contains(named), "{path}: {problem}");
    }

    // Not a record of its kind at all.
    for (path, body) in [
        (
            "/v1/directory/partners/fabrikam",
            json!({"id": "fabrikam", "kind": "wizard"}),
        ),
        (
            "/v1/directory/customers/contoso",
            json!({"id": "contoso", "colour": "blue"}),
        ),
        ("/v1/directory/products/viva", json!(["viva"])),
    ] {
        let (status, problem) = server.put(&vendor, path, &body).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert_eq!(problem["type"], "/problems/malformed-request");
    }
    assert_eq!(server.get(&vendor, "/v1/directory/widgets/x").await.0, 404);

    assert_eq!(server.get(&vendor, "/v1/directory").await.1, before);
    assert_eq!(server.store.counts().await.unwrap(), counts);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_others_name_is_not_deleted_and_the_answer_says_what_names_it() {
    let server = Server::with_conformance().await;
    let global = vendor(&server, "global").await;
    let gov = vendor(&server, "us-gov").await;
    // Proseware advises Bellows; a product only the other cloud holds.
    let bellows = json!({"id": "bellows", "name": "Bellows College", "locale": "en-US", "advisors": ["proseware"],
                         "contacts": [{"id": "bellows-admin", "name": "Bellows Admin", "email": "admin@bellows.example", "roles": ["admin"]}]});
    assert_eq!(
        server
            .put(&global, "/v1/directory/customers/bellows", &bellows)
            .await
            .0,
        200
    );
    let catalog = server.key(KeyFor::VendorOfEveryCloud).await;
    let viva = json!({"id": "viva", "services": ["viva-insights"]});
    assert_eq!(
        server
            .put(&catalog, "/v1/directory/products/viva", &viva)
            .await
            .0,
        201
    );
    let held = json!({"id": "gov-dept-viva", "customer": "gov-dept", "product": "viva", "partner": "gov-fabrikam", "cloud": "us-gov"});
    assert_eq!(
        server
            .put(&gov, "/v1/directory/subscriptions/gov-dept-viva", &held)
            .await
            .0,
        201
    );
    let (_, before) = server.get(&global, "/v1/directory").await;

    let cases = [
        (
            "/v1/directory/customers/contoso",
            &["\"contoso-azure\"", "\"contoso-e3\"", "delete them first"][..],
        ),
        (
            "/v1/directory/partners/northwind",
            &["\"adatum-bp\"", "\"fourth-e3\""][..],
        ),
        (
            "/v1/directory/partners/tailspin",
            &["reseller of subscriptions \"adatum-bp\""][..],
        ),
        (
            "/v1/directory/partners/proseware",
            &["advises customers \"bellows\"", "`advisors`"][..],
        ),
    ];
    for (path, named) in cases {
        let (status, problem) = server.delete(&global, path).await;
        assert_eq!(status, 409, "{path}: {problem}");
        assert_eq!(problem["type"], "/problems/record-in-use");
        for words in named {
            assert!(detail(&problem).contains(words), "{path}: {problem}");
        }
        assert!(
            !detail(&problem).contains("gov-"),
            "{path} names another cloud's record: {problem}"
        );
    }
    // A product is deleted by the vendor for every cloud, which acts in no one cloud and
    // is told how many subscriptions hold it, not which.
    for (path, named) in [
        (
            "/v1/directory/products/m365-e3",
            &["held by 5 subscriptions"][..],
        ),
        (
            "/v1/directory/products/viva",
            &["held by 1 subscription;"][..],
        ),
    ] {
        let (status, problem) = server.delete(&catalog, path).await;
        assert_eq!(status, 409, "{path}: {problem}");
        for words in named {
            assert!(detail(&problem).contains(words), "{path}: {problem}");
        }
        for holder in ["bellows-e3", "gov-dept-e3", "gov-dept-viva"] {
            assert!(!detail(&problem).contains(holder), "{path}: {problem}");
        }
        assert_eq!(server.delete(&global, path).await.0, 403, "{path}");
    }
    assert_eq!(server.get(&global, "/v1/directory").await.1, before);

    // Once nothing names it, it goes.
    assert_eq!(
        server
            .delete(&gov, "/v1/directory/subscriptions/gov-dept-viva")
            .await
            .0,
        204
    );
    assert_eq!(
        server
            .delete(&catalog, "/v1/directory/products/viva")
            .await
            .0,
        204
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clouds_records_are_not_there_and_cannot_be_named() {
    let server = Server::with_conformance().await;
    let global = vendor(&server, "global").await;
    let (_, before) = server.get(&global, "/v1/directory").await;
    for path in [
        "/v1/directory/partners/gov-fabrikam",
        "/v1/directory/customers/gov-dept",
        "/v1/directory/subscriptions/gov-dept-e3",
        "/v1/directory/customers/gov-dept/contacts/gov-dept-admin",
    ] {
        let (status, missing) = server.get(&global, path).await;
        assert_eq!(status, 404, "GET {path}");
        let (status, deleted) = server.delete(&global, path).await;
        assert_eq!(status, 404, "DELETE {path}");
        // Exactly as if it did not exist.
        let unknown = path.replace("gov-", "no-such-");
        assert_eq!(
            detail(&server.get(&global, &unknown).await.1),
            detail(&missing).replace("gov-", "no-such-")
        );
        assert_eq!(detail(&deleted), detail(&missing));
    }
    let (status, _) = server
        .put(
            &global,
            "/v1/directory/partners/gov-fabrikam",
            &json!({"id": "gov-fabrikam", "kind": "direct_bill"}),
        )
        .await;
    assert_eq!(status, 404);

    for (path, body) in [
        (
            "/v1/directory/partners/skyline",
            json!({"id": "skyline", "kind": "direct_bill", "cloud": "us-gov"}),
        ),
        (
            "/v1/directory/subscriptions/contoso-gov",
            json!({"id": "contoso-gov", "customer": "contoso", "product": "m365-e3", "partner": "fabrikam", "cloud": "us-gov"}),
        ),
    ] {
        let (status, problem) = server.put(&global, path, &body).await;
        assert_eq!(status, 422, "{path}: {problem}");
        assert!(
            detail(&problem).contains("field `cloud`"),
            "{path}: {problem}"
        );
    }
    // Another cloud's customer and partner are refused as unknown ones are, without a
    // word of the cloud they are in.
    let refused = [
        (
            "/v1/directory/subscriptions/gov-dept-bp",
            json!({"id": "gov-dept-bp", "customer": "gov-dept", "product": "m365-bp", "partner": "gov-fabrikam"}),
            "names customer \"gov-dept\", which is not in the directory",
        ),
        (
            "/v1/directory/subscriptions/contoso-bp",
            json!({"id": "contoso-bp", "customer": "contoso", "product": "m365-bp", "partner": "gov-fabrikam"}),
            "names partner \"gov-fabrikam\", which is not in the directory",
        ),
    ];
    for (path, body, named) in &refused {
        let (status, problem) = server.put(&global, path, body).await;
        assert_eq!(status, 422, "{path}: {problem}");
        assert!(detail(&problem).contains(named), "{path}: {problem}");
        assert!(!detail(&problem).contains("us-gov"), "{path}: {problem}");
    }
    assert_eq!(server.get(&global, "/v1/directory").await.1, before);

    // A record that names no cloud is in the key's.
    let gov = vendor(&server, "us-gov").await;
    let (status, stored) = server
        .put(
            &gov,
            "/v1/directory/partners/gov-litware",
            &json!({"id": "gov-litware", "kind": "direct_bill"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(stored["cloud"], "us-gov");
    assert_eq!(
        server
            .get(&global, "/v1/directory/partners/gov-litware")
            .await
            .0,
        404
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_published_after_a_change_is_routed_by_it() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server, "global").await;
    let incident = |id: &str| json!({"id": id, "category": "service_incident", "services": ["sql"], "regions": ["apac"], "title": "SQL slow in APAC"});
    let customers = |routed: &Value| -> Vec<String> {
        routed["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["customer"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, routed) = server.post(&vendor, "/v1/route", &incident("x")).await;
    assert_eq!(customers(&routed), ["fourth"]);

    // Graphic Design Institute takes an Azure plan in APAC, through Litware.
    let subscription = json!({"id": "graphic-azure", "customer": "graphic", "product": "azure-plan", "partner": "litware", "regions": ["apac"]});
    assert_eq!(
        server
            .put(
                &vendor,
                "/v1/directory/subscriptions/graphic-azure",
                &subscription
            )
            .await
            .0,
        201
    );
    let (status, summary) = server
        .post(&vendor, "/v1/messages", &incident("sql-apac"))
        .await;
    assert_eq!(status, 201, "{summary}");
    let (_, decisions) = server.get(&vendor, "/v1/messages/sql-apac/decisions").await;
    assert_eq!(customers(&decisions), ["fourth", "graphic"]);
    let graphic = &decisions["decisions"][1];
    assert_eq!(graphic["direct"], true);
    assert_eq!(graphic["partners"], json!(["litware"]));
    // Litware's copy names its new customer; Graphic reads its own.
    let litware = server.key(KeyFor::Partner("litware".into())).await;
    let (_, copy) = server.get(&litware, "/v1/messages/sql-apac").await;
    assert_eq!(copy["customers"], json!(["fourth", "graphic"]));
    let graphic = server.key(KeyFor::Customer("graphic".into())).await;
    assert_eq!(server.get(&graphic, "/v1/messages/sql-apac").await.0, 200);

    // And once it is deleted, the next message passes Graphic by.
    assert_eq!(
        server
            .delete(&vendor, "/v1/directory/subscriptions/graphic-azure")
            .await
            .0,
        204
    );
    let (_, routed) = server.post(&vendor, "/v1/route", &incident("y")).await;
    assert_eq!(customers(&routed), ["fourth"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_together_are_all_kept_and_an_import_behind_the_servers_back_is_seen() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server, "global").await;
    let mut puts = tokio::task::JoinSet::new();
    for n in 0..8 {
        let id = format!("contoso-extra-{n}");
        let body =
            json!({"id": id, "customer": "contoso", "product": "m365-bp", "partner": "fabrikam"});
        let request = server
            .client
            .put(format!("{}/v1/directory/subscriptions/{id}", server.base))
            .bearer_auth(&vendor)
            .json(&body);
        puts.spawn(answer(request));
    }
    while let Some(put) = puts.join_next().await {
        let (status, answer) = put.expect("the request ran");
        assert_eq!(status, 201, "{answer}");
    }
    let (_, directory) = server.get(&vendor, "/v1/directory").await;
    let extra = directory["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"].as_str().unwrap().starts_with("contoso-extra-"))
        .count();
    assert_eq!(extra, 8);

    // Another process imports a directory without Contoso; the server's next change is
    // checked against that one, not the one it held.
    let mut world: wire::World = serde_json::from_value(conformance("world.json")).unwrap();
    world
        .subscriptions
        .retain(|s| s.customer.as_str() != "contoso");
    world.customers.retain(|c| c.id.as_str() != "contoso");
    server
        .store
        .import(&Directory::build(world).unwrap(), 0, &Actor::Operator)
        .await
        .unwrap();
    let body = json!({"id": "contoso-late", "customer": "contoso", "product": "m365-bp", "partner": "fabrikam"});
    let (status, problem) = server
        .put(&vendor, "/v1/directory/subscriptions/contoso-late", &body)
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(detail(&problem).contains("field `customer`"), "{problem}");
    assert_eq!(
        server
            .get(&vendor, "/v1/directory/customers/contoso")
            .await
            .0,
        404
    );
    server.stop().await;
}
