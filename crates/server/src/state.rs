//! What every request handler shares.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_connectors::amazon::webhooks::IngressConfig;
use ferry_model::TenantId;
use ferry_runtime::PoolStats;
use ferry_store::Store;

use crate::config::{DataverseWebhook, ServerConfig};
use crate::listener::ListenerLimits;
use crate::metrics::Metrics;

pub(crate) struct AppState<S: Store> {
    pub store: S,
    pub tenant: TenantId,
    /// The connector's own ingress settings, so the route runs its `ingest` unchanged.
    pub amazon: Option<IngressConfig<S>>,
    /// By connection id, as it appears in the route.
    pub dataverse: HashMap<String, DataverseWebhook>,
    pub pool_stats: Option<Arc<PoolStats>>,
    pub metrics: Arc<Metrics>,
    pub limits: ListenerLimits,
}

impl<S: Store> AppState<S> {
    pub fn new(store: S, config: ServerConfig, metrics: Arc<Metrics>) -> Self {
        let amazon = config.amazon.map(|amazon| IngressConfig {
            store: store.clone(),
            tenant: config.tenant.clone(),
            connection: amazon.connection,
            api_key_header: amazon.api_key_header,
            api_key: amazon.api_key,
            jobs_for: amazon.jobs,
            freshness: amazon.freshness,
        });
        let dataverse =
            config.dataverse.into_iter().map(|webhook| (webhook.connection.as_str().to_owned(), webhook)).collect();
        AppState {
            store,
            tenant: config.tenant,
            amazon,
            dataverse,
            pool_stats: config.pool_stats,
            metrics,
            limits: config.limits,
        }
    }
}
