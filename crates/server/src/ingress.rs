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
    /// The connector's own ingress settings, one per Amazon connection (each with its own API
    /// key), so the route runs its `ingest` unchanged.
    pub amazon: Vec<IngressConfig<S>>,
    /// By connection id, as it appears in the route.
    pub dataverse: HashMap<String, DataverseWebhook>,
}

type Table<S> = HashMap<String, Arc<TenantIngress<S>>>;

/// The jobs a webhook's event starts (the shape of [`crate::AmazonJobs`] and
/// [`crate::DataverseJobs`]).
type JobsOf<E> = Box<dyn Fn(&E) -> Vec<ferry_store::NewJob> + Send + Sync>;

/// Keeps a tenant's jobs to that tenant: a job its closure makes for another tenant (a wiring
/// mistake) is dropped and logged, never stored, so one tenant's webhook cannot start work in
/// another's queue.
fn own_jobs<E: ?Sized + 'static>(tenant: TenantId, jobs: JobsOf<E>) -> JobsOf<E> {
    Box::new(move |event| {
        let mut made = jobs(event);
        made.retain(|job| {
            let own = job.tenant == tenant;
            if !own {
                tracing::error!(tenant = %tenant, other = %job.tenant, flow = %job.flow, "a webhook made a job for another tenant; dropped");
            }
            own
        });
        made
    })
}

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
    /// whatever the tenant had. Events are stored for `tenant`; an EventBridge event goes to
    /// the Amazon connection whose API key it carries. Two webhooks for one connection: the
    /// last is kept.
    pub fn set_tenant(&self, tenant: TenantId, amazon: Vec<AmazonIngress>, dataverse: Vec<DataverseWebhook>) {
        let amazon = amazon.into_iter().map(|amazon| IngressConfig {
            store: self.store.clone(),
            tenant: tenant.clone(),
            connection: amazon.connection,
            api_key_header: amazon.api_key_header,
            api_key: amazon.api_key,
            jobs_for: own_jobs(tenant.clone(), amazon.jobs),
            freshness: amazon.freshness,
        });
        let amazon = amazon.collect();
        let dataverse = dataverse
            .into_iter()
            .map(|mut webhook| {
                webhook.jobs = own_jobs(tenant.clone(), webhook.jobs);
                (webhook.connection.as_str().to_owned(), webhook)
            })
            .collect();
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
