//! The copies a routed message becomes, and who reads each.
//!
//! A copy mentions only what its reader may know (POLICY.md, "What each copy may say"): the
//! customer's own copy of a `subscription` or `product` message names only its directly
//! held subscriptions; a partner's copy names only that partner's subscriptions and
//! customers, and one partner's copy gathers all of its customers a message touches. The
//! readers of a copy are the organisation's contacts the category's contact rule chooses,
//! each with the locale they will read it in.

use std::ops::Range;

use crate::directory::{Contact, Directory};
use crate::ids::{ContactIx, CustomerIx, PartnerIx, SubscriptionIx};
use crate::message::Message;
use crate::policy::{Category, Consent, ContactChoice, CopyNames, PartnerRole, Policy};
use crate::route::{Decision, Routing};
use crate::wire::PartnerKind;

/// One contact who reads a copy, and the locale they read it in (one of the message's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reader<'m> {
    pub contact: ContactIx,
    pub locale: &'m str,
}

/// The customer's own copy of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerCopy<'m> {
    pub customer: CustomerIx,
    /// The in-scope subscriptions this copy may name.
    pub subscriptions: Vec<SubscriptionIx>,
    pub readers: Vec<Reader<'m>>,
}

/// A partner's copy: every customer of this partner the message touches, and only this
/// partner's subscriptions with them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerCopy<'m> {
    pub partner: PartnerIx,
    pub customers: Vec<CustomerIx>,
    pub subscriptions: Vec<SubscriptionIx>,
    pub readers: Vec<Reader<'m>>,
}

/// The customer's copy for a decision, or `None` when the customer does not hear directly.
pub fn customer_copy<'m>(
    policy: &Policy,
    directory: &Directory,
    message: &'m Message,
    routing: &Routing,
    decision: &Decision,
) -> Option<CustomerCopy<'m>> {
    if !decision.direct {
        return None;
    }
    let category = policy.category(message.category);
    Some(CustomerCopy {
        customer: decision.customer,
        subscriptions: customer_copy_names(category, directory, routing, decision).collect(),
        readers: {
            let mut chosen = Vec::new();
            customer_readers(policy, directory, message, decision.customer, &mut chosen);
            chosen
        },
    })
}

/// The in-scope subscriptions a customer's own copy names, when it hears directly: all of
/// them, or only those it holds directly, as the category says.
#[inline]
pub fn customer_copy_names<'r>(
    category: &Category,
    directory: &'r Directory,
    routing: &'r Routing,
    decision: &Decision,
) -> impl Iterator<Item = SubscriptionIx> + 'r {
    let all = category.customer_copy == CopyNames::All;
    routing
        .subscriptions(decision)
        .iter()
        .copied()
        .filter(move |s| all || directory.subscription(*s).is_direct())
}

/// The readers of customer `c`'s own copy of a message, into `chosen` (emptied first).
pub fn customer_readers<'m>(
    policy: &Policy,
    directory: &Directory,
    message: &'m Message,
    c: CustomerIx,
    chosen: &mut Vec<Reader<'m>>,
) {
    let customer = directory.customer(c);
    readers_into(
        directory,
        message,
        &customer.contacts,
        customer.locale.as_deref(),
        &policy.category(message.category).customer_contacts,
        chosen,
    );
}

/// The partners' copies, sorted by partner id.
pub fn partner_copies<'m>(
    policy: &Policy,
    directory: &Directory,
    message: &'m Message,
    routing: &Routing,
) -> Vec<PartnerCopy<'m>> {
    let category = policy.category(message.category);
    let mut copies: Vec<PartnerCopy> = Vec::new();
    let mut slot: Vec<Option<usize>> = Vec::new();
    for d in routing.decisions() {
        for p in routing.partners(d) {
            if slot.len() <= p.get() {
                slot.resize(p.get() + 1, None);
            }
            let i = *slot[p.get()].get_or_insert_with(|| {
                copies.push(PartnerCopy {
                    partner: *p,
                    customers: Vec::new(),
                    subscriptions: Vec::new(),
                    readers: Vec::new(),
                });
                copies.len() - 1
            });
            let copy = &mut copies[i];
            copy.customers.push(d.customer);
            copy.subscriptions
                .extend(partner_share(category, directory, routing, d, *p));
        }
    }
    copies.sort_unstable_by_key(|c| c.partner);
    for copy in &mut copies {
        copy.readers = partner_readers(policy, directory, message, copy.partner);
    }
    copies
}

/// The in-scope subscriptions of a decision's customer that partner `p`'s copy names: those
/// it is told about in a role the category tells.
#[inline]
pub fn partner_share<'r>(
    category: &'r Category,
    directory: &'r Directory,
    routing: &'r Routing,
    decision: &Decision,
    p: PartnerIx,
) -> impl Iterator<Item = SubscriptionIx> + 'r {
    routing
        .subscriptions(decision)
        .iter()
        .copied()
        .filter(move |s| told_as(directory, *s, p).is_some_and(|role| category.tells(role)))
}

/// The readers of partner `p`'s copy of a message.
pub fn partner_readers<'m>(
    policy: &Policy,
    directory: &Directory,
    message: &'m Message,
    p: PartnerIx,
) -> Vec<Reader<'m>> {
    let partner = directory.partner(p);
    readers(
        directory,
        message,
        &partner.contacts,
        partner.locale.as_deref(),
        &policy.category(message.category).partner_contacts,
    )
}

/// The part `partner` plays in a subscription, if any.
#[inline]
pub fn told_as(
    directory: &Directory,
    sub: SubscriptionIx,
    partner: PartnerIx,
) -> Option<PartnerRole> {
    let s = directory.subscription(sub);
    match s.holding {
        crate::directory::Holding::Csp { partner: p, .. } if p == partner => {
            Some(PartnerRole::Partner)
        }
        crate::directory::Holding::Csp {
            reseller: Some(r), ..
        } if r == partner => {
            debug_assert_eq!(directory.partner(r).kind, PartnerKind::IndirectReseller);
            Some(PartnerRole::Reseller)
        }
        _ => None,
    }
}

/// The contacts of an organisation that read a copy: those holding the first role of the
/// choice that any consenting contact holds, each in its locale.
pub fn readers<'m>(
    directory: &Directory,
    message: &'m Message,
    contacts: &Range<u32>,
    org_locale: Option<&str>,
    choice: &ContactChoice,
) -> Vec<Reader<'m>> {
    let mut chosen = Vec::new();
    readers_into(
        directory,
        message,
        contacts,
        org_locale,
        choice,
        &mut chosen,
    );
    chosen
}

/// [`readers`], into `chosen` (emptied first), so a caller planning a million copies can
/// reuse one list.
pub fn readers_into<'m>(
    directory: &Directory,
    message: &'m Message,
    contacts: &Range<u32>,
    org_locale: Option<&str>,
    choice: &ContactChoice,
    chosen: &mut Vec<Reader<'m>>,
) {
    chosen.clear();
    let list = directory.contacts(contacts);
    let consents = |c: &Contact| match choice.consent {
        None => true,
        Some(Consent::ProductNews) => c.product_news,
    };
    for role in &choice.roles {
        chosen.extend(
            list.iter()
                .enumerate()
                .filter(|(_, c)| c.roles.contains(*role) && consents(c))
                .map(|(i, c)| {
                    // The contact's own locale, or its organisation's when it states none
                    // (POLICY.md: its own locale, then its language, then the message's).
                    let wanted = c.locale.as_deref().or(org_locale);
                    Reader {
                        contact: ContactIx(contacts.start + i as u32),
                        locale: message.content.pick_locale(wanted),
                    }
                }),
        );
        if !chosen.is_empty() {
            return;
        }
    }
}
