//! `herald demo`: the whole job on a generated directory, with a readable summary.
//!
//! It generates a realistic, seeded directory (direct, direct-bill and two-tier CSP
//! customers in two clouds and several locales), imports it into a fresh database,
//! publishes a message of every category, and prints, per message, who heard directly,
//! which partners were told and how many deliveries were queued. Then it delivers the mail
//! to an SMTP server it starts on loopback, through the worker `herald work` runs, and
//! ends with two explanations.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use herald_domain::directory::Holding;
use herald_domain::explain::{explain_customer, explain_partner};
use herald_domain::synthetic::{self, Options};
use herald_domain::wire;
use herald_domain::{Directory, Message, Policy};
use herald_kit::sink::Sink;
use herald_server::ServeConfig;
use herald_service::Service;
use herald_store::{Actor, KeyFor, Place, Publish, Published, Store};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::inputs::millis_now;
use crate::terminal::say;
use crate::work::work_in;

fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(what.to_owned());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn text(pairs: &[(&str, &str)]) -> serde_json::Value {
    json!(pairs
        .iter()
        .map(|(l, t)| ((*l).to_owned(), json!(t)))
        .collect::<serde_json::Map<_, _>>())
}

/// A customer holding a direct agreement and a CSP subscription, both active: the case
/// where R2 and R4 meet.
fn mixed_customer(directory: &Directory) -> Option<(usize, String, String)> {
    let global = directory.cloud_ix("global")?;
    directory
        .customers()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.cloud == global)
        .find_map(|(i, c)| {
            let subs: Vec<_> = c
                .subscriptions
                .clone()
                .map(|s| &directory.subscriptions()[s as usize])
                .collect();
            let active = subs.iter().filter(|s| s.status == wire::Status::Active);
            let direct = active.clone().find(|s| s.is_direct())?;
            let csp = active.clone().find(|s| !s.is_direct())?;
            Some((i, direct.id.to_string(), csp.id.to_string()))
        })
}

/// A customer of the two-tier model (distributor and reseller).
fn two_tier(directory: &Directory) -> Option<(String, String, String)> {
    let global = directory.cloud_ix("global")?;
    directory
        .subscriptions()
        .iter()
        .find_map(|s| match s.holding {
            Holding::Csp {
                reseller: Some(r), ..
            } if s.status == wire::Status::Active
                && directory.customer(s.customer).cloud == global =>
            {
                Some((
                    s.id.to_string(),
                    directory.customer(s.customer).id.to_string(),
                    directory.partner(r).id.to_string(),
                ))
            }
            _ => None,
        })
}

/// Runs the demo; with `serve`, then keeps its store open under `herald serve` there.
pub async fn run(
    customers: usize,
    seed: u64,
    db: Option<Place>,
    serve: Option<SocketAddr>,
) -> Result<ExitCode> {
    let started = Instant::now();
    let policy = Policy::default_policy();
    let db = match db {
        Some(Place::Sqlite(path)) if path.exists() => bail!(
            "{} already exists; the demo wants a fresh database: name another file or remove it",
            path.display()
        ),
        Some(place) => place,
        None => {
            let path = std::env::temp_dir().join(format!("herald-demo-{}.db", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Place::Sqlite(path)
        }
    };

    say!(
        "Herald demo: {customers} customers, seed {seed}, database {}",
        db
    );
    let bar = spinner("generating the directory");
    let world = synthetic::world(Options {
        customers,
        seed,
        detailed: true,
        us_gov: true,
    });
    let counts = (
        world.partners.len(),
        world.customers.len(),
        world.subscriptions.len(),
    );
    let directory = Directory::build(world).context("the generated directory is invalid")?;
    bar.finish_and_clear();
    let direct_bill = directory
        .partners()
        .iter()
        .filter(|p| p.kind == wire::PartnerKind::DirectBill)
        .count();
    let resellers = directory
        .partners()
        .iter()
        .filter(|p| p.kind == wire::PartnerKind::IndirectReseller)
        .count();
    say!(
        "  directory: {} partners ({direct_bill} direct-bill, {resellers} resellers), {} customers, {} subscriptions, clouds {}",
        counts.0,
        counts.1,
        counts.2,
        directory.clouds().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" and ")
    );

    let bar = spinner("importing it into the store");
    let (store, _) = db
        .open()
        .await
        .with_context(|| format!("could not open the store at {db}"))?;
    let held = store.tables_with_rows().await?;
    if !held.is_empty() {
        bar.finish_and_clear();
        store.close().await;
        bail!(
            "the store at {db} already holds data ({}); the demo wants a fresh database: name an empty one",
            held.iter().map(|(table, rows)| format!("{table}: {rows}")).collect::<Vec<_>>().join(", ")
        );
    }
    store
        .import(&directory, millis_now(), &Actor::Operator)
        .await?;
    let service = Service::new(store.clone(), policy.clone()).await?;
    let snapshot = service.current_snapshot().await?;
    let (directory, generation) = (&snapshot.directory, snapshot.generation);
    bar.finish_and_clear();
    say!("  imported and read back in {:.1?}", started.elapsed());

    let (mixed_ix, mixed_direct, mixed_csp) = mixed_customer(directory).context(
        "the generated directory has no customer with both direct and CSP subscriptions",
    )?;
    let mixed = directory.customers()[mixed_ix].id.to_string();
    let mixed_partner = directory
        .subscription_ix(&mixed_csp)
        .and_then(|s| match directory.subscription(s).holding {
            Holding::Csp { partner, .. } => Some(directory.partner(partner).id.to_string()),
            Holding::Direct(_) => None,
        })
        .context("the mixed customer's CSP subscription has no partner")?;
    let (tier_sub, tier_customer, reseller) =
        two_tier(directory).context("the generated directory has no two-tier subscription")?;
    let some_customers: Vec<String> = directory
        .customers()
        .iter()
        .filter(|c| directory.cloud(c.cloud).as_str() == "global")
        .take(3)
        .map(|c| c.id.to_string())
        .collect();
    let messages = vec![
        json!({"id": "demo-price-change", "category": "subscription", "subscriptions": [mixed_direct, mixed_csp],
               "title": text(&[("en", "Price change for your subscriptions"), ("de", "Preisänderung für Ihre Abonnements"), ("fr", "Changement de prix de vos abonnements")]),
               "body": "Prices change on the first of next month."}),
        json!({"id": "demo-renewal-two-tier", "category": "subscription", "subscriptions": [tier_sub],
               "title": text(&[("en", "Your subscription renews in 7 days"), ("ja", "サブスクリプションは7日後に更新されます")])}),
        json!({"id": "demo-product-azure", "category": "product", "products": ["azure-plan"],
               "title": text(&[("en", "New Azure regions"), ("de", "Neue Azure-Regionen"), ("pt", "Novas regiões do Azure")])}),
        json!({"id": "demo-incident-exchange-eu", "category": "service_incident", "services": ["exchange"], "regions": ["eu"],
               "thread": "exchange-eu", "status": "investigating",
               "title": text(&[("en", "Mail delivery delays in Europe"), ("de", "Verzögerte E-Mail-Zustellung in Europa"), ("fr", "Retards de distribution du courrier en Europe"), ("ru", "Задержки доставки почты в Европе")])}),
        json!({"id": "demo-exchange-eu-resolved", "category": "service_incident", "services": ["exchange"], "regions": ["eu"],
               "thread": "exchange-eu", "status": "resolved",
               "title": text(&[("en", "Mail delivery in Europe is back to normal"), ("de", "E-Mail-Zustellung in Europa wieder normal")])}),
        json!({"id": "demo-incident-gov-teams", "category": "service_incident", "cloud": "us-gov", "services": ["teams"],
               "title": "Teams sign-in failures"}),
        json!({"id": "demo-maintenance-compute-apac", "category": "operational", "services": ["compute"], "regions": ["apac"],
               "title": text(&[("en", "Planned maintenance"), ("ja", "計画メンテナンス")])}),
        json!({"id": "demo-tenant-migration", "category": "operational", "customers": some_customers,
               "title": "Your tenant moves to a new datacenter"}),
    ];

    let bar = ProgressBar::new(messages.len() as u64).with_message("publishing");
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"),
    );
    let mut rows_printed = Vec::new();
    for value in &messages {
        let wire: wire::Message =
            serde_json::from_value(value.clone()).context("a demo message is malformed")?;
        let t = Instant::now();
        let message = Message::parse(wire, &policy, directory)?;
        // An update of a thread reaches everyone the thread reached before.
        let (routing, thread_head) = service
            .route_in_thread(directory, &message)
            .await?
            .map_err(anyhow::Error::msg)?;
        let publish = Publish {
            policy: &policy,
            directory,
            message: &message,
            routing: &routing,
            accepted_at: millis_now(),
            thread_head,
        };
        let Published::Accepted(summary) = store
            .publish(&publish, Some(generation), &Actor::Operator)
            .await?
        else {
            bail!(
                "demo message {} was already in the fresh database",
                message.id
            );
        };
        rows_printed.push((summary, t.elapsed(), message, routing));
        bar.inc(1);
    }
    bar.finish_and_clear();

    say!();
    say!(
        "{:<30} {:<17} {:>9} {:>9} {:>9} {:>11} {:>8}",
        "message",
        "category",
        "in scope",
        "directly",
        "partners",
        "deliveries",
        "time"
    );
    for (s, took, _, _) in &rows_printed {
        say!(
            "{:<30} {:<17} {:>9} {:>9} {:>9} {:>11} {:>7.1?}",
            s.id,
            s.category,
            s.customers_in_scope,
            s.customers_direct,
            s.partners_told,
            s.deliveries,
            took
        );
    }
    let total: i64 = rows_printed.iter().map(|(s, ..)| s.deliveries).sum();
    say!(
        "{total} deliveries queued by email in {}, each in its reader's language:",
        db
    );
    let by_locale = store.deliveries_by_locale().await?;
    let locales: Vec<String> = by_locale.iter().map(|(l, n)| format!("{l} {n}")).collect();
    say!("  {}", locales.join(", "));
    deliver(&store, &policy, total).await?;

    say!();
    let (_, _, price, price_routing) = &rows_printed[0];
    say!("Why did {mixed} hear about demo-price-change? (it holds {mixed_direct} directly and {mixed_csp} through a partner)");
    for line in explain_customer(&policy, directory, price, price_routing, &mixed)?.lines {
        say!("  {line}");
    }
    say!();
    let (_, _, renewal, renewal_routing) = &rows_printed[1];
    say!("Was reseller {reseller} told about demo-renewal-two-tier (customer {tier_customer})?");
    for line in explain_partner(&policy, directory, renewal, renewal_routing, &reseller)?.lines {
        say!("  {line}");
    }
    say!();
    say!(
        "Done in {:.1?}. Look closer with: herald messages --db {db}   or   herald show demo-price-change --db {db}",
        started.elapsed(),
        db = db
    );
    let Some(listen) = serve else {
        store.close().await;
        return Ok(ExitCode::SUCCESS);
    };
    let keys = [
        (
            "the vendor of global".to_owned(),
            KeyFor::Vendor {
                cloud: "global".into(),
            },
        ),
        (
            format!("partner {mixed_partner}"),
            KeyFor::Partner(mixed_partner.clone()),
        ),
        (format!("customer {mixed}"), KeyFor::Customer(mixed.clone())),
    ];
    say!();
    say!("The web console: http://{listen}/ (Ctrl-C stops it). Sign in with one of these keys:");
    for (who, key_for) in keys {
        let key = store
            .create_key(key_for, millis_now(), &Actor::Operator)
            .await?;
        say!("  {who:<24} {}", key.token);
    }
    store.close().await;
    crate::serve::serve_with(ServeConfig {
        listen,
        db,
        ..ServeConfig::default()
    })
    .await
}

/// Delivers what the demo queued: the mail to an SMTP server the demo starts on loopback,
/// through the same worker `herald work` runs; the copies are already in the inboxes.
async fn deliver(store: &Store, policy: &Policy, queued: i64) -> Result<()> {
    let sink = Sink::start("127.0.0.1:0", 1)
        .await
        .context("could not start the demo's SMTP server on 127.0.0.1")?;
    let mut config = ServeConfig::default();
    config.smtp.url = Some(format!("smtp://{}", sink.addr()));
    config.smtp.from = "Contoso Cloud <notices@contoso.example>".into();
    let bar = ProgressBar::new(queued as u64).with_message("delivering");
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"),
    );
    let started = Instant::now();
    let worker = work_in(store.clone(), &config, policy, true, std::future::pending());
    tokio::pin!(worker);
    let tally = loop {
        tokio::select! {
            tally = &mut worker => break tally?,
            () = tokio::time::sleep(Duration::from_millis(100)) => bar.set_position(sink.count()),
        }
    };
    bar.finish_and_clear();
    let took = started.elapsed();
    say!(
        "delivered: {} mails to the demo's SMTP server at {} in {took:.1?} ({:.0}/s); {} to be tried again, {} dead",
        sink.count(),
        sink.addr(),
        sink.count() as f64 / took.as_secs_f64().max(1e-9),
        tally.retrying,
        tally.dead
    );
    if let Some(mail) = sink.kept().pop() {
        let text = String::from_utf8_lossy(&mail.data);
        let header = |name: &str| {
            text.lines()
                .take_while(|l| !l.is_empty())
                .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                .map_or(String::new(), |l| l.trim().to_owned())
        };
        say!(
            "  the last one: to {}; {}; {}",
            mail.to.join(", "),
            header("subject"),
            header("content-language")
        );
    }
    say!("  every copy is also in its reader's inbox: GET /v1/inbox under `herald serve`");
    sink.stop().await;
    Ok(())
}
