//! `ferry check`: validates the node config (the loader already printed its errors with
//! file:line:column if there were any) and every flow in the flows folder, without running
//! anything, then says what the node would do.

use std::path::PathBuf;
use std::process::ExitCode;

use super::EXIT_BAD_INPUT;
use crate::config::NodeConfig;

pub fn run(path: &Option<PathBuf>, cfg: &NodeConfig) -> anyhow::Result<ExitCode> {
    let source = path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into());
    let flows = if cfg.flows_dir.is_dir() {
        // The same check `ferry run` makes: the files, their templates and bound connections.
        let (loaded, diagnostics) = ferry_flows::load_flows(&cfg.flows_dir, &cfg.connections);
        if !diagnostics.is_empty() {
            for d in &diagnostics {
                eprintln!("error: {d}");
            }
            eprintln!(
                "{} problem(s) in the flows folder {}; nothing was run.",
                diagnostics.len(),
                cfg.flows_dir.display()
            );
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        loaded
            .into_iter()
            .map(|f| {
                let off = if f.flow.enabled { "" } else { " (enabled: false)" };
                format!("{}{off}", f.flow.name.value)
            })
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };
    println!("{source}: OK");
    println!("  store        {}", ferry_store::redact::url(&cfg.store_url));
    println!("  tenant       {}", cfg.tenant);
    println!("  listen       {}", cfg.listen);
    println!("  workers      {} × {} concurrent, lease {} s", cfg.workers, cfg.concurrency, cfg.lease.as_secs());
    println!("  connections  {}", cfg.connections.len());
    for c in &cfg.connections {
        println!("    {:<16} {:<12} {}", c.id, c.system, c.endpoint);
    }
    if cfg.flows_dir.is_dir() {
        println!("  flows        {} in {}", flows.len(), cfg.flows_dir.display());
        for f in &flows {
            println!("    {f}");
        }
    } else {
        println!("  note: flows folder {} does not exist yet", cfg.flows_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
