//! `ferry tenants add|list|disable|enable|set`: the sellers a node serves, kept in the store.
//! A running node reads them there, so a change takes effect without a restart: a disabled
//! tenant's jobs stay queued (no node claims them, within a second) until it is enabled.

use std::process::ExitCode;

use ferry_store::{Store, StoreError, TenantId, TenantStatus};

use super::{AuditArgs, EXIT_BAD_INPUT, actor_or_exit, table, when};
use crate::cli::TenantsCommand;
use crate::config::NodeConfig;

/// Exit code for a tenant that does not exist.
fn unknown(id: &TenantId) -> ExitCode {
    eprintln!("error: tenant `{id}` does not exist; `ferry tenants list` shows the tenants");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// A tenant id from the command line, or the exit for a bad one (already reported).
fn tenant_id(text: &str) -> Result<TenantId, ExitCode> {
    TenantId::try_from(text.to_string()).map_err(|e| {
        eprintln!("error: tenant id `{text}`: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// Display names are one printable line.
fn check_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > 200 || name.chars().any(char::is_control) {
        return Err(format!("--name must be one line of 1 to 200 printable characters, got {n} characters"));
    }
    Ok(())
}

fn retention_text(days: Option<u32>, cfg: &NodeConfig) -> String {
    match days {
        Some(d) => format!("{d} days"),
        None => format!("{} days (store.retention_days)", cfg.retention_days),
    }
}

pub async fn run(cfg: &NodeConfig, cmd: TenantsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TenantsCommand::Add { id, name, retention_days, audit } => {
            let id = match tenant_id(&id) {
                Ok(id) => id,
                Err(code) => return Ok(code),
            };
            let name = name.unwrap_or_else(|| id.to_string());
            if let Err(m) = check_name(&name) {
                eprintln!("error: {m}");
                return Ok(ExitCode::from(EXIT_BAD_INPUT));
            }
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let days = retention_days.and_then(|r| r.0);
            let store = crate::node::open_store(cfg).await?;
            match store.add_tenant(&id, &name, days, &actor).await {
                Ok(()) => {
                    println!("added tenant `{id}` ({name}), active, keeping data {}", retention_text(days, cfg));
                    println!(
                        "next: `ferry --tenant {id} connections add …`, `ferry --tenant {id} secrets set …`, flows in {}",
                        cfg.flows_dir.join(id.as_ref()).display()
                    );
                }
                Err(StoreError::Conflict { .. }) => {
                    eprintln!("error: tenant `{id}` already exists; `ferry tenants list` shows it");
                    return Ok(ExitCode::from(EXIT_BAD_INPUT));
                }
                Err(e) => return Err(e.into()),
            }
        }
        TenantsCommand::List { json } => {
            let store = crate::node::open_store(cfg).await?;
            let tenants = store.tenants().await?;
            if json {
                let rows: Vec<serde_json::Value> = tenants
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id,
                            "name": t.name,
                            "status": t.status,
                            "retention_days": t.retention_days,
                            "effective_retention_days": t.retention_days.unwrap_or(cfg.retention_days),
                            "created_at": t.created_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let cells: Vec<Vec<String>> = tenants
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.name.clone(),
                            t.status.to_string(),
                            retention_text(t.retention_days, cfg),
                            when(t.created_at),
                        ]
                    })
                    .collect();
                println!("{}", table(&["ID", "NAME", "STATUS", "RETENTION", "CREATED"], &cells));
            }
        }
        TenantsCommand::Disable { id, audit } => return set_status(cfg, &id, &audit, TenantStatus::Disabled).await,
        TenantsCommand::Enable { id, audit } => return set_status(cfg, &id, &audit, TenantStatus::Active).await,
        TenantsCommand::Set { id, retention_days, audit } => {
            let id = match tenant_id(&id) {
                Ok(id) => id,
                Err(code) => return Ok(code),
            };
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let store = crate::node::open_store(cfg).await?;
            match store.set_tenant_retention(&id, retention_days.0, &actor).await {
                Ok(()) => println!("tenant `{id}` keeps its data {}", retention_text(retention_days.0, cfg)),
                Err(StoreError::NotFound { .. }) => return Ok(unknown(&id)),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_status(cfg: &NodeConfig, id: &str, audit: &AuditArgs, status: TenantStatus) -> anyhow::Result<ExitCode> {
    let id = match tenant_id(id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let actor = match actor_or_exit(audit) {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let store = crate::node::open_store(cfg).await?;
    match store.set_tenant_status(&id, status, &actor).await {
        Ok(true) => match status {
            TenantStatus::Disabled => {
                println!(
                    "disabled tenant `{id}`: its queued jobs stay queued and no node claims them until it is enabled"
                )
            }
            TenantStatus::Active => println!("enabled tenant `{id}`: its queued jobs run again"),
        },
        Ok(false) => println!("tenant `{id}` is already {status}; nothing changed"),
        Err(StoreError::NotFound { .. }) => return Ok(unknown(&id)),
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}
