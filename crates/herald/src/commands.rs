//! The subcommands that read files and the store: route, explain, policy, migrate, import,
//! publish, messages and show; `keys` is handed to its own module.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use herald_domain::explain::{explain_customer, explain_partner};
use herald_domain::report::report;
use herald_domain::{route, wire, Directory, Message, Policy};
use herald_service::{Outcome, Service};
use herald_store::{Actor, DeliveryView, MessageSummary, Store, StoreError};

use crate::cli::{Cli, Command, PolicyArgs, PolicyCommand};
use crate::terminal::{self, count, esay, escaped, say};

/// Runs one command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Route {
            world,
            messages,
            policy,
        } => route_file(&world, &messages, &policy),
        Command::Explain {
            world,
            messages,
            message,
            customer,
            partner,
            json,
            policy,
        } => explain(
            &world,
            &messages,
            message.as_deref(),
            customer.as_deref(),
            partner.as_deref(),
            json,
            &policy,
        ),
        Command::Policy {
            command: PolicyCommand::Show { policy },
        } => {
            terminal::print_text(format_args!("{}", load_policy(&policy)?));
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => {
            let text = read(&file)?;
            match Policy::parse(&text) {
                Ok(p) => {
                    say!(
                        "{}: a valid policy, version {}, with {} and {} ({})",
                        file.display(),
                        p.version(),
                        count(p.rules().len() as u64, "rule", "rules"),
                        count(p.categories().len() as u64, "category", "categories"),
                        p.category_names()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => bail!("{}: {e}", file.display()),
            }
        }
        Command::Migrate { db } => block_on(migrate(&db.db)),
        Command::Import { world, db } => block_on(import(&world, &db.db)),
        Command::Publish {
            messages,
            db,
            policy,
        } => block_on(publish(&messages, &db.db, &policy)),
        Command::Messages { db } => block_on(list(&db.db)),
        Command::Show {
            id,
            cloud,
            json,
            db,
        } => block_on(show(&id, &cloud, json, &db.db)),
        Command::Deliveries { command } => block_on(crate::deliveries::run(command)),
        Command::Audit {
            cloud,
            limit,
            json,
            db,
        } => block_on(crate::audit::run(
            cloud.as_deref(),
            limit.into(),
            json,
            &db.db,
        )),
        Command::Completions { shell } => crate::manual::completions(shell),
        Command::Man { out } => crate::manual::man_pages(&out),
        Command::Work(args) => block_on(crate::work::run(args)),
        Command::Serve(args) => block_on(crate::serve::run(args)),
        Command::Listen(args) => block_on(crate::listen::run(args)),
        Command::Keys { command } => block_on(crate::keys::run(command)),
        Command::Demo {
            customers,
            seed,
            db,
        } => block_on(crate::demo::run(customers, seed, db)),
        Command::Bench { command } => block_on(crate::bench::run(command)),
    }
}

fn block_on<F: std::future::Future<Output = Result<ExitCode>>>(future: F) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?
        .block_on(future)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))
}

/// The policy named by `--policy`, or the default one.
pub fn load_policy(args: &PolicyArgs) -> Result<Policy> {
    match &args.policy {
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
fn load_messages(path: &Path) -> Result<Vec<wire::Parsed>> {
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

fn route_file(world: &Path, messages: &Path, policy: &PolicyArgs) -> Result<ExitCode> {
    let policy = load_policy(policy)?;
    let directory = load_world(world)?;
    let messages = load_messages(messages)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = messages.into_iter().try_for_each(|item| {
        let parsed = item.and_then(|w| {
            Message::parse(w, &policy, &directory).map_err(|e| (e.message, e.reason))
        });
        match parsed {
            Ok(message) => {
                let routing = route(&policy, &directory, &message);
                let report = report(&policy, &directory, &message, &routing);
                out.write_all(terminal::json(&report, false)?.as_bytes())?;
            }
            Err((id, reason)) => {
                let refused = serde_json::json!({"message": id, "error": reason});
                out.write_all(terminal::json(&refused, false)?.as_bytes())?;
            }
        }
        out.write_all(b"\n")
    });
    match written.and_then(|()| out.flush()) {
        // A reader that stops early (`herald route … | head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn explain(
    world: &Path,
    messages: &Path,
    only: Option<&str>,
    customer: Option<&str>,
    partner: Option<&str>,
    json: bool,
    policy: &PolicyArgs,
) -> Result<ExitCode> {
    let policy = load_policy(policy)?;
    let directory = load_world(world)?;
    let all = load_messages(messages)?;
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|m| match (only, m) {
            (None, _) => true,
            (Some(id), Ok(w)) => w.id.as_str() == id,
            (Some(id), Err((got, _))) => got.as_ref().is_some_and(|g| g.as_str() == id),
        })
        .collect();
    if chosen.is_empty() {
        bail!(
            "{} holds no message{}",
            messages.display(),
            only.map(|id| format!(" with id \"{}\"", escaped(id)))
                .unwrap_or_default()
        );
    }
    for item in chosen {
        let wire =
            item.map_err(|(id, e)| anyhow::anyhow!("message {}: {e}", id.unwrap_or_default()))?;
        let message = Message::parse(wire, &policy, &directory)?;
        let routing = route(&policy, &directory, &message);
        let answers = customer
            .map(|c| explain_customer(&policy, &directory, &message, &routing, c))
            .into_iter()
            .chain(partner.map(|p| explain_partner(&policy, &directory, &message, &routing, p)));
        for answer in answers {
            let answer = answer?;
            if json {
                say!("{}", terminal::json(&answer, false)?);
            } else {
                terminal::print_text(format_args!("{answer}"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn migrate(db: &Path) -> Result<ExitCode> {
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

async fn import(world: &Path, db: &Path) -> Result<ExitCode> {
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

async fn publish(messages: &Path, db: &Path, policy: &PolicyArgs) -> Result<ExitCode> {
    let policy = load_policy(policy)?;
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

/// Opens a database that must already exist: reading commands never create one.
pub async fn open_existing(db: &Path) -> Result<Store> {
    if !db.exists() {
        bail!("there is no database at {}; `herald import WORLD` or `herald serve` creates one (or name another with --db)", db.display());
    }
    Ok(Store::open(db).await?)
}

async fn list(db: &Path) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let messages = store.messages().await?;
    if messages.is_empty() {
        say!("no messages in {}", db.display());
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

async fn show(id: &str, cloud: &str, json: bool, db: &Path) -> Result<ExitCode> {
    let store = open_existing(db).await?;
    let Some(detail) = store.message(cloud, id).await? else {
        bail!(
            "no message \"{}\" in cloud \"{}\" in {} (name another cloud with --cloud)",
            escaped(id),
            escaped(cloud),
            db.display()
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
