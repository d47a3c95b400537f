//! Building a directory record by record.
//!
//! [`DirectoryBuilder`] takes records one at a time, so a directory of a million customers
//! can be made without first holding the whole world in memory, and checks every rule of a
//! valid directory as it goes. Records are added in dependency order: products and
//! partners, then customers, then subscriptions (which name them). [`DirectoryBuilder::finish`]
//! sorts everything by id, so the order records arrive in never changes the directory.

use std::collections::HashMap;
use std::ops::Range;

use super::{
    Contact, Customer, Directory, DirectoryError, Holding, Locale, PackedNames, Partner, Problem,
    Product, Subscription,
};
use crate::ids::{
    CloudId, CloudIx, CustomerIx, PartnerIx, ProductIx, RegionIx, ServiceId, ServiceIx,
    SubscriptionIx, EVERY_CLOUD,
};
use crate::limits::{self, shown};
use crate::wire::{self, PartnerKind};

/// The rule every id keeps, as a refusal says it.
const ID_RULE: &str = "an id is 1 to 200 bytes, with no whitespace at either end and no control, bidirectional or zero-width character";

/// Collects records and checks them; see the module documentation.
#[derive(Default)]
pub struct DirectoryBuilder {
    problems: Vec<Problem>,
    clouds: Vec<CloudId>,
    cloud_index: HashMap<String, u32>,
    services: Vec<ServiceId>,
    service_index: HashMap<String, u32>,
    regions: Vec<String>,
    region_index: HashMap<String, u32>,
    products: Vec<Product>,
    product_index: HashMap<String, u32>,
    partners: Vec<Partner>,
    partner_index: HashMap<String, u32>,
    customers: Vec<Customer>,
    customer_index: HashMap<String, u32>,
    subscriptions: Vec<Subscription>,
    region_pool: Vec<RegionIx>,
    contacts: Vec<Contact>,
    locales: HashMap<String, Locale>,
}

/// The position of `name` in `names`, appending it the first time it is seen.
fn intern<T: for<'a> From<&'a str>>(
    names: &mut Vec<T>,
    index: &mut HashMap<String, u32>,
    name: &str,
) -> u32 {
    if let Some(ix) = index.get(name) {
        return *ix;
    }
    let ix = names.len() as u32;
    names.push(T::from(name));
    index.insert(name.to_owned(), ix);
    ix
}

/// The permutation that sorts `ids`: `order[new] = old`, and its inverse `old → new`.
fn sorting<T>(records: &[T], id: impl Fn(&T) -> &str) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<u32> = (0..records.len() as u32).collect();
    order.sort_unstable_by(|a, b| id(&records[*a as usize]).cmp(id(&records[*b as usize])));
    let mut new_of = vec![0u32; records.len()];
    for (new, old) in order.iter().enumerate() {
        new_of[*old as usize] = new as u32;
    }
    (order, new_of)
}

/// Reorders `records` so that `records[new] = old records[order[new]]`, in place.
fn permute<T>(mut records: Vec<T>, order: &[u32]) -> Vec<T> {
    let mut done = vec![false; records.len()];
    for start in 0..records.len() {
        if done[start] {
            continue;
        }
        // Follow the cycle: position `at` takes the record from `order[at]`.
        let mut at = start;
        loop {
            done[at] = true;
            let from = order[at] as usize;
            if from == start {
                break;
            }
            records.swap(at, from);
            at = from;
        }
    }
    records
}

impl DirectoryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        let mut b = Self::default();
        b.cloud(&None);
        b
    }

    fn problem(&mut self, kind: &'static str, id: &str, field: &'static str, what: String) {
        self.problems.push(Problem {
            kind,
            id: shown(id).to_string(),
            field,
            what,
        });
    }

    /// Checks `name`, given in `field` of record `id`, against the rule every id keeps.
    fn check_name(&mut self, kind: &'static str, id: &str, field: &'static str, name: &str) {
        if let Err(refused) = limits::check_id(name) {
            let what = if field == "id" {
                format!("the id is refused: {refused}; {}", ID_RULE)
            } else {
                format!("\"{}\" is refused: {refused}; {}", shown(name), ID_RULE)
            };
            self.problem(kind, id, field, what);
        }
    }

    /// Checks a record's `cloud`: the rule of an id, and not the name that stands for
    /// every cloud.
    fn check_cloud(&mut self, kind: &'static str, id: &str, cloud: &str) {
        self.check_name(kind, id, "cloud", cloud);
        if cloud == EVERY_CLOUD {
            self.problem(
                kind,
                id,
                "cloud",
                format!("\"{EVERY_CLOUD}\" stands for every cloud and names none; name the record's one cloud"),
            );
        }
    }

    fn check_id(&mut self, kind: &'static str, id: &str, seen: bool) {
        self.check_name(kind, id, "id", id);
        if seen {
            self.problem(
                kind,
                id,
                "id",
                format!("the id is used by more than one {kind}; ids must be unique"),
            );
        }
    }

    fn cloud(&mut self, cloud: &Option<CloudId>) -> CloudIx {
        let name = cloud.as_ref().map_or("global", |c| c.as_str());
        CloudIx(intern(&mut self.clouds, &mut self.cloud_index, name))
    }

    fn locale(&mut self, locale: Option<String>) -> Option<Locale> {
        let locale = locale?;
        if let Some(shared) = self.locales.get(&locale) {
            return Some(shared.clone());
        }
        let shared: Locale = locale.as_str().into();
        self.locales.insert(locale, shared.clone());
        Some(shared)
    }

    fn take_contacts(&mut self, mut list: Vec<wire::Contact>) -> Range<u32> {
        list.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let start = self.contacts.len() as u32;
        for c in list {
            let locale = self.locale(c.locale);
            self.check_name("contact", c.id.as_str(), "id", c.id.as_str());
            if c.email.trim().is_empty() {
                self.problem(
                    "contact",
                    c.id.as_str(),
                    "email",
                    "the contact has no email address".into(),
                );
            } else if let Err(e) = c.email.parse::<lettre::Address>() {
                let what = format!(
                    "\"{}\" is not one email address ({e}); give a single address such as desk@example.com, with no name or second address",
                    shown(&c.email)
                );
                self.problem("contact", c.id.as_str(), "email", what);
            }
            if c.name.contains(['\r', '\n']) {
                self.problem(
                    "contact",
                    c.id.as_str(),
                    "name",
                    "a contact's name must be one line".into(),
                );
            }
            self.contacts.push(Contact {
                roles: c.roles.iter().copied().collect(),
                id: c.id,
                name: c.name,
                email: c.email,
                locale,
                product_news: c.product_news,
            });
        }
        start..self.contacts.len() as u32
    }

    /// Adds a product of the shared catalog.
    pub fn add_product(&mut self, p: wire::Product) {
        let seen = self
            .product_index
            .insert(p.id.0.clone(), self.products.len() as u32)
            .is_some();
        self.check_id("product", p.id.as_str(), seen);
        for s in &p.services {
            self.check_name("product", p.id.as_str(), "services", s.as_str());
        }
        let mut services: Vec<ServiceIx> = p
            .services
            .iter()
            .map(|s| {
                ServiceIx(intern(
                    &mut self.services,
                    &mut self.service_index,
                    s.as_str(),
                ))
            })
            .collect();
        services.sort_unstable();
        services.dedup();
        self.products.push(Product {
            id: p.id,
            name: p.name,
            services,
        });
    }

    /// Adds a partner.
    pub fn add_partner(&mut self, p: wire::Partner) {
        let seen = self
            .partner_index
            .insert(p.id.0.clone(), self.partners.len() as u32)
            .is_some();
        self.check_id("partner", p.id.as_str(), seen);
        if let Some(cloud) = &p.cloud {
            self.check_cloud("partner", p.id.as_str(), cloud.as_str());
        }
        let cloud = self.cloud(&p.cloud);
        let contacts = self.take_contacts(p.contacts);
        let locale = self.locale(p.locale);
        self.partners.push(Partner {
            id: p.id,
            kind: p.kind,
            name: p.name,
            cloud,
            locale,
            contacts,
        });
    }

    /// Adds a customer.
    pub fn add_customer(&mut self, c: wire::Customer) {
        let seen = self
            .customer_index
            .insert(c.id.0.clone(), self.customers.len() as u32)
            .is_some();
        self.check_id("customer", c.id.as_str(), seen);
        if let Some(cloud) = &c.cloud {
            self.check_cloud("customer", c.id.as_str(), cloud.as_str());
        }
        let cloud = self.cloud(&c.cloud);
        let contacts = self.take_contacts(c.contacts);
        let mut agreements = c.agreements;
        agreements.sort_unstable();
        agreements.dedup();
        let locale = self.locale(c.locale);
        let mut advisors = Vec::with_capacity(c.advisors.len());
        for a in &c.advisors {
            let Some(ix) = self.partner_index.get(a.as_str()).copied() else {
                self.problem(
                    "customer",
                    c.id.as_str(),
                    "advisors",
                    format!(
                        "names advisor \"{}\", which is not in the directory",
                        a.shown()
                    ),
                );
                continue;
            };
            let p = &self.partners[ix as usize];
            if p.kind != PartnerKind::Advisor {
                let what = format!("names \"{}\" as an advisor, but it is a `{}`; only `advisor` partners advise customers", a.shown(), p.kind.as_str());
                self.problem("customer", c.id.as_str(), "advisors", what);
            } else if p.cloud != cloud {
                let what = format!("names advisor \"{}\" of cloud \"{}\", but the customer is in cloud \"{}\"; clouds never mix", a.shown(), self.clouds[p.cloud.get()].shown(), self.clouds[cloud.get()].shown());
                self.problem("customer", c.id.as_str(), "advisors", what);
            }
            advisors.push(PartnerIx(ix));
        }
        self.customers.push(Customer {
            id: c.id,
            name: c.name,
            cloud,
            agreements,
            locale,
            contacts,
            advisors,
            subscriptions: 0..0,
        });
    }

    fn partner_of(
        &mut self,
        sid: &str,
        field: &'static str,
        id: &wire::Subscription,
        customer: Option<u32>,
    ) -> Option<PartnerIx> {
        let pid = if field == "partner" {
            id.partner.as_ref()
        } else {
            id.reseller.as_ref()
        }?;
        let Some(ix) = self.partner_index.get(pid.as_str()).copied() else {
            self.problem(
                "subscription",
                sid,
                field,
                format!(
                    "names {field} \"{}\", which is not in the directory",
                    pid.shown()
                ),
            );
            return None;
        };
        if let Some(c) = customer {
            let (pc, cc) = (
                self.partners[ix as usize].cloud,
                self.customers[c as usize].cloud,
            );
            if pc != cc {
                let what = format!(
                    "names {field} \"{}\" of cloud \"{}\", but its customer \"{}\" is in cloud \"{}\"; clouds never mix",
                    pid.shown(),
                    self.clouds[pc.get()].shown(),
                    self.customers[c as usize].id.shown(),
                    self.clouds[cc.get()].shown()
                );
                self.problem("subscription", sid, field, what);
            }
        }
        Some(PartnerIx(ix))
    }

    /// Adds a subscription; its customer, product and partners must already be added.
    pub fn add_subscription(&mut self, s: wire::Subscription) {
        let sid = s.id.as_str().to_owned();
        self.check_name("subscription", &sid, "id", &sid);
        if let Some(cloud) = &s.cloud {
            self.check_cloud("subscription", &sid, cloud.as_str());
        }
        let customer = self.customer_index.get(s.customer.as_str()).copied();
        let product = self.product_index.get(s.product.as_str()).copied();
        if customer.is_none() {
            self.problem(
                "subscription",
                &sid,
                "customer",
                format!(
                    "names customer \"{}\", which is not in the directory",
                    s.customer.shown()
                ),
            );
        }
        if product.is_none() {
            self.problem(
                "subscription",
                &sid,
                "product",
                format!(
                    "names product \"{}\", which is not in the catalog",
                    s.product.shown()
                ),
            );
        }
        if let (Some(c), Some(cloud)) = (customer, &s.cloud) {
            let cust = &self.customers[c as usize];
            let home = &self.clouds[cust.cloud.get()];
            if home != cloud {
                let what = format!(
                    "states cloud \"{}\", but its customer \"{}\" is in cloud \"{}\"; a subscription belongs to its customer's cloud",
                    cloud.shown(),
                    cust.id.shown(),
                    home.shown()
                );
                self.problem("subscription", &sid, "cloud", what);
            }
        }
        let holding = match (&s.partner, s.agreement) {
            (Some(_), Some(_)) => {
                self.problem("subscription", &sid, "agreement", "names both a `partner` and an `agreement`; a subscription is either CSP (partner) or direct (agreement)".into());
                None
            }
            (None, None) => {
                self.problem("subscription", &sid, "partner", "names neither a `partner` nor an `agreement`; a subscription is either CSP (partner) or direct (agreement)".into());
                None
            }
            (None, Some(agreement)) => {
                if let Some(r) = &s.reseller {
                    self.problem("subscription", &sid, "reseller", format!("names reseller \"{}\" on a direct subscription; only CSP subscriptions have resellers", r.shown()));
                }
                if let Some(c) = customer {
                    let cust = &self.customers[c as usize];
                    if !cust.agreements.contains(&agreement) {
                        let what = format!(
                            "names agreement `{}`, which its customer \"{}\" does not hold",
                            agreement.as_str(),
                            cust.id.shown()
                        );
                        self.problem("subscription", &sid, "agreement", what);
                    }
                }
                Some(Holding::Direct(agreement))
            }
            (Some(partner), None) => {
                let p = self.partner_of(&sid, "partner", &s, customer);
                let kind = p.map(|p| self.partners[p.get()].kind);
                if let Some(kind) = kind {
                    if !matches!(
                        kind,
                        PartnerKind::DirectBill | PartnerKind::IndirectProvider
                    ) {
                        self.problem("subscription", &sid, "partner", format!(
                            "names partner \"{}\", a `{}`; the partner of record must be `direct_bill` or `indirect_provider`", partner.shown(), kind.as_str()));
                    }
                }
                let reseller = self.partner_of(&sid, "reseller", &s, customer);
                if let (Some(r), Some(rid)) = (reseller, &s.reseller) {
                    let rkind = self.partners[r.get()].kind;
                    if rkind != PartnerKind::IndirectReseller {
                        self.problem("subscription", &sid, "reseller", format!(
                            "names reseller \"{}\", a `{}`; a reseller must be an `indirect_reseller`", rid.shown(), rkind.as_str()));
                    }
                    if kind == Some(PartnerKind::DirectBill) {
                        self.problem("subscription", &sid, "reseller", format!(
                            "names reseller \"{}\" with `direct_bill` partner \"{}\"; resellers sell only through an `indirect_provider`", rid.shown(), partner.shown()));
                    }
                }
                p.map(|partner| Holding::Csp { partner, reseller })
            }
        };
        let (Some(customer), Some(product), Some(holding)) = (customer, product, holding) else {
            return;
        };
        let start = self.region_pool.len() as u32;
        for r in &s.regions {
            let ix = RegionIx(intern(&mut self.regions, &mut self.region_index, r));
            if !self.region_pool[start as usize..].contains(&ix) {
                self.region_pool.push(ix);
            }
        }
        self.subscriptions.push(Subscription {
            id: s.id,
            customer: CustomerIx(customer),
            product: ProductIx(product),
            holding,
            status: s.status,
            regions: start..self.region_pool.len() as u32,
        });
    }

    /// Checks what only the whole directory can tell, sorts every record by id, and returns
    /// the directory, or every problem found.
    pub fn finish(self) -> Result<Directory, DirectoryError> {
        let DirectoryBuilder {
            mut problems,
            clouds,
            cloud_index,
            services,
            service_index,
            regions,
            region_index,
            products,
            product_index,
            partners,
            partner_index,
            customers,
            customer_index,
            subscriptions,
            region_pool,
            contacts,
            locales,
        } = self;
        drop((
            cloud_index,
            service_index,
            region_index,
            product_index,
            partner_index,
            customer_index,
            locales,
        ));

        let mut contact_order: Vec<u32> = (0..contacts.len() as u32).collect();
        contact_order
            .sort_unstable_by(|a, b| contacts[*a as usize].id.cmp(&contacts[*b as usize].id));
        for pair in contact_order.windows(2) {
            let id = &contacts[pair[0] as usize].id;
            if *id == contacts[pair[1] as usize].id {
                problems.push(Problem {
                    kind: "contact",
                    id: id.shown().to_string(),
                    field: "id",
                    what: "the id is used by more than one contact; ids must be unique".into(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(DirectoryError { problems });
        }

        let (cloud_order, cloud_new) = sorting(&clouds, |c| c.as_str());
        let clouds = permute(clouds, &cloud_order);
        let (service_order, service_new) = sorting(&services, |s| s.as_str());
        let services = permute(services, &service_order);
        let (region_order, region_new) = sorting(&regions, |r| r.as_str());
        let regions = permute(regions, &region_order);
        let (product_order, product_new) = sorting(&products, |p| p.id.as_str());
        let mut products = permute(products, &product_order);
        let (partner_order, partner_new) = sorting(&partners, |p| p.id.as_str());
        let mut partners = permute(partners, &partner_order);
        let (customer_order, customer_new) = sorting(&customers, |c| c.id.as_str());
        let mut customers = permute(customers, &customer_order);
        drop((
            cloud_order,
            service_order,
            region_order,
            product_order,
            partner_order,
            customer_order,
        ));

        for p in &mut products {
            p.services
                .iter_mut()
                .for_each(|s| *s = ServiceIx(service_new[s.get()]));
            p.services.sort_unstable();
        }
        partners
            .iter_mut()
            .for_each(|p| p.cloud = CloudIx(cloud_new[p.cloud.get()]));
        for c in &mut customers {
            c.cloud = CloudIx(cloud_new[c.cloud.get()]);
            c.advisors
                .iter_mut()
                .for_each(|a| *a = PartnerIx(partner_new[a.get()]));
            c.advisors.sort_unstable();
            c.advisors.dedup();
        }
        // Contacts follow their organisations' order, so equal records make equal directories.
        let mut contact_order: Vec<u32> = Vec::with_capacity(contacts.len());
        for range in partners
            .iter_mut()
            .map(|p| &mut p.contacts)
            .chain(customers.iter_mut().map(|c| &mut c.contacts))
        {
            let start = contact_order.len() as u32;
            contact_order.extend(range.clone());
            *range = start..contact_order.len() as u32;
        }
        let contacts = permute(contacts, &contact_order);
        drop(contact_order);
        let mut region_pool = region_pool;
        region_pool
            .iter_mut()
            .for_each(|r| *r = RegionIx(region_new[r.get()]));
        let mut subscriptions = subscriptions;
        for s in &mut subscriptions {
            s.customer = CustomerIx(customer_new[s.customer.get()]);
            s.product = ProductIx(product_new[s.product.get()]);
            if let Holding::Csp { partner, reseller } = &mut s.holding {
                *partner = PartnerIx(partner_new[partner.get()]);
                if let Some(r) = reseller {
                    *r = PartnerIx(partner_new[r.get()]);
                }
            }
        }
        subscriptions
            .sort_unstable_by(|a, b| a.customer.cmp(&b.customer).then_with(|| a.id.cmp(&b.id)));
        // Each subscription's regions, sorted, laid out in subscription order, so equal
        // records make equal directories.
        let mut sorted_pool = Vec::with_capacity(region_pool.len());
        for s in &mut subscriptions {
            let start = sorted_pool.len();
            sorted_pool
                .extend_from_slice(&region_pool[s.regions.start as usize..s.regions.end as usize]);
            sorted_pool[start..].sort_unstable();
            s.regions = start as u32..sorted_pool.len() as u32;
        }
        drop(region_pool);

        let mut subscriptions_by_id: Vec<SubscriptionIx> = (0..subscriptions.len() as u32)
            .map(SubscriptionIx)
            .collect();
        subscriptions_by_id
            .sort_unstable_by(|a, b| subscriptions[a.get()].id.cmp(&subscriptions[b.get()].id));
        for pair in subscriptions_by_id.windows(2) {
            let id = &subscriptions[pair[0].get()].id;
            if *id == subscriptions[pair[1].get()].id {
                problems.push(Problem {
                    kind: "subscription",
                    id: id.shown().to_string(),
                    field: "id",
                    what: "the id is used by more than one subscription; ids must be unique".into(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(DirectoryError { problems });
        }
        let mut service_products = vec![Vec::new(); services.len()];
        for (i, p) in products.iter().enumerate() {
            for s in &p.services {
                service_products[s.get()].push(ProductIx(i as u32));
            }
        }
        let mut product_subscriptions = vec![Vec::new(); products.len()];
        let mut next = 0usize;
        for (ci, c) in customers.iter_mut().enumerate() {
            let start = next;
            while next < subscriptions.len() && subscriptions[next].customer.get() == ci {
                product_subscriptions[subscriptions[next].product.get()]
                    .push(SubscriptionIx(next as u32));
                next += 1;
            }
            c.subscriptions = start as u32..next as u32;
        }
        let packed = PackedNames::pack(&partners, &customers, &subscriptions, &contacts)
            .map_err(|(kind, field)| DirectoryError {
                problems: vec![Problem {
                    kind,
                    id: String::new(),
                    field,
                    what: format!("the {field}s of all {kind}s together are longer than 4 GiB; split the directory into clouds or shorten them"),
                }],
            })?;
        Ok(Directory {
            clouds,
            products,
            services,
            service_products,
            partners,
            customers,
            subscriptions,
            subscriptions_by_id,
            product_subscriptions,
            regions,
            region_pool: sorted_pool,
            contacts,
            packed,
        })
    }
}
