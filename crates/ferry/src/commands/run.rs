//! `ferry run`: a node working the queue and serving its HTTP listener (health, readiness,
//! metrics, webhook ingress) until SIGTERM or Ctrl-C, then draining.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use ferry_server::Server;
use tokio::sync::watch;

use crate::config::NodeConfig;

/// How long the listener and the polls may take to stop once the pool has drained.
const AFTER_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a node reads its tenants and their connections and flow files again.
const TENANT_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn run(cfg: &NodeConfig) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let metrics = std::sync::Arc::new(ferry_server::metrics::Metrics::new());
    let key = std::sync::Arc::new(super::secrets::master_key(cfg)?);
    let assembled = crate::node::assemble(cfg, store.clone(), metrics.clone(), &key).await?;
    let pool = assembled.pool;
    let stats = pool.stats();
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {} (node.listen / FERRY_LISTEN)", cfg.listen))?;
    let listening = listener.local_addr().unwrap_or(cfg.listen);
    let mut server_config = assembled.server;
    if let Some(files) = &cfg.tls {
        // Checked when the config loaded; read again here, so a file changed since is named.
        let tls =
            ferry_server::TlsConfig::from_pem_files(&files.cert, &files.key).context("node.tls_cert / node.tls_key")?;
        server_config = server_config.tls(tls);
    }
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    // Alert e-mail, when the config has [smtp]: its password secret must open now.
    let mail = crate::node::mailer(cfg, &store, &key).await?;
    // The admin API (`/api/v1`, bearer tokens from `ferry tokens create`) beside the ingress.
    let source = ferry_flows::tenants::TenantSource {
        node_tenant: cfg.tenant.clone(),
        node_connections: cfg.connections.clone(),
        flows_dir: cfg.flows_dir.clone(),
    };
    // Made before the console: its live updates end when the node stops, so an open page does
    // not hold the listener's drain.
    let (stop_tx, stop_rx) = watch::channel(false);
    let api = ferry_console::api::router(std::sync::Arc::new(
        ferry_console::api::ApiState::new(store.clone())
            .with_key(key.clone())
            .with_flows(std::sync::Arc::new(source.clone()))
            .with_mail(mail.clone())
            .with_runtime(assembled.resilience.clone())
            .with_stop(stop_rx.clone()),
    ));
    let server = Server::with_metrics(store.clone(), server_config, metrics).with_routes(api);
    // Every tenant's flows: the config's tenant as assembled, the store's other tenants from
    // their connections and `flows/<tenant>/`, refreshed while the node runs (a tenant added,
    // disabled or changed, or a flow version changed in the console, takes effect within a
    // refresh, without a restart).
    let mut tenants = crate::node::tenants(
        &store,
        &key,
        &assembled.resilience,
        pool.registry(),
        server.ingress(),
        source,
        assembled.engine.as_ref(),
        None,
    )
    .await?;
    let first = tenants.refresh().await?;
    for (tenant, error) in &first.failed {
        tracing::warn!(tenant = %tenant, error = %error, "a tenant's flows did not start");
    }
    tracing::info!(tenants = ?tenants.running(), "tenants running");
    let polls = tenants.spawn(TENANT_REFRESH, stop_rx.clone());
    let purges = crate::node::spawn_purges(cfg, store.clone(), stop_rx.clone());
    // Each tenant's alert rules, checked every few seconds; alerts link to this listener.
    let alerts = ferry_console::alerts::spawn(
        store.clone(),
        ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).context("the alerts' HTTP client")?,
        mail,
        format!("{scheme}://{listening}"),
        ferry_console::alerts::CHECK_EVERY,
        stop_rx.clone(),
    );
    let mut server_stop = stop_rx.clone();
    let serving = tokio::spawn(async move {
        server
            .serve(listener, async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(
        store = %super::describe_store(cfg, &store),
        listen = %listening,
        scheme,
        workers = cfg.workers,
        concurrency = cfg.concurrency,
        "node running; SIGTERM or Ctrl-C drains and stops"
    );
    pool.run(async move {
        crate::node::shutdown_signal().await;
        // The listener stops with the workers: readiness goes away as the drain starts.
        let _ = stop_tx.send(true);
    })
    .await;
    // The pool kept to the drain timeout; the listener and the polls get a moment more to
    // finish a request or a poll, then stop regardless (a store that does not answer must not
    // keep the node from stopping: what was not acknowledged is sent again by its sender).
    let serving_abort = serving.abort_handle();
    match tokio::time::timeout(AFTER_DRAIN, serving).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "HTTP listener stopped with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP listener task failed"),
        Ok(Ok(Ok(()))) => {}
        Err(_) => {
            tracing::warn!("HTTP listener still busy after the drain; closing it");
            serving_abort.abort();
        }
    }
    drop(stop_rx);
    // A purge is one transaction: stopping it mid-way rolls it back, and the next start redoes it.
    if tokio::time::timeout(AFTER_DRAIN, purges).await.is_err() {
        tracing::warn!("the retention purge was still running after the drain; it resumes at the next start");
    }
    if tokio::time::timeout(AFTER_DRAIN, alerts).await.is_err() {
        tracing::warn!("the alert check was still running after the drain; stopping it");
    }
    // Each tenant's polls get a second to stop, then are aborted (their cursors did not move).
    let polls_abort = polls.abort_handle();
    if tokio::time::timeout(AFTER_DRAIN * 3, polls).await.is_err() {
        tracing::warn!("the polls were still stopping after the drain; stopping them (their cursors did not move)");
        polls_abort.abort();
    }
    tracing::info!(
        completed = stats.completed.load(Ordering::Relaxed),
        dead = stats.dead.load(Ordering::Relaxed),
        "drained; stopped"
    );
    Ok(ExitCode::SUCCESS)
}
