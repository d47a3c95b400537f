//! `herald migrate` and `herald import`: the store's schema brought up to date, and a world
//! file imported into it as the directory.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use herald_store::{Actor, Store};

use crate::inputs::{load_world, millis_now};
use crate::terminal::{count, say};

/// Applies the migrations the store at `db` lacks.
pub async fn migrate(db: &Path) -> Result<ExitCode> {
    let (store, schema) = Store::open_migrating(db).await?;
    store.close().await;
    if schema.applied == 0 {
        say!(
            "the store at {} is at schema version {}; nothing to apply",
            db.display(),
            schema.version
        );
    } else {
        say!(
            "applied {} to the store at {}; it is at schema version {}",
            count(schema.applied as u64, "migration", "migrations"),
            db.display(),
            schema.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports the world in `world` into the store at `db`.
pub async fn import(world: &Path, db: &Path) -> Result<ExitCode> {
    let directory = load_world(world)?;
    let store = Store::open(db).await?;
    let summary = store
        .import(&directory, millis_now(), &Actor::Operator)
        .await?;
    say!(
        "imported {} into {}: {}, {}, {}, {}",
        world.display(),
        db.display(),
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
