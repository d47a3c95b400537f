//! Live pages: `/live` streams server-sent events to a page that asks for them, one
//! `change` event whenever what the visitor may see has moved on (a new message or update
//! in its inbox, one read elsewhere, a new message of the vendor's cloud). The page then
//! fetches itself again (`assets/live.js`).
//!
//! The stream reads the store, not this process's memory, so a page served by one server
//! hears of a message published through another; it looks once a second. It ends when the
//! session does (signed out, expired, its key revoked), after [`LONGEST`] (the browser
//! connects again by itself), and when the server stops, so a page left open never holds
//! up a shutdown.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use herald_service::Caller;
use herald_store::{Filter, Principal};

use super::page::Oops;
use super::session::Visitor;
use crate::state::AppState;

/// How often the stream looks at the store.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// The longest one stream lasts; the browser's `EventSource` opens another.
const LONGEST: Duration = Duration::from_secs(300);

/// Where what the visitor sees stands: the newest message it may see and how many are
/// unread. Any change of it is news.
async fn mark(state: &AppState, caller: &Caller) -> Result<(Option<String>, i64), Oops> {
    Ok(match caller.0 {
        Principal::Vendor { .. } => {
            let page = state
                .service()
                .message_page(caller, Filter::default(), None, 1)
                .await?;
            (page.messages.first().map(|m| m.id.clone()), 0)
        }
        _ => {
            let page = state.service().inbox(caller, None, 1).await?;
            (
                page.items.first().map(|i| i.message.id.clone()),
                page.unread,
            )
        }
    })
}

/// `GET /live`: a `change` event each time what the visitor sees moves on.
pub async fn events(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Oops> {
    let first = mark(&state, &visitor.caller).await?;
    let (caller, token) = (visitor.caller, visitor.token);
    let ends = tokio::time::Instant::now() + LONGEST;
    let stopping = state.stopping();
    let stream = futures_util::stream::unfold(first, move |last| {
        let (state, caller, token) = (state.clone(), caller.clone(), token.clone());
        let mut stopping = stopping.clone();
        async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(LOOK_EVERY) => {}
                    _ = stopping.wait_for(|stopping| *stopping) => return None,
                }
                if tokio::time::Instant::now() >= ends {
                    return None;
                }
                // A store that does not answer for a moment is looked at again; the page
                // stays as it is meanwhile.
                match state.store().session(&token, crate::clock::now()).await {
                    Ok(None) => return None,
                    Ok(Some(_)) => {}
                    Err(_) => continue,
                }
                let Ok(now) = mark(&state, &caller).await else {
                    continue;
                };
                // An event with no data is not dispatched by browsers: it says "changed".
                if now != last {
                    return Some((Ok(Event::default().event("change").data("changed")), now));
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
