//! Who is asking: the principal behind the request's `Authorization: Bearer` key.
//!
//! A vendor key acts in one cloud; a partner key as one partner, a customer key as one
//! customer. A vendor key for every cloud changes only what the clouds share, the product
//! catalog: the directory's routes take it as an [`Editor`], every other route refuses it.
//! Requests without a valid key are answered 401 and learn nothing else.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use herald_store::{Actor, KeyInfo, Principal};

use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// The authenticated principal of a request (the vendor of one cloud, a partner or a
/// customer), and the id of the key it presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(pub Principal, pub String);

/// The principal of a request to the directory's routes, which a vendor key for every
/// cloud may also make, to read and change the product catalog, and the key's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Editor(pub Principal, pub String);

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
        if key.principal.every_cloud() {
            return Err(Problem::new(
                Kind::Forbidden,
                "a vendor key for every cloud changes only the product catalog \
                 (/v1/directory/products/{id}); use a vendor key of one cloud for this",
            ));
        }
        Ok(Caller(key.principal, key.id))
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

/// The vendor's cloud, when `principal` is the vendor of one cloud; otherwise a 403 saying
/// that only such a key may `act`.
fn one_cloud<'a>(principal: &'a Principal, act: &str) -> Result<&'a str, Problem> {
    match principal {
        Principal::Vendor { .. } if principal.every_cloud() => Err(Problem::new(
            Kind::Forbidden,
            format!("a vendor key for every cloud changes only the product catalog; use a vendor key of one cloud to {act}"),
        )),
        Principal::Vendor { cloud } => Ok(cloud),
        _ => Err(Problem::new(
            Kind::Forbidden,
            format!("only a vendor key may {act}"),
        )),
    }
}

/// The audit log's actor for key `id` acting as `principal`.
fn actor(principal: &Principal, id: &str) -> Actor {
    Actor::Key {
        id: id.to_owned(),
        principal: principal.clone(),
    }
}

impl Caller {
    /// Who the audit log says made a change this request asked for: the key, acting as
    /// its principal.
    pub fn actor(&self) -> Actor {
        actor(&self.0, &self.1)
    }

    /// The vendor's cloud, when the caller is a vendor; otherwise a 403 saying that only
    /// a vendor may `act`.
    pub fn vendor_cloud(&self, act: &str) -> Result<&str, Problem> {
        one_cloud(&self.0, act)
    }
}

impl Editor {
    /// The cloud the caller acts in on the whole directory: its own, or none of the
    /// directory's (`*`) for a key for every cloud, which sees and puts the catalog alone;
    /// a 403 saying that only a vendor key may `act` for anyone else.
    pub fn directory_cloud(&self, act: &str) -> Result<&str, Problem> {
        if self.0.every_cloud() {
            Ok(self.0.cloud())
        } else {
            self.vendor_cloud(act)
        }
    }

    /// Who the audit log says made a change this request asked for.
    pub fn actor(&self) -> Actor {
        actor(&self.0, &self.1)
    }

    /// The vendor's cloud, when the caller is the vendor of one cloud; otherwise a 403
    /// saying that only such a key may `act`.
    pub fn vendor_cloud(&self, act: &str) -> Result<&str, Problem> {
        one_cloud(&self.0, act)
    }

    /// Whether the caller may read the product catalog: any vendor key may.
    pub fn reads_catalog(&self) -> Result<(), Problem> {
        match self.0 {
            Principal::Vendor { .. } => Ok(()),
            _ => Err(Problem::new(
                Kind::Forbidden,
                "only a vendor key may read the directory",
            )),
        }
    }

    /// Whether the caller may change the product catalog every cloud shares: only a
    /// vendor key for every cloud may, since a product's services decide which customers
    /// of every cloud hear of an incident.
    pub fn changes_catalog(&self) -> Result<(), Problem> {
        if self.0.every_cloud() {
            return Ok(());
        }
        self.reads_catalog()?;
        Err(catalog_refused())
    }
}

/// The 403 of a change to the catalog by a key of one cloud.
pub fn catalog_refused() -> Problem {
    Problem::new(
        Kind::Forbidden,
        "the product catalog is shared by every cloud and is changed only with a vendor key for every cloud (`herald keys create --vendor --all-clouds`) or `herald import`; a key of one cloud may read it",
    )
}
