//! Routing: who hears about a message, directly or through which partners.
//!
//! [`route`] is a pure function of the policy, the directory and the message: no I/O, no
//! clock, no randomness. Its cost follows the subscriptions the message reaches, not the
//! size of the directory: a message about a few subscriptions looks at those, and a
//! message about a service visits only the subscriptions of the products that contain it
//! (walking the customers in order when that is nearly everyone).
//!
//! Scope is decided by one predicate, [`Matcher::admit`], which routing and
//! [`explain`](crate::explain) share, so an explanation can never disagree with a decision.

use crate::directory::{Directory, Holding};
use crate::ids::{CustomerIx, PartnerIx, SubscriptionIx};
use crate::message::{Message, Scope};
use crate::policy::{Category, DirectWhen, PartnerRole, Policy, RuleIx};
use crate::wire::Status;

/// The decision for one in-scope customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub customer: CustomerIx,
    /// Whether the customer hears directly from the vendor.
    pub direct: bool,
    /// The rule that sent the copy to the customer, or kept it from the customer.
    pub customer_rule: RuleIx,
    /// The rule that chose the partners told (also when none was).
    pub partners_rule: RuleIx,
    pub(crate) partners: (u32, u32),
    pub(crate) subscriptions: (u32, u32),
}

/// All decisions for one message, sorted by customer id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Routing {
    pub(crate) decisions: Vec<Decision>,
    pub(crate) partner_pool: Vec<PartnerIx>,
    pub(crate) subscription_pool: Vec<SubscriptionIx>,
}

impl Routing {
    /// The decisions, one per in-scope customer, sorted by customer id.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// The partners told about a decision's customer, sorted by id.
    pub fn partners(&self, d: &Decision) -> &[PartnerIx] {
        &self.partner_pool[d.partners.0 as usize..d.partners.1 as usize]
    }

    /// The customer's in-scope subscriptions behind a decision, sorted.
    pub fn subscriptions(&self, d: &Decision) -> &[SubscriptionIx] {
        &self.subscription_pool[d.subscriptions.0 as usize..d.subscriptions.1 as usize]
    }

    /// The decision for a customer, if it was in scope.
    pub fn decision_for(&self, customer: CustomerIx) -> Option<&Decision> {
        self.decisions
            .binary_search_by_key(&customer, |d| d.customer)
            .ok()
            .map(|i| &self.decisions[i])
    }
}

/// Whether a subscription is in a message's scope, and if not, the first reason why not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    In,
    /// In another cloud than the message.
    Cloud,
    /// Its status is not one the category considers.
    Status(Status),
    /// The message names subscriptions, and not this one.
    NotNamed,
    /// The message names products, and not this one's.
    Product,
    /// Its product contains none of the message's services.
    Service,
    /// It lists regions, none of them the message's.
    Region,
    /// The message is narrowed to customers, and not this one's.
    Customer,
}

/// The scope predicate of one message, with its lookups prepared.
pub struct Matcher<'a> {
    directory: &'a Directory,
    message: &'a Message,
    /// Per product: 1 when named (or products are not named), 2 when it contains a service
    /// of the message (or services are not named).
    product_flags: Vec<u8>,
    region_ok: Option<Vec<bool>>,
    /// One bit per [`Status`] the category considers.
    statuses: u8,
}

impl<'a> Matcher<'a> {
    /// Prepares the predicate for a message.
    pub fn new(policy: &'a Policy, directory: &'a Directory, message: &'a Message) -> Self {
        let scope = &message.scope;
        let mut product_flags = vec![0u8; directory.products().len()];
        match &scope.products {
            Some(ps) => ps.iter().for_each(|p| product_flags[p.get()] |= 1),
            None => product_flags.iter_mut().for_each(|f| *f |= 1),
        }
        match &scope.services {
            Some(ss) => {
                for s in ss {
                    for p in directory.service_products(*s) {
                        product_flags[p.get()] |= 2;
                    }
                }
            }
            None => product_flags.iter_mut().for_each(|f| *f |= 2),
        }
        let region_ok = scope.regions.as_ref().map(|rs| {
            let mut ok = vec![false; directory.region_count()];
            rs.iter().for_each(|r| ok[r.get()] = true);
            ok
        });
        Matcher {
            directory,
            message,
            product_flags,
            region_ok,
            statuses: Status::ALL
                .into_iter()
                .filter(|s| policy.category(message.category).admits_status(*s))
                .fold(0, |bits, s| bits | 1 << s as u8),
        }
    }

    /// Whether a subscription is in scope. Routing and explanations both ask this.
    pub fn admit(&self, ix: SubscriptionIx) -> Admission {
        let s = self.directory.subscription(ix);
        if self.directory.customer(s.customer).cloud != self.message.cloud {
            return Admission::Cloud;
        }
        self.admit_in_cloud(ix)
    }

    /// [`Matcher::admit`] for a subscription already known to be in the message's cloud.
    #[inline]
    fn admit_in_cloud(&self, ix: SubscriptionIx) -> Admission {
        let scope: &Scope = &self.message.scope;
        let s = self.directory.subscription(ix);
        if self.statuses & (1 << s.status as u8) == 0 {
            return Admission::Status(s.status);
        }
        if let Some(named) = &scope.subscriptions {
            if named.binary_search(&ix).is_err() {
                return Admission::NotNamed;
            }
        }
        let flags = self.product_flags[s.product.get()];
        if flags & 1 == 0 {
            return Admission::Product;
        }
        if flags & 2 == 0 {
            return Admission::Service;
        }
        if let Some(ok) = &self.region_ok {
            let regions = self.directory.subscription_regions(s);
            if !regions.is_empty() && !regions.iter().any(|r| ok[r.get()]) {
                return Admission::Region;
            }
        }
        if let Some(customers) = &scope.customers {
            if customers.binary_search(&s.customer).is_err() {
                return Admission::Customer;
            }
        }
        Admission::In
    }
}

/// Routes one message: a decision per in-scope customer, sorted by customer id.
pub fn route(policy: &Policy, directory: &Directory, message: &Message) -> Routing {
    let matcher = Matcher::new(policy, directory, message);
    let category = policy.category(message.category);
    let mut out = Builder {
        category,
        directory,
        tells_partner: category.tells(PartnerRole::Partner),
        tells_reseller: category.tells(PartnerRole::Reseller),
        tells_advisor: category.tells(PartnerRole::Advisor),
        routing: Routing::default(),
    };
    let scope = &message.scope;
    // Named subscriptions and customers were checked to be in the message's cloud, and the
    // walk below skips other clouds' customers; only the product lists mix clouds.
    let admitted = |s: &SubscriptionIx| matcher.admit_in_cloud(*s) == Admission::In;

    if let Some(named) = &scope.subscriptions {
        let mut subs: Vec<SubscriptionIx> = named.iter().copied().filter(admitted).collect();
        subs.sort_unstable();
        out.grouped(&subs);
    } else if let Some(customers) = &scope.customers {
        let keep_empty = !scope.selects_subscriptions();
        let mut subs = Vec::new();
        for c in customers {
            subs.clear();
            subs.extend(directory.customer_subscriptions(*c).filter(admitted));
            if !subs.is_empty() || keep_empty {
                out.decide(*c, &subs);
            }
        }
    } else {
        let products: Vec<usize> = (0..directory.products().len())
            .filter(|p| matcher.product_flags[*p] == 3)
            .collect();
        let reached: usize = products
            .iter()
            .map(|p| {
                directory
                    .product_subscriptions(crate::ids::ProductIx(*p as u32))
                    .len()
            })
            .sum();
        if reached * 4 > directory.subscriptions().len() {
            // Most of the directory: walk the customers in order, no sorting needed.
            out.reserve(directory.customers().len(), reached);
            let mut subs = Vec::new();
            for (i, c) in directory.customers().iter().enumerate() {
                if c.cloud != message.cloud || c.subscriptions.is_empty() {
                    continue;
                }
                subs.clear();
                subs.extend(c.subscriptions.clone().map(SubscriptionIx).filter(admitted));
                if !subs.is_empty() {
                    out.decide(CustomerIx(i as u32), &subs);
                }
            }
        } else {
            let mut subs: Vec<SubscriptionIx> = Vec::with_capacity(reached);
            for p in products {
                subs.extend(
                    directory
                        .product_subscriptions(crate::ids::ProductIx(p as u32))
                        .iter()
                        .copied()
                        .filter(|s| matcher.admit(*s) == Admission::In),
                );
            }
            subs.sort_unstable();
            out.grouped(&subs);
        }
    }
    out.routing
}

struct Builder<'a> {
    category: &'a Category,
    directory: &'a Directory,
    tells_partner: bool,
    tells_reseller: bool,
    tells_advisor: bool,
    routing: Routing,
}

impl Builder<'_> {
    fn reserve(&mut self, customers: usize, subscriptions: usize) {
        self.routing.decisions.reserve(customers);
        self.routing.subscription_pool.reserve(subscriptions);
        self.routing.partner_pool.reserve(subscriptions);
    }

    /// Decides for runs of subscriptions sorted by position, hence grouped by customer.
    fn grouped(&mut self, subs: &[SubscriptionIx]) {
        for run in subs.chunk_by(|a, b| {
            self.directory.subscription(*a).customer == self.directory.subscription(*b).customer
        }) {
            self.decide(self.directory.subscription(run[0]).customer, run);
        }
    }

    fn decide(&mut self, customer: CustomerIx, subs: &[SubscriptionIx]) {
        let dir = self.directory;
        let cat = self.category;
        let r = &mut self.routing;
        let direct = match cat.direct_when {
            DirectWhen::Always => true,
            DirectWhen::DirectSubscription => subs.iter().any(|s| dir.subscription(*s).is_direct()),
            DirectWhen::Never => false,
        };
        let start = r.partner_pool.len();
        for s in subs {
            if let Holding::Csp { partner, reseller } = dir.subscription(*s).holding {
                if self.tells_partner {
                    r.partner_pool.push(partner);
                }
                if let Some(reseller) = reseller.filter(|_| self.tells_reseller) {
                    r.partner_pool.push(reseller);
                }
            }
        }
        if self.tells_advisor {
            r.partner_pool
                .extend_from_slice(&dir.customer(customer).advisors);
        }
        let told = &mut r.partner_pool[start..];
        if told.len() > 1 {
            told.sort_unstable();
            let mut kept = 1;
            for i in 1..told.len() {
                if told[i] != told[kept - 1] {
                    told[kept] = told[i];
                    kept += 1;
                }
            }
            r.partner_pool.truncate(start + kept);
        }
        let sub_start = r.subscription_pool.len();
        r.subscription_pool.extend_from_slice(subs);
        r.decisions.push(Decision {
            customer,
            direct,
            customer_rule: if direct {
                cat.direct_rule
            } else {
                cat.indirect_rule
            },
            partners_rule: cat.partners_rule,
            partners: (start as u32, r.partner_pool.len() as u32),
            subscriptions: (sub_start as u32, r.subscription_pool.len() as u32),
        });
    }
}
