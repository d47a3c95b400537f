//! The audit log as a vendor reads it: who changed what in its cloud, and when, newest
//! first, with the changes that concern every cloud (the shared product catalog, an
//! operator's whole-world import).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use herald_service::Caller;

use super::messages::ListQuery;
use super::views::AuditList;
use crate::problem::Problem;
use crate::state::AppState;

/// A page of the audit log of the caller's cloud, newest first: every directory import
/// and record change, publish, key made or revoked, endpoint change and delivery replay,
/// each with its time, the key that made it (or the operator at the command line) and
/// what changed.
#[utoipa::path(
    get,
    path = "/v1/audit",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of entries, newest first, and `next` for the following page (null on the last).", body = AuditList),
        (status = 400, description = "A bad `limit` or `before`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vendor key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<AuditList>, Problem> {
    let cloud = caller.vendor_cloud("read the audit log")?;
    let (before, limit) = query?.0.page()?;
    let page = state.store().audit(Some(cloud), before, limit).await?;
    Ok(Json(AuditList {
        entries: page.entries,
        next: page.next.map(|n| n.to_string()),
    }))
}
