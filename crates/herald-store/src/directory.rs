//! The directory as a whole: an import or a replacement of every record in one
//! transaction, reading it back as of one moment, and the generation that tells a writer
//! whether what it checked is still what is stored.

use std::collections::HashSet;

use herald_domain::ids::CloudId;
use herald_domain::{wire, Directory};
use serde::Serialize;

use crate::audit::{self, Action, Actor, NewEntry};
use crate::engine::{on_tx, Tx};
use crate::error::StoreError;
use crate::rows::{Record, Table};
use crate::store::Store;

/// The stored directory as read at one moment, and which import it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub directory: Directory,
    pub generation: i64,
}

/// What an import wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The generation of the directory the import made.
    pub generation: i64,
    pub products: usize,
    pub partners: usize,
    pub customers: usize,
    pub subscriptions: usize,
}

/// A directory record's row: its id and its body in the world format.
#[derive(sqlx::FromRow)]
struct RecordRow {
    id: String,
    body: String,
}

impl Store {
    /// Replaces the whole directory with `directory` at `now` (Unix milliseconds), in one
    /// transaction, whatever it was: an operator's import of a whole world. The audit log
    /// says `actor` replaced the directory: the operator every cloud's, a vendor key its
    /// own cloud's (its entry counts that cloud's records).
    ///
    /// The keys of a partner or customer the new directory no longer holds in the cloud
    /// they were made in are revoked, and its webhook endpoints deleted, in the same
    /// transaction: a key dies with its organisation, and an organisation made again under
    /// the same id does not inherit it.
    pub async fn import(
        &self,
        directory: &Directory,
        now: i64,
        actor: &Actor,
    ) -> Result<ImportSummary, StoreError> {
        self.write_directory(directory, None, now, actor).await
    }

    /// Replaces the whole directory with `directory`, as [`Store::import`] does, if the
    /// stored directory is still generation `checked`, the one `directory` was made from
    /// (a cloud's part replaced in the directory as it was). When the directory changed
    /// since, nothing is written and [`StoreError::DirectoryChanged`] says to read it and
    /// make the replacement again, so that no change made meanwhile is overwritten.
    pub async fn replace_directory(
        &self,
        directory: &Directory,
        checked: i64,
        now: i64,
        actor: &Actor,
    ) -> Result<ImportSummary, StoreError> {
        self.write_directory(directory, Some(checked), now, actor)
            .await
    }

    async fn write_directory(
        &self,
        directory: &Directory,
        checked: Option<i64>,
        now: i64,
        actor: &Actor,
    ) -> Result<ImportSummary, StoreError> {
        let world = directory.to_world();
        let (_turn, mut tx) = self.begin_write().await?;
        let generation = next_generation(&mut tx, checked).await?;
        for table in ["subscriptions", "customers", "partners", "products"] {
            on_tx!(&mut tx, |exe| sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut **exe)
                .await
                .map(drop))?;
        }
        let cloud = |c: &Option<CloudId>| c.as_ref().map_or("global", CloudId::as_str).to_owned();
        let products: Vec<Record> = world
            .products
            .iter()
            .map(|p| Record::new(&p.id.0, String::new(), p))
            .collect();
        let partners: Vec<Record> = world
            .partners
            .iter()
            .map(|p| Record::new(&p.id.0, cloud(&p.cloud), p))
            .collect();
        let customers: Vec<Record> = world
            .customers
            .iter()
            .map(|c| Record::new(&c.id.0, cloud(&c.cloud), c))
            .collect();
        let subscriptions: Vec<Record> = world
            .subscriptions
            .iter()
            .map(|s| Record::new(&s.id.0, s.customer.0.clone(), s))
            .collect();
        let tables = [
            Table::new("products", None, &products),
            Table::new("partners", Some("cloud"), &partners),
            Table::new("customers", Some("cloud"), &customers),
            Table::new("subscriptions", Some("customer"), &subscriptions),
        ];
        match &mut tx {
            Tx::Sqlite(tx) => crate::sqlite::write_records(tx, &tables).await?,
            Tx::Postgres(tx) => crate::postgres::write_records(tx, &tables).await?,
        }
        let retired = retire_orphans(&mut tx, now).await?;
        let scope = actor.cloud();
        let mut detail = import_counts(scope, &products, &partners, &customers, &subscriptions);
        retired.note(scope, &mut detail);
        audit::record(
            &mut tx,
            actor,
            NewEntry {
                at: now,
                cloud: scope,
                action: Action::DirectoryImport,
                target: scope.unwrap_or("*"),
                detail,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ImportSummary {
            generation,
            products: world.products.len(),
            partners: world.partners.len(),
            customers: world.customers.len(),
            subscriptions: world.subscriptions.len(),
        })
    }

    /// The stored directory, as a world (records sorted by id), and its generation, read
    /// from one snapshot: an import committing meanwhile is seen whole or not at all.
    async fn read_world(&self) -> Result<(wire::World, i64), StoreError> {
        async fn bodies<T: serde::de::DeserializeOwned>(
            tx: &mut Tx,
            table: &str,
        ) -> Result<Vec<T>, StoreError> {
            let rows: Vec<RecordRow> = on_tx!(tx, |exe| sqlx::query_as(&format!(
                "SELECT id, body FROM {table} ORDER BY id"
            ))
            .fetch_all(&mut **exe)
            .await)?;
            rows.into_iter()
                .map(|RecordRow { id, body }| {
                    serde_json::from_str(&body).map_err(|e| {
                        StoreError::Damaged(format!("{table} record \"{id}\" does not parse: {e}"))
                    })
                })
                .collect()
        }
        let mut tx = self.pool().begin().await?;
        let generation = directory_generation(&mut tx).await?;
        let world = wire::World {
            products: bodies(&mut tx, "products").await?,
            partners: bodies(&mut tx, "partners").await?,
            customers: bodies(&mut tx, "customers").await?,
            subscriptions: bodies(&mut tx, "subscriptions").await?,
        };
        tx.rollback().await?;
        Ok((world, generation))
    }

    /// The stored directory, as a world (records sorted by id), read from one snapshot.
    pub async fn load_world(&self) -> Result<wire::World, StoreError> {
        Ok(self.read_world().await?.0)
    }

    /// The stored directory.
    pub async fn load_directory(&self) -> Result<Directory, StoreError> {
        Ok(self.load_snapshot().await?.directory)
    }

    /// The stored directory with its generation, to route against and then publish with
    /// [`Store::publish`].
    pub async fn load_snapshot(&self) -> Result<Snapshot, StoreError> {
        let (world, generation) = self.read_world().await?;
        Ok(Snapshot {
            directory: Directory::build(world)?,
            generation,
        })
    }
}

/// What a change to the directory took with the organisations it removed: the keys it
/// revoked and the webhook endpoints it deleted, each with its cloud.
#[derive(Debug, Default)]
pub(crate) struct Retired {
    keys: Vec<RetiredRow>,
    endpoints: Vec<RetiredRow>,
}

/// A key revoked or an endpoint deleted with its organisation: its cloud and id.
#[derive(Debug, sqlx::FromRow)]
struct RetiredRow {
    cloud: String,
    id: String,
}

impl Retired {
    /// Adds the ids of what was retired in `cloud`, if any, to the `detail` of an audit
    /// entry of that cloud. An entry of every cloud (`None`), which every cloud's vendor
    /// reads, names none.
    pub(crate) fn note(self, cloud: Option<&str>, detail: &mut serde_json::Value) {
        let Some(cloud) = cloud else {
            return;
        };
        let of = |retired: Vec<RetiredRow>| -> Vec<String> {
            retired
                .into_iter()
                .filter(|r| r.cloud == cloud)
                .map(|r| r.id)
                .collect()
        };
        let (keys, endpoints) = (of(self.keys), of(self.endpoints));
        if let Some(detail) = detail.as_object_mut() {
            if !keys.is_empty() {
                detail.insert("revoked_keys".into(), keys.into());
            }
            if !endpoints.is_empty() {
                detail.insert("deleted_endpoints".into(), endpoints.into());
            }
        }
    }
}

/// Revokes at `now` the keys of partners and customers the stored directory no longer
/// holds in the cloud the key was made in, and deletes their webhook endpoints (with their
/// secrets): run in every transaction that changes the directory, so a key and an endpoint
/// die with their organisation and never pass to one made again under the same id.
pub(crate) async fn retire_orphans(tx: &mut Tx, now: i64) -> Result<Retired, StoreError> {
    let mut retired = Retired::default();
    for (kind, table) in [("partner", "partners"), ("customer", "customers")] {
        retired.keys.extend(
            on_tx!(tx, |exe| sqlx::query_as::<_, RetiredRow>(&format!(
                "UPDATE api_keys SET revoked_at = $1 \
                 WHERE revoked_at IS NULL AND principal = $2 AND NOT EXISTS \
                 (SELECT 1 FROM {table} o WHERE o.id = api_keys.subject AND o.cloud = api_keys.cloud) \
                 RETURNING cloud, id"
            ))
            .bind(now)
            .bind(kind)
            .fetch_all(&mut **exe)
            .await)?,
        );
        retired.endpoints.extend(
            on_tx!(tx, |exe| sqlx::query_as::<_, RetiredRow>(&format!(
                "DELETE FROM endpoints WHERE owner_kind = $1 AND NOT EXISTS \
                 (SELECT 1 FROM {table} o WHERE o.id = endpoints.owner AND o.cloud = endpoints.cloud) \
                 RETURNING cloud, id"
            ))
            .bind(kind)
            .fetch_all(&mut **exe)
            .await)?,
        );
    }
    Ok(retired)
}

/// How many records of each kind an import wrote in `cloud`, for its audit entry: the
/// catalog's products, and the cloud's partners, customers and their subscriptions; only
/// the products for an import of every cloud (`None`), whose entry every vendor reads.
fn import_counts(
    cloud: Option<&str>,
    products: &[Record],
    partners: &[Record],
    customers: &[Record],
    subscriptions: &[Record],
) -> serde_json::Value {
    let Some(cloud) = cloud else {
        // Every cloud's vendor reads this entry: it counts only what they share.
        return serde_json::json!({ "products": products.len() });
    };
    let within = |r: &&Record| r.key == cloud;
    let customers: HashSet<&str> = customers.iter().filter(within).map(|c| c.id).collect();
    serde_json::json!({
        "products": products.len(),
        "partners": partners.iter().filter(within).count(),
        "customers": customers.len(),
        "subscriptions": subscriptions
            .iter()
            .filter(|s| customers.contains(s.key.as_str()))
            .count(),
    })
}

/// The generation of the stored directory, as the transaction sees it.
pub(crate) async fn directory_generation(tx: &mut Tx) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |exe| sqlx::query_scalar(
        "SELECT generation FROM directory_state WHERE id = 1"
    )
    .fetch_one(&mut **exe)
    .await)?)
}

/// Counts the directory's generation up inside a write transaction and returns the new
/// one, if the directory is still generation `checked` (any, when `None`); otherwise
/// [`StoreError::DirectoryChanged`], and the caller drops the transaction unwritten.
pub(crate) async fn next_generation(tx: &mut Tx, checked: Option<i64>) -> Result<i64, StoreError> {
    on_tx!(tx, |exe| sqlx::query_scalar(
        "UPDATE directory_state SET generation = generation + 1 \
         WHERE id = 1 AND generation = coalesce($1, generation) RETURNING generation",
    )
    .bind(checked)
    .fetch_optional(&mut **exe)
    .await)?
    .ok_or(StoreError::DirectoryChanged)
}
