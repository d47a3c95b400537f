//! `herald keys create`, `list` and `revoke`: the API keys callers of the HTTP API present,
//! kept in the store. A key's token is printed once, on stdout, when the key is made;
//! nothing prints it again, and the store keeps only a hash of its secret.

use std::process::ExitCode;

use anyhow::{bail, Result};
use herald_store::{Actor, KeyFor, KeyInfo, Place, Principal};

use crate::cli::KeysCommand;
use crate::inputs::{millis_now, open_existing};
use crate::terminal::{self, esay, escaped, say, time};

/// Runs one `herald keys` subcommand.
pub async fn run(command: KeysCommand) -> Result<ExitCode> {
    match command {
        KeysCommand::Create {
            vendor,
            cloud,
            all_clouds,
            partner,
            customer,
            db,
        } => {
            let key_for = if all_clouds {
                KeyFor::VendorOfEveryCloud
            } else if vendor {
                let Some(cloud) = cloud else {
                    bail!("a vendor key acts in one cloud: name it with --cloud CLOUD, or make a key for every cloud with --all-clouds (it changes only the product catalog the clouds share)")
                };
                KeyFor::Vendor { cloud }
            } else if let Some(partner) = partner {
                KeyFor::Partner(partner)
            } else if let Some(customer) = customer {
                KeyFor::Customer(customer)
            } else {
                bail!("say whom the key acts as: --vendor --cloud CLOUD, --vendor --all-clouds, --partner ID or --customer ID")
            };
            create(key_for, &db.db).await
        }
        KeysCommand::List { json, db } => list(json, &db.db).await,
        KeysCommand::Revoke { id, db } => revoke(&id, &db.db).await,
    }
}

async fn create(key_for: KeyFor, db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let created = store
        .create_key(key_for, millis_now(), &Actor::Operator)
        .await;
    store.close().await;
    let key = created?;
    say!("{}", key.token);
    esay!(
        "made key {} acting as {}; the token above is shown this once only and is not stored: keep it now",
        key.id,
        whom(&key.principal)
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(json: bool, db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let keys = store.keys().await;
    store.close().await;
    let keys = keys?;
    if json {
        say!("{}", terminal::json(&keys, true)?);
    } else if keys.is_empty() {
        say!("no API keys in {}", db);
    } else {
        say!(
            "{:<16}  {:<8}  {:<10}  {:<24}  {:<20}  status",
            "id",
            "acts as",
            "cloud",
            "partner or customer",
            "created"
        );
        for key in &keys {
            let (kind, subject) = match &key.principal {
                Principal::Vendor { .. } => ("vendor", "-"),
                Principal::Partner { partner, .. } => ("partner", partner.as_str()),
                Principal::Customer { customer, .. } => ("customer", customer.as_str()),
            };
            say!(
                "{:<16}  {:<8}  {:<10}  {:<24}  {:<20}  {}",
                escaped(&key.id),
                kind,
                escaped(key.principal.cloud()),
                escaped(subject),
                time(key.created_at),
                status(key)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(id: &str, db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let now = millis_now();
    let revoked = store.revoke_key(id, now, &Actor::Operator).await;
    store.close().await;
    let key = revoked?;
    match key.revoked_at {
        Some(at) if at != now => say!(
            "key {} ({}) was already revoked at {}: nothing changed",
            escaped(id),
            whom(&key.principal),
            time(at)
        ),
        _ => say!(
            "revoked key {} ({}): its token no longer authenticates",
            escaped(id),
            whom(&key.principal)
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Whom a key acts as, in words.
pub(crate) fn whom(principal: &Principal) -> String {
    match principal {
        Principal::Vendor { .. } if principal.every_cloud() => {
            "the vendor for every cloud (the product catalog)".to_owned()
        }
        Principal::Vendor { cloud } => format!("the vendor in cloud \"{}\"", escaped(cloud)),
        Principal::Partner { cloud, partner } => {
            format!(
                "partner \"{}\" in cloud \"{}\"",
                escaped(partner),
                escaped(cloud)
            )
        }
        Principal::Customer { cloud, customer } => {
            format!(
                "customer \"{}\" in cloud \"{}\"",
                escaped(customer),
                escaped(cloud)
            )
        }
    }
}

/// `active`, or `revoked` and when.
fn status(key: &KeyInfo) -> String {
    key.revoked_at
        .map_or_else(|| "active".to_owned(), |at| format!("revoked {}", time(at)))
}
