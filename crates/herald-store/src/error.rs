//! What can go wrong in the store, for every engine and every part of it.

use herald_domain::DirectoryError;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database could not be used: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database schema could not be brought up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store has a migration applied of a newer version than this build knows.
    #[error("this store was written by a newer Herald (schema version {found}, this binary knows up to {known}); use a newer herald")]
    NewerSchema {
        /// The store's newest applied migration.
        found: i64,
        /// The newest migration this build knows.
        known: i64,
    },
    #[error("message \"{0}\" was already published with different content; publish changes under a new id")]
    Conflict(String),
    /// The stored directory changed after it was read, so what was checked against it (a
    /// routing, a record change) must be checked again.
    #[error(
        "the directory changed while the request was being checked against it; check it again"
    )]
    DirectoryChanged,
    /// Another update of the message's thread was stored while it was being routed.
    #[error("thread \"{0}\" was updated while the message was being routed; route it again")]
    ThreadMoved(String),
    #[error("the stored directory is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    InvalidDirectory(#[from] DirectoryError),
    #[error("the database refused a write: {0}")]
    Sqlite(#[from] SqliteError),
    /// A partner key was asked for a partner the stored directory does not hold.
    #[error("there is no partner \"{0}\" in the stored directory; a partner key is made for a partner the directory holds")]
    UnknownPartner(String),
    /// A customer key was asked for a customer the stored directory does not hold.
    #[error("there is no customer \"{0}\" in the stored directory; a customer key is made for a customer the directory holds")]
    UnknownCustomer(String),
    /// A vendor key was asked for with an empty cloud.
    #[error("a vendor key acts in exactly one cloud, and no cloud was named (a cloud is a name without spaces, such as \"global\")")]
    EmptyCloud,
    /// A vendor key was asked for a cloud whose name holds a space (or other white space).
    #[error("a vendor key acts in exactly one cloud, and cloud {0:?} holds a space; a cloud is a name without spaces, such as \"global\" or \"us-gov\"")]
    CloudWithSpace(String),
    /// A vendor key was asked for a cloud named `*`, which stands for every cloud.
    #[error("\"*\" is not a cloud; a vendor key for every cloud is made with --all-clouds and changes only the product catalog the clouds share")]
    EveryCloudNamed,
    /// The partner or customer a key acts as was deleted after the key was checked.
    #[error("the organisation this API key acts as is no longer in the directory, and its keys are revoked")]
    OwnerGone,
    /// No key has this id.
    #[error("there is no API key \"{0}\"; a key is named by its id, the part of the token between `hk_` and the second `_`")]
    UnknownKey(String),
    /// A webhook endpoint of a vendor or customer was asked to send one event per customer.
    #[error("`mode` \"per_customer\" (one event per customer) is for partners, who serve many customers; a vendor's or customer's endpoint is \"aggregated\"")]
    PerCustomerForPartnersOnly,
    /// The operating system gave no random bytes for a new key or endpoint id.
    #[error("no random bytes could be had from the operating system for a new id: {0}")]
    Random(getrandom::Error),
    /// No place could be made for a throwaway store.
    #[error("no place could be made for a scratch store: {0}")]
    Scratch(String),
}

/// A failure reported by SQLite, with its message.
#[derive(Debug, thiserror::Error)]
#[error("SQLite: {0}")]
pub struct SqliteError(pub String);
