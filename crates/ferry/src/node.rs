//! Opening a node's store and building its worker pool from the config.

use std::sync::Arc;

use anyhow::Context as _;
use ferry_runtime::{CallObserver, JobContext, Pool, PoolConfig, Registry, Resilience};
use ferry_store::{AnyStore, Connection, Store};

use crate::config::NodeConfig;

/// Opens the configured store, applies migrations and registers the tenant and connections.
pub async fn open_store(cfg: &NodeConfig) -> anyhow::Result<AnyStore> {
    if cfg.store_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create data folder {}", cfg.data_dir.display()))?;
    }
    let store = AnyStore::open(&cfg.store_url).await?;
    store.migrate().await?;
    store.ensure_tenant(&cfg.tenant, cfg.tenant.as_ref()).await?;
    for c in &cfg.connections {
        store
            .upsert_connection(&Connection {
                tenant: cfg.tenant.clone(),
                id: c.id.clone(),
                system: c.system.clone(),
                endpoint: c.endpoint.clone(),
                credentials_ref: c.credentials.clone(),
                limits: c.limits.clone(),
            })
            .await?;
    }
    Ok(store)
}

/// The pool settings a config asks for.
pub fn pool_config(cfg: &NodeConfig) -> PoolConfig {
    let mut p = PoolConfig {
        workers: cfg.workers as usize,
        concurrency: cfg.concurrency as usize,
        lease: cfg.lease,
        ..PoolConfig::default()
    };
    if let Some(id) = &cfg.node_id {
        p.node_id = id.clone();
    }
    p.retry.max_attempts = cfg.max_attempts;
    p
}

/// A pool with the built-in flows; `observer` (the node's metrics) hears of every remote call.
pub fn pool<S: Store>(store: S, cfg: &NodeConfig, observer: Option<Arc<dyn CallObserver>>) -> anyhow::Result<Pool<S>> {
    let mut registry = Registry::new();
    crate::builtin::register(&mut registry)?;
    let resilience = match observer {
        Some(o) => Resilience::default().with_observer(o),
        None => Resilience::default(),
    };
    let ctx = JobContext { resilience: Arc::new(resilience) };
    Ok(Pool::new(store, registry, ctx, pool_config(cfg)))
}

/// Resolves when SIGTERM or Ctrl-C arrives.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
