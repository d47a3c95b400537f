//! Incident threads: the timeline of one thread as each principal may see it, and a
//! partner's open incidents across all of its customers.

use axum::extract::{Path, State};
use axum::Json;
use herald_service::{Caller, Notices};

use super::views::ThreadView;
use crate::problem::Problem;
use crate::state::AppState;

/// A thread's updates, oldest first, each as the caller may see it: the vendor every update
/// with its audience; a partner or customer the updates it was sent, as its own copies.
#[utoipa::path(
    get,
    path = "/v1/threads/{id}",
    params(("id" = String, Path, description = "The thread id, as its messages name it.")),
    responses(
        (status = 200, description = "`thread` (id, category, status, when opened and last updated, as far as the caller was told) and `updates`, oldest first, each as `GET /v1/messages/{id}` shows it to the caller.", body = ThreadView),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No thread the caller was told of.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ThreadView>, Problem> {
    let timeline = state.service().timeline(&caller, &id).await?;
    Ok(Json(ThreadView {
        thread: timeline.thread,
        updates: timeline.updates,
    }))
}

/// Every open incident (a thread not yet resolved) that reached any of the partner's
/// customers, grouped by customer: what a partner would otherwise gather by hand across
/// its tenants.
#[utoipa::path(
    get,
    path = "/v1/partner/notices",
    responses(
        (status = 200, description = "`customers`, each with its open `incidents` (thread, status, the latest update's id and content, and the partner's subscriptions of that customer it names), and `open_incidents`, how many threads in all.", body = Notices),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a partner key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_partner_notices(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Notices>, Problem> {
    Ok(Json(state.service().partner_notices(&caller).await?))
}
