//! One test per bullet of POLICY.md's "Consequences worth a test each": R2 beats R4 for an
//! EA+CSP customer; a partner never learns of another partner's subscriptions (decisions,
//! partner copies and the report all checked); advisors hear nothing; a customer hears a
//! message once; each kind of bad message is rejected whole, naming the offending thing;
//! a valid message matching nobody is accepted with no decisions.

use herald_domain::plan::{customer_copy, partner_copies};
use herald_domain::{route, wire, Message, Policy};
use serde_json::{json, Value};

use crate::common::{
    conformance_directory, conformance_message, copies_ids, directory, parse, rejected, report_of,
    route_rows, row, strings, valid,
};

#[test]
fn an_ea_customer_hears_nothing_directly_about_its_csp_renewal_but_does_about_its_direct_product() {
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    // contoso holds an Enterprise Agreement (contoso-azure) and a CSP subscription through
    // fabrikam (contoso-e3).
    let csp = conformance_message(&dir, "renewal-contoso-e3");
    let routing = route(&policy, &dir, &csp);
    assert_eq!(
        route_rows(&dir, &csp),
        vec![row("contoso", false, &["fabrikam"])]
    );
    let d = &routing.decisions()[0];
    assert_eq!(
        policy.rule(d.customer_rule).id,
        "R2",
        "R2 keeps it from contoso"
    );
    assert!(customer_copy(&policy, &dir, &csp, &routing, d).is_none());

    let direct = conformance_message(&dir, "renewal-contoso-azure");
    let routing = route(&policy, &dir, &direct);
    assert_eq!(route_rows(&dir, &direct), vec![row("contoso", true, &[])]);
    let d = &routing.decisions()[0];
    assert_eq!(
        policy.rule(d.customer_rule).id,
        "R4",
        "R4 sends it to contoso"
    );
    let copy = customer_copy(&policy, &dir, &direct, &routing, d).expect("a direct copy");
    assert_eq!(
        copy.subscriptions
            .iter()
            .map(|s| dir.subscription(*s).id.to_string())
            .collect::<Vec<_>>(),
        strings(&["contoso-azure"])
    );
}

/// A customer held by two direct-bill partners, and by two resellers under one provider.
fn shared_customer_world() -> Value {
    json!({
        "products": [
            {"id": "suite", "services": ["mail"]},
            {"id": "vault", "services": ["mail", "backup"]}
        ],
        "partners": [
            {"id": "alpha", "kind": "direct_bill", "contacts": [
                {"id": "alpha-desk", "name": "Alpha", "email": "desk@alpha.example", "roles": ["admin", "billing", "support"]}]},
            {"id": "beta", "kind": "direct_bill", "contacts": [
                {"id": "beta-desk", "name": "Beta", "email": "desk@beta.example", "roles": ["admin", "billing", "support"]}]},
            {"id": "provider", "kind": "indirect_provider", "contacts": [
                {"id": "provider-desk", "name": "Provider", "email": "desk@provider.example", "roles": ["admin"]}]},
            {"id": "reseller-one", "kind": "indirect_reseller", "contacts": [
                {"id": "reseller-one-desk", "name": "One", "email": "desk@one.example", "roles": ["admin"]}]},
            {"id": "reseller-two", "kind": "indirect_reseller", "contacts": [
                {"id": "reseller-two-desk", "name": "Two", "email": "desk@two.example", "roles": ["admin"]}]}
        ],
        "customers": [
            {"id": "shared", "contacts": [
                {"id": "shared-admin", "name": "Shared", "email": "admin@shared.example", "roles": ["admin"]}]},
            {"id": "other"}
        ],
        "subscriptions": [
            {"id": "shared-on-alpha", "customer": "shared", "product": "suite", "partner": "alpha"},
            {"id": "shared-on-beta", "customer": "shared", "product": "suite", "partner": "beta"},
            {"id": "shared-via-one", "customer": "shared", "product": "vault", "partner": "provider", "reseller": "reseller-one"},
            {"id": "shared-via-two", "customer": "shared", "product": "vault", "partner": "provider", "reseller": "reseller-two"},
            {"id": "other-on-alpha", "customer": "other", "product": "vault", "partner": "alpha"}
        ]
    })
}

/// The report's JSON for one partner's copy.
fn reported_copy(report: &Value, partner: &str) -> Value {
    report["partner_copies"]
        .as_array()
        .expect("partner_copies is a list")
        .iter()
        .find(|c| c["partner"] == partner)
        .unwrap_or_else(|| panic!("no copy for {partner} in {report}"))
        .clone()
}

#[test]
fn a_partner_never_learns_of_another_partners_subscriptions_with_the_same_customer() {
    let dir = directory(shared_customer_world());

    // A subscription message about beta's subscription goes to beta alone.
    let about_b = valid(
        &dir,
        json!({"id": "renew-b", "category": "subscription", "subscriptions": ["shared-on-beta"]}),
    );
    assert_eq!(
        route_rows(&dir, &about_b),
        vec![row("shared", false, &["beta"])]
    );
    assert_eq!(
        copies_ids(&dir, &about_b),
        vec![(
            "beta".to_owned(),
            strings(&["shared"]),
            strings(&["shared-on-beta"])
        )]
    );
    let text = serde_json::to_string(&report_of(&dir, &about_b)).unwrap();
    for unknown_to_b in [
        "alpha",
        "shared-on-alpha",
        "provider",
        "reseller",
        "shared-via",
    ] {
        assert!(
            !text.contains(unknown_to_b),
            "the report of a message about beta's subscription names {unknown_to_b}: {text}"
        );
    }

    // An incident touching every subscription: each copy names only its reader's own.
    let incident = valid(
        &dir,
        json!({"id": "mail-down", "category": "service_incident", "services": ["mail"]}),
    );
    assert_eq!(
        copies_ids(&dir, &incident),
        vec![
            (
                "alpha".to_owned(),
                strings(&["other", "shared"]),
                strings(&["other-on-alpha", "shared-on-alpha"])
            ),
            (
                "beta".to_owned(),
                strings(&["shared"]),
                strings(&["shared-on-beta"])
            ),
            (
                "provider".to_owned(),
                strings(&["shared"]),
                strings(&["shared-via-one", "shared-via-two"])
            ),
            (
                "reseller-one".to_owned(),
                strings(&["shared"]),
                strings(&["shared-via-one"])
            ),
            (
                "reseller-two".to_owned(),
                strings(&["shared"]),
                strings(&["shared-via-two"])
            ),
        ]
    );
    let report = serde_json::to_value(report_of(&dir, &incident)).unwrap();
    let forbidden: [(&str, &[&str]); 4] = [
        (
            "alpha",
            &[
                "beta",
                "shared-on-beta",
                "provider",
                "reseller-",
                "shared-via-",
            ],
        ),
        (
            "beta",
            &[
                "alpha",
                "shared-on-alpha",
                "other",
                "provider",
                "reseller-",
                "shared-via-",
            ],
        ),
        (
            "reseller-one",
            &[
                "reseller-two",
                "shared-via-two",
                "two.example",
                "alpha",
                "beta",
            ],
        ),
        (
            "reseller-two",
            &[
                "reseller-one",
                "shared-via-one",
                "one.example",
                "alpha",
                "beta",
            ],
        ),
    ];
    for (partner, never) in forbidden {
        let copy = reported_copy(&report, partner).to_string();
        assert!(copy.contains(&format!("desk@{}", partner.trim_start_matches("reseller-"))));
        for id in never {
            assert!(
                !copy.contains(id),
                "{partner}'s reported copy names {id}: {copy}"
            );
        }
    }
}

#[test]
fn an_advisor_receives_nothing() {
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    let proseware = dir.partner_ix("proseware").expect("proseware exists");
    assert_eq!(dir.partner(proseware).kind, wire::PartnerKind::Advisor);
    let batch =
        wire::Message::batch_from_str(&crate::common::read_data("conformance/messages.json"))
            .unwrap();
    let mut routed = 0;
    for w in batch.into_iter().map(Result::unwrap) {
        let Ok(m) = Message::parse(w, &policy, &dir) else {
            continue;
        };
        routed += 1;
        let routing = route(&policy, &dir, &m);
        for d in routing.decisions() {
            assert!(
                !routing.partners(d).contains(&proseware),
                "{} tells the advisor",
                m.id
            );
        }
        assert!(partner_copies(&policy, &dir, &m, &routing)
            .iter()
            .all(|c| c.partner != proseware));
        let text = serde_json::to_string(&report_of(&dir, &m)).unwrap();
        assert!(!text.contains("proseware"), "{}: {text}", m.id);
    }
    assert!(routed >= 10, "most conformance messages are valid");
}

#[test]
fn a_customer_hears_a_message_once_however_many_subscriptions_are_in_scope() {
    let dir = directory(json!({
        "products": [
            {"id": "suite", "services": ["mail", "chat"]},
            {"id": "mailbox", "services": ["mail"]}
        ],
        "partners": [{"id": "db", "kind": "direct_bill"}],
        "customers": [{"id": "many", "agreements": ["enterprise_agreement"], "contacts": [
            {"id": "many-admin", "name": "Admin", "email": "admin@many.example", "roles": ["admin", "technical", "billing"], "product_news": true}]}],
        "subscriptions": [
            {"id": "many-1", "customer": "many", "product": "suite", "partner": "db"},
            {"id": "many-2", "customer": "many", "product": "suite", "partner": "db"},
            {"id": "many-3", "customer": "many", "product": "mailbox", "partner": "db"},
            {"id": "many-4", "customer": "many", "product": "mailbox", "agreement": "enterprise_agreement"},
            {"id": "many-5", "customer": "many", "product": "suite", "agreement": "enterprise_agreement"}
        ]
    }));
    let policy = Policy::default_policy();
    let messages = [
        json!({"id": "incident", "category": "service_incident", "services": ["mail", "chat"]}),
        json!({"id": "renewals", "category": "subscription",
               "subscriptions": ["many-1", "many-2", "many-3", "many-4", "many-5", "many-1"]}),
        json!({"id": "news", "category": "product", "products": ["suite", "mailbox"]}),
        json!({"id": "moving", "category": "operational", "customers": ["many", "many"]}),
    ];
    for m in messages {
        let m = valid(&dir, m);
        let routing = route(&policy, &dir, &m);
        assert_eq!(
            route_rows(&dir, &m),
            vec![row("many", true, &["db"])],
            "{}: one decision, one partner",
            m.id
        );
        let d = &routing.decisions()[0];
        let copy = customer_copy(&policy, &dir, &m, &routing, d).expect("a direct copy");
        assert_eq!(
            copy.readers.len(),
            1,
            "{}: the one contact reads it once",
            m.id
        );
        let copies = partner_copies(&policy, &dir, &m, &routing);
        assert_eq!(copies.len(), 1, "{}: one partner copy", m.id);
        assert_eq!(
            copies[0].customers.len(),
            1,
            "{}: naming the customer once",
            m.id
        );
        let mut subs = copies[0].subscriptions.clone();
        subs.dedup();
        assert_eq!(
            subs, copies[0].subscriptions,
            "{}: no subscription twice",
            m.id
        );
        assert_eq!(
            copies[0].subscriptions.len(),
            3,
            "{}: the partner's copy names its three",
            m.id
        );
    }
}

/// Asserts a rejection's reason mentions each of `needles`.
fn assert_names(reason: &str, needles: &[&str]) {
    for n in needles {
        assert!(reason.contains(n), "the reason should name {n}: {reason}");
    }
}

#[test]
fn a_message_naming_an_unknown_subscription_is_rejected() {
    let dir = conformance_directory();
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "subscription", "subscriptions": ["contoso-e3", "no-such-subscription"]}),
    );
    assert_names(&reason, &["\"m\"", "subscription", "no-such-subscription"]);
}

#[test]
fn a_message_naming_an_unknown_product_is_rejected() {
    let dir = conformance_directory();
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "product", "products": ["azure-plan", "no-such-product"]}),
    );
    assert_names(&reason, &["product", "no-such-product"]);
}

#[test]
fn a_message_naming_an_unknown_service_is_rejected() {
    let dir = conformance_directory();
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "service_incident", "services": ["exchange", "no-such-service"]}),
    );
    assert_names(&reason, &["service", "no-such-service"]);
}

#[test]
fn a_message_naming_an_unknown_customer_is_rejected() {
    let dir = conformance_directory();
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "operational", "customers": ["contoso", "no-such-customer"]}),
    );
    assert_names(&reason, &["customer", "no-such-customer"]);
}

#[test]
fn a_message_naming_an_id_from_another_cloud_is_rejected() {
    let dir = conformance_directory();
    // A global message naming a us-gov subscription or customer…
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "subscription", "subscriptions": ["gov-dept-e3"]}),
    );
    assert_names(&reason, &["gov-dept-e3", "global"]);
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "service_incident", "services": ["exchange"], "customers": ["gov-dept"]}),
    );
    assert_names(&reason, &["gov-dept", "global"]);
    // …and a us-gov message naming a global one.
    let reason = rejected(
        &dir,
        json!({"id": "m", "cloud": "us-gov", "category": "subscription", "subscriptions": ["contoso-e3"]}),
    );
    assert_names(&reason, &["contoso-e3", "us-gov"]);
    let reason = rejected(
        &dir,
        json!({"id": "m", "cloud": "us-gov", "category": "operational", "customers": ["contoso"]}),
    );
    assert_names(&reason, &["contoso", "us-gov"]);
    // A cloud no record belongs to.
    let reason = rejected(
        &dir,
        json!({"id": "m", "cloud": "moon", "category": "product", "products": ["azure-plan"]}),
    );
    assert_names(&reason, &["moon"]);
}

#[test]
fn a_message_with_an_unknown_category_is_rejected() {
    let dir = conformance_directory();
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "marketing", "products": ["azure-plan"]}),
    );
    assert_names(
        &reason,
        &[
            "marketing",
            "subscription",
            "product",
            "service_incident",
            "operational",
        ],
    );
}

#[test]
fn a_message_without_a_category_is_rejected() {
    let dir = conformance_directory();
    let reason = rejected(&dir, json!({"id": "m", "products": ["azure-plan"]}));
    assert_names(&reason, &["`category`", "subscription", "operational"]);
}

#[test]
fn a_message_with_a_scope_field_its_category_does_not_allow_is_rejected() {
    let dir = conformance_directory();
    let cases = [
        (
            json!({"id": "m", "category": "subscription", "subscriptions": ["contoso-e3"], "services": ["exchange"]}),
            ["subscription", "services"],
        ),
        (
            json!({"id": "m", "category": "subscription", "subscriptions": ["contoso-e3"], "customers": ["contoso"]}),
            ["subscription", "customers"],
        ),
        (
            json!({"id": "m", "category": "product", "products": ["azure-plan"], "regions": ["eu"]}),
            ["product", "regions"],
        ),
        (
            json!({"id": "m", "category": "service_incident", "services": ["exchange"], "subscriptions": ["contoso-e3"]}),
            ["service_incident", "subscriptions"],
        ),
        (
            json!({"id": "m", "category": "operational", "customers": ["contoso"], "products": ["azure-plan"]}),
            ["operational", "products"],
        ),
        // `regions` is allowed in an operational notice only together with `services`.
        (
            json!({"id": "m", "category": "operational", "customers": ["contoso"], "regions": ["eu"]}),
            ["regions", "services"],
        ),
    ];
    for (msg, needles) in cases {
        let reason = rejected(&dir, msg);
        assert_names(&reason, &needles);
    }
}

#[test]
fn a_message_without_its_required_scope_is_rejected() {
    let dir = conformance_directory();
    let reason = rejected(&dir, json!({"id": "m", "category": "subscription"}));
    assert_names(&reason, &["subscription", "`subscriptions`"]);
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "product", "title": "x"}),
    );
    assert_names(&reason, &["`products`"]);
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "service_incident", "regions": ["eu"]}),
    );
    assert_names(&reason, &["service_incident", "`services`"]);
    let reason = rejected(&dir, json!({"id": "m", "category": "operational"}));
    assert_names(&reason, &["`services`", "`customers`"]);
    // An empty list says nothing either.
    let reason = rejected(
        &dir,
        json!({"id": "m", "category": "subscription", "subscriptions": []}),
    );
    assert_names(&reason, &["`subscriptions`", "empty"]);
}

#[test]
fn a_rejected_message_is_rejected_whole_and_does_not_hide_the_others() {
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    // One good and one bad id: nothing of it is routed.
    assert!(parse(
        &dir,
        json!({"id": "m", "category": "subscription", "subscriptions": ["contoso-e3", "nope"]})
    )
    .is_err());
    // In a batch, each message stands alone: a malformed one keeps its id for the error.
    let batch = wire::Message::batch_from_str(
        r#"[{"id": "ok", "category": "subscription", "subscriptions": ["contoso-e3"]},
            {"id": "malformed", "category": "subscription", "colour": "red"},
            {"id": "bad", "category": "subscription", "subscriptions": ["nope"]}]"#,
    )
    .expect("a batch");
    assert_eq!(batch.len(), 3);
    let (id, reason) = batch[1].clone().expect_err("an unknown field is malformed");
    assert_eq!(id.map(|i| i.to_string()).as_deref(), Some("malformed"));
    assert!(reason.contains("colour"), "{reason}");
    let results: Vec<bool> = batch
        .into_iter()
        .map(|m| {
            m.map_err(|_| ())
                .and_then(|w| Message::parse(w, &policy, &dir).map_err(|_| ()))
                .is_ok()
        })
        .collect();
    assert_eq!(results, vec![true, false, false]);
}

#[test]
fn a_valid_message_whose_scope_matches_nobody_is_accepted_with_no_decisions() {
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    let nobody = [
        conformance_message(&dir, "incident-nobody"),
        // graphic holds no m365-bp.
        valid(
            &dir,
            json!({"id": "m", "category": "product", "products": ["m365-bp"], "customers": ["graphic"]}),
        ),
        // dynamics-crm is in no eu subscription.
        valid(
            &dir,
            json!({"id": "m2", "category": "operational", "services": ["dynamics-crm"], "regions": ["eu"]}),
        ),
    ];
    for m in nobody {
        let routing = route(&policy, &dir, &m);
        assert!(routing.decisions().is_empty(), "{}: no decision", m.id);
        assert!(partner_copies(&policy, &dir, &m, &routing).is_empty());
        let report = serde_json::to_value(report_of(&dir, &m)).unwrap();
        assert_eq!(report["decisions"], json!([]), "{}", m.id);
        assert_eq!(report["partner_copies"], json!([]), "{}", m.id);
        assert_eq!(report["message"], json!(m.id.as_str()));
    }
}
