//! Who is asking: the principal behind the request's `Authorization: Bearer` key, taken
//! as the [`Caller`] or [`Editor`] the use cases decide by (`herald-service`).
//! Requests without a valid key are answered 401 and learn nothing else.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use herald_service::{Caller, Editor};
use herald_store::KeyInfo;

use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// The request's `Authorization: Bearer` key, or 401.
async fn key(parts: &Parts, state: &AppState) -> Result<KeyInfo, Problem> {
    let unauthorized = |detail: &str| Problem::new(Kind::Unauthorized, detail);
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| unauthorized("send an API key as `Authorization: Bearer <key>`"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <key>`"))?;
    state
        .store()
        .authenticate(token)
        .await?
        .ok_or_else(|| unauthorized("the API key is unknown or revoked"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let key = key(parts, state).await?;
        Ok(Caller::new(key.principal, key.id)?)
    }
}

impl FromRequestParts<AppState> for Editor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        key(parts, state)
            .await
            .map(|key| Editor(key.principal, key.id))
    }
}
