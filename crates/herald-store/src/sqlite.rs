//! The SQLite engine: one file, opened in WAL mode with synchronous commits, and the bulk
//! writes of an import and a publish.
//!
//! A million-customer publish writes its rows through SQLite's C interface ([`bulk`]), and
//! so does a worker recording the attempts of its deliveries: a prepared statement bound
//! in place once per row is what `herald bench publish` and `herald bench deliver`
//! measured fast enough, where sqlx's copying of every bound value and its round trip per
//! statement were not. Everything else is written once for both engines, through sqlx.

pub(crate) mod bulk;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::attempts::Settled;
use crate::engine::blocking;
use crate::engine::Durability;
use crate::error::{SqliteError, StoreError};
use crate::rows::{self, Batch, Buffers, DecisionBatch, DeliveryBatch, PartnerCopyRow, Publish};
use crate::rows::{direct_customers, Table, BROADCAST_ABOVE};
use crate::rows::{Rows, Tail};
use bulk::Connection;

/// Opens (creating if needed) the database file at `path`, readable by its owner only.
pub(crate) async fn connect(path: &Path) -> Result<SqlitePool, StoreError> {
    crate::files::make_private(path).map_err(sqlx::Error::Io)?;
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        // A large publish touches tens of thousands of pages; a 64 MiB page cache keeps
        // them from spilling to the log before the commit.
        .pragma("cache_size", "-65536")
        // Copying the log into the database is not needed for durability, so no commit
        // waits for it: the store's own task does it ([`checkpoint_now_and_then`]), and
        // closing the store.
        .pragma("wal_autocheckpoint", "0")
        .foreign_keys(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(4)
        // A connection to a local file does not drop the way a network connection
        // does; checking each one as it is taken would cost a round trip to its thread.
        .test_before_acquire(false)
        .connect_with(options)
        .await?)
}

/// Writes the directory's records, table by table, in the open transaction `tx`.
pub(crate) async fn write_records(
    tx: &mut Transaction<'static, Sqlite>,
    tables: &[Table<'_>],
) -> Result<(), StoreError> {
    let mut handle = tx.lock_handle().await?;
    let db = Connection::new(&mut handle);
    for table in tables {
        match table.key {
            None => bulk::insert(
                &db,
                &format!("INSERT INTO {} (id, body) VALUES (?1, ?2)", table.name),
                table.records,
                |st, r| {
                    st.text(1, r.id)?;
                    st.text(2, &r.body)
                },
            )?,
            Some(key) => bulk::insert(
                &db,
                &format!(
                    "INSERT INTO {} (id, body, {key}) VALUES (?1, ?2, ?3)",
                    table.name
                ),
                table.records,
                |st, r| {
                    st.text(1, r.id)?;
                    st.text(2, &r.body)?;
                    st.text(3, &r.key)
                },
            )?,
        }
    }
    Ok(())
}

/// Builds and writes the rows of `publish` under message `seq` in the open transaction
/// `tx`, while they are built: its decision and delivery batches, its partners' copies and,
/// unless it is a broadcast, a copy for each customer it reaches directly. Returns what is
/// left to write, and whether it is a broadcast.
pub(crate) async fn write_publish(
    tx: &mut Transaction<'static, Sqlite>,
    seq: i64,
    publish: &Publish<'_>,
    buffers: &Buffers,
) -> Result<(Tail, bool), StoreError> {
    let mut handle = tx.lock_handle().await?;
    let db = Connection::new(&mut handle);
    Ok(blocking(|| {
        let mut batches = BatchWriter::prepare(&db, seq, publish.accepted_at)?;
        let tail = rows::stream(publish, rows::threads(), buffers, |batch| {
            batches.write(&batch)?;
            Ok::<_, SqliteError>(Some(batch.into_body()))
        })?;
        let broadcast = tail.message.customers_direct > BROADCAST_ABOVE as i64;
        if !broadcast {
            bulk::insert(
                &db,
                "INSERT INTO customer_copies (customer, message) VALUES (?1, ?2)",
                &direct_customers(publish),
                |st, customer| {
                    st.text(1, customer)?;
                    st.int(2, seq)
                },
            )?;
        }
        Ok::<_, SqliteError>((tail, broadcast))
    })?)
}

/// Writes `rows` under message `seq` the plainest way, one prepared `INSERT` per row: the
/// baseline `herald bench publish` measures a publish against.
pub(crate) async fn write_rows(
    tx: &mut Transaction<'static, Sqlite>,
    seq: i64,
    rows: &Rows<'_>,
) -> Result<(), StoreError> {
    let mut handle = tx.lock_handle().await?;
    let db = Connection::new(&mut handle);
    let mut batches = BatchWriter::prepare(&db, seq, rows.message.accepted_at)?;
    for batch in &rows.decisions {
        batches.decisions(batch)?;
    }
    for batch in &rows.deliveries {
        batches.deliveries(batch)?;
    }
    for copy in rows.partner_copies() {
        batches.copy(&copy)?;
    }
    Ok(())
}

/// Inserts `n` one-integer rows into a scratch table in one transaction, then drops it.
pub(crate) async fn insert_scratch_rows(pool: &SqlitePool, n: i64) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)",
    )
    .execute(pool)
    .await?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    {
        let mut handle = tx.lock_handle().await?;
        let values: Vec<i64> = (0..n).collect();
        bulk::insert(
            &Connection::new(&mut handle),
            "INSERT INTO scratch (value) VALUES (?1)",
            &values,
            |st, v| st.int(1, *v),
        )?;
    }
    tx.commit().await?;
    sqlx::query("DROP TABLE scratch").execute(pool).await?;
    Ok(())
}

/// Copies what the write-ahead log holds into the database file, as far as no reader still
/// needs it.
pub(crate) async fn checkpoint(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(pool)
        .await?;
    Ok(())
}

/// How often an open store copies its write-ahead log into the database file. At ten
/// thousand deliveries a second the log grows by about ten megabytes a second; left alone
/// it grew past 600 MB under a 1M fan-out, and every read looked through it. Each
/// checkpoint copies the pages written since the last and syncs the file, so it is done
/// seldom enough that the hot pages written many times over are copied once.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// Starts the task that checkpoints `pool`'s database every [`CHECKPOINT_EVERY`], passively
/// (never waiting for a reader or a writer), until the pool is closed or the task aborted.
pub(crate) fn checkpoint_now_and_then(pool: SqlitePool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            // A checkpoint that fails (a full disk, say) leaves the log longer, and no
            // commit depends on it: the next one tries again.
            let checkpointed = checkpoint(&pool).await;
            if pool.is_closed() {
                return;
            }
            if let Err(e) = checkpointed {
                tracing::error!("the write-ahead log could not be checkpointed: {e}");
            }
        }
    })
}

/// How a commit is kept, as SQLite reports it on one connection of the pool.
pub(crate) async fn durability(pool: &SqlitePool) -> Result<Durability, StoreError> {
    let mut connection = pool.acquire().await?;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *connection)
        .await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *connection)
        .await?;
    let synchronous = match synchronous {
        0 => "off",
        1 => "normal",
        2 => "full",
        _ => "extra",
    };
    Ok(Durability {
        journal_mode,
        synchronous,
    })
}

/// The prepared inserts of a publish's batches and partner copies under message `seq`, on
/// the lent connection of an open transaction.
struct BatchWriter<'c> {
    seq: i64,
    due_at: i64,
    decisions: bulk::Statement<'c>,
    deliveries: bulk::Statement<'c>,
    copies: bulk::Statement<'c>,
}

impl<'c> BatchWriter<'c> {
    fn prepare(db: &'c Connection<'_>, seq: i64, due_at: i64) -> Result<Self, SqliteError> {
        Ok(BatchWriter {
            seq,
            due_at,
            decisions: db.prepare(
                "INSERT INTO decision_batches (message, first_customer, customers, body) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?,
            deliveries: db.prepare(
                "INSERT INTO delivery_batches (message, recipient, channel, deliveries, body, due_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
            copies: db.prepare(
                "INSERT INTO partner_copies (message, partner, customers, subscriptions) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?,
        })
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), SqliteError> {
        match batch {
            Batch::Decisions(b) => self.decisions(b),
            Batch::Deliveries(b) => self.deliveries(b),
            Batch::Copies(c) => c.rows().try_for_each(|row| self.copy(&row)),
        }
    }

    fn copy(&mut self, c: &PartnerCopyRow<'_, '_>) -> Result<(), SqliteError> {
        let seq = self.seq;
        self.copies.insert(|st| {
            st.int(1, seq)?;
            st.text(2, c.partner)?;
            st.text(3, c.customers)?;
            st.text(4, c.subscriptions)
        })
    }

    fn decisions(&mut self, b: &DecisionBatch<'_>) -> Result<(), SqliteError> {
        let seq = self.seq;
        self.decisions.insert(|st| {
            st.int(1, seq)?;
            st.text(2, b.first_customer)?;
            st.int(3, b.customers as i64)?;
            st.text(4, &b.body)
        })
    }

    fn deliveries(&mut self, b: &DeliveryBatch) -> Result<(), SqliteError> {
        let (seq, due_at) = (self.seq, self.due_at);
        self.deliveries.insert(|st| {
            st.int(1, seq)?;
            st.text(2, b.recipient.as_str())?;
            st.text(3, b.channel)?;
            st.int(4, b.deliveries as i64)?;
            st.text(5, &b.body)?;
            st.int(6, due_at)
        })
    }
}

/// Inserts each of `attempts` into `delivery_attempts` unless it is there already, and says
/// which were new, in order: through the C interface ([`bulk`]), like a publish's rows. A
/// worker records every delivery's attempt, a million for a million-customer incident;
/// through sqlx each row was a round trip to the connection's thread and back, and
/// `herald bench deliver` at 1M went from about 11,000 to 15,000 webhooks/s without them.
pub(crate) async fn insert_attempts(
    tx: &mut Transaction<'static, Sqlite>,
    attempts: &[Settled],
) -> Result<Vec<bool>, StoreError> {
    let mut handle = tx.lock_handle().await?;
    let db = Connection::new(&mut handle);
    Ok(blocking(|| {
        let mut statement = db.prepare(
            "INSERT INTO delivery_attempts \
             (delivery, attempt, at, latency_us, outcome, code, reply, error) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?;
        attempts
            .iter()
            .map(|s| {
                let a = &s.attempt;
                let inserted = statement.execute(|st| {
                    st.int(1, s.delivery)?;
                    st.int(2, s.number)?;
                    st.int(3, a.at)?;
                    st.int(4, a.latency_us)?;
                    st.text(5, a.outcome.as_str())?;
                    st.int_or_null(6, a.code)?;
                    st.text_or_null(7, a.reply.as_deref())?;
                    st.text_or_null(8, a.error.as_deref())
                })?;
                Ok(inserted == 1)
            })
            .collect::<Result<Vec<bool>, SqliteError>>()
    })?)
}
