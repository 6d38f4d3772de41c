//! The tenants a node serves, kept running as the store says: each active tenant's flows run
//! (its connections, secrets and flow files), a tenant added or enabled starts within a
//! refresh, one disabled (or removed) stops, and one whose connections or flow files changed
//! is rebuilt, all without a restart.
//!
//! The node config's tenant takes its connections from the config and its flow files from
//! the flows folder itself; every other tenant takes its connections from the store
//! (`ferry connections add`) and its flow files from `<flows folder>/<tenant id>/`. A tenant
//! whose flows cannot be built (a missing secret, a file that does not check) is reported,
//! tenant by tenant, and keeps running what it ran before; no tenant holds another up.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry_model::TenantId;
use ferry_runtime::{Registry, Resilience};
use ferry_store::secrets::MasterKey;
use ferry_store::{AnyStore, Store, TenantStatus};
use jiff::SignedDuration;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::connectors::{BuildContext, ConnectionConfig};
use crate::engine::TenantEngine;
use crate::error::BuildError;
use crate::polls::{PollStats, Polls};

/// Told when a tenant's engine starts, changes (`Some`) or stops (`None`): the node wires
/// its webhook ingress from it.
pub type OnChange = Arc<
    dyn Fn(TenantId, Option<Arc<TenantEngine>>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Where the node's tenants come from.
#[derive(Clone)]
pub struct TenantSource {
    /// The node config's tenant and its connections.
    pub node_tenant: TenantId,
    pub node_connections: Vec<ConnectionConfig>,
    /// The flows folder: the node tenant's files, and a folder per other tenant.
    pub flows_dir: PathBuf,
}

impl TenantSource {
    /// The folder of `tenant`'s flow files.
    pub fn flows_dir(&self, tenant: &TenantId) -> PathBuf {
        if *tenant == self.node_tenant { self.flows_dir.clone() } else { self.flows_dir.join(tenant.as_ref()) }
    }

    /// `tenant`'s connections: the config's for the node tenant, else the store's.
    pub async fn connections(&self, store: &AnyStore, tenant: &TenantId) -> Result<Vec<ConnectionConfig>, BuildError> {
        if *tenant == self.node_tenant {
            return Ok(self.node_connections.clone());
        }
        stored_connections(store, tenant).await
    }
}

/// A tenant's connections as the store keeps them (`ferry connections add`).
pub async fn stored_connections(store: &AnyStore, tenant: &TenantId) -> Result<Vec<ConnectionConfig>, BuildError> {
    Ok(store
        .connections(tenant)
        .await?
        .into_iter()
        .map(|c| ConnectionConfig {
            id: c.id,
            system: c.system,
            endpoint: c.endpoint,
            credentials: c.credentials_ref,
            limits: c.limits,
            options: c.options,
        })
        .collect())
}

struct Running {
    fingerprint: u64,
    engine: Arc<TenantEngine>,
    stop: watch::Sender<bool>,
    polls: JoinSet<()>,
}

/// Keeps the node's tenants running.
pub struct Tenants {
    store: AnyStore,
    key: Arc<MasterKey>,
    resilience: Arc<Resilience>,
    registry: Arc<Registry>,
    source: TenantSource,
    stats: Arc<PollStats>,
    initial_lookback: SignedDuration,
    on_change: Option<OnChange>,
    running: HashMap<TenantId, Running>,
    /// The last build failure reported per tenant, so a refresh does not repeat it.
    failed: HashMap<TenantId, (u64, String)>,
}

/// What one refresh did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refresh {
    pub started: Vec<TenantId>,
    pub rebuilt: Vec<TenantId>,
    pub stopped: Vec<TenantId>,
    /// Tenants whose flows could not be built, with why.
    pub failed: Vec<(TenantId, String)>,
}

impl Tenants {
    pub fn new(
        store: AnyStore,
        key: Arc<MasterKey>,
        resilience: Arc<Resilience>,
        registry: Arc<Registry>,
        source: TenantSource,
    ) -> Self {
        Tenants {
            store,
            key,
            resilience,
            registry,
            source,
            stats: Arc::default(),
            initial_lookback: SignedDuration::from_hours(24 * 7),
            on_change: None,
            running: HashMap::new(),
            failed: HashMap::new(),
        }
    }

    /// Counters shared by every tenant's polls (the demo reads them).
    pub fn with_stats(mut self, stats: Arc<PollStats>, initial_lookback: SignedDuration) -> Self {
        self.stats = stats;
        self.initial_lookback = initial_lookback;
        self
    }

    pub fn on_change(mut self, on_change: OnChange) -> Self {
        self.on_change = Some(on_change);
        self
    }

    /// The engine of `tenant`, when its flows run.
    pub fn engine(&self, tenant: &TenantId) -> Option<Arc<TenantEngine>> {
        self.running.get(tenant).map(|r| r.engine.clone())
    }

    /// The tenants whose flows run, sorted.
    pub fn running(&self) -> Vec<TenantId> {
        let mut ids: Vec<TenantId> = self.running.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Runs `engine`, built already for `tenant` (the node tenant's, at start), as if a
    /// refresh had built it.
    pub async fn adopt(&mut self, tenant: TenantId, engine: Arc<TenantEngine>) -> Result<(), BuildError> {
        let connections = self.source.connections(&self.store, &tenant).await?;
        let fingerprint = fingerprint(&connections, &self.source.flows_dir(&tenant), &self.store, &tenant).await;
        self.start(tenant, fingerprint, engine).await;
        Ok(())
    }

    /// Brings the running tenants in line with the store: starts, rebuilds and stops.
    pub async fn refresh(&mut self) -> Result<Refresh, BuildError> {
        let mut report = Refresh::default();
        let active: Vec<TenantId> = self
            .store
            .tenants()
            .await?
            .into_iter()
            .filter(|t| t.status == TenantStatus::Active)
            .map(|t| t.id)
            .collect();
        for gone in self.running.keys().filter(|t| !active.contains(t)).cloned().collect::<Vec<_>>() {
            self.stop(&gone).await;
            report.stopped.push(gone);
        }
        for tenant in active {
            let connections = self.source.connections(&self.store, &tenant).await?;
            let dir = self.source.flows_dir(&tenant);
            let fingerprint = fingerprint(&connections, &dir, &self.store, &tenant).await;
            if self.running.get(&tenant).is_some_and(|r| r.fingerprint == fingerprint) {
                continue;
            }
            if self.failed.get(&tenant).is_some_and(|(f, _)| *f == fingerprint) {
                continue;
            }
            if !dir.is_dir() {
                // No flows for this tenant (yet): nothing runs; not an error.
                if self.running.contains_key(&tenant) {
                    self.stop(&tenant).await;
                    report.stopped.push(tenant);
                }
                continue;
            }
            let ctx =
                BuildContext { tenant: &tenant, store: &self.store, key: &self.key, resilience: &self.resilience };
            match TenantEngine::build(&ctx, &connections, &dir).await {
                Ok(engine) => {
                    self.failed.remove(&tenant);
                    // Building imports new file texts as versions, which moves the heads.
                    let fingerprint = self::fingerprint(&connections, &dir, &self.store, &tenant).await;
                    let was_running = self.running.contains_key(&tenant);
                    self.start(tenant.clone(), fingerprint, Arc::new(engine)).await;
                    if was_running { report.rebuilt.push(tenant) } else { report.started.push(tenant) }
                }
                Err(e) => {
                    let message = e.to_string();
                    tracing::warn!(tenant = %tenant, error = %message, "the tenant's flows could not be built; what ran before keeps running");
                    self.failed.insert(tenant.clone(), (fingerprint, message.clone()));
                    report.failed.push((tenant, message));
                }
            }
        }
        Ok(report)
    }

    async fn start(&mut self, tenant: TenantId, fingerprint: u64, engine: Arc<TenantEngine>) {
        // The old engine's polls stop first, so one cursor never has two pollers.
        let was_paused = self.stop_polls(&tenant).await.map(|old| old.engine.paused.clone()).unwrap_or_default();
        let (stop, stop_rx) = watch::channel(false);
        let mut polls = Polls::new(self.store.clone(), stop_rx, self.stats.clone(), self.initial_lookback);
        engine.spawn_polls(&mut polls);
        engine.register(&self.registry);
        self.wake_resumed(&tenant, &engine, &was_paused).await;
        if let Some(on_change) = &self.on_change {
            on_change(tenant.clone(), Some(engine.clone())).await;
        }
        tracing::info!(tenant = %tenant, flows = ?engine.flow_names(), "tenant's flows running");
        self.running.insert(tenant, Running { fingerprint, engine, stop, polls: polls.set });
    }

    /// The jobs of flows resumed since the last engine run now, not at their next look.
    async fn wake_resumed(&self, tenant: &TenantId, engine: &TenantEngine, was_paused: &BTreeSet<String>) {
        for instance in
            engine.instances.iter().filter(|i| was_paused.contains(i.name()) && !engine.paused.contains(i.name()))
        {
            let flows: Vec<String> = instance.handlers().into_iter().map(|(flow, _)| flow).collect();
            match self.store.wake_paused_jobs(tenant, &flows).await {
                Ok(n) => {
                    tracing::info!(tenant = %tenant, flow = %instance.name(), jobs = n, "flow resumed; its waiting jobs run now")
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant, flow = %instance.name(), error = %e, "flow resumed; its waiting jobs run at their next look")
                }
            }
        }
    }

    async fn stop_polls(&mut self, tenant: &TenantId) -> Option<Running> {
        let mut running = self.running.remove(tenant)?;
        let _ = running.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(1), async { while running.polls.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            running.polls.abort_all();
            while running.polls.join_next().await.is_some() {}
        }
        Some(running)
    }

    async fn stop(&mut self, tenant: &TenantId) {
        if self.stop_polls(tenant).await.is_some() {
            self.registry.remove_tenant(tenant);
            if let Some(on_change) = &self.on_change {
                on_change(tenant.clone(), None).await;
            }
            tracing::info!(tenant = %tenant, "tenant stopped");
        }
    }

    /// Stops every tenant's polls (the node is stopping; the workers drain on their own).
    pub async fn stop_all(&mut self) {
        for tenant in self.running.keys().cloned().collect::<Vec<_>>() {
            self.stop_polls(&tenant).await;
        }
    }

    /// Refreshes every `every` until `stop` turns true, then stops every tenant's polls.
    pub fn spawn(mut self, every: Duration, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
                match self.refresh().await {
                    Ok(r) if r != Refresh::default() => tracing::info!(
                        started = ?r.started, rebuilt = ?r.rebuilt, stopped = ?r.stopped,
                        failed = r.failed.len(), "tenants refreshed"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not read the tenants; trying again"),
                }
            }
            self.stop_all().await;
        })
    }
}

/// What a tenant's engine is built from: its connections, its flow files (names, sizes and
/// modification times) and the names and versions of its secrets. A change to any rebuilds it.
async fn fingerprint(connections: &[ConnectionConfig], dir: &Path, store: &AnyStore, tenant: &TenantId) -> u64 {
    let mut hasher = DefaultHasher::new();
    format!("{connections:?}").hash(&mut hasher);
    let mut files: BTreeMap<PathBuf, (u64, Option<std::time::SystemTime>)> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                files.insert(entry.path(), (meta.len(), meta.modified().ok()));
            }
        }
    }
    files.hash(&mut hasher);
    if let Ok(secrets) = store.secret_names(tenant).await {
        format!("{secrets:?}").hash(&mut hasher);
    }
    // The version that runs, paused or not, and the shadow (the console changes these).
    if let Ok(heads) = store.flow_heads(tenant).await {
        for h in heads {
            (h.flow, h.active, h.paused, h.shadow).hash(&mut hasher);
        }
    }
    hasher.finish()
}
