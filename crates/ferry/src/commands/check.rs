//! `ferry check`: validates the node config (errors were already printed with file:line:col
//! by the loader if there were any) and says what the node would do.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::NodeConfig;

pub fn run(path: &Option<PathBuf>, cfg: &NodeConfig) -> anyhow::Result<ExitCode> {
    let source = path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into());
    println!("{source}: OK");
    println!("  store        {}", ferry_store::redact::url(&cfg.store_url));
    println!("  tenant       {}", cfg.tenant);
    println!("  listen       {}", cfg.listen);
    println!("  workers      {} × {} concurrent, lease {} s", cfg.workers, cfg.concurrency, cfg.lease.as_secs());
    println!("  connections  {}", cfg.connections.len());
    for c in &cfg.connections {
        println!("    {:<16} {:<12} {}", c.id, c.system, c.endpoint);
    }
    if !cfg.flows_dir.is_dir() {
        println!("  note: flows folder {} does not exist yet", cfg.flows_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
