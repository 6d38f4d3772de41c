//! `ferry flows list|versions|show|run|pause|resume|shadow|shadow-report`: the selected
//! tenant's flow versions, through the same functions as the console's flow pages and the
//! API's flow routes ([`ferry_console::flows`]).

use std::process::ExitCode;

use ferry_console::ServiceError;
use ferry_console::flows;

use super::{actor_or_exit, bad, table, when};
use crate::cli::FlowsCommand;
use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, cmd: FlowsCommand) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let tenant = &cfg.tenant;
    let source = ferry_flows::tenants::TenantSource {
        node_tenant: tenant.clone(),
        node_connections: cfg.connections.clone(),
        flows_dir: cfg.flows_dir.clone(),
    };
    // The folder's files are versions once a node has started; so they are here too.
    if cfg.flows_dir.is_dir()
        && let Err(e) = ferry_flows::versions::resolve(&store, tenant, &cfg.flows_dir).await
    {
        return Ok(bad(e));
    }
    let pausing = matches!(cmd, FlowsCommand::Pause { .. });
    let outcome = match cmd {
        FlowsCommand::List => list(&store, tenant).await,
        FlowsCommand::Versions { flow } => versions(&store, tenant, &flow).await,
        FlowsCommand::Show { flow, version } => {
            let row = match version {
                Some(v) => flows::version(&store, tenant, &flow, v).await,
                None => flows::active_text(&store, tenant, &flow).await,
            };
            row.map(|row| print!("{}", row.text))
        }
        FlowsCommand::Run { flow, version, audit } => {
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            flows::activate(&source, &store, tenant, &flow, version, &actor)
                .await
                .map(|_| println!("flow {flow}: version {version} runs now (running nodes pick it up within seconds)"))
        }
        FlowsCommand::Pause { flow, audit } | FlowsCommand::Resume { flow, audit } => {
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            pause(&store, tenant, &flow, pausing, &actor).await
        }
        FlowsCommand::Shadow { flow, version, audit } => {
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let with = match version.as_str() {
                "off" => None,
                v => match v.parse::<i64>() {
                    Ok(v) => Some(v),
                    Err(_) => return Ok(bad(format!("shadow: `{v}` is neither a version number nor `off`"))),
                },
            };
            flows::shadow(&source, &store, tenant, &flow, with, &actor).await.map(|_| match with {
                Some(v) => println!("flow {flow}: version {v} shadows the running version; it writes nothing"),
                None => println!("flow {flow}: the shadow stopped"),
            })
        }
        FlowsCommand::ShadowReport { flow, version } => shadow_report(&store, tenant, &flow, version).await,
    };
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(ServiceError::NotFound(what)) => Ok(bad(format!("{what} not found for tenant `{tenant}`"))),
        Err(ServiceError::BadInput(m) | ServiceError::Conflict(m)) => Ok(bad(m)),
        Err(ServiceError::Store(e)) => Err(e.into()),
    }
}

async fn pause(
    store: &ferry_store::AnyStore,
    tenant: &ferry_store::TenantId,
    flow: &str,
    paused: bool,
    actor: &str,
) -> Result<(), ServiceError> {
    flows::pause(store, tenant, flow, paused, actor).await?;
    if paused {
        println!("flow {flow} paused: its jobs wait, its polls and events stop (running nodes within seconds)");
    } else {
        println!("flow {flow} resumed: its waiting jobs run and its polls catch up");
    }
    Ok(())
}

async fn list(store: &ferry_store::AnyStore, tenant: &ferry_store::TenantId) -> Result<(), ServiceError> {
    let all = flows::list(store, tenant).await?;
    if all.is_empty() {
        println!("tenant `{tenant}` has no flows yet (they are kept once a node has read the flows folder)");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = all
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.active.to_string(),
                f.versions.to_string(),
                if f.paused { "paused".into() } else { "running".into() },
                f.shadow.map_or_else(|| "-".into(), |v| v.to_string()),
                format!("{} {}", f.changed_by, when(f.changed_at)),
            ]
        })
        .collect();
    println!("{}", table(&["FLOW", "RUNS", "VERSIONS", "STATE", "SHADOW", "CHANGED"], &cells));
    Ok(())
}

async fn versions(
    store: &ferry_store::AnyStore,
    tenant: &ferry_store::TenantId,
    flow: &str,
) -> Result<(), ServiceError> {
    let cells: Vec<Vec<String>> = flows::versions(store, tenant, flow)
        .await?
        .iter()
        .map(|v| {
            vec![
                format!("{}{}", v.version, if v.active { " (runs)" } else { "" }),
                when(v.created_at),
                v.created_by.clone(),
                v.note.clone(),
            ]
        })
        .collect();
    println!("{}", table(&["VERSION", "SAVED", "BY", "NOTE"], &cells));
    Ok(())
}

async fn shadow_report(
    store: &ferry_store::AnyStore,
    tenant: &ferry_store::TenantId,
    flow: &str,
    version: Option<i64>,
) -> Result<(), ServiceError> {
    let (version, report) = flows::shadow_report(store, tenant, flow, version, 100).await?;
    println!(
        "flow {flow}, shadow version {version}: {} record(s) mapped, {} would be written differently",
        report.records, report.differing_records
    );
    let mut cells = Vec::new();
    for r in report.results.iter().filter(|r| r.differing > 0) {
        let diff: Vec<serde_json::Value> = serde_json::from_str(&r.diff).unwrap_or_default();
        for d in diff {
            cells.push(vec![
                r.record.clone(),
                d["field"].as_str().unwrap_or_default().to_owned(),
                d["current"].to_string(),
                d["shadow"].to_string(),
            ]);
        }
    }
    if !cells.is_empty() {
        println!("{}", table(&["RECORD", "FIELD", "RUNNING", "SHADOW"], &cells));
    }
    Ok(())
}
