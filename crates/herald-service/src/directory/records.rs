//! The directory one record at a time: a partner, customer, product or subscription, and
//! the contacts of a partner or customer, read, put or deleted.
//!
//! A vendor sees and changes its own cloud's partners, customers and subscriptions, and
//! the catalog every cloud shares; another cloud's records are refused as not found, as if
//! they did not exist, and no refusal names them. Every change is checked against the
//! whole directory, then written alone in one transaction, and only if the stored
//! directory is still the one it was checked against; the directory it makes is kept for
//! routing.

use std::sync::Arc;

use herald_domain::ids::{CloudIx, SubscriptionIx};
use herald_domain::wire::{self, Record, RecordKind};
use herald_domain::{Directory, DirectoryError};
use herald_store::{Actor, Change, Snapshot, StoreError};
use serde_json::Value;

use super::{cloud_world, refusal};
use crate::{Caller, Editor, Refusal, Service, ServiceError};

/// What a put left in the directory, and whether it replaced one with its id (rather
/// than adding it).
#[derive(Clone, Debug, PartialEq)]
pub struct Placed<T> {
    pub stored: T,
    pub replaced: bool,
}

/// The refusal of a record a vendor of this cloud may not know of.
fn missing(kind: RecordKind, id: &str) -> Refusal {
    Refusal::not_found(format!("{} \"{id}\" in this cloud", kind.as_str()))
}

/// The record of `kind` with `id` as `directory` holds it, and its cloud (none for a
/// product: the catalog is every cloud's).
fn held(directory: &Directory, kind: RecordKind, id: &str) -> Option<(Record, Option<CloudIx>)> {
    match kind {
        RecordKind::Product => directory
            .product_ix(id)
            .map(|p| (Record::Product(directory.product_record(p)), None)),
        RecordKind::Partner => directory.partner_ix(id).map(|p| {
            (
                Record::Partner(directory.partner_record(p)),
                Some(directory.partner(p).cloud),
            )
        }),
        RecordKind::Customer => directory.customer_ix(id).map(|c| {
            (
                Record::Customer(directory.customer_record(c)),
                Some(directory.customer(c).cloud),
            )
        }),
        RecordKind::Subscription => directory.subscription_ix(id).map(|s| {
            (
                Record::Subscription(directory.subscription_record(s)),
                Some(directory.subscription_cloud(s)),
            )
        }),
    }
}

/// The record of `kind` with `id` as the vendor of cloud `cloud` may see it: `None` when
/// there is none, and not found when it is another cloud's.
fn visible(
    directory: &Directory,
    cloud: &str,
    kind: RecordKind,
    id: &str,
) -> Result<Option<Record>, Refusal> {
    match held(directory, kind, id) {
        None => Ok(None),
        Some((record, None)) => Ok(Some(record)),
        Some((record, of)) if of == directory.cloud_ix(cloud) => Ok(Some(record)),
        Some(_) => Err(missing(kind, id)),
    }
}

/// What a change does to the directory.
#[derive(Clone, Debug)]
enum Edit {
    /// Puts the record in place of the one of its kind with its id, or adds it.
    Put(Record),
    /// Removes the record of this kind with this id.
    Delete(RecordKind, String),
}

impl Edit {
    /// Makes the edit in `world`.
    fn apply(&self, world: &mut wire::World) {
        match self {
            Edit::Put(record) => {
                world.put(record.clone());
            }
            Edit::Delete(kind, id) => {
                world.remove(*kind, id);
            }
        }
    }
}

/// A refusal naming every problem of the changed directory.
fn refused(error: DirectoryError) -> Refusal {
    let problems: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
    Refusal::InvalidDirectory(format!(
        "the change was refused and nothing was written: {}",
        problems.join("; ")
    ))
}

/// The directory `edit` makes of `directory`, checked by every rule of a valid directory;
/// a refusal names only what the vendor of `cloud` may know (`refusal`).
fn check(directory: &Directory, cloud: &str, edit: &Edit) -> Result<Directory, Refusal> {
    let mut world = directory.to_world();
    edit.apply(&mut world);
    if let Ok(changed) = Directory::build(world) {
        return Ok(changed);
    }
    let mut own = cloud_world(directory, cloud);
    edit.apply(&mut own);
    Err(refused(refusal(directory, cloud, own)))
}

/// The record of `kind` with `id` as `directory` holds it, when the change just made to
/// it put one there.
fn stored(directory: &Directory, kind: RecordKind, id: &str) -> Result<Record, ServiceError> {
    held(directory, kind, id)
        .map(|(record, _)| record)
        .ok_or_else(|| {
            ServiceError::Failed(format!(
                "{} \"{id}\" is missing from the directory it was put into",
                kind.as_str()
            ))
        })
}

impl Service {
    /// Changes the directory, one change at a time: `plan` turns the directory as it is
    /// now into the edit to make (or refuses it), the edit is checked against the whole
    /// directory and its one record written at `now`. When the stored directory changed in
    /// between (another process imported one), it is read again and the change planned
    /// again. Answers the directory the change made, and what `plan` found. The audit log
    /// says `actor` made it.
    async fn change<T>(
        &self,
        cloud: &str,
        actor: &Actor,
        now: i64,
        mut plan: impl FnMut(&Directory) -> Result<(Edit, T), ServiceError>,
    ) -> Result<(Arc<Snapshot>, T), ServiceError> {
        let _writing = self.directory_writes().lock().await;
        let mut snapshot = self.current_snapshot().await?;
        loop {
            let (edit, found) = plan(&snapshot.directory)?;
            let checked = {
                let (snapshot, cloud, edit) =
                    (Arc::clone(&snapshot), cloud.to_owned(), edit.clone());
                tokio::task::spawn_blocking(move || check(&snapshot.directory, &cloud, &edit))
                    .await
                    .map_err(|e| {
                        ServiceError::Failed(format!("the change was not checked: {e}"))
                    })??
            };
            let written = match &edit {
                Edit::Put(record) => {
                    let record = stored(&checked, record.kind(), record.id())?;
                    self.store()
                        .change_record(Change::Put(&record), snapshot.generation, now, actor)
                        .await
                }
                Edit::Delete(kind, id) => {
                    self.store()
                        .change_record(Change::Delete(*kind, id), snapshot.generation, now, actor)
                        .await
                }
            };
            match written {
                Ok(generation) => {
                    let changed = Arc::new(Snapshot {
                        directory: checked,
                        generation,
                    });
                    self.keep_snapshot(Arc::clone(&changed));
                    return Ok((changed, found));
                }
                Err(StoreError::DirectoryChanged) => {
                    snapshot = Arc::new(self.store().load_snapshot().await?);
                    self.keep_snapshot(Arc::clone(&snapshot));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One record of the directory: a product of the catalog, or a partner, customer or
    /// subscription of the caller's cloud.
    pub async fn record(
        &self,
        editor: &Editor,
        kind: RecordKind,
        id: &str,
    ) -> Result<Record, ServiceError> {
        let cloud = editor_cloud(editor, kind, "read the directory", Editor::reads_catalog)?;
        let snapshot = self.current_snapshot().await?;
        Ok(visible(&snapshot.directory, cloud, kind, id)?.ok_or_else(|| missing(kind, id))?)
    }

    /// Puts `body`, a record of `kind` in the world format under `id`, at `now` in place
    /// of the one with its id, or adds it: a product to the shared catalog, or a partner,
    /// customer or subscription of the caller's cloud (a partner or customer naming no
    /// cloud is in the caller's).
    pub async fn put_record(
        &self,
        editor: &Editor,
        kind: RecordKind,
        id: &str,
        body: Value,
        now: i64,
    ) -> Result<Placed<Record>, ServiceError> {
        let cloud = editor_cloud(
            editor,
            kind,
            "change the directory",
            Editor::changes_catalog,
        )?;
        let record = record_of(kind, id, cloud, body)?;
        let (changed, replaced) = self
            .change(cloud, &editor.actor(), now, |directory| {
                let existed = visible(directory, cloud, kind, id)?.is_some();
                if let Record::Subscription(s) = &record {
                    own_customer(directory, cloud, s)?;
                }
                Ok((Edit::Put(record.clone()), existed))
            })
            .await?;
        Ok(Placed {
            stored: stored(&changed.directory, kind, id)?,
            replaced,
        })
    }

    /// Deletes at `now` a record no other record names: a product of the catalog, or a
    /// partner, customer or subscription of the caller's cloud.
    pub async fn delete_record(
        &self,
        editor: &Editor,
        kind: RecordKind,
        id: &str,
        now: i64,
    ) -> Result<(), ServiceError> {
        let cloud = editor_cloud(
            editor,
            kind,
            "change the directory",
            Editor::changes_catalog,
        )?;
        self.change(cloud, &editor.actor(), now, |directory| {
            if visible(directory, cloud, kind, id)?.is_none() {
                return Err(missing(kind, id).into());
            }
            unreferenced(directory, kind, id)?;
            Ok((Edit::Delete(kind, id.to_owned()), ()))
        })
        .await?;
        Ok(())
    }

    /// Contact `contact` of the partner or customer of `kind` and `id` in the caller's
    /// cloud.
    pub async fn contact(
        &self,
        caller: &Caller,
        kind: RecordKind,
        id: &str,
        contact: &str,
    ) -> Result<wire::Contact, ServiceError> {
        let cloud = caller.vendor_cloud("read the directory")?;
        let snapshot = self.current_snapshot().await?;
        let mut record = organisation(&snapshot.directory, cloud, kind, id)?;
        let found = contacts(&mut record)?
            .iter()
            .find(|c| c.id.as_str() == contact)
            .cloned();
        Ok(found.ok_or_else(|| no_contact(kind, id, contact))?)
    }

    /// Puts `body`, a contact in the world format under id `contact`, at `now` in place of
    /// the one of the partner or customer of `kind` and `id` in the caller's cloud, or adds
    /// it. Contact ids are unique across the directory.
    pub async fn put_contact(
        &self,
        caller: &Caller,
        kind: RecordKind,
        id: &str,
        contact: &str,
        body: Value,
        now: i64,
    ) -> Result<Placed<wire::Contact>, ServiceError> {
        let cloud = caller.vendor_cloud("change the directory")?;
        let given: wire::Contact = serde_json::from_value(body).map_err(|e| {
            Refusal::Malformed(format!(
                "the body is not a contact in the world format: {e}"
            ))
        })?;
        if given.id.as_str() != contact {
            return Err(other_id("contact", contact, given.id.as_str()).into());
        }
        let (changed, replaced) = self
            .change(cloud, &caller.actor(), now, |directory| {
                let mut record = organisation(directory, cloud, kind, id)?;
                let held = contacts(&mut record)?;
                let existed = match held.iter_mut().find(|c| c.id == given.id) {
                    Some(held) => {
                        *held = given.clone();
                        true
                    }
                    None => {
                        held.push(given.clone());
                        false
                    }
                };
                Ok((Edit::Put(record), existed))
            })
            .await?;
        let mut record = stored(&changed.directory, kind, id)?;
        let stored = contacts(&mut record)?
            .iter()
            .find(|c| c.id.as_str() == contact)
            .cloned()
            .ok_or_else(|| ServiceError::Failed(format!("contact \"{contact}\" was not kept")))?;
        Ok(Placed { stored, replaced })
    }

    /// Deletes at `now` contact `contact` of the partner or customer of `kind` and `id` in
    /// the caller's cloud.
    pub async fn delete_contact(
        &self,
        caller: &Caller,
        kind: RecordKind,
        id: &str,
        contact: &str,
        now: i64,
    ) -> Result<(), ServiceError> {
        let cloud = caller.vendor_cloud("change the directory")?;
        self.change(cloud, &caller.actor(), now, |directory| {
            let mut record = organisation(directory, cloud, kind, id)?;
            let held = contacts(&mut record)?;
            let before = held.len();
            held.retain(|c| c.id.as_str() != contact);
            if held.len() == before {
                return Err(no_contact(kind, id, contact).into());
            }
            Ok((Edit::Put(record), ()))
        })
        .await?;
        Ok(())
    }
}

/// A refusal of a body whose `id` is not the one its path names.
fn other_id(kind: &str, path: &str, body: &str) -> Refusal {
    Refusal::InvalidDirectory(format!(
        "{kind} \"{path}\", field `id`: the body names \"{body}\"; a record is put under the path of its own id"
    ))
}

/// A refusal of a record stated to be in a cloud other than the key's.
fn other_cloud(kind: RecordKind, id: &str, stated: &str, cloud: &str) -> Refusal {
    Refusal::InvalidDirectory(format!(
        "{} \"{id}\", field `cloud`: \"{stated}\" is not this key's cloud \"{cloud}\"",
        kind.as_str()
    ))
}

/// The record of the body, read as `kind`, its id the path's, in the key's cloud: a
/// partner or customer that names no cloud is put in the key's.
fn record_of(kind: RecordKind, id: &str, cloud: &str, body: Value) -> Result<Record, Refusal> {
    let mut record = Record::from_value(kind, body).map_err(|e| {
        Refusal::Malformed(format!(
            "the body is not a {} in the world format: {e}",
            kind.as_str()
        ))
    })?;
    if record.id() != id {
        return Err(other_id(kind.as_str(), id, record.id()));
    }
    let stated = match &mut record {
        Record::Partner(wire::Partner { cloud: stated, .. })
        | Record::Customer(wire::Customer { cloud: stated, .. }) => {
            &*stated.get_or_insert_with(|| cloud.into())
        }
        Record::Subscription(s) => match &s.cloud {
            Some(stated) => stated,
            None => return Ok(record),
        },
        Record::Product(_) => return Ok(record),
    };
    if stated.as_str() != cloud {
        return Err(other_cloud(kind, id, stated.as_str(), cloud));
    }
    Ok(record)
}

/// A subscription's customer must be one of the caller's cloud; another cloud's is
/// refused exactly as a customer the directory does not hold.
fn own_customer(
    directory: &Directory,
    cloud: &str,
    subscription: &wire::Subscription,
) -> Result<(), Refusal> {
    let customer = subscription.customer.as_str();
    let home = directory.cloud_ix(cloud);
    match directory.customer_ix(customer) {
        Some(c) if Some(directory.customer(c).cloud) == home => Ok(()),
        _ => Err(Refusal::InvalidDirectory(format!(
            "the change was refused and nothing was written: subscription \"{}\", field `customer`: names customer \"{customer}\", which is not in the directory",
            subscription.id
        ))),
    }
}

/// At most ten quoted ids, then how many more.
fn some_ids(ids: &[&str]) -> String {
    let mut listed: Vec<String> = ids.iter().take(10).map(|id| format!("\"{id}\"")).collect();
    if ids.len() > 10 {
        listed.push(format!("{} more", ids.len() - 10));
    }
    listed.join(", ")
}

/// A refusal when records name the one a vendor would delete, saying which (how many, for a
/// product) and what to do first. Only records of the deleter's cloud name a partner or
/// customer, and only a key for every cloud deletes a product.
fn unreferenced(directory: &Directory, kind: RecordKind, id: &str) -> Result<(), Refusal> {
    let in_use = |what: String| Err(Refusal::Referenced(what));
    let sub_id = |s: &SubscriptionIx| directory.subscription(*s).id.as_str();
    match kind {
        RecordKind::Subscription => Ok(()),
        RecordKind::Customer => {
            let Some(c) = directory.customer_ix(id) else {
                return Ok(());
            };
            let holds: Vec<SubscriptionIx> = directory.customer_subscriptions(c).collect();
            if holds.is_empty() {
                return Ok(());
            }
            let ids: Vec<&str> = holds.iter().map(sub_id).collect();
            in_use(format!(
                "customer \"{id}\" holds subscriptions {}; delete them first",
                some_ids(&ids)
            ))
        }
        RecordKind::Partner => {
            let Some(p) = directory.partner_ix(id) else {
                return Ok(());
            };
            let sold: Vec<&str> = directory
                .subscriptions()
                .iter()
                .filter(|s| s.has_partner(p))
                .map(|s| s.id.as_str())
                .collect();
            let advised: Vec<&str> = directory
                .customers()
                .iter()
                .filter(|c| c.advisors.contains(&p))
                .map(|c| c.id.as_str())
                .collect();
            let mut named = Vec::new();
            if !sold.is_empty() {
                named.push(format!(
                    "is the partner or reseller of subscriptions {} (give them another or delete them)",
                    some_ids(&sold)
                ));
            }
            if !advised.is_empty() {
                named.push(format!(
                    "advises customers {} (take it off their `advisors`)",
                    some_ids(&advised)
                ));
            }
            if named.is_empty() {
                return Ok(());
            }
            in_use(format!(
                "partner \"{id}\" {}; do that first",
                named.join(" and ")
            ))
        }
        RecordKind::Product => {
            // Only a key for every cloud deletes a product, and it acts in no one cloud:
            // the holders are counted, not named.
            let Some(p) = directory.product_ix(id) else {
                return Ok(());
            };
            match directory.product_subscriptions(p).len() {
                0 => Ok(()),
                held => in_use(format!(
                    "product \"{id}\" is held by {held} subscription{}; it stays in the catalog until no subscription holds it (each cloud's vendor deletes them or moves them to another product first)",
                    if held == 1 { "" } else { "s" }
                )),
            }
        }
    }
}

/// The cloud `editor` acts in on a record of `kind`: its own for a partner, customer or
/// subscription (which a key for every cloud may not `act` on), and for a product, which
/// the catalog every cloud shares holds, whatever cloud `may` allows.
fn editor_cloud<'a>(
    editor: &'a Editor,
    kind: RecordKind,
    act: &str,
    may: impl FnOnce(&Editor) -> Result<(), Refusal>,
) -> Result<&'a str, Refusal> {
    match kind {
        RecordKind::Product => {
            may(editor)?;
            Ok(editor.0.cloud())
        }
        _ => editor.vendor_cloud(act),
    }
}

/// The contacts of a partner or customer record.
fn contacts(record: &mut Record) -> Result<&mut Vec<wire::Contact>, ServiceError> {
    match record {
        Record::Partner(p) => Ok(&mut p.contacts),
        Record::Customer(c) => Ok(&mut c.contacts),
        Record::Product(_) | Record::Subscription(_) => Err(ServiceError::Failed(
            "contacts were asked of a record that has none".into(),
        )),
    }
}

/// The partner or customer of `kind` and `id` in the key's cloud, or not found.
fn organisation(
    directory: &Directory,
    cloud: &str,
    kind: RecordKind,
    id: &str,
) -> Result<Record, Refusal> {
    visible(directory, cloud, kind, id)?.ok_or_else(|| missing(kind, id))
}

/// The refusal of a contact the organisation does not have.
fn no_contact(kind: RecordKind, id: &str, contact: &str) -> Refusal {
    Refusal::not_found(format!(
        "contact \"{contact}\" of {} \"{id}\" in this cloud",
        kind.as_str()
    ))
}
