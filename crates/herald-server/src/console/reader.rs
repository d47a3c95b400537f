//! What a partner and a customer read: a partner's open incidents grouped by customer and
//! its inbox; a customer's inbox and the incidents that affect it; one message, its own
//! copy, marked read as it is opened.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use herald_service::Caller;
use herald_store::{Content, InboxItem, MessageView};
use maud::{html, Markup};
use serde_json::Value;

use super::page::{self, Oops};
use super::session::Visitor;
use crate::state::AppState;

/// How many messages of an inbox a page shows.
const INBOX_PAGE: usize = 100;

/// A message of an inbox with its content.
struct Entry {
    item: InboxItem,
    content: Content,
}

/// The newest page of the visitor's inbox, each message with its content, and how many
/// of the whole inbox are unread.
async fn entries(state: &AppState, caller: &Caller) -> Result<(Vec<Entry>, i64), Oops> {
    let page = state.service().inbox(caller, None, INBOX_PAGE).await?;
    let ids: Vec<&str> = page.items.iter().map(|i| i.message.id.as_str()).collect();
    let requests: Vec<Value> = state.service().requests(caller.0.cloud(), &ids).await?;
    let entries = page
        .items
        .into_iter()
        .zip(&requests)
        .map(|(item, request)| Entry {
            content: Content::of(request),
            item,
        })
        .collect();
    Ok((entries, page.unread))
}

/// The inbox as a list, unread messages marked.
fn inbox_list(entries: &[Entry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.empty { "Nothing yet. New notices appear here as they are sent." }
        } @else {
            ul.inbox {
                @for e in entries {
                    @let m = &e.item.message;
                    @let unread = e.item.read_at.is_none();
                    li class=(if unread { "unread" } else { "read" }) {
                        @if unread { span.dot aria-label="unread" title="unread" {} }
                        a href=(page::link("messages", &m.id)) {
                            (page::localized(&e.content.title, &[]))
                        }
                        span.meta {
                            (page::category(&m.category)) " · " (page::time(m.accepted_at))
                            " " (page::status(m.status.as_deref()))
                        }
                    }
                }
            }
        }
    }
}

/// `/inbox`: a partner's or customer's inbox.
pub async fn inbox(State(state): State<AppState>, visitor: Visitor) -> Result<Response, Oops> {
    let (entries, unread) = entries(&state, &visitor.caller).await?;
    let body = html! {
        h1 { "Inbox" }
        p.lead { (unread) " unread" }
        (inbox_list(&entries))
    };
    Ok(page::page(&visitor, "Inbox", true, body).into_response())
}

/// A partner's home: every open incident of any of its customers, grouped by customer.
pub async fn notices(State(state): State<AppState>, visitor: Visitor) -> Result<Response, Oops> {
    let notices = state.service().partner_notices(&visitor.caller).await?;
    let page_ = state.service().inbox(&visitor.caller, None, 1).await?;
    let body = html! {
        h1 { "Open incidents of your customers" }
        p.lead {
            (notices.open_incidents) " open incident"
            @if notices.open_incidents != 1 { "s" }
            " · " a href="/inbox" { "Inbox (" (page_.unread) " unread)" }
        }
        @if notices.customers.is_empty() {
            p.empty { "None of your customers is affected by an open incident." }
        }
        @for customer in &notices.customers {
            section.card.customer {
                h2 { "Customer " code { (customer.customer) } }
                ul.incidents {
                    @for incident in &customer.incidents {
                        li {
                            a href=(page::link("threads", &incident.thread)) {
                                (page::localized(&incident.content.title, &[]))
                            }
                            " " (page::status(Some(&incident.status)))
                            span.meta {
                                (page::category(&incident.category)) " · updated "
                                (page::time(incident.updated_at))
                                " · subscriptions " (page::ids(&incident.subscriptions))
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page::page(&visitor, "Notices", true, body).into_response())
}

/// A customer's home: the incidents that affect it, open ones first, then its inbox.
pub async fn customer_home(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, Oops> {
    let (entries, unread) = entries(&state, &visitor.caller).await?;
    // The inbox is newest first, so a thread's first message here is its latest.
    let mut threads: Vec<&Entry> = Vec::new();
    for e in &entries {
        if let Some(thread) = &e.item.message.thread {
            if !threads
                .iter()
                .any(|t| t.item.message.thread.as_ref() == Some(thread))
            {
                threads.push(e);
            }
        }
    }
    let body = html! {
        h1 { "Your notices" }
        @for (heading, open) in [("Open incidents affecting you", true), ("Resolved incidents", false)] {
            @let shown: Vec<&&Entry> = threads
                .iter()
                .filter(|t| (t.item.message.status.as_deref() != Some("resolved")) == open)
                .collect();
            @if !shown.is_empty() {
                section.card {
                    h2 { (heading) }
                    ul.incidents {
                        @for t in shown {
                            @let m = &t.item.message;
                            li {
                                a href=(page::link("threads", m.thread.as_deref().unwrap_or_default())) {
                                    (page::localized(&t.content.title, &[]))
                                }
                                " " (page::status(m.status.as_deref()))
                                span.meta { "last update " (page::time(m.accepted_at)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Inbox" }
        p.lead { (unread) " unread" }
        (inbox_list(&entries))
    };
    Ok(page::page(&visitor, "Inbox", true, body).into_response())
}

/// A partner's or customer's own copy of message `id`, marked read.
pub async fn message(
    State(state): State<AppState>,
    visitor: Visitor,
    id: String,
) -> Result<Response, Oops> {
    let view = state.service().message_view(&visitor.caller, &id).await?;
    state
        .service()
        .mark_read(&visitor.caller, &id, crate::clock::now())
        .await?;
    let (brief, content, customers, subscriptions) = match &view {
        MessageView::Partner(p) => (&p.message, &p.content, Some(&p.customers), &p.subscriptions),
        MessageView::Customer(c) => (&c.message, &c.content, None, &c.subscriptions),
        MessageView::Vendor(_) => return Err(Oops::not_found(format!("message \"{id}\""))),
    };
    let body = html! {
        article.card.message {
            p.meta {
                (page::category(&brief.category)) " · " (page::time(brief.accepted_at))
                " " (page::status(brief.status.as_deref()))
            }
            h1 { (page::localized(&content.title, &[])) }
            (page::paragraphs(&page::localized(&content.body, &[])))
            dl {
                @if let Some(customers) = customers {
                    dt { "Your customers" } dd { (page::ids(customers)) }
                }
                dt { "Subscriptions" } dd { (page::ids(subscriptions)) }
                @if let Some(thread) = &brief.thread {
                    dt { "Incident" }
                    dd { a href=(page::link("threads", thread)) { "See every update" } }
                }
            }
        }
    };
    let title = page::localized(&content.title, &[]);
    Ok(page::page(&visitor, &title, false, body).into_response())
}
