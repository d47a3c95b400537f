//! Who a caller is: the vendor in one cloud (or in every cloud), one partner or one
//! customer. An API key acts as one, the audit log names one, and a webhook endpoint
//! belongs to one.

use serde::Serialize;

use crate::error::StoreError;
use crate::kinds::OrgKind;

/// The cloud a vendor key for every cloud is stored with: no cloud is named so.
pub use herald_domain::ids::EVERY_CLOUD;

/// Who a key acts as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Principal {
    /// The vendor, in one cloud, or in every cloud when `cloud` is [`EVERY_CLOUD`]: such a
    /// key changes what the clouds share (the product catalog) and nothing of one cloud.
    Vendor { cloud: String },
    /// One partner of the directory.
    Partner { cloud: String, partner: String },
    /// One customer of the directory.
    Customer { cloud: String, customer: String },
}

impl Principal {
    /// The cloud the key acts in.
    pub fn cloud(&self) -> &str {
        match self {
            Principal::Vendor { cloud }
            | Principal::Partner { cloud, .. }
            | Principal::Customer { cloud, .. } => cloud,
        }
    }

    /// The one cloud the key acts in; `None` for the vendor acting for every cloud.
    pub fn one_cloud(&self) -> Option<&str> {
        (!self.every_cloud()).then(|| self.cloud())
    }

    /// Whether this is the vendor acting for every cloud.
    pub fn every_cloud(&self) -> bool {
        matches!(self, Principal::Vendor { cloud } if cloud == EVERY_CLOUD)
    }

    /// The `principal` and `subject` columns of the key's row.
    pub(crate) fn columns(&self) -> (OrgKind, Option<&str>) {
        match self {
            Principal::Vendor { .. } => (OrgKind::Vendor, None),
            Principal::Partner { partner, .. } => (OrgKind::Partner, Some(partner)),
            Principal::Customer { customer, .. } => (OrgKind::Customer, Some(customer)),
        }
    }

    /// The principal stored in the row of key `id`.
    pub(crate) fn from_columns(
        id: &str,
        principal: OrgKind,
        cloud: String,
        subject: Option<String>,
    ) -> Result<Principal, StoreError> {
        match (principal, subject) {
            (OrgKind::Vendor, None) => Ok(Principal::Vendor { cloud }),
            (OrgKind::Partner, Some(partner)) => Ok(Principal::Partner { cloud, partner }),
            (OrgKind::Customer, Some(customer)) => Ok(Principal::Customer { cloud, customer }),
            (principal, subject) => Err(StoreError::Damaged(format!(
                "API key \"{id}\" is stored as principal \"{}\" with subject {subject:?}, which no key is made with",
                principal.as_str()
            ))),
        }
    }
}
