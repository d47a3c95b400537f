//! Inboxes: the copies a partner or customer was sent, newest first, with what it has
//! marked read.

use std::collections::HashMap;

use sqlx::Row;

use crate::reads::Audience;
use crate::store::{MessageSummary, Store, StoreError};

/// One message of an inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxItem {
    pub message: MessageSummary,
    /// When it was marked read, if it was.
    pub read_at: Option<i64>,
}

/// A page of an inbox, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    /// The position to pass as `before` for the next page, when there may be one.
    pub next: Option<i64>,
    /// How many messages of the whole inbox are unread.
    pub unread: i64,
}

/// Whose inbox: a partner's or a customer's (the vendor has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader<'a> {
    Partner(&'a str),
    Customer(&'a str),
}

impl<'a> Reader<'a> {
    /// The kind stored in `reader_kind`, and the organisation's id.
    fn key(self) -> (&'static str, &'a str) {
        match self {
            Reader::Partner(p) => ("partner", p),
            Reader::Customer(c) => ("customer", c),
        }
    }

    /// The messages this reader may see.
    fn audience(self) -> Audience<'a> {
        match self {
            Reader::Partner(p) => Audience::Partner(p),
            Reader::Customer(c) => Audience::Customer(c),
        }
    }

    /// Whether message `id` of `cloud` was sent to this reader.
    async fn received(self, store: &Store, cloud: &str, id: &str) -> Result<bool, StoreError> {
        Ok(match self {
            Reader::Partner(p) => store.partner_copy(cloud, id, p).await?.is_some(),
            Reader::Customer(c) => store
                .customer_decision(cloud, id, c)
                .await?
                .is_some_and(|d| d.direct),
        })
    }
}

impl Store {
    /// A page of `reader`'s inbox (a partner or customer of `cloud`), newest first, from
    /// before position `before` when given.
    pub async fn inbox(
        &self,
        cloud: &str,
        reader: Reader<'_>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<InboxPage, StoreError> {
        let page = self
            .message_page(cloud, reader.audience(), before, limit)
            .await?;
        let reads = self.reads(cloud, reader).await?;
        let unread = self.received_count(cloud, reader).await? - reads.len() as i64;
        let items = page
            .messages
            .into_iter()
            .map(|message| InboxItem {
                read_at: reads.get(&message.id).copied(),
                message,
            })
            .collect();
        Ok(InboxPage {
            items,
            next: page.next,
            unread,
        })
    }

    /// When `reader` marked each message read, by message id.
    async fn reads(
        &self,
        cloud: &str,
        reader: Reader<'_>,
    ) -> Result<HashMap<String, i64>, StoreError> {
        let (kind, id) = reader.key();
        Ok(sqlx::query_as(
            "SELECT m.id, r.read_at FROM inbox_reads r JOIN messages m ON m.seq = r.message \
             WHERE r.cloud = ? AND r.reader_kind = ? AND r.reader = ?",
        )
        .bind(cloud)
        .bind(kind)
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .collect())
    }

    /// How many messages of `cloud` were sent to `reader`.
    async fn received_count(&self, cloud: &str, reader: Reader<'_>) -> Result<i64, StoreError> {
        match reader {
            Reader::Partner(partner) => Ok(sqlx::query_scalar(
                "SELECT count(*) FROM partner_copies c JOIN messages m ON m.seq = c.message \
                 WHERE m.cloud = ? AND c.partner = ?",
            )
            .bind(cloud)
            .bind(partner)
            .fetch_one(self.pool())
            .await?),
            Reader::Customer(customer) => self.customer_heard(cloud, customer).await,
        }
    }

    /// Marks message `id` read in `reader`'s inbox at `now`, unless it already was; answers
    /// when it was marked read, or `None` when the message is not in that inbox.
    pub async fn mark_read(
        &self,
        cloud: &str,
        reader: Reader<'_>,
        id: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let (kind, reader_id) = reader.key();
        if !reader.received(self, cloud, id).await? {
            return Ok(None);
        }
        let _turn = self.write_turn().await;
        let row = sqlx::query(
            "INSERT INTO inbox_reads (cloud, reader_kind, reader, message, read_at) \
             SELECT ?, ?, ?, seq, ? FROM messages WHERE cloud = ? AND id = ? \
             ON CONFLICT DO UPDATE SET read_at = read_at RETURNING read_at",
        )
        .bind(cloud)
        .bind(kind)
        .bind(reader_id)
        .bind(now)
        .bind(cloud)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.get(0)))
    }
}
