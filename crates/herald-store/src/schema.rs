//! The schema's version: the migrations in `migrations/`, embedded, each numbered by its
//! file name, brought to a store when it opens, and a store a newer Herald wrote (one that
//! has a migration applied this build does not know) refused before anything is changed,
//! naming both versions, as an older build cannot tell what the newer schema means.

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::SqlitePool;

use crate::store::StoreError;

/// The migrations this build knows.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// What opening a store did to its schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schema {
    /// The schema version the store is at: the number of its newest migration.
    pub version: i64,
    /// How many migrations were applied as it opened (0 when it was up to date).
    pub applied: usize,
}

/// The newest schema version this build knows.
fn known_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Applies the migrations `pool`'s database lacks. A database with a migration this build
/// does not know, of a newer version than any it knows, is refused with
/// [`StoreError::NewerSchema`] and left as it was.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<Schema, StoreError> {
    let before = applied(pool).await?;
    let known = known_version();
    MIGRATOR.run(pool).await.map_err(|e| match e {
        MigrateError::VersionMissing(_) => match before.iter().copied().max() {
            Some(found) if found > known => StoreError::NewerSchema { found, known },
            _ => StoreError::Migrate(e),
        },
        e => StoreError::Migrate(e),
    })?;
    Ok(Schema {
        version: known,
        applied: MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !before.contains(&m.version))
            .count(),
    })
}

/// The versions of the migrations applied to `pool`'s database, none for a new one.
async fn applied(pool: &SqlitePool) -> Result<Vec<i64>, StoreError> {
    let table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if table.is_none() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(pool)
        .await?)
}
