//! Sessions of the web console: a browser that signed in with an API key acts as that key
//! until the session expires, is signed out, or the key is revoked.
//!
//! A session token is 32 random bytes in lowercase hex, kept by the browser in a cookie
//! and never stored: only its SHA-256 is, so a copy of the database signs nobody in. Each
//! session also has its own CSRF token, which every form the console serves carries and
//! every form posted must send back. Sessions live in the store, so that any of several
//! servers of one store can read a browser's session.

use sha2::{Digest, Sha256};

use crate::engine::{on_pool, on_tx};
use crate::error::StoreError;
use crate::keys::{hex, random, KeyInfo};
use crate::store::Store;

/// Random bytes in a session token.
const TOKEN_BYTES: usize = 32;
/// Random bytes in a session's CSRF token.
const CSRF_BYTES: usize = 24;

/// A session just opened: `token` goes to the browser and is not stored.
pub struct NewSession {
    /// The session token, for the browser's cookie.
    pub token: String,
    /// The token the session's forms carry.
    pub csrf: String,
    /// When the session ends, in Unix milliseconds.
    pub expires_at: i64,
}

/// Shows the session without its token.
impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<not printed>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A live session: the key it acts as and the token its forms carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub key: KeyInfo,
    pub csrf: String,
    /// When the session ends, in Unix milliseconds.
    pub expires_at: i64,
}

/// A session's row.
#[derive(sqlx::FromRow)]
struct SessionRow {
    key_id: String,
    csrf: String,
    expires_at: i64,
}

impl Store {
    /// Opens a session at `now` for the key bearer token `key` names, lasting `lifetime_ms`:
    /// `None` when the token authenticates no key. Sessions that have ended are cleared
    /// on the way.
    pub async fn open_session(
        &self,
        key: &str,
        now: i64,
        lifetime_ms: i64,
    ) -> Result<Option<(KeyInfo, NewSession)>, StoreError> {
        let Some(info) = self.authenticate(key).await? else {
            return Ok(None);
        };
        let token = hex(&random::<TOKEN_BYTES>()?);
        let csrf = hex(&random::<CSRF_BYTES>()?);
        let expires_at = now.saturating_add(lifetime_ms);
        let (_turn, mut tx) = self.begin_write().await?;
        on_tx!(&mut tx, |exe| sqlx::query(
            "DELETE FROM console_sessions WHERE expires_at <= $1"
        )
        .bind(now)
        .execute(&mut **exe)
        .await
        .map(|done| done.rows_affected()))?;
        on_tx!(&mut tx, |exe| sqlx::query(
            "INSERT INTO console_sessions (hash, key_id, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(&hash(&token)[..])
        .bind(&info.id)
        .bind(&csrf)
        .bind(now)
        .bind(expires_at)
        .execute(&mut **exe)
        .await
        .map(|done| done.rows_affected()))?;
        tx.commit().await?;
        Ok(Some((
            info,
            NewSession {
                token,
                csrf,
                expires_at,
            },
        )))
    }

    /// The live session token `token` names at `now`: `None` when it names none, or one
    /// that has expired, been signed out, or whose key was revoked.
    pub async fn session(&self, token: &str, now: i64) -> Result<Option<Session>, StoreError> {
        if !is_token(token) {
            return Ok(None);
        }
        let row: Option<SessionRow> = on_pool!(self.pool(), |exe| sqlx::query_as(
            "SELECT key_id, csrf, expires_at FROM console_sessions WHERE hash = $1"
        )
        .bind(&hash(token)[..])
        .fetch_optional(exe)
        .await)?;
        let Some(row) = row.filter(|row| row.expires_at > now) else {
            return Ok(None);
        };
        let Some(key) = self.key(&row.key_id).await? else {
            return Ok(None);
        };
        Ok(key.revoked_at.is_none().then_some(Session {
            key,
            csrf: row.csrf,
            expires_at: row.expires_at,
        }))
    }

    /// Ends the session token `token` names, if any: it no longer signs anyone in.
    pub async fn close_session(&self, token: &str) -> Result<(), StoreError> {
        if !is_token(token) {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        on_tx!(&mut tx, |exe| sqlx::query(
            "DELETE FROM console_sessions WHERE hash = $1"
        )
        .bind(&hash(token)[..])
        .execute(&mut **exe)
        .await
        .map(|done| done.rows_affected()))?;
        tx.commit().await?;
        Ok(())
    }
}

/// The SHA-256 of a session token.
fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `token` has a session token's shape.
fn is_token(token: &str) -> bool {
    token.len() == 2 * TOKEN_BYTES
        && token
            .bytes()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}
