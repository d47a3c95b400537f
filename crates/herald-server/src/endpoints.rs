//! Webhook endpoints as the API and the console both change them: one registered once its
//! URL, description and categories are checked, its signing secret rotated, a signed test
//! event sent to it. Each key reaches only its own endpoints; any other is not found. A URL
//! is refused when it is not http or https, or when its host resolves to a loopback,
//! private, link-local or metadata address, unless the server allows private addresses
//! (`webhooks.allow_private`); the sender refuses the same again at every connection.

use herald_delivery::events::rfc3339;
use herald_delivery::{check_url, Secret};
use herald_service::Caller;
use herald_store::{Attempt, AttemptOutcome, Endpoint, Mode, NewEndpoint, StoreError};
use serde_json::json;

use crate::clock::now;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// The longest a rotated secret may go on signing beside its successor: 7 days.
pub const MAX_OVERLAP_SECONDS: u64 = 7 * 24 * 60 * 60;
/// The longest description or reason for disabling kept, in characters.
pub const MAX_DESCRIPTION: usize = 1000;

/// An endpoint to register, as asked.
pub struct Registration {
    pub url: String,
    pub description: Option<String>,
    pub categories: Option<Vec<String>>,
    pub mode: Option<Mode>,
}

/// The answer for an endpoint the caller does not own.
pub fn missing(id: &str) -> Problem {
    Problem::not_found(format!("endpoint \"{id}\""))
}

/// A refused endpoint, naming `field`.
pub fn refused(field: &str, detail: impl std::fmt::Display) -> Problem {
    Problem::new(Kind::InvalidEndpoint, format!("`{field}`: {detail}"))
}

/// A new signing secret.
fn new_secret() -> Result<Secret, Problem> {
    Secret::generate().map_err(Problem::internal)
}

/// Registers an endpoint for `caller`: the endpoint and its signing secret, which is shown
/// this once.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    registration: Registration,
) -> Result<(Endpoint, Secret), Problem> {
    let description = registration.description.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(refused(
            "description",
            format!("a description holds at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if let Err(refused_text) = herald_domain::limits::check_characters(&description) {
        return Err(refused(
            "description",
            format!("{refused_text}; a description is plain text a person reads"),
        ));
    }
    let categories = match registration.categories {
        None => None,
        Some(mut categories) => {
            if categories.is_empty() {
                return Err(refused(
                    "categories",
                    "the list is empty, so nothing would be sent; leave it out to receive every category",
                ));
            }
            let policy = state.policy();
            if let Some(unknown) = categories
                .iter()
                .find(|c| policy.category_named(c).is_none())
            {
                return Err(refused(
                    "categories",
                    format!(
                        "\"{unknown}\" is not one of the policy's categories: {}",
                        policy.category_names()
                    ),
                ));
            }
            categories.sort();
            categories.dedup();
            Some(categories)
        }
    };
    let url = check_url(&registration.url, state.webhooks().guard())
        .await
        .map_err(|e| refused("url", e))?;
    let secret = new_secret()?;
    let new = NewEndpoint {
        url: url.into(),
        description,
        categories,
        mode: registration.mode,
    };
    let endpoint = state
        .store()
        .create_endpoint(&caller.0, new, &secret.to_string(), now(), &caller.actor())
        .await
        .map_err(|e| match e {
            StoreError::PerCustomerForPartnersOnly => {
                Problem::new(Kind::InvalidEndpoint, e.to_string())
            }
            e => Problem::from(e),
        })?;
    Ok((endpoint, secret))
}

/// Gives endpoint `id` of `caller` a new signing secret; the current one goes on signing
/// beside it for `overlap_ms`.
pub async fn rotate(
    state: &AppState,
    caller: &Caller,
    id: &str,
    overlap_ms: i64,
) -> Result<(Endpoint, Secret), Problem> {
    let secret = new_secret()?;
    let endpoint = state
        .store()
        .rotate_endpoint_secret(
            &caller.0,
            id,
            &secret.to_string(),
            now(),
            overlap_ms,
            &caller.actor(),
        )
        .await?
        .ok_or_else(|| missing(id))?;
    Ok((endpoint, secret))
}

/// Sends endpoint `id` of `caller` a signed `test` event now, enabled or not: the event's
/// `webhook-id` and how the attempt went. A receiver answering 410 Gone disables the
/// endpoint, as for any event.
pub async fn send_test(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(String, Attempt), Problem> {
    let endpoint = state
        .store()
        .endpoint(&caller.0, id)
        .await?
        .ok_or_else(|| missing(id))?;
    let at = now();
    let secrets = state
        .store()
        .signing_secrets(id, at)
        .await?
        .iter()
        .map(|s| Secret::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Problem::internal(format!("endpoint \"{id}\" holds a damaged secret: {e}")))?;
    let webhook_id = format!("test_{id}_{at}");
    let body = json!({
        "type": "test",
        "timestamp": rfc3339(at),
        "data": {
            "endpoint": id,
            "sent_at": at,
            "text": "A test event from Herald: this endpoint receives signed events.",
        },
    });
    let body = serde_json::to_vec(&body).expect("JSON serialises");
    let attempt = state
        .webhooks()
        .send(&endpoint.url, &secrets, &webhook_id, at / 1000, &body)
        .await;
    if attempt.outcome == AttemptOutcome::Gone {
        state.store().endpoint_gone(id, attempt.at).await?;
    }
    state.metrics().webhook_attempt(attempt.outcome);
    Ok((webhook_id, attempt))
}
