//! Changing the stored directory one record at a time: a partner, customer, product or
//! subscription written in place of the stored one (or added), or removed, without
//! rewriting the rest.
//!
//! The caller checks the change against the whole directory first, as read at some
//! generation; the change is written only if the stored directory is still that
//! generation, so two changes checked against the same directory cannot both be written.

use herald_domain::ids::CloudId;
use herald_domain::wire::{Record, RecordKind};

use crate::engine::{on_tx, Tx};

use crate::audit::{self, Action, Actor, NewEntry};
use crate::directory::{directory_generation, next_generation, retire_orphans};
use crate::error::StoreError;
use crate::json::to_json;
use crate::store::Store;

/// One change to the stored directory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Change<'a> {
    /// The record, in place of the stored record of its kind with its id, or added.
    Put(&'a Record),
    /// The record of this kind with this id, removed.
    Delete(RecordKind, &'a str),
}

/// The table that holds records of `kind`.
fn table(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Product => "products",
        RecordKind::Partner => "partners",
        RecordKind::Customer => "customers",
        RecordKind::Subscription => "subscriptions",
    }
}

fn cloud(cloud: &Option<CloudId>) -> &str {
    cloud.as_ref().map_or("global", CloudId::as_str)
}

impl Store {
    /// The generation of the stored directory: every import and every record change
    /// counts it up.
    pub async fn directory_generation(&self) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let generation = directory_generation(&mut tx).await?;
        tx.rollback().await?;
        Ok(generation)
    }

    /// Writes `change` at `now` (Unix milliseconds) in one transaction, if the stored
    /// directory is still generation `checked`, the one the change was checked against;
    /// returns the new generation. A partner or customer the change deletes (or moves to
    /// another cloud) loses its keys and webhook endpoints in the same transaction.
    /// When the directory changed since, nothing is written and
    /// [`StoreError::DirectoryChanged`] says to read it and check the change again.
    ///
    /// The record is stored as given: pass it as the checked directory holds it, so that
    /// stored rows stay what an import of that directory would write.
    ///
    /// The audit log says `actor` made the change at `now` (Unix milliseconds); a refused
    /// change records nothing.
    pub async fn change_record(
        &self,
        change: Change<'_>,
        checked: i64,
        now: i64,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let generation = next_generation(&mut tx, Some(checked)).await?;
        let entry = match change {
            Change::Put(record) => (Action::DirectoryPut, record.kind(), record.id()),
            Change::Delete(kind, id) => (Action::DirectoryDelete, kind, id),
        };
        let concerns = cloud_of_record(&mut tx, change, actor).await?;
        match change {
            Change::Put(record) => {
                let body = to_json(record);
                let (sql, key) = match record {
                    Record::Product(_) => (
                        "INSERT INTO products (id, body) VALUES ($1, $2) \
                         ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                        None,
                    ),
                    Record::Partner(p) => (
                        "INSERT INTO partners (id, body, cloud) VALUES ($1, $2, $3) \
                         ON CONFLICT (id) DO UPDATE SET body = excluded.body, cloud = excluded.cloud",
                        Some(cloud(&p.cloud)),
                    ),
                    Record::Customer(c) => (
                        "INSERT INTO customers (id, body, cloud) VALUES ($1, $2, $3) \
                         ON CONFLICT (id) DO UPDATE SET body = excluded.body, cloud = excluded.cloud",
                        Some(cloud(&c.cloud)),
                    ),
                    Record::Subscription(s) => (
                        "INSERT INTO subscriptions (id, body, customer) VALUES ($1, $2, $3) \
                         ON CONFLICT (id) DO UPDATE SET body = excluded.body, customer = excluded.customer",
                        Some(s.customer.as_str()),
                    ),
                };
                on_tx!(&mut tx, |exe| {
                    let mut query = sqlx::query(sql).bind(record.id()).bind(&body);
                    if let Some(key) = key {
                        query = query.bind(key);
                    }
                    query.execute(&mut **exe).await.map(drop)
                })?;
            }
            Change::Delete(kind, id) => {
                on_tx!(&mut tx, |exe| sqlx::query(&format!(
                    "DELETE FROM {} WHERE id = $1",
                    table(kind)
                ))
                .bind(id)
                .execute(&mut **exe)
                .await
                .map(drop))?;
            }
        }
        let retired = retire_orphans(&mut tx, now).await?;
        let (action, kind, id) = entry;
        let mut detail =
            serde_json::json!({ "kind": kind.as_str(), "id": id, "generation": generation });
        retired.note(concerns.as_deref(), &mut detail);
        let entry = NewEntry {
            at: now,
            cloud: concerns.as_deref(),
            action,
            target: id,
            detail,
        };
        audit::record(&mut tx, actor, entry).await?;
        tx.commit().await?;
        Ok(generation)
    }
}

/// The cloud `change` concerns: that of a partner or customer put (as it names it), of a
/// subscription's customer, or of the record deleted (as stored before the change; the
/// actor's, for a record not stored); `None` for a product, which is every cloud's.
async fn cloud_of_record(
    tx: &mut Tx,
    change: Change<'_>,
    actor: &Actor,
) -> Result<Option<String>, StoreError> {
    let (kind, id) = match change {
        Change::Put(Record::Product(_)) | Change::Delete(RecordKind::Product, _) => {
            return Ok(None)
        }
        Change::Put(Record::Partner(p)) => return Ok(Some(cloud(&p.cloud).to_owned())),
        Change::Put(Record::Customer(c)) => return Ok(Some(cloud(&c.cloud).to_owned())),
        Change::Put(Record::Subscription(s)) => (RecordKind::Customer, s.customer.as_str()),
        Change::Delete(kind, id) => (kind, id),
    };
    let sql = match kind {
        RecordKind::Subscription => {
            "SELECT c.cloud FROM subscriptions s JOIN customers c ON c.id = s.customer WHERE s.id = $1"
        }
        _ => &format!("SELECT cloud FROM {} WHERE id = $1", table(kind)),
    };
    let stored: Option<String> = on_tx!(tx, |exe| sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut **exe)
        .await)?;
    Ok(stored.or_else(|| actor.cloud().map(str::to_owned)))
}
