//! One module per command.

mod actor;
mod alerts;
mod bench;
mod bench_console;
mod bench_fairness;
mod bench_nodes;
mod bench_orders;
mod bench_settlement;
mod check;
mod connections;
mod console_clients;
mod demo;
mod demo_orders;
mod dlq;
mod flows;
mod map;
mod order_world;
mod purge;
mod run;
mod sandbox;
mod secrets;
mod setup;
mod status;
mod tables;
mod tenants;
mod tokens;

use std::process::ExitCode;

pub use actor::AuditArgs;
pub(crate) use secrets::master_key;
pub(crate) use secrets::valid_name as valid_secret_name;

use ferry_store::Store as _;

use crate::cli::{Cli, Command};
use crate::config::{self, ConfigErrors, NodeConfig};

/// Exit code for bad input (config, arguments, payloads).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Runs the command the user asked for.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut cfg = match load_config(&cli) {
        Ok(cfg) => cfg,
        Err(errors) => {
            for issue in &errors.0 {
                eprintln!("error: {issue}");
            }
            eprintln!("{} problem(s) in the node config; nothing was run.", errors.0.len());
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    if let Err(code) = select_tenant(cli.tenant.as_deref(), &cli.command, &mut cfg).await? {
        return Ok(code);
    }
    match cli.command {
        Command::Check { online } => check::run(&cli.config, &cfg, cli.tenant.is_some(), online).await,
        Command::Migrate => {
            let store = crate::node::open_store(&cfg).await?;
            println!("store is up to date ({})", describe_store(&cfg, &store));
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json, all_tenants } => status::run(&cfg, json, all_tenants).await,
        Command::Purge { all_tenants } => purge::run(&cfg, all_tenants).await,
        Command::Tenants(cmd) => tenants::run(&cfg, cmd).await,
        Command::Connections(cmd) => connections::run(&cfg, cmd).await,
        Command::Dlq(cmd) => dlq::run(&cfg, cmd).await,
        Command::Tokens(cmd) => tokens::run(&cfg, cmd).await,
        Command::Alerts(cmd) => alerts::run(&cfg, cmd).await,
        Command::Flows(cmd) => flows::run(&cfg, cmd).await,
        Command::Map(cmd) => map::run(&cfg, cmd).await,
        Command::Lookups(cmd) => tables::lookups(&cfg, cmd).await,
        Command::Rates(cmd) => tables::rates(&cfg, cmd).await,
        Command::Secrets(cmd) => secrets::run(&cfg, cmd).await,
        Command::Run => run::run(&cfg).await,
        Command::Demo(args) => demo::run(&cfg, cli.config.is_some(), args).await,
        Command::Bench(cmd) => bench::run(&cfg, cmd).await,
        Command::Sandbox(args) => sandbox::run(&cfg, args).await,
        Command::Setup { connection } => setup::run(&cfg, &connection).await,
    }
}

/// Applies `--tenant` (`FERRY_TENANT`). A tenant-scoped command acts on a tenant the store
/// already has (an unknown one is an error, never created by a typo); the config's
/// connections belong to `node.tenant`, so another tenant's command sees only its own (those
/// kept in the store), and its flows are in its own folder (`<flows_dir>/<tenant>`). Commands
/// that run a node (run, demo, sandbox, bench, migrate) take it as their `node.tenant`;
/// `tenants` names its tenant itself.
async fn select_tenant(
    selected: Option<&str>,
    command: &Command,
    cfg: &mut NodeConfig,
) -> anyhow::Result<Result<(), ExitCode>> {
    let Some(selected) = selected else { return Ok(Ok(())) };
    let tenant = match ferry_store::TenantId::try_from(selected.to_string()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: --tenant: {e}");
            return Ok(Err(ExitCode::from(EXIT_BAD_INPUT)));
        }
    };
    if tenant == cfg.tenant {
        return Ok(Ok(()));
    }
    let scoped = match command {
        Command::Status { .. }
        | Command::Purge { .. }
        | Command::Dlq(_)
        | Command::Tokens(_)
        | Command::Alerts(_)
        | Command::Flows(_)
        | Command::Map(_)
        | Command::Lookups(_)
        | Command::Rates(_)
        | Command::Secrets(_)
        | Command::Setup { .. }
        | Command::Check { .. }
        | Command::Connections(_) => true,
        Command::Tenants(_) => return Ok(Ok(())),
        Command::Migrate | Command::Run | Command::Demo(_) | Command::Sandbox(_) | Command::Bench(_) => false,
    };
    if scoped {
        let store = crate::node::open_store(cfg).await?;
        let known = store.tenants().await?.into_iter().any(|t| t.id == tenant);
        if !known {
            eprintln!(
                "error: tenant `{tenant}` does not exist; `ferry tenants list` shows the tenants, `ferry tenants add {tenant}` adds it"
            );
            return Ok(Err(ExitCode::from(EXIT_BAD_INPUT)));
        }
        cfg.connections.clear();
        // Another tenant's flows are in its own folder, as the node reads them.
        cfg.flows_dir = cfg.flows_dir.join(tenant.as_ref());
    }
    cfg.tenant = tenant;
    Ok(Ok(()))
}

/// Reports bad input and gives its exit code.
pub fn bad(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// The flow files of the selected tenant's folder, checked as `ferry run` checks them (their
/// templates and bound connections); every problem is printed with its file and line, then
/// `consequence` (what did not happen), and the exit for bad input is returned. No folder: none.
pub fn sound_flows(
    cfg: &NodeConfig,
    connections: &[crate::config::ConnectionConfig],
    consequence: &str,
) -> Result<Vec<ferry_mapping::flow::FlowFile>, ExitCode> {
    if !cfg.flows_dir.is_dir() {
        return Ok(Vec::new());
    }
    let (files, problems) = ferry_flows::load_flows(&cfg.flows_dir, connections);
    if problems.is_empty() {
        return Ok(files);
    }
    for p in &problems {
        eprintln!("error: {p}");
    }
    eprintln!("{} problem(s) in the flows folder {}; {consequence}", problems.len(), cfg.flows_dir.display());
    Err(ExitCode::from(EXIT_BAD_INPUT))
}

/// The audit actor of `audit`, or the exit for a bad `--label` (already reported).
pub fn actor_or_exit(audit: &AuditArgs) -> Result<String, ExitCode> {
    audit.actor().map_err(|message| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

fn load_config(cli: &Cli) -> Result<NodeConfig, ConfigErrors> {
    match &cli.config {
        Some(path) => config::load(path, &config::process_env),
        None => {
            let mut cfg = config::defaults();
            let mut issues = Vec::new();
            config::apply_env(&mut cfg, &config::process_env, &mut issues);
            if issues.is_empty() { Ok(cfg) } else { Err(ConfigErrors(issues)) }
        }
    }
}

/// "sqlite (.ferry/ferry.db)" or "postgres (host/db)", without credentials.
pub fn describe_store(cfg: &NodeConfig, store: &impl ferry_store::Store) -> String {
    format!("{} at {}", store.backend(), ferry_store::redact::url(&cfg.store_url))
}

/// The connection ids a config defines, which flows may name.
pub fn connection_ids(cfg: &NodeConfig) -> Vec<&str> {
    cfg.connections.iter().map(|c| c.id.as_ref()).collect()
}

/// Reads JSON from a file or standard input ("-"); a syntax error names file:line:column.
pub fn read_json(path: &std::path::Path) -> Result<serde_json::Value, String> {
    use std::io::Read as _;
    let (text, origin) = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("standard input: {e}"))?;
        (s, "standard input".to_string())
    } else {
        let s = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        (s, path.display().to_string())
    };
    serde_json::from_str(&text).map_err(|e| format!("{origin}:{}:{}: not valid JSON: {e}", e.line(), e.column()))
}

/// Parses a row id argument, naming what was wrong.
pub fn parse_id<T: std::str::FromStr<Err = String>>(text: &str) -> anyhow::Result<T> {
    text.parse::<T>().map_err(anyhow::Error::msg)
}

/// Pads cells into aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.clone()));
    }
    out
}

/// Shortens text to `n` characters for a table cell.
pub fn cut(text: &str, n: usize) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        let mut s: String = one_line.chars().take(n.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A timestamp as "2026-11-23 10:00:00 UTC".
pub fn when(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The selected tenant's connections: the config's `[[connections]]` (the node tenant's) and
/// those kept in the store (`ferry connections add`), the config's first.
pub async fn tenant_connections(
    cfg: &NodeConfig,
    store: &ferry_store::AnyStore,
) -> anyhow::Result<Vec<crate::config::ConnectionConfig>> {
    let mut connections = cfg.connections.clone();
    for stored in ferry_flows::tenants::stored_connections(store, &cfg.tenant).await? {
        if !connections.iter().any(|c| c.id == stored.id) {
            connections.push(stored);
        }
    }
    Ok(connections)
}
