//! Ferry's HTTP listener: webhook ingress (EventBridge API destinations, Dataverse service
//! endpoints), `/healthz`, `/readyz` and `/metrics` on one port.
//!
//! Every inbound event is acknowledged only after the store has it (with the jobs it starts),
//! so a sender that saw 2xx never loses an event; anything else answers 4xx (do not retry) or
//! 503 (retry later).

mod config;
pub mod metrics;
mod routes;
mod state;

use std::future::Future;
use std::sync::Arc;

use ferry_store::Store;
use tokio::net::TcpListener;

pub use config::{AmazonIngress, AmazonJobs, DataverseJobs, DataverseWebhook, ServerConfig};
pub use metrics::Metrics;

use state::AppState;

/// The server: cheap to clone, one per node.
pub struct Server<S: Store> {
    state: Arc<AppState<S>>,
}

impl<S: Store> Clone for Server<S> {
    fn clone(&self) -> Self {
        Server { state: Arc::clone(&self.state) }
    }
}

impl<S: Store> Server<S> {
    /// A server over `store` with fresh metrics.
    pub fn new(store: S, config: ServerConfig) -> Self {
        Self::with_metrics(store, config, Arc::new(Metrics::new()))
    }

    /// A server exporting `metrics`, which the runtime and connectors also feed.
    pub fn with_metrics(store: S, config: ServerConfig, metrics: Arc<Metrics>) -> Self {
        Server { state: Arc::new(AppState::new(store, config, metrics)) }
    }

    /// The registry `/metrics` renders; hand it to whatever records API calls and latencies.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.state.metrics)
    }

    /// Every route, ready to be served or nested in a larger router.
    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` resolves, then stops accepting and lets requests
    /// in flight finish (an event being stored is still acknowledged).
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "server listening");
        }
        axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await
    }
}
