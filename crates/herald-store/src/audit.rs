//! The audit log: who changed what, and when. Every write a caller asks for (a directory
//! import or record change, a publish, a key made or revoked, an endpoint registered,
//! rotated, disabled, enabled or deleted, a delivery replayed) leaves one entry, written
//! in the same transaction as the write, so the log never names a change that did not
//! happen nor misses one that did. A write that finds things already as asked (revoking a
//! revoked key, disabling a disabled endpoint) is recorded too: the log says who asked.
//!
//! The actor is an API key and the principal it acts as, the operator at the command
//! line, or the message bus a vendor's systems publish through. An entry belongs to the cloud its change concerns, or to every cloud (the shared
//! product catalog, a whole-world import). Its detail says what changed, never a secret.

use crate::engine::{on_pool, on_tx, Tx};
use serde::Serialize;
use serde_json::Value;

use crate::error::StoreError;
use crate::kinds::OrgKind;
use crate::principal::Principal;
use crate::store::Store;

/// The columns [`EntryRow`] reads.
const COLUMNS: &str =
    "seq, at, cloud, principal, principal_cloud, subject, key_id, action, target, detail";

/// Who the `principal` column of an entry names: the operator, or the kind of
/// organisation the key that made the change acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
enum ActorKind {
    Operator,
    Bus,
    Vendor,
    Partner,
    Customer,
}

impl ActorKind {
    /// The kind of organisation a key of this kind acts as; `None` for the operator.
    fn org(self) -> Option<OrgKind> {
        match self {
            ActorKind::Operator | ActorKind::Bus => None,
            ActorKind::Vendor => Some(OrgKind::Vendor),
            ActorKind::Partner => Some(OrgKind::Partner),
            ActorKind::Customer => Some(OrgKind::Customer),
        }
    }
}

impl From<OrgKind> for ActorKind {
    fn from(kind: OrgKind) -> ActorKind {
        match kind {
            OrgKind::Vendor => ActorKind::Vendor,
            OrgKind::Partner => ActorKind::Partner,
            OrgKind::Customer => ActorKind::Customer,
        }
    }
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Actor {
    /// A caller of the HTTP API: the key it presented (its id, the public part of its
    /// token) and the principal that key acts as.
    Key { id: String, principal: Principal },
    /// The operator at the command line, who holds the database file and needs no key.
    Operator,
    /// The message bus (NATS JetStream): a request read from `subject`, which publishes in
    /// `cloud`. Who may publish on the subject is set on the bus; it needs no key.
    Bus { cloud: String, subject: String },
}

impl Actor {
    /// The cloud the actor acts in; `None` for the operator and a vendor key for every
    /// cloud, who act in every cloud.
    pub fn cloud(&self) -> Option<&str> {
        match self {
            Actor::Key { principal, .. } => principal.one_cloud(),
            Actor::Operator => None,
            Actor::Bus { cloud, .. } => Some(cloud),
        }
    }

    /// The `principal`, `principal_cloud`, `subject` and `key_id` columns of its entries:
    /// a key's principal as its `api_keys` row holds it.
    fn columns(&self) -> (ActorKind, Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Actor::Key { id, principal } => {
                let (kind, subject) = principal.columns();
                (kind.into(), Some(principal.cloud()), subject, Some(id))
            }
            Actor::Operator => (ActorKind::Operator, None, None, None),
            Actor::Bus { cloud, subject } => (ActorKind::Bus, Some(cloud), Some(subject), None),
        }
    }
}

/// What was done: a stable name per kind of write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Action {
    /// A directory replaced: a whole world, or one cloud's part of it.
    #[serde(rename = "directory.import")]
    DirectoryImport,
    /// A directory record written in place of the stored one, or added.
    #[serde(rename = "directory.put")]
    DirectoryPut,
    /// A directory record removed.
    #[serde(rename = "directory.delete")]
    DirectoryDelete,
    /// A message accepted.
    #[serde(rename = "message.publish")]
    MessagePublish,
    /// An API key made.
    #[serde(rename = "key.create")]
    KeyCreate,
    /// An API key revoked.
    #[serde(rename = "key.revoke")]
    KeyRevoke,
    /// A webhook endpoint registered.
    #[serde(rename = "endpoint.create")]
    EndpointCreate,
    /// A webhook endpoint given a new signing secret.
    #[serde(rename = "endpoint.rotate")]
    EndpointRotate,
    /// A webhook endpoint disabled by its owner.
    #[serde(rename = "endpoint.disable")]
    EndpointDisable,
    /// A webhook endpoint enabled again.
    #[serde(rename = "endpoint.enable")]
    EndpointEnable,
    /// A webhook endpoint deleted.
    #[serde(rename = "endpoint.delete")]
    EndpointDelete,
    /// A delivery queued to be tried again.
    #[serde(rename = "delivery.replay")]
    DeliveryReplay,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 12] = [
        Action::DirectoryImport,
        Action::DirectoryPut,
        Action::DirectoryDelete,
        Action::MessagePublish,
        Action::KeyCreate,
        Action::KeyRevoke,
        Action::EndpointCreate,
        Action::EndpointRotate,
        Action::EndpointDisable,
        Action::EndpointEnable,
        Action::EndpointDelete,
        Action::DeliveryReplay,
    ];

    /// Its name, as stored in `audit.action` and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::DirectoryImport => "directory.import",
            Action::DirectoryPut => "directory.put",
            Action::DirectoryDelete => "directory.delete",
            Action::MessagePublish => "message.publish",
            Action::KeyCreate => "key.create",
            Action::KeyRevoke => "key.revoke",
            Action::EndpointCreate => "endpoint.create",
            Action::EndpointRotate => "endpoint.rotate",
            Action::EndpointDisable => "endpoint.disable",
            Action::EndpointEnable => "endpoint.enable",
            Action::EndpointDelete => "endpoint.delete",
            Action::DeliveryReplay => "delivery.replay",
        }
    }

    /// The action named `name`.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Its place in the log: later entries have greater numbers.
    pub seq: i64,
    /// When the change was made, in Unix milliseconds.
    pub at: i64,
    /// The cloud the change concerns; null when it concerns every cloud (the shared
    /// product catalog, a whole-world import).
    pub cloud: Option<String>,
    pub actor: Actor,
    pub action: Action,
    /// The id of what was acted on: a record, message, key, endpoint or delivery id, or
    /// the cloud (or `*` for every cloud) a directory import replaced.
    pub target: String,
    /// What changed, as an object whose fields depend on the action.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
}

/// A page of the audit log, newest first, and where the next page starts.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The position to pass as `before` for the next page, when there may be one.
    pub next: Option<i64>,
}

/// An entry to write, beside its actor.
pub(crate) struct NewEntry<'a> {
    /// When, in Unix milliseconds.
    pub at: i64,
    /// The cloud the change concerns; `None` for every cloud.
    pub cloud: Option<&'a str>,
    pub action: Action,
    pub target: &'a str,
    pub detail: Value,
}

/// Writes `entry`, done by `actor`, in the write's own transaction `tx`.
pub(crate) async fn record(
    tx: &mut Tx,
    actor: &Actor,
    entry: NewEntry<'_>,
) -> Result<(), StoreError> {
    let (principal, principal_cloud, subject, key_id) = actor.columns();
    on_tx!(tx, |exe| {
        sqlx::query(
        "INSERT INTO audit (at, cloud, principal, principal_cloud, subject, key_id, action, target, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(entry.at)
    .bind(entry.cloud)
    .bind(principal)
    .bind(principal_cloud)
    .bind(subject)
    .bind(key_id)
    .bind(entry.action.as_str())
    .bind(entry.target)
    .bind(entry.detail.to_string())
    .execute(&mut **exe)
    .await.map(drop)
    })?;
    Ok(())
}

/// An `audit` row as stored.
#[derive(sqlx::FromRow)]
struct EntryRow {
    seq: i64,
    at: i64,
    cloud: Option<String>,
    principal: ActorKind,
    principal_cloud: Option<String>,
    subject: Option<String>,
    key_id: Option<String>,
    action: String,
    target: String,
    detail: String,
}

impl EntryRow {
    fn entry(self) -> Result<AuditEntry, StoreError> {
        let seq = self.seq;
        let damaged = |what: String| StoreError::Damaged(format!("audit entry {seq} {what}"));
        let actor = match (self.key_id, self.principal_cloud, self.principal.org()) {
            (None, None, None) if self.principal == ActorKind::Operator => Actor::Operator,
            (None, Some(cloud), None) if self.principal == ActorKind::Bus => Actor::Bus {
                cloud,
                subject: self
                    .subject
                    .ok_or_else(|| damaged("names the bus but no subject".into()))?,
            },
            (Some(id), Some(cloud), Some(kind)) => Actor::Key {
                principal: Principal::from_columns(&id, kind, cloud, self.subject)?,
                id,
            },
            _ => {
                return Err(damaged(format!(
                    "has an actor \"{:?}\" that no write records",
                    self.principal
                )))
            }
        };
        let action = Action::parse(&self.action).ok_or_else(|| {
            damaged(format!(
                "has action \"{}\", which no write records",
                self.action
            ))
        })?;
        let detail = serde_json::from_str(&self.detail)
            .map_err(|e| damaged(format!("has a detail that does not parse: {e}")))?;
        Ok(AuditEntry {
            seq,
            at: self.at,
            cloud: self.cloud,
            actor,
            action,
            target: self.target,
            detail,
        })
    }
}

impl Store {
    /// A page of the audit log, newest first: up to `limit` entries before position
    /// `before` (from the newest when `None`). With a `cloud`, only that cloud's entries
    /// and those concerning every cloud; without, every entry.
    pub async fn audit(
        &self,
        cloud: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<AuditPage, StoreError> {
        let before = before.unwrap_or(i64::MAX);
        let fetch = (limit + 1) as i64;
        let rows: Vec<EntryRow> = match cloud {
            // Each half walks its own part of the index newest first, and stops at `fetch`.
            Some(cloud) => on_pool!(self.pool(), |exe| {
                sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM ( \
                 SELECT * FROM (SELECT {COLUMNS} FROM audit WHERE cloud = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3) AS own \
                 UNION ALL \
                 SELECT * FROM (SELECT {COLUMNS} FROM audit WHERE cloud IS NULL AND seq < $2 ORDER BY seq DESC LIMIT $3) AS shared) AS entries \
                 ORDER BY seq DESC LIMIT $3"
            ))
            .bind(cloud)
            .bind(before)
            .bind(fetch)
            .fetch_all(exe)
            .await
            })?,
            None => on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM audit WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
            ))
            .bind(before)
            .bind(fetch)
            .fetch_all(exe)
            .await)?,
        };
        let more = rows.len() > limit;
        let entries = rows
            .into_iter()
            .take(limit)
            .map(EntryRow::entry)
            .collect::<Result<Vec<_>, _>>()?;
        let next = more.then(|| entries.last().map(|e| e.seq)).flatten();
        Ok(AuditPage { entries, next })
    }
}
