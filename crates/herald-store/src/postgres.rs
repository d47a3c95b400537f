//! The PostgreSQL engine: a pool of connections to one database, which any number of
//! Herald processes share, and the bulk writes of an import and a publish, sent with
//! `COPY … FROM STDIN` in PostgreSQL's text format.
//!
//! The rows of a publish are built on every core as on SQLite; here the writing thread
//! appends each to the text of its table's `COPY`, and the texts are sent once every row
//! is built, inside the publish's transaction.

use std::fmt::Write;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::attempts::Settled;
use crate::engine::Durability;
use crate::engine::{blocking, QUEUED};
use crate::error::StoreError;
use crate::rows::{self, Batch, Buffers, DecisionBatch, DeliveryBatch, PartnerCopies, Publish};
use crate::rows::{direct_customers, Table, BROADCAST_ABOVE};
use crate::rows::{Rows, Tail};

/// Connects to the database `url` names (`postgres://user@host:port/database`); a
/// `?options=-csearch_path%3D…` in it picks the schema.
pub(crate) async fn connect(url: &str) -> Result<PgPool, StoreError> {
    let options: PgConnectOptions = url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?)
}

/// The text of one `COPY … FROM STDIN` (PostgreSQL's text format: a row per line, its
/// fields split by tabs, with backslash, tab, newline and carriage return escaped).
#[derive(Default)]
struct CopyText {
    text: String,
    rows: usize,
    /// Whether the row under way has a field yet, so the next one follows a tab.
    in_row: bool,
}

impl CopyText {
    /// Starts a field of the row under way.
    fn field(&mut self) {
        if self.in_row {
            self.text.push('\t');
        }
        self.in_row = true;
    }

    /// Adds a text field to the row under way.
    fn text(&mut self, value: &str) -> &mut Self {
        self.field();
        if value
            .bytes()
            .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
        {
            for c in value.chars() {
                match c {
                    '\\' => self.text.push_str("\\\\"),
                    '\t' => self.text.push_str("\\t"),
                    '\n' => self.text.push_str("\\n"),
                    '\r' => self.text.push_str("\\r"),
                    c => self.text.push(c),
                }
            }
        } else {
            self.text.push_str(value);
        }
        self
    }

    /// Adds an integer field to the row under way.
    fn int(&mut self, value: i64) -> &mut Self {
        self.field();
        write!(self.text, "{value}").expect("a String takes any text");
        self
    }

    /// Ends the row under way.
    fn end(&mut self) {
        self.text.push('\n');
        self.rows += 1;
        self.in_row = false;
    }

    /// Sends the rows with `statement` (a `COPY … FROM STDIN`) on the transaction `tx`.
    async fn send(
        self,
        tx: &mut Transaction<'static, Postgres>,
        statement: &str,
    ) -> Result<(), StoreError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut copy = tx.copy_in_raw(statement).await?;
        copy.send(self.text.into_bytes()).await?;
        copy.finish().await?;
        Ok(())
    }
}

/// The `COPY` texts of a publish's rows under one message.
struct PublishCopy {
    seq: i64,
    due_at: i64,
    decisions: CopyText,
    deliveries: CopyText,
    copies: CopyText,
}

impl PublishCopy {
    fn new(seq: i64, due_at: i64) -> PublishCopy {
        PublishCopy {
            seq,
            due_at,
            decisions: CopyText::default(),
            deliveries: CopyText::default(),
            copies: CopyText::default(),
        }
    }

    fn add(&mut self, batch: &Batch<'_>) {
        match batch {
            Batch::Decisions(b) => self.decisions(b),
            Batch::Deliveries(b) => self.deliveries(b),
            Batch::Copies(c) => self.copies(c),
        }
    }

    fn decisions(&mut self, b: &DecisionBatch<'_>) {
        self.decisions
            .int(self.seq)
            .text(b.first_customer)
            .int(b.customers as i64)
            .text(&b.body)
            .end();
    }

    fn deliveries(&mut self, b: &DeliveryBatch) {
        self.deliveries
            .int(self.seq)
            .text(b.recipient.as_str())
            .text(b.channel)
            .int(b.deliveries as i64)
            .text(&b.body)
            .int(self.due_at)
            .end();
    }

    fn copies(&mut self, c: &PartnerCopies<'_>) {
        for row in c.rows() {
            self.copies
                .int(self.seq)
                .text(row.partner)
                .text(row.customers)
                .text(row.subscriptions)
                .end();
        }
    }

    async fn send(self, tx: &mut Transaction<'static, Postgres>) -> Result<(), StoreError> {
        self.decisions
            .send(
                tx,
                "COPY decision_batches (message, first_customer, customers, body) FROM STDIN",
            )
            .await?;
        self.deliveries
            .send(
                tx,
                "COPY delivery_batches (message, recipient, channel, deliveries, body, due_at) FROM STDIN",
            )
            .await?;
        self.copies
            .send(
                tx,
                "COPY partner_copies (message, partner, customers, subscriptions) FROM STDIN",
            )
            .await
    }
}

/// Writes the directory's records, table by table, in the open transaction `tx`.
pub(crate) async fn write_records(
    tx: &mut Transaction<'static, Postgres>,
    tables: &[Table<'_>],
) -> Result<(), StoreError> {
    for table in tables {
        let mut copy = CopyText::default();
        for r in table.records {
            copy.text(r.id).text(&r.body);
            if table.key.is_some() {
                copy.text(&r.key);
            }
            copy.end();
        }
        let statement = match table.key {
            None => format!("COPY {} (id, body) FROM STDIN", table.name),
            Some(key) => format!("COPY {} (id, body, {key}) FROM STDIN", table.name),
        };
        copy.send(tx, &statement).await?;
    }
    Ok(())
}

/// Builds the rows of `publish` under message `seq` and writes them in the open
/// transaction `tx`: its decision and delivery batches, its partners' copies and, unless
/// it is a broadcast, a copy for each customer it reaches directly. Returns what is left
/// to write, and whether it is a broadcast.
pub(crate) async fn write_publish(
    tx: &mut Transaction<'static, Postgres>,
    seq: i64,
    publish: &Publish<'_>,
    buffers: &Buffers,
) -> Result<(Tail, bool), StoreError> {
    let mut copy = PublishCopy::new(seq, publish.accepted_at);
    let Ok(tail) = blocking(|| {
        rows::stream(publish, rows::threads(), buffers, |batch| {
            copy.add(&batch);
            Ok::<_, std::convert::Infallible>(Some(batch.into_body()))
        })
    });
    copy.send(tx).await?;
    let broadcast = tail.message.customers_direct > BROADCAST_ABOVE as i64;
    if !broadcast {
        let mut customers = CopyText::default();
        for customer in direct_customers(publish) {
            customers.text(customer).int(seq).end();
        }
        customers
            .send(tx, "COPY customer_copies (customer, message) FROM STDIN")
            .await?;
    }
    Ok((tail, broadcast))
}

/// Writes `rows` under message `seq` the plainest way, one bare `COPY` per table: the
/// baseline `herald bench publish` measures a publish against.
pub(crate) async fn write_rows(
    tx: &mut Transaction<'static, Postgres>,
    seq: i64,
    rows: &Rows<'_>,
) -> Result<(), StoreError> {
    let mut copy = PublishCopy::new(seq, rows.message.accepted_at);
    rows.decisions.iter().for_each(|b| copy.decisions(b));
    rows.deliveries.iter().for_each(|b| copy.deliveries(b));
    rows.copies.iter().for_each(|c| copy.copies(c));
    copy.send(tx).await
}

/// Copies `n` one-integer rows into a scratch table in one transaction, then drops it.
pub(crate) async fn insert_scratch_rows(pool: &PgPool, n: i64) -> Result<(), StoreError> {
    sqlx::query("CREATE TABLE IF NOT EXISTS scratch (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, value BIGINT NOT NULL)")
        .execute(pool)
        .await?;
    let mut tx = pool.begin().await?;
    let mut copy = CopyText::default();
    for v in 0..n {
        copy.int(v).end();
    }
    copy.send(&mut tx, "COPY scratch (value) FROM STDIN")
        .await?;
    tx.commit().await?;
    sqlx::query("DROP TABLE scratch").execute(pool).await?;
    Ok(())
}

/// How a commit is kept, as PostgreSQL reports it: its `synchronous_commit` setting, and
/// its log always written ahead.
pub(crate) async fn durability(pool: &PgPool) -> Result<Durability, StoreError> {
    let synchronous: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(pool)
        .await?;
    Ok(Durability {
        journal_mode: "wal".to_owned(),
        synchronous: match synchronous.as_str() {
            "off" => "off",
            "local" => "local",
            "remote_write" => "remote_write",
            "remote_apply" => "remote_apply",
            _ => "on",
        },
    })
}

/// Listens to the store's channel on a connection of its own and tells `queued` of every
/// announcement, until the returned task is aborted. A connection lost and made again may
/// have missed announcements, so `queued` is told then too.
pub(crate) async fn listen(
    pool: &PgPool,
    queued: std::sync::Arc<tokio::sync::Notify>,
) -> Result<tokio::task::JoinHandle<()>, StoreError> {
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(&format!("{QUEUED}.{schema}")).await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => queued.notify_one(),
                // The connection was lost; the next receive makes it again.
                Ok(None) => queued.notify_one(),
                // Not connected again yet: the worker still looks at the queue now and then.
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }))
}

/// Inserts `attempts` into `delivery_attempts` in one statement (arrays of each column,
/// unnested), leaving any there already as first recorded, and says which were new, in
/// order: a worker's round of settled deliveries costs one round trip, not one a delivery.
pub(crate) async fn insert_attempts(
    tx: &mut Transaction<'static, Postgres>,
    attempts: &[Settled],
) -> Result<Vec<bool>, StoreError> {
    let column = |f: fn(&Settled) -> i64| attempts.iter().map(f).collect::<Vec<i64>>();
    let inserted: Vec<(i64, i64)> = sqlx::query_as(
        "INSERT INTO delivery_attempts \
         (delivery, attempt, at, latency_us, outcome, code, reply, error) \
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], \
             $5::TEXT[], $6::BIGINT[], $7::TEXT[], $8::TEXT[]) \
         ON CONFLICT DO NOTHING RETURNING delivery, attempt",
    )
    .bind(column(|s| s.delivery))
    .bind(column(|s| s.number))
    .bind(column(|s| s.attempt.at))
    .bind(column(|s| s.attempt.latency_us))
    .bind(
        attempts
            .iter()
            .map(|s| s.attempt.outcome.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(attempts.iter().map(|s| s.attempt.code).collect::<Vec<_>>())
    .bind(
        attempts
            .iter()
            .map(|s| s.attempt.reply.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        attempts
            .iter()
            .map(|s| s.attempt.error.as_deref())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut **tx)
    .await?;
    // An attempt listed twice is new once, as a statement a row would have it.
    let mut inserted: std::collections::HashSet<(i64, i64)> = inserted.into_iter().collect();
    Ok(attempts
        .iter()
        .map(|s| inserted.remove(&(s.delivery, s.number)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::CopyText;

    #[test]
    fn fields_are_split_by_tabs_escaped_and_an_empty_first_field_kept() {
        let mut copy = CopyText::default();
        copy.text("").int(7).end();
        copy.text("a\tb\\c\nd").text("").end();
        assert_eq!(copy.text, "\t7\na\\tb\\\\c\\nd\t\n");
        assert_eq!(copy.rows, 2);
    }
}
