//! `ferry setup <connection>`: prepares a stock Dataverse org for the tenant's flows through
//! the metadata API: creates the custom columns and alternate keys that the flows bound to the
//! connection declare ([`ferry_flows::setup`]; every shipped flow's when no flow file binds it
//! yet), waits (with progress) until every key's index is `Active`, and changes nothing that is
//! already there: a second run creates nothing and says so.

use std::process::ExitCode;

use anyhow::Context as _;
use ferry_flows::setup::{Need, SetupOptions};

use super::EXIT_BAD_INPUT;
use crate::config::{ConnectionConfig, NodeConfig};

/// `ferry setup <connection>`.
pub async fn run(cfg: &NodeConfig, connection: &str) -> anyhow::Result<ExitCode> {
    // The config's connections, or (another tenant, `--tenant`) the store's.
    let store = crate::node::open_store(cfg).await?;
    let connections = super::tenant_connections(cfg, &store).await?;
    let Some(conn) = connections.iter().find(|c| c.id.as_ref() == connection) else {
        let known: Vec<&str> = connections.iter().map(|c| c.id.as_ref()).collect();
        eprintln!(
            "error: tenant {} has no connection '{connection}' (connections: {})",
            cfg.tenant,
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        );
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    };
    if conn.system != "dataverse" {
        eprintln!(
            "error: connection '{connection}' is of system {}; ferry setup prepares Dataverse connections",
            conn.system
        );
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let key = super::secrets::master_key(cfg)?;
    let resilience = std::sync::Arc::new(ferry_runtime::Resilience::default());
    let build = ferry_flows::connectors::BuildContext {
        tenant: &cfg.tenant,
        store: &store,
        key: &key,
        resilience: &resilience,
    };
    let needs = match needs(cfg, &connections, conn) {
        Ok(needs) => needs,
        Err(code) => return Ok(code),
    };
    let client = ferry_flows::connectors::dataverse::client(&build, conn).await?;
    println!("setting up {} for Ferry's flows", conn.endpoint);
    let report =
        ferry_flows::setup::apply(&client, &needs, SetupOptions::default(), &mut |line: &str| println!("  {line}"))
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("ferry setup {connection}"))?;
    if report.created_nothing() {
        println!(
            "nothing to create: the {} columns and keys the flows need are all there, and every key is active",
            report.already_there
        );
    } else {
        println!(
            "created {} column(s) and {} key(s); {} were there already; every key is active",
            report.created_columns.len(),
            report.created_keys.len(),
            report.already_there
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What the tenant's flow files bound to `conn` need (the files must be sound: the same check
/// as `ferry check`), or every shipped flow's needs of its system when no file binds it.
pub fn needs(
    cfg: &NodeConfig,
    connections: &[ConnectionConfig],
    conn: &ConnectionConfig,
) -> Result<Vec<Need>, ExitCode> {
    let files =
        super::sound_flows(cfg, connections, "fix them first (`ferry check`), as what the flows need depends on them")?;
    Ok(match ferry_flows::setup::needs_of(&files, connections, &conn.id) {
        Some(needs) => {
            let mut flows: Vec<&str> = needs.iter().flat_map(|n| n.flows.iter().map(String::as_str)).collect();
            flows.sort_unstable();
            flows.dedup();
            println!(
                "what the flows bound to `{}` need: {}",
                conn.id,
                if flows.is_empty() { "nothing".to_owned() } else { flows.join(", ") }
            );
            needs
        }
        None => {
            println!(
                "no enabled flow in {} binds `{}` yet: preparing what every shipped flow needs of a {} connection",
                cfg.flows_dir.display(),
                conn.id,
                conn.system
            );
            ferry_flows::setup::shipped_needs(&conn.system)
        }
    })
}
