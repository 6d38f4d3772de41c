//! `ferry connections add|list|remove`: the selected tenant's connections kept in the store,
//! checked by the same per-system rules as the node config's `[[connections]]`. A connection
//! names its secret; nothing here reads or prints a secret's value.

use std::process::ExitCode;

use ferry_store::{Connection, ConnectionId, Store, StoreError};
use serde_json::{Map, Value};

use super::{EXIT_BAD_INPUT, actor_or_exit, bad, cut, table};
use crate::cli::ConnectionsCommand;
use crate::config::{ConnectionConfig, NodeConfig, options};

/// `KEY=VALUE` arguments as a JSON object: VALUE is JSON when it parses as JSON, else text.
/// `flag` names the argument in errors.
fn pairs(args: &[String], flag: &str) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for arg in args {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!("{flag} `{arg}`: expected KEY=VALUE"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("{flag} `{arg}`: the KEY before `=` is empty"));
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        if map.insert(key.to_string(), value).is_some() {
            return Err(format!("{flag} `{key}` is given twice"));
        }
    }
    Ok(map)
}

/// A connection the node config defines: the config is its source, and each start of a node
/// writes it again, so it is changed there and not here.
fn defined_in_config(cfg: &NodeConfig, id: &ConnectionId) -> bool {
    cfg.connections.iter().any(|c| &c.id == id)
}

pub async fn run(cfg: &NodeConfig, cmd: ConnectionsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConnectionsCommand::Add { id, system, endpoint, options, limits, credentials, audit } => {
            let id = match ConnectionId::try_from(id.clone()) {
                Ok(id) => id,
                Err(e) => return Ok(bad(format!("connection id `{id}`: {e}"))),
            };
            let (options, limits) = match (pairs(&options, "--option"), pairs(&limits, "--limit")) {
                (Ok(o), Ok(l)) => (o, l),
                (Err(m), _) | (_, Err(m)) => return Ok(bad(m)),
            };
            if let Some(name) = &credentials
                && !super::secrets::valid_name(name)
            {
                return Ok(bad(format!(
                    "--credentials `{name}` is not a secret name: use 1–128 letters, digits, '-', '_', '.', '/'"
                )));
            }
            let candidate = ConnectionConfig {
                id: id.clone(),
                system,
                endpoint,
                credentials,
                limits: Value::Object(limits),
                options: Value::Object(options),
            };
            let problems = options::validate(&candidate);
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("error: {p}");
                }
                eprintln!("{} problem(s); nothing was stored.", problems.len());
                return Ok(ExitCode::from(EXIT_BAD_INPUT));
            }
            if defined_in_config(cfg, &id) {
                return Ok(bad(format!(
                    "connection `{id}` is defined in the node config ([[connections]]); change it there"
                )));
            }
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let store = crate::node::open_store(cfg).await?;
            let conn = Connection {
                tenant: cfg.tenant.clone(),
                id: candidate.id,
                system: candidate.system,
                endpoint: candidate.endpoint,
                credentials_ref: candidate.credentials,
                limits: candidate.limits,
                options: candidate.options,
            };
            let new = store.put_connection(&conn, &actor).await?;
            println!(
                "{} connection `{}` ({} at {}) for tenant `{}`",
                if new { "added" } else { "replaced" },
                conn.id,
                conn.system,
                ferry_store::redact::url(&conn.endpoint),
                cfg.tenant
            );
            if let Some(name) = &conn.credentials_ref
                && store.secret(&cfg.tenant, name).await?.is_none()
            {
                println!(
                    "note: tenant `{}` has no secret `{name}` yet; store it with `ferry --tenant {} secrets set {name}`",
                    cfg.tenant, cfg.tenant
                );
            }
        }
        ConnectionsCommand::List { json } => {
            let store = crate::node::open_store(cfg).await?;
            let conns = store.connections(&cfg.tenant).await?;
            let source = |c: &Connection| if defined_in_config(cfg, &c.id) { "config" } else { "store" };
            if json {
                let rows: Vec<Value> = conns
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "id": c.id,
                            "system": c.system,
                            "endpoint": ferry_store::redact::url(&c.endpoint),
                            "credentials": c.credentials_ref,
                            "options": c.options,
                            "limits": c.limits,
                            "source": source(c),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if conns.is_empty() {
                println!("tenant `{}` has no connections; add one with `ferry connections add`", cfg.tenant);
            } else {
                let compact = |v: &Value| match v {
                    Value::Object(m) if m.is_empty() => "-".to_string(),
                    Value::Null => "-".to_string(),
                    other => cut(&other.to_string(), 60),
                };
                let cells: Vec<Vec<String>> = conns
                    .iter()
                    .map(|c| {
                        vec![
                            c.id.to_string(),
                            c.system.clone(),
                            ferry_store::redact::url(&c.endpoint),
                            c.credentials_ref.clone().unwrap_or_else(|| "-".into()),
                            compact(&c.options),
                            compact(&c.limits),
                            source(c).to_string(),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(&["ID", "SYSTEM", "ENDPOINT", "CREDENTIALS", "OPTIONS", "LIMITS", "FROM"], &cells)
                );
            }
        }
        ConnectionsCommand::Test { id } => return test(cfg, &id).await,
        ConnectionsCommand::Remove { id, audit } => {
            let id = match ConnectionId::try_from(id.clone()) {
                Ok(id) => id,
                Err(e) => return Ok(bad(format!("connection id `{id}`: {e}"))),
            };
            if defined_in_config(cfg, &id) {
                return Ok(bad(format!(
                    "connection `{id}` is defined in the node config ([[connections]]); remove it there"
                )));
            }
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let store = crate::node::open_store(cfg).await?;
            match store.remove_connection(&cfg.tenant, &id, &actor).await {
                Ok(()) => println!("removed connection `{id}` of tenant `{}`", cfg.tenant),
                Err(StoreError::NotFound { .. }) => {
                    return Ok(bad(format!("connection `{id}` not found for tenant `{}`", cfg.tenant)));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry connections test <id>`.
async fn test(cfg: &NodeConfig, id: &str) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    let connections = super::tenant_connections(cfg, &store).await?;
    let Some(conn) = connections.iter().find(|c| c.id.as_ref() == id) else {
        return Ok(bad(format!("connection `{id}` not found for tenant `{}`", cfg.tenant)));
    };
    if ferry_flows::connectors::connector(&conn.system).is_none() {
        return Ok(bad(format!("connection `{id}` is of system `{}`, which Ferry has no client for yet", conn.system)));
    }
    let key = super::secrets::master_key(cfg)?;
    let resilience = std::sync::Arc::new(ferry_runtime::Resilience::default());
    let ctx = ferry_flows::connectors::BuildContext {
        tenant: &cfg.tenant,
        store: &store,
        key: &key,
        resilience: &resilience,
    };
    let outcome = ferry_flows::connectors::test_connection(&ctx, conn).await;
    match outcome {
        Ok(message) => {
            println!("connection `{id}` ({}): OK, {message}", conn.system);
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("error: connection `{id}` ({}): {message}", conn.system);
            Ok(ExitCode::FAILURE)
        }
    }
}
