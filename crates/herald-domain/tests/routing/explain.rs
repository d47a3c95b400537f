//! Explanations: `explain_customer` and `explain_partner` answer "why did (or didn't) this
//! customer or partner hear about this message?" naming the deciding subscriptions and the
//! rule ids, and never disagree with the routing they explain.

use herald_domain::explain::{explain_customer, explain_partner, Explanation};
use herald_domain::plan::partner_copies;
use herald_domain::{route, wire, Directory, Message, Policy};

use crate::common::{conformance_directory, conformance_message, read_data};

fn customer(dir: &Directory, message: &str, id: &str) -> Explanation {
    let policy = Policy::default_policy();
    let m = conformance_message(dir, message);
    let routing = route(&policy, dir, &m);
    explain_customer(&policy, dir, &m, &routing, id).unwrap_or_else(|e| panic!("{e}"))
}

fn partner(dir: &Directory, message: &str, id: &str) -> Explanation {
    let policy = Policy::default_policy();
    let m = conformance_message(dir, message);
    let routing = route(&policy, dir, &m);
    explain_partner(&policy, dir, &m, &routing, id).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_mentions(e: &Explanation, needles: &[&str]) {
    let text = e.to_string();
    for n in needles {
        assert!(
            text.contains(n),
            "the explanation should mention {n}:\n{text}"
        );
    }
}

fn rules(e: &Explanation) -> Vec<&str> {
    e.rules.iter().map(String::as_str).collect()
}

#[test]
fn contoso_does_not_hear_directly_of_its_csp_renewal_by_r2() {
    let dir = conformance_directory();
    let e = customer(&dir, "renewal-contoso-e3", "contoso");
    assert!(!e.heard);
    assert_eq!(
        (e.about, e.id.as_str(), e.message.as_str()),
        ("customer", "contoso", "renewal-contoso-e3")
    );
    assert!(rules(&e).contains(&"R2"), "{:?}", e.rules);
    assert!(!rules(&e).contains(&"R4"), "{:?}", e.rules);
    assert_mentions(&e, &["contoso-e3", "fabrikam", "R2", "does not hear"]);
}

#[test]
fn contoso_hears_directly_of_its_ea_renewal_by_r4() {
    let dir = conformance_directory();
    let e = customer(&dir, "renewal-contoso-azure", "contoso");
    assert!(e.heard);
    assert!(rules(&e).contains(&"R4"), "{:?}", e.rules);
    assert_mentions(
        &e,
        &["contoso-azure", "enterprise_agreement", "contoso-billing"],
    );
}

#[test]
fn a_customer_out_of_scope_is_told_which_subscription_missed_and_why() {
    let dir = conformance_directory();
    // adatum's subscriptions are in us, the incident in eu.
    let e = customer(&dir, "incident-exchange-eu", "adatum");
    assert!(!e.heard);
    assert!(rules(&e).contains(&"S-incident"), "{:?}", e.rules);
    assert_mentions(&e, &["adatum-bp", "regions", "adatum-defender", "services"]);
    // humongous-e3 is deleted; product messages consider only active subscriptions.
    let e = customer(&dir, "product-dynamics", "humongous");
    assert!(!e.heard);
    assert_mentions(&e, &["humongous-e3", "deleted"]);
}

#[test]
fn the_partner_of_record_is_told_naming_its_customer_and_subscription() {
    let dir = conformance_directory();
    let e = partner(&dir, "renewal-contoso-e3", "fabrikam");
    assert!(e.heard);
    assert_eq!(rules(&e), ["R2"]);
    assert_mentions(&e, &["contoso", "contoso-e3"]);
    assert!(!e.to_string().contains("contoso-azure"), "{e}");
}

#[test]
fn the_advisor_is_not_told_and_is_told_why() {
    let dir = conformance_directory();
    for message in [
        "incident-teams-everywhere",
        "renewal-contoso-e3",
        "product-azure",
    ] {
        let e = partner(&dir, message, "proseware");
        assert!(!e.heard, "{message}");
        assert_mentions(&e, &["proseware", "advisor"]);
        assert_eq!(e.rules.len(), 1, "{message}: {:?}", e.rules);
    }
}

#[test]
fn a_partner_not_told_lists_its_subscriptions_and_why_each_missed() {
    let dir = conformance_directory();
    let e = partner(&dir, "renewal-contoso-e3", "litware");
    assert!(!e.heard);
    assert_mentions(
        &e,
        &[
            "adatum-defender",
            "bellows-bp",
            "fourth-azure",
            "not one of the subscriptions",
        ],
    );
}

#[test]
fn explaining_a_record_of_another_cloud_is_an_error() {
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    let m = conformance_message(&dir, "incident-teams-everywhere");
    let routing = route(&policy, &dir, &m);
    let err = explain_customer(&policy, &dir, &m, &routing, "gov-dept").unwrap_err();
    assert!(err.to_string().contains("gov-dept"), "{err}");
    let err = explain_partner(&policy, &dir, &m, &routing, "gov-fabrikam").unwrap_err();
    assert!(err.to_string().contains("gov-fabrikam"), "{err}");
    assert!(explain_customer(&policy, &dir, &m, &routing, "nobody").is_err());
}

#[test]
fn explanations_never_disagree_with_the_routing() {
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    let batch = wire::Message::batch_from_str(&read_data("conformance/messages.json")).unwrap();
    let mut asked = 0;
    for m in batch
        .into_iter()
        .filter_map(|w| Message::parse(w.unwrap(), &policy, &dir).ok())
    {
        let routing = route(&policy, &dir, &m);
        let told: Vec<_> = partner_copies(&policy, &dir, &m, &routing)
            .iter()
            .map(|c| c.partner)
            .collect();
        for (i, c) in dir.customers().iter().enumerate() {
            if c.cloud != m.cloud {
                continue;
            }
            let ix = herald_domain::ids::CustomerIx(i as u32);
            let e = explain_customer(&policy, &dir, &m, &routing, c.id.as_str()).unwrap();
            let direct = routing.decision_for(ix).is_some_and(|d| d.direct);
            assert_eq!(e.heard, direct, "{} / {}:\n{e}", m.id, c.id);
            assert!(!e.rules.is_empty() && !e.lines.is_empty());
            for r in &e.rules {
                assert!(policy.rules().iter().any(|x| &x.id == r), "{r}");
            }
            asked += 1;
        }
        for (i, p) in dir.partners().iter().enumerate() {
            if p.cloud != m.cloud {
                continue;
            }
            let ix = herald_domain::ids::PartnerIx(i as u32);
            let e = explain_partner(&policy, &dir, &m, &routing, p.id.as_str()).unwrap();
            assert_eq!(e.heard, told.contains(&ix), "{} / {}:\n{e}", m.id, p.id);
            asked += 1;
        }
    }
    assert!(asked > 100);
}
