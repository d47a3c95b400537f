//! Errors as `application/problem+json` (RFC 9457): a stable `type` per kind of error, and a
//! `detail` that names the offending field or record in words a person can act on.
//!
//! `docs/errors.md` lists every type; [`Kind`] is that table in code.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use herald_service::{Refusal, ServiceError};
use serde::Serialize;
use utoipa::ToSchema;

/// The kinds of error the API answers with, each with its status and stable type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The request is not well formed: unreadable JSON, a missing or mistyped field.
    Malformed,
    /// No valid key was given.
    Unauthorized,
    /// The key's principal may see the thing but not do this to it.
    Forbidden,
    /// Nothing the principal may know of is there.
    NotFound,
    /// The path does not take this method.
    MethodNotAllowed,
    /// Another message was already accepted under this id.
    Conflict,
    /// A directory record others name cannot be deleted before they stop naming it.
    Referenced,
    /// A delivery still queued cannot be replayed: a worker will try it anyway.
    StillQueued,
    /// The request body is larger than the server accepts.
    TooLarge,
    /// The request URI is longer than the server reads.
    UriTooLong,
    /// The request's headers are larger than the server reads.
    HeadersTooLarge,
    /// A message that breaks a rule of the policy or names what the directory lacks.
    InvalidMessage,
    /// A directory that breaks a rule of a valid directory.
    InvalidDirectory,
    /// A webhook endpoint whose URL, categories or mode cannot be registered.
    InvalidEndpoint,
    /// The server failed; the request may be retried.
    Internal,
    /// The server's store does not answer, so it takes no requests for now.
    Unavailable,
}

impl Kind {
    /// The kind an error of the HTTP layer with `status` is, when the table has one.
    pub fn of_status(status: StatusCode) -> Option<Kind> {
        Some(match status {
            StatusCode::BAD_REQUEST => Kind::Malformed,
            StatusCode::UNAUTHORIZED => Kind::Unauthorized,
            StatusCode::FORBIDDEN => Kind::Forbidden,
            StatusCode::NOT_FOUND => Kind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Kind::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Kind::TooLarge,
            StatusCode::URI_TOO_LONG => Kind::UriTooLong,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Kind::HeadersTooLarge,
            StatusCode::INTERNAL_SERVER_ERROR => Kind::Internal,
            _ => return None,
        })
    }

    fn status(self) -> StatusCode {
        match self {
            Kind::Malformed => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Conflict | Kind::Referenced | Kind::StillQueued => StatusCode::CONFLICT,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UriTooLong => StatusCode::URI_TOO_LONG,
            Kind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Kind::InvalidMessage | Kind::InvalidDirectory | Kind::InvalidEndpoint => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Malformed => "malformed-request",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::Conflict => "message-id-conflict",
            Kind::Referenced => "record-in-use",
            Kind::StillQueued => "delivery-still-queued",
            Kind::TooLarge => "request-too-large",
            Kind::UriTooLong => "uri-too-long",
            Kind::HeadersTooLarge => "headers-too-large",
            Kind::InvalidMessage => "invalid-message",
            Kind::InvalidDirectory => "invalid-directory",
            Kind::InvalidEndpoint => "invalid-endpoint",
            Kind::Internal => "internal-error",
            Kind::Unavailable => "not-ready",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Malformed => "The request is malformed",
            Kind::Unauthorized => "A valid API key is required",
            Kind::Forbidden => "This key may not do that",
            Kind::NotFound => "Not found",
            Kind::MethodNotAllowed => "This path does not take this method",
            Kind::Conflict => "Another message has this id",
            Kind::Referenced => "Other records name this one",
            Kind::StillQueued => "The delivery is still queued",
            Kind::TooLarge => "The request is too large",
            Kind::UriTooLong => "The URI is too long",
            Kind::HeadersTooLarge => "The headers are too large",
            Kind::InvalidMessage => "The message was refused",
            Kind::InvalidDirectory => "The directory was refused",
            Kind::InvalidEndpoint => "The endpoint was refused",
            Kind::Internal => "The server failed",
            Kind::Unavailable => "The server is not ready",
        }
    }
}

/// An RFC 9457 problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI reference naming the kind of error, e.g. `/problems/invalid-message`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What exactly is wrong, naming the field or record.
    pub detail: String,
}

impl Problem {
    /// A problem of `kind` with its `detail`.
    pub fn new(kind: Kind, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("/problems/{}", kind.name()),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: detail.into(),
        }
    }

    /// The answer when the store does not answer; the cause is logged, not shown.
    pub fn unavailable(cause: impl std::fmt::Display) -> Problem {
        Problem::not_ready("the store", cause)
    }

    /// A 503 when `what` (the store, NATS) does not answer, logging `cause`, which stays in
    /// the log: it may name a host or a user.
    pub fn not_ready(what: &str, cause: impl std::fmt::Display) -> Problem {
        tracing::warn!("{what} does not answer: {cause}");
        Problem::new(
            Kind::Unavailable,
            format!("{what} does not answer; try again later, or another server"),
        )
    }

    /// A problem of a status the table has no type for (RFC 9457's `about:blank`), titled
    /// by the status itself.
    pub fn plain(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// The answer for something the principal may not know exists.
    pub fn not_found(what: impl std::fmt::Display) -> Problem {
        Problem::new(Kind::NotFound, format!("there is no {what}"))
    }

    /// The answer when the server itself failed; the cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Problem {
        tracing::error!("{cause}");
        Problem::new(
            Kind::Internal,
            "the server could not complete the request; try again",
        )
    }
}

/// The problem for a request an extractor refused with `status` and `text`: too large, or
/// malformed.
fn refused(status: StatusCode, text: String) -> Problem {
    let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
        Kind::TooLarge
    } else {
        Kind::Malformed
    };
    Problem::new(kind, text)
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        refused(rejection.status(), rejection.body_text())
    }
}

impl From<BytesRejection> for Problem {
    fn from(rejection: BytesRejection) -> Problem {
        refused(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        refused(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
        refused(rejection.status(), rejection.body_text())
    }
}

impl From<herald_store::StoreError> for Problem {
    fn from(e: herald_store::StoreError) -> Problem {
        match e {
            // Its key was valid a moment ago; it is revoked now, as the organisation went.
            herald_store::StoreError::OwnerGone => {
                Problem::new(Kind::Unauthorized, "the API key is unknown or revoked")
            }
            e => Problem::internal(e),
        }
    }
}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Problem {
        let kind = match &refusal {
            Refusal::Malformed(_) => Kind::Malformed,
            Refusal::Forbidden(_) => Kind::Forbidden,
            Refusal::NotFound(_) => Kind::NotFound,
            Refusal::InvalidMessage(_) => Kind::InvalidMessage,
            Refusal::InvalidDirectory(_) => Kind::InvalidDirectory,
            Refusal::Referenced(_) => Kind::Referenced,
            Refusal::StillQueued(_) => Kind::StillQueued,
        };
        Problem::new(kind, refusal.detail())
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Problem {
        match e {
            ServiceError::Refused(refusal) => refusal.into(),
            ServiceError::Store(e) => e.into(),
            e @ ServiceError::Failed(_) => Problem::internal(e),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).expect("a problem serialises");
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}
