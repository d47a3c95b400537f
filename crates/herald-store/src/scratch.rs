//! Throwaway stores, for tests and benchmarks: a SQLite file in a temporary folder, or a
//! fresh schema of the PostgreSQL database `HERALD_TEST_POSTGRES` names. Either is removed
//! when the [`Scratch`] is dropped, so suites run in parallel on one database and leave
//! nothing behind. `HERALD_TEST_ENGINE=postgres` runs a suite's stores on PostgreSQL;
//! `cargo xtask test` runs the store's, the API's and the delivery suites on each engine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

use crate::engine::Engine;
use crate::error::StoreError;
use crate::store::Store;

/// The variable naming the PostgreSQL database (`postgres://…`) scratch schemas are made in.
pub const POSTGRES_VAR: &str = "HERALD_TEST_POSTGRES";

/// The variable naming the engine of [`Scratch::new`]'s stores: `sqlite` (the default) or
/// `postgres`.
pub const ENGINE_VAR: &str = "HERALD_TEST_ENGINE";

/// The name of a scratch store's SQLite file in its folder.
const FILE: &str = "herald.db";

/// A place for one throwaway store, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    place: String,
    held: Held,
}

#[derive(Debug)]
enum Held {
    /// The temporary folder holding the SQLite file.
    Folder(TempDir),
    /// The schema made for the store, in the database at `url`.
    Schema { url: String, name: String },
}

impl Scratch {
    /// A new place on the engine `HERALD_TEST_ENGINE` names.
    pub async fn new() -> Result<Scratch, StoreError> {
        match std::env::var(ENGINE_VAR).as_deref() {
            Err(_) | Ok("" | "sqlite") => Scratch::sqlite(),
            Ok("postgres") => Scratch::postgres(&Scratch::postgres_url()?).await,
            Ok(other) => Err(StoreError::Scratch(format!(
                "{ENGINE_VAR} is {other:?}; it names an engine, \"sqlite\" or \"postgres\""
            ))),
        }
    }

    /// The PostgreSQL database `HERALD_TEST_POSTGRES` names, whatever the suite's engine:
    /// for a test that moves a store from one engine to the other.
    pub fn postgres_url() -> Result<String, StoreError> {
        match std::env::var(POSTGRES_VAR) {
            Ok(url) if !url.is_empty() => Ok(url),
            _ => Err(StoreError::Scratch(format!(
                "{POSTGRES_VAR} names no PostgreSQL database (postgres://user@host:port/database); \
                 `cargo xtask test` sets it"
            ))),
        }
    }

    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Result<Scratch, StoreError> {
        let folder = tempfile::tempdir().map_err(|e| StoreError::Scratch(e.to_string()))?;
        let place = folder.path().join(FILE).display().to_string();
        Ok(Scratch {
            place,
            held: Held::Folder(folder),
        })
    }

    /// A new, empty schema of the PostgreSQL database at `url`.
    pub async fn postgres(url: &str) -> Result<Scratch, StoreError> {
        static MADE: AtomicU32 = AtomicU32::new(0);
        let mut salt = [0u8; 4];
        getrandom::fill(&mut salt).map_err(|e| StoreError::Scratch(e.to_string()))?;
        let name = format!(
            "scratch_{}_{}_{:08x}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed),
            u32::from_le_bytes(salt)
        );
        let mut connection = PgConnection::connect(url).await?;
        sqlx::raw_sql(&format!("CREATE SCHEMA {name}"))
            .execute(&mut connection)
            .await?;
        connection.close().await?;
        let join = if url.contains('?') { '&' } else { '?' };
        Ok(Scratch {
            place: format!("{url}{join}options=-csearch_path%3D{name}&application_name={name}"),
            held: Held::Schema {
                url: url.to_owned(),
                name,
            },
        })
    }

    /// Where the store is: a file's path, or a URL whose search path is the schema (and
    /// whose connections are named after it).
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The SQLite file's path, or `None` on PostgreSQL.
    pub fn path(&self) -> Option<PathBuf> {
        match &self.held {
            Held::Folder(folder) => Some(folder.path().join(FILE)),
            Held::Schema { .. } => None,
        }
    }

    /// The engine the store runs on.
    pub fn engine(&self) -> Engine {
        match self.held {
            Held::Folder(_) => Engine::Sqlite,
            Held::Schema { .. } => Engine::Postgres,
        }
    }

    /// Opens the store, bringing its schema up to date.
    pub async fn open(&self) -> Result<Store, StoreError> {
        Ok(Store::open_at(&self.place).await?.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Held::Schema { url, name } = &self.held else {
            return;
        };
        // The store's connections are ended first: one may still hold a transaction its
        // runtime, blocked in this drop, would otherwise roll back.
        let statement = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = '{name}'; DROP SCHEMA {name} CASCADE"
        );
        let url = url.clone();
        // A runtime of its own, on a thread of its own: the drop may run inside another
        // runtime, which cannot be blocked on.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut connection = PgConnection::connect(&url).await?;
                sqlx::raw_sql(&statement).execute(&mut connection).await?;
                connection.close().await?;
                Ok::<_, sqlx::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("the scratch schema {name} was left behind: {e}");
        }
    }
}
