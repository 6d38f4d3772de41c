//! What every request handler shares.

use std::sync::Arc;

use ferry_model::TenantId;
use ferry_runtime::PoolStats;
use ferry_store::Store;

use crate::config::ServerConfig;
use crate::ingress::Ingress;
use crate::listener::ListenerLimits;
use crate::metrics::Metrics;

pub(crate) struct AppState<S: Store> {
    pub store: S,
    /// The server's own tenant: the one `/ingress/…` (without `/t/{tenant}`) serves.
    pub tenant: TenantId,
    /// Every tenant's webhook sources, the own tenant's included.
    pub ingress: Ingress<S>,
    pub pool_stats: Option<Arc<PoolStats>>,
    pub metrics: Arc<Metrics>,
    pub limits: ListenerLimits,
}

impl<S: Store> AppState<S> {
    pub fn new(store: S, config: ServerConfig, metrics: Arc<Metrics>) -> Self {
        let ingress = Ingress::new(store.clone());
        ingress.set_tenant(config.tenant.clone(), config.amazon, config.dataverse);
        metrics.set_own_tenant(&config.tenant);
        AppState {
            store,
            tenant: config.tenant,
            ingress,
            pool_stats: config.pool_stats,
            metrics,
            limits: config.limits,
        }
    }
}
