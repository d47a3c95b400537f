//! Herald's use cases, above the store: publishing a message (parse, route, widen a
//! thread, write), changing the directory, explaining a decision, what each principal may
//! read (messages, threads, inboxes, deliveries), and who may ask for what. The command line and the HTTP API both call this one
//! layer, so a request means the same whichever way it came.
//!
//! The store stores what it is given; routing happens here, against the stored directory
//! as this service last read it ([`Service::current_snapshot`]), which it reads again
//! whenever the store's generation says another process changed it.

mod access;
mod deliveries;
mod directory;
mod explaining;
mod publishing;
mod refusal;
mod views;

use std::sync::{Arc, RwLock};

use herald_domain::Policy;
use herald_store::{Snapshot, Store, StoreError};

pub use access::{catalog_refused, Caller, Editor};
pub use deliveries::DeliveryPage;
pub use directory::Placed;
pub use explaining::{Decided, Explained};
pub use publishing::Outcome;
pub use refusal::{Refusal, ServiceError};
pub use views::{CustomerIncidents, Incident, Notices, Sight, Timeline};

/// The use cases over one store under one policy; cloning it is cheap.
#[derive(Clone)]
pub struct Service(Arc<Inner>);

struct Inner {
    store: Store,
    policy: Policy,
    /// The stored directory as last read. Every use that reads the directory checks the
    /// store's generation first and reads it again when it has changed (another process
    /// changed it), keeping the newer one here for the next.
    snapshot: RwLock<Arc<Snapshot>>,
    /// Held while the directory is read again, so that requests finding it changed at
    /// once build it once, not once each.
    reloading: tokio::sync::Mutex<()>,
    /// Held while the directory is being changed, so changes do not interleave.
    directory_writes: tokio::sync::Mutex<()>,
}

impl Service {
    /// The use cases over `store` under `policy`, reading the stored directory once.
    pub async fn new(store: Store, policy: Policy) -> Result<Service, StoreError> {
        let snapshot = store.load_snapshot().await?;
        Ok(Service(Arc::new(Inner {
            store,
            policy,
            snapshot: RwLock::new(Arc::new(snapshot)),
            reloading: tokio::sync::Mutex::new(()),
            directory_writes: tokio::sync::Mutex::new(()),
        })))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    /// The lock every change to the directory holds.
    fn directory_writes(&self) -> &tokio::sync::Mutex<()> {
        &self.0.directory_writes
    }

    /// The stored directory as last read; answers come from [`Service::current_snapshot`].
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
    fn keep_snapshot(&self, snapshot: Arc<Snapshot>) {
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
