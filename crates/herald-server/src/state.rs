//! What every request handler shares: the use cases (and through them the store, the
//! policy and the stored directory as last read), the webhook sender, the metrics, and the
//! message bus when the process reads one.

use std::sync::Arc;

use herald_delivery::{Guard, Sender, SenderConfig, SenderError};
use herald_domain::Policy;
use herald_intake::Bus;
use herald_service::Service;
use herald_store::{Store, StoreError};

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
    service: Service,
    metrics: Arc<Metrics>,
    /// Sends endpoints' test events, under the guard `config.webhooks` sets.
    webhooks: Sender,
    /// The bus the process's intake reads, whose connection readiness checks.
    bus: std::sync::OnceLock<Bus>,
    /// Whether the server is stopping: the console's live streams end when it is.
    stopping: tokio::sync::watch::Sender<bool>,
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
        Ok(AppState(Arc::new(Inner {
            service: Service::new(store, policy).await?,
            metrics: Arc::default(),
            webhooks,
            bus: std::sync::OnceLock::new(),
            stopping: tokio::sync::watch::Sender::new(false),
        })))
    }

    /// Says the server is stopping, so that streams that would never end on their own
    /// (the console's live pages) end now and the requests in flight can finish.
    pub fn stop(&self) {
        self.0.stopping.send_replace(true);
    }

    /// Whether the server is stopping, as it changes.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.stopping.subscribe()
    }

    /// Says that the process reads `bus`, which its readiness then depends on.
    pub fn reads(&self, bus: Bus) {
        let _ = self.0.bus.set(bus);
    }

    /// The bus the process reads, if it reads one.
    pub fn bus(&self) -> Option<&Bus> {
        self.0.bus.get()
    }

    /// The use cases every handler calls.
    pub fn service(&self) -> &Service {
        &self.0.service
    }

    pub fn store(&self) -> &Store {
        self.0.service.store()
    }

    pub fn policy(&self) -> &Policy {
        self.0.service.policy()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    /// The webhook sender, and through it the guard endpoints' URLs are checked with.
    pub fn webhooks(&self) -> &Sender {
        &self.0.webhooks
    }
}
