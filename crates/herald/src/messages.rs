//! `herald publish`, `herald messages` and `herald show`: messages published into the
//! store through the service, listed, and shown with their decisions, partners' copies and
//! deliveries.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use herald_service::{Outcome, Service};
use herald_store::{Actor, MessageSummary, Place, StoreError};

use crate::cli::PolicyArgs;
use crate::deliveries::delivery_line;
use crate::inputs::{load_messages, load_policy, millis_now, open_existing};
use crate::terminal::{self, count, esay, escaped, say};

/// Publishes every message of `messages` into the store at `db`.
pub async fn publish(messages: &Path, db: &Place, policy: &PolicyArgs) -> Result<ExitCode> {
    let policy = load_policy(policy.policy.as_deref())?;
    let messages = load_messages(messages)?;
    let store = open_existing(db).await?;
    let service = Service::new(store.clone(), policy).await?;
    let (mut accepted, mut repeated, mut refused) = (0u64, 0u64, 0u64);
    for item in messages {
        let wire = match item {
            Ok(wire) => wire,
            Err((id, reason)) => {
                refused += 1;
                let id = id.map_or_else(|| "a message without id".to_owned(), |i| i.0);
                esay!("error: refused {}: {}", escaped(&id), escaped(&reason));
                continue;
            }
        };
        match service
            .publish(&wire, millis_now(), &Actor::Operator)
            .await?
        {
            Outcome::Accepted(s) => {
                accepted += 1;
                say!("accepted {}: {} queued", escaped(&s.id), audience(&s));
            }
            Outcome::Repeated(s) => {
                repeated += 1;
                say!(
                    "already published {} with the same content: nothing changed",
                    escaped(&s.id)
                );
            }
            Outcome::Conflict(id) => {
                refused += 1;
                esay!(
                    "error: refused {}: {}",
                    escaped(&id),
                    escaped(&StoreError::Conflict(id.clone()).to_string())
                );
            }
            Outcome::Invalid(reason) => {
                refused += 1;
                esay!(
                    "error: refused {}: {}",
                    escaped(wire.id.as_str()),
                    escaped(&reason)
                );
            }
        }
    }
    store.close().await;
    say!(
        "{}: {accepted} accepted, {repeated} repeated, {refused} refused",
        count(accepted + repeated + refused, "message", "messages")
    );
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Lists the messages of the store at `db`.
pub async fn list(db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let messages = store.messages().await?;
    if messages.is_empty() {
        say!("no messages in {}", db);
    } else {
        say!(
            "{:<32} {:<18} {:<8} {:>9} {:>8} {:>8} {:>10}",
            "id",
            "category",
            "cloud",
            "in scope",
            "direct",
            "partners",
            "deliveries"
        );
        for m in &messages {
            say!(
                "{:<32} {:<18} {:<8} {:>9} {:>8} {:>8} {:>10}",
                escaped(&m.id),
                escaped(&m.category),
                escaped(&m.cloud),
                m.customers_in_scope,
                m.customers_direct,
                m.partners_told,
                m.deliveries
            );
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Shows message `id` of `cloud`, as text or JSON.
pub async fn show(id: &str, cloud: &str, json: bool, db: &Place) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let Some(detail) = store.message(cloud, id).await? else {
        bail!(
            "no message \"{}\" in cloud \"{}\" in {} (name another cloud with --cloud)",
            escaped(id),
            escaped(cloud),
            db
        );
    };
    store.close().await;
    if json {
        say!("{}", terminal::json(&detail, true)?);
        return Ok(ExitCode::SUCCESS);
    }
    let s = &detail.summary;
    say!(
        "message {} ({} in cloud {}, policy {}), accepted {}",
        escaped(&s.id),
        escaped(&s.category),
        escaped(&s.cloud),
        escaped(&s.policy_version),
        terminal::time(s.accepted_at)
    );
    say!("  {}", audience(s));
    const SHOWN: usize = 50;
    say!("decisions:");
    for d in detail.decisions.iter().take(SHOWN) {
        say!(
            "  {:<24} {:<10} partners: {:<30} rules: {} (scope), {} (customer), {} (partners)",
            escaped(&d.customer),
            if d.direct { "direct" } else { "not direct" },
            if d.partners.is_empty() {
                "-".to_owned()
            } else {
                escaped(&d.partners.join(", ")).into_owned()
            },
            d.rules.scope,
            d.rules.customer,
            d.rules.partners
        );
    }
    if detail.decisions.len() > SHOWN {
        say!(
            "  … and {} more (use --json for all)",
            detail.decisions.len() - SHOWN
        );
    }
    say!("partner copies:");
    for c in detail.partner_copies.iter().take(SHOWN) {
        say!(
            "  {:<24} {}, subscriptions: {}",
            escaped(&c.partner),
            count(c.customers.len() as u64, "customer", "customers"),
            escaped(&c.subscriptions.join(", "))
        );
    }
    say!("deliveries:");
    for d in detail.deliveries.iter().take(SHOWN) {
        say!("  {}", delivery_line(d));
    }
    if detail.deliveries.len() > SHOWN {
        say!(
            "  … and {} more (use --json for all)",
            detail.deliveries.len() - SHOWN
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Who a message reaches, in words: customers in scope, told directly, partners told and
/// deliveries.
fn audience(s: &MessageSummary) -> String {
    format!(
        "{} in scope, {} told directly, {} told, {}",
        count(s.customers_in_scope as u64, "customer", "customers"),
        s.customers_direct,
        count(s.partners_told as u64, "partner", "partners"),
        count(s.deliveries as u64, "delivery", "deliveries")
    )
}
