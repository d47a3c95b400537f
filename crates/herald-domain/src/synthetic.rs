//! Seeded synthetic directories for the demo and the benchmarks.
//!
//! [`generate`] makes a realistic directory of any size from a seed: two clouds,
//! direct-bill partners, distributors with their resellers, advisors, customers in several
//! locales, some holding direct agreements, subscriptions of both kinds in several regions,
//! and contacts with roles. The same options always give the same records. [`world`]
//! collects them in the wire format; [`directory`] feeds them straight into a
//! [`DirectoryBuilder`], so a million customers never exist twice in memory.

use crate::directory::{Directory, DirectoryBuilder, DirectoryError};
use crate::ids::{CloudId, ContactId, CustomerId, PartnerId, ProductId, ServiceId, SubscriptionId};
use crate::wire::{
    AgreementKind, Contact, Customer, Partner, PartnerKind, Product, Role, Status, Subscription,
    World,
};

/// Where generated records go, in dependency order.
pub trait Sink {
    fn product(&mut self, p: Product);
    fn partner(&mut self, p: Partner);
    fn customer(&mut self, c: Customer);
    fn subscription(&mut self, s: Subscription);
}

impl Sink for World {
    fn product(&mut self, p: Product) {
        self.products.push(p);
    }
    fn partner(&mut self, p: Partner) {
        self.partners.push(p);
    }
    fn customer(&mut self, c: Customer) {
        self.customers.push(c);
    }
    fn subscription(&mut self, s: Subscription) {
        self.subscriptions.push(s);
    }
}

impl Sink for DirectoryBuilder {
    fn product(&mut self, p: Product) {
        self.add_product(p);
    }
    fn partner(&mut self, p: Partner) {
        self.add_partner(p);
    }
    fn customer(&mut self, c: Customer) {
        self.add_customer(c);
    }
    fn subscription(&mut self, s: Subscription) {
        self.add_subscription(s);
    }
}

/// Generates a world in the wire format.
pub fn world(options: Options) -> World {
    let mut world = World::default();
    generate(options, &mut world);
    world
}

/// Generates a directory record by record, never holding the whole world in memory.
pub fn directory(options: Options) -> Result<Directory, DirectoryError> {
    let mut builder = DirectoryBuilder::new();
    generate(options, &mut builder);
    builder.finish()
}

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub customers: usize,
    pub seed: u64,
    /// Names and second contacts; off for the largest benchmarks to save memory.
    pub detailed: bool,
    /// One customer in twenty in the `us-gov` cloud; off, every customer is `global`.
    pub us_gov: bool,
}

/// A small, fast, seeded generator (SplitMix64): the same seed gives the same numbers.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// Puts `items` in a seeded random order (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
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

/// One cloud's partners by position: the direct-bill partners, and each distributor with
/// its resellers.
type Channels = (Vec<usize>, Vec<(usize, Vec<usize>)>);

/// Generates `options.customers` customers with about three subscriptions each.
pub fn generate<S: Sink>(options: Options, sink: &mut S) {
    let mut rng = Rng(options.seed);
    let n = options.customers.max(1);
    for (id, name, services) in CATALOG {
        sink.product(Product {
            id: ProductId::from(id),
            name: Some(name.to_owned()),
            services: services.iter().map(|s| ServiceId::from(*s)).collect(),
        });
    }

    let clouds = [("global", ""), ("us-gov", "gov-")];
    let mut partners: Vec<PartnerId> = Vec::new();
    let mut channels: Vec<Channels> = Vec::new();
    for (ci, (cloud, prefix)) in clouds
        .iter()
        .enumerate()
        .take(if options.us_gov { 2 } else { 1 })
    {
        let scale = if ci == 0 { n } else { n / 20 };
        let cloud_id = (ci > 0).then(|| CloudId::from(*cloud));
        let partner = |rng: &mut Rng,
                       sink: &mut S,
                       kind: PartnerKind,
                       id: String,
                       partners: &mut Vec<PartnerId>|
         -> usize {
            let locale = LOCALES[rng.below(LOCALES.len())];
            let domain = format!("{id}.example");
            partners.push(PartnerId(id.clone()));
            sink.partner(Partner {
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
                    sink,
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
                sink,
                PartnerKind::IndirectProvider,
                format!("{prefix}dist{i:03}"),
                &mut partners,
            );
            let resellers = (0..(scale / 500).max(2))
                .map(|j| {
                    partner(
                        &mut rng,
                        sink,
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
                sink,
                PartnerKind::Advisor,
                format!("{prefix}adv{i:03}"),
                &mut partners,
            );
        }
        channels.push((direct, providers));
    }

    for i in 0..n {
        let ci = usize::from(options.us_gov && i % 20 == 19);
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
        sink.customer(Customer {
            id: CustomerId(id.clone()),
            name: options.detailed.then(|| {
                format!(
                    "{} {}",
                    NAMES[rng.below(NAMES.len())],
                    SUFFIXES[rng.below(SUFFIXES.len())]
                )
            }),
            cloud: (ci > 0).then(|| CloudId::from(clouds[ci].0)),
            agreements: agreements.clone(),
            advisors: Vec::new(),
            locale: Some(locale.to_owned()),
            contacts,
        });
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
                sub.partner = Some(partners[direct_bill[(i / 7 + k) % direct_bill.len()]].clone());
            } else {
                let (p, resellers) = &providers[(i / 11) % providers.len()];
                sub.partner = Some(partners[*p].clone());
                sub.reseller = Some(partners[resellers[(i / 3) % resellers.len()]].clone());
            }
            sink.subscription(sub);
        }
    }
}
