//! Seeded synthetic directories for the demo and the benchmarks.
//!
//! [`world`] makes a realistic directory of any size from a seed: two clouds, direct-bill
//! partners, distributors with their resellers, advisors, customers in several locales,
//! some holding direct agreements, subscriptions of both kinds in several regions, and
//! contacts with roles. The same options always give the same world.

use crate::ids::{CloudId, ContactId, CustomerId, PartnerId, ProductId, ServiceId, SubscriptionId};
use crate::wire::{
    AgreementKind, Contact, Customer, Partner, PartnerKind, Product, Role, Status, Subscription,
    World,
};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub customers: usize,
    pub seed: u64,
    /// Names and second contacts; off for the largest benchmarks to save memory.
    pub detailed: bool,
}

/// A small, fast, seeded generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The catalog every synthetic world shares.
pub const CATALOG: [(&str, &str, &[&str]); 8] = [
    (
        "m365-e3",
        "Microsoft 365 E3",
        &["exchange", "sharepoint", "teams"],
    ),
    (
        "m365-bp",
        "Microsoft 365 Business Premium",
        &["exchange", "teams", "intune"],
    ),
    ("azure-plan", "Azure plan", &["compute", "storage", "sql"]),
    ("dynamics-sales", "Dynamics 365 Sales", &["dynamics-crm"]),
    ("defender-ep", "Defender for Endpoint", &["defender"]),
    ("power-bi", "Power BI Pro", &["power-bi"]),
    ("teams-phone", "Teams Phone", &["teams", "voice"]),
    ("entra-p1", "Entra ID P1", &["identity"]),
];

const LOCALES: [&str; 9] = [
    "en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "ru-RU", "es-ES", "pt-BR", "it-IT",
];
const REGIONS: [&str; 3] = ["us", "eu", "apac"];
const NAMES: [&str; 12] = [
    "Contoso",
    "Fabrikam",
    "Adatum",
    "Litware",
    "Northwind",
    "Tailspin",
    "Wingtip",
    "Proseware",
    "Alpine",
    "Bellows",
    "Coho",
    "Humongous",
];
const SUFFIXES: [&str; 6] = ["Ltd", "GmbH", "SA", "Inc", "KK", "Group"];

/// Generates a world with `options.customers` customers and about three subscriptions each.
pub fn world(options: Options) -> World {
    let mut rng = Rng(options.seed);
    let n = options.customers.max(1);
    let products: Vec<Product> = CATALOG
        .iter()
        .map(|(id, name, services)| Product {
            id: ProductId::from(*id),
            name: Some((*name).to_owned()),
            services: services.iter().map(|s| ServiceId::from(*s)).collect(),
        })
        .collect();

    let clouds = [("global", ""), ("us-gov", "gov-")];
    let mut partners = Vec::new();
    // Per cloud: (direct-bill ids, (provider, its resellers) ids).
    let mut channels: Vec<(Vec<usize>, Vec<(usize, Vec<usize>)>)> = Vec::new();
    for (ci, (cloud, prefix)) in clouds.iter().enumerate() {
        let scale = if ci == 0 { n } else { n / 20 };
        let cloud_id = (ci > 0).then(|| CloudId::from(*cloud));
        let partner =
            |rng: &mut Rng, kind: PartnerKind, id: String, partners: &mut Vec<Partner>| -> usize {
                let locale = LOCALES[rng.below(LOCALES.len())];
                let domain = format!("{id}.example");
                partners.push(Partner {
                    name: options
                        .detailed
                        .then(|| format!("{} {}", NAMES[rng.below(NAMES.len())], id)),
                    contacts: vec![Contact {
                        id: ContactId(format!("{id}-desk")),
                        name: format!("{id} partner desk"),
                        email: format!("desk@{domain}"),
                        roles: vec![Role::Admin, Role::Billing, Role::Support],
                        locale: Some(locale.to_owned()),
                        product_news: false,
                    }],
                    id: PartnerId(id),
                    kind,
                    cloud: cloud_id.clone(),
                    locale: Some(locale.to_owned()),
                });
                partners.len() - 1
            };
        let direct: Vec<usize> = (0..(scale / 400).max(2))
            .map(|i| {
                partner(
                    &mut rng,
                    PartnerKind::DirectBill,
                    format!("{prefix}db{i:04}"),
                    &mut partners,
                )
            })
            .collect();
        let mut providers = Vec::new();
        for i in 0..(scale / 5000).max(2) {
            let p = partner(
                &mut rng,
                PartnerKind::IndirectProvider,
                format!("{prefix}dist{i:03}"),
                &mut partners,
            );
            let resellers = (0..(scale / 1000).max(2))
                .map(|j| {
                    partner(
                        &mut rng,
                        PartnerKind::IndirectReseller,
                        format!("{prefix}rs{i:03}-{j:04}"),
                        &mut partners,
                    )
                })
                .collect();
            providers.push((p, resellers));
        }
        for i in 0..(scale / 2000).max(1) {
            partner(
                &mut rng,
                PartnerKind::Advisor,
                format!("{prefix}adv{i:03}"),
                &mut partners,
            );
        }
        channels.push((direct, providers));
    }

    let mut customers = Vec::with_capacity(n);
    let mut subscriptions = Vec::with_capacity(n * 3);
    for i in 0..n {
        let ci = usize::from(i % 20 == 19);
        let (_, prefix) = clouds[ci];
        let id = format!("{prefix}t{i:07}");
        let locale = LOCALES[rng.below(LOCALES.len())];
        let mut agreements = Vec::new();
        if rng.chance(25) {
            agreements.push(AgreementKind::ALL[rng.below(3)]);
        }
        let mut contacts = vec![Contact {
            id: ContactId(format!("{id}-admin")),
            name: format!("{id} administrator"),
            email: format!("admin@{id}.example"),
            roles: if options.detailed {
                vec![Role::Admin]
            } else {
                vec![Role::Admin, Role::Billing, Role::Technical]
            },
            locale: rng.chance(70).then(|| locale.to_owned()),
            product_news: rng.chance(40),
        }];
        if options.detailed {
            contacts.push(Contact {
                id: ContactId(format!("{id}-ops")),
                name: format!("{id} operations"),
                email: format!("ops@{id}.example"),
                roles: vec![Role::Technical, Role::Billing],
                locale: None,
                product_news: false,
            });
        }
        let region = if ci == 1 {
            "usgov"
        } else {
            REGIONS[rng.below(REGIONS.len())]
        };
        let (direct_bill, providers) = &channels[ci];
        let count = 1 + rng.below(5);
        let first = rng.below(CATALOG.len());
        for k in 0..count {
            let product = CATALOG[(first + k) % CATALOG.len()].0;
            let mut sub = Subscription {
                id: SubscriptionId(format!("{id}-{k}")),
                customer: CustomerId(id.clone()),
                product: ProductId::from(product),
                partner: None,
                reseller: None,
                agreement: None,
                status: match rng.below(50) {
                    0 => Status::Suspended,
                    1 => Status::Deleted,
                    _ => Status::Active,
                },
                regions: if rng.chance(10) {
                    Vec::new()
                } else {
                    vec![region.to_owned()]
                },
                cloud: None,
            };
            if !agreements.is_empty() && (k == 0 || rng.chance(30)) {
                sub.agreement = Some(agreements[0]);
            } else if rng.chance(50) {
                sub.partner = Some(
                    partners[direct_bill[(i / 7 + k) % direct_bill.len()]]
                        .id
                        .clone(),
                );
            } else {
                let (p, resellers) = &providers[(i / 11) % providers.len()];
                sub.partner = Some(partners[*p].id.clone());
                sub.reseller = Some(partners[resellers[(i / 3) % resellers.len()]].id.clone());
            }
            subscriptions.push(sub);
        }
        customers.push(Customer {
            id: CustomerId(id),
            name: options.detailed.then(|| {
                format!(
                    "{} {}",
                    NAMES[rng.below(NAMES.len())],
                    SUFFIXES[rng.below(SUFFIXES.len())]
                )
            }),
            cloud: (ci > 0).then(|| CloudId::from(clouds[ci].0)),
            agreements,
            locale: Some(locale.to_owned()),
            contacts,
        });
    }
    World {
        products,
        partners,
        customers,
        subscriptions,
    }
}
