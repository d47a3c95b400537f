//! `herald deliveries list`, `show` and `retry`: what became of each delivery, every
//! attempt at it, and replaying a dead letter once its receiver is fixed.

use std::process::ExitCode;

use anyhow::{bail, Result};
use herald_store::{Actor, DeliveryView, Place, Replayed, Store, Troubled};

use crate::cli::DeliveriesCommand;
use crate::inputs::{millis_now, open_existing};
use crate::terminal::{self, count, escaped, say, time};

/// Runs one `herald deliveries` subcommand.
pub async fn run(command: DeliveriesCommand) -> Result<ExitCode> {
    match command {
        DeliveriesCommand::List {
            message,
            status,
            cloud,
            limit,
            json,
            db,
        } => {
            let store = open_existing(&db.db).await?;
            let listed = list(&store, &cloud, message.as_deref(), status.as_deref(), limit).await;
            store.close().await;
            print_list(&listed?, json, &db.db)
        }
        DeliveriesCommand::Show {
            id,
            cloud,
            json,
            db,
        } => show(id, &cloud, json, &db.db).await,
        DeliveriesCommand::Retry { id, cloud, db } => retry(id, &cloud, &db.db).await,
    }
}

async fn list(
    store: &Store,
    cloud: &str,
    message: Option<&str>,
    status: Option<&str>,
    limit: usize,
) -> Result<Vec<DeliveryView>> {
    const STATES: [&str; 4] = ["pending", "delivered", "retrying", "dead"];
    if let Some(status) = status {
        if !STATES.contains(&status) {
            bail!("--status {status:?} is not a delivery state; use pending, delivered, retrying or dead");
        }
    }
    if let Some(id) = message {
        let Some(detail) = store.message(cloud, id).await? else {
            bail!(
                "there is no message \"{}\" in cloud {}",
                escaped(id),
                escaped(cloud)
            );
        };
        return Ok(detail
            .deliveries
            .into_iter()
            .filter(|d| status.is_none_or(|s| d.status == s))
            .take(limit)
            .collect());
    }
    if let Some(other) = status.filter(|s| !["retrying", "dead"].contains(s)) {
        bail!("--status {other} lists only with --message: a message's deliveries; without it, list retrying or dead ones");
    }
    let which = Troubled {
        status,
        ..Troubled::default()
    };
    Ok(store.troubled_deliveries(cloud, which, None, limit).await?)
}

fn print_list(listed: &[DeliveryView], json: bool, db: &Place) -> Result<ExitCode> {
    if json {
        say!("{}", terminal::json(listed, true)?);
    } else if listed.is_empty() {
        say!("no such deliveries in {}", db);
    } else {
        for d in listed {
            say!("{}", delivery_line(d));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(id: i64, cloud: &str, json: bool, db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let detail = store.delivery(cloud, id).await;
    store.close().await;
    let Some(detail) = detail? else {
        bail!("there is no delivery {id} in cloud {cloud}");
    };
    if json {
        say!("{}", terminal::json(&detail, true)?);
        return Ok(ExitCode::SUCCESS);
    }
    let d = &detail.delivery;
    say!(
        "delivery {} of message {} ({})",
        d.id,
        escaped(&d.message),
        d.status
    );
    say!("{}", delivery_line(d));
    if let Some(at) = d.next_attempt_at {
        say!("next attempt at {}", time(at));
    }
    say!("attempts:");
    for (n, a) in detail.attempts.iter().enumerate() {
        say!(
            "  {:>2}. at {} after {:.1} ms: {}{}{}",
            n + 1,
            time(a.at),
            a.latency_us as f64 / 1_000.0,
            a.outcome.as_str(),
            a.code.map(|c| format!(" ({c})")).unwrap_or_default(),
            a.error
                .as_deref()
                .or(a.reply.as_deref())
                .map(|e| format!(": {}", escaped(e)))
                .unwrap_or_default()
        );
    }
    if detail.attempts.is_empty() {
        say!("  none yet");
    }
    if d.status == "dead" {
        say!(
            "dead: no attempt is left; once its receiver is fixed, replay it with `herald deliveries retry {}{}`",
            d.id,
            if cloud == "global" {
                String::new()
            } else {
                format!(" --cloud {}", escaped(cloud))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn retry(id: i64, cloud: &str, db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let replayed = store
        .replay(cloud, id, millis_now(), &Actor::Operator)
        .await;
    store.close().await;
    match replayed? {
        Replayed::Queued => {
            say!("delivery {id} is queued again; a worker tries it at once");
            Ok(ExitCode::SUCCESS)
        }
        Replayed::StillQueued(d) => bail!(
            "delivery {id} is still {}: a worker will try it, so there is nothing to replay",
            d.status
        ),
        Replayed::Unknown => bail!("there is no delivery {id} in cloud {cloud}"),
    }
}

/// One delivery on one line: id, recipient, organisation, channel, where to, locale and
/// where it stands.
pub fn delivery_line(d: &DeliveryView) -> String {
    let to = escaped(d.address.as_deref().unwrap_or(&d.to));
    let to = match &d.customer {
        Some(customer) => format!("{to} (for {})", escaped(customer)),
        None => to.into_owned(),
    };
    format!(
        "#{:<8} {:<8} {:<24} {:<7} {:<40} {:<6} {} ({})",
        d.id,
        d.recipient,
        escaped(d.org.as_deref().unwrap_or("(vendor)")),
        d.channel,
        to,
        d.locale.as_deref().unwrap_or("-"),
        d.status,
        count(d.attempts.max(0) as u64, "attempt", "attempts")
    )
}
