//! Deliveries after they are queued: leasing them to workers, recording every attempt,
//! retrying on a schedule and ending in a dead letter a person may replay.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::rows::{DecisionEntry, BATCH};
use crate::store::{batch, ids};
use crate::{MessageSummary, PartnerCopyView, Store, StoreError};

/// How one attempt at a delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// The receiver took it.
    Delivered,
    /// It did not arrive this time; it is tried again on the schedule.
    Failed,
    /// The receiver answered 410 Gone: its endpoint is disabled and the delivery is dead.
    Gone,
    /// It cannot succeed (an address Herald will not send to, a permanent SMTP refusal):
    /// it is dead at once.
    Refused,
}

impl Outcome {
    /// The name stored in `delivery_attempts.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::Gone => "gone",
            Outcome::Refused => "refused",
        }
    }
}

/// One attempt at a delivery, as a channel reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    /// When it started, in Unix milliseconds.
    pub at: i64,
    /// How long it took, in microseconds.
    pub latency_us: i64,
    pub outcome: Outcome,
    /// The HTTP status or SMTP reply code, when the receiver answered.
    pub code: Option<i64>,
    /// The SMTP reply text, or the start of an HTTP answer's body.
    pub reply: Option<String>,
    /// What went wrong, in words, when it did.
    pub error: Option<String>,
}

/// What becomes of a delivery after an attempt: the worker decides from the outcome and
/// its retry schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// It arrived; nothing more to do.
    Delivered,
    /// Try again at this time (Unix milliseconds).
    RetryAt(i64),
    /// No more attempts: a dead letter, until a person replays it.
    Dead,
}

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

/// An attempt to record, and what it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    pub delivery: i64,
    pub batch: i64,
    /// The attempt's number: 1 for the first.
    pub number: i64,
    pub attempt: Attempt,
    pub next: Next,
    /// An endpoint to disable, and why: its receiver answered 410 Gone.
    pub disable: Option<(String, String)>,
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
    /// Leases up to `limit` due batches (pending, due by `now`, not leased to a live
    /// worker) until `until`, soonest due first, with the entries an earlier lease
    /// already settled.
    pub async fn lease_batches(
        &self,
        now: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<LeasedBatch>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let rows = sqlx::query(
            "UPDATE delivery_batches SET lease_until = ?1 WHERE id IN ( \
                 SELECT id FROM delivery_batches WHERE status = 'pending' AND due_at <= ?2 \
                 AND (lease_until IS NULL OR lease_until <= ?2) ORDER BY due_at, id LIMIT ?3) \
             RETURNING id, message, recipient, channel, body",
        )
        .bind(until)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut leased = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.get(0);
            let settled: Vec<i64> = sqlx::query_scalar(
                "SELECT delivery FROM delivery_attempts WHERE delivery BETWEEN ?1 AND ?2 \
                     AND outcome = 'delivered' \
                 UNION SELECT delivery FROM delivery_retries WHERE batch = ?3",
            )
            .bind(delivery_id(id, 0))
            .bind(delivery_id(id, BATCH - 1))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            leased.push(LeasedBatch {
                id,
                message: row.get(1),
                recipient: row.get(2),
                channel: row.get(3),
                body: row.get(4),
                settled: settled.into_iter().map(|d| delivery_place(d).1).collect(),
            });
        }
        leased.sort_by_key(|b| b.id);
        tx.commit().await?;
        Ok(leased)
    }

    /// Leases up to `limit` retries due by `now` (not leased to a live worker) until
    /// `until`, soonest due first.
    pub async fn lease_retries(
        &self,
        now: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<LeasedRetry>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let leased: Vec<i64> = sqlx::query_scalar(
            "UPDATE delivery_retries SET lease_until = ?1 WHERE delivery IN ( \
                 SELECT delivery FROM delivery_retries WHERE status = 'retrying' AND due_at <= ?2 \
                 AND (lease_until IS NULL OR lease_until <= ?2) ORDER BY due_at LIMIT ?3) \
             RETURNING delivery",
        )
        .bind(until)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut retries = Vec::with_capacity(leased.len());
        for delivery in leased {
            let row = sqlx::query(
                "SELECT r.batch, b.message, b.recipient, b.channel, \
                     json_extract(b.body, printf('$[%d]', r.delivery - r.batch * ?2)), r.attempts \
                 FROM delivery_retries r JOIN delivery_batches b ON b.id = r.batch \
                 WHERE r.delivery = ?1",
            )
            .bind(delivery)
            .bind(BATCH as i64)
            .fetch_one(&mut *tx)
            .await?;
            retries.push(LeasedRetry {
                delivery,
                batch: row.get(0),
                message: row.get(1),
                recipient: row.get(2),
                channel: row.get(3),
                entry: row.get(4),
                attempts: row.get(5),
            });
        }
        tx.commit().await?;
        Ok(retries)
    }

    /// Keeps the leases of `batches` and `retries` until `until`, while a worker is still
    /// sending them.
    pub async fn extend_leases(
        &self,
        batches: &[i64],
        retries: &[i64],
        until: i64,
    ) -> Result<(), StoreError> {
        if batches.is_empty() && retries.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for id in batches {
            sqlx::query(
                "UPDATE delivery_batches SET lease_until = ? WHERE id = ? AND status = 'pending'",
            )
            .bind(until)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        for delivery in retries {
            sqlx::query(
                "UPDATE delivery_retries SET lease_until = ? WHERE delivery = ? AND status = 'retrying'",
            )
            .bind(until)
            .bind(delivery)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
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
        for s in attempts {
            let a = &s.attempt;
            let fresh = sqlx::query(
                "INSERT OR IGNORE INTO delivery_attempts \
                 (delivery, attempt, at, latency_us, outcome, code, reply, error) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(s.delivery)
            .bind(s.number)
            .bind(a.at)
            .bind(a.latency_us)
            .bind(a.outcome.as_str())
            .bind(a.code)
            .bind(&a.reply)
            .bind(&a.error)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !fresh {
                continue;
            }
            let (status, due_at) = match s.next {
                Next::Delivered => ("delivered", a.at),
                Next::RetryAt(at) => ("retrying", at),
                Next::Dead => ("dead", a.at),
            };
            if s.number == 1 {
                if s.next != Next::Delivered {
                    sqlx::query(
                        "INSERT OR IGNORE INTO delivery_retries \
                         (delivery, batch, status, attempts, due_at, last_error) VALUES (?, ?, ?, 1, ?, ?)",
                    )
                    .bind(s.delivery)
                    .bind(s.batch)
                    .bind(status)
                    .bind(due_at)
                    .bind(a.error.as_deref().or(a.reply.as_deref()))
                    .execute(&mut *tx)
                    .await?;
                }
            } else {
                sqlx::query(
                    "UPDATE delivery_retries SET status = ?, attempts = ?, due_at = ?, \
                     lease_until = NULL, last_error = coalesce(?, last_error) \
                     WHERE delivery = ? AND attempts < ?",
                )
                .bind(status)
                .bind(s.number)
                .bind(due_at)
                .bind(a.error.as_deref().or(a.reply.as_deref()))
                .bind(s.delivery)
                .bind(s.number)
                .execute(&mut *tx)
                .await?;
            }
            if let Some((endpoint, reason)) = &s.disable {
                sqlx::query(
                    "UPDATE endpoints SET disabled_at = ?, disabled_reason = ? \
                     WHERE id = ? AND disabled_at IS NULL",
                )
                .bind(a.at)
                .bind(reason)
                .bind(endpoint)
                .execute(&mut *tx)
                .await?;
            }
        }
        for id in settled_batches {
            sqlx::query(
                "UPDATE delivery_batches SET status = 'settled', lease_until = NULL WHERE id = ?",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
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
        let Some(row) = sqlx::query(&format!(
            "SELECT {}, request FROM messages WHERE seq = ?",
            Self::SUMMARY_COLUMNS
        ))
        .bind(seq)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let request: String = row.get("request");
        Ok(Some(Sending {
            summary: Self::summary_from(&row),
            request: serde_json::from_str(&request).map_err(|e| {
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
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM decision_batches WHERE message = ? AND first_customer <= ? \
             ORDER BY first_customer DESC LIMIT 1",
        )
        .bind(seq)
        .bind(customer)
        .fetch_optional(self.pool())
        .await?;
        body.map_or(Ok(Vec::new()), |b| batch(&b))
    }

    /// Partner `partner`'s copy of message `seq`: its customers and subscriptions.
    pub async fn partner_copy_of(
        &self,
        seq: i64,
        partner: &str,
    ) -> Result<Option<PartnerCopyView>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT customers, subscriptions FROM partner_copies WHERE message = ? AND partner = ?",
        )
        .bind(seq)
        .bind(partner)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(customers, subscriptions)| {
            Ok(PartnerCopyView {
                partner: partner.to_owned(),
                customers: ids(&customers)?,
                subscriptions: ids(&subscriptions)?,
            })
        })
        .transpose()
    }

    /// Endpoint `id` as a worker sends to it at `now`, or `None` once it is deleted.
    pub async fn target(&self, id: &str, now: i64) -> Result<Option<Target>, StoreError> {
        let Some((url, disabled)): Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT url, CASE WHEN disabled_at IS NULL THEN NULL \
                 ELSE coalesce(disabled_reason, 'it was disabled') END \
             FROM endpoints WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let secrets = sqlx::query_scalar(
            "SELECT secret FROM endpoint_secrets WHERE endpoint = ? \
             AND (expires_at IS NULL OR expires_at > ?) ORDER BY id DESC",
        )
        .bind(id)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        Ok(Some(Target {
            url,
            secrets,
            disabled,
        }))
    }

    /// This database's own name, which webhook ids and mail Message-IDs carry.
    pub async fn identity(&self) -> Result<String, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM store_identity WHERE id = 1")
                .fetch_one(self.pool())
                .await?,
        )
    }
}
