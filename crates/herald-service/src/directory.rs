//! The directory as a vendor reads and changes it: its own cloud's partners, customers and
//! subscriptions, and the product catalog every cloud shares. A cloud is replaced whole
//! here; a record or contact at a time in `records`.
//!
//! Every change is checked against the whole directory, then written in one transaction,
//! and only if the stored directory is still the one it was checked against: otherwise it
//! is read again and the change made again. Changes in this process take one lock in turn,
//! and the directory a change made is kept for routing. A refusal names only what the
//! vendor of the cloud may know (`refusal`).

mod records;

pub use records::Placed;

use std::collections::HashSet;
use std::sync::Arc;

use herald_domain::directory::Problem as RecordProblem;
use herald_domain::ids::{CloudId, CustomerIx, PartnerIx, ProductIx, SubscriptionIx};
use herald_domain::limits::shown;
use herald_domain::{wire, Directory, DirectoryError};
use herald_store::{Snapshot, StoreError};

use crate::{catalog_refused, Editor, Refusal, Service, ServiceError};

fn cloud_of(cloud: &Option<CloudId>) -> &str {
    cloud.as_ref().map_or("global", CloudId::as_str)
}

/// The part of `directory` a vendor of `cloud` may see, in the world format: the
/// catalog, and the cloud's partners, customers and subscriptions, each sorted by id.
pub(crate) fn cloud_world(directory: &Directory, cloud: &str) -> wire::World {
    let products = (0..directory.products().len() as u32)
        .map(|p| directory.product_record(ProductIx(p)))
        .collect();
    let Some(home) = directory.cloud_ix(cloud) else {
        return wire::World {
            products,
            ..wire::World::default()
        };
    };
    let partners = directory
        .partners()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.cloud == home)
        .map(|(i, _)| directory.partner_record(PartnerIx(i as u32)))
        .collect();
    let customers: Vec<CustomerIx> = directory
        .customers()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.cloud == home)
        .map(|(i, _)| CustomerIx(i as u32))
        .collect();
    let mut subscriptions: Vec<wire::Subscription> = customers
        .iter()
        .flat_map(|c| directory.customer_subscriptions(*c))
        .map(|s| directory.subscription_record(s))
        .collect();
    subscriptions.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    wire::World {
        products,
        partners,
        customers: customers
            .into_iter()
            .map(|c| directory.customer_record(c))
            .collect(),
        subscriptions,
    }
}

/// Why `own`, the caller's cloud of the directory with its change made (and the catalog),
/// could not join the directory `stored` of every cloud, in words that name only what the
/// vendor of `cloud` may know: the records of its own cloud, the catalog and its request.
///
/// When `own` breaks a rule by itself, its own problems are the answer. Otherwise the
/// clouds are independent but for their ids (partners, customers, subscriptions and
/// contacts are each unique across the directory), so the change was refused for using
/// ids another cloud's records have: those are named as taken, and whose they are is not.
pub(crate) fn refusal(stored: &Directory, cloud: &str, own: wire::World) -> DirectoryError {
    let own = match Directory::build(own) {
        Ok(own) => own,
        Err(own) => return own,
    };
    let home = stored.cloud_ix(cloud);
    // Each organisation's id and its contacts' ids, named by kind.
    let named = |directory: &Directory, kind, id: &str, contacts| {
        std::iter::once((kind, id.to_owned())).chain(
            directory
                .contacts(contacts)
                .iter()
                .map(|c| ("contact", c.id.as_str().to_owned()))
                .collect::<Vec<_>>(),
        )
    };
    let mut foreign: HashSet<(&str, String)> = HashSet::new();
    for p in stored.partners().iter().filter(|p| Some(p.cloud) != home) {
        foreign.extend(named(stored, "partner", p.id.as_str(), &p.contacts));
    }
    for c in stored.customers().iter().filter(|c| Some(c.cloud) != home) {
        foreign.extend(named(stored, "customer", c.id.as_str(), &c.contacts));
    }
    for (s, subscription) in stored.subscriptions().iter().enumerate() {
        let s = SubscriptionIx(s as u32);
        if Some(stored.subscription_cloud(s)) != home {
            foreign.insert(("subscription", subscription.id.as_str().to_owned()));
        }
    }
    let mut mine: Vec<(&str, String)> = Vec::new();
    for p in own.partners() {
        mine.extend(named(&own, "partner", p.id.as_str(), &p.contacts));
    }
    for c in own.customers() {
        mine.extend(named(&own, "customer", c.id.as_str(), &c.contacts));
    }
    mine.extend(
        own.subscriptions()
            .iter()
            .map(|s| ("subscription", s.id.as_str().to_owned())),
    );
    let mut problems: Vec<RecordProblem> = mine
        .into_iter()
        .filter(|named| foreign.contains(named))
        .map(|(kind, id)| RecordProblem {
            kind,
            id,
            field: "id",
            what: "the id is taken by a record this key cannot see; choose another".into(),
        })
        .collect();
    if problems.is_empty() {
        problems.push(RecordProblem {
            kind: "directory",
            id: cloud.to_owned(),
            field: "products",
            what: "the change breaks records this key cannot see".into(),
        });
    }
    DirectoryError { problems }
}

impl Service {
    /// The caller's cloud of the directory and the whole catalog, in the world format: the
    /// catalog alone for a key for every cloud.
    pub async fn cloud_directory(&self, editor: &Editor) -> Result<wire::World, ServiceError> {
        let cloud = editor.directory_cloud("read the directory")?;
        let snapshot = self.current_snapshot().await?;
        Ok(cloud_world(&snapshot.directory, cloud))
    }

    /// Replaces the caller's cloud of the directory with `world` at `now`, atomically: its
    /// partners, customers and subscriptions become exactly those given. Products are added
    /// to or updated in the shared catalog (by a key for every cloud, whose `world` holds
    /// products alone; a key of one cloud names them only as the catalog holds them); the
    /// other clouds are untouched.
    pub async fn replace_cloud(
        &self,
        editor: &Editor,
        world: wire::World,
        now: i64,
    ) -> Result<(), ServiceError> {
        let cloud = editor.directory_cloud("replace the directory")?;
        let every_cloud = editor.0.every_cloud();
        if every_cloud {
            products_only(&world)?;
        } else {
            outside_cloud(cloud, &world)?;
        }
        // One replacement at a time in this process; against other processes, the
        // directory is replaced only if it is still the one the replacement was made from.
        let _writing = self.directory_writes().lock().await;
        let mut snapshot = self.current_snapshot().await?;
        loop {
            let stored = &snapshot.directory;
            if !every_cloud {
                catalog_kept(stored, &world)?;
            }
            let directory = Directory::build(merge(cloud, stored.to_world(), world.clone()))
                .map_err(|_| {
                    // The catalog and this cloud, the cloud's records replaced by the body's.
                    let own = merge(cloud, cloud_world(stored, cloud), world.clone());
                    Refusal::InvalidDirectory(refusal(stored, cloud, own).to_string())
                })?;
            match self
                .store()
                .replace_directory(&directory, snapshot.generation, now, &editor.actor())
                .await
            {
                Ok(summary) => {
                    self.keep_snapshot(Arc::new(Snapshot {
                        directory,
                        generation: summary.generation,
                    }));
                    return Ok(());
                }
                Err(StoreError::DirectoryChanged) => {
                    snapshot = Arc::new(self.store().load_snapshot().await?);
                    self.keep_snapshot(Arc::clone(&snapshot));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Refuses a body of a key for every cloud that holds anything but products.
fn products_only(world: &wire::World) -> Result<(), Refusal> {
    let held: Vec<&str> = [
        ("partners", world.partners.is_empty()),
        ("customers", world.customers.is_empty()),
        ("subscriptions", world.subscriptions.is_empty()),
    ]
    .into_iter()
    .filter(|(_, empty)| !empty)
    .map(|(kind, _)| kind)
    .collect();
    if held.is_empty() {
        return Ok(());
    }
    Err(Refusal::Forbidden(format!(
            "a vendor key for every cloud puts only products into the catalog, and the body holds {}; put a cloud's records with a vendor key of that cloud",
            held.join(" and ")
    )))
}

/// Refuses products of `world` that are not in `stored`'s catalog as they
/// are: the catalog is every cloud's, so a key of one cloud only names it as it is.
fn catalog_kept(stored: &Directory, world: &wire::World) -> Result<(), Refusal> {
    let given = match Directory::build(wire::World {
        products: world.products.clone(),
        ..wire::World::default()
    }) {
        Ok(given) => given.to_world().products,
        // A product that breaks a rule is named by the directory's own refusal.
        Err(_) => return Ok(()),
    };
    let changed: Vec<&str> = given
        .iter()
        .filter(|p| {
            stored
                .product_ix(p.id.as_str())
                .is_none_or(|held| stored.product_record(held) != **p)
        })
        .map(|p| p.id.as_str())
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(Refusal::Forbidden(format!(
            "products {} are not in the catalog as given: {}; leave them out of `products`, or send them as GET /v1/directory shows them",
            changed
                .iter()
                .map(|id| format!("\"{id}\""))
                .collect::<Vec<_>>()
                .join(", "),
            catalog_refused().detail()
    )))
}

/// Refuses any record of the body outside `cloud`, naming each.
fn outside_cloud(cloud: &str, world: &wire::World) -> Result<(), Refusal> {
    let mut problems = Vec::new();
    for p in &world.partners {
        if cloud_of(&p.cloud) != cloud {
            problems.push(format!(
                "partner \"{}\", field `cloud`: \"{}\" is not this key's cloud \"{cloud}\"",
                p.id.shown(),
                shown(cloud_of(&p.cloud))
            ));
        }
    }
    for c in &world.customers {
        if cloud_of(&c.cloud) != cloud {
            problems.push(format!(
                "customer \"{}\", field `cloud`: \"{}\" is not this key's cloud \"{cloud}\"",
                c.id.shown(),
                shown(cloud_of(&c.cloud))
            ));
        }
    }
    let customers: HashSet<&str> = world.customers.iter().map(|c| c.id.as_str()).collect();
    for s in &world.subscriptions {
        if !customers.contains(s.customer.as_str()) {
            problems.push(format!(
                "subscription \"{}\", field `customer`: \"{}\" is not one of this directory's customers",
                s.id.shown(),
                s.customer.shown()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refusal::InvalidDirectory(format!(
            "the directory was refused and nothing of it was used: {}",
            problems.join("; ")
        )))
    }
}

/// The stored world with `cloud`'s records replaced by `given`'s, and `given`'s products
/// added to or updated in the catalog.
fn merge(cloud: &str, stored: wire::World, given: wire::World) -> wire::World {
    let given_products: HashSet<String> = given.products.iter().map(|p| p.id.to_string()).collect();
    let mut products: Vec<wire::Product> = stored
        .products
        .into_iter()
        .filter(|p| !given_products.contains(p.id.as_str()))
        .collect();
    products.extend(given.products);
    let other_customers: HashSet<String> = stored
        .customers
        .iter()
        .filter(|c| cloud_of(&c.cloud) != cloud)
        .map(|c| c.id.to_string())
        .collect();
    let subscriptions = stored
        .subscriptions
        .into_iter()
        .filter(|s| other_customers.contains(s.customer.as_str()))
        .chain(given.subscriptions)
        .collect();
    let partners = stored
        .partners
        .into_iter()
        .filter(|p| cloud_of(&p.cloud) != cloud)
        .chain(given.partners)
        .collect();
    let customers = stored
        .customers
        .into_iter()
        .filter(|c| cloud_of(&c.cloud) != cloud)
        .chain(given.customers)
        .collect();
    wire::World {
        products,
        partners,
        customers,
        subscriptions,
    }
}
