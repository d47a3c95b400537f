//! A stored message read back whole: its summary, its request, its decisions, its
//! partner copies and its deliveries.

use serde::Serialize;

use crate::copies::{DecisionView, MessageSummary, PartnerCopyView, StoredCopy};
use crate::deliveries::{BatchRow, DeliveryView};
use crate::engine::on_pool;
use crate::error::StoreError;
use crate::json::batch;
use crate::rows::DecisionEntry;
use crate::store::Store;

/// A stored message with everything it became.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageDetail {
    pub summary: MessageSummary,
    pub request: serde_json::Value,
    pub decisions: Vec<DecisionView>,
    pub partner_copies: Vec<PartnerCopyView>,
    pub deliveries: Vec<DeliveryView>,
}

/// A message's summary with what only its detail shows.
#[derive(sqlx::FromRow)]
struct StoredMessage {
    #[sqlx(flatten)]
    summary: MessageSummary,
    seq: i64,
    request: String,
    scope_rule: String,
}

impl Store {
    /// One message's summary.
    pub async fn summary(
        &self,
        cloud: &str,
        id: &str,
    ) -> Result<Option<MessageSummary>, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {} FROM messages WHERE cloud = $1 AND id = $2",
            MessageSummary::COLUMNS
        ))
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?)
    }

    /// Every stored message, oldest first.
    pub async fn messages(&self) -> Result<Vec<MessageSummary>, StoreError> {
        Ok(on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {} FROM messages ORDER BY seq",
            MessageSummary::COLUMNS
        ))
        .fetch_all(exe)
        .await)?)
    }

    /// A message with its decisions, partner copies and deliveries.
    pub async fn message(
        &self,
        cloud: &str,
        id: &str,
    ) -> Result<Option<MessageDetail>, StoreError> {
        let Some(StoredMessage {
            summary,
            seq,
            request,
            scope_rule,
        }) = on_pool!(self.pool(), |exe| sqlx::query_as(&format!(
            "SELECT {}, seq, request, scope_rule FROM messages WHERE cloud = $1 AND id = $2",
            MessageSummary::COLUMNS
        ))
        .bind(cloud)
        .bind(id)
        .fetch_optional(exe)
        .await)?
        else {
            return Ok(None);
        };
        let mut decisions = Vec::new();
        for body in on_pool!(self.pool(), |exe| sqlx::query_scalar::<_, String>(
            "SELECT body FROM decision_batches WHERE message = $1 ORDER BY first_customer",
        )
        .bind(seq)
        .fetch_all(exe)
        .await)?
        {
            decisions.extend(
                batch::<DecisionEntry>(&body)?
                    .into_iter()
                    .map(|entry| DecisionView::of(entry, &scope_rule)),
            );
        }
        let partner_copies = on_pool!(self.pool(), |exe| sqlx::query_as::<_, StoredCopy>(
            "SELECT partner, customers, subscriptions FROM partner_copies WHERE message = $1 ORDER BY partner",
        )
        .bind(seq)
        .fetch_all(exe)
        .await)?
        .into_iter()
        .map(StoredCopy::view)
        .collect::<Result<_, StoreError>>()?;
        let mut deliveries = Vec::new();
        for b in on_pool!(self.pool(), |exe| sqlx::query_as::<_, BatchRow>(&format!(
            "SELECT {} FROM delivery_batches b JOIN messages m ON m.seq = b.message \
             WHERE b.message = $1 ORDER BY b.id",
            BatchRow::COLUMNS
        ))
        .bind(seq)
        .fetch_all(exe)
        .await)?
        {
            deliveries.extend(self.batch_deliveries(&b).await?);
        }
        Ok(Some(MessageDetail {
            summary,
            request: serde_json::from_str(&request).map_err(|e| {
                StoreError::Damaged(format!("message \"{id}\" request does not parse: {e}"))
            })?,
            decisions,
            partner_copies,
            deliveries,
        }))
    }
}
