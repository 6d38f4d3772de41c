//! Opening a node's store and building its worker pool from the config.

use std::sync::Arc;

use anyhow::Context as _;
use ferry_runtime::{CallObserver, JobContext, Pool, PoolConfig, Registry, Resilience};
use ferry_store::{AnyStore, Connection, Store};

use crate::config::NodeConfig;

/// Opens the configured store, applies migrations and registers the tenant and connections.
pub async fn open_store(cfg: &NodeConfig) -> anyhow::Result<AnyStore> {
    if cfg.store_url.starts_with("sqlite:") {
        ferry_store::private_dir(&cfg.data_dir)
            .with_context(|| format!("cannot create data folder {}", cfg.data_dir.display()))?;
    }
    // Payloads kept for work and replay carry buyer data: sealed under the node's key.
    let key = Arc::new(crate::commands::master_key(cfg)?);
    let store = AnyStore::open_with(&cfg.store_url, cfg.store_max_connections).await?.with_payload_key(key);
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
                options: c.options.clone(),
            })
            .await?;
    }
    Ok(store)
}

/// How often a running node purges data past its retention.
pub const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3_600);

/// Deletes every tenant's processed data older than its own retention: the days set with
/// `ferry tenants set <id> --retention-days`, else `store.retention_days` (see
/// [`Store::purge`]). Disabled tenants are purged too. One tenant's failure does not stop the
/// others'; the first failure is returned after all were tried. Returns each tenant with the
/// days it keeps and what was deleted.
pub async fn purge<S: Store>(
    cfg: &NodeConfig,
    store: &S,
) -> anyhow::Result<Vec<(ferry_store::TenantId, u32, ferry_store::Purged)>> {
    let tenants = store.tenants().await.context("listing the tenants to purge")?;
    let now = jiff::Timestamp::now();
    let mut done = Vec::with_capacity(tenants.len());
    let mut failed = None;
    for t in tenants {
        let days = t.retention_days.unwrap_or(cfg.retention_days);
        let cutoff = now - jiff::SignedDuration::from_hours(24 * i64::from(days));
        match store.purge(&t.id, cutoff).await {
            Ok(purged) => {
                tracing::info!(
                    tenant = %t.id,
                    retention_days = days,
                    inbox = purged.inbox,
                    jobs = purged.jobs,
                    dead_letters = purged.dead_letters,
                    runs = purged.runs,
                    "purged data past its retention"
                );
                done.push((t.id, days, purged));
            }
            Err(e) => {
                tracing::warn!(tenant = %t.id, error = %e, "retention purge of a tenant failed");
                failed.get_or_insert(anyhow::Error::new(e).context(format!("purging tenant `{}`", t.id)));
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// The node's alert mailer from its `[smtp]` section (`None` without one), its password opened
/// from the node tenant's secret. A secret that is missing or cannot be opened is an error
/// naming the setting: an `[smtp]` that cannot send is refused, not left to fail later.
pub async fn mailer(
    cfg: &NodeConfig,
    store: &AnyStore,
    key: &ferry_store::secrets::MasterKey,
) -> anyhow::Result<Option<ferry_console::email::Mailer>> {
    let Some(smtp) = &cfg.smtp else { return Ok(None) };
    let password = match &smtp.password_secret {
        None => None,
        Some(name) => {
            let sealed = store.secret(&cfg.tenant, name).await?.with_context(|| {
                format!(
                    "smtp.password_secret: tenant `{}` has no secret `{name}`; store the SMTP password with \
                     `ferry secrets set {name}`",
                    cfg.tenant
                )
            })?;
            let value = key
                .open(&sealed)
                .map_err(|e| anyhow::anyhow!("smtp.password_secret: secret `{name}` cannot be opened: {e}"))?;
            Some(value)
        }
    };
    let mailer = ferry_console::email::Mailer::new(smtp, password.as_ref().map(|p| p.expose()))
        .map_err(|e| anyhow::anyhow!("[smtp]: {e}"))?;
    Ok(Some(mailer))
}

/// Purges at once and then every [`PURGE_EVERY`] until `stop` turns true; a failed purge is
/// logged and tried again at the next tick.
pub fn spawn_purges<S: Store>(
    cfg: &NodeConfig,
    store: S,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let cfg = cfg.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = purge(&cfg, &store).await {
                tracing::warn!(error = %format!("{e:#}"), "retention purge failed; trying again in an hour");
            }
            tokio::select! {
                _ = tokio::time::sleep(PURGE_EVERY) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}

/// The pool settings a config asks for.
pub fn pool_config(cfg: &NodeConfig) -> PoolConfig {
    let mut p = PoolConfig {
        workers: cfg.workers as usize,
        concurrency: cfg.concurrency as usize,
        lease: cfg.lease,
        drain_timeout: cfg.drain,
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
    crate::builtin::register(&mut registry, &crate::config::http_call_tls(cfg).map_err(anyhow::Error::msg)?)?;
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

/// A node with its flows wired: the pool (built-in flows plus the tenant's flow instances),
/// the engine that feeds them, and the server settings (EventBridge ingress and Dataverse
/// webhook when their keys are set as secrets).
pub struct Assembled {
    pub pool: Pool<AnyStore>,
    pub engine: Option<Arc<ferry_flows::TenantEngine>>,
    pub server: ferry_server::ServerConfig,
    /// The node's limits, which every tenant's clients share.
    pub resilience: Arc<Resilience>,
}

/// Builds the node `cfg` describes on `store`; `key` opens the connections' secrets.
pub async fn assemble(
    cfg: &NodeConfig,
    store: AnyStore,
    metrics: Arc<ferry_server::metrics::Metrics>,
    key: &ferry_store::secrets::MasterKey,
) -> anyhow::Result<Assembled> {
    let observer: Arc<dyn CallObserver> = metrics;
    let mut resilience = Resilience::default().with_observer(observer);
    if let AnyStore::Postgres(_) = &store {
        // Nodes sharing a PostgreSQL share their rate limits: together within one rate. The
        // buckets are keyed by whom the vendor counts (seller × app, app user × environment).
        let shared = ferry_runtime::shared_buckets::StoreBuckets::new(store.clone(), "limits");
        resilience = resilience.with_shared_buckets(Arc::new(shared));
    }
    let resilience = Arc::new(resilience);
    let mut registry = Registry::new();
    crate::builtin::register(&mut registry, &crate::config::http_call_tls(cfg).map_err(anyhow::Error::msg)?)?;
    let build =
        ferry_flows::connectors::BuildContext { tenant: &cfg.tenant, store: &store, key, resilience: &resilience };
    let engine = if cfg.flows_dir.is_dir() {
        Some(ferry_flows::TenantEngine::build(&build, &cfg.connections, &cfg.flows_dir).await?)
            .filter(|e| !e.is_empty())
            .map(Arc::new)
    } else {
        None
    };
    let mut server = ferry_server::ServerConfig::new(cfg.tenant.clone());
    if let Some(engine) = &engine {
        let (amazon, dataverse) = tenant_ingress(&store, key, engine).await?;
        for amazon in amazon {
            server = server.amazon(amazon);
        }
        for webhook in dataverse {
            server = server.dataverse(webhook);
        }
    }
    let ctx = JobContext { resilience: resilience.clone() };
    let pool = Pool::new(store, registry, ctx, pool_config(cfg));
    if let Some(engine) = &engine {
        engine.register(&pool.registry());
    }
    let server = server.pool_stats(pool.stats());
    Ok(Assembled { pool, engine, server, resilience })
}

/// The webhook ingress of a tenant's engine, for the connections whose keys are set as the
/// tenant's secrets: the EventBridge ingress of its first Amazon connection and the webhook of
/// each Dataverse connection, each routing through the engine's one routing function.
pub async fn tenant_ingress(
    store: &AnyStore,
    key: &ferry_store::secrets::MasterKey,
    engine: &ferry_flows::TenantEngine,
) -> anyhow::Result<(Vec<ferry_server::AmazonIngress>, Vec<ferry_server::DataverseWebhook>)> {
    let tenant = &engine.tenant;
    let secret = |name: String| async move {
        match store.secret(tenant, &name).await {
            Ok(Some(sealed)) => key.open(&sealed).map(Some).map_err(anyhow::Error::from),
            Ok(None) => Ok(None),
            Err(e) => Err(anyhow::Error::from(e)),
        }
    };
    // Every bound Amazon connection with an EventBridge destination (its own API key).
    let mut amazon = Vec::new();
    for conn in engine.bound_of("amazon") {
        if let Some(api_key) = secret(format!("{}.eventbridge_api_key", conn.secret_prefix())).await? {
            let (router, connection) = (engine.router.clone(), conn.id.clone());
            amazon.push(
                ferry_server::AmazonIngress::new(conn.id.clone(), "x-api-key", api_key)
                    .jobs(move |n| router.amazon(&connection, n)),
            );
        }
    }
    let mut dataverse = Vec::new();
    for conn in engine.bound_of("dataverse") {
        if let Some(webhook_key) = secret(format!("{}.webhook_key", conn.secret_prefix())).await? {
            let (router, connection) = (engine.router.clone(), conn.id.clone());
            dataverse.push(
                ferry_server::DataverseWebhook::with_key(conn.id.clone(), webhook_key)
                    .jobs(move |e| router.dataverse(&connection, e)),
            );
        }
    }
    Ok((amazon, dataverse))
}

/// The node's tenants kept running as the store says ([`ferry_flows::tenants::Tenants`]), each
/// tenant's webhooks wired into `ingress` as its flows start, change or stop; `engine` is the
/// node tenant's, already running; `stats` the polls' counters and first look-back (the
/// demo's). The caller refreshes it once and spawns it.
#[allow(clippy::too_many_arguments)]
pub async fn tenants(
    store: &AnyStore,
    key: &Arc<ferry_store::secrets::MasterKey>,
    resilience: &Arc<Resilience>,
    registry: Arc<Registry>,
    ingress: ferry_server::Ingress<AnyStore>,
    source: ferry_flows::tenants::TenantSource,
    engine: Option<&Arc<ferry_flows::TenantEngine>>,
    stats: Option<(Arc<ferry_flows::polls::PollStats>, jiff::SignedDuration)>,
) -> anyhow::Result<ferry_flows::tenants::Tenants> {
    let on_change: ferry_flows::tenants::OnChange = {
        let (store, key) = (store.clone(), key.clone());
        Arc::new(move |tenant, engine: Option<Arc<ferry_flows::TenantEngine>>| {
            let (store, key, ingress) = (store.clone(), key.clone(), ingress.clone());
            Box::pin(async move {
                match engine {
                    Some(engine) => match tenant_ingress(&store, &key, &engine).await {
                        Ok((amazon, dataverse)) => ingress.set_tenant(tenant, amazon, dataverse),
                        Err(e) => {
                            tracing::warn!(tenant = %tenant, error = %format!("{e:#}"), "the tenant's webhooks could not be set up")
                        }
                    },
                    None => {
                        ingress.remove_tenant(&tenant);
                    }
                }
            })
        })
    };
    let node_tenant = source.node_tenant.clone();
    let mut tenants =
        ferry_flows::tenants::Tenants::new(store.clone(), key.clone(), resilience.clone(), registry, source);
    if let Some((stats, lookback)) = stats {
        tenants = tenants.with_stats(stats, lookback);
    }
    let mut tenants = tenants.on_change(on_change);
    if let Some(engine) = engine {
        tenants.adopt(node_tenant, engine.clone()).await?;
    }
    Ok(tenants)
}
