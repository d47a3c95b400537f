//! Inboxes: the copies a partner or customer was sent, newest first, with what it has
//! marked read.

use sqlx::FromRow;

use crate::copies::MessageSummary;
use crate::engine::on_pool;
use crate::error::StoreError;
use crate::kinds::OrgKind;
use crate::reads::{direct_entry, heard};
use crate::store::Store;

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
    fn key(self) -> (OrgKind, &'a str) {
        match self {
            Reader::Partner(p) => (OrgKind::Partner, p),
            Reader::Customer(c) => (OrgKind::Customer, c),
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

/// What every row of an inbox's query holds: the unread count, and the position of the
/// page's message, `None` in the one row of an empty page.
#[derive(sqlx::FromRow)]
struct Counted {
    unread: i64,
    seq: Option<i64>,
}

/// A message of an inbox's page, and when it was marked read.
#[derive(sqlx::FromRow)]
struct InboxRow {
    #[sqlx(flatten)]
    message: MessageSummary,
    read_at: Option<i64>,
}

impl Store {
    /// A page of `reader`'s inbox (a partner or customer of `cloud`), newest first, from
    /// before position `before` when given, with the read marks and the unread count, in
    /// one query.
    pub async fn inbox(
        &self,
        cloud: &str,
        reader: Reader<'_>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<InboxPage, StoreError> {
        let (kind, id) = reader.key();
        // A partner's copies are walked in its index, newest first, only as far as the page
        // goes, and counted apart. A customer's are few but found at a cost (a broadcast is
        // looked for in its batch), so they are gathered once and used twice.
        let (received, gathered) = match reader {
            Reader::Partner(_) => (
                format!(
                    "SELECT c.message FROM partner_copies c {} messages m ON m.seq = c.message \
                     WHERE c.partner = $1 AND m.cloud = $2",
                    self.engine().join_in_order()
                ),
                "NOT MATERIALIZED",
            ),
            Reader::Customer(_) => (heard(self.engine(), 6), "MATERIALIZED"),
        };
        let columns = MessageSummary::COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let join = self.engine().join_in_order();
        // Read marks are made for received messages only, so what is unread is what was
        // received less what was marked. The count comes with every row of the page, and
        // alone (the page's columns null) when the page is empty.
        let query = format!(
            "WITH received(seq) AS {gathered} ({received}) \
             SELECT p.*, u.unread FROM ( \
                 SELECT (SELECT count(*) FROM received) - (SELECT count(*) FROM inbox_reads \
                     WHERE cloud = $2 AND reader_kind = $3 AND reader = $1) AS unread) AS u \
             LEFT JOIN ( \
                 SELECT {columns}, m.seq, k.read_at FROM received r \
                 {join} messages m ON m.seq = r.seq \
                 LEFT JOIN inbox_reads k \
                 ON k.cloud = $2 AND k.reader_kind = $3 AND k.reader = $1 AND k.message = r.seq \
                 WHERE r.seq < $4 ORDER BY r.seq DESC LIMIT $5) AS p ON true \
             ORDER BY p.seq DESC"
        );
        let rows: Vec<(Counted, Option<InboxRow>)> = on_pool!(self.pool(), |exe| {
            let mut query = sqlx::query(&query)
                .bind(id)
                .bind(cloud)
                .bind(kind)
                .bind(before.unwrap_or(i64::MAX))
                .bind((limit + 1) as i64);
            if let Reader::Customer(customer) = reader {
                query = query.bind(direct_entry(customer));
            }
            query.fetch_all(exe).await.and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        let counted = Counted::from_row(row)?;
                        let item = match counted.seq {
                            Some(_) => Some(InboxRow::from_row(row)?),
                            None => None,
                        };
                        Ok((counted, item))
                    })
                    .collect()
            })
        })?;
        let unread = rows.first().map_or(0, |(c, _)| c.unread);
        // One row past the page says there is more, from the page's last row on.
        let next = match rows.get(limit) {
            Some((c, _)) if c.seq.is_some() && limit > 0 => rows[limit - 1].0.seq,
            _ => None,
        };
        let items = rows
            .into_iter()
            .filter_map(|(_, item)| item)
            .take(limit)
            .map(|item| InboxItem {
                message: item.message,
                read_at: item.read_at,
            })
            .collect();
        Ok(InboxPage {
            items,
            next,
            unread,
        })
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
        Ok(on_pool!(self.pool(), |exe| sqlx::query_scalar(
            "INSERT INTO inbox_reads (cloud, reader_kind, reader, message, read_at) \
             SELECT $1, $2, $3, seq, $4 FROM messages WHERE cloud = $1 AND id = $5 \
             ON CONFLICT (cloud, reader_kind, reader, message) \
             DO UPDATE SET read_at = inbox_reads.read_at RETURNING read_at",
        )
        .bind(cloud)
        .bind(kind)
        .bind(reader_id)
        .bind(now)
        .bind(id)
        .fetch_optional(exe)
        .await)?)
    }
}
