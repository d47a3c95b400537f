//! Storing a publish: the message, its decisions, partner and customer copies, thread
//! and deliveries in one transaction, idempotent under the message's id.

use crate::audit::{self, Action, Actor, NewEntry};
use crate::copies::MessageSummary;
use crate::directory::directory_generation;
use crate::engine::{on_pool, on_tx, Pool, Tx};
use crate::error::StoreError;
use crate::rows::{MessageRow, Publish, Rows};
use crate::store::Store;
use crate::subscribers::webhook_batches;

/// The outcome of storing a publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// Newly accepted and durably enqueued.
    Accepted(MessageSummary),
    /// Already accepted with the same content: nothing changed.
    Repeated(MessageSummary),
}

impl Store {
    /// The canonical request of a stored message, if `id` is stored.
    pub async fn request(&self, cloud: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_scalar(
            "SELECT request FROM messages WHERE cloud = $1 AND id = $2"
        )
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?)
    }

    /// Stores a publish in one transaction: the message, its decisions, its partner copies
    /// and its deliveries. The same message again changes nothing; another message under
    /// the same id is refused. The rows are built, on every core, while they are written.
    ///
    /// `directory` is the generation of the stored directory the message was routed
    /// against ([`Snapshot::generation`](crate::Snapshot::generation)); when an import or a record change has changed
    /// it since, nothing is written and [`StoreError::DirectoryChanged`] says to route
    /// again. `None` skips the check, for a message routed against a directory that is not
    /// the stored one.
    ///
    /// The audit log says `actor` published it; a repeat or a refusal records nothing.
    pub async fn publish(
        &self,
        publish: &Publish<'_>,
        directory: Option<i64>,
        actor: &Actor,
    ) -> Result<Published, StoreError> {
        let id = publish.message.id.as_str();
        let request = publish.message.wire.canonical();
        let (_turn, mut tx) = self.begin_write().await?;
        if let Some(expected) = directory {
            if directory_generation(&mut tx).await? != expected {
                return Err(StoreError::DirectoryChanged);
            }
        }
        let row = MessageRow::new(publish);
        let cloud = row.cloud.as_str();
        if let Some(thread) = &publish.message.thread {
            let head: Option<i64> = on_tx!(&mut tx, |exe| sqlx::query_scalar(
                "SELECT head FROM threads WHERE cloud = $1 AND id = $2"
            )
            .bind(cloud)
            .bind(thread.id.as_str())
            .fetch_optional(&mut **exe)
            .await)?;
            if head != publish.thread_head {
                return Err(StoreError::ThreadMoved(thread.id.to_string()));
            }
        }
        let Some(seq) = insert_message(&mut tx, id, &row).await? else {
            let stored: String = on_tx!(&mut tx, |exe| sqlx::query_scalar(
                "SELECT request FROM messages WHERE cloud = $1 AND id = $2"
            )
            .bind(cloud)
            .bind(id)
            .fetch_one(&mut **exe)
            .await)?;
            tx.rollback().await?;
            if stored != request {
                return Err(StoreError::Conflict(id.to_owned()));
            }
            let summary = self
                .summary(cloud, id)
                .await?
                .ok_or_else(|| StoreError::Damaged(format!("message \"{id}\" was lost")))?;
            return Ok(Published::Repeated(summary));
        };
        let (tail, broadcast) = match &mut tx {
            Tx::Sqlite(tx) => {
                crate::sqlite::write_publish(tx, seq, publish, self.buffers()).await?
            }
            Tx::Postgres(tx) => {
                crate::postgres::write_publish(tx, seq, publish, self.buffers()).await?
            }
        };
        if let Some(thread) = &publish.message.thread {
            on_tx!(&mut tx, |exe| {
                sqlx::query(
                "INSERT INTO threads (cloud, id, category, status, opened_at, updated_at, head, updates) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6, 1) ON CONFLICT (cloud, id) DO UPDATE SET \
                 status = excluded.status, updated_at = excluded.updated_at, head = excluded.head, \
                 updates = threads.updates + 1",
            )
            .bind(cloud)
            .bind(thread.id.as_str())
            .bind(&row.category)
            .bind(thread.status.as_str())
            .bind(publish.accepted_at)
            .bind(seq)
            .execute(&mut **exe)
            .await.map(drop)
            })?;
        }
        let hooks =
            webhook_batches(&mut tx, publish, cloud, &row.category, &tail.audiences).await?;
        for b in &hooks {
            on_tx!(&mut tx, |exe| {
                sqlx::query(
                "INSERT INTO delivery_batches (message, recipient, channel, deliveries, body, due_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(seq)
            .bind(b.recipient)
            .bind(b.channel)
            .bind(b.deliveries as i64)
            .bind(&b.body)
            .bind(publish.accepted_at)
            .execute(&mut **exe)
            .await.map(drop)
            })?;
        }
        let mut m = tail.message;
        m.deliveries += hooks.iter().map(|b| b.deliveries as i64).sum::<i64>();
        on_tx!(&mut tx, |exe| {
            sqlx::query(
            "UPDATE messages SET customers_direct = $1, partners_told = $2, deliveries = $3, broadcast = $4 \
             WHERE seq = $5",
        )
        .bind(m.customers_direct)
        .bind(m.partners_told)
        .bind(m.deliveries)
        .bind(broadcast)
        .bind(seq)
        .execute(&mut **exe)
        .await.map(drop)
        })?;
        let entry = NewEntry {
            at: publish.accepted_at,
            cloud: Some(cloud),
            action: Action::MessagePublish,
            target: id,
            detail: serde_json::json!({
                "category": m.category,
                "thread": m.thread,
                "customers_in_scope": m.customers_in_scope,
                "customers_direct": m.customers_direct,
                "partners_told": m.partners_told,
                "deliveries": m.deliveries,
            }),
        };
        audit::record(&mut tx, actor, entry).await?;
        tx.announce_queued().await?;
        tx.commit().await?;
        self.queued().notify_one();
        Ok(Published::Accepted(MessageSummary {
            id: m.id.clone(),
            cloud: m.cloud.clone(),
            category: m.category.clone(),
            policy_version: m.policy_version.clone(),
            accepted_at: m.accepted_at,
            customers_in_scope: m.customers_in_scope,
            customers_direct: m.customers_direct,
            partners_told: m.partners_told,
            deliveries: m.deliveries,
            thread: m.thread.clone(),
            status: m.status.map(str::to_owned),
        }))
    }

    /// Writes `rows` under message id `id` the plainest way: the message row, then one
    /// prepared `INSERT` per row, in one transaction, with no routing, no idempotency check
    /// and nothing computed. This is the baseline `herald bench publish` measures against.
    pub async fn insert_rows_plainly(&self, id: &str, rows: &Rows<'_>) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let seq = insert_message(&mut tx, id, &rows.message)
            .await?
            .ok_or_else(|| StoreError::Conflict(id.to_owned()))?;
        match &mut tx {
            Tx::Sqlite(tx) => crate::sqlite::write_rows(tx, seq, rows).await?,
            Tx::Postgres(tx) => crate::postgres::write_rows(tx, seq, rows).await?,
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts `n` one-integer rows into a scratch table in one transaction, then drops it:
    /// the floor under any insert on this machine and disk, for the benchmark to report.
    pub async fn insert_scratch_rows(&self, n: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        match self.pool() {
            Pool::Sqlite(pool) => crate::sqlite::insert_scratch_rows(pool, n).await,
            Pool::Postgres(pool) => crate::postgres::insert_scratch_rows(pool, n).await,
        }
    }
}

/// Inserts the `messages` row under `id`, returning its sequence number, or `None` when a
/// message with that id is already stored.
async fn insert_message(tx: &mut Tx, id: &str, m: &MessageRow) -> Result<Option<i64>, StoreError> {
    Ok(on_tx!(tx, |exe| {
        sqlx::query_scalar(
        "INSERT INTO messages (id, cloud, category, policy_version, scope_rule, request, accepted_at, \
         customers_in_scope, customers_direct, partners_told, deliveries, thread, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (cloud, id) DO NOTHING RETURNING seq",
    )
    .bind(id)
    .bind(&m.cloud)
    .bind(&m.category)
    .bind(&m.policy_version)
    .bind(&m.scope_rule)
    .bind(&m.request)
    .bind(m.accepted_at)
    .bind(m.customers_in_scope)
    .bind(m.customers_direct)
    .bind(m.partners_told)
    .bind(m.deliveries)
    .bind(&m.thread)
    .bind(m.status)
    .fetch_optional(&mut **exe)
    .await
    })?)
}
