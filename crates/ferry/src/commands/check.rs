//! `ferry check`: validates the node config (the loader already printed its errors with
//! file:line:column if there were any) and every flow in the tenant's flows folder, without
//! running anything, then says what the node would do. `--online` then asks the remotes, still
//! changing nothing: each connection must accept its credentials, and each Dataverse org must
//! have the columns and keys its flows need with every key's index active (what `ferry setup`
//! creates). An org that lacks something is named with the flows that need it.
//!
//! An `[smtp]` section is checked too: its password secret must be in the store and open with
//! the node's key (which opens the store), and `--online` logs in to the server.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{ConnectionConfig, NodeConfig};

pub async fn run(
    path: &Option<PathBuf>,
    cfg: &NodeConfig,
    tenant_selected: bool,
    online: bool,
) -> anyhow::Result<ExitCode> {
    let source = path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into());
    // The config's connections are the node tenant's; another tenant's (and those added with
    // `ferry connections add`) are in the store, which only `--tenant` or `--online` opens.
    let smtp_secret = cfg.smtp.as_ref().is_some_and(|s| s.password_secret.is_some());
    let store = if tenant_selected || online || smtp_secret { Some(crate::node::open_store(cfg).await?) } else { None };
    let connections = match &store {
        Some(store) => super::tenant_connections(cfg, store).await?,
        None => cfg.connections.clone(),
    };
    // The same check `ferry run` makes: the files, their templates and bound connections.
    let files = match super::sound_flows(cfg, &connections, "nothing was run.") {
        Ok(files) => files,
        Err(code) => return Ok(code),
    };
    println!("{source}: OK");
    println!("  store        {}", ferry_store::redact::url(&cfg.store_url));
    println!("  tenant       {}", cfg.tenant);
    println!("  listen       {}", cfg.listen);
    println!("  workers      {} × {} concurrent, lease {} s", cfg.workers, cfg.concurrency, cfg.lease.as_secs());
    println!("  connections  {}", connections.len());
    for c in &connections {
        println!("    {:<16} {:<12} {}", c.id.as_ref(), c.system, ferry_store::redact::url(&c.endpoint));
    }
    let mut mailer = None;
    if let Some(smtp) = &cfg.smtp {
        println!("  smtp         {} from {}", smtp.server(), smtp.from);
        let built = match &store {
            Some(store) => crate::node::mailer(cfg, store, &super::secrets::master_key(cfg)?).await,
            None => ferry_console::email::Mailer::new(smtp, None).map(Some).map_err(|e| anyhow::anyhow!("[smtp]: {e}")),
        };
        match built {
            Ok(m) => mailer = m,
            Err(e) => {
                eprintln!("error: alert e-mail cannot be sent: {e:#}");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    if cfg.flows_dir.is_dir() {
        println!("  flows        {} in {}", files.len(), cfg.flows_dir.display());
        for f in &files {
            let off = if f.flow.enabled { "" } else { " (enabled: false)" };
            println!("    {}{off}", f.flow.name.value);
        }
    } else {
        println!("  note: flows folder {} does not exist yet", cfg.flows_dir.display());
    }
    let Some(store) = store.filter(|_| online) else { return Ok(ExitCode::SUCCESS) };
    println!("online checks (nothing is changed):");
    let mut problems = 0usize;
    for conn in &connections {
        problems += check_connection(cfg, &store, &files, &connections, conn).await?;
    }
    if let Some(mailer) = &mailer {
        match mailer.test().await {
            Ok(()) => println!("  {:<16} {} accepts the connection and the login", "smtp", mailer.server()),
            Err(e) => {
                eprintln!("error: alert e-mail cannot be sent: {e}");
                problems += 1;
            }
        }
    }
    if problems > 0 {
        eprintln!("{problems} problem(s) found online; the flows would fail until they are fixed.");
        return Ok(ExitCode::FAILURE);
    }
    println!("online: every connection accepts its credentials and has what its flows need");
    if mailer.is_some() {
        println!("online: the SMTP server takes the node's login");
    }
    Ok(ExitCode::SUCCESS)
}

/// Tests one connection's credentials and, on a Dataverse org, what its flows need; returns
/// the number of problems (each already printed).
async fn check_connection(
    cfg: &NodeConfig,
    store: &ferry_store::AnyStore,
    files: &[ferry_mapping::flow::FlowFile],
    connections: &[ConnectionConfig],
    conn: &ConnectionConfig,
) -> anyhow::Result<usize> {
    let Some(connector) = ferry_flows::connectors::connector(&conn.system) else {
        println!("  {:<16} {}: no client for this system yet; not checked", conn.id.as_ref(), conn.system);
        return Ok(0);
    };
    let key = super::secrets::master_key(cfg)?;
    let resilience = std::sync::Arc::new(ferry_runtime::Resilience::default());
    let build =
        ferry_flows::connectors::BuildContext { tenant: &cfg.tenant, store, key: &key, resilience: &resilience };
    let client = match connector.build(&build, conn).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: connection `{}` ({}): {e}", conn.id, conn.system);
            return Ok(1);
        }
    };
    match connector.test(&client).await {
        Ok(message) => println!("  {:<16} credentials OK: {message}", conn.id.as_ref()),
        Err(message) => {
            eprintln!("error: connection `{}` ({}): {message}", conn.id, conn.system);
            return Ok(1);
        }
    }
    if conn.system != "dataverse" {
        return Ok(0);
    }
    let needs = ferry_flows::setup::needs_of(files, connections, &conn.id)
        .unwrap_or_else(|| ferry_flows::setup::shipped_needs(&conn.system));
    let dataverse = ferry_flows::connectors::dataverse::client(&build, conn).await?;
    let findings = match ferry_flows::setup::inspect(&dataverse, &needs).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: connection `{}`: {e}", conn.id);
            return Ok(1);
        }
    };
    let lacking: Vec<_> = findings.iter().filter(|f| f.state != ferry_flows::setup::State::Present).collect();
    if lacking.is_empty() {
        println!(
            "  {:<16} has the {} columns and keys its flows need, every key active",
            conn.id.as_ref(),
            findings.len()
        );
        return Ok(0);
    }
    for finding in &lacking {
        eprintln!("error: connection `{}`: {finding}", conn.id);
    }
    eprintln!("  `ferry setup {}` creates what is missing and waits for the keys", conn.id);
    Ok(lacking.len())
}
