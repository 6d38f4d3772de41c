//! `ferry run`: a node working the queue until SIGTERM or Ctrl-C, then draining.

use std::process::ExitCode;

use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let pool = crate::node::pool(store.clone(), cfg)?;
    let stats = pool.stats();
    tracing::info!(
        store = %super::describe_store(cfg, &store),
        workers = cfg.workers,
        concurrency = cfg.concurrency,
        "node running; SIGTERM or Ctrl-C drains and stops"
    );
    pool.run(crate::node::shutdown_signal()).await;
    tracing::info!(
        completed = stats.completed.load(std::sync::atomic::Ordering::Relaxed),
        dead = stats.dead.load(std::sync::atomic::Ordering::Relaxed),
        "drained; stopped"
    );
    Ok(ExitCode::SUCCESS)
}
