//! `ferry status`: the selected tenant's queue depth, running jobs, dead letters and the
//! circuit breakers of its connections' hosts; `--all-tenants` gives the node-wide totals and
//! one line per tenant (an operator's view of the whole store).

use std::process::ExitCode;

use ferry_store::{QueueStats, Store};

use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, json: bool, all_tenants: bool) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let tenant = (!all_tenants).then_some(&cfg.tenant);
    let q = store.queue_stats_of(tenant).await?;
    let mut breakers = store.breakers().await?;
    let mut per_tenant = Vec::new();
    if all_tenants {
        for t in store.tenants().await? {
            let stats = store.queue_stats_of(Some(&t.id)).await?;
            per_tenant.push((t, stats));
        }
    } else {
        // Another tenant's hosts are not this tenant's business.
        let hosts: Vec<String> = super::tenant_connections(cfg, &store)
            .await?
            .iter()
            .map(|c| ferry_console::alerts::authority(&c.endpoint))
            .collect();
        breakers.retain(|b| hosts.contains(&b.host));
    }
    if json {
        let mut out = serde_json::json!({
            "store": store.backend(),
            "queue": q,
            "breakers": breakers,
        });
        if all_tenants {
            out["tenants"] = per_tenant
                .iter()
                .map(|(t, s)| serde_json::json!({ "tenant": t.id, "status": t.status, "queue": s }))
                .collect();
        } else {
            out["tenant"] = serde_json::json!(cfg.tenant);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("store         {}", super::describe_store(cfg, &store));
    if all_tenants {
        println!("tenants       all {} (node-wide totals)", per_tenant.len());
    } else {
        println!("tenant        {}", cfg.tenant);
    }
    println!("queue         {}", queue_line(&q));
    if q.expired_leases > 0 {
        println!(
            "              {} running job(s) have expired leases (a node stopped); a running node returns them to the queue",
            q.expired_leases
        );
    }
    if q.dead_letters_open > 0 {
        println!("dead letters  {} open: see `ferry dlq list`", q.dead_letters_open);
    } else {
        println!("dead letters  none open");
    }
    for (t, s) in &per_tenant {
        println!(
            "tenant        {:<16} {:<9} {} · {} dead letter(s) open",
            t.id.as_ref(),
            t.status.as_str(),
            queue_line(s),
            s.dead_letters_open
        );
    }
    if breakers.is_empty() {
        println!("breakers      no remote host reported by a running node");
    } else {
        for b in &breakers {
            println!("breaker       {:<32} {:<10} (node {}, {})", b.host, b.state, b.node, super::when(b.updated_at));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn queue_line(q: &QueueStats) -> String {
    format!(
        "{} ready · {} scheduled (backoff or throttled) · {} running · {} completed · {} dead",
        q.ready, q.scheduled, q.running, q.completed, q.dead
    )
}
