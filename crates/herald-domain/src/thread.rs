//! Incident threads: the updates of one incident, from `investigating` to `resolved`.
//!
//! A `service_incident` or `operational` message may name a thread and a status. Each
//! update reaches everyone the thread already reached, even those its own scope no longer
//! holds (a customer whose subscription moved, a partner no longer of record), and whoever
//! is newly in scope: nobody told of an outage misses that it is over. What the thread
//! reached so far is the audience of its latest update, since each update's audience holds
//! all earlier ones; the store keeps it and hands it to [`route_update`] as [`Reached`].

use crate::directory::Directory;
use crate::ids::{CustomerIx, PartnerIx};
use crate::message::Message;
use crate::policy::{Policy, RuleIx};
use crate::route::{route, Decision, Routing};

/// One customer a thread reached so far: whether it heard directly, and the partners told
/// about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reached {
    pub customer: CustomerIx,
    pub direct: bool,
    /// Sorted, without repeats.
    pub partners: Vec<PartnerIx>,
}

/// Routes an update of a thread whose audience so far is `before` (sorted by customer,
/// one entry per customer): the message's own decisions, widened to `before` by the
/// category's thread rule. A message outside any thread, or of a category that forms no
/// threads, is routed as [`route`] does.
pub fn route_update(
    policy: &Policy,
    directory: &Directory,
    message: &Message,
    before: &[Reached],
) -> Routing {
    let routing = route(policy, directory, message);
    match policy.category(message.category).thread_rule {
        Some(rule) if message.thread.is_some() && !before.is_empty() => {
            routing.widen(directory, message, before, rule)
        }
        _ => routing,
    }
}

impl Routing {
    /// This routing widened to everyone `before` holds (sorted by customer, one entry per
    /// customer): each customer heard directly if either says so, and is told to the
    /// partners of both. What only `before` brings is decided by `rule`. Customers and
    /// partners no longer in the message's cloud are left out: a thread never crosses
    /// clouds.
    pub(crate) fn widen(
        self,
        directory: &Directory,
        message: &Message,
        before: &[Reached],
        rule: RuleIx,
    ) -> Routing {
        let in_cloud = |c: CustomerIx| directory.customer(c).cloud == message.cloud;
        let mut out = Routing {
            decisions: Vec::with_capacity(self.decisions.len() + before.len()),
            partner_pool: Vec::with_capacity(self.partner_pool.len()),
            subscription_pool: self.subscription_pool,
        };
        let mut now = self.decisions.iter().peekable();
        let mut was = before.iter().filter(|b| in_cloud(b.customer)).peekable();
        loop {
            let (d, b) = match (now.peek(), was.peek()) {
                (None, None) => break,
                (Some(d), Some(b)) if d.customer == b.customer => (now.next(), was.next()),
                (Some(d), Some(b)) if d.customer < b.customer => (now.next(), None),
                (Some(_), None) => (now.next(), None),
                _ => (None, was.next()),
            };
            let start = out.partner_pool.len();
            let current: &[PartnerIx] = d.map_or(&[], |d| {
                &self.partner_pool[d.partners.0 as usize..d.partners.1 as usize]
            });
            out.partner_pool.extend_from_slice(current);
            let mut added = false;
            if let Some(b) = b {
                for p in &b.partners {
                    if directory.partner(*p).cloud == message.cloud && !current.contains(p) {
                        out.partner_pool.push(*p);
                        added = true;
                    }
                }
                out.partner_pool[start..].sort_unstable();
            }
            let partners = (start as u32, out.partner_pool.len() as u32);
            let decision = match (d, b) {
                (Some(d), b) => {
                    let carried = b.is_some_and(|b| b.direct) && !d.direct;
                    Decision {
                        direct: d.direct || carried,
                        customer_rule: if carried { rule } else { d.customer_rule },
                        partners_rule: if added { rule } else { d.partners_rule },
                        partners,
                        ..*d
                    }
                }
                (None, Some(b)) if b.direct || added => Decision {
                    customer: b.customer,
                    direct: b.direct,
                    customer_rule: rule,
                    partners_rule: rule,
                    partners,
                    subscriptions: (0, 0),
                },
                (None, _) => continue,
            };
            out.decisions.push(decision);
        }
        out
    }
}
