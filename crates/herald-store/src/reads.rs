//! What each reader may see of a stored message: the vendor its whole cloud, a partner its
//! own copies, a customer its own.
//!
//! These queries answer for one organisation at a time, so they never load what another
//! organisation was told: a customer's decision is found in its one batch, a partner's copy
//! is its own row.

use std::collections::HashMap;

use crate::copies::{DecisionView, MessageSummary, PartnerCopyView, StoredCopy};
use crate::engine::{on_pool, Engine};
use crate::error::StoreError;
use crate::json::batch;
use crate::kinds::BatchStatus;
use crate::rows::DecisionEntry;
use crate::store::Store;

/// A page of messages, newest first, and where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub messages: Vec<MessageSummary>,
    /// The position to pass as `before` for the next page, when there may be one.
    pub next: Option<i64>,
}

/// Which messages to list of those an audience may see; `None` lets every one through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filter<'a> {
    /// Only messages of this category.
    pub category: Option<&'a str>,
    /// Only the updates of this incident thread.
    pub thread: Option<&'a str>,
}

/// [`Filter`] in SQL, over `m`, the messages, with the category bound fourth and the
/// thread fifth.
const FILTER: &str = "($4 IS NULL OR m.category = $4) AND ($5 IS NULL OR m.thread = $5)";
/// [`FILTER`] after a customer's five parameters.
const CUSTOMER_FILTER: &str = "($6 IS NULL OR m.category = $6) AND ($7 IS NULL OR m.thread = $7)";

/// Which messages of a cloud to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience<'a> {
    /// Every message of the cloud.
    Everyone,
    /// The messages this partner has a copy of.
    Partner(&'a str),
    /// The messages whose copy this customer heard directly.
    Customer(&'a str),
}

impl Store {
    /// The request of a stored message, as published (canonical form), with its position.
    pub async fn stored_request(
        &self,
        cloud: &str,
        id: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let row: Option<StoredRequest> = on_pool!(self.pool(), |exe| sqlx::query_as(
            "SELECT seq, request FROM messages WHERE cloud = $1 AND id = $2"
        )
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?;
        Ok(row.map(|r| (r.seq, r.request)))
    }

    /// The requests of those of messages `ids` of `cloud` that are stored, as published
    /// (canonical form), each under its id, in one query.
    pub async fn stored_requests(
        &self,
        cloud: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        let list = self.engine().json_strings("$2");
        let rows: Vec<IdRequest> = on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT id, request FROM messages WHERE cloud = $1 AND id IN (SELECT value FROM {list})"
        ))
        .bind(cloud)
        .bind(serde_json::to_string(ids).expect("ids serialise"))
        .fetch_all(exe)
        .await)?;
        Ok(rows.into_iter().map(|r| (r.id, r.request)).collect())
    }

    /// The decision for `customer` about message `id` of `cloud`, read from the one batch that holds
    /// it, or `None` when the message did not reach that customer (or does not exist).
    pub async fn customer_decision(
        &self,
        cloud: &str,
        id: &str,
        customer: &str,
    ) -> Result<Option<DecisionView>, StoreError> {
        let row: Option<DecisionBatchRow> = on_pool!(self.pool(), |exe| {
            sqlx::query_as(
            "SELECT b.body, m.scope_rule FROM messages m JOIN decision_batches b ON b.message = m.seq \
             WHERE m.cloud = $1 AND m.id = $2 AND b.first_customer <= $3 ORDER BY b.first_customer DESC LIMIT 1",
        )
        .bind(cloud)
        .bind(id)
        .bind(customer)
        .fetch_optional(exe)
        .await
        })?;
        let Some(row) = row else {
            return Ok(None);
        };
        let entries: Vec<DecisionEntry> = batch(&row.body)?;
        let Ok(i) = entries.binary_search_by(|e| e.customer.as_str().cmp(customer)) else {
            return Ok(None);
        };
        let entry = entries.into_iter().nth(i).expect("found by the search");
        Ok(Some(DecisionView::of(entry, &row.scope_rule)))
    }

    /// Partner `partner`'s copy of message `id` of `cloud`, or `None` when it was not told.
    pub async fn partner_copy(
        &self,
        cloud: &str,
        id: &str,
        partner: &str,
    ) -> Result<Option<PartnerCopyView>, StoreError> {
        on_pool!(self.pool(), |exe| sqlx::query_as::<_, StoredCopy>(
            "SELECT c.partner, c.customers, c.subscriptions FROM messages m \
             JOIN partner_copies c ON c.message = m.seq \
             WHERE m.cloud = $1 AND m.id = $2 AND c.partner = $3",
        )
        .bind(cloud)
        .bind(id)
        .bind(partner)
        .fetch_optional(exe)
        .await)?
        .map(StoredCopy::view)
        .transpose()
    }

    /// Up to `limit` messages of `cloud` that `audience` may see and `filter` lets through,
    /// newest first, from before position `before` (the `next` of the previous page) when
    /// given.
    pub async fn message_page(
        &self,
        cloud: &str,
        audience: Audience<'_>,
        filter: Filter<'_>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let columns = MessageSummary::COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let before = before.unwrap_or(i64::MAX);
        let fetch = (limit + 1) as i64;
        let rows: Vec<PagedMessage> = match audience {
            Audience::Everyone => on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
                "SELECT {columns}, m.seq FROM messages m WHERE m.cloud = $1 AND m.seq < $2 \
                     AND {FILTER} ORDER BY m.seq DESC LIMIT $3"
            ))
            .bind(cloud)
            .bind(before)
            .bind(fetch)
            .bind(filter.category)
            .bind(filter.thread)
            .fetch_all(exe)
            .await)?,
            Audience::Partner(partner) => on_pool!(self.pool(), |exe| {
                sqlx::query_as(&format!(
                    "SELECT {columns}, m.seq FROM messages m JOIN partner_copies c ON c.message = m.seq \
                     WHERE m.cloud = $1 AND c.partner = $6 AND m.seq < $2 AND {FILTER} \
                     ORDER BY m.seq DESC LIMIT $3"
                ))
                .bind(cloud)
                .bind(before)
                .bind(fetch)
                .bind(filter.category)
                .bind(filter.thread)
                .bind(partner)
                .fetch_all(exe)
                .await
            })?,
            Audience::Customer(customer) => on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
                "WITH heard(seq) AS ({heard}) SELECT {columns}, m.seq FROM heard h \
                     JOIN messages m ON m.seq = h.seq WHERE h.seq < $4 AND {CUSTOMER_FILTER} \
                     ORDER BY m.seq DESC LIMIT $5",
                heard = heard(self.engine(), 3)
            ))
            .bind(customer)
            .bind(cloud)
            .bind(direct_entry(customer))
            .bind(before)
            .bind(fetch)
            .bind(filter.category)
            .bind(filter.thread)
            .fetch_all(exe)
            .await)?,
        };
        let next = if rows.len() > limit {
            rows.get(limit - 1).map(|row| row.seq)
        } else {
            None
        };
        let messages = rows
            .into_iter()
            .take(limit)
            .map(|row| row.summary)
            .collect();
        Ok(Page { messages, next })
    }
}

/// A stored message's position and its request as published.
#[derive(sqlx::FromRow)]
struct StoredRequest {
    seq: i64,
    request: String,
}

/// A stored message's id and its request as published.
#[derive(sqlx::FromRow)]
struct IdRequest {
    id: String,
    request: String,
}

/// A message of a page, and its position.
#[derive(sqlx::FromRow)]
struct PagedMessage {
    #[sqlx(flatten)]
    summary: MessageSummary,
    seq: i64,
}

/// A batch of a message's decisions and the scope rule they were made under.
#[derive(sqlx::FromRow)]
struct DecisionBatchRow {
    body: String,
    scope_rule: String,
}

/// A message's position and the scope rule its decisions were made under.
#[derive(sqlx::FromRow)]
struct ScopeRow {
    seq: i64,
    scope_rule: String,
}

/// How many deliveries are in one status.
#[derive(sqlx::FromRow)]
struct StatusCount {
    status: BatchStatus,
    deliveries: i64,
}

/// Where one channel's deliveries of a message stand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelCounts {
    /// `email` or `webhook`.
    pub channel: String,
    pub total: i64,
    /// Not tried yet, or in a worker's hands.
    pub waiting: i64,
    /// Arrived, at the first attempt or a later one.
    pub delivered: i64,
    /// Failed, and to be tried again.
    pub retrying: i64,
    /// Failed every attempt of the schedule; a person may replay them.
    pub dead: i64,
}

/// The positions of the messages of cloud `$2` that customer `$1` heard directly: its own
/// `customer_copies` rows, and the broadcasts whose decision batch for it holds its entry
/// as heard directly (parameter `${needle}`, bound to [`direct_entry`]). The join in order
/// keeps SQLite walking the customer's rows, rather than every message of the cloud.
pub(crate) fn heard(engine: Engine, needle: usize) -> String {
    // Each engine finds its partial index of broadcasts only from its own spelling of true.
    let (broadcast, find) = match engine {
        Engine::Sqlite => ("m.broadcast = 1", "instr"),
        Engine::Postgres => ("m.broadcast", "strpos"),
    };
    let join = engine.join_in_order();
    format!(
        "SELECT c.message FROM customer_copies c {join} messages m ON m.seq = c.message \
         WHERE c.customer = $1 AND m.cloud = $2 \
         UNION ALL \
         SELECT m.seq FROM messages m WHERE m.cloud = $2 AND {broadcast} AND ( \
             SELECT {find}(b.body, ${needle}) FROM decision_batches b \
             WHERE b.message = m.seq AND b.first_customer <= $1 \
             ORDER BY b.first_customer DESC LIMIT 1) > 0"
    )
}

/// How a decision batch's body begins the entry of `customer` when it heard directly:
/// `["<customer>",true,`. Nowhere else can this text occur in a body: inside a JSON string
/// a quote is escaped, and every other array in an entry holds strings only.
pub(crate) fn direct_entry(customer: &str) -> String {
    format!(
        "[{},true,",
        serde_json::to_string(customer).expect("a string serialises")
    )
}

/// A page of one message's decisions, in customer order.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionPage {
    pub decisions: Vec<DecisionView>,
    /// The customer to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

impl Store {
    /// Up to `limit` decisions of message `id` of `cloud`, in customer order, after customer `after`
    /// when given; `None` when there is no such message.
    pub async fn decision_page(
        &self,
        cloud: &str,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<DecisionPage>, StoreError> {
        let Some(ScopeRow { seq, scope_rule }) = on_pool!(self.pool(), |exe| sqlx::query_as(
            "SELECT seq, scope_rule FROM messages WHERE cloud = $1 AND id = $2"
        )
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        let after = after.unwrap_or("");
        // The batch holding `after` (if any), then the ones after it.
        let start: Option<String> = on_pool!(self.pool(), |exe| {
            sqlx::query_scalar(
            "SELECT first_customer FROM decision_batches WHERE message = $1 AND first_customer <= $2 \
             ORDER BY first_customer DESC LIMIT 1",
        )
        .bind(seq)
        .bind(after)
        .fetch_optional(exe)
        .await
        })?;
        let bodies: Vec<String> = on_pool!(self.pool(), |exe| sqlx::query_scalar(
            "SELECT body FROM decision_batches WHERE message = $1 AND first_customer >= $2 \
             ORDER BY first_customer LIMIT $3",
        )
        .bind(seq)
        .bind(start.unwrap_or_default())
        .bind((limit / crate::rows::BATCH + 2) as i64)
        .fetch_all(exe)
        .await)?;
        let mut decisions = Vec::new();
        let mut more = false;
        'batches: for body in &bodies {
            for entry in batch::<DecisionEntry>(body)? {
                if entry.customer.as_str() <= after {
                    continue;
                }
                if decisions.len() == limit {
                    more = true;
                    break 'batches;
                }
                decisions.push(DecisionView::of(entry, &scope_rule));
            }
        }
        let next = more
            .then(|| decisions.last().map(|d| d.customer.clone()))
            .flatten();
        Ok(Some(DecisionPage { decisions, next }))
    }

    /// Where the deliveries of message `message` of `cloud` stand, by channel (email, then
    /// webhook): `None` when there is no such message.
    pub async fn delivery_counts(
        &self,
        cloud: &str,
        message: &str,
    ) -> Result<Option<Vec<ChannelCounts>>, StoreError> {
        let Some(seq) = on_pool!(self.pool(), |exe| sqlx::query_scalar::<_, i64>(
            "SELECT seq FROM messages WHERE cloud = $1 AND id = $2"
        )
        .bind(cloud)
        .bind(message)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        let batches: Vec<(String, BatchStatus, i64)> =
            on_pool!(self.pool(), |exe| sqlx::query_as(
                "SELECT channel, status, CAST(sum(deliveries) AS BIGINT) FROM delivery_batches \
             WHERE message = $1 GROUP BY channel, status"
            )
            .bind(seq)
            .fetch_all(exe)
            .await)?;
        let retries: Vec<(String, BatchStatus, String, i64)> =
            on_pool!(self.pool(), |exe| sqlx::query_as(
                "SELECT b.channel, b.status, r.status, count(*) FROM delivery_retries r \
                 JOIN delivery_batches b ON b.id = r.batch WHERE b.message = $1 \
                 GROUP BY b.channel, b.status, r.status"
            )
            .bind(seq)
            .fetch_all(exe)
            .await)?;
        // Deliveries of batches still being worked that arrived at their first attempt.
        let arrived: Vec<(String, i64)> = on_pool!(self.pool(), |exe| sqlx::query_as(
            "SELECT b.channel, count(*) FROM delivery_batches b JOIN delivery_attempts a \
             ON a.delivery >= b.id * $2 AND a.delivery < (b.id + 1) * $2 \
             WHERE b.message = $1 AND b.status = 'pending' AND a.attempt = 1 \
             AND a.outcome = 'delivered' GROUP BY b.channel"
        )
        .bind(seq)
        .bind(crate::rows::BATCH as i64)
        .fetch_all(exe)
        .await)?;
        let mut counts: std::collections::BTreeMap<String, ChannelCounts> = Default::default();
        fn of(
            counts: &mut std::collections::BTreeMap<String, ChannelCounts>,
            channel: String,
        ) -> &mut ChannelCounts {
            counts
                .entry(channel.clone())
                .or_insert_with(|| ChannelCounts {
                    channel,
                    ..ChannelCounts::default()
                })
        }
        for (channel, status, deliveries) in batches {
            let c = of(&mut counts, channel);
            c.total += deliveries;
            if status == BatchStatus::Pending {
                c.waiting += deliveries;
            }
        }
        for (channel, n) in arrived {
            of(&mut counts, channel).waiting -= n;
        }
        for (channel, batch, status, n) in retries {
            let c = of(&mut counts, channel);
            if batch == BatchStatus::Pending {
                c.waiting -= n;
            }
            match status.as_str() {
                "retrying" => c.retrying += n,
                "dead" => c.dead += n,
                _ => {}
            }
        }
        Ok(Some(
            counts
                .into_values()
                .map(|c| ChannelCounts {
                    delivered: c.total - c.waiting - c.retrying - c.dead,
                    ..c
                })
                .collect(),
        ))
    }

    /// How many deliveries there are in each status, over every message.
    pub async fn deliveries_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            on_pool!(self.pool(), |exe| sqlx::query_as::<_, StatusCount>(
                "SELECT status, CAST(sum(deliveries) AS BIGINT) AS deliveries FROM delivery_batches \
             GROUP BY status ORDER BY status",
            )
            .fetch_all(exe)
            .await)?
            .into_iter()
            .map(|c| (c.status.as_str().to_owned(), c.deliveries))
            .collect(),
        )
    }
}
