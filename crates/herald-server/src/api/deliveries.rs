//! Deliveries as each principal may see them: the vendor every delivery of its cloud, a
//! partner or customer only those sent to it. Each can read every attempt at one, and
//! replay one that died (or arrived and is wanted again).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use herald_service::Caller;
use herald_store::{DeliveryDetail, Principal, Replayed};
use serde::Deserialize;
use utoipa::IntoParams;

use super::messages::{now, ListQuery};
use super::views::DeliveryList;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// Which deliveries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Every delivery of this message that the caller may see.
    message: Option<String>,
    /// Without `message`: `retrying` or `dead` (both when absent). With it: also
    /// `pending` or `delivered`.
    status: Option<String>,
}

/// The deliveries the caller may see: a partner's or customer's own (recipient kind and
/// id), or every one for the vendor.
fn own(caller: &Caller) -> Option<(&'static str, &str)> {
    match &caller.0 {
        Principal::Vendor { .. } => None,
        Principal::Partner { partner, .. } => Some(("partner", partner)),
        Principal::Customer { customer, .. } => Some(("customer", customer)),
    }
}

/// Lists deliveries: a message's, or those retrying or dead, newest first.
#[utoipa::path(
    get,
    path = "/v1/deliveries",
    params(ListQuery, DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries, newest first, and `next` for the following page (null on the last). A partner or customer sees only deliveries sent to it.", body = DeliveryList),
        (status = 400, description = "A bad `limit`, `before` or `status`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    page: Result<Query<ListQuery>, QueryRejection>,
    query: Result<Query<DeliveryQuery>, QueryRejection>,
) -> Result<Json<DeliveryList>, Problem> {
    let (before, limit) = page?.0.page()?;
    let Query(query) = query?;
    let cloud = caller.0.cloud();
    let status = query.status.as_deref();
    let bad_status = |s: &str| {
        Problem::new(
            Kind::Malformed,
            format!(
                "parameter `status`: {s:?} is not a delivery state here; use {}",
                if query.message.is_some() {
                    "pending, delivered, retrying or dead"
                } else {
                    "retrying or dead (or name a `message` to list pending or delivered ones)"
                }
            ),
        )
    };
    let store = state.store();
    let mut deliveries = match &query.message {
        Some(message) => {
            if let Some(s) =
                status.filter(|s| !["pending", "delivered", "retrying", "dead"].contains(s))
            {
                return Err(bad_status(s));
            }
            // Read one more than the page, as a page of only the wanted states may need
            // to look further; the filter applies to what was read.
            store
                .message_deliveries(cloud, message, own(&caller), before, limit + 1)
                .await?
                .into_iter()
                .filter(|d| status.is_none_or(|s| d.status == s))
                .collect::<Vec<_>>()
        }
        None => {
            let states = match status {
                None => vec!["retrying", "dead"],
                Some(s @ ("retrying" | "dead")) => vec![s],
                Some(other) => return Err(bad_status(other)),
            };
            let mut found = Vec::new();
            for s in states {
                found.extend(
                    store
                        .troubled_deliveries(cloud, s, own(&caller), before, limit + 1)
                        .await?,
                );
            }
            found.sort_by_key(|d| std::cmp::Reverse(d.id));
            found
        }
    };
    let more = deliveries.len() > limit;
    deliveries.truncate(limit);
    let next = more
        .then(|| deliveries.last().map(|d| d.id.to_string()))
        .flatten();
    Ok(Json(DeliveryList { deliveries, next }))
}

/// The delivery id a path names; one that is not a delivery id names no delivery.
fn delivery_id(text: &str) -> Result<i64, Problem> {
    text.parse()
        .map_err(|_| Problem::not_found(format!("delivery {text:?}")))
}

/// Delivery `id` with every attempt, when the caller may see it.
async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<DeliveryDetail, Problem> {
    let detail = state.store().delivery(caller.0.cloud(), id).await?;
    detail
        .filter(|d| {
            own(caller).is_none_or(|(kind, org)| {
                d.delivery.recipient == kind && d.delivery.org.as_deref() == Some(org)
            })
        })
        .ok_or_else(|| Problem::not_found(format!("delivery {id}")))
}

/// A delivery with every attempt at it: when, how long, how it ended, the receiver's
/// answer and the error.
#[utoipa::path(
    get,
    path = "/v1/deliveries/{id}",
    params(("id" = i64, Path, description = "The delivery's id.")),
    responses(
        (status = 200, description = "The delivery, where it stands and every attempt.", body = DeliveryDetail),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery the caller may see.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, Problem> {
    Ok(Json(visible(&state, &caller, delivery_id(&id)?).await?))
}

/// Replays a delivery that died, or arrived and is wanted again: a worker tries it at
/// once, then on the retry schedule.
#[utoipa::path(
    post,
    path = "/v1/deliveries/{id}/retry",
    params(("id" = i64, Path, description = "The delivery's id.")),
    responses(
        (status = 202, description = "Queued: a worker tries it at once.", body = DeliveryDetail),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery the caller may see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is still pending or retrying: a worker will try it anyway.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryDetail>), Problem> {
    let id = delivery_id(&id)?;
    visible(&state, &caller, id).await?;
    match state
        .store()
        .replay(caller.0.cloud(), id, now(), &caller.actor())
        .await?
    {
        Replayed::Queued => Ok((
            StatusCode::ACCEPTED,
            Json(visible(&state, &caller, id).await?),
        )),
        Replayed::StillQueued(d) => Err(Problem::new(
            Kind::StillQueued,
            format!(
                "delivery {id} is still {}: a worker will try it, so there is nothing to replay",
                d.status
            ),
        )),
        Replayed::Unknown => Err(Problem::not_found(format!("delivery {id}"))),
    }
}
