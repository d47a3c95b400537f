//! The SQLite store and its queries.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use herald_domain::ids::CloudId;
use herald_domain::report::Rules;
use herald_domain::{wire, Directory, DirectoryError};
use serde::Serialize;
use tokio::sync::MutexGuard;

use crate::audit::{self, Action, Actor, NewEntry};
use crate::deliveries::{BatchRow, DeliveryView};
use crate::engine::{on_pool, on_tx, Engine, Pool, Tx};
use crate::rows::{self, DecisionEntry, MessageRow, Publish, Rows, BATCH};
use crate::schema::Schema;
use crate::sqlite::bulk::SqliteError;
use crate::subscribers::webhook_batches;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database could not be used: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database schema could not be brought up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store has a migration applied of a newer version than this build knows.
    #[error("this store was written by a newer Herald (schema version {found}, this binary knows up to {known}); use a newer herald")]
    NewerSchema {
        /// The store's newest applied migration.
        found: i64,
        /// The newest migration this build knows.
        known: i64,
    },
    #[error("message \"{0}\" was already published with different content; publish changes under a new id")]
    Conflict(String),
    /// The stored directory changed after it was read, so what was checked against it (a
    /// routing, a record change) must be checked again.
    #[error(
        "the directory changed while the request was being checked against it; check it again"
    )]
    DirectoryChanged,
    /// Another update of the message's thread was stored while it was being routed.
    #[error("thread \"{0}\" was updated while the message was being routed; route it again")]
    ThreadMoved(String),
    #[error("the stored directory is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    InvalidDirectory(#[from] DirectoryError),
    #[error("the database refused a write: {0}")]
    Sqlite(#[from] SqliteError),
    /// A partner key was asked for a partner the stored directory does not hold.
    #[error("there is no partner \"{0}\" in the stored directory; a partner key is made for a partner the directory holds")]
    UnknownPartner(String),
    /// A customer key was asked for a customer the stored directory does not hold.
    #[error("there is no customer \"{0}\" in the stored directory; a customer key is made for a customer the directory holds")]
    UnknownCustomer(String),
    /// A vendor key was asked for with an empty cloud.
    #[error("a vendor key acts in exactly one cloud, and no cloud was named (a cloud is a name without spaces, such as \"global\")")]
    EmptyCloud,
    /// A vendor key was asked for a cloud whose name holds a space (or other white space).
    #[error("a vendor key acts in exactly one cloud, and cloud {0:?} holds a space; a cloud is a name without spaces, such as \"global\" or \"us-gov\"")]
    CloudWithSpace(String),
    /// A vendor key was asked for a cloud named `*`, which stands for every cloud.
    #[error("\"*\" is not a cloud; a vendor key for every cloud is made with --all-clouds and changes only the product catalog the clouds share")]
    EveryCloudNamed,
    /// The partner or customer a key acts as was deleted after the key was checked.
    #[error("the organisation this API key acts as is no longer in the directory, and its keys are revoked")]
    OwnerGone,
    /// No key has this id.
    #[error("there is no API key \"{0}\"; a key is named by its id, the part of the token between `hk_` and the second `_`")]
    UnknownKey(String),
    /// A webhook endpoint of a vendor or customer was asked to send one event per customer.
    #[error("`mode` \"per_customer\" (one event per customer) is for partners, who serve many customers; a vendor's or customer's endpoint is \"aggregated\"")]
    PerCustomerForPartnersOnly,
    /// The operating system gave no random bytes for a new key or endpoint id.
    #[error("no random bytes could be had from the operating system for a new id: {0}")]
    Random(getrandom::Error),
    /// No place could be made for a throwaway store.
    #[error("no place could be made for a scratch store: {0}")]
    Scratch(String),
}

/// Listening for deliveries other processes queue ([`Store::listen`]); stops when dropped.
#[derive(Debug)]
pub struct Listening(Option<tokio::task::JoinHandle<()>>);

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// The outcome of storing a publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// Newly accepted and durably enqueued.
    Accepted(MessageSummary),
    /// Already accepted with the same content: nothing changed.
    Repeated(MessageSummary),
}

/// A stored message and its audience in numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageSummary {
    pub id: String,
    pub cloud: String,
    pub category: String,
    pub policy_version: String,
    pub accepted_at: i64,
    pub customers_in_scope: i64,
    pub customers_direct: i64,
    pub partners_told: i64,
    pub deliveries: i64,
    /// The incident thread the message updates, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Where the thread's incident stood with this update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A stored decision, as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionView {
    pub customer: String,
    pub direct: bool,
    pub partners: Vec<String>,
    pub subscriptions: Vec<String>,
    /// The subscriptions the customer's own copy names, when it heard directly.
    pub copy: Option<Vec<String>>,
    pub rules: Rules,
}

impl DecisionView {
    /// A decision as a batch holds it, under its message's scope rule.
    pub(crate) fn of(entry: DecisionEntry, scope_rule: &str) -> DecisionView {
        DecisionView {
            customer: entry.customer,
            direct: entry.direct,
            partners: entry.partners,
            subscriptions: entry.subscriptions,
            copy: entry.copy,
            rules: Rules {
                scope: scope_rule.to_owned(),
                customer: entry.customer_rule,
                partners: entry.partners_rule,
            },
        }
    }
}

/// A stored partner copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerCopyView {
    pub partner: String,
    pub customers: Vec<String>,
    pub subscriptions: Vec<String>,
}

/// A stored message with everything it became.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageDetail {
    pub summary: MessageSummary,
    pub request: serde_json::Value,
    pub decisions: Vec<DecisionView>,
    pub partner_copies: Vec<PartnerCopyView>,
    pub deliveries: Vec<DeliveryView>,
}

/// The stored directory as read at one moment, and which import it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub directory: Directory,
    pub generation: i64,
}

/// How a commit is kept: SQLite's journal mode and synchronous level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Durability {
    pub journal_mode: String,
    pub synchronous: &'static str,
}

/// What an import wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The generation of the directory the import made.
    pub generation: i64,
    pub products: usize,
    pub partners: usize,
    pub customers: usize,
    pub subscriptions: usize,
}

/// The most customers a message reaches directly and still writes a `customer_copies` row
/// for each; a message that reaches more is a broadcast, which customers' inboxes find
/// through its decision batches. Messages stored before `0005_customer_copies.sql` were
/// split at the same number.
pub(crate) const BROADCAST_ABOVE: usize = BATCH;

/// Row counts of every table, to see what a command changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Counts {
    pub products: i64,
    pub partners: i64,
    pub customers: i64,
    pub subscriptions: i64,
    pub messages: i64,
    pub decisions: i64,
    pub partner_copies: i64,
    pub deliveries: i64,
}

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
    fn new(name: &'static str, key: Option<&'static str>, records: &'r [Record<'r>]) -> Self {
        Table { name, key, records }
    }
}

impl<'a> Record<'a> {
    fn new(id: &'a str, key: String, record: &impl Serialize) -> Self {
        Record {
            id,
            key,
            body: to_json(record),
        }
    }
}

/// The store: a pool of connections to one SQLite file or one PostgreSQL database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Held by this process's write transactions, one at a time, in the order they asked.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Told whenever deliveries are queued, so this process's worker wakes at once.
    queued: Arc<tokio::sync::Notify>,
    /// The text buffers publishes build their rows in, kept from one to the next.
    buffers: Arc<rows::Buffers>,
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialise")
}

/// The entries of a batch body.
pub(crate) fn batch<T: serde::de::DeserializeOwned>(body: &str) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        StoreError::Damaged(format!(
            "a batch of decisions or deliveries does not parse: {e}"
        ))
    })
}

/// What a change to the directory took with the organisations it removed: the keys it
/// revoked and the webhook endpoints it deleted, each with its cloud.
#[derive(Debug, Default)]
pub(crate) struct Retired {
    keys: Vec<RetiredRow>,
    endpoints: Vec<RetiredRow>,
}

/// A key revoked or an endpoint deleted with its organisation: its cloud and id.
#[derive(Debug, sqlx::FromRow)]
struct RetiredRow {
    cloud: String,
    id: String,
}

impl Retired {
    /// Adds the ids of what was retired in `cloud`, if any, to the `detail` of an audit
    /// entry of that cloud. An entry of every cloud (`None`), which every cloud's vendor
    /// reads, names none.
    pub(crate) fn note(self, cloud: Option<&str>, detail: &mut serde_json::Value) {
        let Some(cloud) = cloud else {
            return;
        };
        let of = |retired: Vec<RetiredRow>| -> Vec<String> {
            retired
                .into_iter()
                .filter(|r| r.cloud == cloud)
                .map(|r| r.id)
                .collect()
        };
        let (keys, endpoints) = (of(self.keys), of(self.endpoints));
        if let Some(detail) = detail.as_object_mut() {
            if !keys.is_empty() {
                detail.insert("revoked_keys".into(), keys.into());
            }
            if !endpoints.is_empty() {
                detail.insert("deleted_endpoints".into(), endpoints.into());
            }
        }
    }
}

/// Revokes at `now` the keys of partners and customers the stored directory no longer
/// holds in the cloud the key was made in, and deletes their webhook endpoints (with their
/// secrets): run in every transaction that changes the directory, so a key and an endpoint
/// die with their organisation and never pass to one made again under the same id.
pub(crate) async fn retire_orphans(tx: &mut Tx, now: i64) -> Result<Retired, StoreError> {
    let mut retired = Retired::default();
    for (kind, table) in [("partner", "partners"), ("customer", "customers")] {
        retired.keys.extend(
            on_tx!(tx, |exe| sqlx::query_as::<_, RetiredRow>(&format!(
                "UPDATE api_keys SET revoked_at = $1 \
                 WHERE revoked_at IS NULL AND principal = $2 AND NOT EXISTS \
                 (SELECT 1 FROM {table} o WHERE o.id = api_keys.subject AND o.cloud = api_keys.cloud) \
                 RETURNING cloud, id"
            ))
            .bind(now)
            .bind(kind)
            .fetch_all(&mut **exe)
            .await)?,
        );
        retired.endpoints.extend(
            on_tx!(tx, |exe| sqlx::query_as::<_, RetiredRow>(&format!(
                "DELETE FROM endpoints WHERE owner_kind = $1 AND NOT EXISTS \
                 (SELECT 1 FROM {table} o WHERE o.id = endpoints.owner AND o.cloud = endpoints.cloud) \
                 RETURNING cloud, id"
            ))
            .bind(kind)
            .fetch_all(&mut **exe)
            .await)?,
        );
    }
    Ok(retired)
}

/// A directory record's row: its id and its body in the world format.
#[derive(sqlx::FromRow)]
struct RecordRow {
    id: String,
    body: String,
}

/// A message's summary with what only its detail shows.
#[derive(sqlx::FromRow)]
struct StoredMessage {
    #[sqlx(flatten)]
    summary: MessageSummary,
    seq: i64,
    request: String,
    scope_rule: String,
}

/// How many deliveries are queued in one locale.
#[derive(sqlx::FromRow)]
struct LocaleCount {
    locale: String,
    deliveries: i64,
}

/// A `partner_copies` row: the partner, and its customers and subscriptions as JSON
/// arrays of ids.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredCopy {
    pub partner: String,
    pub customers: String,
    pub subscriptions: String,
}

impl StoredCopy {
    /// The copy as read back, its lists parsed.
    pub(crate) fn view(self) -> Result<PartnerCopyView, StoreError> {
        Ok(PartnerCopyView {
            partner: self.partner,
            customers: ids(&self.customers)?,
            subscriptions: ids(&self.subscriptions)?,
        })
    }
}

pub(crate) fn ids(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Damaged(format!("a list of ids does not parse: {e}")))
}

impl Store {
    /// Opens (creating if needed) the database at `path`, readable by its owner only, and
    /// brings its schema up to date; a store a newer Herald wrote is refused
    /// ([`StoreError::NewerSchema`]) and left as it was.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::open_migrating(path).await?.0)
    }

    /// Opens the database at `path` as [`Store::open`] does, and says what bringing its
    /// schema up to date did.
    pub async fn open_migrating(path: &Path) -> Result<(Store, Schema), StoreError> {
        Store::start(Pool::Sqlite(crate::sqlite::connect(path).await?)).await
    }

    /// Opens the store at `place`: a PostgreSQL database when it is a `postgres://` (or
    /// `postgresql://`) URL, else the SQLite file at that path, and brings its schema up
    /// to date as [`Store::open`] does.
    pub async fn open_at(place: &str) -> Result<(Store, Schema), StoreError> {
        if crate::place::names_postgres(place) {
            Store::start(Pool::Postgres(crate::postgres::connect(place).await?)).await
        } else {
            Store::open_migrating(Path::new(place)).await
        }
    }

    /// Brings the schema of `pool`'s database up to date and makes the store of it.
    async fn start(pool: Pool) -> Result<(Store, Schema), StoreError> {
        let schema = match crate::schema::migrate(&pool).await {
            Ok(schema) => schema,
            Err(e) => {
                pool.close().await;
                return Err(e);
            }
        };
        let store = Store {
            pool,
            writer: Arc::default(),
            queued: Arc::default(),
            buffers: Arc::default(),
        };
        Ok((store, schema))
    }

    /// This process's turn to write, once its writers that asked before are done. Every
    /// write waits here, in turn: SQLite's busy handler, which only another process's
    /// writer still meets, polls in growing sleeps and serves no one in order, so under a
    /// steady stream of publishes a writer could wait on it for seconds.
    pub(crate) async fn write_turn(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE`) in this process's turn to write.
    pub(crate) async fn begin_write(&self) -> Result<(MutexGuard<'_, ()>, Tx), StoreError> {
        let turn = self.write_turn().await;
        let tx = match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        };
        Ok((turn, tx))
    }

    /// Told whenever this process queues deliveries (a publish, a replay), and, while
    /// [`Store::listen`] listens, whenever another process does: a worker waits on it
    /// between looks at the queue.
    pub fn queued(&self) -> &tokio::sync::Notify {
        &self.queued
    }

    /// Listens, until the returned [`Listening`] is dropped, for deliveries other processes
    /// queue, and tells [`Store::queued`] of each: on PostgreSQL, through `LISTEN` on a
    /// connection of its own. SQLite has no such channel; other processes' deliveries are
    /// found when the worker next looks.
    pub async fn listen(&self) -> Result<Listening, StoreError> {
        Ok(Listening(match &self.pool {
            Pool::Sqlite(_) => None,
            Pool::Postgres(pool) => Some(crate::postgres::listen(pool, self.queued.clone()).await?),
        }))
    }

    /// The connection pool, for queries a caller composes itself.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The engine the store runs on.
    pub fn engine(&self) -> Engine {
        self.pool.engine()
    }

    /// Replaces the whole directory with `directory` at `now` (Unix milliseconds), in one
    /// transaction, whatever it was: an operator's import of a whole world. The audit log
    /// says `actor` replaced the directory: the operator every cloud's, a vendor key its
    /// own cloud's (its entry counts that cloud's records).
    ///
    /// The keys of a partner or customer the new directory no longer holds in the cloud
    /// they were made in are revoked, and its webhook endpoints deleted, in the same
    /// transaction: a key dies with its organisation, and an organisation made again under
    /// the same id does not inherit it.
    pub async fn import(
        &self,
        directory: &Directory,
        now: i64,
        actor: &Actor,
    ) -> Result<ImportSummary, StoreError> {
        self.write_directory(directory, None, now, actor).await
    }

    /// Replaces the whole directory with `directory`, as [`Store::import`] does, if the
    /// stored directory is still generation `checked`, the one `directory` was made from
    /// (a cloud's part replaced in the directory as it was). When the directory changed
    /// since, nothing is written and [`StoreError::DirectoryChanged`] says to read it and
    /// make the replacement again, so that no change made meanwhile is overwritten.
    pub async fn replace_directory(
        &self,
        directory: &Directory,
        checked: i64,
        now: i64,
        actor: &Actor,
    ) -> Result<ImportSummary, StoreError> {
        self.write_directory(directory, Some(checked), now, actor)
            .await
    }

    async fn write_directory(
        &self,
        directory: &Directory,
        checked: Option<i64>,
        now: i64,
        actor: &Actor,
    ) -> Result<ImportSummary, StoreError> {
        let world = directory.to_world();
        let (_turn, mut tx) = self.begin_write().await?;
        let generation = next_generation(&mut tx, checked).await?;
        for table in ["subscriptions", "customers", "partners", "products"] {
            on_tx!(&mut tx, |exe| sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut **exe)
                .await
                .map(drop))?;
        }
        let cloud = |c: &Option<CloudId>| c.as_ref().map_or("global", CloudId::as_str).to_owned();
        let products: Vec<Record> = world
            .products
            .iter()
            .map(|p| Record::new(&p.id.0, String::new(), p))
            .collect();
        let partners: Vec<Record> = world
            .partners
            .iter()
            .map(|p| Record::new(&p.id.0, cloud(&p.cloud), p))
            .collect();
        let customers: Vec<Record> = world
            .customers
            .iter()
            .map(|c| Record::new(&c.id.0, cloud(&c.cloud), c))
            .collect();
        let subscriptions: Vec<Record> = world
            .subscriptions
            .iter()
            .map(|s| Record::new(&s.id.0, s.customer.0.clone(), s))
            .collect();
        let tables = [
            Table::new("products", None, &products),
            Table::new("partners", Some("cloud"), &partners),
            Table::new("customers", Some("cloud"), &customers),
            Table::new("subscriptions", Some("customer"), &subscriptions),
        ];
        match &mut tx {
            Tx::Sqlite(tx) => crate::sqlite::write_records(tx, &tables).await?,
            Tx::Postgres(tx) => crate::postgres::write_records(tx, &tables).await?,
        }
        let retired = retire_orphans(&mut tx, now).await?;
        let scope = actor.cloud();
        let mut detail = import_counts(scope, &products, &partners, &customers, &subscriptions);
        retired.note(scope, &mut detail);
        audit::record(
            &mut tx,
            actor,
            NewEntry {
                at: now,
                cloud: scope,
                action: Action::DirectoryImport,
                target: scope.unwrap_or("*"),
                detail,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ImportSummary {
            generation,
            products: world.products.len(),
            partners: world.partners.len(),
            customers: world.customers.len(),
            subscriptions: world.subscriptions.len(),
        })
    }

    /// The stored directory, as a world (records sorted by id), and its generation, read
    /// from one snapshot: an import committing meanwhile is seen whole or not at all.
    async fn read_world(&self) -> Result<(wire::World, i64), StoreError> {
        async fn bodies<T: serde::de::DeserializeOwned>(
            tx: &mut Tx,
            table: &str,
        ) -> Result<Vec<T>, StoreError> {
            let rows: Vec<RecordRow> = on_tx!(tx, |exe| sqlx::query_as(&format!(
                "SELECT id, body FROM {table} ORDER BY id"
            ))
            .fetch_all(&mut **exe)
            .await)?;
            rows.into_iter()
                .map(|RecordRow { id, body }| {
                    serde_json::from_str(&body).map_err(|e| {
                        StoreError::Damaged(format!("{table} record \"{id}\" does not parse: {e}"))
                    })
                })
                .collect()
        }
        let mut tx = self.pool.begin().await?;
        let generation = directory_generation(&mut tx).await?;
        let world = wire::World {
            products: bodies(&mut tx, "products").await?,
            partners: bodies(&mut tx, "partners").await?,
            customers: bodies(&mut tx, "customers").await?,
            subscriptions: bodies(&mut tx, "subscriptions").await?,
        };
        tx.rollback().await?;
        Ok((world, generation))
    }

    /// The stored directory, as a world (records sorted by id), read from one snapshot.
    pub async fn load_world(&self) -> Result<wire::World, StoreError> {
        Ok(self.read_world().await?.0)
    }

    /// The stored directory.
    pub async fn load_directory(&self) -> Result<Directory, StoreError> {
        Ok(self.load_snapshot().await?.directory)
    }

    /// The stored directory with its generation, to route against and then publish with
    /// [`Store::publish`].
    pub async fn load_snapshot(&self) -> Result<Snapshot, StoreError> {
        let (world, generation) = self.read_world().await?;
        Ok(Snapshot {
            directory: Directory::build(world)?,
            generation,
        })
    }

    /// The canonical request of a stored message, if `id` is stored.
    pub async fn request(&self, cloud: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_scalar(
            "SELECT request FROM messages WHERE cloud = $1 AND id = $2"
        )
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?)
    }

    /// Stores a publish in one transaction: the message, its decisions, its partner copies
    /// and its deliveries. The same message again changes nothing; another message under
    /// the same id is refused. The rows are built, on every core, while they are written.
    ///
    /// `directory` is the generation of the stored directory the message was routed
    /// against ([`Snapshot::generation`]); when an import or a record change has changed
    /// it since, nothing is written and [`StoreError::DirectoryChanged`] says to route
    /// again. `None` skips the check, for a message routed against a directory that is not
    /// the stored one.
    ///
    /// The audit log says `actor` published it; a repeat or a refusal records nothing.
    pub async fn publish(
        &self,
        publish: &Publish<'_>,
        directory: Option<i64>,
        actor: &Actor,
    ) -> Result<Published, StoreError> {
        let id = publish.message.id.as_str();
        let request = publish.message.wire.canonical();
        let (_turn, mut tx) = self.begin_write().await?;
        if let Some(expected) = directory {
            if directory_generation(&mut tx).await? != expected {
                return Err(StoreError::DirectoryChanged);
            }
        }
        let row = MessageRow::new(publish);
        let cloud = row.cloud.as_str();
        if let Some(thread) = &publish.message.thread {
            let head: Option<i64> = on_tx!(&mut tx, |exe| sqlx::query_scalar(
                "SELECT head FROM threads WHERE cloud = $1 AND id = $2"
            )
            .bind(cloud)
            .bind(thread.id.as_str())
            .fetch_optional(&mut **exe)
            .await)?;
            if head != publish.thread_head {
                return Err(StoreError::ThreadMoved(thread.id.to_string()));
            }
        }
        let Some(seq) = insert_message(&mut tx, id, &row).await? else {
            let stored: String = on_tx!(&mut tx, |exe| sqlx::query_scalar(
                "SELECT request FROM messages WHERE cloud = $1 AND id = $2"
            )
            .bind(cloud)
            .bind(id)
            .fetch_one(&mut **exe)
            .await)?;
            tx.rollback().await?;
            if stored != request {
                return Err(StoreError::Conflict(id.to_owned()));
            }
            let summary = self
                .summary(cloud, id)
                .await?
                .ok_or_else(|| StoreError::Damaged(format!("message \"{id}\" was lost")))?;
            return Ok(Published::Repeated(summary));
        };
        let (tail, broadcast) = match &mut tx {
            Tx::Sqlite(tx) => crate::sqlite::write_publish(tx, seq, publish, &self.buffers).await?,
            Tx::Postgres(tx) => {
                crate::postgres::write_publish(tx, seq, publish, &self.buffers).await?
            }
        };
        if let Some(thread) = &publish.message.thread {
            on_tx!(&mut tx, |exe| {
                sqlx::query(
                "INSERT INTO threads (cloud, id, category, status, opened_at, updated_at, head, updates) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6, 1) ON CONFLICT (cloud, id) DO UPDATE SET \
                 status = excluded.status, updated_at = excluded.updated_at, head = excluded.head, \
                 updates = threads.updates + 1",
            )
            .bind(cloud)
            .bind(thread.id.as_str())
            .bind(&row.category)
            .bind(thread.status.as_str())
            .bind(publish.accepted_at)
            .bind(seq)
            .execute(&mut **exe)
            .await.map(drop)
            })?;
        }
        let hooks =
            webhook_batches(&mut tx, publish, cloud, &row.category, &tail.audiences).await?;
        for b in &hooks {
            on_tx!(&mut tx, |exe| {
                sqlx::query(
                "INSERT INTO delivery_batches (message, recipient, channel, deliveries, body, due_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(seq)
            .bind(b.recipient)
            .bind(b.channel)
            .bind(b.deliveries as i64)
            .bind(&b.body)
            .bind(publish.accepted_at)
            .execute(&mut **exe)
            .await.map(drop)
            })?;
        }
        let mut m = tail.message;
        m.deliveries += hooks.iter().map(|b| b.deliveries as i64).sum::<i64>();
        on_tx!(&mut tx, |exe| {
            sqlx::query(
            "UPDATE messages SET customers_direct = $1, partners_told = $2, deliveries = $3, broadcast = $4 \
             WHERE seq = $5",
        )
        .bind(m.customers_direct)
        .bind(m.partners_told)
        .bind(m.deliveries)
        .bind(broadcast)
        .bind(seq)
        .execute(&mut **exe)
        .await.map(drop)
        })?;
        let entry = NewEntry {
            at: publish.accepted_at,
            cloud: Some(cloud),
            action: Action::MessagePublish,
            target: id,
            detail: serde_json::json!({
                "category": m.category,
                "thread": m.thread,
                "customers_in_scope": m.customers_in_scope,
                "customers_direct": m.customers_direct,
                "partners_told": m.partners_told,
                "deliveries": m.deliveries,
            }),
        };
        audit::record(&mut tx, actor, entry).await?;
        tx.announce_queued().await?;
        tx.commit().await?;
        self.queued.notify_one();
        Ok(Published::Accepted(MessageSummary {
            id: m.id.clone(),
            cloud: m.cloud.clone(),
            category: m.category.clone(),
            policy_version: m.policy_version.clone(),
            accepted_at: m.accepted_at,
            customers_in_scope: m.customers_in_scope,
            customers_direct: m.customers_direct,
            partners_told: m.partners_told,
            deliveries: m.deliveries,
            thread: m.thread.clone(),
            status: m.status.map(str::to_owned),
        }))
    }

    /// Writes `rows` under message id `id` the plainest way: the message row, then one
    /// prepared `INSERT` per row, in one transaction, with no routing, no idempotency check
    /// and nothing computed. This is the baseline `herald bench publish` measures against.
    pub async fn insert_rows_plainly(&self, id: &str, rows: &Rows<'_>) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let seq = insert_message(&mut tx, id, &rows.message)
            .await?
            .ok_or_else(|| StoreError::Conflict(id.to_owned()))?;
        match &mut tx {
            Tx::Sqlite(tx) => crate::sqlite::write_rows(tx, seq, rows).await?,
            Tx::Postgres(tx) => crate::postgres::write_rows(tx, seq, rows).await?,
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts `n` one-integer rows into a scratch table in one transaction, then drops it:
    /// the floor under any insert on this machine and disk, for the benchmark to report.
    pub async fn insert_scratch_rows(&self, n: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        match &self.pool {
            Pool::Sqlite(pool) => crate::sqlite::insert_scratch_rows(pool, n).await,
            Pool::Postgres(pool) => crate::postgres::insert_scratch_rows(pool, n).await,
        }
    }

    /// The columns of `messages` a [`MessageSummary`] is read from.
    pub(crate) const SUMMARY_COLUMNS: &'static str = "id, cloud, category, policy_version, accepted_at, customers_in_scope, customers_direct, partners_told, deliveries, thread, status";

    /// One message's summary.
    pub async fn summary(
        &self,
        cloud: &str,
        id: &str,
    ) -> Result<Option<MessageSummary>, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {} FROM messages WHERE cloud = $1 AND id = $2",
            Self::SUMMARY_COLUMNS
        ))
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?)
    }

    /// Every stored message, oldest first.
    pub async fn messages(&self) -> Result<Vec<MessageSummary>, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {} FROM messages ORDER BY seq",
            Self::SUMMARY_COLUMNS
        ))
        .fetch_all(exe)
        .await)?)
    }

    /// A message with its decisions, partner copies and deliveries.
    pub async fn message(
        &self,
        cloud: &str,
        id: &str,
    ) -> Result<Option<MessageDetail>, StoreError> {
        let Some(StoredMessage {
            summary,
            seq,
            request,
            scope_rule,
        }) = on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {}, seq, request, scope_rule FROM messages WHERE cloud = $1 AND id = $2",
            Self::SUMMARY_COLUMNS
        ))
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        let mut decisions = Vec::new();
        for body in on_pool!(self.pool(), |exe| sqlx::query_scalar::<_, String>(
            "SELECT body FROM decision_batches WHERE message = $1 ORDER BY first_customer",
        )
        .bind(seq)
        .fetch_all(exe)
        .await)?
        {
            decisions.extend(
                batch::<DecisionEntry>(&body)?
                    .into_iter()
                    .map(|entry| DecisionView::of(entry, &scope_rule)),
            );
        }
        let partner_copies = on_pool!(self.pool(), |exe| sqlx::query_as::<_, StoredCopy>(
            "SELECT partner, customers, subscriptions FROM partner_copies WHERE message = $1 ORDER BY partner",
        )
        .bind(seq)
        .fetch_all(exe)
        .await)?
        .into_iter()
        .map(StoredCopy::view)
        .collect::<Result<_, StoreError>>()?;
        let mut deliveries = Vec::new();
        for b in on_pool!(self.pool(), |exe| sqlx::query_as::<_, BatchRow>(&format!(
            "SELECT {} FROM delivery_batches b JOIN messages m ON m.seq = b.message \
             WHERE b.message = $1 ORDER BY b.id",
            BatchRow::COLUMNS
        ))
        .bind(seq)
        .fetch_all(exe)
        .await)?
        {
            deliveries.extend(self.batch_deliveries(&b).await?);
        }
        Ok(Some(MessageDetail {
            summary,
            request: serde_json::from_str(&request).map_err(|e| {
                StoreError::Damaged(format!("message \"{id}\" request does not parse: {e}"))
            })?,
            decisions,
            partner_copies,
            deliveries,
        }))
    }

    /// How many deliveries are queued in each locale, over every message.
    pub async fn deliveries_by_locale(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(
            on_pool!(self.pool(), |exe| sqlx::query_as::<_, LocaleCount>(
                &format!(
                    "SELECT entry.value ->> 3 AS locale, count(*) AS deliveries \
                 FROM delivery_batches, {} GROUP BY 1",
                    self.engine()
                        .json_elements("delivery_batches.body", "entry")
                )
            )
            .fetch_all(exe)
            .await)?
            .into_iter()
            .map(|c| (c.locale, c.deliveries))
            .collect(),
        )
    }

    /// Row counts of every table; decisions and deliveries are counted one by one, not by
    /// batch.
    pub async fn counts(&self) -> Result<Counts, StoreError> {
        Ok(on_pool!(self.pool(), |exe| {
            sqlx::query_as(
            "SELECT (SELECT count(*) FROM products) AS products, \
             (SELECT count(*) FROM partners) AS partners, \
             (SELECT count(*) FROM customers) AS customers, \
             (SELECT count(*) FROM subscriptions) AS subscriptions, \
             (SELECT count(*) FROM messages) AS messages, \
             (SELECT CAST(coalesce(sum(customers), 0) AS BIGINT) FROM decision_batches) AS decisions, \
             (SELECT count(*) FROM partner_copies) AS partner_copies, \
             (SELECT CAST(coalesce(sum(deliveries), 0) AS BIGINT) FROM delivery_batches) AS deliveries",
        )
        .fetch_one(exe)
        .await
        })?)
    }

    /// Copies what the write-ahead log holds into the database file, as far as no reader
    /// still needs it, so the log does not grow without end. Commits never wait for this;
    /// a long-running process calls it now and then, and closing the store does it too.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => crate::sqlite::checkpoint(pool).await,
            // PostgreSQL checkpoints its log by itself.
            Pool::Postgres(_) => Ok(()),
        }
    }

    /// Whether the database answers a trivial query (`SELECT 1`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self.pool(), |exe| sqlx::query("SELECT 1")
            .execute(exe)
            .await
            .map(drop))?;
        Ok(())
    }

    /// How a commit is kept, as the engine reports it on one connection of the pool.
    pub async fn durability(&self) -> Result<Durability, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => crate::sqlite::durability(pool).await,
            Pool::Postgres(pool) => crate::postgres::durability(pool).await,
        }
    }

    /// Closes the pool, checkpointing the write-ahead log.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// How many records of each kind an import wrote in `cloud`, for its audit entry: the
/// catalog's products, and the cloud's partners, customers and their subscriptions; only
/// the products for an import of every cloud (`None`), whose entry every vendor reads.
fn import_counts(
    cloud: Option<&str>,
    products: &[Record],
    partners: &[Record],
    customers: &[Record],
    subscriptions: &[Record],
) -> serde_json::Value {
    let Some(cloud) = cloud else {
        // Every cloud's vendor reads this entry: it counts only what they share.
        return serde_json::json!({ "products": products.len() });
    };
    let within = |r: &&Record| r.key == cloud;
    let customers: HashSet<&str> = customers.iter().filter(within).map(|c| c.id).collect();
    serde_json::json!({
        "products": products.len(),
        "partners": partners.iter().filter(within).count(),
        "customers": customers.len(),
        "subscriptions": subscriptions
            .iter()
            .filter(|s| customers.contains(s.key.as_str()))
            .count(),
    })
}

/// The generation of the stored directory, as the transaction sees it.
pub(crate) async fn directory_generation(tx: &mut Tx) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |exe| sqlx::query_scalar(
        "SELECT generation FROM directory_state WHERE id = 1"
    )
    .fetch_one(&mut **exe)
    .await)?)
}

/// Counts the directory's generation up inside a write transaction and returns the new
/// one, if the directory is still generation `checked` (any, when `None`); otherwise
/// [`StoreError::DirectoryChanged`], and the caller drops the transaction unwritten.
pub(crate) async fn next_generation(tx: &mut Tx, checked: Option<i64>) -> Result<i64, StoreError> {
    on_tx!(tx, |exe| sqlx::query_scalar(
        "UPDATE directory_state SET generation = generation + 1 \
         WHERE id = 1 AND generation = coalesce($1, generation) RETURNING generation",
    )
    .bind(checked)
    .fetch_optional(&mut **exe)
    .await)?
    .ok_or(StoreError::DirectoryChanged)
}

/// Inserts the `messages` row under `id`, returning its sequence number, or `None` when a
/// message with that id is already stored.
async fn insert_message(tx: &mut Tx, id: &str, m: &MessageRow) -> Result<Option<i64>, StoreError> {
    Ok(on_tx!(tx, |exe| {
        sqlx::query_scalar(
        "INSERT INTO messages (id, cloud, category, policy_version, scope_rule, request, accepted_at, \
         customers_in_scope, customers_direct, partners_told, deliveries, thread, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (cloud, id) DO NOTHING RETURNING seq",
    )
    .bind(id)
    .bind(&m.cloud)
    .bind(&m.category)
    .bind(&m.policy_version)
    .bind(&m.scope_rule)
    .bind(&m.request)
    .bind(m.accepted_at)
    .bind(m.customers_in_scope)
    .bind(m.customers_direct)
    .bind(m.partners_told)
    .bind(m.deliveries)
    .bind(&m.thread)
    .bind(m.status)
    .fetch_optional(&mut **exe)
    .await
    })?)
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
