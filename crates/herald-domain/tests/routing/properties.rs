//! Property tests over random small worlds and messages. The worlds are valid by
//! construction (a few products and services; direct-bill partners, providers, resellers and
//! advisors in two clouds; customers with agreements and contacts; CSP and direct
//! subscriptions of every status, some with regions) and the messages of every category
//! draw their scope from the world. Properties: routing agrees with a plain reading of
//! POLICY.md; no direct copy of a subscription or product message for a customer whose
//! in-scope subscriptions are all CSP; a partner's copy names only its own subscriptions
//! and their customers; nothing crosses clouds; the report is byte-identical whatever the
//! order of the world's records; every decision names a rule of the policy; an update of a
//! thread reaches everyone the thread reached and everyone its own scope does, in its own
//! cloud only.

use std::collections::{BTreeMap, BTreeSet};

use herald_domain::plan::{customer_copy, partner_copies};
use herald_domain::report::report;
use herald_domain::synthetic::Rng;
use herald_domain::thread::{route_update, Reached};
use herald_domain::wire::{self, AgreementKind, PartnerKind, Role, Status, Text};
use herald_domain::{route, Directory, Message, Policy};
use proptest::prelude::*;

use crate::common::{route_rows, Row};

const SERVICES: [&str; 4] = ["mail", "chat", "files", "crm"];
const REGIONS: [&str; 4] = ["eu", "us", "apac", "moon"];
const LOCALES: [Option<&str>; 5] = [
    None,
    Some("en-US"),
    Some("ru-RU"),
    Some("ru"),
    Some("de-DE"),
];
const CLOUDS: [&str; 2] = ["global", "us-gov"];
const ROLES: [Role; 4] = [Role::Admin, Role::Billing, Role::Technical, Role::Support];

#[derive(Clone, Debug)]
struct CustomerSpec {
    gov: bool,
    /// A bit per agreement kind.
    agreements: u8,
    locale: u8,
    /// (a bit per role, product news, locale) per contact.
    contacts: Vec<(u8, bool, u8)>,
}

#[derive(Clone, Debug)]
struct SubSpec {
    customer: u8,
    product: u8,
    holding: u8,
    partner: u8,
    reseller: u8,
    /// `% 4`: active, active, suspended, deleted; `>= 8`: states its customer's cloud.
    status: u8,
    /// A bit per region.
    regions: u8,
}

#[derive(Clone, Debug)]
struct WorldSpec {
    /// A bit per service, per product.
    products: Vec<u8>,
    /// Per cloud: how many direct-bill partners, providers, resellers, advisors.
    channels: [(u8, u8, u8, u8); 2],
    customers: Vec<CustomerSpec>,
    subscriptions: Vec<SubSpec>,
}

#[derive(Clone, Debug)]
struct MsgSpec {
    category: u8,
    gov: bool,
    picks: Vec<u8>,
    narrow: Option<Vec<u8>>,
    /// A bit per region (`moon` is one no subscription lists).
    regions: Option<u8>,
    /// For operational notices: services, customers, or both.
    mode: u8,
}

fn world_spec() -> impl Strategy<Value = WorldSpec> {
    let customer = (
        any::<bool>(),
        0u8..8,
        0u8..5,
        prop::collection::vec((0u8..16, any::<bool>(), 0u8..5), 0..3),
    )
        .prop_map(|(gov, agreements, locale, contacts)| CustomerSpec {
            gov,
            agreements,
            locale,
            contacts,
        });
    let sub = (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        0u8..16,
        0u8..8,
    )
        .prop_map(
            |(customer, product, holding, partner, reseller, status, regions)| SubSpec {
                customer,
                product,
                holding,
                partner,
                reseller,
                status,
                regions,
            },
        );
    (
        prop::collection::vec(1u8..16, 1..4),
        [
            (1u8..3, 1u8..3, 0u8..3, 0u8..2),
            (1u8..3, 1u8..3, 0u8..3, 0u8..2),
        ],
        prop::collection::vec(customer, 1..7),
        prop::collection::vec(sub, 1..13),
    )
        .prop_map(|(products, channels, customers, subscriptions)| WorldSpec {
            products,
            channels,
            customers,
            subscriptions,
        })
}

fn msg_spec() -> impl Strategy<Value = MsgSpec> {
    (
        0u8..4,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 1..4),
        prop::option::of(prop::collection::vec(any::<u8>(), 1..3)),
        prop::option::of(1u8..16),
        0u8..3,
    )
        .prop_map(|(category, gov, picks, narrow, regions, mode)| MsgSpec {
            category,
            gov,
            picks,
            narrow,
            regions,
            mode,
        })
}

fn bits<T: Copy>(mask: u8, from: &[T]) -> Vec<T> {
    from.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, x)| *x)
        .collect()
}

fn contact(id: String, roles: Vec<Role>, news: bool, locale: Option<&str>) -> wire::Contact {
    wire::Contact {
        name: format!("{id} person"),
        email: format!("{id}@example.test"),
        id: id.as_str().into(),
        roles,
        locale: locale.map(str::to_owned),
        product_news: news,
    }
}

/// The world a spec describes; valid by construction.
fn world(spec: &WorldSpec) -> wire::World {
    let products: Vec<wire::Product> = spec
        .products
        .iter()
        .enumerate()
        .map(|(i, mask)| wire::Product {
            id: format!("p{i}").as_str().into(),
            name: None,
            services: bits(*mask, &SERVICES).into_iter().map(Into::into).collect(),
        })
        .collect();

    let mut partners = Vec::new();
    // Per cloud: the ids of its direct-bill partners, providers and resellers.
    let mut channels: Vec<[Vec<String>; 3]> = Vec::new();
    for (ci, (db, pv, rs, adv)) in spec.channels.iter().enumerate() {
        let prefix = if ci == 0 { "g" } else { "u" };
        let mut ids: [Vec<String>; 3] = Default::default();
        for (slot, (kind, count, tag)) in [
            (PartnerKind::DirectBill, *db, "db"),
            (PartnerKind::IndirectProvider, *pv, "pv"),
            (PartnerKind::IndirectReseller, *rs, "rs"),
            (PartnerKind::Advisor, *adv, "adv"),
        ]
        .into_iter()
        .enumerate()
        {
            for i in 0..count {
                let id = format!("{prefix}-{tag}{i}");
                partners.push(wire::Partner {
                    contacts: vec![
                        contact(
                            format!("{id}-a"),
                            vec![Role::Admin, Role::Billing],
                            false,
                            None,
                        ),
                        contact(format!("{id}-b"), vec![Role::Support], false, Some("ru-RU")),
                    ],
                    id: id.as_str().into(),
                    kind,
                    name: None,
                    cloud: (ci == 1).then(|| CLOUDS[1].into()),
                    locale: LOCALES[(i as usize + slot) % LOCALES.len()].map(str::to_owned),
                });
                if slot < 3 {
                    ids[slot].push(id);
                }
            }
        }
        channels.push(ids);
    }

    let customers: Vec<wire::Customer> = spec
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = format!("c{i}");
            wire::Customer {
                advisors: Vec::new(),
                contacts: c
                    .contacts
                    .iter()
                    .enumerate()
                    .map(|(k, (roles, news, locale))| {
                        contact(
                            format!("{id}-k{k}"),
                            bits(*roles, &ROLES),
                            *news,
                            LOCALES[*locale as usize],
                        )
                    })
                    .collect(),
                id: id.as_str().into(),
                name: None,
                cloud: c.gov.then(|| CLOUDS[1].into()),
                agreements: bits(c.agreements, &AgreementKind::ALL),
                locale: LOCALES[c.locale as usize].map(str::to_owned),
            }
        })
        .collect();

    let subscriptions = spec
        .subscriptions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ci = s.customer as usize % customers.len();
            let c = &customers[ci];
            let [db, pv, rs] = &channels[usize::from(spec.customers[ci].gov)];
            let pick = |list: &[String], n: u8| list[n as usize % list.len()].as_str().into();
            let (mut partner, mut reseller, mut agreement) = (None, None, None);
            match s.holding % 3 {
                0 if !c.agreements.is_empty() => {
                    agreement = Some(c.agreements[s.partner as usize % c.agreements.len()])
                }
                0 | 1 => partner = Some(pick(db, s.partner)),
                _ => {
                    partner = Some(pick(pv, s.partner));
                    if !rs.is_empty() && !s.reseller.is_multiple_of(3) {
                        reseller = Some(pick(rs, s.reseller));
                    }
                }
            }
            wire::Subscription {
                id: format!("s{i}").as_str().into(),
                customer: c.id.clone(),
                product: products[s.product as usize % products.len()].id.clone(),
                partner,
                reseller,
                agreement,
                status: [
                    Status::Active,
                    Status::Active,
                    Status::Suspended,
                    Status::Deleted,
                ][s.status as usize % 4],
                regions: bits(s.regions, &REGIONS[..3])
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                cloud: (s.status >= 8).then(|| c.cloud.clone().unwrap_or_else(|| CLOUDS[0].into())),
            }
        })
        .collect();

    wire::World {
        products,
        partners,
        customers,
        subscriptions,
    }
}

fn cloud_of(world: &wire::World, customer: &str) -> String {
    world
        .customers
        .iter()
        .find(|c| c.id.as_str() == customer)
        .and_then(|c| c.cloud.as_ref())
        .map_or_else(|| CLOUDS[0].to_owned(), |c| c.to_string())
}

/// A message of the spec's category whose scope is drawn from the world (and so valid).
fn message(world: &wire::World, spec: &MsgSpec, n: usize) -> wire::Message {
    let customers_in = |cloud: &str| -> Vec<String> {
        world
            .customers
            .iter()
            .filter(|c| cloud_of(world, c.id.as_str()) == cloud)
            .map(|c| c.id.to_string())
            .collect()
    };
    let subscriptions_in = |cloud: &str| -> Vec<String> {
        world
            .subscriptions
            .iter()
            .filter(|s| cloud_of(world, s.customer.as_str()) == cloud)
            .map(|s| s.id.to_string())
            .collect()
    };
    let mut services: Vec<String> = world
        .products
        .iter()
        .flat_map(|p| p.services.iter().map(|s| s.to_string()))
        .collect();
    services.sort();
    services.dedup();
    let pick = |from: &[String], picks: &[u8]| -> Vec<String> {
        picks
            .iter()
            .map(|p| from[*p as usize % from.len()].clone())
            .collect()
    };
    let mut cloud = CLOUDS[usize::from(spec.gov)];
    let other = |cloud: &str| {
        if cloud == CLOUDS[0] {
            CLOUDS[1]
        } else {
            CLOUDS[0]
        }
    };
    let narrow = |cloud: &str| -> Option<Vec<String>> {
        let from = customers_in(cloud);
        spec.narrow
            .as_ref()
            .filter(|_| !from.is_empty())
            .map(|n| pick(&from, n))
    };
    let regions = spec.regions.map(|mask| {
        bits(mask, &REGIONS)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let mut m = wire::Message {
        id: format!("m{n}").as_str().into(),
        title: Some(Text::Localized(
            [("en", "Notice"), ("ru", "Уведомление"), ("de", "Hinweis")]
                .into_iter()
                .map(|(l, t)| (l.to_owned(), t.to_owned()))
                .collect(),
        )),
        ..Default::default()
    };
    match spec.category {
        0 => {
            m.category = Some("subscription".into());
            if subscriptions_in(cloud).is_empty() {
                cloud = other(cloud);
            }
            m.subscriptions = Some(
                pick(&subscriptions_in(cloud), &spec.picks)
                    .into_iter()
                    .map(|s| s.as_str().into())
                    .collect(),
            );
        }
        1 => {
            m.category = Some("product".into());
            let products: Vec<String> = world.products.iter().map(|p| p.id.to_string()).collect();
            m.products = Some(
                pick(&products, &spec.picks)
                    .iter()
                    .map(|p| p.as_str().into())
                    .collect(),
            );
            m.customers = narrow(cloud).map(|c| c.iter().map(|c| c.as_str().into()).collect());
        }
        2 => {
            m.category = Some("service_incident".into());
            m.services = Some(
                pick(&services, &spec.picks)
                    .iter()
                    .map(|s| s.as_str().into())
                    .collect(),
            );
            m.regions = regions;
            m.customers = narrow(cloud).map(|c| c.iter().map(|c| c.as_str().into()).collect());
        }
        _ => {
            m.category = Some("operational".into());
            let by_services = spec.mode != 1;
            let by_customers = spec.mode != 0;
            if by_services {
                m.services = Some(
                    pick(&services, &spec.picks)
                        .iter()
                        .map(|s| s.as_str().into())
                        .collect(),
                );
                m.regions = regions;
            }
            if by_customers {
                if customers_in(cloud).is_empty() {
                    cloud = other(cloud);
                }
                let named = pick(
                    &customers_in(cloud),
                    spec.narrow.as_deref().unwrap_or(&spec.picks),
                );
                m.customers = Some(named.iter().map(|c| c.as_str().into()).collect());
            }
        }
    }
    m.cloud = Some(cloud.into());
    m
}

/// A world, its directory, and its messages checked against the default policy; panics
/// (failing the property) if the generators made anything invalid.
fn setup(spec: &WorldSpec, msgs: &[MsgSpec]) -> (wire::World, Directory, Vec<Message>) {
    let w = world(spec);
    let dir = Directory::build(w.clone()).unwrap_or_else(|e| panic!("{e}"));
    let policy = Policy::default_policy();
    let messages = msgs
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let wm = message(&w, s, n);
            Message::parse(wm.clone(), &policy, &dir).unwrap_or_else(|e| panic!("{e}: {wm:?}"))
        })
        .collect();
    (w, dir, messages)
}

/// POLICY.md read plainly, over the wire world: the (customer, direct, partners) rows.
fn model(world: &wire::World, m: &wire::Message) -> Vec<Row> {
    let cloud = m.cloud.as_ref().map_or("global", |c| c.as_str());
    let category = m.category.as_deref().unwrap();
    // Whether `x` is in a scope list; an absent list does not narrow.
    let named = |list: &Option<Vec<String>>, x: &str| {
        list.as_ref().is_none_or(|l| l.iter().any(|y| y == x))
    };
    fn ids<T: ToString>(v: &Option<Vec<T>>) -> Option<Vec<String>> {
        v.as_ref()
            .map(|v| v.iter().map(ToString::to_string).collect())
    }
    let subscriptions = ids(&m.subscriptions);
    let products = ids(&m.products);
    let services = ids(&m.services);
    let customers = ids(&m.customers);
    let services_of = |product: &str| -> Vec<String> {
        world
            .products
            .iter()
            .find(|p| p.id.as_str() == product)
            .map(|p| p.services.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    };

    let mut in_scope: BTreeMap<String, Vec<&wire::Subscription>> = BTreeMap::new();
    for s in &world.subscriptions {
        if cloud_of(world, s.customer.as_str()) != cloud {
            continue;
        }
        let admitted = if category == "subscription" {
            named(&subscriptions, s.id.as_str())
        } else {
            s.status == Status::Active
                && named(&products, s.product.as_str())
                && services.as_ref().is_none_or(|wanted| {
                    services_of(s.product.as_str())
                        .iter()
                        .any(|x| wanted.contains(x))
                })
                && m.regions.as_ref().is_none_or(|wanted| {
                    s.regions.is_empty() || s.regions.iter().any(|r| wanted.contains(r))
                })
                && named(&customers, s.customer.as_str())
        };
        if admitted {
            in_scope.entry(s.customer.to_string()).or_default().push(s);
        }
    }
    if category == "operational" && services.is_none() {
        for c in customers.iter().flatten() {
            in_scope.entry(c.clone()).or_default();
        }
    }
    in_scope
        .into_iter()
        .map(|(customer, subs)| {
            let direct = matches!(category, "service_incident" | "operational")
                || subs.iter().any(|s| s.agreement.is_some());
            let partners: BTreeSet<String> = subs
                .iter()
                .flat_map(|s| s.partner.iter().chain(s.reseller.iter()))
                .map(|p| p.to_string())
                .collect();
            (customer, direct, partners.into_iter().collect())
        })
        .collect()
}

/// Shuffles with the seeded generator the synthetic directories use.
struct Shuffler(Rng);

impl Shuffler {
    fn shuffle<T>(&mut self, v: &mut [T]) {
        self.0.shuffle(v);
    }

    fn shuffle_contacts(&mut self, contacts: &mut [wire::Contact]) {
        self.shuffle(contacts);
        for c in contacts {
            self.shuffle(&mut c.roles);
        }
    }
}

/// The same world with every list in another order.
fn shuffled(world: &wire::World, seed: u64) -> wire::World {
    let mut w = world.clone();
    let mut r = Shuffler(Rng(seed));
    r.shuffle(&mut w.products);
    for p in &mut w.products {
        r.shuffle(&mut p.services);
    }
    r.shuffle(&mut w.partners);
    for p in &mut w.partners {
        r.shuffle_contacts(&mut p.contacts);
    }
    r.shuffle(&mut w.customers);
    for c in &mut w.customers {
        r.shuffle(&mut c.agreements);
        r.shuffle_contacts(&mut c.contacts);
    }
    r.shuffle(&mut w.subscriptions);
    for s in &mut w.subscriptions {
        r.shuffle(&mut s.regions);
    }
    w
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn routing_agrees_with_a_plain_reading_of_the_policy(
        spec in world_spec(),
        msgs in prop::collection::vec(msg_spec(), 1..6),
    ) {
        let (w, dir, messages) = setup(&spec, &msgs);
        for m in &messages {
            prop_assert_eq!(route_rows(&dir, m), model(&w, &m.wire), "message {:?}", m.wire);
        }
    }

    #[test]
    fn no_direct_copy_when_every_in_scope_subscription_is_csp(
        spec in world_spec(),
        msgs in prop::collection::vec(msg_spec(), 1..6),
    ) {
        let (_, dir, messages) = setup(&spec, &msgs);
        let policy = Policy::default_policy();
        for m in &messages {
            let name = policy.category(m.category).name.as_str();
            if !matches!(name, "subscription" | "product") {
                continue;
            }
            let routing = route(&policy, &dir, m);
            for d in routing.decisions() {
                let subs = routing.subscriptions(d);
                prop_assert!(!subs.is_empty());
                let copy = customer_copy(&policy, &dir, m, &routing, d);
                if subs.iter().all(|s| !dir.subscription(*s).is_direct()) {
                    prop_assert!(!d.direct, "{} reaches {} directly", m.id, dir.customer(d.customer).id);
                    prop_assert!(copy.is_none());
                } else {
                    let copy = copy.expect("a direct copy");
                    prop_assert!(!copy.subscriptions.is_empty());
                    prop_assert!(copy.subscriptions.iter().all(|s| dir.subscription(*s).is_direct()));
                }
            }
        }
    }

    #[test]
    fn a_partners_copy_names_only_its_own_subscriptions_and_their_customers(
        spec in world_spec(),
        msgs in prop::collection::vec(msg_spec(), 1..6),
    ) {
        let (_, dir, messages) = setup(&spec, &msgs);
        let policy = Policy::default_policy();
        for m in &messages {
            let routing = route(&policy, &dir, m);
            let copies = partner_copies(&policy, &dir, m, &routing);
            let told: BTreeSet<_> = routing
                .decisions()
                .iter()
                .flat_map(|d| routing.partners(d).iter().copied())
                .collect();
            prop_assert_eq!(copies.iter().map(|c| c.partner).collect::<BTreeSet<_>>(), told);
            for copy in &copies {
                prop_assert!(!copy.subscriptions.is_empty());
                for s in &copy.subscriptions {
                    prop_assert!(dir.subscription(*s).has_partner(copy.partner));
                }
                let owners: BTreeSet<_> = copy.subscriptions.iter().map(|s| dir.subscription(*s).customer).collect();
                let customers: BTreeSet<_> = copy.customers.iter().copied().collect();
                prop_assert_eq!(customers.len(), copy.customers.len(), "no customer twice");
                prop_assert_eq!(customers, owners);
                let own = dir.partner(copy.partner).contacts.clone();
                prop_assert!(copy.readers.iter().all(|r| own.contains(&r.contact.0)));
            }
        }
    }

    #[test]
    fn no_decision_crosses_clouds(
        spec in world_spec(),
        msgs in prop::collection::vec(msg_spec(), 1..6),
    ) {
        let (_, dir, messages) = setup(&spec, &msgs);
        let policy = Policy::default_policy();
        for m in &messages {
            let routing = route(&policy, &dir, m);
            for d in routing.decisions() {
                prop_assert_eq!(dir.customer(d.customer).cloud, m.cloud);
                for p in routing.partners(d) {
                    prop_assert_eq!(dir.partner(*p).cloud, m.cloud);
                }
                for s in routing.subscriptions(d) {
                    prop_assert_eq!(dir.subscription_cloud(*s), m.cloud);
                }
            }
            for copy in partner_copies(&policy, &dir, m, &routing) {
                prop_assert_eq!(dir.partner(copy.partner).cloud, m.cloud);
            }
        }
    }

    #[test]
    fn the_report_is_byte_identical_whatever_the_order_of_the_worlds_records(
        spec in world_spec(),
        msgs in prop::collection::vec(msg_spec(), 1..6),
        seed in any::<u64>(),
    ) {
        let (w, dir, messages) = setup(&spec, &msgs);
        let policy = Policy::default_policy();
        let other = Directory::build(shuffled(&w, seed)).expect("the same world, reordered");
        let mut r = Shuffler(Rng(seed ^ 0x5EED));
        for m in &messages {
            let mut wm = m.wire.clone();
            // The message's own lists, reordered too.
            if let Some(list) = &mut wm.subscriptions {
                r.shuffle(list);
            }
            if let Some(list) = &mut wm.products {
                r.shuffle(list);
            }
            if let Some(list) = &mut wm.services {
                r.shuffle(list);
            }
            if let Some(list) = &mut wm.customers {
                r.shuffle(list);
            }
            let again = Message::parse(wm, &policy, &other).expect("still valid");
            let before = serde_json::to_string(&report(&policy, &dir, m, &route(&policy, &dir, m))).unwrap();
            let after = serde_json::to_string(&report(&policy, &other, &again, &route(&policy, &other, &again))).unwrap();
            prop_assert_eq!(before, after);
        }
    }

    #[test]
    fn every_decision_names_a_rule_of_the_policy(
        spec in world_spec(),
        msgs in prop::collection::vec(msg_spec(), 1..6),
    ) {
        let (_, dir, messages) = setup(&spec, &msgs);
        let policy = Policy::default_policy();
        let ids: Vec<&str> = policy.rules().iter().map(|r| r.id.as_str()).collect();
        for m in &messages {
            let category = policy.category(m.category);
            let routing = route(&policy, &dir, m);
            for d in routing.decisions() {
                prop_assert!((d.customer_rule.0 as usize) < ids.len());
                prop_assert!((d.partners_rule.0 as usize) < ids.len());
                let expected = if d.direct { category.direct_rule } else { category.indirect_rule };
                prop_assert_eq!(d.customer_rule, expected);
                prop_assert_eq!(d.partners_rule, category.partners_rule);
                let customer_rule = policy.rule(d.customer_rule).id.as_str();
                prop_assert!(["R1", "R2", "R3", "R4"].contains(&customer_rule));
            }
            let reported = report(&policy, &dir, m, &routing);
            for d in &reported.decisions {
                for id in [&d.rules.scope, &d.rules.customer, &d.rules.partners] {
                    prop_assert!(ids.contains(&id.as_str()), "{} is not a rule", id);
                }
            }
        }
    }

    #[test]
    fn an_update_reaches_its_threads_audience_and_its_own_in_its_cloud_only(
        spec in world_spec(),
        msgs in prop::collection::vec(msg_spec(), 2..6),
    ) {
        let (_, dir, messages) = setup(&spec, &msgs);
        let policy = Policy::default_policy();
        // Everyone every message reached, in any cloud: what an earlier update may have
        // reached before the directory changed.
        let mut heard: BTreeMap<_, (bool, BTreeSet<_>)> = BTreeMap::new();
        for m in &messages {
            let routing = route(&policy, &dir, m);
            for d in routing.decisions() {
                let entry = heard.entry(d.customer).or_default();
                entry.0 |= d.direct;
                entry.1.extend(routing.partners(d).iter().copied());
            }
        }
        let before: Vec<Reached> = heard
            .iter()
            .map(|(c, (direct, partners))| Reached {
                customer: *c,
                direct: *direct,
                partners: partners.iter().copied().collect(),
            })
            .collect();
        for m in &messages {
            if policy.category(m.category).thread_rule.is_none() {
                continue;
            }
            let mut wire = m.wire.clone();
            wire.thread = Some("incident".into());
            wire.status = Some(wire::ThreadStatus::Monitoring);
            let update = Message::parse(wire, &policy, &dir).expect("still valid");
            let own = route(&policy, &dir, &update);
            let widened = route_update(&policy, &dir, &update, &before);
            let customers: Vec<_> = widened.decisions().iter().map(|d| d.customer).collect();
            prop_assert!(customers.windows(2).all(|w| w[0] < w[1]), "sorted, each customer once");
            for d in widened.decisions() {
                prop_assert_eq!(dir.customer(d.customer).cloud, update.cloud);
                for p in widened.partners(d) {
                    prop_assert_eq!(dir.partner(*p).cloud, update.cloud);
                }
            }
            let reaches = |customer, direct: bool, partners: &[_]| {
                widened.decision_for(customer).is_some_and(|d| {
                    (d.direct || !direct) && partners.iter().all(|p| widened.partners(d).contains(p))
                })
            };
            for d in own.decisions() {
                prop_assert!(reaches(d.customer, d.direct, own.partners(d)));
            }
            for r in &before {
                if dir.customer(r.customer).cloud == update.cloud && (r.direct || !r.partners.is_empty()) {
                    prop_assert!(reaches(r.customer, r.direct, &r.partners));
                }
            }
        }
    }
}
