//! The schema's version: the migrations in `migrations/`, one directory per engine with
//! the same versions in each, embedded, each numbered by its
//! file name, brought to a store when it opens, and a store a newer Herald wrote (one that
//! has a migration applied this build does not know) refused before anything is changed,
//! naming both versions, as an older build cannot tell what the newer schema means.

use sqlx::migrate::{MigrateError, Migrator};

use crate::engine::{on_pool, Engine, Pool};
use crate::error::StoreError;

/// The migrations this build knows for SQLite.
static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The migrations this build knows for PostgreSQL: the same versions, in its own SQL.
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// What opening a store did to its schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schema {
    /// The schema version the store is at: the number of its newest migration.
    pub version: i64,
    /// How many migrations were applied as it opened (0 when it was up to date).
    pub applied: usize,
}

impl Pool {
    /// The migrations this build knows for the pool's engine.
    fn migrator(&self) -> &'static Migrator {
        match self {
            Pool::Sqlite(_) => &SQLITE,
            Pool::Postgres(_) => &POSTGRES,
        }
    }
}

/// The newest schema version `migrator` knows.
fn known_version(migrator: &Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Applies the migrations `pool`'s database lacks. A database with a migration this build
/// does not know, of a newer version than any it knows, is refused with
/// [`StoreError::NewerSchema`] and left as it was.
pub(crate) async fn migrate(pool: &Pool) -> Result<Schema, StoreError> {
    let migrator = pool.migrator();
    let before = applied(pool).await?;
    let known = known_version(migrator);
    let ran = match pool {
        Pool::Sqlite(pool) => migrator.run(pool).await,
        Pool::Postgres(pool) => migrator.run(pool).await,
    };
    ran.map_err(|e| match e {
        MigrateError::VersionMissing(_) => match before.iter().copied().max() {
            Some(found) if found > known => StoreError::NewerSchema { found, known },
            _ => StoreError::Migrate(e),
        },
        e => StoreError::Migrate(e),
    })?;
    Ok(Schema {
        version: known,
        applied: migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !before.contains(&m.version))
            .count(),
    })
}

/// The versions of the migrations applied to `pool`'s database, none for a new one.
async fn applied(pool: &Pool) -> Result<Vec<i64>, StoreError> {
    let exists = match pool.engine() {
        Engine::Sqlite => {
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Engine::Postgres => "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
    };
    let table: bool = on_pool!(pool, |exe| sqlx::query_scalar(exists).fetch_one(exe).await)?;
    if !table {
        return Ok(Vec::new());
    }
    Ok(on_pool!(pool, |exe| sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations"
    )
    .fetch_all(exe)
    .await)?)
}
