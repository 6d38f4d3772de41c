//! `ferry run`: a node working the queue and serving its HTTP listener (health, readiness,
//! metrics, webhook ingress) until SIGTERM or Ctrl-C, then draining.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use ferry_server::Server;
use tokio::sync::watch;

use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let metrics = std::sync::Arc::new(ferry_server::metrics::Metrics::new());
    let key = super::secrets::master_key(cfg)?;
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
    let server = Server::with_metrics(store.clone(), server_config, metrics);
    let (stop_tx, stop_rx) = watch::channel(false);
    let polls = match &assembled.engine {
        Some(engine) => {
            tracing::info!(flows = ?engine.flow_names(), "order flows running");
            Some(engine.spawn_polls(
                store.clone(),
                stop_rx.clone(),
                Default::default(),
                jiff::SignedDuration::from_hours(24 * 7),
            ))
        }
        None => None,
    };
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
    match serving.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP listener stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "HTTP listener task failed"),
        Ok(Ok(())) => {}
    }
    drop(stop_rx);
    if let Some(mut polls) = polls {
        while polls.join_next().await.is_some() {}
    }
    tracing::info!(
        completed = stats.completed.load(Ordering::Relaxed),
        dead = stats.dead.load(Ordering::Relaxed),
        "drained; stopped"
    );
    Ok(ExitCode::SUCCESS)
}
