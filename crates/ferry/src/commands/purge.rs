//! `ferry purge`: deletes the selected tenant's processed data past its retention (its own
//! `retention_days`, else `store.retention_days`); `--all-tenants` purges every tenant, each
//! with its own, as a running node does every hour.

use std::process::ExitCode;

use anyhow::Context as _;
use ferry_store::{Purged, Store as _};

use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, all_tenants: bool) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    if all_tenants {
        for (tenant, days, p) in crate::node::purge(cfg, &store).await? {
            report(&tenant, days, &p);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let tenants = store.tenants().await?;
    let days = tenants.iter().find(|t| t.id == cfg.tenant).and_then(|t| t.retention_days).unwrap_or(cfg.retention_days);
    let cutoff = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * i64::from(days));
    let p = store.purge(&cfg.tenant, cutoff).await.with_context(|| format!("purging tenant `{}`", cfg.tenant))?;
    report(&cfg.tenant, days, &p);
    Ok(ExitCode::SUCCESS)
}

fn report(tenant: &ferry_store::TenantId, days: u32, p: &Purged) {
    println!(
        "purged data older than {days} days for tenant `{tenant}`: {} inbox events, {} finished jobs, {} resolved dead letters, {} trace lines",
        p.inbox, p.jobs, p.dead_letters, p.runs
    );
}
