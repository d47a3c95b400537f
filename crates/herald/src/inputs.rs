//! What the CLI reads from outside itself: files (worlds, messages, policies), a store
//! (one that must already exist, or one made when missing), and the wall clock. It uses no other module of the CLI, so every
//! command may use it.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use herald_domain::{wire, Directory, Policy};
use herald_store::{Place, Store};

/// The text of the file at `path`.
pub fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))
}

/// The policy in the file at `path`, or the default one.
pub fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match path {
        None => Ok(Policy::default_policy()),
        Some(path) => Policy::parse(&read(path)?)
            .with_context(|| format!("the policy {} is invalid", path.display())),
    }
}

/// Reads and checks a world file.
pub fn load_world(path: &Path) -> Result<Directory> {
    let world = wire::World::from_json(&read(path)?).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a world in the directory format: {e}",
            path.display()
        )
    })?;
    Directory::build(world).with_context(|| format!("{} was refused", path.display()))
}

/// Reads a messages file: each item parsed on its own.
pub fn load_messages(path: &Path) -> Result<Vec<wire::Parsed>> {
    let batch = wire::Message::batch_from_str(&read(path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(batch
        .into_iter()
        .map(|m| m.map_err(|(id, e)| (id, format!("the message is malformed: {e}"))))
        .collect())
}

/// The wall clock in Unix milliseconds, read only at the edge.
pub fn millis_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Opens a store that must already exist: reading commands never create a SQLite file (a
/// PostgreSQL database is made by its server; the store's tables are made in it as it is
/// opened).
pub async fn open_existing(db: &Place) -> Result<Store> {
    if let Some(file) = db.file() {
        if !file.exists() {
            bail!("there is no database at {}; `herald import WORLD` or `herald serve` creates one (or name another with --db)", file.display());
        }
    }
    open(db).await
}

/// Opens the store at `db`, making it when missing (the long-running processes do, as
/// `herald serve` always has).
pub async fn open(db: &Place) -> Result<Store> {
    let (store, _) = db
        .open()
        .await
        .with_context(|| format!("could not open the store at {db}"))?;
    Ok(store)
}
