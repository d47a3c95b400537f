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
use crate::policy::Policy;
use crate::route::{route, Routing};

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
