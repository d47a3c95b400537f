//! The directory: partners, customers, agreements, products, subscriptions and contacts.
//!
//! A [`Directory`] is built once from a [`wire::World`] and is valid by construction: every
//! rule of POLICY.md's "A valid directory" is checked in [`Directory::build`], which refuses
//! the whole world and names each offending record and field. Records are sorted by id and
//! numbered, so a directory built from the same records in any order is the same directory,
//! and subscriptions are grouped by customer so routing walks them as arrays.

use std::fmt;
use std::ops::Range;

use crate::ids::{
    CloudId, CloudIx, ContactId, ContactIx, CustomerId, CustomerIx, PartnerId, PartnerIx,
    ProductId, ProductIx, RegionIx, ServiceId, ServiceIx, SubscriptionId, SubscriptionIx,
};
use crate::wire::{self, AgreementKind, PartnerKind, Role, Status};

/// A set of contact roles, one bit per [`Role`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoleSet(u8);

impl RoleSet {
    /// Whether the set holds `role`.
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        RoleSet(iter.into_iter().fold(0, |bits, r| bits | r.bit()))
    }
}

/// A product of the shared catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub id: ProductId,
    pub name: Option<String>,
    /// Sorted, without repeats.
    pub services: Vec<ServiceIx>,
}

/// A partner organisation of one cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct Partner {
    pub id: PartnerId,
    pub kind: PartnerKind,
    pub name: Option<String>,
    pub cloud: CloudIx,
    pub locale: Option<String>,
    pub contacts: Range<u32>,
}

/// A customer (tenant) of one cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub id: CustomerId,
    pub name: Option<String>,
    pub cloud: CloudIx,
    /// Sorted, without repeats.
    pub agreements: Vec<AgreementKind>,
    pub locale: Option<String>,
    pub contacts: Range<u32>,
    /// The customer's subscriptions: a range of [`SubscriptionIx`].
    pub subscriptions: Range<u32>,
}

/// Who a subscription is held through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holding {
    /// Sold by a partner of record, and in the indirect model through a reseller.
    Csp {
        partner: PartnerIx,
        reseller: Option<PartnerIx>,
    },
    /// Held directly under one of the customer's agreements.
    Direct(AgreementKind),
}

/// A customer's holding of one product.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub customer: CustomerIx,
    pub product: ProductIx,
    pub holding: Holding,
    pub status: Status,
    regions: Range<u32>,
}

impl Subscription {
    /// Whether the subscription is held directly (not CSP).
    pub fn is_direct(&self) -> bool {
        matches!(self.holding, Holding::Direct(_))
    }

    /// The subscription's partners: its partner of record and, if any, its reseller.
    pub fn partners(&self) -> impl Iterator<Item = PartnerIx> {
        let (partner, reseller) = match self.holding {
            Holding::Csp { partner, reseller } => (Some(partner), reseller),
            Holding::Direct(_) => (None, None),
        };
        partner.into_iter().chain(reseller)
    }

    /// Whether `partner` is one of the subscription's partners.
    pub fn has_partner(&self, partner: PartnerIx) -> bool {
        self.partners().any(|p| p == partner)
    }
}

/// A contact of a partner or customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub email: String,
    pub roles: RoleSet,
    pub locale: Option<String>,
    pub product_news: bool,
}

/// One reason a world was refused: the record, the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The kind of record: `product`, `partner`, `customer`, `contact`, `subscription`.
    pub kind: &'static str,
    /// The record's id.
    pub id: String,
    /// The offending field.
    pub field: &'static str,
    /// What is wrong, in words a person can act on.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} \"{}\", field `{}`: {}",
            self.kind, self.id, self.field, self.what
        )
    }
}

/// A refused world, with every problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DirectoryError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the directory is invalid and nothing of it was used ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

/// A valid directory of every cloud.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Directory {
    clouds: Vec<CloudId>,
    products: Vec<Product>,
    services: Vec<ServiceId>,
    service_products: Vec<Vec<ProductIx>>,
    partners: Vec<Partner>,
    customers: Vec<Customer>,
    subscriptions: Vec<Subscription>,
    subscriptions_by_id: Vec<SubscriptionIx>,
    product_subscriptions: Vec<Vec<SubscriptionIx>>,
    regions: Vec<String>,
    region_pool: Vec<RegionIx>,
    contacts: Vec<Contact>,
}

fn sort_by_id<T>(records: &mut [T], id: impl Fn(&T) -> &str) {
    records.sort_unstable_by(|a, b| id(a).cmp(id(b)));
}

fn find<T>(records: &[T], id: impl Fn(&T) -> &str, wanted: &str) -> Option<u32> {
    records
        .binary_search_by(|r| id(r).cmp(wanted))
        .ok()
        .map(|i| i as u32)
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, kind: &'static str, id: &str, field: &'static str, what: String) {
        self.0.push(Problem {
            kind,
            id: id.to_owned(),
            field,
            what,
        });
    }

    fn repeated<T>(&mut self, kind: &'static str, sorted: &[T], id: impl Fn(&T) -> &str) {
        for pair in sorted.windows(2) {
            if id(&pair[0]) == id(&pair[1]) {
                self.add(
                    kind,
                    id(&pair[0]),
                    "id",
                    format!("the id is used by more than one {kind}; ids must be unique"),
                );
            }
        }
        for r in sorted {
            if id(r).trim().is_empty() {
                self.add(kind, id(r), "id", "the id must not be empty".into());
            }
        }
    }
}

impl Directory {
    /// Builds a directory from a world, or refuses it whole with every problem found.
    pub fn build(world: wire::World) -> Result<Directory, DirectoryError> {
        let mut problems = Problems(Vec::new());
        let wire::World {
            mut products,
            mut partners,
            mut customers,
            mut subscriptions,
        } = world;

        sort_by_id(&mut products, |p| p.id.as_str());
        problems.repeated("product", &products, |p| p.id.as_str());
        sort_by_id(&mut partners, |p| p.id.as_str());
        problems.repeated("partner", &partners, |p| p.id.as_str());
        sort_by_id(&mut customers, |c| c.id.as_str());
        problems.repeated("customer", &customers, |c| c.id.as_str());
        sort_by_id(&mut subscriptions, |s| s.id.as_str());
        problems.repeated("subscription", &subscriptions, |s| s.id.as_str());

        let mut clouds: Vec<CloudId> = std::iter::once(CloudId::global())
            .chain(partners.iter().filter_map(|p| p.cloud.clone()))
            .chain(customers.iter().filter_map(|c| c.cloud.clone()))
            .collect();
        clouds.sort_unstable();
        clouds.dedup();
        let cloud_ix = |cloud: &Option<CloudId>| -> CloudIx {
            let name = cloud.as_ref().map_or("global", |c| c.as_str());
            CloudIx(find(&clouds, |c| c.as_str(), name).expect("every cloud is interned"))
        };

        let mut services: Vec<ServiceId> = products
            .iter()
            .flat_map(|p| p.services.iter().cloned())
            .collect();
        services.sort_unstable();
        services.dedup();
        let products: Vec<Product> = products
            .into_iter()
            .map(|p| {
                let mut ixs: Vec<ServiceIx> = p
                    .services
                    .iter()
                    .map(|s| {
                        ServiceIx(find(&services, |x| x.as_str(), s.as_str()).expect("interned"))
                    })
                    .collect();
                ixs.sort_unstable();
                ixs.dedup();
                Product {
                    id: p.id,
                    name: p.name,
                    services: ixs,
                }
            })
            .collect();
        let mut service_products = vec![Vec::new(); services.len()];
        for (i, p) in products.iter().enumerate() {
            for s in &p.services {
                service_products[s.get()].push(ProductIx(i as u32));
            }
        }

        let mut contacts: Vec<Contact> = Vec::new();
        let mut take_contacts = |mut list: Vec<wire::Contact>| -> Range<u32> {
            sort_by_id(&mut list, |c| c.id.as_str());
            let start = contacts.len() as u32;
            contacts.extend(list.into_iter().map(|c| Contact {
                roles: c.roles.iter().copied().collect(),
                id: c.id,
                name: c.name,
                email: c.email,
                locale: c.locale,
                product_news: c.product_news,
            }));
            start..contacts.len() as u32
        };
        let partners: Vec<Partner> = partners
            .into_iter()
            .map(|p| Partner {
                cloud: cloud_ix(&p.cloud),
                contacts: take_contacts(p.contacts),
                id: p.id,
                kind: p.kind,
                name: p.name,
                locale: p.locale,
            })
            .collect();
        let customers_wire_agreements: Vec<Vec<AgreementKind>> = customers
            .iter()
            .map(|c| {
                let mut a = c.agreements.clone();
                a.sort_unstable();
                a.dedup();
                a
            })
            .collect();
        let mut customers: Vec<Customer> = customers
            .into_iter()
            .zip(customers_wire_agreements)
            .map(|(c, agreements)| Customer {
                cloud: cloud_ix(&c.cloud),
                contacts: take_contacts(c.contacts),
                id: c.id,
                name: c.name,
                agreements,
                locale: c.locale,
                subscriptions: 0..0,
            })
            .collect();
        for c in &contacts {
            if c.email.trim().is_empty() {
                problems.add(
                    "contact",
                    c.id.as_str(),
                    "email",
                    "the contact has no email address".into(),
                );
            }
            if c.email.contains(['\r', '\n']) || c.name.contains(['\r', '\n']) {
                problems.add(
                    "contact",
                    c.id.as_str(),
                    "email",
                    "a contact's name and email must be one line each".into(),
                );
            }
        }
        let mut contact_ids: Vec<&str> = contacts.iter().map(|c| c.id.as_str()).collect();
        contact_ids.sort_unstable();
        problems.repeated("contact", &contact_ids, |c| c);

        let mut region_names: Vec<&str> = subscriptions
            .iter()
            .flat_map(|s| s.regions.iter().map(String::as_str))
            .collect();
        region_names.sort_unstable();
        region_names.dedup();
        let regions: Vec<String> = region_names.into_iter().map(str::to_owned).collect();
        let mut region_pool = Vec::new();

        let mut subs: Vec<Subscription> = Vec::with_capacity(subscriptions.len());
        for s in subscriptions {
            let sid = s.id.as_str();
            let customer = find(&customers, |c| c.id.as_str(), s.customer.as_str());
            let product = find(&products, |p| p.id.as_str(), s.product.as_str());
            if customer.is_none() {
                problems.add(
                    "subscription",
                    sid,
                    "customer",
                    format!(
                        "names customer \"{}\", which is not in the directory",
                        s.customer
                    ),
                );
            }
            if product.is_none() {
                problems.add(
                    "subscription",
                    sid,
                    "product",
                    format!(
                        "names product \"{}\", which is not in the catalog",
                        s.product
                    ),
                );
            }
            let cust = customer.map(|c| &customers[c as usize]);
            if let (Some(cust), Some(cloud)) = (cust, &s.cloud) {
                if clouds[cust.cloud.get()] != *cloud {
                    problems.add("subscription", sid, "cloud", format!(
                        "states cloud \"{cloud}\", but its customer \"{}\" is in cloud \"{}\"; a subscription belongs to its customer's cloud",
                        cust.id, clouds[cust.cloud.get()]));
                }
            }
            let partner_of = |problems: &mut Problems,
                              field: &'static str,
                              id: &PartnerId|
             -> Option<PartnerIx> {
                let Some(ix) = find(&partners, |p| p.id.as_str(), id.as_str()) else {
                    problems.add(
                        "subscription",
                        sid,
                        field,
                        format!("names {field} \"{id}\", which is not in the directory"),
                    );
                    return None;
                };
                let p = &partners[ix as usize];
                if let Some(cust) = cust {
                    if p.cloud != cust.cloud {
                        problems.add("subscription", sid, field, format!(
                            "names {field} \"{id}\" of cloud \"{}\", but its customer \"{}\" is in cloud \"{}\"; clouds never mix",
                            clouds[p.cloud.get()], cust.id, clouds[cust.cloud.get()]));
                    }
                }
                Some(PartnerIx(ix))
            };
            let holding = match (&s.partner, s.agreement) {
                (Some(_), Some(_)) => {
                    problems.add("subscription", sid, "agreement", "names both a `partner` and an `agreement`; a subscription is either CSP (partner) or direct (agreement)".into());
                    None
                }
                (None, None) => {
                    problems.add("subscription", sid, "partner", "names neither a `partner` nor an `agreement`; a subscription is either CSP (partner) or direct (agreement)".into());
                    None
                }
                (None, Some(agreement)) => {
                    if let Some(r) = &s.reseller {
                        problems.add("subscription", sid, "reseller", format!("names reseller \"{r}\" on a direct subscription; only CSP subscriptions have resellers"));
                    }
                    if let Some(cust) = cust {
                        if !cust.agreements.contains(&agreement) {
                            problems.add(
                                "subscription",
                                sid,
                                "agreement",
                                format!(
                                    "names agreement `{}`, which its customer \"{}\" does not hold",
                                    agreement.as_str(),
                                    cust.id
                                ),
                            );
                        }
                    }
                    Some(Holding::Direct(agreement))
                }
                (Some(partner), None) => {
                    let p = partner_of(&mut problems, "partner", partner);
                    let kind = p.map(|p| partners[p.get()].kind);
                    if let Some(kind) = kind {
                        if !matches!(
                            kind,
                            PartnerKind::DirectBill | PartnerKind::IndirectProvider
                        ) {
                            problems.add("subscription", sid, "partner", format!(
                                "names partner \"{partner}\", a `{}`; the partner of record must be `direct_bill` or `indirect_provider`", kind.as_str()));
                        }
                    }
                    let r = s.reseller.as_ref().and_then(|r| {
                        let ix = partner_of(&mut problems, "reseller", r)?;
                        let rkind = partners[ix.get()].kind;
                        if rkind != PartnerKind::IndirectReseller {
                            problems.add("subscription", sid, "reseller", format!(
                                "names reseller \"{r}\", a `{}`; a reseller must be an `indirect_reseller`", rkind.as_str()));
                        }
                        if kind == Some(PartnerKind::DirectBill) {
                            problems.add("subscription", sid, "reseller", format!(
                                "names reseller \"{r}\" with `direct_bill` partner \"{partner}\"; resellers sell only through an `indirect_provider`"));
                        }
                        Some(ix)
                    });
                    p.map(|partner| Holding::Csp {
                        partner,
                        reseller: r,
                    })
                }
            };
            let (Some(customer), Some(product), Some(holding)) = (customer, product, holding)
            else {
                continue;
            };
            let start = region_pool.len() as u32;
            let mut rs: Vec<RegionIx> = s
                .regions
                .iter()
                .map(|r| RegionIx(find(&regions, |x| x.as_str(), r).expect("interned")))
                .collect();
            rs.sort_unstable();
            rs.dedup();
            region_pool.extend(rs);
            subs.push(Subscription {
                id: s.id,
                customer: CustomerIx(customer),
                product: ProductIx(product),
                holding,
                status: s.status,
                regions: start..region_pool.len() as u32,
            });
        }
        if !problems.0.is_empty() {
            return Err(DirectoryError {
                problems: problems.0,
            });
        }

        // Subscriptions arrive sorted by id; a stable sort by customer groups them.
        subs.sort_by_key(|s| s.customer);
        let mut subscriptions_by_id: Vec<SubscriptionIx> =
            (0..subs.len() as u32).map(SubscriptionIx).collect();
        subscriptions_by_id.sort_unstable_by(|a, b| subs[a.get()].id.cmp(&subs[b.get()].id));
        let mut product_subscriptions = vec![Vec::new(); products.len()];
        let mut next = 0usize;
        for (ci, c) in customers.iter_mut().enumerate() {
            let start = next;
            while next < subs.len() && subs[next].customer.get() == ci {
                product_subscriptions[subs[next].product.get()].push(SubscriptionIx(next as u32));
                next += 1;
            }
            c.subscriptions = start as u32..next as u32;
        }

        Ok(Directory {
            clouds,
            products,
            services,
            service_products,
            partners,
            customers,
            subscriptions: subs,
            subscriptions_by_id,
            product_subscriptions,
            regions,
            region_pool,
            contacts,
        })
    }

    /// Every cloud named by a record, and `global`, sorted.
    pub fn clouds(&self) -> &[CloudId] {
        &self.clouds
    }

    /// A cloud by id.
    pub fn cloud_ix(&self, id: &str) -> Option<CloudIx> {
        find(&self.clouds, |c| c.as_str(), id).map(CloudIx)
    }

    /// A cloud's id.
    pub fn cloud(&self, ix: CloudIx) -> &CloudId {
        &self.clouds[ix.get()]
    }

    /// The catalog, sorted by id.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// A product by position.
    pub fn product(&self, ix: ProductIx) -> &Product {
        &self.products[ix.get()]
    }

    /// A product by id.
    pub fn product_ix(&self, id: &str) -> Option<ProductIx> {
        find(&self.products, |p| p.id.as_str(), id).map(ProductIx)
    }

    /// The subscriptions of a product, in (customer, id) order.
    pub fn product_subscriptions(&self, ix: ProductIx) -> &[SubscriptionIx] {
        &self.product_subscriptions[ix.get()]
    }

    /// Every service of the catalog, sorted.
    pub fn services(&self) -> &[ServiceId] {
        &self.services
    }

    /// A service by id.
    pub fn service_ix(&self, id: &str) -> Option<ServiceIx> {
        find(&self.services, |s| s.as_str(), id).map(ServiceIx)
    }

    /// A service's id.
    pub fn service(&self, ix: ServiceIx) -> &ServiceId {
        &self.services[ix.get()]
    }

    /// The products that contain a service.
    pub fn service_products(&self, ix: ServiceIx) -> &[ProductIx] {
        &self.service_products[ix.get()]
    }

    /// Every partner, sorted by id.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }

    /// A partner by position.
    pub fn partner(&self, ix: PartnerIx) -> &Partner {
        &self.partners[ix.get()]
    }

    /// A partner by id, in any cloud.
    pub fn partner_ix(&self, id: &str) -> Option<PartnerIx> {
        find(&self.partners, |p| p.id.as_str(), id).map(PartnerIx)
    }

    /// Every customer, sorted by id.
    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }

    /// A customer by position.
    pub fn customer(&self, ix: CustomerIx) -> &Customer {
        &self.customers[ix.get()]
    }

    /// A customer by id, in any cloud.
    pub fn customer_ix(&self, id: &str) -> Option<CustomerIx> {
        find(&self.customers, |c| c.id.as_str(), id).map(CustomerIx)
    }

    /// Every subscription, grouped by customer.
    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }

    /// A subscription by position.
    pub fn subscription(&self, ix: SubscriptionIx) -> &Subscription {
        &self.subscriptions[ix.get()]
    }

    /// A subscription by id, in any cloud.
    pub fn subscription_ix(&self, id: &str) -> Option<SubscriptionIx> {
        self.subscriptions_by_id
            .binary_search_by(|s| self.subscriptions[s.get()].id.as_str().cmp(id))
            .ok()
            .map(|i| self.subscriptions_by_id[i])
    }

    /// The subscriptions of a customer, as positions.
    pub fn customer_subscriptions(&self, ix: CustomerIx) -> impl Iterator<Item = SubscriptionIx> {
        self.customers[ix.get()]
            .subscriptions
            .clone()
            .map(SubscriptionIx)
    }

    /// The cloud a subscription belongs to: its customer's.
    pub fn subscription_cloud(&self, ix: SubscriptionIx) -> CloudIx {
        self.customers[self.subscriptions[ix.get()].customer.get()].cloud
    }

    /// A region's name.
    pub fn region(&self, ix: RegionIx) -> &str {
        &self.regions[ix.get()]
    }

    /// How many distinct regions subscriptions list.
    pub fn region_count(&self) -> usize {
        self.regions.len()
    }

    /// A region by name.
    pub fn region_ix(&self, name: &str) -> Option<RegionIx> {
        find(&self.regions, |r| r.as_str(), name).map(RegionIx)
    }

    /// The regions a subscription lists, sorted; empty means it runs in any region.
    pub fn subscription_regions(&self, sub: &Subscription) -> &[RegionIx] {
        &self.region_pool[sub.regions.start as usize..sub.regions.end as usize]
    }

    /// Contacts by range, as stored on a partner or customer.
    pub fn contacts(&self, range: &Range<u32>) -> &[Contact] {
        &self.contacts[range.start as usize..range.end as usize]
    }

    /// A contact by position.
    pub fn contact(&self, ix: ContactIx) -> &Contact {
        &self.contacts[ix.get()]
    }

    /// Turns the directory back into the world format (records sorted by id).
    pub fn to_world(&self) -> wire::World {
        let contacts = |range: &Range<u32>| -> Vec<wire::Contact> {
            self.contacts(range)
                .iter()
                .map(|c| wire::Contact {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    email: c.email.clone(),
                    roles: [Role::Admin, Role::Billing, Role::Technical, Role::Support]
                        .into_iter()
                        .filter(|r| c.roles.contains(*r))
                        .collect(),
                    locale: c.locale.clone(),
                    product_news: c.product_news,
                })
                .collect()
        };
        let cloud = |ix: CloudIx| Some(self.cloud(ix).clone()).filter(|c| *c != CloudId::global());
        let mut subscriptions: Vec<wire::Subscription> = self
            .subscriptions
            .iter()
            .map(|s| {
                let (partner, reseller, agreement) = match s.holding {
                    Holding::Csp { partner, reseller } => (
                        Some(self.partner(partner).id.clone()),
                        reseller.map(|r| self.partner(r).id.clone()),
                        None,
                    ),
                    Holding::Direct(a) => (None, None, Some(a)),
                };
                wire::Subscription {
                    id: s.id.clone(),
                    customer: self.customer(s.customer).id.clone(),
                    product: self.product(s.product).id.clone(),
                    partner,
                    reseller,
                    agreement,
                    status: s.status,
                    regions: self
                        .subscription_regions(s)
                        .iter()
                        .map(|r| self.region(*r).to_owned())
                        .collect(),
                    cloud: None,
                }
            })
            .collect();
        sort_by_id(&mut subscriptions, |s| s.id.as_str());
        wire::World {
            products: self
                .products
                .iter()
                .map(|p| wire::Product {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    services: p
                        .services
                        .iter()
                        .map(|s| self.service(*s).clone())
                        .collect(),
                })
                .collect(),
            partners: self
                .partners
                .iter()
                .map(|p| wire::Partner {
                    id: p.id.clone(),
                    kind: p.kind,
                    name: p.name.clone(),
                    cloud: cloud(p.cloud),
                    locale: p.locale.clone(),
                    contacts: contacts(&p.contacts),
                })
                .collect(),
            customers: self
                .customers
                .iter()
                .map(|c| wire::Customer {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    cloud: cloud(c.cloud),
                    agreements: c.agreements.clone(),
                    locale: c.locale.clone(),
                    contacts: contacts(&c.contacts),
                })
                .collect(),
            subscriptions,
        }
    }
}
