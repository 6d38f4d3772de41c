//! `ferry purge`: deletes the selected tenant's processed data past `store.retention_days`.

use std::process::ExitCode;

use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let p = crate::node::purge(cfg, &store).await?;
    println!(
        "purged data older than {} days for tenant `{}`: {} inbox events, {} finished jobs, {} resolved dead letters, {} trace lines",
        cfg.retention_days, cfg.tenant, p.inbox, p.jobs, p.dead_letters, p.runs
    );
    Ok(ExitCode::SUCCESS)
}
