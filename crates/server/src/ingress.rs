//! The webhook sources of every tenant the node serves, changeable while the server runs: a
//! tenant added with [`Ingress::set_tenant`] is served by the next request, one removed with
//! [`Ingress::remove_tenant`] answers 404 from the next request on. A request already past the
//! lookup finishes with the entries it found (its event is stored and acknowledged as usual).
//!
//! Reading is one shared-lock lookup and an `Arc` clone per request; the lock is never held
//! across an await, so a change waits at most for lookups in progress, never for a request.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use ferry_connectors::amazon::webhooks::IngressConfig;
use ferry_model::TenantId;
use ferry_store::Store;

use crate::config::{AmazonIngress, DataverseWebhook};

/// One tenant's webhook sources, as the routes use them.
pub(crate) struct TenantIngress<S: Store> {
    /// The connector's own ingress settings, so the route runs its `ingest` unchanged.
    pub amazon: Option<IngressConfig<S>>,
    /// By connection id, as it appears in the route.
    pub dataverse: HashMap<String, DataverseWebhook>,
}

type Table<S> = HashMap<String, Arc<TenantIngress<S>>>;

/// The per-tenant ingress table: cheap to clone, every clone sees and makes the same changes.
/// Get it from [`crate::Server::ingress`]; the server's own tenant (its [`crate::ServerConfig`])
/// is in it from the start.
pub struct Ingress<S: Store> {
    store: S,
    table: Arc<RwLock<Table<S>>>,
}

impl<S: Store> Clone for Ingress<S> {
    fn clone(&self) -> Self {
        Ingress { store: self.store.clone(), table: Arc::clone(&self.table) }
    }
}

impl<S: Store> fmt::Debug for Ingress<S> {
    // Tenants only: the entries hold keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ingress").field("tenants", &self.tenants()).finish_non_exhaustive()
    }
}

impl<S: Store> Ingress<S> {
    /// An empty table whose events go to `store`.
    pub(crate) fn new(store: S) -> Self {
        Ingress { store, table: Arc::default() }
    }

    /// Serves `tenant`'s EventBridge destination (`POST /t/{tenant}/ingress/amazon/eventbridge`)
    /// and Dataverse endpoints (`POST /t/{tenant}/ingress/dataverse/{connection}`), replacing
    /// whatever the tenant had. Events are stored for `tenant`. Two webhooks for one connection:
    /// the last is kept.
    pub fn set_tenant(&self, tenant: TenantId, amazon: Option<AmazonIngress>, dataverse: Vec<DataverseWebhook>) {
        let amazon = amazon.map(|amazon| IngressConfig {
            store: self.store.clone(),
            tenant: tenant.clone(),
            connection: amazon.connection,
            api_key_header: amazon.api_key_header,
            api_key: amazon.api_key,
            jobs_for: amazon.jobs,
            freshness: amazon.freshness,
        });
        let dataverse =
            dataverse.into_iter().map(|webhook| (webhook.connection.as_str().to_owned(), webhook)).collect();
        let entries = Arc::new(TenantIngress { amazon, dataverse });
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        table.insert(tenant.into_string(), entries);
    }

    /// Stops serving `tenant`'s webhooks: its routes answer 404 from the next request on.
    /// Whether it was served.
    pub fn remove_tenant(&self, tenant: &TenantId) -> bool {
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        table.remove(tenant.as_str()).is_some()
    }

    /// The tenants served, in order.
    pub fn tenants(&self) -> Vec<String> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table.keys().cloned().collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// `tenant`'s entries as they are now.
    pub(crate) fn get(&self, tenant: &str) -> Option<Arc<TenantIngress<S>>> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table.get(tenant).cloned()
    }
}
