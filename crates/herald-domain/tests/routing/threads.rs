//! Incident threads: which messages may form one, and how an update reaches everyone the
//! thread already reached plus whoever is newly in scope, without crossing clouds.

use herald_domain::explain::{explain_customer, explain_partner};
use herald_domain::plan::partner_copies;
use herald_domain::thread::{route_update, Reached};
use herald_domain::{route, Directory, Message, Policy};
use serde_json::{json, Value};

use crate::common::{directory, rejected, row, rows, valid};

/// Two customers of partner `north` in region `west`, one in `east` of partner `south`, and
/// a customer of another cloud.
fn world() -> Value {
    json!({
        "products": [{"id": "mail", "services": ["smtp"]}],
        "partners": [
            {"id": "north", "kind": "direct_bill"},
            {"id": "south", "kind": "direct_bill"},
            {"id": "gov-partner", "kind": "direct_bill", "cloud": "gov"}
        ],
        "customers": [
            {"id": "alpha", "contacts": [{"id": "a1", "name": "A", "email": "a@alpha.test", "roles": ["technical"]}]},
            {"id": "beta", "contacts": [{"id": "b1", "name": "B", "email": "b@beta.test", "roles": ["technical"]}]},
            {"id": "gamma", "contacts": [{"id": "g1", "name": "G", "email": "g@gamma.test", "roles": ["technical"]}]},
            {"id": "gov-one", "cloud": "gov"}
        ],
        "subscriptions": [
            {"id": "alpha-mail", "customer": "alpha", "product": "mail", "partner": "north", "regions": ["west"]},
            {"id": "beta-mail", "customer": "beta", "product": "mail", "partner": "north", "regions": ["west"]},
            {"id": "gamma-mail", "customer": "gamma", "product": "mail", "partner": "south", "regions": ["east"]},
            {"id": "gov-mail", "customer": "gov-one", "product": "mail", "partner": "gov-partner", "cloud": "gov", "regions": ["west"]}
        ]
    })
}

fn update(id: &str, region: &str, status: &str) -> Value {
    json!({
        "id": id, "category": "service_incident", "services": ["smtp"], "regions": [region],
        "thread": "smtp-outage", "status": status, "title": "Mail delays"
    })
}

/// The audience a routing reached, as the store hands it to the next update.
fn reached(routing: &herald_domain::Routing) -> Vec<Reached> {
    routing
        .decisions()
        .iter()
        .map(|d| Reached {
            customer: d.customer,
            direct: d.direct,
            partners: routing.partners(d).to_vec(),
        })
        .collect()
}

fn first_and_update(
    dir: &Directory,
    later: &Directory,
    second: Value,
) -> (Message, herald_domain::Routing) {
    let policy = Policy::default_policy();
    let first = valid(dir, update("u1", "west", "investigating"));
    let before = reached(&route(&policy, dir, &first));
    // The store keeps ids; a changed directory renumbers them.
    let before: Vec<Reached> = before
        .into_iter()
        .filter_map(|r| {
            Some(Reached {
                customer: later.customer_ix(dir.customer(r.customer).id.as_str())?,
                direct: r.direct,
                partners: r
                    .partners
                    .iter()
                    .filter_map(|p| later.partner_ix(dir.partner(*p).id.as_str()))
                    .collect(),
            })
        })
        .collect();
    let msg = valid(later, second);
    let routing = route_update(&policy, later, &msg, &before);
    (msg, routing)
}

#[test]
fn an_update_reaches_the_earlier_audience_and_the_newly_affected() {
    let dir = directory(world());
    // The outage spreads east: gamma is newly affected; alpha and beta keep hearing.
    let (_, routing) = first_and_update(&dir, &dir, update("u2", "east", "identified"));
    assert_eq!(
        rows(&dir, &routing),
        vec![
            row("alpha", true, &["north"]),
            row("beta", true, &["north"]),
            row("gamma", true, &["south"]),
        ]
    );
    let policy = Policy::default_policy();
    let rule = |ix| policy.rule(ix).id.clone();
    let d = routing.decisions();
    assert_eq!(
        (rule(d[0].customer_rule), rule(d[0].partners_rule)),
        ("T1".into(), "T1".into())
    );
    assert_eq!(
        (rule(d[2].customer_rule), rule(d[2].partners_rule)),
        ("R3".into(), "R3".into())
    );
    assert!(
        routing.subscriptions(&d[0]).is_empty(),
        "alpha's copy names nothing new"
    );
}

#[test]
fn an_update_after_a_directory_change_keeps_the_old_partner_and_tells_the_new_one() {
    let dir = directory(world());
    let mut changed = world();
    // beta moved its subscription from north to south.
    changed["subscriptions"][1]["partner"] = json!("south");
    let later = directory(changed);
    let (msg, routing) = first_and_update(&dir, &later, update("u2", "west", "monitoring"));
    assert_eq!(
        rows(&later, &routing),
        vec![
            row("alpha", true, &["north"]),
            row("beta", true, &["north", "south"]),
        ]
    );
    let policy = Policy::default_policy();
    let copies = partner_copies(&policy, &later, &msg, &routing);
    let north = copies
        .iter()
        .find(|c| later.partner(c.partner).id.as_str() == "north")
        .expect("north told");
    assert_eq!(
        north.customers.len(),
        2,
        "north hears about beta, as it did before"
    );
    assert!(
        north
            .subscriptions
            .iter()
            .all(|s| later.subscription(*s).id.as_str() == "alpha-mail"),
        "north's copy names no subscription it no longer sells"
    );
    let why = explain_partner(&policy, &later, &msg, &routing, "north").expect("explained");
    assert!(why.rules.contains(&"T1".to_owned()), "{why}");
    assert!(
        why.to_string().contains("beta: told before in this thread"),
        "{why}"
    );
}

#[test]
fn a_customer_no_longer_in_scope_still_hears_the_resolution() {
    let dir = directory(world());
    let mut changed = world();
    changed["subscriptions"][0]["status"] = json!("deleted");
    let later = directory(changed);
    let (msg, routing) = first_and_update(&dir, &later, update("u2", "west", "resolved"));
    assert_eq!(
        rows(&later, &routing),
        vec![
            row("alpha", true, &["north"]),
            row("beta", true, &["north"])
        ]
    );
    let policy = Policy::default_policy();
    let why = explain_customer(&policy, &later, &msg, &routing, "alpha").expect("explained");
    assert!(why.heard);
    assert_eq!(why.rules, ["S-incident", "T1"], "{why}");
    assert!(
        why.to_string().contains("updates thread smtp-outage"),
        "{why}"
    );
}

#[test]
fn a_thread_never_carries_its_audience_into_another_cloud() {
    let dir = directory(world());
    let mut changed = world();
    // alpha is now a customer of the gov cloud.
    changed["customers"][0]["cloud"] = json!("gov");
    changed["subscriptions"][0]["cloud"] = json!("gov");
    changed["subscriptions"][0]["partner"] = json!("gov-partner");
    let later = directory(changed);
    let (_, routing) = first_and_update(&dir, &later, update("u2", "west", "identified"));
    assert_eq!(rows(&later, &routing), vec![row("beta", true, &["north"])]);
}

#[test]
fn only_categories_with_threads_may_name_one_and_thread_and_status_come_together() {
    let dir = directory(world());
    let renewal = json!({"id": "r", "category": "subscription", "subscriptions": ["alpha-mail"], "thread": "t", "status": "resolved"});
    let reason = rejected(&dir, renewal);
    assert!(
        reason.contains("may not name a `thread`")
            && reason.contains("only operational and service_incident"),
        "{reason}"
    );
    let mut no_status = update("u", "west", "resolved");
    no_status.as_object_mut().expect("object").remove("status");
    assert!(rejected(&dir, no_status).contains("no `status`"));
    let mut no_thread = update("u", "west", "resolved");
    no_thread.as_object_mut().expect("object").remove("thread");
    assert!(rejected(&dir, no_thread).contains("no `thread`"));
    let mut empty = update("u", "west", "resolved");
    empty["thread"] = json!(" ");
    assert!(rejected(&dir, empty).contains("`thread` is empty"));
}

#[test]
fn the_first_message_of_a_thread_routes_as_any_incident() {
    let dir = directory(world());
    let policy = Policy::default_policy();
    let msg = valid(&dir, update("u1", "west", "investigating"));
    assert_eq!(
        route_update(&policy, &dir, &msg, &[]),
        route(&policy, &dir, &msg)
    );
}
