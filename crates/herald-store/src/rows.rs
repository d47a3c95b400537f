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
//! [`stream`] builds the rows on every core and hands each to its caller as soon as it is
//! built: the store writes one while the next is being built, and hands its text back to be
//! filled again, so a million customers' rows never exist all at once. The work is cut in
//! pieces that free threads take in turn, table by table: the decision batches, then the
//! customers' deliveries, then the copies of a few dozen consecutive partners at a time
//! (with their deliveries). Rows of one table arrive together: interleaving two tables'
//! inserts left twice the work to the commit. The writing thread builds a piece itself
//! whenever no row is ready, rather than wait. Halfway through the decisions one builder
//! thread sorts them by partner ([`Audiences`]) while the others go on, so that each copy
//! is read from two short lists rather than gathered from the whole routing. Ids are written from the
//! directory's packed names ([`PackedNames`]), which lie in the order the records are
//! walked. [`Rows::build`] collects the same rows, for the benchmark's baseline and for
//! tests.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TryRecvError};
use std::sync::{Mutex, OnceLock};

use herald_domain::directory::{quotable, Packed, PackedNames};
use herald_domain::ids::{CustomerIx, PartnerIx, SubscriptionIx};
use herald_domain::plan::{
    customer_copy_names, customer_readers, partner_readers, partner_share, Reader,
};
use herald_domain::route::Decision;
use herald_domain::{Directory, Message, Policy, Routing};
use serde::{Deserialize, Serialize};

use crate::json::to_json;

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

/// Who a delivery goes to: the `recipient` column of `delivery_batches`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
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

/// The `partner_copies` rows of a few partners, their texts end to end in one buffer, so
/// that thousands of small rows cross between threads a few dozen at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerCopies<'a> {
    text: String,
    /// Each partner's id, where its customers' array starts in `text`, where its
    /// subscriptions' array starts, and where that ends.
    rows: Vec<(&'a str, usize, usize, usize)>,
}

/// A `partner_copies` row: the ids of the partner's customers, and of the subscriptions its
/// copy may name, each a JSON array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartnerCopyRow<'a, 't> {
    pub partner: &'a str,
    pub customers: &'t str,
    pub subscriptions: &'t str,
}

impl<'a> PartnerCopies<'a> {
    /// The rows, in partner id order.
    pub fn rows(&self) -> impl Iterator<Item = PartnerCopyRow<'a, '_>> {
        self.rows
            .iter()
            .map(|(partner, start, split, end)| PartnerCopyRow {
                partner,
                customers: &self.text[*start..*split],
                subscriptions: &self.text[*split..*end],
            })
    }
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
    /// to its audience; `None` for the first
    /// message of a thread, or one outside any. The store refuses the publish when the
    /// thread has moved on since.
    pub thread_head: Option<i64>,
}

/// A row, handed over as soon as it is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Batch<'a> {
    Decisions(DecisionBatch<'a>),
    Deliveries(DeliveryBatch),
    Copies(PartnerCopies<'a>),
}

impl Batch<'_> {
    /// The row's text, to be filled again once it is written.
    pub fn into_body(self) -> String {
        match self {
            Batch::Decisions(b) => b.body,
            Batch::Deliveries(b) => b.body,
            Batch::Copies(c) => c.text,
        }
    }
}

/// What each partner's copy lists: its customers, and the subscriptions it may name, in
/// customer order. Gathered in one pass over the decisions, in the order they lie in
/// memory, so that building the copies afterwards reads each partner's lists in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audiences {
    /// Where partner `p`'s customers start in `customers`, and its subscriptions in
    /// `subscriptions`; its customers end where the next partner's start.
    starts: Vec<(u32, u32)>,
    /// Where partner `p`'s subscriptions end: its part of `subscriptions` has room for
    /// every in-scope subscription of its customers, and holds those it may name.
    ends: Vec<u32>,
    customers: Vec<CustomerIx>,
    subscriptions: Vec<SubscriptionIx>,
}

impl Audiences {
    /// Sorts the decisions of a publish by the partners they name, counting first so that
    /// each customer and subscription lands in its place at once.
    pub fn gather(publish: &Publish<'_>) -> Audiences {
        let Publish {
            policy,
            directory,
            message,
            routing,
            ..
        } = *publish;
        let category = policy.category(message.category);
        let mut starts = vec![(0u32, 0u32); directory.partners().len() + 1];
        for d in routing.decisions() {
            let room = routing.subscriptions(d).len() as u32;
            for p in routing.partners(d) {
                let count = &mut starts[p.get() + 1];
                count.0 += 1;
                count.1 += room;
            }
        }
        for i in 1..starts.len() {
            starts[i].0 += starts[i - 1].0;
            starts[i].1 += starts[i - 1].1;
        }
        let (customers, room) = starts.last().copied().unwrap_or_default();
        let mut next = starts.clone();
        let mut customer_list = vec![CustomerIx(0); customers as usize];
        let mut subscription_list = vec![SubscriptionIx(0); room as usize];
        for d in routing.decisions() {
            for p in routing.partners(d) {
                let (customer, subscription) = &mut next[p.get()];
                customer_list[*customer as usize] = d.customer;
                *customer += 1;
                for s in partner_share(category, directory, routing, d, *p) {
                    subscription_list[*subscription as usize] = s;
                    *subscription += 1;
                }
            }
        }
        Audiences {
            ends: next.iter().map(|(_, end)| *end).collect(),
            starts,
            customers: customer_list,
            subscriptions: subscription_list,
        }
    }

    /// The customers of partner `p`'s copy, in id order: none when it was not told.
    pub fn customers(&self, p: PartnerIx) -> &[CustomerIx] {
        &self.customers[self.starts[p.get()].0 as usize..self.starts[p.get() + 1].0 as usize]
    }

    /// The subscriptions partner `p`'s copy may name, in customer order.
    pub fn subscriptions(&self, p: PartnerIx) -> &[SubscriptionIx] {
        &self.subscriptions[self.starts[p.get()].1 as usize..self.ends[p.get()] as usize]
    }
}

/// What is left to write once every row is: the message with its final counts. The
/// partners' audiences come with it, for the webhooks a publish queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tail {
    pub message: MessageRow,
    pub audiences: Audiences,
}

/// Everything one publish writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows<'a> {
    pub message: MessageRow,
    pub decisions: Vec<DecisionBatch<'a>>,
    /// The partners' copies, a few partners to a group.
    pub copies: Vec<PartnerCopies<'a>>,
    pub deliveries: Vec<DeliveryBatch>,
}

/// One decision as a batch body holds it. A batch body is a JSON array of these, each
/// written as an array of its fields in the order they are declared here (the shape
/// publish writes at speed, see [`Rows`]); serde reads a struct from such an array by
/// position.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DecisionEntry {
    pub customer: String,
    /// Whether the vendor tells the customer directly.
    pub direct: bool,
    /// The partners told about the customer.
    pub partners: Vec<String>,
    /// The customer's subscriptions in the message's scope.
    pub subscriptions: Vec<String>,
    /// The subscriptions the customer's own copy names, when it heard directly.
    pub copy: Option<Vec<String>>,
    /// The rule that decided whether the customer is told.
    pub customer_rule: String,
    /// The rule that decided which partners are told.
    pub partners_rule: String,
}

/// One delivery as a batch body holds it, an array of its fields in this order.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DeliveryEntry {
    /// The partner or customer the delivery is for.
    pub organisation: String,
    /// The contact's id.
    pub contact: String,
    /// The address mailed.
    pub address: String,
    /// The language the mail is written in.
    pub locale: String,
}

/// Appends `text` as a JSON string. Ids and addresses are nearly always plain text, written
/// as they are; any other is escaped by serde_json.
fn push_string(out: &mut String, text: &str) {
    if quotable(text) {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(text).expect("a string serialises"));
    }
}

/// Appends the name at index `i` of `names` as a JSON string: as it is stored, between its
/// quotes, when the whole kind is plain, which is the common case, and escaped as needed
/// otherwise.
fn push_name(out: &mut String, names: &Packed, i: usize) {
    match names.quoted(i) {
        Some(quoted) => out.push_str(quoted),
        None => push_string(out, names.get(i)),
    }
}

/// Appends a JSON array of names.
fn push_names(out: &mut String, names: &Packed, items: impl Iterator<Item = usize>) {
    out.push('[');
    for (n, i) in items.enumerate() {
        if n > 0 {
            out.push(',');
        }
        push_name(out, names, i);
    }
    out.push(']');
}

/// Text buffers handed back after their row is written, to be filled again: large ones for
/// batches, small ones for partner copies, so a batch seldom gets a buffer it must grow.
/// The store keeps one set for all its publishes, so a publish fills memory the last one
/// already had rather than pages the system must hand over, and clear, again.
#[derive(Default)]
pub(crate) struct Buffers {
    large: Mutex<Vec<String>>,
    small: Mutex<Vec<String>>,
}

/// The capacity from which a buffer counts as large.
const LARGE: usize = 64 * 1024;

/// The most buffers of each size kept for the next publish: about as many as are ever in
/// flight at once.
const KEPT: usize = 64;

impl std::fmt::Debug for Buffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |pool: &Mutex<Vec<String>>| pool.lock().map_or(0, |p| p.len());
        f.debug_struct("Buffers")
            .field("large", &count(&self.large))
            .field("small", &count(&self.small))
            .finish()
    }
}

impl Buffers {
    fn pool(&self, size: usize) -> &Mutex<Vec<String>> {
        if size >= LARGE {
            &self.large
        } else {
            &self.small
        }
    }

    /// An empty buffer of at least `size` bytes.
    fn take(&self, size: usize) -> String {
        let reused = self
            .pool(size)
            .lock()
            .expect("no thread panics holding it")
            .pop();
        let mut text = reused.unwrap_or_default();
        text.clear();
        text.reserve(size);
        text
    }

    fn give(&self, text: String) {
        let mut pool = self
            .pool(text.capacity())
            .lock()
            .expect("no thread panics holding it");
        if pool.len() < KEPT {
            pool.push(text);
        }
    }
}

/// An organisation a delivery goes to, by its index among partners or customers.
#[derive(Clone, Copy)]
struct Org<'d> {
    names: &'d Packed,
    ix: usize,
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
        names: &PackedNames,
        buffers: &Buffers,
        org: Org<'_>,
        reader: &Reader<'_>,
    ) -> Option<DeliveryBatch> {
        if self.count == 0 {
            self.body = buffers.take(self.body_size);
            self.body.push('[');
        } else {
            self.body.push(',');
        }
        self.body.push('[');
        push_name(&mut self.body, org.names, org.ix);
        self.body.push(',');
        push_name(&mut self.body, &names.contacts, reader.contact.get());
        self.body.push(',');
        push_name(&mut self.body, &names.emails, reader.contact.get());
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

/// A piece of a publish's work, taken by whichever builder thread is free.
enum Item<'r> {
    /// One batch of consecutive decisions.
    Decisions(&'r [Decision]),
    /// The deliveries of the copies of the customers one batch of decisions reaches
    /// directly.
    Deliveries(&'r [Decision]),
    /// The copies of the partners told among a range of consecutive partners, with their
    /// deliveries.
    Copies(Range<usize>),
}

/// How many consecutive partners one piece of work looks at for copies to build.
const PARTNERS: usize = 64;

/// The pieces of a publish's work, table by table: its decisions in batches, its
/// customers' deliveries, then its partners' copies.
fn items<'r>(directory: &Directory, routing: &'r Routing) -> Vec<Item<'r>> {
    let partners = directory.partners().len();
    routing
        .decisions()
        .chunks(BATCH)
        .map(Item::Decisions)
        .chain(routing.decisions().chunks(BATCH).map(Item::Deliveries))
        .chain(
            (0..partners)
                .step_by(PARTNERS)
                .map(|p| Item::Copies(p..(p + PARTNERS).min(partners))),
        )
        .collect()
}

/// What one builder thread counts besides the rows it hands over.
#[derive(Default)]
struct Counts {
    direct: usize,
    deliveries: usize,
    partners_told: usize,
}

/// Hands a row the writing thread built itself straight to `write`, counting its
/// deliveries; keeps the first failure in `failure` and answers whether it was written.
fn through<'w, 'a, E>(
    write: &'w mut impl FnMut(Batch<'a>) -> Result<(), E>,
    failure: &'w mut Option<E>,
) -> impl FnMut(Batch<'a>, &mut Counts) -> bool + 'w {
    move |batch, counts| {
        count(&batch, counts);
        write(batch).map_err(|e| *failure = Some(e)).is_ok()
    }
}

/// Counts the deliveries a row carries.
fn count(batch: &Batch<'_>, counts: &mut Counts) {
    if let Batch::Deliveries(b) = batch {
        counts.deliveries += b.deliveries;
    }
}

/// What the builder threads share: the publish, its audiences once gathered, the work to
/// share out and where each row goes.
struct Builder<'p, 'a> {
    publish: &'p Publish<'a>,
    audiences: &'p OnceLock<Audiences>,
    items: &'p [Item<'p>],
    next: &'p AtomicUsize,
    /// The piece from which on the audiences are sorted: halfway through the decisions,
    /// so that the other threads have the rest of them and the deliveries to build
    /// meanwhile, and none waits for it.
    halfway: usize,
    /// Whether a thread has started sorting the audiences.
    sorting: &'p AtomicBool,
    buffers: &'p Buffers,
}

/// What a builder thread keeps while it works.
struct Work<'a> {
    counts: Counts,
    customers: DeliveryBatches,
    partners: DeliveryBatches,
    /// The readers of the customer at hand, in a list used again for every customer.
    readers: Vec<Reader<'a>>,
    /// The size to give the next decision batch: a little more than the last one's.
    body_size: usize,
    /// The subscriptions of the decision at hand, as a JSON array, in a text used again for
    /// every decision.
    listed: String,
}

impl Work<'_> {
    fn new() -> Self {
        Work {
            counts: Counts::default(),
            customers: DeliveryBatches::new(Recipient::Customer),
            partners: DeliveryBatches::new(Recipient::Partner),
            readers: Vec::new(),
            body_size: 0,
            listed: String::new(),
        }
    }
}

impl<'a> Builder<'_, 'a> {
    /// The partners' audiences, gathered by the thread that takes that piece of work; a
    /// thread that needs them sooner waits for it.
    fn audiences(&self) -> &Audiences {
        self.audiences
            .get_or_init(|| Audiences::gather(self.publish))
    }

    /// Takes pieces of work until none is left, handing over every row it builds. Stops
    /// early when the receiver is gone.
    fn run(&self, out: &SyncSender<Batch<'a>>) -> Counts {
        let mut work = Work::new();
        let mut send = |batch: Batch<'a>, counts: &mut Counts| {
            count(&batch, counts);
            out.send(batch).is_ok()
        };
        while let Some(handed) = self.take(&mut work, &mut send, true) {
            if !handed {
                return work.counts;
            }
        }
        self.finish(&mut work, &mut send);
        work.counts
    }

    /// Takes the next piece of work and builds it, handing over its rows; `None` when no
    /// piece is left, or whether everything was handed over. Only a thread that may `sort`
    /// sorts the audiences, once half the decisions are taken.
    fn take(
        &self,
        work: &mut Work<'a>,
        send: &mut impl FnMut(Batch<'a>, &mut Counts) -> bool,
        sort: bool,
    ) -> Option<bool> {
        if sort
            && self.next.load(Ordering::Relaxed) >= self.halfway
            && !self.sorting.swap(true, Ordering::Relaxed)
        {
            self.audiences();
        }
        let item = self.items.get(self.next.fetch_add(1, Ordering::Relaxed))?;
        Some(match item {
            Item::Decisions(run) => self.decisions(run, work, send),
            Item::Deliveries(run) => self.deliveries(run, work, send),
            Item::Copies(partners) => self.copies(partners.clone(), work, send),
        })
    }

    /// Hands over the deliveries a thread gathered short of a whole batch.
    fn finish(&self, work: &mut Work<'a>, send: &mut impl FnMut(Batch<'a>, &mut Counts) -> bool) {
        for batch in [work.customers.finish(), work.partners.finish()]
            .into_iter()
            .flatten()
        {
            send(Batch::Deliveries(batch), &mut work.counts);
        }
    }

    /// Builds the batch of a run of decisions, handing over with it each batch of
    /// deliveries it completes. Answers whether everything was handed over.
    fn decisions(
        &self,
        run: &[Decision],
        work: &mut Work<'a>,
        send: &mut impl FnMut(Batch<'a>, &mut Counts) -> bool,
    ) -> bool {
        let Publish {
            policy,
            directory,
            message,
            routing,
            ..
        } = *self.publish;
        let names = directory.packed();
        let category = policy.category(message.category);
        let mut body = self.buffers.take(work.body_size);
        body.push('[');
        for (i, d) in run.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            let customer = d.customer.get();
            body.push('[');
            push_name(&mut body, &names.customers, customer);
            body.push_str(if d.direct { ",true," } else { ",false," });
            push_names(
                &mut body,
                &names.partners,
                routing.partners(d).iter().map(|p| p.get()),
            );
            body.push(',');
            work.listed.clear();
            push_names(
                &mut work.listed,
                &names.subscriptions,
                routing.subscriptions(d).iter().map(|s| s.get()),
            );
            body.push_str(&work.listed);
            body.push(',');
            if d.direct {
                work.counts.direct += 1;
                let copy = || customer_copy_names(category, directory, routing, d);
                if copy().count() == routing.subscriptions(d).len() {
                    // The copy names every subscription listed: the same text again.
                    body.push_str(&work.listed);
                } else {
                    push_names(&mut body, &names.subscriptions, copy().map(|s| s.get()));
                }
            } else {
                body.push_str("null");
            }
            body.push(',');
            push_string(&mut body, &policy.rule(d.customer_rule).id);
            body.push(',');
            push_string(&mut body, &policy.rule(d.partners_rule).id);
            body.push(']');
        }
        body.push(']');
        work.body_size = body.len() + body.len() / 8;
        let batch = DecisionBatch {
            first_customer: names.customers.get(run[0].customer.get()),
            customers: run.len(),
            body,
        };
        send(Batch::Decisions(batch), &mut work.counts)
    }

    /// Adds the deliveries of the copies of the customers a run of decisions reaches
    /// directly, handing over each batch of them it completes. Answers whether everything
    /// was handed over.
    fn deliveries(
        &self,
        run: &[Decision],
        work: &mut Work<'a>,
        send: &mut impl FnMut(Batch<'a>, &mut Counts) -> bool,
    ) -> bool {
        let Publish {
            policy,
            directory,
            message,
            ..
        } = *self.publish;
        let names = directory.packed();
        for d in run.iter().filter(|d| d.direct) {
            customer_readers(policy, directory, message, d.customer, &mut work.readers);
            let org = Org {
                names: &names.customers,
                ix: d.customer.get(),
            };
            let batches = &mut work.customers;
            if !self.deliver(batches, org, &work.readers, &mut work.counts, send) {
                return false;
            }
        }
        true
    }

    /// Adds the deliveries of `org`'s copy to each of its `readers`, handing over each batch
    /// they complete. Answers whether everything was handed over.
    fn deliver(
        &self,
        batches: &mut DeliveryBatches,
        org: Org<'_>,
        readers: &[Reader<'_>],
        counts: &mut Counts,
        send: &mut impl FnMut(Batch<'a>, &mut Counts) -> bool,
    ) -> bool {
        let names = self.publish.directory.packed();
        readers.iter().all(|reader| {
            batches
                .push(names, self.buffers, org, reader)
                .is_none_or(|batch| send(Batch::Deliveries(batch), counts))
        })
    }

    /// Builds the copies of the partners told among `partners`, each listing its customers
    /// and the subscriptions it may name, in customer order, and their deliveries, and hands
    /// the copies over together. Answers whether everything was handed over.
    fn copies(
        &self,
        partners: Range<usize>,
        work: &mut Work<'a>,
        send: &mut impl FnMut(Batch<'a>, &mut Counts) -> bool,
    ) -> bool {
        let Publish {
            policy,
            directory,
            message,
            ..
        } = *self.publish;
        let names = directory.packed();
        let audiences = self.audiences();
        let told = partners
            .map(|p| PartnerIx(p as u32))
            .filter(|p| !audiences.customers(*p).is_empty());
        let size = told
            .clone()
            .map(|p| 16 * (audiences.customers(p).len() + audiences.subscriptions(p).len()))
            .sum();
        let mut copies = PartnerCopies {
            text: self.buffers.take(size),
            rows: Vec::new(),
        };
        for p in told {
            let start = copies.text.len();
            push_names(
                &mut copies.text,
                &names.customers,
                audiences.customers(p).iter().map(|c| c.get()),
            );
            let split = copies.text.len();
            push_names(
                &mut copies.text,
                &names.subscriptions,
                audiences.subscriptions(p).iter().map(|s| s.get()),
            );
            let end = copies.text.len();
            copies
                .rows
                .push((names.partners.get(p.get()), start, split, end));
            work.counts.partners_told += 1;
            let org = Org {
                names: &names.partners,
                ix: p.get(),
            };
            let readers = partner_readers(policy, directory, message, p);
            if !self.deliver(&mut work.partners, org, &readers, &mut work.counts, send) {
                return false;
            }
        }
        copies.rows.is_empty() || send(Batch::Copies(copies), &mut work.counts)
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

/// Builds the rows of a publish on up to `threads` threads, handing each to `sink` on the
/// calling thread as soon as it is built; `sink` may hand the row's text back, to be filled
/// again, into `buffers`. Rows come in no set order: decision batches first, partners' copies after them.
/// Returns the message row, counted, and the partners' audiences; stops at the first error
/// of `sink`.
pub(crate) fn stream<'a, E>(
    publish: &Publish<'a>,
    threads: usize,
    buffers: &Buffers,
    mut sink: impl FnMut(Batch<'a>) -> Result<Option<String>, E>,
) -> Result<Tail, E> {
    let items = items(publish.directory, publish.routing);
    let audiences = OnceLock::new();
    let next = AtomicUsize::new(0);
    let sorting = AtomicBool::new(false);
    let builder = Builder {
        publish,
        audiences: &audiences,
        items: &items,
        next: &next,
        halfway: publish.routing.decisions().len().div_ceil(BATCH) / 2,
        sorting: &sorting,
        buffers,
    };
    let threads = threads.clamp(1, items.len().max(1));
    let (out, batches) = sync_channel(16 * threads);
    let (counts, failure) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let out = out.clone();
                let builder = &builder;
                scope.spawn(move || builder.run(&out))
            })
            .collect();
        drop(out);
        // This thread writes; when no row is ready, it builds a piece itself rather than
        // wait, and writes that piece's rows as they are built.
        let mut own = Work::new();
        let mut failure = None;
        let mut write = |batch: Batch<'a>| match sink(batch) {
            Ok(Some(text)) => {
                buffers.give(text);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        loop {
            let batch = match batches.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    match builder.take(&mut own, &mut through(&mut write, &mut failure), false) {
                        Some(true) => continue,
                        Some(false) => break,
                        None => match batches.recv() {
                            Ok(batch) => batch,
                            Err(_) => break,
                        },
                    }
                }
            };
            if let Err(e) = write(batch) {
                failure = Some(e);
                break;
            }
        }
        if failure.is_none() {
            builder.finish(&mut own, &mut through(&mut write, &mut failure));
        }
        drop(batches);
        let mut counts: Vec<Counts> = handles
            .into_iter()
            .map(|h| h.join().expect("building rows does not panic"))
            .collect();
        counts.push(own.counts);
        (counts, failure)
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let mut row = MessageRow::new(publish);
    for c in counts {
        row.customers_direct += c.direct as i64;
        row.deliveries += c.deliveries as i64;
        row.partners_told += c.partners_told as i64;
    }
    let audiences = audiences
        .into_inner()
        .unwrap_or_else(|| Audiences::gather(publish));
    Ok(Tail {
        message: row,
        audiences,
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
        let mut copies = Vec::new();
        let tail = stream(publish, threads(), &Buffers::default(), |batch| {
            match batch {
                Batch::Decisions(b) => decisions.push(b),
                Batch::Deliveries(b) => deliveries.push(b),
                Batch::Copies(c) => copies.push(c),
            }
            Ok::<_, std::convert::Infallible>(None)
        });
        let Ok(Tail { message, .. }) = tail;
        decisions.sort_by(|a: &DecisionBatch, b| a.first_customer.cmp(b.first_customer));
        copies.sort_by(|a: &PartnerCopies, b| a.rows[0].0.cmp(b.rows[0].0));
        Rows {
            message,
            decisions,
            copies,
            deliveries,
        }
    }

    /// Every partner copy, in partner id order.
    pub fn partner_copies(&self) -> impl Iterator<Item = PartnerCopyRow<'a, '_>> {
        self.copies.iter().flat_map(PartnerCopies::rows)
    }
}

/// The most customers a message reaches directly and still writes a `customer_copies` row
/// for each; a message that reaches more is a broadcast, which customers' inboxes find
/// through its decision batches. Messages stored before `0005_customer_copies.sql` were
/// split at the same number.
pub(crate) const BROADCAST_ABOVE: usize = BATCH;

/// A directory record as stored: its id, its key column (the cloud, or for a subscription
/// its customer) and its body in the world format.
pub(crate) struct Record<'a> {
    pub id: &'a str,
    pub key: String,
    pub body: String,
}

/// The records of one directory table as an import writes them, and the name of the
/// table's key column (none for products).
pub(crate) struct Table<'r> {
    pub name: &'static str,
    pub key: Option<&'static str>,
    pub records: &'r [Record<'r>],
}

impl<'r> Table<'r> {
    pub(crate) fn new(
        name: &'static str,
        key: Option<&'static str>,
        records: &'r [Record<'r>],
    ) -> Self {
        Table { name, key, records }
    }
}

impl<'a> Record<'a> {
    pub(crate) fn new(id: &'a str, key: String, record: &impl Serialize) -> Self {
        Record {
            id,
            key,
            body: to_json(record),
        }
    }
}

/// The ids of the customers `publish` reaches directly, each of whom gets a
/// `customer_copies` row unless the message is a broadcast: the rows customers' inboxes are
/// read from.
pub(crate) fn direct_customers<'a>(publish: &Publish<'a>) -> Vec<&'a str> {
    publish
        .routing
        .decisions()
        .iter()
        .filter(|d| d.direct)
        .map(|d| publish.directory.customer(d.customer).id.as_str())
        .collect()
}
