//! What a tenant's flows need in a target org, whether the org has it, and making it so: the
//! one piece behind `ferry setup <connection>` (creates what is missing) and
//! `ferry check --online` (reports what is missing, changes nothing).
//!
//! Each template declares its needs per role ([`FlowTemplate::requirements`]); a connection
//! needs what the enabled flow instances bound to it need. A connection no flow binds yet
//! (setup before the first flow file) needs what every shipped template needs of its system.

use std::time::{Duration, Instant};

use ferry_connectors::dataverse::{DataverseClient, KeyIndexStatus};
use ferry_mapping::flow::FlowFile;
use ferry_model::ConnectionId;
use ferry_runtime::failure::Failure;

use crate::TEMPLATES;
use crate::connectors::ConnectionConfig;
use crate::instance::bind;
use crate::plugin::Requirement;

/// One customisation and the flows that need it.
#[derive(Debug, Clone)]
pub struct Need {
    pub requirement: Requirement,
    /// Flow instances (file `name:`), or templates when no flow binds the connection yet.
    pub flows: Vec<String>,
}

impl Need {
    /// `table.column` or `table(columns)`.
    pub fn name(&self) -> String {
        match &self.requirement {
            Requirement::Column { entity, column } => format!("{entity}.{}", column.logical_name()),
            Requirement::Key { entity, key } => format!("{entity}({})", key.columns.join(", ")),
        }
    }

    fn kind(&self) -> &'static str {
        match self.requirement {
            Requirement::Column { .. } => "column",
            Requirement::Key { .. } => "key",
        }
    }
}

/// What the enabled, sound flow files bound to `connection` need on it; `None` when no flow
/// binds it (see [`shipped_needs`]).
pub fn needs_of(files: &[FlowFile], connections: &[ConnectionConfig], connection: &ConnectionId) -> Option<Vec<Need>> {
    let (bound, _) = bind(files, connections, TEMPLATES);
    let mut needs: Vec<Need> = Vec::new();
    let mut binds = false;
    for instance in &bound {
        for (role, requirement) in instance.template.requirements() {
            if instance.bindings.get(role) != Some(connection) {
                continue;
            }
            add(&mut needs, requirement, &instance.file.flow.name.value);
        }
        binds |= instance.bindings.values().any(|c| c == connection);
    }
    binds.then_some(needs)
}

/// What every shipped template needs on a connection of `system`.
pub fn shipped_needs(system: &str) -> Vec<Need> {
    let mut needs = Vec::new();
    for template in TEMPLATES {
        for (role, requirement) in template.requirements() {
            if template.roles().iter().any(|r| r.name == role && r.system == system) {
                add(&mut needs, requirement, template.name());
            }
        }
    }
    needs
}

fn add(needs: &mut Vec<Need>, requirement: Requirement, flow: &str) {
    let need = Need { requirement, flows: vec![flow.to_owned()] };
    match needs.iter_mut().find(|n| n.name() == need.name() && n.kind() == need.kind()) {
        Some(existing) if !existing.flows.iter().any(|f| f == flow) => existing.flows.push(flow.to_owned()),
        Some(_) => {}
        None => needs.push(need),
    }
}

/// Where one need stands in the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Present,
    Missing,
    /// A key whose index the org is still building (`Pending`, `InProgress`).
    Building(String),
    /// A key whose index failed: duplicate values in the table.
    Failed,
}

/// One need and its state.
#[derive(Debug, Clone)]
pub struct Finding {
    pub need: Need,
    pub state: State,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = format!("{} {} (needed by {})", self.need.kind(), self.need.name(), self.need.flows.join(", "));
        match &self.state {
            State::Present => write!(f, "{what}: present"),
            State::Missing => write!(f, "{what}: missing"),
            State::Building(status) => write!(f, "{what}: its index is still being built ({status})"),
            State::Failed => {
                write!(f, "{what}: its index failed (the table has rows with the same value; remove the duplicates)")
            }
        }
    }
}

/// Reads the org's metadata and says where each need stands; changes nothing.
pub async fn inspect(client: &DataverseClient, needs: &[Need]) -> Result<Vec<Finding>, String> {
    let mut findings = Vec::new();
    let mut keys_of: Vec<(&str, Vec<ferry_connectors::dataverse::EntityKey>)> = Vec::new();
    for need in needs {
        let state = match &need.requirement {
            Requirement::Column { entity, column } => {
                let logical = column.logical_name();
                let there =
                    call(&format!("reading column {}", need.name()), || client.column_metadata(entity, &logical))
                        .await?
                        .is_some();
                if there { State::Present } else { State::Missing }
            }
            Requirement::Key { entity, key } => {
                if !keys_of.iter().any(|(e, _)| e == entity) {
                    let keys = call(&format!("reading the keys of {entity}"), || client.entity_keys(entity)).await?;
                    keys_of.push((entity, keys));
                }
                let existing = keys_of.iter().find(|(e, _)| e == entity).map(|(_, k)| k.as_slice()).unwrap_or_default();
                let columns: Vec<&str> = key.columns.iter().map(String::as_str).collect();
                match existing.iter().find(|k| k.covers(&columns)).map(|k| &k.status) {
                    None => State::Missing,
                    Some(KeyIndexStatus::Active) => State::Present,
                    Some(KeyIndexStatus::Failed) => State::Failed,
                    Some(other) => State::Building(other.to_string()),
                }
            }
        };
        findings.push(Finding { need: need.clone(), state });
    }
    Ok(findings)
}

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

/// Creates what is missing (columns first: a key is built on them) and waits, with progress,
/// until every key is active; changes nothing that is there.
pub async fn apply(
    client: &DataverseClient,
    needs: &[Need],
    options: SetupOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<SetupReport, String> {
    let mut report = SetupReport::default();
    let findings = inspect(client, needs).await?;
    let columns_first =
        findings.iter().filter(|f| f.need.kind() == "column").chain(findings.iter().filter(|f| f.need.kind() == "key"));
    for finding in columns_first {
        if finding.state != State::Missing {
            report.already_there += 1;
            continue;
        }
        let name = finding.need.name();
        match &finding.need.requirement {
            Requirement::Column { entity, column } => {
                call(&format!("creating column {name}"), || client.create_column(entity, column)).await?;
                progress(&format!("created column {name}"));
                report.created_columns.push(name);
            }
            Requirement::Key { entity, key } => {
                call(&format!("creating key {name}"), || client.create_entity_key(entity, key)).await?;
                progress(&format!("created key {name} (its index is built by the org)"));
                report.created_keys.push(name);
            }
        }
    }
    // Wait until every key the flows need can be used.
    let keys: Vec<Need> = needs.iter().filter(|n| n.kind() == "key").cloned().collect();
    let started = Instant::now();
    let mut last: Vec<String> = Vec::new();
    loop {
        let mut waiting = Vec::new();
        for finding in inspect(client, &keys).await? {
            match finding.state {
                State::Present => {}
                State::Failed => {
                    return Err(format!(
                        "the index of key {} failed: the table has rows with the same value; remove the duplicates, \
                         delete the key and run ferry setup again",
                        finding.need.name()
                    ));
                }
                State::Missing => {
                    return Err(format!("key {} disappeared while waiting for its index", finding.need.name()));
                }
                State::Building(status) => waiting.push(format!("{}: {status}", finding.need.name())),
            }
        }
        if waiting.is_empty() {
            return Ok(report);
        }
        if waiting != last {
            for w in &waiting {
                progress(&format!("waiting for key {w}"));
            }
            last = waiting.clone();
        }
        if started.elapsed() >= options.wait_for_keys {
            return Err(format!(
                "keys not active after {} s: {}; run ferry setup again later",
                options.wait_for_keys.as_secs(),
                waiting.join(", ")
            ));
        }
        tokio::time::sleep(options.poll_every).await;
    }
}

/// Runs a call, waiting out throttling and transient failures (a few times), as a command has
/// no queue to reschedule on.
async fn call<T, F, Fut>(what: &str, mut f: F) -> Result<T, String>
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
            Err(failure) => return Err(format!("{what}: {failure}")),
        }
    }
}
