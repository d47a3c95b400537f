//! Incident threads as stored: each thread's latest message (its head), whose decisions
//! are everyone the thread has reached, and the timeline of its updates.
//!
//! An update is routed against the head's audience ([`Store::thread_head`]) and stored only
//! if the head has not moved meanwhile (see [`Publish::thread_head`](crate::Publish)), so
//! two updates published at once cannot both miss each other's reach.

use crate::engine::{on_pool, on_tx, Tx};
use herald_domain::thread::Reached;
use herald_domain::Directory;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::copies::MessageSummary;
use crate::error::StoreError;
use crate::json::{batch, ids};
use crate::store::Store;

/// A thread's latest message and everyone the thread has reached, in a directory's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadHead {
    /// The position of the thread's latest message.
    pub head: i64,
    /// The category of the thread's messages.
    pub category: String,
    /// Everyone the thread reached, sorted by customer; customers and partners the
    /// directory no longer holds are left out, since nobody can reach them.
    pub reached: Vec<Reached>,
}

/// A thread and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadSummary {
    pub id: String,
    pub cloud: String,
    pub category: String,
    pub status: String,
    pub opened_at: i64,
    pub updated_at: i64,
    pub updates: i64,
}

/// An open thread as one partner sees it: its latest message and the partner's copy of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerNotice {
    pub thread: ThreadSummary,
    /// The id of the thread's latest message.
    pub message: String,
    /// The partner's customers the thread has reached.
    pub customers: Vec<String>,
    /// The partner's subscriptions the latest message names.
    pub subscriptions: Vec<String>,
}

/// The part of a decision entry that says who heard: customer, directly or not, partners.
#[derive(Deserialize)]
struct Heard(
    String,
    bool,
    Vec<String>,
    IgnoredAny,
    IgnoredAny,
    IgnoredAny,
    IgnoredAny,
);

/// The columns of `threads` a [`ThreadSummary`] is read from.
const THREAD_COLUMNS: &str = "id, cloud, category, status, opened_at, updated_at, updates";

/// A thread's head and the category of its messages.
#[derive(sqlx::FromRow)]
struct HeadRow {
    head: i64,
    category: String,
}

/// An open thread with one partner's copy of its latest message.
#[derive(sqlx::FromRow)]
struct NoticeRow {
    #[sqlx(flatten)]
    thread: ThreadSummary,
    /// The id of the thread's latest message.
    message: String,
    customers: String,
    subscriptions: String,
}

impl Store {
    /// Thread `thread` of `cloud`: its head and everyone it has reached, as customers and
    /// partners of `directory`; `None` when no message has named the thread yet.
    pub async fn thread_head(
        &self,
        cloud: &str,
        thread: &str,
        directory: &Directory,
    ) -> Result<Option<ThreadHead>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row: Option<HeadRow> = on_tx!(&mut tx, |exe| sqlx::query_as(
            "SELECT head, category FROM threads WHERE cloud = $1 AND id = $2"
        )
        .bind(cloud)
        .bind(thread)
        .fetch_optional(&mut **exe)
        .await)?;
        let Some(HeadRow { head, category }) = row else {
            return Ok(None);
        };
        let reached = reached_by(&mut tx, head, directory).await?;
        tx.rollback().await?;
        Ok(Some(ThreadHead {
            head,
            category,
            reached,
        }))
    }

    /// Everyone thread `thread` of `cloud` had reached before the message at position
    /// `seq`, as customers and partners of `directory`: the audience the update at `seq`
    /// was widened to when it was routed.
    pub async fn reached_before(
        &self,
        cloud: &str,
        thread: &str,
        seq: i64,
        directory: &Directory,
    ) -> Result<Vec<Reached>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let previous: Option<i64> = on_tx!(&mut tx, |exe| sqlx::query_scalar(
            "SELECT max(seq) FROM messages WHERE cloud = $1 AND thread = $2 AND seq < $3",
        )
        .bind(cloud)
        .bind(thread)
        .bind(seq)
        .fetch_one(&mut **exe)
        .await)?;
        let reached = match previous {
            Some(previous) => reached_by(&mut tx, previous, directory).await?,
            None => Vec::new(),
        };
        tx.rollback().await?;
        Ok(reached)
    }

    /// Thread `thread` of `cloud` and its messages, oldest first; `None` when no message
    /// has named it.
    pub async fn thread(
        &self,
        cloud: &str,
        thread: &str,
    ) -> Result<Option<(ThreadSummary, Vec<MessageSummary>)>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let Some(summary) = on_tx!(&mut tx, |exe| sqlx::query_as(&format!(
            "SELECT {THREAD_COLUMNS} FROM threads WHERE cloud = $1 AND id = $2"
        ))
        .bind(cloud)
        .bind(thread)
        .fetch_optional(&mut **exe)
        .await)?
        else {
            return Ok(None);
        };
        let messages = on_tx!(&mut tx, |exe| sqlx::query_as(&format!(
            "SELECT {} FROM messages WHERE cloud = $1 AND thread = $2 ORDER BY seq",
            MessageSummary::COLUMNS
        ))
        .bind(cloud)
        .bind(thread)
        .fetch_all(&mut **exe)
        .await)?;
        tx.rollback().await?;
        Ok(Some((summary, messages)))
    }

    /// The open threads of `cloud` (not yet resolved) that have reached any customer of
    /// `partner`, most recently updated first, each with the partner's copy of its latest
    /// message.
    pub async fn partner_notices(
        &self,
        cloud: &str,
        partner: &str,
    ) -> Result<Vec<PartnerNotice>, StoreError> {
        let columns = THREAD_COLUMNS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<NoticeRow> = on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {columns}, m.id AS message, c.customers, c.subscriptions FROM threads t \
             JOIN partner_copies c ON c.message = t.head AND c.partner = $1 \
             JOIN messages m ON m.seq = t.head \
             WHERE t.cloud = $2 AND t.status <> 'resolved' ORDER BY t.updated_at DESC, t.id"
        ))
        .bind(partner)
        .bind(cloud)
        .fetch_all(exe)
        .await)?;
        rows.into_iter()
            .map(|row| {
                Ok(PartnerNotice {
                    customers: ids(&row.customers)?,
                    subscriptions: ids(&row.subscriptions)?,
                    thread: row.thread,
                    message: row.message,
                })
            })
            .collect()
    }
}

/// Everyone the message at position `seq` reached, as customers and partners of
/// `directory`, sorted by customer; those the directory no longer holds are left out.
async fn reached_by(
    tx: &mut Tx,
    seq: i64,
    directory: &Directory,
) -> Result<Vec<Reached>, StoreError> {
    let bodies: Vec<String> = on_tx!(tx, |exe| sqlx::query_scalar(
        "SELECT body FROM decision_batches WHERE message = $1 ORDER BY first_customer",
    )
    .bind(seq)
    .fetch_all(&mut **exe)
    .await)?;
    let mut reached = Vec::new();
    for body in bodies {
        for Heard(customer, direct, partners, ..) in batch::<Heard>(&body)? {
            let Some(customer) = directory.customer_ix(&customer) else {
                continue;
            };
            let mut partners: Vec<_> = partners
                .iter()
                .filter_map(|p| directory.partner_ix(p))
                .collect();
            partners.sort_unstable();
            reached.push(Reached {
                customer,
                direct,
                partners,
            });
        }
    }
    reached.sort_unstable_by_key(|r| r.customer);
    Ok(reached)
}
