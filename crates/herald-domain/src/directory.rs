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

mod builder;
mod packed;

pub use builder::DirectoryBuilder;
pub use packed::{quotable, Packed, PackedNames};

/// A locale tag (`ru-RU`), shared by every record that uses it: a directory of a million
/// customers holds each distinct locale once.
pub type Locale = std::sync::Arc<str>;

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
    pub locale: Option<Locale>,
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
    pub locale: Option<Locale>,
    pub contacts: Range<u32>,
    /// The customer's advisors, sorted by id.
    pub advisors: Vec<PartnerIx>,
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
    pub locale: Option<Locale>,
    pub product_news: bool,
}

/// One reason a world was refused: the record, the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The kind of record: `product`, `partner`, `customer`, `contact`, `subscription`.
    pub kind: &'static str,
    /// The record's id as an error quotes it: escaped and cut short
    /// ([`limits::shown`](crate::limits::shown)).
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
    packed: PackedNames,
}

fn find<T>(records: &[T], id: impl Fn(&T) -> &str, wanted: &str) -> Option<u32> {
    records
        .binary_search_by(|r| id(r).cmp(wanted))
        .ok()
        .map(|i| i as u32)
}

impl Directory {
    /// Builds a directory from a world, or refuses it whole with every problem found.
    pub fn build(world: wire::World) -> Result<Directory, DirectoryError> {
        let mut builder = DirectoryBuilder::new();
        world
            .products
            .into_iter()
            .for_each(|p| builder.add_product(p));
        world
            .partners
            .into_iter()
            .for_each(|p| builder.add_partner(p));
        world
            .customers
            .into_iter()
            .for_each(|c| builder.add_customer(c));
        world
            .subscriptions
            .into_iter()
            .for_each(|s| builder.add_subscription(s));
        builder.finish()
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

    /// The regions the subscriptions of `cloud` list, sorted by name: what a vendor of that
    /// cloud may name, and nothing of another cloud.
    pub fn regions_in(&self, cloud: CloudIx) -> Vec<&str> {
        let mut listed = vec![false; self.regions.len()];
        for customer in self.customers.iter().filter(|c| c.cloud == cloud) {
            let subscriptions = &self.subscriptions
                [customer.subscriptions.start as usize..customer.subscriptions.end as usize];
            for s in subscriptions {
                for r in self.subscription_regions(s) {
                    listed[r.get()] = true;
                }
            }
        }
        let mut names: Vec<&str> = self
            .regions
            .iter()
            .zip(listed)
            .filter_map(|(name, listed)| listed.then_some(name.as_str()))
            .collect();
        names.sort_unstable();
        names
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

    /// The ids of partners, customers, subscriptions and contacts, and contacts' addresses,
    /// packed in index order for writers that name records by the million.
    pub fn packed(&self) -> &PackedNames {
        &self.packed
    }

    /// A contact in the world format.
    fn contact_record(c: &Contact) -> wire::Contact {
        wire::Contact {
            id: c.id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            roles: [Role::Admin, Role::Billing, Role::Technical, Role::Support]
                .into_iter()
                .filter(|r| c.roles.contains(*r))
                .collect(),
            locale: c.locale.as_deref().map(str::to_owned),
            product_news: c.product_news,
        }
    }

    /// A record's cloud as the world format states it: absent for `global`.
    fn stated_cloud(&self, ix: CloudIx) -> Option<CloudId> {
        Some(self.cloud(ix).clone()).filter(|c| *c != CloudId::global())
    }

    /// A product in the world format.
    pub fn product_record(&self, ix: ProductIx) -> wire::Product {
        let p = self.product(ix);
        wire::Product {
            id: p.id.clone(),
            name: p.name.clone(),
            services: p
                .services
                .iter()
                .map(|s| self.service(*s).clone())
                .collect(),
        }
    }

    /// A partner in the world format, with its contacts.
    pub fn partner_record(&self, ix: PartnerIx) -> wire::Partner {
        let p = self.partner(ix);
        wire::Partner {
            id: p.id.clone(),
            kind: p.kind,
            name: p.name.clone(),
            cloud: self.stated_cloud(p.cloud),
            locale: p.locale.as_deref().map(str::to_owned),
            contacts: self
                .contacts(&p.contacts)
                .iter()
                .map(Self::contact_record)
                .collect(),
        }
    }

    /// A customer in the world format, with its contacts.
    pub fn customer_record(&self, ix: CustomerIx) -> wire::Customer {
        let c = self.customer(ix);
        wire::Customer {
            id: c.id.clone(),
            name: c.name.clone(),
            cloud: self.stated_cloud(c.cloud),
            agreements: c.agreements.clone(),
            advisors: c
                .advisors
                .iter()
                .map(|a| self.partner(*a).id.clone())
                .collect(),
            locale: c.locale.as_deref().map(str::to_owned),
            contacts: self
                .contacts(&c.contacts)
                .iter()
                .map(Self::contact_record)
                .collect(),
        }
    }

    /// A subscription in the world format (its cloud left to its customer's).
    pub fn subscription_record(&self, ix: SubscriptionIx) -> wire::Subscription {
        let s = self.subscription(ix);
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
    }

    /// Turns the directory back into the world format (records sorted by id).
    pub fn to_world(&self) -> wire::World {
        wire::World {
            products: (0..self.products.len() as u32)
                .map(|i| self.product_record(ProductIx(i)))
                .collect(),
            partners: (0..self.partners.len() as u32)
                .map(|i| self.partner_record(PartnerIx(i)))
                .collect(),
            customers: (0..self.customers.len() as u32)
                .map(|i| self.customer_record(CustomerIx(i)))
                .collect(),
            subscriptions: self
                .subscriptions_by_id
                .iter()
                .map(|s| self.subscription_record(*s))
                .collect(),
        }
    }
}
