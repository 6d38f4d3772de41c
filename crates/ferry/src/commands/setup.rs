//! `ferry setup <connection>`: prepares a stock Dataverse org for Ferry's flows through the
//! metadata API: creates the custom columns and alternate keys the flows need
//! ([`ferry_flows::amazon_crm::crm_schema`]), waits (with progress) until every key's index is
//! `Active`, and changes nothing that is already there: a second run creates nothing and says
//! so.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ferry_connectors::dataverse::{DataverseClient, KeyIndexStatus};
use ferry_runtime::failure::Failure;

use super::EXIT_BAD_INPUT;
use crate::config::NodeConfig;
use ferry_flows::amazon_crm::crm_schema;

/// What a setup did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupReport {
    /// `table.column` created.
    pub created_columns: Vec<String>,
    /// `table(columns)` created.
    pub created_keys: Vec<String>,
    /// Columns and keys that were there already.
    pub already_there: usize,
}

impl SetupReport {
    pub fn created_nothing(&self) -> bool {
        self.created_columns.is_empty() && self.created_keys.is_empty()
    }
}

/// How long to wait for key indexes, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct SetupOptions {
    pub wait_for_keys: Duration,
    pub poll_every: Duration,
}

impl Default for SetupOptions {
    fn default() -> Self {
        // A real org builds a key's index in a system job: seconds on an empty table, longer on
        // a large one.
        SetupOptions { wait_for_keys: Duration::from_secs(30 * 60), poll_every: Duration::from_secs(5) }
    }
}

/// Runs a call, waiting out throttling and transient failures (a few times), as a CLI
/// command has no queue to reschedule on.
async fn call<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(value) => return Ok(value),
            Err(failure @ (Failure::Throttled { .. } | Failure::Transient { .. })) if attempt < 8 => {
                attempt += 1;
                let wait = failure.retry_after().unwrap_or(Duration::from_secs(1 << attempt.min(5)));
                tracing::info!(%failure, wait_ms = wait.as_millis() as u64, "{what}: retrying");
                tokio::time::sleep(wait).await;
            }
            Err(failure) => return Err(anyhow::anyhow!("{what}: {failure}")),
        }
    }
}

/// Creates what is missing and waits for the keys; `progress` gets one line per step.
pub async fn setup_crm(
    client: &DataverseClient,
    options: SetupOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<SetupReport> {
    let mut report = SetupReport::default();
    for required in crm_schema::columns() {
        let name = format!("{}.{}", required.entity, required.column.logical_name());
        let logical = required.column.logical_name();
        let exists = call(&format!("reading column {name}"), || client.column_metadata(required.entity, &logical))
            .await?
            .is_some();
        if exists {
            report.already_there += 1;
            continue;
        }
        call(&format!("creating column {name}"), || client.create_column(required.entity, &required.column)).await?;
        progress(&format!("created column {name}"));
        report.created_columns.push(name);
    }
    let keys = crm_schema::keys();
    let mut entities: Vec<&str> = keys.iter().map(|k| k.entity).collect();
    entities.dedup();
    for entity in &entities {
        let existing = call(&format!("reading the keys of {entity}"), || client.entity_keys(entity)).await?;
        for required in keys.iter().filter(|k| k.entity == *entity) {
            let columns: Vec<&str> = required.key.columns.iter().map(String::as_str).collect();
            let name = format!("{entity}({})", columns.join(", "));
            if existing.iter().any(|k| k.covers(&columns)) {
                report.already_there += 1;
                continue;
            }
            call(&format!("creating key {name}"), || client.create_entity_key(entity, &required.key)).await?;
            progress(&format!("created key {name} (its index is built by the org)"));
            report.created_keys.push(name);
        }
    }
    // Wait until every key the flows need can be used.
    let started = Instant::now();
    let mut last: Vec<(String, String)> = Vec::new();
    loop {
        let mut waiting = Vec::new();
        for entity in &entities {
            let existing = call(&format!("reading the keys of {entity}"), || client.entity_keys(entity)).await?;
            for required in keys.iter().filter(|k| k.entity == *entity) {
                let columns: Vec<&str> = required.key.columns.iter().map(String::as_str).collect();
                let name = format!("{entity}({})", columns.join(", "));
                let status = existing.iter().find(|k| k.covers(&columns)).map(|k| k.status.clone());
                match status {
                    Some(KeyIndexStatus::Active) => {}
                    Some(KeyIndexStatus::Failed) => anyhow::bail!(
                        "the index of key {name} failed: the table has rows with the same value; remove the duplicates, delete the key and run ferry setup again"
                    ),
                    Some(other) => waiting.push((name, other.to_string())),
                    None => anyhow::bail!("key {name} disappeared while waiting for its index"),
                }
            }
        }
        if waiting.is_empty() {
            return Ok(report);
        }
        if waiting != last {
            for (name, status) in &waiting {
                progress(&format!("waiting for key {name}: {status}"));
            }
            last = waiting.clone();
        }
        if started.elapsed() >= options.wait_for_keys {
            let names: Vec<String> = waiting.iter().map(|(n, s)| format!("{n} ({s})")).collect();
            anyhow::bail!(
                "keys not active after {} s: {}; run ferry setup again later",
                options.wait_for_keys.as_secs(),
                names.join(", ")
            );
        }
        tokio::time::sleep(options.poll_every).await;
    }
}

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
    let client = ferry_flows::connectors::dataverse::client(&build, conn).await?;
    println!("setting up {} for Ferry's flows", conn.endpoint);
    let report = setup_crm(&client, SetupOptions::default(), &mut |line: &str| println!("  {line}"))
        .await
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
