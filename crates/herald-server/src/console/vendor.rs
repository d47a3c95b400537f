//! The vendor's pages: its cloud's messages with filters; one message with its audience,
//! a sample of its decisions with "why" for any customer, its deliveries by channel and
//! its dead letters to replay; an incident's timeline with an update or its resolution
//! posted from the page; the dead letters of the whole cloud.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use herald_domain::wire;
use herald_service::{Outcome, Timeline};
use herald_store::{ChannelCounts, DeliveryView, Filter, MessageView};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::page::{self, Oops};
use super::session::{check_form, Visitor};
use crate::state::AppState;

/// How many messages the list shows at a time.
const LIST_PAGE: usize = 50;
/// How many decisions a message's page shows.
const DECISIONS_SHOWN: usize = 50;
/// How many dead letters a page shows.
const DEAD_SHOWN: usize = 50;

/// The message list's filters and where its page starts.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    category: Option<String>,
    thread: Option<String>,
    before: Option<i64>,
}

/// An empty form field as none.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The vendor's home: its cloud's messages, newest first, filtered by category and thread.
pub async fn messages(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<ListQuery>,
) -> Result<Response, Oops> {
    let filter = Filter {
        category: given(&query.category),
        thread: given(&query.thread),
    };
    let page = state
        .service()
        .message_page(&visitor.caller, filter, query.before, LIST_PAGE)
        .await?;
    let categories = state.policy().categories();
    let next = page.next.map(|before| {
        let mut link = format!("/?before={before}");
        if let Some(c) = filter.category {
            link.push_str(&format!("&category={}", page::encode(c)));
        }
        if let Some(t) = filter.thread {
            link.push_str(&format!("&thread={}", page::encode(t)));
        }
        link
    });
    let body = html! {
        h1 { "Messages" }
        form.filters method="get" action="/" role="search" {
            label for="category" { "Category" }
            select #category name="category" {
                option value="" { "Any" }
                @for c in categories {
                    option value=(c.name) selected[filter.category == Some(c.name.as_str())] {
                        (page::category(&c.name))
                    }
                }
            }
            label for="thread" { "Thread" }
            input #thread name="thread" value=[filter.thread] placeholder="incident thread id";
            button type="submit" { "Filter" }
            a.button.secondary href="/compose" { "Compose a message" }
        }
        @if page.messages.is_empty() {
            p.empty { "No message yet." }
        } @else {
            div.scroll {
                table.cards {
                    thead { tr {
                        th { "Message" } th { "Category" } th { "Accepted" } th { "Status" }
                        th.num { "In scope" } th.num { "Told directly" } th.num { "Partners" }
                        th.num { "Deliveries" }
                    } }
                    tbody {
                        @for m in &page.messages {
                            tr {
                                td data-label="Message" { a href=(page::link("messages", &m.id)) { code { (m.id) } } }
                                td data-label="Category" { (page::category(&m.category)) }
                                td data-label="Accepted" { (page::time(m.accepted_at)) }
                                td data-label="Status" {
                                    @if let Some(thread) = &m.thread {
                                        a href=(page::link("threads", thread)) { (page::status(m.status.as_deref())) }
                                    }
                                }
                                td.num data-label="In scope" { (m.customers_in_scope) }
                                td.num data-label="Told directly" { (m.customers_direct) }
                                td.num data-label="Partners" { (m.partners_told) }
                                td.num data-label="Deliveries" { (m.deliveries) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            p { a href=(next) { "Older messages" } }
        }
    };
    Ok(page::page(&visitor, "Messages", true, body).into_response())
}

/// Deliveries by channel as bars: arrived, waiting, retrying and dead.
fn delivery_chart(counts: &[ChannelCounts]) -> Markup {
    let parts = |c: &ChannelCounts| {
        [
            ("delivered", "arrived", c.delivered),
            ("waiting", "waiting", c.waiting),
            ("retrying", "retrying", c.retrying),
            ("dead", "dead", c.dead),
        ]
    };
    html! {
        @if counts.is_empty() {
            p.empty { "No delivery: nobody who hears has a contact or an endpoint for it." }
        }
        @for c in counts {
            figure.chart {
                figcaption { strong { (c.channel) } " · " (c.total) " in all" }
                div.bar role="img" aria-label=(format!("{}: {} arrived, {} waiting, {} retrying, {} dead", c.channel, c.delivered, c.waiting, c.retrying, c.dead)) {
                    @for (class, _, n) in parts(c) {
                        @if n > 0 {
                            span class=(class) style=(format!("flex-grow: {n}")) {}
                        }
                    }
                }
                ul.legend {
                    @for (class, label, n) in parts(c) {
                        li { span class=(format!("swatch {class}")) {} (label) " " strong { (n) } }
                    }
                }
            }
        }
    }
}

/// Dead letters, each with a button that replays it.
fn dead_list(visitor: &Visitor, dead: &[DeliveryView]) -> Markup {
    html! {
        @if dead.is_empty() {
            p.empty { "No dead letter." }
        } @else {
            div.scroll {
                table.dead-letters {
                    thead { tr {
                        th { "Delivery" } th { "Message" } th { "To" } th { "Channel" }
                        th { "Attempts" } th { "Last error" } th { span.visually-hidden { "Replay" } }
                    } }
                    tbody {
                        @for d in dead {
                            tr {
                                td { (d.id) }
                                td { a href=(page::link("messages", &d.message)) { code { (d.message) } } }
                                td { (d.recipient) " " code { (d.org.as_deref().unwrap_or("")) } " · " (d.address.as_deref().unwrap_or(&d.to)) }
                                td { (d.channel) }
                                td.num { (d.attempts) }
                                td { (d.last_error.as_deref().unwrap_or("")) }
                                td {
                                    form method="post" action=(format!("/deliveries/{}/replay", d.id)) {
                                        input type="hidden" name="csrf" value=(visitor.csrf);
                                        button type="submit" aria-label=(format!("Replay delivery {}", d.id)) { "Replay" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The vendor's page of message `id`.
pub async fn message(
    State(state): State<AppState>,
    visitor: Visitor,
    id: String,
) -> Result<Response, Oops> {
    let service = state.service();
    let MessageView::Vendor(view) = service.message_view(&visitor.caller, &id).await? else {
        return Err(Oops::not_found(format!("message \"{id}\"")));
    };
    let m = &view.summary;
    let decisions = state
        .store()
        .decision_page(&m.cloud, &id, None, DECISIONS_SHOWN)
        .await?
        .ok_or_else(|| Oops::not_found(format!("message \"{id}\"")))?;
    let counts = service.delivery_counts(&visitor.caller, &id).await?;
    let dead = service
        .deliveries(&visitor.caller, Some(&id), Some("dead"), None, DEAD_SHOWN)
        .await?
        .deliveries;
    let request = &view.request;
    let locales = text_locales(request);
    let body = html! {
        article.card.message {
            p.meta {
                (page::category(&m.category)) " · accepted " (page::time(m.accepted_at))
                " · policy " (m.policy_version) " " (page::status(m.status.as_deref()))
            }
            @for (locale, title, body) in &locales {
                section lang=[locale.as_deref()] {
                    @if let Some(l) = locale { p.locale { (l) } }
                    h1 { (title) }
                    (page::paragraphs(body))
                }
            }
            dl.scope {
                @for field in ["subscriptions", "products", "services", "regions", "customers"] {
                    @if let Some(list) = request.get(field).and_then(Value::as_array) {
                        dt { (field) }
                        dd { (page::ids(&list.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>())) }
                    }
                }
                @if let Some(thread) = &m.thread {
                    dt { "thread" } dd { a href=(page::link("threads", thread)) { code { (thread) } } }
                }
            }
        }
        section.card {
            h2 { "Audience" }
            ul.figures {
                li { strong { (m.customers_in_scope) } " customers in scope" }
                li { strong { (m.customers_direct) } " told directly" }
                li { strong { (m.partners_told) } " partners told" }
                li { strong { (m.deliveries) } " deliveries" }
            }
        }
        section.card {
            h2 { "Deliveries by channel" }
            (delivery_chart(&counts))
            h3 { "Dead letters" }
            (dead_list(&visitor, &dead))
        }
        section.card {
            h2 { "Decisions" }
            p.lead { "The first " (decisions.decisions.len()) " of " (m.customers_in_scope) ", in customer order." }
            form.inline method="get" action=(format!("{}/explain", page::link("messages", &id))) {
                label for="why" { "Why or why not, for any customer" }
                input #why name="customer" required placeholder="customer id";
                button type="submit" { "Explain" }
            }
            div.scroll {
                table {
                    thead { tr { th { "Customer" } th { "Told directly" } th { "Partners told" } th { "Subscriptions" } th { span.visually-hidden { "Explain" } } } }
                    tbody {
                        @for d in &decisions.decisions {
                            tr {
                                td { code { (d.customer) } }
                                td { @if d.direct { "yes" } @else { "no" } }
                                td { (page::ids(&d.partners)) }
                                td { (page::ids(&d.subscriptions)) }
                                td { a href=(format!("{}/explain?customer={}", page::link("messages", &id), page::encode(&d.customer))) { "why?" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page::page(&visitor, &id, false, body).into_response())
}

/// A message's title and body in each of its locales (one, unnamed, for plain text).
fn text_locales(request: &Value) -> Vec<(Option<String>, String, String)> {
    let (title, body) = (&request["title"], &request["body"]);
    match (title, body) {
        (Value::Object(titles), _) => titles
            .keys()
            .map(|l| {
                (
                    Some(l.clone()),
                    page::localized(title, &[l]),
                    page::localized(body, &[l]),
                )
            })
            .collect(),
        _ => vec![(
            request["locale"].as_str().map(str::to_owned),
            page::localized(title, &[]),
            page::localized(body, &[]),
        )],
    }
}

/// Whom to explain.
#[derive(Deserialize)]
pub struct ExplainQuery {
    customer: Option<String>,
    partner: Option<String>,
}

/// `/messages/{id}/explain?customer=…`: why a customer (or partner) did or did not hear,
/// as `herald explain` and the API say it.
pub async fn explain(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(query): Query<ExplainQuery>,
) -> Result<Response, Oops> {
    let customer = query.customer.as_deref().map(str::trim);
    let explained = state
        .service()
        .explain(&visitor.caller, &id, customer, query.partner.as_deref())
        .await?;
    let e = &explained.explanation;
    let body = html! {
        article.card {
            p.meta { a href=(page::link("messages", &id)) { "← message " code { (id) } } }
            h1 { (e.about) " " code { (e.id) } @if e.heard { " heard" } @else { " did not hear" } }
            ol.lines { @for line in &e.lines { li { (line) } } }
            p.meta { "Rules: " (page::ids(&e.rules)) }
            @if explained.changed_since {
                p.warning { "The directory has changed since this message was published: today it would be decided otherwise." }
            }
        }
    };
    Ok(page::page(&visitor, "Explanation", false, body).into_response())
}

/// An incident's timeline, as the visitor was told it; the vendor also gets the form that
/// posts an update or resolves it.
pub fn timeline_page(visitor: &Visitor, timeline: &Timeline) -> Markup {
    let t = &timeline.thread;
    let open = t.status != "resolved";
    let body = html! {
        h1 { "Incident " code { (t.id) } " " (page::status(Some(&t.status))) }
        p.lead {
            (page::category(&t.category)) " · opened " (page::time(t.opened_at))
            " · updated " (page::time(t.updated_at)) " · " (t.updates) " update"
            @if t.updates != 1 { "s" }
        }
        ol.timeline {
            @for update in &timeline.updates {
                @let (brief, title, body) = match update {
                    MessageView::Vendor(v) => (herald_store::Brief::from(&v.summary), page::localized(&v.request["title"], &[]), page::localized(&v.request["body"], &[])),
                    MessageView::Partner(p) => (p.message.clone(), page::localized(&p.content.title, &[]), page::localized(&p.content.body, &[])),
                    MessageView::Customer(c) => (c.message.clone(), page::localized(&c.content.title, &[]), page::localized(&c.content.body, &[])),
                };
                li {
                    p.meta { (page::time(brief.accepted_at)) " " (page::status(brief.status.as_deref())) }
                    h2 { a href=(page::link("messages", &brief.id)) { (title) } }
                    (page::paragraphs(&body))
                }
            }
        }
        @if visitor.is_vendor() && open {
            section.card {
                h2 { "Post an update" }
                form.stack method="post" action=(format!("{}/update", page::link("threads", &t.id))) {
                    input type="hidden" name="csrf" value=(visitor.csrf);
                    input type="hidden" name="id" value=(page::fresh_id("update"));
                    label for="status" { "Status" }
                    select #status name="status" {
                        @for s in ["investigating", "identified", "monitoring", "resolved"] {
                            option value=(s) selected[s == t.status] { (s) }
                        }
                    }
                    label for="title" { "Title" }
                    input #title name="title" required;
                    label for="body" { "Body" }
                    textarea #body name="body" rows="4" required {}
                    button type="submit" { "Post the update" }
                }
                form method="post" action=(format!("{}/update", page::link("threads", &t.id))) {
                    input type="hidden" name="csrf" value=(visitor.csrf);
                    input type="hidden" name="id" value=(page::fresh_id("resolved"));
                    input type="hidden" name="status" value="resolved";
                    button.secondary type="submit" { "Resolve the incident" }
                }
            }
        }
    };
    // The vendor's page holds the update form, which a live reload would empty.
    page::page(
        visitor,
        &format!("Incident {}", t.id),
        !visitor.is_vendor(),
        body,
    )
}

/// An update of a thread as posted.
#[derive(Deserialize)]
pub struct Update {
    #[serde(default)]
    csrf: String,
    /// The update's id, made as the form was shown.
    #[serde(default)]
    id: String,
    status: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

/// `POST /threads/{id}/update`: the next update of thread `id`, under the id its form was
/// shown with (so the form sent twice is one update), with the scope of its latest and
/// the status, title and body given (a resolution says so in words of its own when none
/// are given). It reaches everyone the thread has reached.
pub async fn post_update(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Update>,
) -> Result<Response, Oops> {
    check_form(&headers, &visitor.csrf, &form.csrf)?;
    let service = state.service();
    let timeline = service.timeline(&visitor.caller, &id).await?;
    let Some(MessageView::Vendor(latest)) = timeline.updates.last() else {
        return Err(Oops::not_found(format!("thread \"{id}\"")));
    };
    let mut request = latest.request.clone();
    let object = request
        .as_object_mut()
        .ok_or_else(|| Oops::internal("a stored request is not an object"))?;
    let update_id = match form.id.trim() {
        "" => page::fresh_id("update"),
        given => given.to_owned(),
    };
    let (title, body) = match (form.title.trim(), form.body.trim()) {
        ("", "") if form.status == "resolved" => (
            "Resolved".to_owned(),
            "This incident is resolved.".to_owned(),
        ),
        (title, body) => (title.to_owned(), body.to_owned()),
    };
    object.insert("id".into(), Value::String(update_id));
    object.insert("status".into(), Value::String(form.status));
    object.insert("title".into(), Value::String(title));
    object.insert("body".into(), Value::String(body));
    object.remove("locale");
    let wire: wire::Message = serde_json::from_value(request)
        .map_err(|e| Oops::internal(format!("an update does not read as a message: {e}")))?;
    publish(&state, &visitor, wire).await?;
    Ok(Redirect::to(&page::link("threads", &id)).into_response())
}

/// Publishes `wire` for the visitor, refusing what the API would refuse, in its words.
pub async fn publish(
    state: &AppState,
    visitor: &Visitor,
    wire: wire::Message,
) -> Result<herald_store::MessageSummary, Oops> {
    match state
        .service()
        .publish_as(&visitor.caller, wire, crate::clock::now())
        .await?
    {
        Outcome::Accepted(summary) => {
            state.metrics().published(summary.customers_in_scope);
            Ok(summary)
        }
        Outcome::Repeated(summary) => Ok(summary),
        Outcome::Conflict(id) => Err(Oops::from(crate::problem::Problem::new(
            crate::problem::Kind::Conflict,
            Outcome::conflict_reason(&id),
        ))),
        Outcome::Invalid(reason) => Err(Oops::from(crate::problem::Problem::new(
            crate::problem::Kind::InvalidMessage,
            reason,
        ))),
    }
}

/// `/deliveries`: the cloud's dead letters, newest first, each to replay.
pub async fn dead_letters(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, Oops> {
    let dead = state
        .service()
        .deliveries(&visitor.caller, None, Some("dead"), None, DEAD_SHOWN)
        .await?
        .deliveries;
    let body = html! {
        h1 { "Dead letters" }
        p.lead { "Deliveries that failed every attempt of the retry schedule. Replay one once its recipient is back: a worker tries it at once." }
        (dead_list(&visitor, &dead))
    };
    Ok(page::page(&visitor, "Dead letters", true, body).into_response())
}

/// `POST /deliveries/{id}/replay`: a worker tries the delivery again at once.
pub async fn replay(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<super::session::Plain>,
) -> Result<Response, Oops> {
    check_form(&headers, &visitor.csrf, &form.csrf)?;
    let detail = state
        .service()
        .replay(&visitor.caller, id, crate::clock::now())
        .await?;
    Ok(Redirect::to(&page::link("messages", &detail.delivery.message)).into_response())
}
