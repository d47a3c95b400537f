//! The two engines a store runs on, SQLite and PostgreSQL, behind one pool and one
//! transaction type.
//!
//! A query is written once, as sqlx text with numbered placeholders, and run on whichever
//! engine the store opened: [`on_pool!`] and [`on_tx!`] expand the same body once for each
//! engine, so the rows, binds and errors are the same Rust on both, and sqlx checks each
//! expansion against its own engine's types. What the engines spell differently (a JSON
//! path, a bulk write, how a writer takes its turn) is chosen by [`Engine`], or lives in
//! the engine's own module.

use serde::Serialize;
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::error::StoreError;

/// The PostgreSQL channel a database's writers announce queued deliveries on, and its
/// workers listen to (`postgres::listen`), suffixed with the store's schema: one per schema,
/// so stores that share a database in schemas of their own (a cloud each, or tests side by
/// side) wake only their own workers.
pub(crate) const QUEUED: &str = "herald_queued";

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// One SQLite file, embedded: the default.
    Sqlite,
    /// A PostgreSQL database, shared by any number of processes.
    Postgres,
}

impl Engine {
    /// The engine's name, as `herald` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// The clause ending a lease's `SELECT` of rows of `table`: on PostgreSQL, whose
    /// writers run side by side, it locks the rows chosen and passes over those another
    /// worker's lease holds; SQLite's writers take turns, so there is nothing to pass over.
    pub(crate) fn skip_locked(self, table: &str) -> String {
        match self {
            Engine::Sqlite => String::new(),
            Engine::Postgres => format!("FOR UPDATE OF {table} SKIP LOCKED"),
        }
    }

    /// The inner join that reads its left side first: SQLite's planner keeps the order
    /// of a `CROSS JOIN` as written; PostgreSQL's picks the order itself.
    pub(crate) fn join_in_order(self) -> &'static str {
        match self {
            Engine::Sqlite => "CROSS JOIN",
            Engine::Postgres => "JOIN",
        }
    }

    /// The function giving the greater of two values.
    pub(crate) fn greatest(self) -> &'static str {
        match self {
            Engine::Sqlite => "max",
            Engine::Postgres => "greatest",
        }
    }

    /// A `FROM` item of the elements of the JSON array `doc` (a text column), one row
    /// each, as `{alias}.value`; [`Engine::json_place`] is an element's place in it.
    pub(crate) fn json_elements(self, doc: &str, alias: &str) -> String {
        match self {
            Engine::Sqlite => format!("json_each({doc}) AS {alias}"),
            Engine::Postgres => {
                format!(
                    "json_array_elements({doc}::json) WITH ORDINALITY AS {alias} (value, ordinal)"
                )
            }
        }
    }

    /// The place, from 0, of an element [`Engine::json_elements`] made `alias`.
    pub(crate) fn json_place(self, alias: &str) -> String {
        match self {
            Engine::Sqlite => format!("{alias}.key"),
            Engine::Postgres => format!("({alias}.ordinal - 1)"),
        }
    }

    /// Element `place` (an integer expression) of the JSON array `doc`, as text: a
    /// string's value, or the JSON of an array or object.
    pub(crate) fn json_at(self, doc: &str, place: &str) -> String {
        match self {
            Engine::Sqlite => format!("json_extract({doc}, printf('$[%d]', {place}))"),
            Engine::Postgres => format!("({doc}::json ->> CAST({place} AS INT))"),
        }
    }

    /// Element `n`, as text, of element `place` of the JSON array `doc`.
    pub(crate) fn json_at_nth(self, doc: &str, place: &str, n: usize) -> String {
        match self {
            Engine::Sqlite => format!("json_extract({doc}, printf('$[%d][{n}]', {place}))"),
            Engine::Postgres => format!("({doc}::json -> CAST({place} AS INT) ->> {n})"),
        }
    }

    /// Field `name` of the JSON object `doc` (a text column), as text.
    pub(crate) fn json_field(self, doc: &str, name: &str) -> String {
        match self {
            Engine::Sqlite => format!("{doc} ->> '$.{name}'"),
            Engine::Postgres => format!("({doc}::json ->> '{name}')"),
        }
    }

    /// A `FROM` item of the strings of the JSON array bound at `param` (`$1`, say), one
    /// row each, as `value`.
    pub(crate) fn json_strings(self, param: &str) -> String {
        match self {
            Engine::Sqlite => format!("json_each({param})"),
            Engine::Postgres => format!("json_array_elements_text(CAST({param} AS json)) AS value"),
        }
    }
}

/// Runs `work`, which computes (a publish's rows, on every core) or waits on SQLite without
/// yielding, so that it holds up no other task: on a multi-threaded runtime the worker
/// first hands its other tasks to another thread. Elsewhere (a single-threaded runtime, or
/// no runtime) it just runs.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// A pool of connections to one engine's database.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on one engine: committed by [`Tx::commit`], and rolled back when
/// dropped uncommitted.
#[derive(Debug)]
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the pool of the engine `$pool` (a `&Pool`) holds.
macro_rules! on_pool {
    ($pool:expr, |$c:ident| $body:expr) => {
        match $pool {
            $crate::engine::Pool::Sqlite($c) => $body,
            $crate::engine::Pool::Postgres($c) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to the transaction `$tx` (a `&mut Tx`) holds: a query
/// runs on it as `.execute(&mut **$c)`.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::engine::Tx::Sqlite($c) => $body,
            $crate::engine::Tx::Postgres($c) => $body,
        }
    };
}

pub(crate) use {on_pool, on_tx};

impl Pool {
    /// The engine the pool connects to.
    pub fn engine(&self) -> Engine {
        match self {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// Begins a transaction that reads one snapshot and writes nothing the store's writers
    /// must order.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs `sql`, which may hold several statements and binds nothing: for an operator's
    /// script or a test that sets a row up by hand.
    pub async fn execute_script(&self, sql: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::raw_sql(sql)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

impl Tx {
    /// The engine the transaction runs on.
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Tx::Sqlite(_) => Engine::Sqlite,
            Tx::Postgres(_) => Engine::Postgres,
        }
    }

    /// Commits everything the transaction wrote, durably.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Tells, once the transaction commits, every process's worker that deliveries were
    /// queued: PostgreSQL notifies its listeners; a SQLite store's workers in other
    /// processes find them when they next look.
    pub(crate) async fn announce_queued(&mut self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(_) => Ok(()),
            Tx::Postgres(tx) => {
                sqlx::query(&format!(
                    "SELECT pg_notify('{QUEUED}.' || current_schema(), '')"
                ))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }
    }

    /// Drops everything the transaction wrote.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// How a commit is kept: SQLite's journal mode and synchronous level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Durability {
    pub journal_mode: String,
    pub synchronous: &'static str,
}
