//! Deliveries as each principal may see them: the vendor every delivery of its cloud, a
//! partner or customer only those sent to it. Each can read every attempt at one, and
//! replay one that died (or arrived and is wanted again).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use herald_service::Caller;
use herald_store::DeliveryDetail;
use serde::Deserialize;
use utoipa::IntoParams;

use super::messages::ListQuery;
use super::views::DeliveryList;
use crate::clock::now;
use crate::problem::Problem;
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
    let page = state
        .service()
        .deliveries(
            &caller,
            query.message.as_deref(),
            query.status.as_deref(),
            before,
            limit,
        )
        .await?;
    Ok(Json(DeliveryList {
        deliveries: page.deliveries,
        next: page.next.map(|id| id.to_string()),
    }))
}

/// The delivery id a path names; one that is not a delivery id names no delivery.
fn delivery_id(text: &str) -> Result<i64, Problem> {
    text.parse()
        .map_err(|_| Problem::not_found(format!("delivery {text:?}")))
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
    Ok(Json(
        state.service().delivery(&caller, delivery_id(&id)?).await?,
    ))
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
    let replayed = state
        .service()
        .replay(&caller, delivery_id(&id)?, now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(replayed)))
}
