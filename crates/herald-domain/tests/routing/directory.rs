//! One test per rule of POLICY.md's "A valid directory": a world breaking it is refused
//! whole by `Directory::build`, and the refusal's problems name the offending record (kind
//! and id) and field. A valid base world shows what is allowed (clouds default to
//! `global`, a subscription may state its customer's cloud, the catalog is shared).

use herald_domain::directory::Problem;
use herald_domain::{wire, Directory};
use serde_json::{json, Value};

/// A small valid world of two clouds, to be broken one rule at a time.
fn base() -> Value {
    json!({
        "products": [
            {"id": "suite", "services": ["mail"]},
            {"id": "vault", "services": ["backup"]}
        ],
        "partners": [
            {"id": "db", "kind": "direct_bill", "contacts": [
                {"id": "db-desk", "name": "Desk", "email": "desk@db.example", "roles": ["admin"]}]},
            {"id": "dist", "kind": "indirect_provider"},
            {"id": "resell", "kind": "indirect_reseller"},
            {"id": "adv", "kind": "advisor"},
            {"id": "gov-db", "kind": "direct_bill", "cloud": "us-gov"},
            {"id": "gov-dist", "kind": "indirect_provider", "cloud": "us-gov"},
            {"id": "gov-resell", "kind": "indirect_reseller", "cloud": "us-gov"}
        ],
        "customers": [
            {"id": "acme", "agreements": ["enterprise_agreement"], "contacts": [
                {"id": "acme-admin", "name": "Admin", "email": "admin@acme.example", "roles": ["admin"]}]},
            {"id": "gov-acme", "cloud": "us-gov"}
        ],
        "subscriptions": [
            {"id": "acme-csp", "customer": "acme", "product": "suite", "partner": "db"},
            {"id": "acme-indirect", "customer": "acme", "product": "suite", "partner": "dist", "reseller": "resell"},
            {"id": "acme-ea", "customer": "acme", "product": "vault", "agreement": "enterprise_agreement", "cloud": "global"},
            {"id": "gov-acme-csp", "customer": "gov-acme", "product": "suite", "partner": "gov-dist", "reseller": "gov-resell", "cloud": "us-gov"}
        ]
    })
}

fn build(world: Value) -> Result<Directory, herald_domain::DirectoryError> {
    let world: wire::World = serde_json::from_value(world).expect("the wire shape");
    Directory::build(world)
}

/// The base world with one more record pushed onto `list`.
fn with(list: &str, record: Value) -> Value {
    let mut world = base();
    world[list].as_array_mut().expect("a list").push(record);
    world
}

/// The base world with one more subscription.
fn with_subscription(sub: Value) -> Value {
    with("subscriptions", sub)
}

/// Builds a world that must be refused, and returns its problems.
fn refused(world: Value) -> Vec<Problem> {
    match build(world) {
        Ok(_) => panic!("the world should have been refused"),
        Err(e) => {
            assert!(!e.problems.is_empty(), "a refusal has problems");
            e.problems
        }
    }
}

/// Asserts that some problem names this record and field, and that the error's text does
/// too; returns that problem's explanation.
fn assert_problem(problems: &[Problem], kind: &str, id: &str, field: &str) -> String {
    let found = problems
        .iter()
        .find(|p| p.kind == kind && p.id == id && p.field == field)
        .unwrap_or_else(|| panic!("no problem for {kind} {id:?} field `{field}` in {problems:#?}"));
    let text = herald_domain::DirectoryError {
        problems: problems.to_vec(),
    }
    .to_string();
    assert!(
        text.contains(&format!("{kind} \"{id}\", field `{field}`")),
        "{text}"
    );
    assert!(!found.what.trim().is_empty());
    found.what.clone()
}

#[test]
fn the_base_world_is_valid_with_clouds_defaulting_to_global_and_a_shared_catalog() {
    let dir = build(base()).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = dir.clouds().iter().map(|c| c.as_str()).collect();
    assert_eq!(ids, ["global", "us-gov"]);
    let acme = dir.customer_ix("acme").unwrap();
    let gov = dir.customer_ix("gov-acme").unwrap();
    assert_eq!(dir.cloud(dir.customer(acme).cloud).as_str(), "global");
    assert_eq!(dir.cloud(dir.customer(gov).cloud).as_str(), "us-gov");
    // The gov subscription holds the same product as the global ones.
    let gov_sub = dir.subscription_ix("gov-acme-csp").unwrap();
    let global_sub = dir.subscription_ix("acme-csp").unwrap();
    assert_eq!(
        dir.subscription(gov_sub).product,
        dir.subscription(global_sub).product
    );
    assert_eq!(
        dir.cloud(dir.subscription_cloud(gov_sub)).as_str(),
        "us-gov"
    );
    // The same id in different kinds is no repeat.
    let mut world = base();
    world["partners"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "acme", "kind": "advisor"}));
    assert!(build(world).is_ok());
}

#[test]
fn no_record_is_in_the_cloud_that_stands_for_every_cloud() {
    let problems = refused(with(
        "partners",
        json!({"id": "star", "kind": "direct_bill", "cloud": "*"}),
    ));
    let what = assert_problem(&problems, "partner", "star", "cloud");
    assert!(what.contains("every cloud"), "{what}");
    let problems = refused(with("customers", json!({"id": "star", "cloud": "*"})));
    assert_problem(&problems, "customer", "star", "cloud");
}

#[test]
fn an_id_repeated_within_its_kind_is_refused() {
    let repeats = [
        (
            "products",
            json!({"id": "suite", "services": []}),
            "product",
            "suite",
        ),
        (
            "partners",
            json!({"id": "dist", "kind": "direct_bill"}),
            "partner",
            "dist",
        ),
        ("customers", json!({"id": "acme"}), "customer", "acme"),
        (
            "subscriptions",
            json!({"id": "acme-csp", "customer": "acme", "product": "vault", "partner": "db"}),
            "subscription",
            "acme-csp",
        ),
    ];
    for (list, record, kind, id) in repeats {
        let problems = refused(with(list, record));
        assert_problem(&problems, kind, id, "id");
    }
}

#[test]
fn a_contact_id_repeated_within_or_across_organisations_is_refused() {
    // Within one customer.
    let mut world = base();
    world["customers"][0]["contacts"].as_array_mut().unwrap().push(
        json!({"id": "acme-admin", "name": "Again", "email": "again@acme.example", "roles": ["billing"]}),
    );
    assert_problem(&refused(world), "contact", "acme-admin", "id");
    // Across a partner and a customer.
    let mut world = base();
    world["customers"][1]["contacts"] = json!([
        {"id": "db-desk", "name": "Desk", "email": "desk@gov-acme.example", "roles": ["admin"]}
    ]);
    assert_problem(&refused(world), "contact", "db-desk", "id");
}

#[test]
fn a_subscription_naming_an_unknown_customer_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "nobody", "product": "suite", "partner": "db"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "customer");
    assert!(what.contains("nobody"), "{what}");
}

#[test]
fn a_subscription_naming_an_unknown_product_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "gizmo", "partner": "db"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "product");
    assert!(what.contains("gizmo"), "{what}");
}

#[test]
fn a_subscription_naming_an_unknown_partner_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "partner": "ghost"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "partner");
    assert!(what.contains("ghost"), "{what}");
}

#[test]
fn a_subscription_naming_an_unknown_reseller_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "partner": "dist", "reseller": "ghost"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "reseller");
    assert!(what.contains("ghost"), "{what}");
}

#[test]
fn a_subscription_naming_an_unknown_agreement_is_refused() {
    // Agreements are a closed set: an unknown one does not even read as a world.
    let world = with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "agreement": "handshake"}),
    );
    let err = serde_json::from_value::<wire::World>(world).expect_err("an unknown agreement");
    assert!(err.to_string().contains("handshake"), "{err}");
}

#[test]
fn a_subscription_naming_both_partner_and_agreement_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "partner": "db", "agreement": "enterprise_agreement"}),
    ));
    let p = problems
        .iter()
        .find(|p| p.id == "s")
        .expect("a problem for s");
    assert!(["partner", "agreement"].contains(&p.field), "{p}");
    assert_problem(&problems, "subscription", "s", p.field);
    assert!(p.what.contains("both"), "{p}");
}

#[test]
fn a_subscription_naming_neither_partner_nor_agreement_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite"}),
    ));
    let p = problems
        .iter()
        .find(|p| p.id == "s")
        .expect("a problem for s");
    assert!(["partner", "agreement"].contains(&p.field), "{p}");
    assert_problem(&problems, "subscription", "s", p.field);
    assert!(p.what.contains("neither"), "{p}");
}

#[test]
fn a_subscription_under_an_agreement_its_customer_does_not_hold_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "agreement": "customer_agreement"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "agreement");
    assert!(what.contains("customer_agreement"), "{what}");
    // A customer with no agreement holds none.
    let problems = refused(with_subscription(
        json!({"id": "s2", "customer": "gov-acme", "product": "suite", "agreement": "enterprise_agreement"}),
    ));
    assert_problem(&problems, "subscription", "s2", "agreement");
}

#[test]
fn a_partner_of_record_that_is_not_direct_bill_or_indirect_provider_is_refused() {
    for (id, partner) in [("s-adv", "adv"), ("s-resell", "resell")] {
        let problems = refused(with_subscription(
            json!({"id": id, "customer": "acme", "product": "suite", "partner": partner}),
        ));
        let what = assert_problem(&problems, "subscription", id, "partner");
        assert!(what.contains(partner), "{what}");
    }
}

#[test]
fn a_reseller_that_is_not_an_indirect_reseller_is_refused() {
    for (id, reseller) in [("s-dist", "dist"), ("s-adv", "adv"), ("s-db", "db")] {
        let problems = refused(with_subscription(
            json!({"id": id, "customer": "acme", "product": "suite", "partner": "dist", "reseller": reseller}),
        ));
        let what = assert_problem(&problems, "subscription", id, "reseller");
        assert!(what.contains(reseller), "{what}");
    }
}

#[test]
fn a_reseller_with_a_direct_bill_partner_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "partner": "db", "reseller": "resell"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "reseller");
    assert!(what.contains("direct_bill"), "{what}");
}

#[test]
fn a_reseller_on_a_direct_subscription_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "agreement": "enterprise_agreement", "reseller": "resell"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "reseller");
    assert!(what.contains("resell"), "{what}");
}

#[test]
fn a_partner_in_another_cloud_than_the_customer_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "partner": "gov-db"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "partner");
    assert!(what.contains("us-gov") && what.contains("gov-db"), "{what}");
    let problems = refused(with_subscription(
        json!({"id": "s2", "customer": "gov-acme", "product": "suite", "partner": "db"}),
    ));
    assert_problem(&problems, "subscription", "s2", "partner");
}

#[test]
fn a_reseller_in_another_cloud_than_the_customer_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "partner": "dist", "reseller": "gov-resell"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "reseller");
    assert!(what.contains("gov-resell"), "{what}");
    assert!(
        !problems.iter().any(|p| p.field == "partner"),
        "the partner is fine: {problems:?}"
    );
}

#[test]
fn a_subscription_stating_another_cloud_than_its_customers_is_refused() {
    let problems = refused(with_subscription(
        json!({"id": "s", "customer": "acme", "product": "suite", "partner": "db", "cloud": "us-gov"}),
    ));
    let what = assert_problem(&problems, "subscription", "s", "cloud");
    assert!(what.contains("us-gov") && what.contains("acme"), "{what}");
    // Stating nothing, or its customer's cloud, is fine; stating a cloud nobody is in is not.
    let problems = refused(with_subscription(
        json!({"id": "s2", "customer": "gov-acme", "product": "suite", "partner": "gov-db", "cloud": "moon"}),
    ));
    assert_problem(&problems, "subscription", "s2", "cloud");
}

#[test]
fn a_refused_world_names_every_problem_at_once() {
    let mut world = base();
    let subs = world["subscriptions"].as_array_mut().unwrap();
    subs.push(json!({"id": "x1", "customer": "nobody", "product": "suite", "partner": "db"}));
    subs.push(json!({"id": "x2", "customer": "acme", "product": "suite", "partner": "adv"}));
    subs.push(json!({"id": "x3", "customer": "acme", "product": "suite", "agreement": "online_subscription"}));
    world["products"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "vault", "services": []}));
    let err = build(world).expect_err("refused");
    assert_eq!(err.problems.len(), 4, "{err}");
    assert_problem(&err.problems, "subscription", "x1", "customer");
    assert_problem(&err.problems, "subscription", "x2", "partner");
    assert_problem(&err.problems, "subscription", "x3", "agreement");
    assert_problem(&err.problems, "product", "vault", "id");
    assert!(err.to_string().contains("4 problems"), "{err}");
}

#[test]
fn the_same_records_in_any_order_make_the_same_directory() {
    let text = crate::common::read_data("conformance/world.json");
    let world: wire::World = serde_json::from_str(&text).expect("the conformance world parses");
    let mut reversed = world.clone();
    reversed.products.reverse();
    reversed.partners.reverse();
    reversed.customers.reverse();
    reversed.subscriptions.reverse();
    for c in &mut reversed.customers {
        c.contacts.reverse();
    }
    let a = Directory::build(world).expect("valid");
    let b = Directory::build(reversed).expect("valid");
    assert_eq!(a, b);
}

#[test]
fn a_customers_advisors_must_be_advisor_partners_of_its_cloud() {
    let world = |advisors: serde_json::Value| {
        json!({
            "partners": [
                {"id": "adv", "kind": "advisor"},
                {"id": "gov-adv", "kind": "advisor", "cloud": "us-gov"},
                {"id": "db", "kind": "direct_bill"}
            ],
            "customers": [{"id": "c", "advisors": advisors}]
        })
    };
    let build = |advisors| {
        Directory::build(serde_json::from_value::<wire::World>(world(advisors)).unwrap())
    };
    assert!(build(json!(["adv"])).is_ok());
    for (advisors, says) in [
        (json!(["nobody"]), "not in the directory"),
        (json!(["db"]), "only `advisor` partners"),
        (json!(["gov-adv"]), "clouds never mix"),
    ] {
        let error = build(advisors).expect_err("refused");
        let problem = &error.problems[0];
        assert_eq!(
            (problem.kind, problem.id.as_str(), problem.field),
            ("customer", "c", "advisors")
        );
        assert!(problem.what.contains(says), "{}", problem.what);
    }
}
