//! Webhook endpoints: where an organisation wants its copies POSTed, which categories it
//! wants, and the secrets its events are signed with.
//!
//! An endpoint belongs to the vendor in one cloud, to one partner or to one customer, and
//! every call that reads or changes one names its owner: another owner's endpoint is
//! simply not found. An endpoint id is `ep_` and 8 random bytes in lowercase hex.
//!
//! Secrets are made by the caller (the delivery crate draws them) and kept, since signing
//! needs them. The newest signs alone until it is rotated; the one it replaces goes on
//! signing beside it until its `expires_at`, so a receiver can switch to the new secret
//! without losing an event. A disabled endpoint keeps its secrets and is sent nothing
//! until it is enabled again.

use serde::{Deserialize, Serialize};
use sqlx::query::{Query, QueryAs};
use sqlx::{Database, Encode, Type};

use crate::engine::{on_pool, on_tx, Engine, Tx};

use crate::audit::{self, Action, Actor, NewEntry};
use crate::error::StoreError;
use crate::keys::{cloud_of, hex, random};
use crate::kinds::OrgKind;
use crate::principal::Principal;
use crate::store::Store;

/// Random bytes in an endpoint's id.
const ID_BYTES: usize = 8;
/// How long a rotated secret goes on signing beside its successor unless told otherwise:
/// 24 hours, in milliseconds.
pub const DEFAULT_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;
/// Why an endpoint is disabled after its receiver answered 410 Gone.
pub const GONE_REASON: &str = "the receiver answered 410 Gone";
/// The part of an endpoint's URL the audit log keeps: its scheme, host and port. A path,
/// a query or a user name may carry a bearer secret (a chat service's hook path, say),
/// and the log is read by the vendor, not only by the endpoint's owner.
fn origin(url: &str) -> String {
    url::Url::parse(url).map_or_else(
        |_| "(not a URL)".to_owned(),
        |u| u.origin().ascii_serialization(),
    )
}

/// The columns of `endpoints` an [`EndpointRow`] is read from.
const COLUMNS: &str = "id, cloud, owner_kind, owner, url, description, categories, mode, \
                       created_at, disabled_at, disabled_reason";

/// How a partner's events are cut: the `mode` column of `endpoints`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "TEXT", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Mode {
    /// One event per message, listing every customer it concerns.
    #[default]
    Aggregated,
    /// One event per message and customer (partners only).
    PerCustomer,
}

/// An endpoint to register, its URL already checked by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    /// The categories sent to it; `None` for all.
    pub categories: Option<Vec<String>>,
    /// [`Mode::Aggregated`] when not given.
    pub mode: Option<Mode>,
}

/// A registered endpoint, without its secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    /// `ep_` and 16 hexadecimal digits.
    pub id: String,
    pub cloud: String,
    /// `vendor`, `partner` or `customer`.
    pub owner_kind: String,
    /// The partner's or customer's id; absent for the vendor's endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub url: String,
    pub description: String,
    /// The categories sent to it; absent for all.
    pub categories: Option<Vec<String>>,
    pub mode: Mode,
    /// When it was registered, in Unix milliseconds.
    pub created_at: i64,
    /// When it was disabled, in Unix milliseconds; absent while it is enabled.
    pub disabled_at: Option<i64>,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
}

impl Endpoint {
    /// Whether events are sent to it.
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// The `WHERE` clause that keeps an owner's endpoints, and its values.
struct Owner<'a> {
    cloud: &'a str,
    kind: OrgKind,
    subject: Option<&'a str>,
}

impl<'a> Owner<'a> {
    const WHERE: &'static str = "cloud = $1 AND owner_kind = $2 AND owner IS NOT DISTINCT FROM $3";

    fn of(principal: &'a Principal) -> Owner<'a> {
        let (kind, subject) = principal.columns();
        Owner {
            cloud: principal.cloud(),
            kind,
            subject,
        }
    }

    fn bind<'q, DB: Database>(
        &self,
        query: Query<'q, DB, DB::Arguments<'q>>,
    ) -> Query<'q, DB, DB::Arguments<'q>>
    where
        'a: 'q,
        &'a str: Encode<'q, DB> + Type<DB>,
        Option<&'a str>: Encode<'q, DB> + Type<DB>,
        OrgKind: Encode<'q, DB> + Type<DB>,
    {
        query.bind(self.cloud).bind(self.kind).bind(self.subject)
    }

    /// [`Owner::bind`] for a query read into rows of type `T`.
    fn bind_as<'q, DB: Database, T>(
        &self,
        query: QueryAs<'q, DB, T, DB::Arguments<'q>>,
    ) -> QueryAs<'q, DB, T, DB::Arguments<'q>>
    where
        'a: 'q,
        &'a str: Encode<'q, DB> + Type<DB>,
        Option<&'a str>: Encode<'q, DB> + Type<DB>,
        OrgKind: Encode<'q, DB> + Type<DB>,
    {
        query.bind(self.cloud).bind(self.kind).bind(self.subject)
    }
}

impl Store {
    /// Registers `new` for `owner` at `now` (Unix milliseconds), signing with `secret`
    /// (`whsec_…`) from then on. `per_customer` is refused for anyone but a partner. The
    /// audit log says `actor` registered it.
    pub async fn create_endpoint(
        &self,
        owner: &Principal,
        new: NewEndpoint,
        secret: &str,
        now: i64,
        actor: &Actor,
    ) -> Result<Endpoint, StoreError> {
        let mode = new.mode.unwrap_or_default();
        if mode == Mode::PerCustomer && !matches!(owner, Principal::Partner { .. }) {
            return Err(StoreError::PerCustomerForPartnersOnly);
        }
        let owner = Owner::of(owner);
        let categories = new
            .categories
            .as_ref()
            .map(|c| serde_json::to_string(c).expect("strings serialise"));
        let (_turn, mut tx) = self.begin_write().await?;
        // The owner's key was checked before this transaction: its organisation may have
        // been deleted since, and an endpoint must not outlive it.
        if let Some(subject) = owner.subject {
            let table = if owner.kind == OrgKind::Partner {
                "partners"
            } else {
                "customers"
            };
            if cloud_of(&mut tx, table, subject).await?.as_deref() != Some(owner.cloud) {
                return Err(StoreError::OwnerGone);
            }
        }
        // Two endpoints drawing the same 8-byte id is all but impossible; if it happens,
        // the second draws again rather than fail.
        let id = loop {
            let id = format!("ep_{}", hex(&random::<ID_BYTES>()?));
            let inserted = on_tx!(&mut tx, |exe| {
                owner
                .bind(sqlx::query(
                    "INSERT INTO endpoints (cloud, owner_kind, owner, id, url, description, categories, mode, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                ))
                .bind(&id)
                .bind(&new.url)
                .bind(&new.description)
                .bind(&categories)
                .bind(mode)
                .bind(now)
                .execute(&mut **exe)
                .await.map(|r| r.rows_affected())
            })?;
            if inserted == 1 {
                break id;
            }
        };
        add_secret(&mut tx, &id, secret, now).await?;
        let endpoint = read(&mut tx, &id).await?;
        let detail = serde_json::json!({
            "url": origin(&endpoint.url),
            "categories": endpoint.categories,
            "mode": endpoint.mode,
        });
        audit::record(
            &mut tx,
            actor,
            entry(&endpoint, Action::EndpointCreate, now, detail),
        )
        .await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// `owner`'s endpoints, oldest first.
    pub async fn endpoints(&self, owner: &Principal) -> Result<Vec<Endpoint>, StoreError> {
        on_pool!(self.pool(), |exe| Owner::of(owner)
            .bind_as(sqlx::query_as::<_, EndpointRow>(&format!(
                "SELECT {COLUMNS} FROM endpoints WHERE {} ORDER BY created_at, id",
                Owner::WHERE
            )))
            .fetch_all(exe)
            .await)?
        .into_iter()
        .map(EndpointRow::endpoint)
        .collect()
    }

    /// `owner`'s endpoint `id`, if it has one.
    pub async fn endpoint(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        on_pool!(self.pool(), |exe| Owner::of(owner)
            .bind_as(sqlx::query_as::<_, EndpointRow>(&format!(
                "SELECT {COLUMNS} FROM endpoints WHERE {} AND id = $4",
                Owner::WHERE
            )))
            .bind(id)
            .fetch_optional(exe)
            .await)?
        .map(EndpointRow::endpoint)
        .transpose()
    }

    /// Gives `owner`'s endpoint `id` the new signing secret `secret` at `now`; the secrets
    /// it signed with so far go on signing beside it until `now + overlap_ms` at the
    /// latest (0: not at all). `None` when `owner` has no such endpoint. The audit log
    /// says `actor` rotated it.
    pub async fn rotate_endpoint_secret(
        &self,
        owner: &Principal,
        id: &str,
        secret: &str,
        now: i64,
        overlap_ms: i64,
        actor: &Actor,
    ) -> Result<Option<Endpoint>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        if !owns(&mut tx, owner, id).await? {
            return Ok(None);
        }
        on_tx!(&mut tx, |exe| sqlx::query(
            "DELETE FROM endpoint_secrets WHERE endpoint = $1 AND expires_at <= $2"
        )
        .bind(id)
        .bind(now)
        .execute(&mut **exe)
        .await
        .map(drop))?;
        let until = now.saturating_add(overlap_ms.max(0));
        on_tx!(&mut tx, |exe| sqlx::query(
            "UPDATE endpoint_secrets SET expires_at = $1 \
             WHERE endpoint = $2 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(until)
        .bind(id)
        .execute(&mut **exe)
        .await
        .map(drop))?;
        add_secret(&mut tx, id, secret, now).await?;
        let endpoint = read(&mut tx, id).await?;
        let detail = serde_json::json!({ "old_secrets_expire_at": until });
        audit::record(
            &mut tx,
            actor,
            entry(&endpoint, Action::EndpointRotate, now, detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(endpoint))
    }

    /// Disables `owner`'s endpoint `id` at `now` for `reason`: nothing more is sent to it.
    /// Disabling a disabled endpoint keeps when and why it was first disabled. The audit
    /// log says `actor` disabled it.
    pub async fn disable_endpoint(
        &self,
        owner: &Principal,
        id: &str,
        reason: &str,
        now: i64,
        actor: &Actor,
    ) -> Result<Option<Endpoint>, StoreError> {
        self.set_disabled(Some((owner, actor, now)), id, Some((now, reason)))
            .await
    }

    /// Enables `owner`'s endpoint `id` again; the audit log says `actor` did at `now`.
    pub async fn enable_endpoint(
        &self,
        owner: &Principal,
        id: &str,
        now: i64,
        actor: &Actor,
    ) -> Result<Option<Endpoint>, StoreError> {
        self.set_disabled(Some((owner, actor, now)), id, None).await
    }

    /// Disables endpoint `id`, whoever owns it, because its receiver answered 410 Gone at
    /// `now`. `None` when there is no such endpoint (it was deleted meanwhile).
    pub async fn endpoint_gone(&self, id: &str, now: i64) -> Result<Option<Endpoint>, StoreError> {
        self.set_disabled(None, id, Some((now, GONE_REASON))).await
    }

    /// Disables (`Some((now, reason))`) or enables (`None`) endpoint `id`, of `owner` when
    /// one is named, as the audit log then says its actor did at its time.
    async fn set_disabled(
        &self,
        by: Option<(&Principal, &Actor, i64)>,
        id: &str,
        disabled: Option<(i64, &str)>,
    ) -> Result<Option<Endpoint>, StoreError> {
        let owner = by.map(|(owner, _, _)| owner);
        let (_turn, mut tx) = self.begin_write().await?;
        if let Some(owner) = owner {
            if !owns(&mut tx, owner, id).await? {
                return Ok(None);
            }
        }
        let (at, reason) = disabled.unzip();
        let changed = on_tx!(&mut tx, |exe| sqlx::query(
            "UPDATE endpoints SET disabled_at = $1, disabled_reason = $2 \
             WHERE id = $3 AND ($1 IS NULL OR disabled_at IS NULL)",
        )
        .bind(at)
        .bind(reason)
        .bind(id)
        .execute(&mut **exe)
        .await
        .map(|r| r.rows_affected()))?;
        if changed == 0 && owner.is_none() && !exists(&mut tx, id).await? {
            return Ok(None);
        }
        let endpoint = read(&mut tx, id).await?;
        if let Some((_, actor, now)) = by {
            let (action, detail) = match disabled {
                Some((_, reason)) => (
                    Action::EndpointDisable,
                    serde_json::json!({ "reason": reason }),
                ),
                None => (Action::EndpointEnable, serde_json::json!({})),
            };
            audit::record(&mut tx, actor, entry(&endpoint, action, now, detail)).await?;
        }
        tx.commit().await?;
        Ok(Some(endpoint))
    }

    /// Deletes `owner`'s endpoint `id` and its secrets; `false` when it has no such
    /// endpoint. The audit log says `actor` deleted it at `now`.
    pub async fn delete_endpoint(
        &self,
        owner: &Principal,
        id: &str,
        now: i64,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        if !owns(&mut tx, owner, id).await? {
            return Ok(false);
        }
        let endpoint = read(&mut tx, id).await?;
        let deleted = on_tx!(&mut tx, |exe| Owner::of(owner)
            .bind(sqlx::query(&format!(
                "DELETE FROM endpoints WHERE {} AND id = $4",
                Owner::WHERE
            )))
            .bind(id)
            .execute(&mut **exe)
            .await
            .map(|r| r.rows_affected()))?;
        let detail = serde_json::json!({ "url": origin(&endpoint.url) });
        audit::record(
            &mut tx,
            actor,
            entry(&endpoint, Action::EndpointDelete, now, detail),
        )
        .await?;
        tx.commit().await?;
        Ok(deleted == 1)
    }

    /// The secrets endpoint `id` signs with at `now`: the newest first, then those rotated
    /// out whose overlap has not ended.
    pub async fn signing_secrets(&self, id: &str, now: i64) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_scalar(
            "SELECT secret FROM endpoint_secrets \
             WHERE endpoint = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY id DESC",
        )
        .bind(id)
        .bind(now)
        .fetch_all(exe)
        .await)?)
    }

    /// The enabled endpoints of `cloud` that want messages of `category`, by id: those a
    /// message of that category is sent to.
    pub async fn endpoints_for(
        &self,
        cloud: &str,
        category: &str,
    ) -> Result<Vec<Endpoint>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let endpoints = enabled_for(&mut tx, cloud, category).await?;
        tx.rollback().await?;
        Ok(endpoints)
    }
}

/// The enabled endpoints of `cloud` that want messages of `category`, by id, read through
/// `db`: the pool, or a publish's own transaction.
pub(crate) async fn enabled_for(
    tx: &mut Tx,
    cloud: &str,
    category: &str,
) -> Result<Vec<Endpoint>, StoreError> {
    let wants = match tx.engine() {
        Engine::Sqlite => "EXISTS (SELECT 1 FROM json_each(endpoints.categories) WHERE value = $2)",
        Engine::Postgres => "endpoints.categories::jsonb ? $2",
    };
    on_tx!(tx, |exe| sqlx::query_as::<_, EndpointRow>(&format!(
        "SELECT {COLUMNS} FROM endpoints \
         WHERE cloud = $1 AND disabled_at IS NULL AND (categories IS NULL OR {wants}) \
         ORDER BY id"
    ))
    .bind(cloud)
    .bind(category)
    .fetch_all(&mut **exe)
    .await)?
    .into_iter()
    .map(EndpointRow::endpoint)
    .collect()
}

/// The audit entry of `action` on `endpoint` at `now`, in its cloud.
fn entry(endpoint: &Endpoint, action: Action, now: i64, detail: serde_json::Value) -> NewEntry<'_> {
    NewEntry {
        at: now,
        cloud: Some(&endpoint.cloud),
        action,
        target: &endpoint.id,
        detail,
    }
}

/// Adds `secret` to endpoint `id`'s signing secrets at `now`.
async fn add_secret(tx: &mut Tx, id: &str, secret: &str, now: i64) -> Result<(), StoreError> {
    on_tx!(tx, |exe| sqlx::query(
        "INSERT INTO endpoint_secrets (endpoint, created_at, secret) VALUES ($1, $2, $3)"
    )
    .bind(id)
    .bind(now)
    .bind(secret)
    .execute(&mut **exe)
    .await
    .map(drop))?;
    Ok(())
}

/// Whether `owner` has endpoint `id`.
async fn owns(tx: &mut Tx, owner: &Principal, id: &str) -> Result<bool, StoreError> {
    Ok(on_tx!(tx, |exe| Owner::of(owner)
        .bind(sqlx::query(&format!(
            "SELECT 1 FROM endpoints WHERE {} AND id = $4",
            Owner::WHERE
        )))
        .bind(id)
        .fetch_optional(&mut **exe)
        .await
        .map(|row| row.is_some()))?)
}

/// Whether endpoint `id` exists.
async fn exists(tx: &mut Tx, id: &str) -> Result<bool, StoreError> {
    Ok(on_tx!(tx, |exe| sqlx::query(
        "SELECT 1 FROM endpoints WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut **exe)
    .await
    .map(|row| row.is_some()))?)
}

/// Endpoint `id` as stored now.
async fn read(tx: &mut Tx, id: &str) -> Result<Endpoint, StoreError> {
    on_tx!(tx, |exe| sqlx::query_as::<_, EndpointRow>(&format!(
        "SELECT {COLUMNS} FROM endpoints WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut **exe)
    .await)?
    .endpoint()
}

/// An `endpoints` row as [`COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    cloud: String,
    owner_kind: OrgKind,
    owner: Option<String>,
    url: String,
    description: String,
    /// A JSON array of categories; `None` for all.
    categories: Option<String>,
    mode: Mode,
    created_at: i64,
    disabled_at: Option<i64>,
    disabled_reason: Option<String>,
}

impl EndpointRow {
    /// The endpoint the row stores, its categories parsed.
    fn endpoint(self) -> Result<Endpoint, StoreError> {
        let categories = self
            .categories
            .map(|text| {
                serde_json::from_str(&text).map_err(|e| {
                    StoreError::Damaged(format!(
                        "the categories of endpoint \"{}\" do not parse: {e}",
                        self.id
                    ))
                })
            })
            .transpose()?;
        Ok(Endpoint {
            id: self.id,
            cloud: self.cloud,
            owner_kind: self.owner_kind.as_str().to_owned(),
            owner: self.owner,
            url: self.url,
            description: self.description,
            categories,
            mode: self.mode,
            created_at: self.created_at,
            disabled_at: self.disabled_at,
            disabled_reason: self.disabled_reason,
        })
    }
}
