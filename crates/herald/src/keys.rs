//! `herald keys create`, `list` and `revoke`: the API keys callers of the HTTP API present,
//! kept in the store. A key's token is printed once, on stdout, when the key is made;
//! nothing prints it again, and the store keeps only a hash of its secret.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use herald_store::{Actor, KeyFor, KeyInfo, Principal};

use crate::cli::KeysCommand;
use crate::commands::{millis_now, open_existing};
use crate::terminal::{self, esay, escaped, say};

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

async fn create(key_for: KeyFor, db: &Path) -> Result<ExitCode> {
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

async fn list(json: bool, db: &Path) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let keys = store.keys().await;
    store.close().await;
    let keys = keys?;
    if json {
        say!("{}", terminal::json(&keys, true)?);
    } else if keys.is_empty() {
        say!("no API keys in {}", db.display());
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
                utc(key.created_at),
                status(key)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(id: &str, db: &Path) -> Result<ExitCode> {
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
            utc(at)
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
        .map_or_else(|| "active".to_owned(), |at| format!("revoked {}", utc(at)))
}

/// Unix milliseconds as a UTC time to the second, `2023-11-14T22:13:20Z`.
pub(crate) fn utc(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // The civil date of a day count (Howard Hinnant's `civil_from_days`): eras of 400
    // years, each year counted from March so that a leap day ends it.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3_600,
        of_day / 60 % 60,
        of_day % 60
    )
}
