//! POLICY.md's "What each copy may say" and "Who inside an organization": what the
//! customer's own copy and each partner's copy name, which contacts read each copy per
//! category (billing else admin; admins who consented to product news; technical else
//! admin; partners' support else admin), and the locale each contact reads in (its own,
//! then its language, then the message's default locale).

use std::collections::BTreeMap;

use herald_domain::plan::{customer_copy, partner_copies};
use herald_domain::{route, wire, Directory, Message, Policy};
use serde_json::{json, Value};

use crate::common::{conformance_directory, conformance_message, directory, strings, valid};

/// The ids of the subscriptions each copy of a message names: `customer:ID` for a
/// customer's own copy, `partner:ID` for a partner's.
fn named_by_copies(dir: &Directory, msg: &Message) -> BTreeMap<String, Vec<String>> {
    let policy = Policy::default_policy();
    let routing = route(&policy, dir, msg);
    let sub_ids = |subs: &[herald_domain::ids::SubscriptionIx]| -> Vec<String> {
        subs.iter()
            .map(|s| dir.subscription(*s).id.to_string())
            .collect()
    };
    let mut out = BTreeMap::new();
    for d in routing.decisions() {
        if let Some(copy) = customer_copy(&policy, dir, msg, &routing, d) {
            out.insert(
                format!("customer:{}", dir.customer(copy.customer).id),
                sub_ids(&copy.subscriptions),
            );
        }
    }
    for copy in partner_copies(&policy, dir, msg, &routing) {
        out.insert(
            format!("partner:{}", dir.partner(copy.partner).id),
            sub_ids(&copy.subscriptions),
        );
    }
    out
}

fn expect(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), strings(v)))
        .collect()
}

#[test]
fn a_customers_copy_of_a_subscription_or_product_message_names_only_its_direct_subscriptions() {
    let dir = conformance_directory();
    let mixed = conformance_message(&dir, "price-change-mixed");
    assert_eq!(
        named_by_copies(&dir, &mixed),
        expect(&[
            ("customer:contoso", &["contoso-azure"]),
            ("partner:fabrikam", &["contoso-e3"]),
        ])
    );
    let product = valid(
        &dir,
        json!({"id": "m", "category": "product", "products": ["azure-plan", "m365-e3"], "customers": ["contoso"]}),
    );
    assert_eq!(
        named_by_copies(&dir, &product),
        expect(&[
            ("customer:contoso", &["contoso-azure"]),
            ("partner:fabrikam", &["contoso-e3"]),
        ])
    );
}

#[test]
fn a_customers_copy_of_an_incident_or_operational_notice_names_all_its_in_scope_subscriptions() {
    let dir = conformance_directory();
    let migration = conformance_message(&dir, "tenant-migration");
    assert_eq!(
        named_by_copies(&dir, &migration),
        expect(&[
            ("customer:adatum", &["adatum-bp", "adatum-defender"]),
            ("customer:graphic", &[]),
            ("partner:litware", &["adatum-defender"]),
            ("partner:northwind", &["adatum-bp"]),
            ("partner:tailspin", &["adatum-bp"]),
        ])
    );
}

#[test]
fn every_copy_is_read_only_by_its_own_organisations_contacts() {
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    let batch =
        wire::Message::batch_from_str(&crate::common::read_data("conformance/messages.json"))
            .unwrap();
    let mut readers_seen = 0;
    for m in batch
        .into_iter()
        .filter_map(|w| Message::parse(w.unwrap(), &policy, &dir).ok())
    {
        let routing = route(&policy, &dir, &m);
        for d in routing.decisions() {
            if let Some(copy) = customer_copy(&policy, &dir, &m, &routing, d) {
                let own = dir.customer(d.customer).contacts.clone();
                for r in &copy.readers {
                    readers_seen += 1;
                    assert!(own.contains(&r.contact.0), "{}: a stranger reads", m.id);
                }
            }
        }
        for copy in partner_copies(&policy, &dir, &m, &routing) {
            let own = dir.partner(copy.partner).contacts.clone();
            assert!(
                !copy.readers.is_empty(),
                "{}: every partner here has a reader",
                m.id
            );
            for r in &copy.readers {
                readers_seen += 1;
                assert!(own.contains(&r.contact.0), "{}: a stranger reads", m.id);
            }
        }
    }
    assert!(readers_seen > 20);
}

/// Two customers and two partners whose contacts each hold one role, so the choice of
/// contact per category is visible.
fn contacts_world() -> Value {
    let contact = |id: &str, roles: &[&str], news: bool| json!({"id": id, "name": id, "email": format!("{id}@example.test"), "roles": roles, "product_news": news});
    json!({
        "products": [{"id": "suite", "services": ["mail"]}],
        "partners": [
            {"id": "full", "kind": "direct_bill", "contacts": [
                contact("full-admin", &["admin"], false),
                contact("full-billing", &["billing"], false),
                contact("full-support", &["support"], false),
                contact("full-tech", &["technical"], false)]},
            {"id": "lean", "kind": "direct_bill", "contacts": [
                contact("lean-admin", &["admin"], false),
                contact("lean-tech", &["technical"], false)]}
        ],
        "customers": [
            {"id": "org", "agreements": ["enterprise_agreement"], "contacts": [
                contact("org-admin", &["admin"], false),
                contact("org-admin-news", &["admin"], true),
                contact("org-billing", &["billing"], true),
                contact("org-support", &["support"], false),
                contact("org-tech", &["technical"], false)]},
            {"id": "plain", "agreements": ["enterprise_agreement"], "contacts": [
                contact("plain-admin", &["admin"], false),
                contact("plain-support", &["support"], true)]}
        ],
        "subscriptions": [
            {"id": "org-ea", "customer": "org", "product": "suite", "agreement": "enterprise_agreement"},
            {"id": "org-csp", "customer": "org", "product": "suite", "partner": "full"},
            {"id": "plain-ea", "customer": "plain", "product": "suite", "agreement": "enterprise_agreement"},
            {"id": "plain-csp", "customer": "plain", "product": "suite", "partner": "lean"}
        ]
    })
}

/// Who reads each copy: `customer:ID` / `partner:ID` to sorted contact ids.
fn readers_by_copy(dir: &Directory, msg: &Message) -> BTreeMap<String, Vec<String>> {
    let policy = Policy::default_policy();
    let routing = route(&policy, dir, msg);
    let ids = |readers: &[herald_domain::plan::Reader]| -> Vec<String> {
        let mut v: Vec<String> = readers
            .iter()
            .map(|r| dir.contact(r.contact).id.to_string())
            .collect();
        v.sort();
        v
    };
    let mut out = BTreeMap::new();
    for d in routing.decisions() {
        let copy = customer_copy(&policy, dir, msg, &routing, d).expect("every customer is direct");
        out.insert(
            format!("customer:{}", dir.customer(d.customer).id),
            ids(&copy.readers),
        );
    }
    for copy in partner_copies(&policy, dir, msg, &routing) {
        out.insert(
            format!("partner:{}", dir.partner(copy.partner).id),
            ids(&copy.readers),
        );
    }
    out
}

#[test]
fn subscription_copies_go_to_billing_contacts_else_admins() {
    let dir = directory(contacts_world());
    let m = valid(
        &dir,
        json!({"id": "renewals", "category": "subscription",
               "subscriptions": ["org-ea", "org-csp", "plain-ea", "plain-csp"]}),
    );
    assert_eq!(
        readers_by_copy(&dir, &m),
        expect(&[
            ("customer:org", &["org-billing"]),
            ("customer:plain", &["plain-admin"]),
            ("partner:full", &["full-billing"]),
            ("partner:lean", &["lean-admin"]),
        ])
    );
}

#[test]
fn product_copies_go_to_customer_admins_who_consented_and_to_partner_admins() {
    let dir = directory(contacts_world());
    let m = valid(
        &dir,
        json!({"id": "news", "category": "product", "products": ["suite"]}),
    );
    assert_eq!(
        readers_by_copy(&dir, &m),
        expect(&[
            // org-billing consented but is not an admin; org-admin is an admin but did not.
            ("customer:org", &["org-admin-news"]),
            // plain's only admin did not consent: nobody at plain reads product news.
            ("customer:plain", &[]),
            ("partner:full", &["full-admin"]),
            ("partner:lean", &["lean-admin"]),
        ])
    );
}

#[test]
fn incident_and_operational_copies_go_to_technical_contacts_else_admins_and_partner_support_else_admins(
) {
    let dir = directory(contacts_world());
    let want = expect(&[
        ("customer:org", &["org-tech"]),
        ("customer:plain", &["plain-admin"]),
        ("partner:full", &["full-support"]),
        ("partner:lean", &["lean-admin"]),
    ]);
    let incident = valid(
        &dir,
        json!({"id": "incident", "category": "service_incident", "services": ["mail"]}),
    );
    assert_eq!(readers_by_copy(&dir, &incident), want);
    let notice = valid(
        &dir,
        json!({"id": "notice", "category": "operational", "customers": ["org", "plain"]}),
    );
    assert_eq!(readers_by_copy(&dir, &notice), want);
}

/// A Russian customer whose technical contacts read in several locales.
fn locales_world() -> Value {
    let contact = |id: &str, locale: Option<&str>| {
        let mut c = json!({"id": id, "name": id, "email": format!("{id}@example.test"), "roles": ["technical"]});
        if let Some(l) = locale {
            c["locale"] = json!(l);
        }
        c
    };
    json!({
        "products": [{"id": "suite", "services": ["mail"]}],
        "customers": [{"id": "ru-co", "locale": "ru-RU", "agreements": ["enterprise_agreement"], "contacts": [
            contact("ivan", Some("ru-RU")),
            contact("olga", Some("ru")),
            contact("kenji", Some("ja-JP")),
            contact("pedro", Some("pt-BR")),
            contact("nolocale", None)]}],
        "subscriptions": [
            {"id": "ru-co-suite", "customer": "ru-co", "product": "suite", "agreement": "enterprise_agreement"}
        ]
    })
}

/// The locale each reader of the customer's copy reads in.
fn locales(dir: &Directory, msg: &Message) -> BTreeMap<String, String> {
    let policy = Policy::default_policy();
    let routing = route(&policy, dir, msg);
    let d = &routing.decisions()[0];
    customer_copy(&policy, dir, msg, &routing, d)
        .expect("a direct copy")
        .readers
        .iter()
        .map(|r| (dir.contact(r.contact).id.to_string(), r.locale.to_owned()))
        .collect()
}

fn locale_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn each_contact_reads_its_locale_then_its_language_then_the_messages_default_locale() {
    let dir = directory(locales_world());
    let m = valid(
        &dir,
        json!({"id": "incident", "category": "service_incident", "services": ["mail"],
               "title": {"en": "Mail down", "ru": "Почта не работает", "pt-BR": "E-mail fora", "pt": "Correio em baixo"},
               "body": {"en": "We are on it.", "ru": "Работаем."}}),
    );
    assert_eq!(
        locales(&dir, &m),
        locale_map(&[
            ("ivan", "ru"),     // ru-RU → ru
            ("olga", "ru"),     // ru
            ("kenji", "en"),    // ja-JP, ja: neither, so the message's default (the policy's en)
            ("pedro", "pt-BR"), // the exact locale before its language
            ("nolocale", "ru"), // no locale of its own: its organisation's ru-RU → ru
        ])
    );
    // The text a reader gets is the text of its locale.
    assert_eq!(m.content.text(&m.content.title, "ru"), "Почта не работает");
}

#[test]
fn the_messages_own_locale_is_the_last_fallback() {
    let dir = directory(locales_world());
    let m = valid(
        &dir,
        json!({"id": "incident", "category": "service_incident", "services": ["mail"], "locale": "de",
               "title": {"de": "E-Mail gestört", "ru": "Почта не работает"}}),
    );
    let got = locales(&dir, &m);
    assert_eq!(got["kenji"], "de");
    assert_eq!(got["pedro"], "de");
    assert_eq!(got["ivan"], "ru");
    // Plain text is in the message's locale, whoever reads it.
    let plain = valid(
        &dir,
        json!({"id": "plain", "category": "service_incident", "services": ["mail"], "locale": "fr",
               "title": "Messagerie perturbée"}),
    );
    assert!(
        locales(&dir, &plain).values().all(|l| l == "fr"),
        "{:?}",
        locales(&dir, &plain)
    );
}

#[test]
fn conformance_contacts_read_in_their_locales() {
    // contoso-admin (ru-RU) and contoso-billing (ru) read Russian; wingtip-admin (ja-JP)
    // falls back to the message's default.
    let dir = conformance_directory();
    let policy = Policy::default_policy();
    let m = valid(
        &dir,
        json!({"id": "m", "category": "subscription", "subscriptions": ["contoso-azure", "fourth-e3"],
               "title": {"en": "Renewal", "ru": "Продление"}}),
    );
    let routing = route(&policy, &dir, &m);
    let contoso = routing
        .decision_for(dir.customer_ix("contoso").unwrap())
        .unwrap();
    let copy = customer_copy(&policy, &dir, &m, &routing, contoso).unwrap();
    let read: Vec<(String, String)> = copy
        .readers
        .iter()
        .map(|r| (dir.contact(r.contact).id.to_string(), r.locale.to_owned()))
        .collect();
    assert_eq!(read, vec![("contoso-billing".to_owned(), "ru".to_owned())]);
    let wingtip = partner_copies(&policy, &dir, &m, &routing)
        .into_iter()
        .find(|c| dir.partner(c.partner).id.as_str() == "wingtip")
        .expect("wingtip resells fourth-e3");
    assert_eq!(wingtip.readers.len(), 1);
    assert_eq!(wingtip.readers[0].locale, "en");
}

#[test]
fn each_field_falls_back_through_the_language_on_its_own() {
    use herald_domain::message::Content;
    use herald_domain::wire::Text;
    let localized = |pairs: &[(&str, &str)]| {
        Some(Text::Localized(
            pairs
                .iter()
                .map(|(l, t)| ((*l).to_owned(), (*t).to_owned()))
                .collect(),
        ))
    };
    let content = Content::new(
        localized(&[("en", "Outage"), ("ru-RU", "Сбой")]),
        localized(&[("en", "Details"), ("ru", "Подробности")]),
        "en".to_owned(),
    );
    let locale = content.pick_locale(Some("ru-RU"));
    assert_eq!(locale, "ru-RU");
    assert_eq!(content.text(&content.title, locale), "Сбой");
    assert_eq!(content.text(&content.body, locale), "Подробности");
    let german = content.pick_locale(Some("de-DE"));
    assert_eq!(german, "en");
    assert_eq!(content.text(&content.body, german), "Details");
}
