//! Deliveries after they are queued: leasing them to workers, recording every attempt,
//! retrying on a schedule and ending in a dead letter a person may replay.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::attempts::{Attempt, Next, Outcome, Settled};
use crate::audit::{self, Action, Actor, NewEntry};
use crate::copies::{MessageSummary, PartnerCopyView, StoredCopy};
use crate::engine::{on_pool, on_tx, Tx};
use crate::error::StoreError;
use crate::json::batch;
use crate::kinds::{BatchStatus, Channel, RetryStatus};
use crate::rows::Recipient;
use crate::rows::{DecisionEntry, BATCH};
use crate::store::Store;

/// A batch of deliveries leased to a worker until its lease runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeasedBatch {
    pub id: i64,
    /// The message's `seq`.
    pub message: i64,
    pub recipient: String,
    pub channel: String,
    /// The batch body: one JSON entry per delivery, its shape depending on the channel.
    pub body: String,
    /// The entries (by position) already settled by an earlier lease: delivered, or
    /// moved to a retry of their own. A worker sends only the others.
    pub settled: Vec<usize>,
}

/// One delivery due to be tried again, leased to a worker until its lease runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeasedRetry {
    pub delivery: i64,
    pub batch: i64,
    pub message: i64,
    pub recipient: String,
    pub channel: String,
    /// The delivery's entry of its batch body, as JSON.
    pub entry: String,
    /// How many attempts it has had.
    pub attempts: i64,
}

/// A batch as a lease returns it.
#[derive(sqlx::FromRow)]
struct LeasedRow {
    id: i64,
    message: i64,
    recipient: Recipient,
    channel: Channel,
    body: String,
}

/// A leased retry with what its worker needs of its batch: its entry of the body, `None`
/// when the body is shorter than the delivery's place.
#[derive(sqlx::FromRow)]
struct RetryRow {
    batch: i64,
    message: i64,
    recipient: Recipient,
    channel: Channel,
    entry: Option<String>,
    attempts: i64,
}

/// The delivery id of entry `n` of batch `batch`.
pub fn delivery_id(batch: i64, n: usize) -> i64 {
    batch * BATCH as i64 + n as i64
}

/// The batch holding delivery `delivery`, and its position there.
pub fn delivery_place(delivery: i64) -> (i64, usize) {
    (
        delivery.div_euclid(BATCH as i64),
        delivery.rem_euclid(BATCH as i64) as usize,
    )
}

impl Store {
    /// Leases due batches (pending, due by `now`, not leased to a live worker) until
    /// `until`, soonest due first, with the entries an earlier lease already settled: up
    /// to `limit` batches, and no more once those leased hold `room` deliveries (the first
    /// is leased whatever its size), so a worker with room for 64 takes a few small
    /// batches at once, or one large one. Email batches only when `email`: a worker with
    /// no mail server leaves them to one that has.
    pub async fn lease_batches(
        &self,
        now: i64,
        until: i64,
        limit: usize,
        room: usize,
        email: bool,
    ) -> Result<Vec<LeasedBatch>, StoreError> {
        let skip_locked = self.engine().skip_locked("delivery_batches");
        let (_turn, mut tx) = self.begin_write().await?;
        let rows: Vec<LeasedRow> = on_tx!(&mut tx, |exe| {
            sqlx::query_as(&format!(
            "UPDATE delivery_batches SET lease_until = $1 WHERE id IN ( \
                 SELECT id FROM ( \
                     SELECT id, sum(deliveries) OVER (ORDER BY due_at, id) - deliveries AS before \
                     FROM (SELECT id, deliveries, due_at FROM delivery_batches \
                         WHERE status = 'pending' AND due_at <= $2 \
                         AND (lease_until IS NULL OR lease_until <= $2) AND (channel <> 'email' OR $4) \
                         ORDER BY due_at, id LIMIT $3 {skip_locked}) AS free) AS counted \
                 WHERE before < $5) \
             RETURNING id, message, recipient, channel, body",
        ))
        .bind(until)
        .bind(now)
        .bind(limit as i64)
        .bind(email)
        .bind(i64::try_from(room).unwrap_or(i64::MAX).max(1))
        .fetch_all(&mut **exe)
        .await
        })?;
        let mut leased = Vec::with_capacity(rows.len());
        for LeasedRow {
            id,
            message,
            recipient,
            channel,
            body,
        } in rows
        {
            let settled: Vec<i64> = on_tx!(&mut tx, |exe| sqlx::query_scalar(
                "SELECT delivery FROM delivery_attempts WHERE delivery BETWEEN $1 AND $2 \
                     AND outcome = 'delivered' \
                 UNION SELECT delivery FROM delivery_retries WHERE batch = $3",
            )
            .bind(delivery_id(id, 0))
            .bind(delivery_id(id, BATCH - 1))
            .bind(id)
            .fetch_all(&mut **exe)
            .await)?;
            leased.push(LeasedBatch {
                id,
                message,
                recipient: recipient.as_str().to_owned(),
                channel: channel.as_str().to_owned(),
                body,
                settled: settled.into_iter().map(|d| delivery_place(d).1).collect(),
            });
        }
        leased.sort_by_key(|b| b.id);
        tx.commit().await?;
        Ok(leased)
    }

    /// Leases up to `limit` retries due by `now` (not leased to a live worker) until
    /// `until`, soonest due first; email ones only when `email`.
    pub async fn lease_retries(
        &self,
        now: i64,
        until: i64,
        limit: usize,
        email: bool,
    ) -> Result<Vec<LeasedRetry>, StoreError> {
        let skip_locked = self.engine().skip_locked("r");
        let (_turn, mut tx) = self.begin_write().await?;
        let leased: Vec<i64> = on_tx!(&mut tx, |exe| {
            sqlx::query_scalar(&format!(
            "UPDATE delivery_retries SET lease_until = $1 WHERE delivery IN ( \
                 SELECT r.delivery FROM delivery_retries r JOIN delivery_batches b ON b.id = r.batch \
                 WHERE r.status = 'retrying' AND r.due_at <= $2 \
                 AND (r.lease_until IS NULL OR r.lease_until <= $2) AND (b.channel <> 'email' OR $4) \
                 ORDER BY r.due_at LIMIT $3 {skip_locked}) \
             RETURNING delivery",
        ))
        .bind(until)
        .bind(now)
        .bind(limit as i64)
        .bind(email)
        .fetch_all(&mut **exe)
        .await
        })?;
        let mut retries = Vec::with_capacity(leased.len());
        let entry = self.engine().json_at("b.body", "r.delivery - r.batch * $2");
        for delivery in leased {
            let row: RetryRow = on_tx!(&mut tx, |exe| {
                sqlx::query_as(&format!(
                "SELECT r.batch, b.message, b.recipient, b.channel, {entry} AS entry, r.attempts \
                 FROM delivery_retries r JOIN delivery_batches b ON b.id = r.batch \
                 WHERE r.delivery = $1",
            ))
                .bind(delivery)
                .bind(BATCH as i64)
                .fetch_one(&mut **exe)
                .await
            })?;
            retries.push(LeasedRetry {
                delivery,
                batch: row.batch,
                message: row.message,
                recipient: row.recipient.as_str().to_owned(),
                channel: row.channel.as_str().to_owned(),
                entry: row.entry.ok_or_else(|| {
                    StoreError::Damaged(format!("delivery {delivery} is not in its batch"))
                })?,
                attempts: row.attempts,
            });
        }
        tx.commit().await?;
        Ok(retries)
    }

    /// Keeps the leases of `batches` and `retries` until `until`, while a worker is still
    /// sending them: each is named with the end of its lease as that worker last wrote it,
    /// and renewed only while it still ends then. One that ran out and was taken by
    /// another worker since, or a retry whose attempt was recorded meanwhile (no longer
    /// leased), is left as it is. Returns the batches and the retries renewed.
    pub async fn extend_leases(
        &self,
        batches: &[(i64, i64)],
        retries: &[(i64, i64)],
        until: i64,
    ) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
        self.move_leases(batches, retries, Some(until)).await
    }

    /// Gives back the leases of `batches` and `retries`, each named with the end of its
    /// lease as the worker giving it back last wrote it, so that any worker may lease them
    /// at once rather than once they run out. A lease that ran out and was taken by
    /// another worker since ends at another time, and is left as it is.
    pub async fn give_back(
        &self,
        batches: &[(i64, i64)],
        retries: &[(i64, i64)],
    ) -> Result<(), StoreError> {
        self.move_leases(batches, retries, None).await.map(drop)
    }

    /// Makes each lease of `batches` and `retries` end at `to` (none: no lease), where it
    /// still ends as named; the batches and the retries whose lease it moved.
    async fn move_leases(
        &self,
        batches: &[(i64, i64)],
        retries: &[(i64, i64)],
        to: Option<i64>,
    ) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
        let (mut moved_batches, mut moved_retries) = (Vec::new(), Vec::new());
        if batches.is_empty() && retries.is_empty() {
            return Ok((moved_batches, moved_retries));
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for (table, key, status, leases, moved) in [
            (
                "delivery_batches",
                "id",
                "pending",
                batches,
                &mut moved_batches,
            ),
            (
                "delivery_retries",
                "delivery",
                "retrying",
                retries,
                &mut moved_retries,
            ),
        ] {
            let sql = format!(
                "UPDATE {table} SET lease_until = $1 \
                 WHERE {key} = $2 AND lease_until = $3 AND status = '{status}'"
            );
            for &(id, held) in leases {
                let changed = on_tx!(&mut tx, |exe| sqlx::query(&sql)
                    .bind(to)
                    .bind(id)
                    .bind(held)
                    .execute(&mut **exe)
                    .await
                    .map(|r| r.rows_affected()))?;
                if changed > 0 {
                    moved.push(id);
                }
            }
        }
        tx.commit().await?;
        Ok((moved_batches, moved_retries))
    }

    /// Records attempts and what follows from each, and marks `settled_batches` settled,
    /// in one transaction. An attempt recorded already (by a worker whose lease ran out
    /// while it was still sending) is kept as first recorded.
    pub async fn record_attempts(
        &self,
        attempts: &[Settled],
        settled_batches: &[i64],
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let fresh = match &mut tx {
            Tx::Sqlite(tx) => crate::sqlite::insert_attempts(tx, attempts).await?,
            Tx::Postgres(tx) => crate::postgres::insert_attempts(tx, attempts).await?,
        };
        for (s, fresh) in attempts.iter().zip(fresh) {
            let a = &s.attempt;
            if !fresh {
                continue;
            }
            let (status, due_at) = match s.next {
                Next::Delivered => (RetryStatus::Delivered, a.at),
                Next::RetryAt(at) => (RetryStatus::Retrying, at),
                Next::Dead => (RetryStatus::Dead, a.at),
            };
            if s.number == 1 {
                if s.next != Next::Delivered {
                    on_tx!(&mut tx, |exe| {
                        sqlx::query(
                        "INSERT INTO delivery_retries \
                         (delivery, batch, status, attempts, due_at, last_error) VALUES ($1, $2, $3, 1, $4, $5) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(s.delivery)
                    .bind(s.batch)
                    .bind(status)
                    .bind(due_at)
                    .bind(a.error.as_deref().or(a.reply.as_deref()))
                    .execute(&mut **exe)
                    .await.map(drop)
                    })?;
                }
            } else {
                on_tx!(&mut tx, |exe| sqlx::query(
                    "UPDATE delivery_retries SET status = $1, attempts = $2, due_at = $3, \
                     lease_until = NULL, last_error = coalesce($4, last_error) \
                     WHERE delivery = $5 AND attempts < $6",
                )
                .bind(status)
                .bind(s.number)
                .bind(due_at)
                .bind(a.error.as_deref().or(a.reply.as_deref()))
                .bind(s.delivery)
                .bind(s.number)
                .execute(&mut **exe)
                .await
                .map(drop))?;
            }
            if let Some((endpoint, reason)) = &s.disable {
                on_tx!(&mut tx, |exe| sqlx::query(
                    "UPDATE endpoints SET disabled_at = $1, disabled_reason = $2 \
                     WHERE id = $3 AND disabled_at IS NULL",
                )
                .bind(a.at)
                .bind(reason)
                .bind(endpoint)
                .execute(&mut **exe)
                .await
                .map(drop))?;
            }
        }
        for id in settled_batches {
            on_tx!(&mut tx, |exe| sqlx::query(
                "UPDATE delivery_batches SET status = 'settled', lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .execute(&mut **exe)
            .await
            .map(drop))?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// What a worker reads of a message to send its copies: what it is, as published.
#[derive(Clone, Debug, PartialEq)]
pub struct Sending {
    pub summary: MessageSummary,
    /// The message as published, in canonical form.
    pub request: Value,
}

/// A message's summary and its request as published, as read for sending.
#[derive(sqlx::FromRow)]
struct SendingRow {
    #[sqlx(flatten)]
    summary: MessageSummary,
    request: String,
}

/// An endpoint's URL and why it was disabled, if it was.
#[derive(sqlx::FromRow)]
struct TargetRow {
    url: String,
    disabled: Option<String>,
}

/// An endpoint as a worker sends to it: where, and the secrets that sign for it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    /// The secrets signing now, newest first: one, or two while a rotation overlaps.
    pub secrets: Vec<String>,
    /// Why it no longer takes events, when it was disabled.
    pub disabled: Option<String>,
}

impl Store {
    /// Message `seq` as published, for sending its copies.
    pub async fn sending(&self, seq: i64) -> Result<Option<Sending>, StoreError> {
        let Some(row): Option<SendingRow> = on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {}, request FROM messages WHERE seq = $1",
            MessageSummary::COLUMNS
        ))
        .bind(seq)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        Ok(Some(Sending {
            summary: row.summary,
            request: serde_json::from_str(&row.request).map_err(|e| {
                StoreError::Damaged(format!("message {seq} does not parse as published: {e}"))
            })?,
        }))
    }

    /// The decision batch of message `seq` that holds `customer`'s decision, if any: the
    /// decisions of up to [`BATCH`] consecutive customers, in order.
    pub async fn decisions_around(
        &self,
        seq: i64,
        customer: &str,
    ) -> Result<Vec<DecisionEntry>, StoreError> {
        let body: Option<String> = on_pool!(self.pool(), |exe| sqlx::query_scalar(
            "SELECT body FROM decision_batches WHERE message = $1 AND first_customer <= $2 \
             ORDER BY first_customer DESC LIMIT 1",
        )
        .bind(seq)
        .bind(customer)
        .fetch_optional(exe)
        .await)?;
        body.map_or(Ok(Vec::new()), |b| batch(&b))
    }

    /// Partner `partner`'s copy of message `seq`: its customers and subscriptions.
    pub async fn partner_copy_of(
        &self,
        seq: i64,
        partner: &str,
    ) -> Result<Option<PartnerCopyView>, StoreError> {
        on_pool!(self.pool(), |exe| sqlx::query_as::<_, StoredCopy>(
            "SELECT partner, customers, subscriptions FROM partner_copies \
             WHERE message = $1 AND partner = $2",
        )
        .bind(seq)
        .bind(partner)
        .fetch_optional(exe)
        .await)?
        .map(StoredCopy::view)
        .transpose()
    }

    /// Endpoint `id` as a worker sends to it at `now`, or `None` once it is deleted.
    pub async fn target(&self, id: &str, now: i64) -> Result<Option<Target>, StoreError> {
        let Some(TargetRow { url, disabled }) = on_pool!(self.pool(), |exe| sqlx::query_as(
            "SELECT url, CASE WHEN disabled_at IS NULL THEN NULL \
                 ELSE coalesce(disabled_reason, 'it was disabled') END AS disabled \
             FROM endpoints WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        let secrets = self.signing_secrets(id, now).await?;
        Ok(Some(Target {
            url,
            secrets,
            disabled,
        }))
    }

    /// This database's own name, which webhook ids and mail Message-IDs carry.
    pub async fn identity(&self) -> Result<String, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_scalar(
            "SELECT name FROM store_identity WHERE id = 1"
        )
        .fetch_one(exe)
        .await)?)
    }
}

/// Which of the deliveries that did not arrive at their first attempt to read: each
/// filter given narrows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Troubled<'a> {
    /// Only those in this state, `retrying` or `dead`; both when none.
    pub status: Option<&'a str>,
    /// Only those of this message.
    pub message: Option<&'a str>,
    /// Only those to this recipient: a recipient kind (`partner`, `customer`) and its
    /// organisation.
    pub to: Option<(&'a str, &'a str)>,
    /// Only the webhooks to this endpoint.
    pub endpoint: Option<&'a str>,
}

/// A stored delivery and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub id: i64,
    /// The message's id.
    pub message: String,
    pub recipient: String,
    /// The partner or customer it goes to; none for the vendor.
    pub org: Option<String>,
    pub channel: String,
    /// The contact (email) or endpoint (webhook) it goes to.
    pub to: String,
    /// The email address, for email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The locale it is written in, for email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// For a partner's endpoint that takes one event per customer, the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// `pending`, `delivered`, `retrying` or `dead`.
    pub status: String,
    /// How many attempts it has had.
    pub attempts: i64,
    /// When it is tried next, in Unix milliseconds, while `retrying`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    /// What went wrong last, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A delivery with every attempt at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    pub attempts: Vec<Attempt>,
}

/// Where one entry of a batch stands, read from its attempts and its retry.
#[derive(Clone, Debug, Default)]
struct Standing {
    delivered: bool,
    attempts: i64,
    retry: Option<RetryStanding>,
}

/// An attempt at one delivery of a batch, as read to see where the batch stands.
#[derive(sqlx::FromRow)]
struct AttemptRow {
    delivery: i64,
    attempt: i64,
    outcome: Outcome,
}

/// A `delivery_retries` row, as read to see where a delivery stands.
#[derive(Clone, Debug, sqlx::FromRow)]
struct RetryStanding {
    delivery: i64,
    status: RetryStatus,
    due_at: i64,
    last_error: Option<String>,
}

/// One batch row, as read to show its deliveries: [`BatchRow::COLUMNS`] of
/// `delivery_batches b` joined to `messages m`.
#[derive(sqlx::FromRow)]
pub(crate) struct BatchRow {
    pub id: i64,
    /// The message's id.
    pub message: String,
    pub recipient: Recipient,
    pub channel: Channel,
    pub status: BatchStatus,
    pub body: String,
}

impl BatchRow {
    pub(crate) const COLUMNS: &'static str =
        "b.id, m.id AS message, b.recipient, b.channel, b.status, b.body";
}

/// A delivery that did not arrive at its first attempt, and its batch.
#[derive(sqlx::FromRow)]
struct TroubledRow {
    delivery: i64,
    #[sqlx(flatten)]
    batch: BatchRow,
}

/// Where one delivery of a message is: its batch, and its place in the batch's body.
#[derive(sqlx::FromRow)]
struct Place {
    batch: i64,
    place: i64,
}

impl Store {
    /// Where the entries of batch `batch` stand, by delivery id: those with an attempt or
    /// a retry.
    async fn standings(&self, batch: i64) -> Result<HashMap<i64, Standing>, StoreError> {
        let mut standings: HashMap<i64, Standing> = HashMap::new();
        let attempts: Vec<AttemptRow> = on_pool!(self.pool(), |exe| sqlx::query_as(
            "SELECT delivery, attempt, outcome FROM delivery_attempts \
             WHERE delivery BETWEEN $1 AND $2 ORDER BY delivery, attempt",
        )
        .bind(delivery_id(batch, 0))
        .bind(delivery_id(batch, BATCH - 1))
        .fetch_all(exe)
        .await)?;
        for a in attempts {
            let s = standings.entry(a.delivery).or_default();
            s.attempts = a.attempt;
            s.delivered = a.outcome == Outcome::Delivered;
        }
        let retries: Vec<RetryStanding> = on_pool!(self.pool(), |exe| {
            sqlx::query_as(
            "SELECT delivery, status, due_at, last_error FROM delivery_retries WHERE batch = $1",
        )
        .bind(batch)
        .fetch_all(exe)
        .await
        })?;
        for retry in retries {
            let delivery = retry.delivery;
            standings.entry(delivery).or_default().retry = Some(retry);
        }
        Ok(standings)
    }

    /// The deliveries of one batch, each with where it stands.
    pub(crate) async fn batch_deliveries(
        &self,
        b: &BatchRow,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let standings = self.standings(b.id).await?;
        let entries: Vec<Value> = batch(&b.body)?;
        Ok(entries
            .into_iter()
            .enumerate()
            .map(|(n, entry)| {
                let id = delivery_id(b.id, n);
                view_of(b, id, &entry, standings.get(&id))
            })
            .collect())
    }

    /// Delivery `id` with every attempt, if it is one of `cloud`'s.
    pub async fn delivery(
        &self,
        cloud: &str,
        id: i64,
    ) -> Result<Option<DeliveryDetail>, StoreError> {
        let (batch_id, n) = delivery_place(id);
        let Some(b): Option<BatchRow> = on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {} FROM delivery_batches b JOIN messages m ON m.seq = b.message \
             WHERE b.id = $1 AND m.cloud = $2",
            BatchRow::COLUMNS
        ))
        .bind(batch_id)
        .bind(cloud)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        let entries: Vec<Value> = batch(&b.body)?;
        let Some(entry) = entries.get(n) else {
            return Ok(None);
        };
        let standings = self.standings(b.id).await?;
        let attempts = on_pool!(self.pool(), |exe| sqlx::query_as(
            "SELECT at, latency_us, outcome, code, reply, error FROM delivery_attempts \
             WHERE delivery = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(exe)
        .await)?;
        Ok(Some(DeliveryDetail {
            delivery: view_of(&b, id, entry, standings.get(&id)),
            attempts,
        }))
    }

    /// The deliveries of `cloud` that did not arrive at their first attempt and are
    /// retrying or dead, newest first, up to `limit`, from before delivery `before` when
    /// given; only those `which` picks.
    pub async fn troubled_deliveries(
        &self,
        cloud: &str,
        which: Troubled<'_>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let (recipient, org) = which.to.unzip();
        let engine = self.engine();
        let place = "r.delivery - b.id * $5";
        let (org_of, to_of) = (
            engine.json_at_nth("b.body", place, 0),
            engine.json_at_nth("b.body", place, 1),
        );
        let rows: Vec<TroubledRow> = on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT r.delivery, {} FROM delivery_retries r \
             JOIN delivery_batches b ON b.id = r.batch JOIN messages m ON m.seq = b.message \
             WHERE r.status <> $11 AND ($1 IS NULL OR r.status = $1) \
             AND m.cloud = $2 AND r.delivery < $3 \
             AND ($4 IS NULL OR (b.recipient = $4 AND {org_of} = $6)) \
             AND ($8 IS NULL OR m.id = $8) \
             AND ($9 IS NULL OR (b.channel = $10 AND {to_of} = $9)) \
             ORDER BY r.delivery DESC LIMIT $7",
            BatchRow::COLUMNS
        ))
        .bind(which.status)
        .bind(cloud)
        .bind(before.unwrap_or(i64::MAX))
        .bind(recipient)
        .bind(BATCH as i64)
        .bind(org)
        .bind(limit as i64)
        .bind(which.message)
        .bind(which.endpoint)
        .bind(Channel::Webhook.as_str())
        .bind(RetryStatus::Delivered.as_str())
        .fetch_all(exe)
        .await)?;
        let mut views = Vec::with_capacity(rows.len());
        for TroubledRow {
            delivery: id,
            batch: b,
        } in rows
        {
            let standings = self.standings(b.id).await?;
            let entries: Vec<Value> = batch(&b.body)?;
            if let Some(entry) = entries.get(delivery_place(id).1) {
                views.push(view_of(&b, id, entry, standings.get(&id)));
            }
        }
        Ok(views)
    }

    /// The deliveries of message `message` of `cloud`, newest first, up to `limit`, from
    /// before delivery `before` when given; only those to `to` (a recipient kind and its
    /// organisation) when given.
    pub async fn message_deliveries(
        &self,
        cloud: &str,
        message: &str,
        to: Option<(&str, &str)>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let (recipient, org) = to.unzip();
        let engine = self.engine();
        let (entries, place) = (
            engine.json_elements("b.body", "entry"),
            engine.json_place("entry"),
        );
        let places: Vec<Place> = on_pool!(self.pool(), |exe| {
            sqlx::query_as(&format!(
            "SELECT b.id AS batch, {place} AS place FROM messages m JOIN delivery_batches b ON b.message = m.seq, \
                 {entries} \
             WHERE m.cloud = $1 AND m.id = $2 AND ($3 IS NULL OR (b.recipient = $3 AND entry.value ->> 0 = $4)) \
             AND b.id * $5 + {place} < $6 ORDER BY b.id DESC, {place} DESC LIMIT $7",
        ))
        .bind(cloud)
        .bind(message)
        .bind(recipient)
        .bind(org)
        .bind(BATCH as i64)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit as i64)
        .fetch_all(exe)
        .await
        })?;
        let mut views = Vec::with_capacity(places.len());
        let mut shown: Option<(i64, Vec<DeliveryView>)> = None;
        for Place {
            batch: batch_id,
            place: n,
        } in places
        {
            if shown.as_ref().is_none_or(|(id, _)| *id != batch_id) {
                let b: BatchRow = on_pool!(self.pool(), |exe| {
                    sqlx::query_as(&format!(
                    "SELECT {} FROM delivery_batches b JOIN messages m ON m.seq = b.message WHERE b.id = $1",
                    BatchRow::COLUMNS
                ))
                .bind(batch_id)
                .fetch_one(exe)
                .await
                })?;
                let all = self.batch_deliveries(&b).await?;
                shown = Some((batch_id, all));
            }
            let (_, all) = shown.as_ref().expect("read above");
            if let Some(view) = all.get(n as usize) {
                views.push(view.clone());
            }
        }
        Ok(views)
    }

    /// Replays delivery `id` of `cloud` at `now`: a dead letter, or one delivered that its
    /// receiver wants again, is tried again at once, and on the schedule after that. The
    /// audit log says `actor` replayed it.
    pub async fn replay(
        &self,
        cloud: &str,
        id: i64,
        now: i64,
        actor: &Actor,
    ) -> Result<Replayed, StoreError> {
        let Some(detail) = self.delivery(cloud, id).await? else {
            return Ok(Replayed::Unknown);
        };
        match detail.delivery.status.as_str() {
            "pending" | "retrying" => return Ok(Replayed::StillQueued(Box::new(detail.delivery))),
            _ => {}
        }
        let (_turn, mut tx) = self.begin_write().await?;
        on_tx!(&mut tx, |exe| sqlx::query(
            "INSERT INTO delivery_retries (delivery, batch, status, attempts, due_at) \
             VALUES ($1, $2, 'retrying', $3, $4) ON CONFLICT (delivery) DO UPDATE SET \
             status = 'retrying', due_at = $4, lease_until = NULL",
        )
        .bind(id)
        .bind(delivery_place(id).0)
        .bind(detail.delivery.attempts)
        .bind(now)
        .execute(&mut **exe)
        .await
        .map(drop))?;
        let d = &detail.delivery;
        let entry = NewEntry {
            at: now,
            cloud: Some(cloud),
            action: Action::DeliveryReplay,
            target: &id.to_string(),
            detail: serde_json::json!({
                "message": d.message,
                "recipient": d.recipient,
                "org": d.org,
                "channel": d.channel,
                "was": d.status,
            }),
        };
        audit::record(&mut tx, actor, entry).await?;
        tx.announce_queued().await?;
        tx.commit().await?;
        self.queued().notify_one();
        Ok(Replayed::Queued)
    }
}

/// What a replay did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replayed {
    /// It is queued to be tried again at once.
    Queued,
    /// It is still pending or retrying: nothing to replay yet.
    StillQueued(Box<DeliveryView>),
    /// No such delivery in the cloud.
    Unknown,
}

/// Entry `entry` (delivery `id`) of batch `b` as a view.
fn view_of(b: &BatchRow, id: i64, entry: &Value, standing: Option<&Standing>) -> DeliveryView {
    let text = |i: usize| entry.get(i).and_then(Value::as_str).map(str::to_owned);
    let email = b.channel == Channel::Email;
    let standing = standing.cloned().unwrap_or_default();
    let (status, next_attempt_at, last_error) = match standing.retry {
        Some(retry) => {
            let next = (retry.status == RetryStatus::Retrying).then_some(retry.due_at);
            (retry.status.as_str(), next, retry.last_error)
        }
        None if b.status == BatchStatus::Settled || standing.delivered => {
            (RetryStatus::Delivered.as_str(), None, None)
        }
        None => (BatchStatus::Pending.as_str(), None, None),
    };
    DeliveryView {
        id,
        message: b.message.clone(),
        recipient: b.recipient.as_str().to_owned(),
        org: text(0),
        channel: b.channel.as_str().to_owned(),
        to: text(1).unwrap_or_default(),
        address: if email { text(2) } else { None },
        locale: if email { text(3) } else { None },
        customer: if email { None } else { text(2) },
        status: status.to_owned(),
        attempts: standing.attempts,
        next_attempt_at,
        last_error,
    }
}

/// Names for what a copy lists, so a letter reads "Contoso (contoso)" rather than an id
/// alone: each customer's name, and each subscription's customer and product name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyNames {
    pub customers: HashMap<String, Option<String>>,
    /// Subscription id to (customer id, product name).
    pub subscriptions: HashMap<String, (String, Option<String>)>,
}

/// A customer's id and name.
#[derive(sqlx::FromRow)]
struct CustomerName {
    id: String,
    name: Option<String>,
}

/// A subscription's id, its customer and the name of its product.
#[derive(sqlx::FromRow)]
struct SubscriptionName {
    id: String,
    customer: String,
    product: Option<String>,
}

impl Store {
    /// The names of `customers` and `subscriptions` in the stored directory (those it no
    /// longer holds are left out).
    pub async fn copy_names(
        &self,
        customers: &[String],
        subscriptions: &[String],
    ) -> Result<CopyNames, StoreError> {
        let engine = self.engine();
        let (name, ids) = (engine.json_field("body", "name"), engine.json_strings("$1"));
        let customers = on_pool!(self.pool(), |exe| sqlx::query_as::<_, CustomerName>(
            &format!(
                "SELECT id, {name} AS name FROM customers WHERE id IN (SELECT value FROM {ids})"
            )
        )
        .bind(serde_json::to_string(customers).expect("ids serialise"))
        .fetch_all(exe)
        .await)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
        let (product, named) = (
            engine.json_field("p.body", "name"),
            engine.json_field("s.body", "product"),
        );
        let subscriptions = on_pool!(self.pool(), |exe| sqlx::query_as::<_, SubscriptionName>(
            &format!(
                "SELECT s.id, s.customer, {product} AS product FROM subscriptions s \
             LEFT JOIN products p ON p.id = {named} \
             WHERE s.id IN (SELECT value FROM {ids})"
            )
        )
        .bind(serde_json::to_string(subscriptions).expect("ids serialise"))
        .fetch_all(exe)
        .await)?
        .into_iter()
        .map(|s| (s.id, (s.customer, s.product)))
        .collect();
        Ok(CopyNames {
            customers,
            subscriptions,
        })
    }
}

impl Store {
    /// How many deliveries are not settled yet: batches still pending (leased or not)
    /// and retries still to be tried; email ones only when `email`. Zero once every
    /// delivery arrived or died.
    pub async fn unsettled(&self, email: bool) -> Result<i64, StoreError> {
        Ok(on_pool!(self.pool(), |exe| {
            sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM delivery_batches \
                     WHERE status = 'pending' AND (channel <> 'email' OR $1)) \
                  + (SELECT count(*) FROM delivery_retries r JOIN delivery_batches b ON b.id = r.batch \
                     WHERE r.status = 'retrying' AND (b.channel <> 'email' OR $1))",
        )
        .bind(email)
        .fetch_one(exe)
        .await
        })?)
    }

    /// When the soonest unsettled delivery may next be leased (Unix milliseconds): when it
    /// is due, or when the lease another worker holds on it runs out. Email ones only
    /// when `email`.
    pub async fn next_due(&self, email: bool) -> Result<Option<i64>, StoreError> {
        let greatest = self.engine().greatest();
        Ok(on_pool!(self.pool(), |exe| {
            sqlx::query_scalar(&format!(
            "SELECT min(t) FROM ( \
                 SELECT {greatest}(due_at, coalesce(lease_until, 0)) AS t FROM delivery_batches \
                 WHERE status = 'pending' AND (channel <> 'email' OR $1) \
                 UNION ALL SELECT {greatest}(r.due_at, coalesce(r.lease_until, 0)) FROM delivery_retries r \
                 JOIN delivery_batches b ON b.id = r.batch \
                 WHERE r.status = 'retrying' AND (b.channel <> 'email' OR $1)) AS due",
        ))
        .bind(email)
        .fetch_one(exe)
        .await
        })?)
    }
}
