//! The store itself: a pool of connections to one engine's database, the turn this
//! process's writers take, and the wake-ups its worker waits on. What is stored and read
//! lives in the modules beside this one, each an `impl Store` of its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::MutexGuard;

use crate::engine::{on_pool, Durability, Engine, Pool, Tx};
use crate::error::StoreError;
use crate::place::{names_postgres, Place};
use crate::rows::Buffers;
use crate::schema::Schema;

/// The store: a pool of connections to one SQLite file or one PostgreSQL database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Held by this process's write transactions, one at a time, in the order they asked.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Told whenever deliveries are queued, so this process's worker wakes at once.
    queued: Arc<tokio::sync::Notify>,
    /// The text buffers publishes build their rows in, kept from one to the next.
    buffers: Arc<Buffers>,
    /// On SQLite, the task copying the write-ahead log into the database file now and
    /// then; it stops when the last clone of the store is dropped.
    _checkpoints: Option<Arc<Background>>,
}

/// A task of the store's own, stopped when dropped.
#[derive(Debug)]
struct Background(tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Listening for deliveries other processes queue ([`Store::listen`]); stops when dropped.
#[derive(Debug)]
pub struct Listening {
    _task: Option<Background>,
}

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

/// How many deliveries are queued in one locale.
#[derive(sqlx::FromRow)]
struct LocaleCount {
    locale: String,
    deliveries: i64,
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
        if names_postgres(place) {
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
        let checkpoints = match &pool {
            Pool::Sqlite(pool) => Some(Arc::new(Background(
                crate::sqlite::checkpoint_now_and_then(pool.clone()),
            ))),
            Pool::Postgres(_) => None,
        };
        let store = Store {
            pool,
            writer: Arc::default(),
            queued: Arc::default(),
            buffers: Arc::default(),
            _checkpoints: checkpoints,
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
        let task = match &self.pool {
            Pool::Sqlite(_) => None,
            Pool::Postgres(pool) => Some(Background(
                crate::postgres::listen(pool, self.queued.clone()).await?,
            )),
        };
        Ok(Listening { _task: task })
    }

    /// The connection pool, for queries a caller composes itself.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The engine the store runs on.
    pub fn engine(&self) -> Engine {
        self.pool.engine()
    }

    /// The text buffers publishes build their rows in.
    pub(crate) fn buffers(&self) -> &Buffers {
        &self.buffers
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
    /// still needs it, so the log does not grow without end. Commits never wait for this:
    /// an open store does it every ten seconds by itself, and closing the store does it too.
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

impl Place {
    /// Opens the store here, creating it if needed (a file readable by its owner only), and
    /// brings its schema up to date, as [`Store::open_at`] does.
    pub async fn open(&self) -> Result<(Store, Schema), StoreError> {
        match self {
            Place::Sqlite(path) => Store::open_migrating(path).await,
            Place::Postgres(url) => Store::open_at(url).await,
        }
    }
}
