//! What every request handler shares: the store, the policy, the stored directory as last
//! read, the webhook sender, and the metrics.

use std::sync::{Arc, RwLock};

use herald_delivery::{Guard, Sender, SenderConfig, SenderError};
use herald_domain::Policy;
use herald_store::{Snapshot, Store, StoreError};

use crate::config::ServeConfig;
use crate::metrics::Metrics;

/// Why the server's state could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Webhooks(#[from] SenderError),
}

/// The server's shared state; cloning it is cheap.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    policy: Policy,
    /// The stored directory as last read. Every request that reads the directory checks
    /// the store's generation first and reads it again when it has changed (another
    /// process changed it), keeping the newer one here for the next request.
    snapshot: RwLock<Arc<Snapshot>>,
    /// Held while the directory is read again, so that requests finding it changed at
    /// once build it once, not once each.
    reloading: tokio::sync::Mutex<()>,
    /// Held while the directory is being changed, so changes do not interleave.
    directory_writes: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    /// Sends endpoints' test events, under the guard `config.webhooks` sets.
    webhooks: Sender,
}

impl AppState {
    /// The state for a store, reading its directory once, sending webhooks as `config`
    /// says.
    pub async fn new(
        store: Store,
        policy: Policy,
        config: &ServeConfig,
    ) -> Result<AppState, StateError> {
        let webhooks = Sender::new(SenderConfig {
            guard: Guard {
                allow_private: config.webhooks.allow_private,
            },
            ..SenderConfig::default()
        })?;
        let snapshot = store.load_snapshot().await?;
        Ok(AppState(Arc::new(Inner {
            store,
            policy,
            snapshot: RwLock::new(Arc::new(snapshot)),
            reloading: tokio::sync::Mutex::new(()),
            directory_writes: tokio::sync::Mutex::new(()),
            metrics: Arc::default(),
            webhooks,
        })))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    /// The webhook sender, and through it the guard endpoints' URLs are checked with.
    pub fn webhooks(&self) -> &Sender {
        &self.0.webhooks
    }

    /// The lock every change to the directory holds.
    pub fn directory_writes(&self) -> &tokio::sync::Mutex<()> {
        &self.0.directory_writes
    }

    /// The stored directory as last read; answers come from [`AppState::current_snapshot`].
    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.0.snapshot.read().expect("no thread panics holding it"))
    }

    /// The stored directory as it is now: the one held, or read again when the store's
    /// generation says it has changed since (another process imported one, say).
    pub async fn current_snapshot(&self) -> Result<Arc<Snapshot>, StoreError> {
        let generation = self.store().directory_generation().await?;
        let held = self.snapshot();
        if generation == held.generation {
            return Ok(held);
        }
        let _reloading = self.0.reloading.lock().await;
        // Another request may have read it while this one waited.
        let held = self.snapshot();
        if held.generation >= generation {
            return Ok(held);
        }
        let read = Arc::new(self.store().load_snapshot().await?);
        self.keep_snapshot(Arc::clone(&read));
        Ok(read)
    }

    /// Keeps `snapshot` when it is newer than the one held.
    pub fn keep_snapshot(&self, snapshot: Arc<Snapshot>) {
        let mut held = self
            .0
            .snapshot
            .write()
            .expect("no thread panics holding it");
        if snapshot.generation > held.generation {
            *held = snapshot;
        }
    }
}
