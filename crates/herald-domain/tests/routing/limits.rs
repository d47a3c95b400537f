//! Bad input is refused with a named reason: a world missing one of its lists, an id that
//! is too long or holds what a reader cannot see, a contact whose email is not one address,
//! a title or body over its limit. Each refusal names the record (or message) and field,
//! and quotes a huge value only cut short.

use herald_domain::limits::{MAX_BODY_BYTES, MAX_ID_BYTES, MAX_TITLE_BYTES};
use herald_domain::{wire, Directory};
use serde_json::{json, Value};

use crate::common::{directory, rejected, valid};

/// A small valid world naming every kind of id: product, service, partner, customer,
/// subscription, contact and cloud.
fn world() -> Value {
    json!({
        "products": [{"id": "suite", "services": ["mail"]}],
        "partners": [{"id": "db", "kind": "direct_bill", "cloud": "global", "contacts": [
            {"id": "db-desk", "name": "Desk", "email": "desk@db.example", "roles": ["admin"]}]}],
        "customers": [{"id": "acme", "cloud": "global", "contacts": [
            {"id": "acme-admin", "name": "Admin", "email": "admin@acme.example", "roles": ["technical"]}]}],
        "subscriptions": [{"id": "acme-suite", "customer": "acme", "product": "suite", "partner": "db", "cloud": "global"}]
    })
}

/// The problems of a world that must be refused, as the error's text.
fn refused(world: Value) -> String {
    let world: wire::World = serde_json::from_value(world).expect("the wire shape");
    match Directory::build(world) {
        Ok(_) => panic!("the world should have been refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_world_missing_any_of_its_four_lists_is_refused_naming_them() {
    let all = ["products", "partners", "customers", "subscriptions"];
    let empty = wire::World::from_json("{}").expect_err("`{}` names no list");
    for key in all {
        assert!(empty.contains(&format!("`{key}`")), "{key}: {empty}");
    }
    for key in all {
        let mut world = world();
        world.as_object_mut().unwrap().remove(key);
        let error = wire::World::from_json(&world.to_string()).expect_err(key);
        assert!(error.contains(&format!("`{key}`")), "{key}: {error}");
        for other in all.iter().filter(|k| **k != key) {
            assert!(!error.contains(&format!("`{other}`")), "{other}: {error}");
        }
    }
    // An empty list is an empty list: the world holds nothing of that kind.
    let none = wire::World::from_json(
        r#"{"products": [], "partners": [], "customers": [], "subscriptions": []}"#,
    )
    .expect("four empty lists are an empty world");
    assert_eq!(none, wire::World::default());
    assert!(wire::World::from_json(&world().to_string()).is_ok());
}

/// Every place in [`world`] an id is written, and the record kind, id and field an error
/// names when that id is `bad`.
fn id_places(bad: &str) -> Vec<(Value, &'static str, String, &'static str)> {
    let mut places = Vec::new();
    let mut put = |path: &[&str], kind: &'static str, named: Option<&str>, field| {
        let mut world = world();
        let mut at = &mut world;
        for step in path {
            at = match step.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*step],
            };
        }
        *at = json!(bad);
        places.push((world, kind, named.unwrap_or(bad).to_owned(), field));
    };
    put(&["products", "0", "id"], "product", None, "id");
    put(
        &["products", "0", "services", "0"],
        "product",
        Some("suite"),
        "services",
    );
    put(&["partners", "0", "id"], "partner", None, "id");
    put(&["partners", "0", "cloud"], "partner", Some("db"), "cloud");
    put(
        &["partners", "0", "contacts", "0", "id"],
        "contact",
        None,
        "id",
    );
    put(&["customers", "0", "id"], "customer", None, "id");
    put(
        &["customers", "0", "cloud"],
        "customer",
        Some("acme"),
        "cloud",
    );
    put(
        &["customers", "0", "contacts", "0", "id"],
        "contact",
        None,
        "id",
    );
    put(&["subscriptions", "0", "id"], "subscription", None, "id");
    places
}

#[test]
fn an_id_too_long_or_holding_what_a_reader_cannot_see_is_refused_naming_the_record() {
    let long = "x".repeat(MAX_ID_BYTES + 1);
    let huge = "y".repeat(1 << 20);
    for bad in [
        long.as_str(),
        huge.as_str(),
        "",
        " acme",
        "acme\n",
        "ac\u{7}me",
        "acme\u{202E}lper",
        "ac\u{2066}me",
        "ac\u{200B}me",
        "\u{FEFF}acme",
    ] {
        for (world, kind, id, field) in id_places(bad) {
            let error = refused(world);
            let shown = herald_domain::limits::shown(&id).to_string();
            assert!(
                error.contains(&format!("{kind} \"{shown}\", field `{field}`")),
                "{bad:?} as {kind} {field}: {error}"
            );
            assert!(
                error.len() < 2_000,
                "a refusal quotes {} bytes",
                error.len()
            );
        }
    }
    // At the limit, and in any script, an id is fine.
    let mut world = world();
    world["customers"][0]["id"] = json!("к".repeat(MAX_ID_BYTES / 2));
    world["subscriptions"][0]["customer"] = world["customers"][0]["id"].clone();
    directory(world);
}

#[test]
fn a_contact_email_that_is_not_one_address_is_refused_naming_the_contact() {
    for bad in [
        "not-an-email",
        "d@x.example, evil@attacker.example",
        "Desk <desk@db.example>",
        "desk@db.example\r\nBcc: evil@attacker.example",
        "",
        "@db.example",
        "desk@",
    ] {
        for org in ["partners", "customers"] {
            let mut world = world();
            world[org][0]["contacts"][0]["email"] = json!(bad);
            let contact = world[org][0]["contacts"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let error = refused(world);
            assert!(
                error.contains(&format!("contact \"{contact}\", field `email`")),
                "{bad:?}: {error}"
            );
        }
    }
    let mut world = world();
    world["customers"][0]["contacts"][0]["email"] = json!("first.last+herald@sub.acme.example");
    directory(world);
}

fn message(extra: Value) -> Value {
    let mut message = json!({"id": "m1", "category": "service_incident", "services": ["mail"], "title": "Mail is slow"});
    for (k, v) in extra.as_object().unwrap() {
        message[k] = v.clone();
    }
    message
}

#[test]
fn a_message_id_or_thread_too_long_or_holding_what_a_reader_cannot_see_is_refused() {
    let dir = directory(world());
    let huge = "m".repeat(1 << 20);
    for bad in [huge.as_str(), " m1", "m\u{202E}1", "m\u{200D}1", "m\u{0}1"] {
        let reason = rejected(&dir, message(json!({"id": bad})));
        assert!(reason.contains("`id`"), "{reason}");
        assert!(
            reason.len() < 1_000,
            "a refusal quotes {} bytes",
            reason.len()
        );
        let reason = rejected(
            &dir,
            message(json!({"thread": bad, "status": "investigating"})),
        );
        assert!(reason.contains("`thread`"), "{reason}");
        assert!(
            reason.len() < 1_000,
            "a refusal quotes {} bytes",
            reason.len()
        );
    }
    // A huge id named in the scope is quoted only cut short.
    let reason = rejected(
        &dir,
        json!({"id": "m2", "category": "subscription", "subscriptions": [huge]}),
    );
    assert!(
        reason.len() < 1_000,
        "a refusal quotes {} bytes",
        reason.len()
    );
}

#[test]
fn a_title_or_body_over_its_limit_or_holding_control_characters_is_refused() {
    let dir = directory(world());
    let title = "t".repeat(MAX_TITLE_BYTES + 1);
    let body = "b".repeat(MAX_BODY_BYTES + 1);
    for (extra, field) in [
        (json!({"title": title}), "title"),
        (json!({"title": {"en": "Fine", "ru": title}}), "title"),
        (json!({"title": "Mail\nis slow"}), "title"),
        (json!({"title": "Mail \u{1b}[31mis slow"}), "title"),
        (json!({"body": body}), "body"),
        (json!({"body": {"de": body}}), "body"),
        (json!({"body": "bell\u{7}"}), "body"),
    ] {
        let reason = rejected(&dir, message(extra));
        assert!(reason.contains(&format!("`{field}`")), "{reason}");
        assert!(
            reason.len() < 1_000,
            "a refusal quotes {} bytes",
            reason.len()
        );
    }
    valid(
        &dir,
        message(json!({
            "title": {"en": "t".repeat(MAX_TITLE_BYTES), "ar": "البريد بطيء"},
            "body": format!("{}\r\n\tend", "b".repeat(MAX_BODY_BYTES - 6)),
        })),
    );
}
