//! `herald migrate`, `herald copy` and `herald import`: the store's schema brought up to
//! date, a whole store copied into a new one (from one engine to the other), and a world
//! file imported into a store as the directory.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use herald_store::{Actor, Place};

use crate::inputs::{load_world, millis_now, open_existing};
use crate::terminal::{count, say};

/// Applies the migrations the store at `db` lacks.
pub async fn migrate(db: &Place) -> Result<ExitCode> {
    let (store, schema) = db
        .open()
        .await
        .with_context(|| format!("could not migrate the store at {db}"))?;
    store.close().await;
    if schema.applied == 0 {
        say!(
            "the store at {} is at schema version {}; nothing to apply",
            db,
            schema.version
        );
    } else {
        say!(
            "applied {} to the store at {}; it is at schema version {}",
            count(schema.applied as u64, "migration", "migrations"),
            db,
            schema.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports the world in `world` into the store at `db`.
pub async fn import(world: &Path, db: &Place) -> Result<ExitCode> {
    let directory = load_world(world)?;
    let (store, _) = db
        .open()
        .await
        .with_context(|| format!("could not open the store at {db}"))?;
    let summary = store
        .import(&directory, millis_now(), &Actor::Operator)
        .await?;
    say!(
        "imported {} into {}: {}, {}, {}, {}",
        world.display(),
        db,
        count(summary.products as u64, "product", "products"),
        count(summary.partners as u64, "partner", "partners"),
        count(summary.customers as u64, "customer", "customers"),
        count(
            summary.subscriptions as u64,
            "subscription",
            "subscriptions"
        )
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Copies the whole store at `from` into the store at `to` (made and migrated first,
/// and refused, unwritten, when it holds data), and prints the rows of each table.
pub async fn copy(from: &Place, to: &Place) -> Result<ExitCode> {
    if let Some(file) = from.file().filter(|file| !file.exists()) {
        bail!(
            "there is no database at {} to copy; --from names an existing store",
            file.display()
        );
    }
    let source = open_existing(from).await?;
    let (target, _) = to
        .open()
        .await
        .with_context(|| format!("could not open the store at {to}"))?;
    let copied = herald_store::copy(&source, &target).await;
    source.close().await;
    target.close().await;
    let summary = copied.with_context(|| format!("could not copy {from} to {to}"))?;
    let total: u64 = summary.tables.iter().map(|(_, rows)| rows).sum();
    say!(
        "copied {} from {from} to {to}:",
        count(total, "row", "rows")
    );
    for (table, rows) in &summary.tables {
        say!("  {table:<18} {rows:>9}");
    }
    Ok(ExitCode::SUCCESS)
}
