//! The rows a publish writes, computed from a routing before any I/O.
//!
//! Decisions and deliveries are written in batches: one `decision_batches` row holds up to
//! [`BATCH`] consecutive customers' decisions, and one `delivery_batches` row up to
//! [`BATCH`] deliveries, each batch body a JSON array with one entry per decision or
//! delivery. A million-customer incident is then about two thousand rows rather than two
//! million, which is what lets it be durably enqueued in a second or two: SQLite's cost is
//! per row far more than per byte. The bodies stay JSON, so SQLite's `json_each` can still
//! look inside them.
//!
//! [`stream`] builds the batches on every core, each thread from its own consecutive runs of
//! decisions, and hands each to its caller as soon as it is built: the store writes one
//! batch while the next is being built, and hands its text back to be filled again, so a
//! million customers' rows never exist all at once. The partners' copies are gathered in
//! the same pass, while each customer's ids are in the cache, and come last. [`Rows::build`]
//! collects the same rows, for the benchmark's baseline and for tests.

use std::num::NonZeroUsize;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Mutex;

use herald_domain::ids::{PartnerIx, SubscriptionIx};
use herald_domain::plan::{
    customer_copy_names, customer_readers, partner_readers, partner_share, Reader,
};
use herald_domain::route::Decision;
use herald_domain::{Directory, Message, Policy, Routing};
use serde::Deserialize;

/// The most decisions, or deliveries, one batch row holds.
pub const BATCH: usize = 1024;

/// The `messages` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub id: String,
    pub cloud: String,
    pub category: String,
    pub policy_version: String,
    /// The scope rule behind every decision of this message.
    pub scope_rule: String,
    pub request: String,
    pub accepted_at: i64,
    pub customers_in_scope: i64,
    pub customers_direct: i64,
    pub partners_told: i64,
    pub deliveries: i64,
    pub thread: Option<String>,
    pub status: Option<&'static str>,
}

/// A `decision_batches` row: the decisions of up to [`BATCH`] customers, in id order.
///
/// Each entry of `body` is `[customer, direct, partners, subscriptions, copy, customer rule,
/// partners rule]`, where `copy` lists the subscriptions the customer's own copy names when
/// it hears directly, and is `null` otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionBatch<'a> {
    pub first_customer: &'a str,
    pub customers: usize,
    pub body: String,
}

/// Who a delivery goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient {
    Customer,
    Partner,
    /// The vendor itself, through its webhook endpoints.
    Vendor,
}

impl Recipient {
    /// The name stored in the `recipient` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Recipient::Customer => "customer",
            Recipient::Partner => "partner",
            Recipient::Vendor => "vendor",
        }
    }
}

/// A `delivery_batches` row: up to [`BATCH`] pending deliveries of one message, to one kind
/// of recipient, on one channel. Each entry of `body` is `[organisation, contact, address,
/// locale]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryBatch {
    pub recipient: Recipient,
    pub channel: &'static str,
    pub deliveries: usize,
    pub body: String,
}

/// A `partner_copies` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerCopyRow<'a> {
    pub partner: &'a str,
    pub customers: String,
    pub subscriptions: String,
}

/// What a publish is made from: a message routed against a directory under a policy,
/// accepted at `accepted_at` (Unix milliseconds).
#[derive(Clone, Copy, Debug)]
pub struct Publish<'a> {
    pub policy: &'a Policy,
    pub directory: &'a Directory,
    pub message: &'a Message,
    pub routing: &'a Routing,
    pub accepted_at: i64,
    /// For an update of a thread, the thread's latest message when the routing was widened
    /// to its audience ([`herald_domain::thread::route_update`]); `None` for the first
    /// message of a thread, or one outside any. The store refuses the publish when the
    /// thread has moved on since.
    pub thread_head: Option<i64>,
}

/// A batch row, handed over as soon as it is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Batch<'a> {
    Decisions(DecisionBatch<'a>),
    Deliveries(DeliveryBatch),
}

impl Batch<'_> {
    /// The batch's text, to be filled again once it is written.
    pub fn into_body(self) -> String {
        match self {
            Batch::Decisions(b) => b.body,
            Batch::Deliveries(b) => b.body,
        }
    }
}

/// What is left to write once every batch is: the message with its final counts, and the
/// partners' copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tail<'a> {
    pub message: MessageRow,
    pub partner_copies: Vec<PartnerCopyRow<'a>>,
}

/// Everything one publish writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows<'a> {
    pub message: MessageRow,
    pub decisions: Vec<DecisionBatch<'a>>,
    pub partner_copies: Vec<PartnerCopyRow<'a>>,
    pub deliveries: Vec<DeliveryBatch>,
}

/// One decision as a batch body holds it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DecisionEntry(
    pub String,
    pub bool,
    pub Vec<String>,
    pub Vec<String>,
    pub Option<Vec<String>>,
    pub String,
    pub String,
);

/// One delivery as a batch body holds it: organisation, contact, address, locale.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DeliveryEntry(pub String, pub String, pub String, pub String);

/// Appends `text` as a JSON string. Ids and addresses are nearly always plain text, written
/// as they are; any other is escaped by serde_json.
fn push_string(out: &mut String, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(text).expect("a string serialises"));
    }
}

/// Appends a JSON array of strings.
fn push_strings<'s>(out: &mut String, texts: impl Iterator<Item = &'s str>) {
    out.push('[');
    for (i, text) in texts.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(out, text);
    }
    out.push(']');
}

/// Text buffers handed back after their batch is written, to be filled again.
#[derive(Default)]
struct Buffers(Mutex<Vec<String>>);

impl Buffers {
    /// An empty buffer of at least `size` bytes.
    fn take(&self, size: usize) -> String {
        let reused = self.0.lock().expect("no thread panics holding it").pop();
        let mut text = reused.unwrap_or_default();
        text.clear();
        text.reserve(size);
        text
    }

    fn give(&self, text: String) {
        self.0
            .lock()
            .expect("no thread panics holding it")
            .push(text);
    }
}

/// Builds delivery batches, cutting one every [`BATCH`] entries.
struct DeliveryBatches {
    recipient: Recipient,
    body: String,
    count: usize,
    /// The size to give the next body: a little more than the last one's.
    body_size: usize,
}

impl DeliveryBatches {
    fn new(recipient: Recipient) -> Self {
        DeliveryBatches {
            recipient,
            body: String::new(),
            count: 0,
            body_size: 0,
        }
    }

    /// Adds the email delivery of a copy of organisation `org` to one of its readers, and
    /// returns the batch it completes, if it does.
    fn push(
        &mut self,
        directory: &Directory,
        buffers: &Buffers,
        org: &str,
        reader: &Reader<'_>,
    ) -> Option<DeliveryBatch> {
        let contact = directory.contact(reader.contact);
        if self.count == 0 {
            self.body = buffers.take(self.body_size);
            self.body.push('[');
        } else {
            self.body.push(',');
        }
        self.body.push('[');
        push_string(&mut self.body, org);
        self.body.push(',');
        push_string(&mut self.body, contact.id.as_str());
        self.body.push(',');
        push_string(&mut self.body, &contact.email);
        self.body.push(',');
        push_string(&mut self.body, reader.locale);
        self.body.push(']');
        self.count += 1;
        (self.count == BATCH).then(|| self.cut())
    }

    /// The batch of the deliveries pushed since the last one, if any.
    fn finish(&mut self) -> Option<DeliveryBatch> {
        (self.count > 0).then(|| self.cut())
    }

    fn cut(&mut self) -> DeliveryBatch {
        self.body.push(']');
        self.body_size = self.body.len() + self.body.len() / 8;
        let deliveries = std::mem::take(&mut self.count);
        DeliveryBatch {
            recipient: self.recipient,
            channel: "email",
            deliveries,
            body: std::mem::take(&mut self.body),
        }
    }
}

/// What one partner's copy gathers from one thread's share of the decisions: the ids of
/// its customers and of its subscriptions, each as the inside of a JSON array.
struct PartnerPart {
    partner: PartnerIx,
    customers: String,
    subscriptions: String,
}

/// What one thread gathers besides the batches it hands over.
#[derive(Default)]
struct Share {
    direct: usize,
    deliveries: usize,
    partners: Vec<PartnerPart>,
}

/// Appends `text` to the inside of a JSON array, after a comma unless it is the first.
fn push_item(list: &mut String, text: &str) {
    if !list.is_empty() {
        list.push(',');
    }
    push_string(list, text);
}

/// Joins the insides of JSON arrays, in order, into one array.
fn join_lists<'s>(parts: impl Iterator<Item = &'s str>) -> String {
    let mut out = String::from("[");
    for part in parts.filter(|p| !p.is_empty()) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(part);
    }
    out.push(']');
    out
}

/// One builder thread: its share of the decisions, the buffers it fills and where it hands
/// its batches.
struct Builder<'p, 'a> {
    publish: &'p Publish<'a>,
    buffers: &'p Buffers,
    out: SyncSender<Batch<'a>>,
}

/// What a builder thread keeps while it works through its share.
struct Work<'a> {
    share: Share,
    /// Where each partner's part is in `share.partners`, by partner index.
    slot: Vec<u32>,
    /// How many customers, and in-scope subscriptions, each partner's part lists at most,
    /// so its lists are sized once.
    sizes: Vec<(u32, u32)>,
    deliveries: DeliveryBatches,
    /// The readers of the customer at hand, in a list used again for every customer.
    readers: Vec<Reader<'a>>,
}

impl<'a> Builder<'_, 'a> {
    /// Builds and hands over the batches of consecutive `runs` of decisions, and gathers
    /// the partners' copies. Buffers are sized from what came before, so they seldom grow.
    /// Stops early, with what it has, when the receiver is gone.
    fn share(&self, runs: &[&[Decision]]) -> Share {
        let Publish {
            directory, routing, ..
        } = *self.publish;
        let mut work = Work {
            share: Share::default(),
            slot: vec![u32::MAX; directory.partners().len()],
            sizes: vec![(0, 0); directory.partners().len()],
            deliveries: DeliveryBatches::new(Recipient::Customer),
            readers: Vec::new(),
        };
        for d in runs.iter().flat_map(|run| run.iter()) {
            for p in routing.partners(d) {
                let size = &mut work.sizes[p.get()];
                size.0 += 1;
                size.1 += routing.subscriptions(d).len() as u32;
            }
        }
        let mut body_size = 0;
        for run in runs {
            let mut body = self.buffers.take(body_size);
            body.push('[');
            for (i, d) in run.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                self.decision(d, &mut body, &mut work);
            }
            body.push(']');
            body_size = body.len() + body.len() / 8;
            let batch = DecisionBatch {
                first_customer: directory.customer(run[0].customer).id.as_str(),
                customers: run.len(),
                body,
            };
            if self.out.send(Batch::Decisions(batch)).is_err() {
                return work.share;
            }
        }
        if let Some(batch) = work.deliveries.finish() {
            work.share.deliveries += batch.deliveries;
            let _ = self.out.send(Batch::Deliveries(batch));
        }
        work.share
    }

    /// Everything one decision becomes, while its customer's ids are in the cache: its
    /// entry in `body`, the deliveries of the customer's own copy (handing over each
    /// batch of them it completes), and its part of each partner's copy.
    fn decision(&self, d: &Decision, body: &mut String, work: &mut Work<'a>) {
        let Publish {
            policy,
            directory,
            message,
            routing,
            ..
        } = *self.publish;
        let category = policy.category(message.category);
        let sub_id = |s: SubscriptionIx| directory.subscription(s).id.as_str();
        let customer = directory.customer(d.customer).id.as_str();
        body.push('[');
        push_string(body, customer);
        body.push_str(if d.direct { ",true," } else { ",false," });
        push_strings(
            body,
            routing
                .partners(d)
                .iter()
                .map(|p| directory.partner(*p).id.as_str()),
        );
        body.push(',');
        push_strings(body, routing.subscriptions(d).iter().map(|s| sub_id(*s)));
        body.push(',');
        if d.direct {
            work.share.direct += 1;
            push_strings(
                body,
                customer_copy_names(category, directory, routing, d).map(sub_id),
            );
            let mut readers = std::mem::take(&mut work.readers);
            customer_readers(policy, directory, message, d.customer, &mut readers);
            for reader in &readers {
                let full = work
                    .deliveries
                    .push(directory, self.buffers, customer, reader);
                if let Some(batch) = full {
                    work.share.deliveries += batch.deliveries;
                    // A receiver that is gone is seen when the decisions are handed over.
                    let _ = self.out.send(Batch::Deliveries(batch));
                }
            }
            work.readers = readers;
        } else {
            body.push_str("null");
        }
        body.push(',');
        push_string(body, &policy.rule(d.customer_rule).id);
        body.push(',');
        push_string(body, &policy.rule(d.partners_rule).id);
        body.push(']');

        for p in routing.partners(d) {
            let i = &mut work.slot[p.get()];
            if *i == u32::MAX {
                *i = work.share.partners.len() as u32;
                let (customers, subscriptions) = work.sizes[p.get()];
                let id_size = |id: &str| id.len() + 3;
                let sub_size = routing
                    .subscriptions(d)
                    .first()
                    .map_or(0, |s| id_size(sub_id(*s)));
                work.share.partners.push(PartnerPart {
                    partner: *p,
                    customers: String::with_capacity(customers as usize * id_size(customer)),
                    subscriptions: String::with_capacity(subscriptions as usize * sub_size),
                });
            }
            let part = &mut work.share.partners[*i as usize];
            push_item(&mut part.customers, customer);
            for s in partner_share(category, directory, routing, d, *p) {
                push_item(&mut part.subscriptions, sub_id(s));
            }
        }
    }
}

impl MessageRow {
    /// The message row of a publish, before its batches are counted.
    pub fn new(publish: &Publish<'_>) -> MessageRow {
        let Publish {
            policy,
            directory,
            message,
            routing,
            accepted_at,
            ..
        } = *publish;
        let category = policy.category(message.category);
        MessageRow {
            id: message.id.to_string(),
            cloud: directory.cloud(message.cloud).to_string(),
            category: category.name.clone(),
            policy_version: policy.version().to_owned(),
            scope_rule: policy.rule(category.scope_rule).id.clone(),
            request: message.wire.canonical(),
            accepted_at,
            customers_in_scope: routing.decisions().len() as i64,
            customers_direct: 0,
            partners_told: 0,
            deliveries: 0,
            thread: message.thread.as_ref().map(|t| t.id.to_string()),
            status: message.thread.as_ref().map(|t| t.status.as_str()),
        }
    }
}

/// Builds the rows of a publish on up to `threads` threads, handing each batch to `sink` on
/// the calling thread as soon as it is built; `sink` may hand the batch's text back, to be
/// filled again. Decision batches come in customer order within each thread's share, and
/// partner deliveries last. Returns the message row, counted, and the partners' copies;
/// stops at the first error of `sink`.
pub fn stream<'a, E>(
    publish: &Publish<'a>,
    threads: usize,
    mut sink: impl FnMut(Batch<'a>) -> Result<Option<String>, E>,
) -> Result<Tail<'a>, E> {
    let Publish {
        policy,
        directory,
        message,
        routing,
        ..
    } = *publish;
    let runs: Vec<&[Decision]> = routing.decisions().chunks(BATCH).collect();
    let per_thread = runs.len().div_ceil(threads.max(1)).max(1);
    let buffers = Buffers::default();
    let (out, batches) = sync_channel(4 * threads.max(1));
    let (shares, failure) = std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .chunks(per_thread)
            .map(|runs| {
                let builder = Builder {
                    publish,
                    buffers: &buffers,
                    out: out.clone(),
                };
                scope.spawn(move || builder.share(runs))
            })
            .collect();
        drop(out);
        let mut failure = None;
        for batch in batches {
            match sink(batch) {
                Ok(Some(text)) => buffers.give(text),
                Ok(None) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let shares: Vec<Share> = handles
            .into_iter()
            .map(|h| h.join().expect("building rows does not panic"))
            .collect();
        (shares, failure)
    });
    if let Some(e) = failure {
        return Err(e);
    }

    let mut row = MessageRow::new(publish);
    let mut parts = Vec::new();
    for share in shares {
        row.customers_direct += share.direct as i64;
        row.deliveries += share.deliveries as i64;
        parts.extend(share.partners);
    }
    // Each partner's parts, in customer order, make its copy; copies go in partner id order.
    parts.sort_by_key(|part| part.partner);
    let mut partner_copies = Vec::new();
    let mut partner_deliveries = DeliveryBatches::new(Recipient::Partner);
    let mut hand_over = |batch: DeliveryBatch, row: &mut MessageRow| {
        row.deliveries += batch.deliveries as i64;
        sink(Batch::Deliveries(batch)).map(|_| ())
    };
    for group in parts.chunk_by(|a, b| a.partner == b.partner) {
        let partner = directory.partner(group[0].partner);
        for reader in &partner_readers(policy, directory, message, group[0].partner) {
            if let Some(batch) =
                partner_deliveries.push(directory, &buffers, partner.id.as_str(), reader)
            {
                hand_over(batch, &mut row)?;
            }
        }
        partner_copies.push(PartnerCopyRow {
            partner: partner.id.as_str(),
            customers: join_lists(group.iter().map(|p| p.customers.as_str())),
            subscriptions: join_lists(group.iter().map(|p| p.subscriptions.as_str())),
        });
    }
    if let Some(batch) = partner_deliveries.finish() {
        hand_over(batch, &mut row)?;
    }
    row.partners_told = partner_copies.len() as i64;
    Ok(Tail {
        message: row,
        partner_copies,
    })
}

/// How many threads build rows: one per core.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

impl<'a> Rows<'a> {
    /// Every row of a publish, collected.
    pub fn build(publish: &Publish<'a>) -> Rows<'a> {
        let mut decisions = Vec::new();
        let mut deliveries = Vec::new();
        let tail = stream(publish, threads(), |batch| {
            match batch {
                Batch::Decisions(b) => decisions.push(b),
                Batch::Deliveries(b) => deliveries.push(b),
            }
            Ok::<_, std::convert::Infallible>(None)
        });
        let Ok(Tail {
            message,
            partner_copies,
        }) = tail;
        decisions.sort_by(|a: &DecisionBatch, b| a.first_customer.cmp(b.first_customer));
        Rows {
            message,
            decisions,
            partner_copies,
            deliveries,
        }
    }
}
