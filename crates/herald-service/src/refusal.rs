//! Why a request was refused. Each kind of [`Refusal`] is stable (the HTTP API answers it
//! as its problem type) and carries a detail a person can act on, naming the field or
//! record at fault. A refused request has written nothing.

use herald_store::StoreError;

/// A request the service will not carry out, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request is not well formed: a missing, mistyped or contradictory part.
    #[error("{0}")]
    Malformed(String),
    /// The caller may know of the thing, but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing the caller may know of is there.
    #[error("{0}")]
    NotFound(String),
    /// A message breaks a rule of the policy or names what the directory lacks.
    #[error("{0}")]
    InvalidMessage(String),
    /// A directory change breaks a rule of a valid directory.
    #[error("{0}")]
    InvalidDirectory(String),
    /// A directory record others name cannot be deleted before they stop naming it.
    #[error("{0}")]
    Referenced(String),
    /// A delivery still queued cannot be replayed: a worker will try it anyway.
    #[error("{0}")]
    StillQueued(String),
}

impl Refusal {
    /// The refusal for something the caller may not know exists, as if it did not.
    pub fn not_found(what: impl std::fmt::Display) -> Refusal {
        Refusal::NotFound(format!("there is no {what}"))
    }

    /// What is wrong, in words a person can act on.
    pub fn detail(&self) -> &str {
        match self {
            Refusal::Malformed(detail)
            | Refusal::Forbidden(detail)
            | Refusal::NotFound(detail)
            | Refusal::InvalidMessage(detail)
            | Refusal::InvalidDirectory(detail)
            | Refusal::Referenced(detail)
            | Refusal::StillQueued(detail) => detail,
        }
    }
}

/// What can go wrong in a use case: a refusal of the request, or a failure of the store
/// beneath it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The service itself failed: work handed to a blocking thread did not come back, or
    /// what it just made is not as made.
    #[error("{0}")]
    Failed(String),
}
