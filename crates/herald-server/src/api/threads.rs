//! Incident threads: the timeline of one thread as each principal may see it, and a
//! partner's open incidents across all of its customers.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use herald_store::Principal;
use serde_json::{json, Value};

use super::messages::{content, request, sight_of, view, Sight};
use crate::auth::Caller;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// A thread's updates, oldest first, each as the caller may see it: the vendor every update
/// with its audience; a partner or customer the updates it was sent, as its own copies.
#[utoipa::path(
    get,
    path = "/v1/threads/{id}",
    params(("id" = String, Path, description = "The thread id, as its messages name it.")),
    responses(
        (status = 200, description = "`thread` (id, category, status, when opened and last updated, as far as the caller was told) and `updates`, oldest first, each as `GET /v1/messages/{id}` shows it to the caller.", body = Object),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No thread the caller was told of.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let missing = || Problem::not_found(format!("thread \"{id}\""));
    let cloud = caller.0.cloud();
    let (thread, messages) = state
        .store()
        .thread(cloud, &id)
        .await?
        .ok_or_else(missing)?;
    let mut seen = Vec::new();
    for message in messages {
        if let Some(sight) = sight_of(&state, &caller, message).await? {
            seen.push(sight);
        }
    }
    let summaries: Vec<_> = seen
        .iter()
        .map(|s| match s {
            Sight::Vendor(m) | Sight::Partner(m, _) | Sight::Customer(m, _) => m.clone(),
        })
        .collect();
    let (Some(first), Some(last)) = (summaries.first(), summaries.last()) else {
        return Err(missing());
    };
    // Those told of only some updates learn where the incident stood when last told.
    let told = match &caller.0 {
        Principal::Vendor { .. } => json!(thread),
        _ => json!({
            "id": thread.id,
            "cloud": thread.cloud,
            "category": thread.category,
            "status": last.status,
            "opened_at": first.accepted_at,
            "updated_at": last.accepted_at,
            "updates": summaries.len(),
        }),
    };
    let mut updates = Vec::with_capacity(seen.len());
    for sight in seen {
        updates.push(view(&state, cloud, sight).await?);
    }
    Ok(Json(json!({"thread": told, "updates": updates})))
}

/// Every open incident (a thread not yet resolved) that reached any of the partner's
/// customers, grouped by customer: what a partner would otherwise gather by hand across
/// its tenants.
#[utoipa::path(
    get,
    path = "/v1/partner/notices",
    responses(
        (status = 200, description = "`customers`, each with its open `incidents` (thread, status, the latest update's id and content, and the partner's subscriptions of that customer it names), and `open_incidents`, how many threads in all.", body = Object),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a partner key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_partner_notices(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    let Principal::Partner { cloud, partner } = &caller.0 else {
        return Err(Problem::new(
            Kind::Forbidden,
            "only a partner key has notices: the open incidents of its own customers",
        ));
    };
    let notices = state.store().partner_notices(cloud, partner).await?;
    let snapshot = state.snapshot();
    let directory = &snapshot.directory;
    let mut by_customer: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for notice in &notices {
        let latest: Value = request(&state, cloud, &notice.message).await?;
        for customer in &notice.customers {
            let subscriptions: Vec<&str> = notice
                .subscriptions
                .iter()
                .filter(|s| {
                    directory.subscription_ix(s).is_some_and(|ix| {
                        let held_by = directory.subscription(ix).customer;
                        directory.customer(held_by).id.as_str() == customer
                    })
                })
                .map(String::as_str)
                .collect();
            by_customer.entry(customer).or_default().push(json!({
                "thread": notice.thread.id,
                "category": notice.thread.category,
                "status": notice.thread.status,
                "opened_at": notice.thread.opened_at,
                "updated_at": notice.thread.updated_at,
                "message": notice.message,
                "content": content(&latest),
                "subscriptions": subscriptions,
            }));
        }
    }
    let customers: Vec<Value> = by_customer
        .into_iter()
        .map(|(customer, incidents)| json!({"customer": customer, "incidents": incidents}))
        .collect();
    Ok(Json(
        json!({"customers": customers, "open_incidents": notices.len()}),
    ))
}
