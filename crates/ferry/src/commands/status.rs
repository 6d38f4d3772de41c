//! `ferry status`: queue depth, running jobs, dead letters and circuit breakers.

use std::process::ExitCode;

use ferry_store::Store;

use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, json: bool) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let q = store.queue_stats().await?;
    let breakers = store.breakers().await?;
    if json {
        let out = serde_json::json!({
            "store": store.backend(),
            "queue": q,
            "breakers": breakers,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("store         {}", super::describe_store(cfg, &store));
    println!(
        "queue         {} ready · {} scheduled (backoff or throttled) · {} running · {} completed · {} dead",
        q.ready, q.scheduled, q.running, q.completed, q.dead
    );
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
    if breakers.is_empty() {
        println!("breakers      no remote host reported by a running node");
    } else {
        for b in &breakers {
            println!("breaker       {:<32} {:<10} (node {}, {})", b.host, b.state, b.node, super::when(b.updated_at));
        }
    }
    Ok(ExitCode::SUCCESS)
}
