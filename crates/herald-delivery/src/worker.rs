//! The worker: leases due deliveries, sends each through its channel with a bounded number
//! in flight, and records every attempt and what follows from it.
//!
//! A publish queues deliveries in batches of up to [`herald_store::BATCH`]. A worker leases
//! whole batches, as many as its queue of ready jobs has room for (at least one), until a
//! deadline (and keeps the lease until the attempts that settle it are recorded), so a
//! backlog of small batches drains a
//! round at a time rather than a batch at a time, and leases the next round while the
//! last is being sent. It sends the entries an earlier lease did not settle, and records
//! attempts in groups, one transaction each:
//! a delivery that did not arrive gets a retry of its own, tried again on the
//! [`Schedule`], and a batch is settled once each of its entries arrived or has a retry.
//! A worker killed mid-batch loses nothing: its lease runs out and another worker takes the
//! batch, sending only what was not recorded. What had been sent but not yet recorded is
//! sent again under the same webhook id, so receivers can tell.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use herald_domain::message::Content;
use herald_domain::wire;
use herald_store::{
    delivery_id, Attempt, AttemptOutcome, CopyNames, DecisionEntry, DeliveryEntry, LeasedBatch,
    LeasedRetry, MessageView, Next, PartnerCopyView, Sending, Settled, Store, StoreError,
    WebhookEntry, GONE_REASON,
};
use serde_json::Value;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::email::{compose, CustomerNames, Mail, Mailer, Named, Names};
use crate::events::{rfc3339, Event};
use crate::recent::Recent;
use crate::signing::Secret;
use crate::webhook::{refused, Sender, Target};
use crate::Schedule;

/// How a worker works.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The most deliveries in flight at once.
    pub concurrency: usize,
    /// How long a lease lasts before another worker may take the deliveries over. The
    /// worker renews it every third of that while it sends.
    pub lease: Duration,
    /// How often to look for due deliveries when nothing wakes the worker sooner.
    pub poll: Duration,
    pub schedule: Schedule,
    /// The policy's default locale: the last step of a reader's locale fallback.
    pub default_locale: String,
    /// Stop once every queued delivery this worker can send has arrived or died (retries
    /// included), rather than wait for more.
    pub until_idle: bool,
    /// Where the worker keeps its tally as it goes, for a caller that shows progress.
    pub progress: Arc<Progress>,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            concurrency: 64,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            schedule: Schedule::default(),
            default_locale: "en".into(),
            until_idle: false,
            progress: Arc::default(),
        }
    }
}

/// The channels a worker sends through. Without a mailer, email deliveries wait in the
/// queue for a worker that has one.
pub struct Channels {
    pub email: Option<Mailer>,
    pub webhooks: Sender,
}

/// What a worker did, in deliveries (not attempts): how many it delivered, how many it
/// tried and left to be tried again (their last attempt failed, and a later one is due),
/// and how many are dead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub delivered: u64,
    pub retrying: u64,
    pub dead: u64,
}

/// A worker's [`Tally`] while it works, brought up to date each time it records a group
/// of attempts.
#[derive(Debug, Default)]
pub struct Progress {
    delivered: AtomicU64,
    retrying: AtomicU64,
    dead: AtomicU64,
}

impl Progress {
    /// The tally as of the last group of attempts recorded.
    pub fn tally(&self) -> Tally {
        Tally {
            delivered: self.delivered.load(Ordering::Relaxed),
            retrying: self.retrying.load(Ordering::Relaxed),
            dead: self.dead.load(Ordering::Relaxed),
        }
    }

    fn set(&self, tally: &Tally) {
        self.delivered.store(tally.delivered, Ordering::Relaxed);
        self.retrying.store(tally.retrying, Ordering::Relaxed);
        self.dead.store(tally.dead, Ordering::Relaxed);
    }
}

/// What can stop a worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One delivery to send, and how.
struct Job {
    delivery: i64,
    batch: i64,
    /// Which attempt this is: 1 for the first.
    number: i64,
    send: Send,
}

enum Send {
    Email(Mail),
    Webhook {
        endpoint: String,
        target: Arc<Target>,
        secrets: Arc<Vec<Secret>>,
        id: String,
        body: Vec<u8>,
    },
    /// It cannot be sent, for the reason given.
    Refuse(String),
}

/// A job's attempt, back from its channel.
struct Done {
    job_delivery: i64,
    batch: i64,
    number: i64,
    attempt: Attempt,
    endpoint: Option<String>,
    /// Whether it came from a batch (rather than a retry of its own).
    from_batch: bool,
}

/// What the worker knows of one message while it sends its copies.
struct MessageContext {
    sending: Sending,
    content: Content,
    /// The last decision batch read, by the first customer it holds.
    decisions: Mutex<Option<Arc<Vec<DecisionEntry>>>>,
}

/// An endpoint as this round of leases sends to it: its URL checked and its secrets
/// parsed once.
#[derive(Clone)]
struct Reachable {
    /// Where to send, or why it cannot be sent to.
    target: Result<Arc<Target>, String>,
    disabled: Option<String>,
    secrets: Arc<Vec<Secret>>,
}

/// The deliveries this worker holds leases on, renewed while it works.
#[derive(Default)]
struct Held {
    batches: HashMap<i64, HeldBatch>,
    retries: HashMap<i64, HeldRetry>,
}

/// A batch held: how many of its jobs are not yet answered, and the end of its lease as
/// this worker last wrote it.
struct HeldBatch {
    left: usize,
    until: i64,
}

/// A retry held: the number of the attempt in hand, and the end of its lease as this
/// worker last wrote it.
struct HeldRetry {
    attempt: i64,
    until: i64,
}

/// Runs a worker until `shutdown` resolves (or, with [`WorkerConfig::until_idle`], until
/// every queued delivery is settled), then lets what is in flight finish and records it.
pub async fn run(
    store: Store,
    channels: Arc<Channels>,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Tally, WorkError> {
    run_until(store, channels, config, shutdown, std::future::pending()).await
}

/// How many jobs the leaser keeps ready for the senders: a whole batch, so that while it
/// leases and prepares the next one the senders never run dry. Leasing a batch waits for
/// the store's write turn and a commit; with nothing queued meanwhile, the deliveries in
/// flight ran out before the next ones were ready, and a worker sat idle a sixth of the
/// time.
const READY: usize = herald_store::BATCH;

/// [`run`], but once stopping, when `abandon` resolves before what is in flight has
/// finished, that is dropped unrecorded: nothing of it was settled, so another worker
/// sends it once this one's lease runs out (under the same webhook id and Message-ID).
///
/// Four kinds of task share the work: a leaser leases due deliveries and turns them into
/// jobs, queued a batch ahead; `concurrency` senders each take the next job, send
/// it and hand its attempt on; the recorder writes attempts to the store in groups; and a
/// renewer keeps the leases while they are held. A worker that stops once what it sent is
/// recorded gives back the leases of what it did not send, so that other workers take it
/// at once rather than when the leases run out.
pub async fn run_until(
    store: Store,
    channels: Arc<Channels>,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()>,
    abandon: impl Future<Output = ()>,
) -> Result<Tally, WorkError> {
    let identity = store.identity().await?;
    // Deliveries other processes queue wake this worker as this process's own do.
    let _listening = store.listen().await?;
    let held = Arc::new(Mutex::new(Held::default()));
    let recorded = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<Done>();
    let mut recorder = tokio::spawn(record(
        store.clone(),
        done_rx,
        held.clone(),
        config.schedule.clone(),
        config.progress.clone(),
        recorded.clone(),
    ));
    // The leaser stops leasing as soon as the worker is told to stop; the renewer keeps
    // the leases until what was sent is recorded.
    let (stop_leasing, leasing_stopped) = watch::channel(false);
    let (stop_renewing, renewing_stopped) = watch::channel(false);
    let mut renewer = tokio::spawn(renew(
        store.clone(),
        held.clone(),
        config.lease,
        renewing_stopped,
    ));
    let (jobs_tx, jobs) = flume::bounded::<Job>(READY);
    let mut senders = JoinSet::new();
    for _ in 0..config.concurrency.max(1) {
        senders.spawn(sender(channels.clone(), jobs.clone(), done_tx.clone()));
    }
    drop(done_tx);
    let worker = Worker {
        store: store.clone(),
        channels,
        config,
        identity,
        messages: Recent::new(MESSAGES_KEPT),
        held: held.clone(),
        targets: HashMap::new(),
        partner_copies: Recent::new(COPIES_KEPT),
    };
    tokio::pin!(shutdown);
    tokio::pin!(abandon);
    let mut abandoned = false;
    // Polled once now, so that a signal handler behind it is in place from the start, and
    // a worker told to stop already leases nothing.
    let stopping = tokio::select! {
        biased;
        () = &mut shutdown => true,
        () = std::future::ready(()) => false,
    };
    let mut recording = None;
    let mut failure = None;
    if stopping {
        // Nothing is queued: the senders end at once.
        drop(jobs_tx);
    } else {
        let mut leaser = tokio::spawn(worker.lease_while_open(jobs_tx, recorded, leasing_stopped));
        // Until told to stop, until the leaser finds nothing left (or fails), or until the
        // recorder stops: a recorder that stopped could not write to the store, so nothing
        // more is sent that it could not record.
        let leasing = tokio::select! {
            () = &mut shutdown => None,
            leased = &mut leaser => Some(leased),
            recorded = &mut recorder => {
                recording = Some(recorded);
                None
            }
        };
        let leased = match leasing {
            Some(leased) => leased,
            None => {
                // The leaser stops at its next wait, never inside a lease, so that what
                // it leased is held and can be given back.
                stop_leasing.send_replace(true);
                tokio::select! {
                    leased = &mut leaser => leased,
                    () = &mut abandon => {
                        abandoned = true;
                        leaser.abort();
                        leaser.await
                    }
                }
            }
        };
        match leased {
            Ok(leased) => failure = leased.err(),
            Err(ended) if ended.is_panic() => std::panic::resume_unwind(ended.into_panic()),
            // Stopped before it finished: nothing of it failed.
            Err(_) => {}
        }
    }
    // The jobs queued that no sender took yet stay unsent, their leases held; the senders
    // finish what they hold and, the queue closed and empty, end.
    drop(jobs.drain());
    drop(jobs);
    if abandoned {
        senders.abort_all();
    }
    loop {
        tokio::select! {
            next = senders.join_next() => {
                if next.is_none() {
                    break;
                }
            }
            () = &mut abandon, if !abandoned => {
                abandoned = true;
                senders.abort_all();
            }
        }
    }
    let recorded = match recording {
        Some(recorded) => recorded,
        None => recorder.await,
    };
    let tally = recorded.expect("the recorder does not panic");
    stop_renewing.send_replace(true);
    if abandoned || tally.is_err() {
        renewer.abort();
    } else {
        // A renewal under way is let finish, so that the ends of the leases held are as
        // the store has them; then what was left unsent is given back.
        tokio::select! {
            _ = &mut renewer => give_back(&store, &held, &mut abandon).await,
            () = &mut abandon => renewer.abort(),
        }
    }
    let tally = tally?;
    match failure {
        Some(e) => Err(e),
        None => Ok(tally),
    }
}

/// Gives back the leases this worker still holds once it has stopped and recorded what it
/// sent: those of the jobs it leased and did not send. A failure to (logged), or an
/// `abandon` first, leaves them to run out.
async fn give_back(store: &Store, held: &Mutex<Held>, abandon: impl Future<Output = ()>) {
    let (batches, retries) = ends(held);
    tokio::select! {
        given = store.give_back(&batches, &retries) => if let Err(e) = given {
            tracing::warn!(
                batches = batches.len(),
                retries = retries.len(),
                "could not give back the leases of what this worker did not send ({e}); \
                 other workers take it once they run out"
            );
        },
        () = abandon => {}
    }
}

/// A sender: takes the next job, sends it through its channel and hands the attempt to
/// the recorder, until the queue is closed and empty.
async fn sender(channels: Arc<Channels>, jobs: flume::Receiver<Job>, done: UnboundedSender<Done>) {
    while let Ok(job) = jobs.recv_async().await {
        if done.send(send(&channels, job).await).is_err() {
            return;
        }
    }
}

/// Whether this worker holds no lease.
fn idle(held: &Mutex<Held>) -> bool {
    let held = held.lock().expect("no thread panics holding it");
    held.batches.is_empty() && held.retries.is_empty()
}

/// How many messages, and how many partners' copies of them, a worker keeps at hand
/// between rounds of leases. A message and its copies never change once published, so a
/// fan-out of many batches reads each once, however many rounds it takes.
const MESSAGES_KEPT: usize = 64;
const COPIES_KEPT: usize = 16;

struct Worker {
    store: Store,
    channels: Arc<Channels>,
    config: WorkerConfig,
    identity: String,
    messages: Recent<i64, Arc<MessageContext>>,
    held: Arc<Mutex<Held>>,
    /// Endpoints read in this round of leases, so a batch of one event per customer reads
    /// each once; read again next round, as a secret may have been rotated since.
    targets: HashMap<String, Option<Reachable>>,
    partner_copies: Recent<(i64, String), Option<Arc<PartnerCopy>>>,
}

/// A partner's copy of a message, with its subscriptions in a set, so the event of one of
/// its customers is cut from it without walking every subscription the copy lists. Its
/// customers are in id order, as the copy lists them.
struct PartnerCopy {
    view: PartnerCopyView,
    subscriptions: HashSet<String>,
}

impl Worker {
    /// Leases what is due and queues it as jobs for the senders, keeping up to [`READY`]
    /// ready (and the next lease in hand, waiting for room), until `stop` says so (looked
    /// at between leases, never during one) or, with [`WorkerConfig::until_idle`], nothing
    /// is left to send.
    async fn lease_while_open(
        mut self,
        jobs: flume::Sender<Job>,
        recorded: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), WorkError> {
        let email = self.channels.email.is_some();
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            // At least one: a batch is leased whole, and waits its turn in the queue.
            let free = READY.saturating_sub(jobs.len()).max(1);
            let leased = self.lease(free).await?;
            if leased.is_empty() {
                if self.config.until_idle
                    && idle(&self.held)
                    && self.store.unsettled(email).await? == 0
                {
                    return Ok(());
                }
                let wait = match self.store.next_due(email).await? {
                    Some(due) => Duration::from_millis(due.saturating_sub(now_ms()).max(10) as u64)
                        .min(self.config.poll),
                    None => self.config.poll,
                };
                // Waiting to stop, the worker looks again once the last attempts are
                // recorded, rather than a poll later.
                let until_idle = self.config.until_idle;
                tokio::select! {
                    () = self.store.queued().notified() => {}
                    () = recorded.notified(), if until_idle => {}
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|&stop| stop) => return Ok(()),
                }
                continue;
            }
            // Told to stop while waiting for room, the jobs not queued yet stay unsent,
            // their leases held, to be given back.
            for job in leased {
                tokio::select! {
                    queued = jobs.send_async(job) => queued.expect(
                        "the worker keeps the queue open until it has stopped the leaser",
                    ),
                    _ = stop.wait_for(|&stop| stop) => return Ok(()),
                }
            }
        }
    }

    /// Leases what is due, up to about `free` deliveries, and turns it into jobs.
    async fn lease(&mut self, free: usize) -> Result<Vec<Job>, WorkError> {
        let now = now_ms();
        let until = now + self.config.lease.as_millis() as i64;
        let email = self.channels.email.is_some();
        self.targets.clear();
        let retries = self.store.lease_retries(now, until, free, email).await?;
        let room = free.saturating_sub(retries.len());
        let batches = if room > 0 {
            self.store
                .lease_batches(now, until, room, room, email)
                .await?
        } else {
            Vec::new()
        };
        // A lease of this worker's own can run out while its jobs wait in the queue (its
        // renewals failing) or their attempts wait to be recorded, and come back to it
        // here: those jobs are in hand already, and the count of what is left of the
        // batch stays as it is. A retry held for an earlier attempt than the one leased
        // is a new job: that attempt was recorded, and the retry came due again before
        // the recorder let it go.
        let mut jobs = Vec::new();
        for retry in retries {
            let attempt = retry.attempts + 1;
            let in_hand = self
                .held_mut()
                .retries
                .insert(retry.delivery, HeldRetry { attempt, until });
            if in_hand.is_none_or(|held| held.attempt < attempt) {
                jobs.push(self.retry_job(retry).await?);
            }
        }
        for batch in batches {
            if let Some(held) = self.held_mut().batches.get_mut(&batch.id) {
                held.until = until;
                continue;
            }
            let before = jobs.len();
            self.batch_jobs(&batch, &mut jobs).await?;
            let left = jobs.len() - before;
            self.held_mut()
                .batches
                .insert(batch.id, HeldBatch { left, until });
            if jobs.len() == before {
                self.store.record_attempts(&[], &[batch.id]).await?;
                self.held_mut().batches.remove(&batch.id);
            }
        }
        Ok(jobs)
    }

    fn held_mut(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().expect("no thread panics holding it")
    }

    async fn context(&mut self, seq: i64) -> Result<Arc<MessageContext>, WorkError> {
        if let Some(context) = self.messages.get(&seq) {
            return Ok(context);
        }
        let sending = self.store.sending(seq).await?.ok_or_else(|| {
            StoreError::Damaged(format!("deliveries of message {seq} outlived it"))
        })?;
        let wire: wire::Message = serde_json::from_value(sending.request.clone())
            .map_err(|e| StoreError::Damaged(format!("message {seq} does not parse: {e}")))?;
        let content = Content::new(
            wire.title,
            wire.body,
            wire.locale
                .unwrap_or_else(|| self.config.default_locale.clone()),
        );
        let context = Arc::new(MessageContext {
            sending,
            content,
            decisions: Mutex::new(None),
        });
        self.messages.insert(seq, context.clone());
        Ok(context)
    }

    /// What `pick` takes of the decision of `customer` about message `context`, if it
    /// has one: only that is copied out of the batch of decisions kept.
    async fn decision<T>(
        &self,
        seq: i64,
        context: &MessageContext,
        customer: &str,
        pick: impl Fn(&DecisionEntry) -> T,
    ) -> Result<Option<T>, WorkError> {
        let find = |entries: &[DecisionEntry]| {
            entries
                .binary_search_by(|e| e.customer.as_str().cmp(customer))
                .ok()
                .map(|i| pick(&entries[i]))
        };
        let cached = context
            .decisions
            .lock()
            .expect("no thread panics holding it")
            .clone();
        if let Some(entries) = cached {
            if let Some(found) = find(&entries) {
                return Ok(Some(found));
            }
        }
        let entries = Arc::new(self.store.decisions_around(seq, customer).await?);
        let found = find(&entries);
        *context
            .decisions
            .lock()
            .expect("no thread panics holding it") = Some(entries);
        Ok(found)
    }

    async fn batch_jobs(
        &mut self,
        batch: &LeasedBatch,
        jobs: &mut Vec<Job>,
    ) -> Result<(), WorkError> {
        let context = self.context(batch.message).await?;
        let settled: HashSet<usize> = batch.settled.iter().copied().collect();
        let entries: Vec<Value> = parse(&batch.body)?;
        for (n, entry) in entries.into_iter().enumerate() {
            if settled.contains(&n) {
                continue;
            }
            let delivery = delivery_id(batch.id, n);
            let send = self
                .prepare(
                    batch.message,
                    &context,
                    &batch.recipient,
                    &batch.channel,
                    entry,
                    delivery,
                )
                .await?;
            jobs.push(Job {
                delivery,
                batch: batch.id,
                number: 1,
                send,
            });
        }
        Ok(())
    }

    /// What sending `entry` (delivery `delivery` of message `seq`) on `channel` takes.
    async fn prepare(
        &mut self,
        seq: i64,
        context: &MessageContext,
        recipient: &str,
        channel: &str,
        entry: Value,
        delivery: i64,
    ) -> Result<Send, WorkError> {
        match channel {
            "email" => {
                self.email(
                    seq,
                    context,
                    recipient,
                    from_entry(entry, delivery)?,
                    delivery,
                )
                .await
            }
            _ => {
                self.webhook(
                    seq,
                    context,
                    recipient,
                    from_entry(entry, delivery)?,
                    delivery,
                )
                .await
            }
        }
    }

    async fn retry_job(&mut self, retry: LeasedRetry) -> Result<Job, WorkError> {
        let context = self.context(retry.message).await?;
        let entry: Value = parse(&retry.entry)?;
        let send = self
            .prepare(
                retry.message,
                &context,
                &retry.recipient,
                &retry.channel,
                entry,
                retry.delivery,
            )
            .await?;
        Ok(Job {
            delivery: retry.delivery,
            batch: retry.batch,
            number: retry.attempts + 1,
            send,
        })
    }

    /// The copy `recipient` `org` may see of message `seq`: for a partner, its own
    /// customers (only `customer`, when it takes one event per customer). `None` when
    /// `org` has no copy, or `customer` is not among the customers its copy lists.
    async fn copy(
        &mut self,
        seq: i64,
        context: &MessageContext,
        recipient: &str,
        org: Option<&str>,
        customer: Option<&str>,
    ) -> Result<Option<MessageView>, WorkError> {
        let Sending { summary, request } = &context.sending;
        Ok(match (recipient, org) {
            ("partner", Some(partner)) => {
                let key = (seq, partner.to_owned());
                let copy = match self.partner_copies.get(&key) {
                    Some(copy) => copy,
                    None => {
                        let copy = self.store.partner_copy_of(seq, partner).await?;
                        let copy = copy.map(|view| {
                            Arc::new(PartnerCopy {
                                subscriptions: view.subscriptions.iter().cloned().collect(),
                                view,
                            })
                        });
                        self.partner_copies.insert(key, copy.clone());
                        copy
                    }
                };
                let Some(copy) = copy else {
                    return Ok(None);
                };
                let (customers, subscriptions) = match customer {
                    None => (copy.view.customers.clone(), copy.view.subscriptions.clone()),
                    Some(c)
                        if copy
                            .view
                            .customers
                            .binary_search_by(|k| k.as_str().cmp(c))
                            .is_err() =>
                    {
                        return Ok(None);
                    }
                    Some(c) => {
                        let subscriptions = self
                            .decision(seq, context, c, |d| {
                                d.subscriptions
                                    .iter()
                                    .filter(|s| copy.subscriptions.contains(*s))
                                    .cloned()
                                    .collect()
                            })
                            .await?
                            .unwrap_or_default();
                        (vec![c.to_owned()], subscriptions)
                    }
                };
                Some(MessageView::partner(
                    summary,
                    request,
                    customers,
                    subscriptions,
                ))
            }
            ("customer", Some(c)) => self
                .decision(seq, context, c, |d| d.copy.clone())
                .await?
                .flatten()
                .map(|copy| MessageView::customer(summary, request, copy)),
            ("vendor", _) => Some(MessageView::vendor(summary.clone(), request.clone())),
            _ => None,
        })
    }

    async fn email(
        &mut self,
        seq: i64,
        context: &MessageContext,
        recipient: &str,
        DeliveryEntry {
            organisation: org,
            address,
            locale,
            ..
        }: DeliveryEntry,
        delivery: i64,
    ) -> Result<Send, WorkError> {
        let Some(copy) = self.copy(seq, context, recipient, Some(&org), None).await? else {
            return Ok(Send::Refuse(format!(
                "{org} has no copy of message {} to mail",
                context.sending.summary.id
            )));
        };
        let letter = match &copy {
            MessageView::Customer(c) => {
                let names = self.store.copy_names(&[], &c.subscriptions).await?;
                let named: Vec<Named> = c
                    .subscriptions
                    .iter()
                    .map(|s| subscription_named(&names, s))
                    .collect();
                compose(&context.content, &locale, Names::Customer(&named))
            }
            MessageView::Partner(p) => {
                let names = self
                    .store
                    .copy_names(&p.customers, &p.subscriptions)
                    .await?;
                let customers: Vec<CustomerNames> = p
                    .customers
                    .iter()
                    .map(|customer| CustomerNames {
                        customer: Named {
                            id: customer.clone(),
                            name: names.customers.get(customer).cloned().flatten(),
                        },
                        subscriptions: p
                            .subscriptions
                            .iter()
                            .filter(|s| {
                                names
                                    .subscriptions
                                    .get(*s)
                                    .is_some_and(|(owner, _)| owner == customer)
                            })
                            .map(|s| subscription_named(&names, s))
                            .collect(),
                    })
                    .collect();
                compose(&context.content, &locale, Names::Partner(&customers))
            }
            MessageView::Vendor(_) => {
                return Ok(Send::Refuse(
                    "the vendor is not mailed its own messages".into(),
                ))
            }
        };
        Ok(Send::Email(Mail {
            delivery,
            store: self.identity.clone(),
            to: address,
            to_name: None,
            letter,
        }))
    }

    async fn webhook(
        &mut self,
        seq: i64,
        context: &MessageContext,
        recipient: &str,
        WebhookEntry {
            owner,
            endpoint,
            customer,
        }: WebhookEntry,
        delivery: i64,
    ) -> Result<Send, WorkError> {
        if !self.targets.contains_key(&endpoint) {
            let target = self.store.target(&endpoint, now_ms()).await?;
            let reachable = target.map(|t| Reachable {
                secrets: Arc::new(
                    t.secrets
                        .iter()
                        .filter_map(|s| Secret::parse(s).ok())
                        .collect(),
                ),
                target: self.channels.webhooks.target(&t.url).map(Arc::new),
                disabled: t.disabled,
            });
            self.targets.insert(endpoint.clone(), reachable);
        }
        let Some(Reachable {
            target,
            disabled,
            secrets,
        }) = self.targets[&endpoint].clone()
        else {
            return Ok(Send::Refuse(format!("endpoint {endpoint} was deleted")));
        };
        if let Some(reason) = disabled {
            return Ok(Send::Refuse(format!(
                "endpoint {endpoint} is disabled: {reason}"
            )));
        }
        let Some(copy) = self
            .copy(
                seq,
                context,
                recipient,
                owner.as_deref(),
                customer.as_deref(),
            )
            .await?
        else {
            let about = customer.map_or(String::new(), |c| format!(" about customer {c}"));
            return Ok(Send::Refuse(format!(
                "endpoint {endpoint}'s owner has no copy of message {}{about}",
                context.sending.summary.id
            )));
        };
        let target = match target {
            Ok(target) => target,
            Err(reason) => return Ok(Send::Refuse(reason)),
        };
        let body = Event {
            kind: "message.published",
            timestamp: rfc3339(context.sending.summary.accepted_at),
            data: &copy,
        }
        .to_bytes();
        Ok(Send::Webhook {
            endpoint,
            target,
            secrets,
            id: webhook_id(&self.identity, delivery),
            body,
        })
    }
}

/// The `webhook-id` of a delivery: the same on every attempt, and never the same for
/// another delivery or another database.
pub fn webhook_id(identity: &str, delivery: i64) -> String {
    format!("msg_{identity}_{delivery}")
}

/// Delivery `delivery`'s entry as its channel reads it.
fn from_entry<T: serde::de::DeserializeOwned>(
    entry: Value,
    delivery: i64,
) -> Result<T, StoreError> {
    serde_json::from_value(entry)
        .map_err(|e| StoreError::Damaged(format!("delivery {delivery} does not parse: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Damaged(format!("a delivery does not parse: {e}")))
}

/// Sends one job through its channel.
async fn send(channels: &Channels, job: Job) -> Done {
    let Job {
        delivery,
        batch,
        number,
        send,
    } = job;
    let from_batch = number == 1;
    let mut endpoint = None;
    let attempt = match send {
        Send::Email(mail) => match &channels.email {
            Some(mailer) => mailer.send(&mail).await,
            None => refused("no SMTP server is configured".into()),
        },
        Send::Webhook {
            endpoint: ep,
            target,
            secrets,
            id,
            body,
        } => {
            endpoint = Some(ep);
            channels
                .webhooks
                .send_to(&target, &secrets, &id, now_ms() / 1_000, body)
                .await
        }
        Send::Refuse(reason) => refused(reason),
    };
    Done {
        job_delivery: delivery,
        batch,
        number,
        attempt,
        endpoint,
        from_batch,
    }
}

/// Records attempts as they come back, in groups (one transaction per group: whatever
/// arrived while the last one committed), and settles batches whose every entry is.
///
/// A batch or retry stays held until the group that settles it has committed: were it
/// let go before, its lease could run out while the group waits for the write turn (for
/// which the renewer waits too), and the leaser take it again and send what the group was
/// about to record. Held, the leaser skips it.
async fn record(
    store: Store,
    mut done: mpsc::UnboundedReceiver<Done>,
    held: Arc<Mutex<Held>>,
    schedule: Schedule,
    progress: Arc<Progress>,
    recorded: Arc<Notify>,
) -> Result<Tally, WorkError> {
    let mut tally = Tally::default();
    // The deliveries whose last attempt here failed and that wait to be tried again.
    let mut retrying: HashSet<i64> = HashSet::new();
    let mut group = Vec::new();
    while done.recv_many(&mut group, 4096).await > 0 {
        let mut settled = Vec::with_capacity(group.len());
        let mut finished = Vec::new();
        let mut answered = Vec::new();
        {
            let mut held = held.lock().expect("no thread panics holding it");
            for d in group.drain(..) {
                let next = match d.attempt.outcome {
                    AttemptOutcome::Delivered => Next::Delivered,
                    AttemptOutcome::Failed => schedule.after_failure(d.number, d.attempt.at),
                    AttemptOutcome::Gone | AttemptOutcome::Refused => Next::Dead,
                };
                match next {
                    Next::Delivered => tally.delivered += 1,
                    Next::RetryAt(_) => {
                        retrying.insert(d.job_delivery);
                    }
                    Next::Dead => tally.dead += 1,
                }
                if !matches!(next, Next::RetryAt(_)) {
                    retrying.remove(&d.job_delivery);
                }
                let disable = (d.attempt.outcome == AttemptOutcome::Gone)
                    .then(|| d.endpoint.clone())
                    .flatten()
                    .map(|e| (e, GONE_REASON.to_owned()));
                if d.from_batch {
                    if let Some(batch) = held.batches.get_mut(&d.batch) {
                        if batch.left == 1 {
                            finished.push(d.batch);
                        }
                        batch.left = batch.left.saturating_sub(1);
                    }
                } else {
                    answered.push((d.job_delivery, d.number));
                }
                settled.push(Settled {
                    delivery: d.job_delivery,
                    batch: d.batch,
                    number: d.number,
                    attempt: d.attempt,
                    next,
                    disable,
                });
            }
        }
        store.record_attempts(&settled, &finished).await?;
        {
            let mut held = held.lock().expect("no thread panics holding it");
            for batch in &finished {
                held.batches.remove(batch);
            }
            for (delivery, number) in &answered {
                if held
                    .retries
                    .get(delivery)
                    .is_some_and(|r| r.attempt == *number)
                {
                    held.retries.remove(delivery);
                }
            }
        }
        tally.retrying = retrying.len() as u64;
        progress.set(&tally);
        recorded.notify_one();
    }
    Ok(tally)
}

/// Renews the leases this worker holds, every third of a lease, until `stop` says so; a
/// renewal under way is finished first, and the new end of each lease renewed kept with
/// it. A lease another worker took over since it ran out is not renewed: that worker
/// holds it now.
async fn renew(
    store: Store,
    held: Arc<Mutex<Held>>,
    lease: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(lease / 3);
    every.tick().await;
    loop {
        tokio::select! {
            biased;
            _ = stop.wait_for(|&stop| stop) => return,
            _ = every.tick() => {}
        }
        let (batches, retries) = ends(&held);
        let until = now_ms() + lease.as_millis() as i64;
        // A renewal that fails is tried again at the next tick; the lease outlasts two.
        let (renewed_batches, renewed_retries) =
            match store.extend_leases(&batches, &retries, until).await {
                Ok(renewed) => renewed,
                Err(e) => {
                    tracing::warn!(
                        batches = batches.len(),
                        retries = retries.len(),
                        "could not renew this worker's leases ({e}); trying again"
                    );
                    continue;
                }
            };
        // Kept where the lease still ends as this renewal found it: one the leaser took
        // again meanwhile ends as the leaser wrote it.
        let (batches, retries): (HashMap<i64, i64>, HashMap<i64, i64>) =
            (batches.into_iter().collect(), retries.into_iter().collect());
        let mut held = held.lock().expect("no thread panics holding it");
        for id in &renewed_batches {
            if let Some(batch) = held.batches.get_mut(id) {
                if batches.get(id) == Some(&batch.until) {
                    batch.until = until;
                }
            }
        }
        for id in &renewed_retries {
            if let Some(retry) = held.retries.get_mut(id) {
                if retries.get(id) == Some(&retry.until) {
                    retry.until = until;
                }
            }
        }
    }
}

/// Leases held, each as the id of what is leased and the end of its lease as last written.
type Ends = Vec<(i64, i64)>;

/// The batches and the retries held, each with the end of its lease as last written.
fn ends(held: &Mutex<Held>) -> (Ends, Ends) {
    let held = held.lock().expect("no thread panics holding it");
    (
        held.batches.iter().map(|(&id, b)| (id, b.until)).collect(),
        held.retries.iter().map(|(&id, r)| (id, r.until)).collect(),
    )
}

/// A subscription as a letter names it: by its product's name when the directory has one.
fn subscription_named(names: &CopyNames, id: &str) -> Named {
    Named {
        id: id.to_owned(),
        name: names
            .subscriptions
            .get(id)
            .and_then(|(_, product)| product.clone()),
    }
}
