//! Who is asking: the principal behind the request's `Authorization: Bearer` key.
//!
//! A vendor key acts in one cloud; a partner key as one partner, a customer key as one
//! customer. Requests without a valid key are answered 401 and learn nothing else.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use herald_store::{Actor, Principal};

use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// The authenticated principal of a request, and the id of the key it presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(pub Principal, pub String);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
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
        match state.store().authenticate(token).await? {
            Some(key) => Ok(Caller(key.principal, key.id)),
            None => Err(unauthorized("the API key is unknown or revoked")),
        }
    }
}

impl Caller {
    /// Who the audit log says made a change this request asked for: the key, acting as
    /// its principal.
    pub fn actor(&self) -> Actor {
        Actor::Key {
            id: self.1.clone(),
            principal: self.0.clone(),
        }
    }

    /// The vendor's cloud, when the caller is a vendor; otherwise a 403 saying that only
    /// a vendor may `act`.
    pub fn vendor_cloud(&self, act: &str) -> Result<&str, Problem> {
        match &self.0 {
            Principal::Vendor { cloud } => Ok(cloud),
            _ => Err(Problem::new(
                Kind::Forbidden,
                format!("only a vendor key may {act}"),
            )),
        }
    }
}
