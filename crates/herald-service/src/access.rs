//! Who is calling, and what that allows: the authorization decisions every intake shares.
//!
//! A vendor key acts in one cloud; a partner key as one partner, a customer key as one
//! customer. A vendor key for every cloud changes only what the clouds share, the product
//! catalog: the directory's uses take it as an [`Editor`], and it is no [`Caller`] of any
//! other.

use herald_store::{Actor, Principal, Reader};

use crate::Refusal;

/// The principal a request acts as (the vendor of one cloud, a partner or a customer), and
/// the id of the key it presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(pub Principal, pub String);

/// The principal of a request to the directory, which a vendor key for every cloud may
/// also make, to read and change the product catalog, and the key's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Editor(pub Principal, pub String);

/// The vendor's cloud, when `principal` is the vendor of one cloud; otherwise a refusal
/// saying that only such a key may `act`.
fn one_cloud<'a>(principal: &'a Principal, act: &str) -> Result<&'a str, Refusal> {
    match principal {
        Principal::Vendor { .. } if principal.every_cloud() => Err(Refusal::Forbidden(format!(
            "a vendor key for every cloud changes only the product catalog; use a vendor key of one cloud to {act}"
        ))),
        Principal::Vendor { cloud } => Ok(cloud),
        _ => Err(Refusal::Forbidden(format!("only a vendor key may {act}"))),
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
    /// The caller for key `id` acting as `principal`; a vendor key for every cloud is
    /// refused, since it changes only the product catalog.
    pub fn new(principal: Principal, id: String) -> Result<Caller, Refusal> {
        if principal.every_cloud() {
            return Err(Refusal::Forbidden(
                "a vendor key for every cloud changes only the product catalog \
                 (/v1/directory/products/{id}); use a vendor key of one cloud for this"
                    .into(),
            ));
        }
        Ok(Caller(principal, id))
    }

    /// Who the audit log says made a change this caller asked for: the key, acting as its
    /// principal.
    pub fn actor(&self) -> Actor {
        actor(&self.0, &self.1)
    }

    /// The vendor's cloud, when the caller is a vendor; otherwise a refusal saying that
    /// only a vendor may `act`.
    pub fn vendor_cloud(&self, act: &str) -> Result<&str, Refusal> {
        one_cloud(&self.0, act)
    }

    /// Whose inbox the caller reads: a partner's or a customer's; the vendor has none.
    pub fn reader(&self) -> Result<Reader<'_>, Refusal> {
        match &self.0 {
            Principal::Partner { partner, .. } => Ok(Reader::Partner(partner)),
            Principal::Customer { customer, .. } => Ok(Reader::Customer(customer)),
            Principal::Vendor { .. } => Err(Refusal::Forbidden(
                "the vendor has no inbox; an inbox is a partner's or a customer's".into(),
            )),
        }
    }

    /// The deliveries the caller may see: a partner's or customer's own (recipient kind
    /// and id), or every one (`None`) for the vendor.
    pub fn own_deliveries(&self) -> Option<(&'static str, &str)> {
        match &self.0 {
            Principal::Vendor { .. } => None,
            Principal::Partner { partner, .. } => Some(("partner", partner)),
            Principal::Customer { customer, .. } => Some(("customer", customer)),
        }
    }
}

impl Editor {
    /// The cloud the caller acts in on the whole directory: its own, or none of the
    /// directory's (`*`) for a key for every cloud, which sees and puts the catalog alone;
    /// a refusal saying that only a vendor key may `act` for anyone else.
    pub fn directory_cloud(&self, act: &str) -> Result<&str, Refusal> {
        if self.0.every_cloud() {
            Ok(self.0.cloud())
        } else {
            self.vendor_cloud(act)
        }
    }

    /// Who the audit log says made a change this caller asked for.
    pub fn actor(&self) -> Actor {
        actor(&self.0, &self.1)
    }

    /// The vendor's cloud, when the caller is the vendor of one cloud; otherwise a refusal
    /// saying that only such a key may `act`.
    pub fn vendor_cloud(&self, act: &str) -> Result<&str, Refusal> {
        one_cloud(&self.0, act)
    }

    /// Whether the caller may read the product catalog: any vendor key may.
    pub fn reads_catalog(&self) -> Result<(), Refusal> {
        match self.0 {
            Principal::Vendor { .. } => Ok(()),
            _ => Err(Refusal::Forbidden(
                "only a vendor key may read the directory".into(),
            )),
        }
    }

    /// Whether the caller may change the product catalog every cloud shares: only a
    /// vendor key for every cloud may, since a product's services decide which customers
    /// of every cloud hear of an incident.
    pub fn changes_catalog(&self) -> Result<(), Refusal> {
        if self.0.every_cloud() {
            return Ok(());
        }
        self.reads_catalog()?;
        Err(catalog_refused())
    }
}

/// The refusal of a change to the catalog by a key of one cloud.
pub fn catalog_refused() -> Refusal {
    Refusal::Forbidden(
        "the product catalog is shared by every cloud and is changed only with a vendor key for every cloud (`herald keys create --vendor --all-clouds`) or `herald import`; a key of one cloud may read it".into(),
    )
}
