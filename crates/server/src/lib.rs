//! Ferry's HTTP listener: webhook ingress (EventBridge API destinations, Dataverse service
//! endpoints), `/healthz`, `/readyz` and `/metrics` on one port.
//!
//! One node serves many tenants: `POST /t/{tenant}/ingress/amazon/eventbridge` and
//! `POST /t/{tenant}/ingress/dataverse/{connection}` serve the tenants in the [`Ingress`] table,
//! which changes while the server runs; `POST /ingress/…` serves the server's own tenant (its
//! [`ServerConfig`]). A tenant's keys authenticate only its own routes, and its events are
//! stored for it alone.
//!
//! Every inbound event is acknowledged only after the store has it (with the jobs it starts),
//! so a sender that saw 2xx never loses an event; anything else answers 4xx (do not retry) or
//! 503 (retry later), always with a JSON body `{"error": "…"}`. The listener is hardened
//! against a hostile network (see [`listener`]): read deadlines, a connection cap, the key
//! checked before a body is read, bounded bodies, optional TLS.

mod config;
mod ingress;
pub mod listener;
pub mod metrics;
mod routes;
mod state;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use ferry_store::Store;
use tokio::net::TcpListener;

pub use config::{AmazonIngress, AmazonJobs, DataverseJobs, DataverseWebhook, ServerConfig};
pub use ferry_connectors::amazon::webhooks::Freshness;
pub use ingress::Ingress;
pub use listener::ListenerLimits;
pub use metrics::Metrics;
pub use tls::{TlsConfig, TlsError};

use state::AppState;

/// The server: cheap to clone, one per node.
pub struct Server<S: Store> {
    state: Arc<AppState<S>>,
    tls: Option<TlsConfig>,
    /// Routes served beside the node's own (the admin API and console).
    extra: Option<axum::Router>,
}

impl<S: Store> Clone for Server<S> {
    fn clone(&self) -> Self {
        Server { state: Arc::clone(&self.state), tls: self.tls.clone(), extra: self.extra.clone() }
    }
}

impl<S: Store> Server<S> {
    /// A server over `store` with fresh metrics.
    pub fn new(store: S, config: ServerConfig) -> Self {
        Self::with_metrics(store, config, Arc::new(Metrics::new()))
    }

    /// A server exporting `metrics`, which the runtime and connectors also feed.
    pub fn with_metrics(store: S, mut config: ServerConfig, metrics: Arc<Metrics>) -> Self {
        let tls = config.tls.take();
        Server { state: Arc::new(AppState::new(store, config, metrics)), tls, extra: None }
    }

    /// Serves `routes` beside the node's own (their paths must not clash).
    pub fn with_routes(mut self, routes: axum::Router) -> Self {
        self.extra = Some(routes);
        self
    }

    /// The registry `/metrics` renders; hand it to whatever records API calls and latencies.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.state.metrics)
    }

    /// The per-tenant webhook table this server serves (`/t/{tenant}/ingress/…`); change it
    /// while the server runs. The own tenant's sources, from the [`ServerConfig`], are in it
    /// and are what `/ingress/…` serves.
    pub fn ingress(&self) -> Ingress<S> {
        self.state.ingress.clone()
    }

    /// Every route, ready to be served or nested in a larger router.
    pub fn router(&self) -> axum::Router {
        let own = routes::router(Arc::clone(&self.state));
        match &self.extra {
            Some(extra) => own.merge(extra.clone()),
            None => own,
        }
    }

    /// Serves on `listener` (HTTPS when the config has TLS) until `shutdown` resolves, then
    /// stops accepting and lets requests in flight finish (an event being stored is still
    /// acknowledged).
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Ok(addr) = listener.local_addr() {
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            tracing::info!(%addr, scheme, "server listening");
        }
        let served = listener::Served {
            app: self.router(),
            overflow: routes::overflow_router(self.state.limits.max_connections),
            limits: self.state.limits,
            tls: self.tls.as_ref().map(TlsConfig::acceptor),
        };
        listener::serve(listener, served, shutdown).await
    }
}
