//! The vendor's views of its cloud's records: the directory with search (partners and
//! customers by id or name, a record with its contacts, a customer's subscriptions) and
//! the audit log, newest first.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use herald_domain::Directory;
use herald_store::{Actor, Principal};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::page::{self, Oops};
use super::session::Visitor;
use crate::state::AppState;

/// How many records of each kind a search shows.
const FOUND: usize = 50;
/// How many audit entries a page shows.
const AUDIT_PAGE: usize = 100;
/// The most characters of an audit entry's detail shown.
const DETAIL_SHOWN: usize = 240;

/// A search of the directory.
#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

/// Whether a record's id or name holds `words` (lowercase).
fn matches(id: &str, name: Option<&String>, words: &str) -> bool {
    words.is_empty()
        || id.to_lowercase().contains(words)
        || name.is_some_and(|n| n.to_lowercase().contains(words))
}

/// A record of the directory as a definition list: each field, lists joined, contacts as
/// a table.
fn record(value: &Value) -> Markup {
    let Value::Object(fields) = value else {
        return html! {};
    };
    html! {
        dl {
            @for (name, value) in fields {
                @if name != "contacts" {
                    dt { (name) }
                    dd { (plain(value)) }
                }
            }
        }
        @if let Some(Value::Array(contacts)) = fields.get("contacts") {
            h3 { "Contacts" }
            div.scroll {
                table.cards {
                    thead { tr { th { "Contact" } th { "Name" } th { "Email" } th { "Roles" } th { "Locale" } } }
                    tbody {
                        @for c in contacts {
                            tr {
                                td data-label="Contact" { code { (plain(&c["id"])) } }
                                td data-label="Name" { (plain(&c["name"])) }
                                td data-label="Email" { (plain(&c["email"])) }
                                td data-label="Roles" { (plain(&c["roles"])) }
                                td data-label="Locale" { (plain(&c["locale"])) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A JSON value as text: strings as they are, lists joined by commas.
fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `GET /directory?q=…`: the partners and customers of the vendor's cloud whose id or
/// name holds the words searched.
pub async fn search(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(search): Query<Search>,
) -> Result<Response, Oops> {
    let cloud = visitor.vendor_cloud("browse the directory")?;
    let snapshot = state.service().current_snapshot().await?;
    let directory = &snapshot.directory;
    let words = search.q.as_deref().unwrap_or("").trim().to_lowercase();
    let in_cloud = directory.cloud_ix(&cloud);
    let partners: Vec<_> = directory
        .partners()
        .iter()
        .filter(|p| Some(p.cloud) == in_cloud && matches(p.id.as_str(), p.name.as_ref(), &words))
        .take(FOUND)
        .collect();
    let customers: Vec<_> = directory
        .customers()
        .iter()
        .filter(|c| Some(c.cloud) == in_cloud && matches(c.id.as_str(), c.name.as_ref(), &words))
        .take(FOUND)
        .collect();
    let body = html! {
        h1 { "Directory of " (cloud) }
        form.filters method="get" action="/directory" role="search" {
            label for="q" { "Find a partner or customer by id or name" }
            input #q type="search" name="q" value=(words);
            button type="submit" { "Search" }
        }
        h2 { "Partners" }
        @if partners.is_empty() { p.empty { "No partner matches." } }
        ul.records {
            @for p in &partners {
                li {
                    a href=(page::link("directory/partners", p.id.as_str())) { code { (p.id) } }
                    " " (p.name.as_deref().unwrap_or("")) span.meta { " · " (format!("{:?}", p.kind).to_lowercase()) }
                }
            }
        }
        h2 { "Customers" }
        @if customers.is_empty() { p.empty { "No customer matches." } }
        ul.records {
            @for c in &customers {
                li {
                    a href=(page::link("directory/customers", c.id.as_str())) { code { (c.id) } }
                    " " (c.name.as_deref().unwrap_or(""))
                    span.meta { " · " (c.subscriptions.len()) " subscriptions" }
                }
            }
        }
        @if customers.len() == FOUND || partners.len() == FOUND {
            p.meta { "The first " (FOUND) " of each kind; search to narrow." }
        }
    };
    Ok(page::page(&visitor, "Directory", false, body).into_response())
}

/// A partner or customer of `cloud`, as a record, with a customer's subscriptions.
fn record_of(directory: &Directory, cloud: &str, kind: &str, id: &str) -> Option<Markup> {
    let cloud = directory.cloud_ix(cloud)?;
    match kind {
        "partners" => {
            let ix = directory.partner_ix(id)?;
            (directory.partner(ix).cloud == cloud).then(|| {
                let value = serde_json::to_value(directory.partner_record(ix)).unwrap_or_default();
                record(&value)
            })
        }
        "customers" => {
            let ix = directory.customer_ix(id)?;
            if directory.customer(ix).cloud != cloud {
                return None;
            }
            let value = serde_json::to_value(directory.customer_record(ix)).unwrap_or_default();
            let subscriptions: Vec<Value> = directory
                .customer_subscriptions(ix)
                .map(|s| serde_json::to_value(directory.subscription_record(s)).unwrap_or_default())
                .collect();
            Some(html! {
                (record(&value))
                h3 { "Subscriptions" }
                div.scroll {
                    table.cards {
                        thead { tr { th { "Subscription" } th { "Product" } th { "Partner" } th { "Reseller" } th { "Agreement" } th { "Status" } th { "Regions" } } }
                        tbody {
                            @for s in &subscriptions {
                                tr {
                                    td data-label="Subscription" { code { (plain(&s["id"])) } }
                                    td data-label="Product" { (plain(&s["product"])) }
                                    td data-label="Partner" {
                                        @if let Some(p) = s["partner"].as_str() {
                                            a href=(page::link("directory/partners", p)) { (p) }
                                        }
                                    }
                                    td data-label="Reseller" { (plain(&s["reseller"])) }
                                    td data-label="Agreement" { (plain(&s["agreement"])) }
                                    td data-label="Status" { (s["status"].as_str().unwrap_or("active")) }
                                    td data-label="Regions" { (plain(&s["regions"])) }
                                }
                            }
                        }
                    }
                }
            })
        }
        _ => None,
    }
}

/// `GET /directory/{kind}/{id}`: one partner or customer of the vendor's cloud.
pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, Oops> {
    let cloud = visitor.vendor_cloud("browse the directory")?;
    let snapshot = state.service().current_snapshot().await?;
    let shown = record_of(&snapshot.directory, &cloud, &kind, &id)
        .ok_or_else(|| Oops::not_found(format!("{} \"{id}\"", kind.trim_end_matches('s'))))?;
    let body = html! {
        p.meta { a href="/directory" { "← Directory" } }
        h1 { (kind.trim_end_matches('s')) " " code { (id) } }
        section.card { (shown) }
    };
    Ok(page::page(&visitor, &id, false, body).into_response())
}

/// Where a page of the audit log starts.
#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// Who made a change, in words.
fn actor(actor: &Actor) -> String {
    match actor {
        Actor::Key { id, principal } => match principal {
            Principal::Vendor { .. } => format!("key {id} (the vendor)"),
            Principal::Partner { partner, .. } => format!("key {id} (partner {partner})"),
            Principal::Customer { customer, .. } => format!("key {id} (customer {customer})"),
        },
        Actor::Operator => "the operator".to_owned(),
        Actor::Bus { subject, .. } => format!("the bus, {subject}"),
    }
}

/// `GET /audit`: the audit log of the vendor's cloud, newest first.
pub async fn audit(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<AuditQuery>,
) -> Result<Response, Oops> {
    let cloud = visitor.vendor_cloud("read the audit log")?;
    let page = state
        .store()
        .audit(Some(&cloud), query.before, AUDIT_PAGE)
        .await?;
    let body = html! {
        h1 { "Audit log" }
        p.lead { "Every change to " (cloud) " and to what the clouds share, newest first: who made it, and what changed." }
        div.scroll {
            table.cards {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Target" } th { "Detail" } } }
                tbody {
                    @for e in &page.entries {
                        @let detail = e.detail.to_string();
                        tr {
                            td data-label="When" { (page::time(e.at)) }
                            td data-label="Who" { (actor(&e.actor)) }
                            td data-label="What" { code { (e.action.as_str()) } }
                            td data-label="Target" { code { (e.target) } }
                            td data-label="Detail" {
                                code.detail { (detail.chars().take(DETAIL_SHOWN).collect::<String>()) @if detail.chars().count() > DETAIL_SHOWN { "…" } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(before) = page.next {
            p { a href=(format!("/audit?before={before}")) { "Older entries" } }
        }
    };
    Ok(page::page(&visitor, "Audit log", false, body).into_response())
}
