//! A partner's or customer's inbox: its copies, newest first, with what is unread.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use herald_service::Caller;
use herald_store::Brief;

use super::messages::ListQuery;
use super::views::{InboxEntry, InboxPage, ReadMark};
use crate::clock::now;
use crate::problem::Problem;
use crate::state::AppState;

/// The caller's inbox: the copies it was sent, newest first, each with when it was read,
/// and how many are unread.
#[utoipa::path(
    get,
    path = "/v1/inbox",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of the inbox, newest first: `messages` (each with `read_at`, null when unread), `unread` over the whole inbox, and `next` for the following page (null on the last).", body = InboxPage),
        (status = 400, description = "A bad `limit` or `before`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A vendor key: the vendor has no inbox.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_inbox(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<InboxPage>, Problem> {
    let Query(query) = query?;
    let (before, limit) = query.page()?;
    let page = state.service().inbox(&caller, before, limit).await?;
    let messages = page
        .items
        .iter()
        .map(|item| InboxEntry {
            message: Brief::from(&item.message),
            read_at: item.read_at,
        })
        .collect();
    Ok(Json(InboxPage {
        messages,
        unread: page.unread,
        next: page.next.map(|n| n.to_string()),
    }))
}

/// Marks a message of the caller's inbox read (the first time counts).
#[utoipa::path(
    post,
    path = "/v1/inbox/{id}/read",
    params(("id" = String, Path, description = "The message id.")),
    responses(
        (status = 200, description = "Read: the message id and when it was first marked read.", body = ReadMark),
        (status = 401, description = "No valid key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A vendor key: the vendor has no inbox.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message in the caller's inbox.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReadMark>, Problem> {
    let read_at = state.service().mark_read(&caller, &id, now()).await?;
    Ok(Json(ReadMark { id, read_at }))
}
