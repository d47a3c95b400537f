//! Herald's HTTP API: vendors publish, partners and customers read, each through its own
//! API key and only what it may see.
//!
//! Every boundary of POLICY.md holds here from the outside: a vendor key acts in one cloud,
//! a partner key sees only its own copies (its own customers and subscriptions), a customer
//! key only its own. What a principal may not know of is answered 404, exactly as if it did
//! not exist; what it may see but not do is 403. Errors are `application/problem+json`
//! ([`problem`]); the OpenAPI document is generated from the handlers ([`api::ApiDoc`]).

pub mod api;
mod auth;
mod clock;
pub mod config;
mod console;
pub mod edge;
mod endpoints;
mod metrics;
pub mod problem;
pub mod request_log;
mod state;

use std::future::Future;
use std::net::SocketAddr;

pub use config::ServeConfig;
pub use state::{AppState, StateError};

/// Serves the API on `listener` until `shutdown` completes, then ends the console's live
/// streams and finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    config: &ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = state.clone();
    let app = api::router(state, config);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        stopping.stop();
    })
    .await
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
