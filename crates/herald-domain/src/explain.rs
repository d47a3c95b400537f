//! Explanations: why a customer or partner did or did not hear about a message, in the
//! words of the policy's rules, naming the subscriptions that decided it.
//!
//! An explanation reads the same [`Routing`] a publish stored and asks the same scope
//! predicate ([`Matcher::admit`]), so it cannot disagree with the decision it explains.

use std::fmt;

use serde::Serialize;

use crate::directory::{Directory, Holding};
use crate::ids::{PartnerIx, SubscriptionIx};
use crate::message::Message;
use crate::plan::{customer_copy, partner_copies, told_as};
use crate::policy::{PartnerRole, PartnersOf, Policy, RuleIx};
use crate::route::{Admission, Matcher, Routing};
use crate::wire::PartnerKind;

/// The answer to "did this customer (or partner) hear about this message, and why?".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    pub message: String,
    /// `customer` or `partner`.
    pub about: &'static str,
    pub id: String,
    pub heard: bool,
    /// The ids of the rules the answer rests on.
    pub rules: Vec<String>,
    /// The answer, one sentence per line.
    pub lines: Vec<String>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// An explanation could not be given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExplainError(pub String);

struct Writer<'a> {
    policy: &'a Policy,
    directory: &'a Directory,
    out: Explanation,
}

impl Writer<'_> {
    fn line(&mut self, text: String) {
        self.out.lines.push(text);
    }

    fn rule(&mut self, ix: RuleIx) -> String {
        let rule = self.policy.rule(ix);
        if !self.out.rules.contains(&rule.id) {
            self.out.rules.push(rule.id.clone());
        }
        format!("{} (\"{}\")", rule.id, rule.source)
    }

    fn describe(&self, s: SubscriptionIx) -> String {
        let d = self.directory;
        let sub = d.subscription(s);
        let held = match sub.holding {
            Holding::Csp {
                partner,
                reseller: None,
            } => format!("through partner {}", d.partner(partner).id),
            Holding::Csp {
                partner,
                reseller: Some(r),
            } => {
                format!(
                    "through partner {} and reseller {}",
                    d.partner(partner).id,
                    d.partner(r).id
                )
            }
            Holding::Direct(a) => format!("directly under its {}", a.as_str()),
        };
        format!("{} ({}, {held})", sub.id, d.product(sub.product).id)
    }

    fn reason(&self, admission: Admission) -> &'static str {
        match admission {
            Admission::In => "in scope",
            Admission::Cloud => "in another cloud",
            Admission::Status(s) => match s {
                crate::wire::Status::Active => "active, a status this category does not consider",
                crate::wire::Status::Suspended => {
                    "suspended, and this category considers only other statuses"
                }
                crate::wire::Status::Deleted => {
                    "deleted, and this category considers only other statuses"
                }
            },
            Admission::NotNamed => "not one of the subscriptions the message names",
            Admission::Product => "not of a product the message names",
            Admission::Service => "of a product that contains none of the message's services",
            Admission::Region => "in none of the message's regions",
            Admission::Customer => "of a customer outside the message's list of customers",
        }
    }
}

fn start<'a>(
    policy: &'a Policy,
    directory: &'a Directory,
    message: &Message,
    about: &'static str,
    id: &str,
) -> Writer<'a> {
    Writer {
        policy,
        directory,
        out: Explanation {
            message: message.id.to_string(),
            about,
            id: id.to_owned(),
            heard: false,
            rules: Vec::new(),
            lines: Vec::new(),
        },
    }
}

/// Why `customer` did or did not hear about `message` directly, and which partners were told.
pub fn explain_customer(
    policy: &Policy,
    directory: &Directory,
    message: &Message,
    routing: &Routing,
    customer: &str,
) -> Result<Explanation, ExplainError> {
    let cloud = directory.cloud(message.cloud);
    let ix = directory
        .customer_ix(customer)
        .filter(|c| directory.customer(*c).cloud == message.cloud)
        .ok_or_else(|| ExplainError(format!("customer \"{customer}\" does not exist in cloud \"{cloud}\", the cloud of message \"{}\"", message.id)))?;
    let category = policy.category(message.category);
    let mut w = start(policy, directory, message, "customer", customer);
    let scope_rule = w.rule(category.scope_rule);
    let Some(decision) = routing.decision_for(ix) else {
        w.line(format!(
            "Customer {customer} did not hear about message {}: it is not in the message's scope.",
            message.id
        ));
        w.line(format!(
            "Scope rule {scope_rule}: {}",
            policy.rule(category.scope_rule).means
        ));
        let matcher = Matcher::new(policy, directory, message);
        out_of_scope(&mut w, &matcher, directory.customer_subscriptions(ix));
        if let Some(named) = &message.scope.customers {
            if named.binary_search(&ix).is_err() {
                w.line(format!(
                    "The message is narrowed to {}, and {customer} is not one of them.",
                    customers(named.len())
                ));
            }
        }
        return Ok(w.out);
    };
    let subs = routing.subscriptions(decision);
    w.out.heard = decision.direct;
    let rule = w.rule(decision.customer_rule);
    if decision.direct {
        w.line(format!(
            "Customer {customer} hears about message {} directly, by rule {rule}.",
            message.id
        ));
        let direct: Vec<String> = subs
            .iter()
            .filter(|s| directory.subscription(**s).is_direct())
            .map(|s| w.describe(*s))
            .collect();
        if category.direct_when == crate::policy::DirectWhen::DirectSubscription {
            w.line(format!(
                "It holds in-scope subscriptions directly: {}.",
                direct.join(", ")
            ));
        }
    } else {
        w.line(format!(
            "Customer {customer} does not hear about message {} directly, by rule {rule}.",
            message.id
        ));
        w.line(format!("It is in scope (rule {scope_rule}), but every in-scope subscription it holds is sold through a partner, who speaks for it."));
    }
    let thread_rule = category.thread_rule;
    if let (Some(thread), true) = (&message.thread, subs.is_empty()) {
        w.line(format!("Message {} updates thread {}, which reached {customer} before; it is no longer in the update's own scope.", message.id, thread.id));
    } else {
        let listed: Vec<String> = subs.iter().map(|s| w.describe(*s)).collect();
        w.line(format!("In-scope subscriptions: {}.", listed.join(", ")));
    }
    if let Some(copy) = customer_copy(policy, directory, message, routing, decision) {
        if copy.readers.is_empty() {
            let roles: Vec<&str> = category
                .customer_contacts
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect();
            w.line(format!("But no contact of {customer} can read it: the policy wants a contact with role {}{}.", roles.join(" or "), if category.customer_contacts.consent.is_some() { " who consented to product news" } else { "" }));
        } else {
            let readers: Vec<String> = copy
                .readers
                .iter()
                .map(|r| {
                    let c = directory.contact(r.contact);
                    format!("{} <{}> in {}", c.id, c.email, r.locale)
                })
                .collect();
            w.line(format!("Its copy is read by {}.", readers.join(", ")));
        }
        let named: Vec<String> = copy
            .subscriptions
            .iter()
            .map(|s| directory.subscription(*s).id.to_string())
            .collect();
        w.line(format!(
            "Its copy names {}.",
            if named.is_empty() {
                "no subscription".to_owned()
            } else {
                named.join(", ")
            }
        ));
    }
    let partners = routing.partners(decision);
    let prule = w.rule(decision.partners_rule);
    if partners.is_empty() {
        w.line(format!("No partner is told about {customer} (rule {prule}): none of its in-scope subscriptions is sold through a partner the policy tells."));
    } else {
        for p in partners {
            let theirs: Vec<String> = subs
                .iter()
                .filter(|s| told_as(directory, **s, *p).is_some())
                .map(|s| directory.subscription(*s).id.to_string())
                .collect();
            let why = if !theirs.is_empty() {
                format!("for {}", theirs.join(", "))
            } else if Some(decision.partners_rule) == thread_rule {
                "because an earlier message of the thread told it about this customer".to_owned()
            } else {
                "as its advisor".to_owned()
            };
            w.line(format!(
                "Partner {} is told about {customer} (rule {prule}), {why}.",
                directory.partner(*p).id
            ));
        }
    }
    Ok(w.out)
}

fn out_of_scope(
    w: &mut Writer<'_>,
    matcher: &Matcher<'_>,
    subs: impl Iterator<Item = SubscriptionIx>,
) {
    let mut any = false;
    for s in subs.take(50) {
        any = true;
        let reason = w.reason(matcher.admit(s));
        let text = format!("  - {} is {reason}.", w.describe(s));
        w.line(text);
    }
    if !any {
        w.line("It holds no subscription the message could concern.".into());
    }
}

/// Whether `partner` was told about `message`, about which customers, and why (or why not).
pub fn explain_partner(
    policy: &Policy,
    directory: &Directory,
    message: &Message,
    routing: &Routing,
    partner: &str,
) -> Result<Explanation, ExplainError> {
    let cloud = directory.cloud(message.cloud);
    let ix: PartnerIx = directory
        .partner_ix(partner)
        .filter(|p| directory.partner(*p).cloud == message.cloud)
        .ok_or_else(|| ExplainError(format!("partner \"{partner}\" does not exist in cloud \"{cloud}\", the cloud of message \"{}\"", message.id)))?;
    let category = policy.category(message.category);
    let mut w = start(policy, directory, message, "partner", partner);
    let copies = partner_copies(policy, directory, message, routing);
    if let Some(copy) = copies.iter().find(|c| c.partner == ix) {
        w.out.heard = true;
        let rule = w.rule(category.partners_rule);
        w.line(format!(
            "Partner {partner} is told about message {} by rule {rule}, about {} of its own.",
            message.id,
            customers(copy.customers.len())
        ));
        for c in copy.customers.iter().take(50) {
            let theirs: Vec<String> = copy
                .subscriptions
                .iter()
                .filter(|s| directory.subscription(**s).customer == *c)
                .map(|s| directory.subscription(*s).id.to_string())
                .collect();
            let advises = category.tells(PartnerRole::Advisor)
                && directory.customer(*c).advisors.contains(&ix);
            let what = match (theirs.is_empty(), category.thread_rule) {
                (true, _) if advises => "as its advisor".to_owned(),
                (true, Some(thread_rule)) if message.thread.is_some() => {
                    let rule = w.rule(thread_rule);
                    format!("told before in this thread (rule {rule})")
                }
                _ => theirs.join(", "),
            };
            w.line(format!("  - {}: {what}", directory.customer(*c).id));
        }
        if copy.readers.is_empty() {
            w.line(format!("But no contact of {partner} can read it: it has no contact with the role the policy wants."));
        }
        return Ok(w.out);
    }
    w.line(format!(
        "Partner {partner} is not told about message {}.",
        message.id
    ));
    let rule = w.rule(category.partners_rule);
    if category.partners_of == PartnersOf::None {
        w.line(format!(
            "This policy tells no partner about `{}` messages (rule {rule}).",
            category.name
        ));
        return Ok(w.out);
    }
    if directory.partner(ix).kind == PartnerKind::Advisor {
        if category.tells(PartnerRole::Advisor) {
            w.line(format!("Rule {rule} tells the advisors of in-scope customers, and no in-scope customer names {partner} among its advisors."));
        } else {
            w.line(format!("{partner} is an advisor: it sells and bills nothing, so it holds no subscription a message could concern, and rule {rule} tells only the partners of in-scope CSP subscriptions."));
        }
        return Ok(w.out);
    }
    let own: Vec<SubscriptionIx> = (0..directory.subscriptions().len() as u32)
        .map(SubscriptionIx)
        .filter(|s| directory.subscription(*s).has_partner(ix))
        .collect();
    if own.is_empty() {
        w.line(format!("No subscription is sold through {partner}, and rule {rule} tells only the partners of in-scope CSP subscriptions."));
        return Ok(w.out);
    }
    w.line(format!(
        "Rule {rule} tells the partners of in-scope CSP subscriptions; {partner}'s subscriptions:"
    ));
    let matcher = Matcher::new(policy, directory, message);
    if own.iter().any(|s| matcher.admit(*s) == Admission::In) {
        w.line(format!("Some of {partner}'s subscriptions are in scope, but this policy does not tell a partner in its part ({}) about `{}` messages.", if directory.partner(ix).kind == PartnerKind::IndirectReseller { "reseller" } else { "partner of record" }, category.name));
    }
    out_of_scope(&mut w, &matcher, own.into_iter());
    Ok(w.out)
}

/// `n` customers, in words: "1 customer", "3 customers".
fn customers(n: usize) -> String {
    if n == 1 {
        "1 customer".to_owned()
    } else {
        format!("{n} customers")
    }
}
