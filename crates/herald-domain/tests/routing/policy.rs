//! The policy as data: the default policy's text round-trips and says what POLICY.md's
//! tables say; a broken policy is refused with an error naming the category, field or key;
//! and a changed policy (`tests/data/policies/*.toml`) changes routing with no code change:
//! security advisories to both customers and partners, and incidents told to partners of
//! record but not to resellers.

use herald_domain::explain::explain_partner;
use herald_domain::plan::partner_copies;
use herald_domain::policy::{
    CopyNames, DirectWhen, PartnerRole, PartnersOf, ScopeField, DEFAULT_POLICY,
};
use herald_domain::wire::{Role, Status};
use herald_domain::{route, Policy, PolicyError};
use serde_json::json;

use crate::common::{
    conformance_directory, conformance_message, conformance_wire, parse, parse_with, read_data,
    route_rows, route_rows_with, row,
};

fn variant(name: &str) -> Policy {
    Policy::parse(&read_data(&format!("policies/{name}.toml")))
        .unwrap_or_else(|e| panic!("policies/{name}.toml: {e}"))
}

/// The default text with `from` (which must occur exactly once) replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    assert_eq!(
        DEFAULT_POLICY.matches(from).count(),
        1,
        "{from:?} occurs once in the default policy"
    );
    DEFAULT_POLICY.replace(from, to)
}

fn refused(text: &str) -> PolicyError {
    Policy::parse(text).expect_err("the policy should be refused")
}

#[test]
fn the_default_policy_round_trips() {
    let policy = Policy::parse(DEFAULT_POLICY).expect("the default parses");
    assert_eq!(policy.text(), DEFAULT_POLICY);
    assert_eq!(policy.to_string(), DEFAULT_POLICY);
    assert_eq!(Policy::parse(&policy.to_string()).unwrap(), policy);
    assert_eq!(Policy::default_policy(), policy);
    assert_eq!(
        DEFAULT_POLICY,
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/default.toml"
        ))
        .unwrap()
    );
    assert_eq!(policy.version(), "default/1");
    assert_eq!(policy.default_locale(), "en");
}

#[test]
fn the_default_policy_says_what_policy_md_says() {
    let policy = Policy::default_policy();
    let names: Vec<&str> = policy
        .categories()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["operational", "product", "service_incident", "subscription"]
    );
    let rules: Vec<&str> = policy.rules().iter().map(|r| r.id.as_str()).collect();
    for id in ["R1", "R2", "R3", "R4"] {
        assert!(rules.contains(&id), "{id} in {rules:?}");
    }
    let cat = |name: &str| &policy.categories()[policy.category_named(name).unwrap().0 as usize];
    let rule = |ix| policy.rule(ix).id.as_str();
    use ScopeField::*;

    let s = cat("subscription");
    assert_eq!(s.required_any, [Subscriptions]);
    assert_eq!(s.allowed, [Subscriptions]);
    assert_eq!(s.statuses, Status::ALL);
    assert_eq!(
        (s.direct_when, rule(s.direct_rule), rule(s.indirect_rule)),
        (DirectWhen::DirectSubscription, "R4", "R2")
    );
    assert_eq!(s.customer_contacts.roles, [Role::Billing, Role::Admin]);
    assert_eq!(s.partner_contacts.roles, [Role::Billing, Role::Admin]);

    let p = cat("product");
    assert_eq!(p.required_any, [Products]);
    assert_eq!(p.allowed, [Products, Customers]);
    assert_eq!(p.statuses, [Status::Active]);
    assert_eq!(
        (p.direct_when, rule(p.direct_rule), rule(p.indirect_rule)),
        (DirectWhen::DirectSubscription, "R4", "R1")
    );
    assert_eq!(p.customer_contacts.roles, [Role::Admin]);
    assert!(p.customer_contacts.consent.is_some());
    assert_eq!(p.partner_contacts.roles, [Role::Admin]);

    for name in ["service_incident", "operational"] {
        let c = cat(name);
        assert_eq!(c.statuses, [Status::Active], "{name}");
        assert_eq!(
            (c.direct_when, rule(c.direct_rule)),
            (DirectWhen::Always, "R3")
        );
        assert_eq!(c.customer_copy, CopyNames::All, "{name}");
        assert_eq!(c.customer_contacts.roles, [Role::Technical, Role::Admin]);
        assert_eq!(c.partner_contacts.roles, [Role::Support, Role::Admin]);
    }
    assert_eq!(cat("service_incident").required_any, [Services]);
    assert_eq!(cat("operational").required_any, [Services, Customers]);
    assert_eq!(cat("operational").requires, [(Regions, Services)]);

    for c in policy.categories() {
        assert_eq!(c.partners_of, PartnersOf::Csp, "{}", c.name);
        assert!(c.tells(PartnerRole::Partner) && c.tells(PartnerRole::Reseller));
    }
    assert_eq!(cat("subscription").customer_copy, CopyNames::Direct);
    assert_eq!(cat("product").customer_copy, CopyNames::Direct);
}

#[test]
fn a_policy_naming_an_unknown_rule_is_refused_naming_the_category_and_field() {
    let err = refused(&edited(
        "partners = { of = \"csp\", rule = \"R2\" }",
        "partners = { of = \"csp\", rule = \"R9\" }",
    ));
    let text = err.to_string();
    assert!(matches!(err, PolicyError::Invalid(_)), "{err:?}");
    for needle in ["`subscription`", "`partners.rule`", "`R9`"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let err = refused(&edited(
        "scope_rule = \"S-product\"",
        "scope_rule = \"S-nothing\"",
    ));
    let text = err.to_string();
    for needle in ["`product`", "`scope_rule`", "`S-nothing`"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
}

#[test]
fn a_policy_using_a_scope_field_not_in_allowed_is_refused_naming_the_category_and_field() {
    let err = refused(&edited(
        "allowed = [\"products\", \"customers\"]",
        "allowed = [\"customers\"]",
    ));
    let text = err.to_string();
    assert!(matches!(err, PolicyError::Invalid(_)), "{err:?}");
    for needle in ["`product`", "`products`", "`allowed`"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    // `requires` counts as use too.
    let err = refused(&edited(
        "requires = { regions = \"services\" }",
        "requires = { regions = \"subscriptions\" }",
    ));
    let text = err.to_string();
    for needle in ["`operational`", "`subscriptions`"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
}

#[test]
fn a_policy_with_an_unknown_key_or_value_is_refused_naming_it() {
    let broken = edited(
        "[categories.operational]\n",
        "[categories.operational]\ncolour = \"red\"\n",
    );
    // The key's line, so the error can be checked to point at it.
    let line = 1 + broken
        .lines()
        .position(|l| l.starts_with("colour"))
        .unwrap();
    let err = refused(&broken);
    let text = err.to_string();
    assert!(matches!(err, PolicyError::Syntax(_)), "{err:?}");
    assert!(text.contains("unknown field `colour`"), "{text}");
    assert!(text.contains(&format!("line {line}")), "{text}");
    let err = refused(&edited(
        "required_any = [\"products\"]",
        "required_any = [\"tenants\"]",
    ));
    assert!(err.to_string().contains("tenants"), "{err}");
    let err = refused(&edited(
        "default_locale = \"en\"\n",
        "default_locale = \"en\"\nlocale = \"fr\"\n",
    ));
    assert!(err.to_string().contains("unknown field `locale`"), "{err}");
}

#[test]
fn a_policy_with_an_empty_requirement_is_refused_naming_the_category() {
    let err = refused(&edited(
        "required_any = [\"subscriptions\"]",
        "required_any = []",
    ));
    assert!(err.to_string().contains("`subscription`"), "{err}");
    assert!(err.to_string().contains("required_any"), "{err}");
    let err = refused(&edited(
        "customer_contacts = { roles = [\"admin\"], consent = \"product_news\" }",
        "customer_contacts = { roles = [], consent = \"product_news\" }",
    ));
    assert!(err.to_string().contains("`product`"), "{err}");
    assert!(err.to_string().contains("customer_contacts"), "{err}");
}

#[test]
fn the_variant_policies_change_only_what_they_say() {
    let default = Policy::default_policy();
    for (name, changed) in [
        ("security-advisories", "security_advisory"),
        ("incident-partners-only", "service_incident"),
    ] {
        let v = variant(name);
        assert_eq!(v.version(), format!("{name}/1"));
        for c in v.categories().iter().filter(|c| c.name != changed) {
            let d = &default.categories()[default.category_named(&c.name).unwrap().0 as usize];
            // Rules are addressed by position, so compare through their ids.
            assert_eq!(
                (
                    c.required_any.clone(),
                    c.allowed.clone(),
                    c.statuses.clone(),
                    c.partner_roles.clone()
                ),
                (
                    d.required_any.clone(),
                    d.allowed.clone(),
                    d.statuses.clone(),
                    d.partner_roles.clone()
                ),
                "{name}: {}",
                c.name
            );
            assert_eq!(
                v.rule(c.direct_rule).id,
                default.rule(d.direct_rule).id,
                "{name}: {}",
                c.name
            );
        }
    }
}

#[test]
fn a_policy_adding_security_advisories_routes_them_to_customers_and_partners_without_code_changes()
{
    let dir = conformance_directory();
    let policy = variant("security-advisories");
    let advisory = json!({"id": "advisory-exchange", "category": "security_advisory", "services": ["exchange"],
                          "title": "Patch your mail clients"});
    // The default policy does not know the category…
    let reason = parse(&dir, advisory.clone()).expect_err("unknown to the default");
    assert!(reason.reason.contains("security_advisory"), "{reason}");
    // …the changed policy routes it both ways: to every affected customer and its partners.
    let m = parse_with(&policy, &dir, advisory).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        route_rows_with(&policy, &dir, &m),
        vec![
            row("adatum", true, &["northwind", "tailspin"]),
            row("bellows", true, &["litware"]),
            row("coho", true, &[]),
            row("contoso", true, &["fabrikam"]),
            row("fourth", true, &["northwind", "wingtip"]),
        ]
    );
    let routing = route(&policy, &dir, &m);
    for d in routing.decisions() {
        assert_eq!(policy.rule(d.customer_rule).id, "SEC1");
        assert_eq!(policy.rule(d.partners_rule).id, "SEC1");
    }
    // Its scope field rules come from the policy too.
    let bad = parse_with(
        &policy,
        &dir,
        json!({"id": "a2", "category": "security_advisory", "products": ["m365-e3"]}),
    )
    .expect_err("products are not allowed in an advisory");
    assert!(bad.reason.contains("products"), "{bad}");
    // Every other message routes as under the default.
    for id in [
        "renewal-contoso-e3",
        "incident-teams-everywhere",
        "product-azure",
        "tenant-migration",
    ] {
        let under_default = conformance_message(&dir, id);
        let under_variant =
            herald_domain::Message::parse(conformance_wire(id), &policy, &dir).unwrap();
        assert_eq!(
            route_rows_with(&policy, &dir, &under_variant),
            route_rows(&dir, &under_default),
            "{id}"
        );
    }
}

#[test]
fn a_policy_telling_only_partners_of_record_about_incidents_stops_telling_resellers() {
    let dir = conformance_directory();
    let policy = variant("incident-partners-only");
    let category =
        &policy.categories()[policy.category_named("service_incident").unwrap().0 as usize];
    assert_eq!(category.partner_roles, [PartnerRole::Partner]);

    let incident =
        herald_domain::Message::parse(conformance_wire("incident-teams-everywhere"), &policy, &dir)
            .unwrap();
    assert_eq!(
        route_rows_with(&policy, &dir, &incident),
        vec![
            row("adatum", true, &["northwind"]),
            row("bellows", true, &["litware"]),
            row("coho", true, &[]),
            row("contoso", true, &["fabrikam"]),
            row("fourth", true, &["northwind"]),
        ]
    );
    let routing = route(&policy, &dir, &incident);
    let told: Vec<String> = partner_copies(&policy, &dir, &incident, &routing)
        .iter()
        .map(|c| dir.partner(c.partner).id.to_string())
        .collect();
    assert_eq!(told, ["fabrikam", "litware", "northwind"]);
    // The explanation says why the reseller was not told.
    let why = explain_partner(&policy, &dir, &incident, &routing, "tailspin").unwrap();
    assert!(!why.heard);
    assert!(why.rules.contains(&"R3".to_owned()), "{why:?}");
    assert!(why.to_string().contains("reseller"), "{why}");

    // Subscription messages still reach resellers: only incidents changed.
    let renewal =
        herald_domain::Message::parse(conformance_wire("renewal-indirect"), &policy, &dir).unwrap();
    assert_eq!(
        route_rows_with(&policy, &dir, &renewal),
        vec![row("adatum", false, &["northwind", "tailspin"])]
    );
}

#[test]
fn a_policy_telling_advisors_about_incidents_tells_the_affected_customers_advisors_only() {
    let mut world: serde_json::Value =
        serde_json::from_str(&crate::common::read_data("conformance/world.json")).unwrap();
    for c in world["customers"].as_array_mut().unwrap() {
        if c["id"] == "adatum" {
            c["advisors"] = serde_json::json!(["proseware"]);
        }
    }
    let dir = crate::common::directory(world);
    let incident = conformance_wire("incident-teams-everywhere");

    // The default policy tells no advisor.
    let default = Policy::default_policy();
    let message = herald_domain::Message::parse(incident.clone(), &default, &dir).unwrap();
    let rows = route_rows_with(&default, &dir, &message);
    assert!(
        rows.iter().all(|r| !r.2.contains(&"proseware".to_owned())),
        "{rows:?}"
    );

    // The variant tells proseware about adatum, and names no subscription to it.
    let policy = variant("incident-advisors");
    let message = herald_domain::Message::parse(incident, &policy, &dir).unwrap();
    let rows = route_rows_with(&policy, &dir, &message);
    assert!(
        rows.contains(&row(
            "adatum",
            true,
            &["northwind", "proseware", "tailspin"]
        )),
        "{rows:?}"
    );
    assert!(
        rows.contains(&row("bellows", true, &["litware"])),
        "{rows:?}"
    );
    let routing = route(&policy, &dir, &message);
    let copies = partner_copies(&policy, &dir, &message, &routing);
    let advisor = copies
        .iter()
        .find(|c| dir.partner(c.partner).id.as_str() == "proseware")
        .expect("proseware gets a copy");
    let customers: Vec<&str> = advisor
        .customers
        .iter()
        .map(|c| dir.customer(*c).id.as_str())
        .collect();
    assert_eq!(customers, ["adatum"]);
    assert!(advisor.subscriptions.is_empty());
}
