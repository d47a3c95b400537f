//! API keys: who a caller of the HTTP API is. A key acts as the vendor in one cloud, as one
//! partner or as one customer (in the cloud the directory put it in).
//!
//! A bearer token is `hk_<id>_<secret>`: the id (8 random bytes in lowercase hex) names the
//! stored key and may be shown, the secret (32 random bytes in lowercase hex) is shown once
//! when the key is made and never stored: only its SHA-256 is, compared in constant time.
//! A revoked key stays listed, with the time it was revoked, and no longer authenticates.

use crate::engine::{on_pool, on_tx, Engine, Tx};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, Action, Actor, NewEntry};
use crate::error::StoreError;
use crate::kinds::OrgKind;
use crate::principal::{Principal, EVERY_CLOUD};
use crate::store::Store;

/// What every token starts with.
const PREFIX: &str = "hk_";
/// Random bytes in a key's id.
const ID_BYTES: usize = 8;
/// Random bytes in a key's secret.
const SECRET_BYTES: usize = 32;
/// The columns of `api_keys` a [`KeyRow`] is read from.
const KEY_COLUMNS: &str = "id, principal, cloud, subject, created_at, revoked_at";

/// A key just created: `token` is the whole bearer token, shown once and never stored.
pub struct NewKey {
    /// The public part of the token, naming the key.
    pub id: String,
    /// The whole bearer token, `hk_<id>_<secret>`.
    pub token: String,
    /// Who the key acts as.
    pub principal: Principal,
}

/// Shows the key without its token, so that printing one for debugging leaks no secret.
impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("id", &self.id)
            .field("token", &"<shown once, not printed>")
            .field("principal", &self.principal)
            .finish()
    }
}

/// A stored key, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The public part of the key's token.
    pub id: String,
    /// Who the key acts as.
    pub principal: Principal,
    /// When the key was made, in Unix milliseconds.
    pub created_at: i64,
    /// When the key was revoked, in Unix milliseconds, if it was.
    pub revoked_at: Option<i64>,
}

/// What a key is created for, before its cloud is known for partners and customers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFor {
    /// The vendor, acting in `cloud`.
    Vendor { cloud: String },
    /// The vendor, acting for every cloud: it may change the product catalog they share.
    VendorOfEveryCloud,
    /// The partner with this id; its cloud is the stored directory's.
    Partner(String),
    /// The customer with this id; its cloud is the stored directory's.
    Customer(String),
}

impl Store {
    /// Makes a key for `key_for` at `now` (Unix milliseconds) and returns its token, which
    /// is not stored and cannot be read again.
    ///
    /// A partner or customer key is made only for a partner or customer of the stored
    /// directory, and acts in its cloud; a vendor key for any cloud named without spaces
    /// (stored records or not: a vendor needs its key to put its cloud's first directory).
    /// A refused key writes nothing. The audit log says `actor`
    /// made it.
    pub async fn create_key(
        &self,
        key_for: KeyFor,
        now: i64,
        actor: &Actor,
    ) -> Result<NewKey, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let principal = match key_for {
            KeyFor::Vendor { cloud } => {
                check_vendor_cloud(&cloud)?;
                Principal::Vendor { cloud }
            }
            KeyFor::VendorOfEveryCloud => Principal::Vendor {
                cloud: EVERY_CLOUD.into(),
            },
            KeyFor::Partner(partner) => match cloud_of(&mut tx, "partners", &partner).await? {
                Some(cloud) => Principal::Partner { cloud, partner },
                None => return Err(StoreError::UnknownPartner(partner)),
            },
            KeyFor::Customer(customer) => match cloud_of(&mut tx, "customers", &customer).await? {
                Some(cloud) => Principal::Customer { cloud, customer },
                None => return Err(StoreError::UnknownCustomer(customer)),
            },
        };
        let (kind, subject) = principal.columns();
        // Two keys drawing the same 8-byte id is all but impossible; if it happens, the
        // second draws again rather than fail.
        loop {
            let id = hex(&random::<ID_BYTES>()?);
            let secret = hex(&random::<SECRET_BYTES>()?);
            let inserted = on_tx!(&mut tx, |exe| sqlx::query(
                "INSERT INTO api_keys (id, hash, principal, cloud, subject, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(&hash(&secret)[..])
            .bind(kind)
            .bind(principal.cloud())
            .bind(subject)
            .bind(now)
            .execute(&mut **exe)
            .await
            .map(|r| r.rows_affected()))?;
            if inserted == 1 {
                let entry = NewEntry {
                    at: now,
                    cloud: principal.one_cloud(),
                    action: Action::KeyCreate,
                    target: &id,
                    detail: serde_json::json!({ "principal": principal }),
                };
                audit::record(&mut tx, actor, entry).await?;
                tx.commit().await?;
                return Ok(NewKey {
                    token: format!("{PREFIX}{id}_{secret}"),
                    id,
                    principal,
                });
            }
        }
    }

    /// Every key, revoked ones included, oldest first; never a secret or its hash.
    pub async fn keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        // Keys made in the same millisecond, in the order they were made.
        let made = match self.engine() {
            Engine::Sqlite => "rowid",
            Engine::Postgres => "seq",
        };
        on_pool!(self.pool(), |exe| sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, {made}"
        ))
        .fetch_all(exe)
        .await)?
        .into_iter()
        .map(KeyRow::info)
        .collect()
    }

    /// Key `id`, revoked or not, if there is one.
    pub async fn key(&self, id: &str) -> Result<Option<KeyInfo>, StoreError> {
        on_pool!(self.pool(), |exe| sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(exe)
        .await)?
        .map(KeyRow::info)
        .transpose()
    }

    /// Revokes key `id` at `now` (Unix milliseconds): it no longer authenticates. Revoking
    /// a revoked key changes nothing and keeps the first time it was revoked. The audit
    /// log says `actor` revoked it.
    pub async fn revoke_key(
        &self,
        id: &str,
        now: i64,
        actor: &Actor,
    ) -> Result<KeyInfo, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row: Option<KeyRow> = on_tx!(&mut tx, |exe| {
            sqlx::query_as(&format!(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING {KEY_COLUMNS}"
        ))
        .bind(now)
        .bind(id)
        .fetch_optional(&mut **exe)
        .await
        })?;
        let key = match row {
            Some(row) => row.info()?,
            None => return Err(StoreError::UnknownKey(id.to_owned())),
        };
        let entry = NewEntry {
            at: now,
            cloud: key.principal.one_cloud(),
            action: Action::KeyRevoke,
            target: id,
            detail: serde_json::json!({ "principal": key.principal, "revoked_at": key.revoked_at }),
        };
        audit::record(&mut tx, actor, entry).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// The key the bearer token `token` names, and so who it acts as: `None` when it is
    /// not a token's shape, names no key, carries the wrong secret or names a revoked key.
    pub async fn authenticate(&self, token: &str) -> Result<Option<KeyInfo>, StoreError> {
        let Some((id, secret)) = parse_token(token) else {
            return Ok(None);
        };
        let Some(row) = on_pool!(self.pool(), |exe| sqlx::query_as::<_, HashedKey>(&format!(
            "SELECT hash, {KEY_COLUMNS} FROM api_keys WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        if !same_bytes(&hash(secret), &row.hash) || row.key.revoked_at.is_some() {
            return Ok(None);
        }
        row.key.info().map(Some)
    }
}

/// Refuses a vendor key for a cloud that is empty, holds spaces or is [`EVERY_CLOUD`]. Any other cloud may get
/// one, stored records or not: a vendor needs its key to put its cloud's first directory.
fn check_vendor_cloud(cloud: &str) -> Result<(), StoreError> {
    if cloud.trim().is_empty() {
        return Err(StoreError::EmptyCloud);
    }
    if cloud.chars().any(char::is_whitespace) {
        return Err(StoreError::CloudWithSpace(cloud.to_owned()));
    }
    if cloud == EVERY_CLOUD {
        return Err(StoreError::EveryCloudNamed);
    }
    Ok(())
}

/// The cloud of record `id` in directory table `table`, if it is stored.
pub(crate) async fn cloud_of(
    tx: &mut Tx,
    table: &str,
    id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(on_tx!(tx, |exe| sqlx::query_scalar(&format!(
        "SELECT cloud FROM {table} WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **exe)
    .await)?)
}

/// A key's row as [`KEY_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    principal: OrgKind,
    cloud: String,
    subject: Option<String>,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl KeyRow {
    /// The key the row stores.
    fn info(self) -> Result<KeyInfo, StoreError> {
        Ok(KeyInfo {
            principal: Principal::from_columns(&self.id, self.principal, self.cloud, self.subject)?,
            id: self.id,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// A key's row with the hash of its secret, as read to authenticate a token.
#[derive(sqlx::FromRow)]
struct HashedKey {
    hash: Vec<u8>,
    #[sqlx(flatten)]
    key: KeyRow,
}

/// `N` bytes from the operating system's random number generator.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(StoreError::Random)?;
    Ok(bytes)
}

/// `bytes` in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a token's secret part, as the token spells it.
fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The id and secret of a token `hk_<id>_<secret>`, or `None` when it has another shape.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    (is_lower_hex(id, ID_BYTES) && is_lower_hex(secret, SECRET_BYTES)).then_some((id, secret))
}

/// Whether `text` is `bytes` bytes in lowercase hex.
fn is_lower_hex(text: &str, bytes: usize) -> bool {
    text.len() == 2 * bytes && text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `a` and `b` are equal, in a time that depends on their length only, so that a
/// caller guessing a secret learns nothing from how long a wrong guess took.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}
