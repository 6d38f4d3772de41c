//! A tenant's flows as the console and the API see them: their versions, the mapping
//! designer's preview and save, rollback, pause and resume, shadow runs and their differences.
//!
//! A save is checked exactly as `ferry check` checks the flows folder (the same parse, the
//! same expression compiler, the same binding to the tenant's connections and the templates),
//! over the tenant's flows with the edited text in place of the flow's, and refused with every
//! problem at its line and column. What a save, rollback, pause or shadow changes is the
//! flow's head in the store; every node running the tenant rebuilds its flows from it within
//! a refresh (see `ferry_flows::tenants`).

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use ferry_flows::tenants::TenantSource;
use ferry_mapping::flow::parse_flow;
use ferry_mapping::preview::{PreviewContext, preview};
use ferry_mapping::suggest::{Suggestion, suggest};
use ferry_store::{
    Activate, AnyStore, FlowHead, FlowHeadChange, FlowSample, FlowVersionRow, ShadowReport, Store as _, TenantId,
};

use crate::service::ServiceError;

/// A flow, as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowView {
    pub name: String,
    /// The version that runs.
    pub active: i64,
    /// The newest version kept.
    pub latest: i64,
    pub versions: usize,
    /// An operator paused it: its jobs wait, its polls and events stop.
    pub paused: bool,
    /// The version shadowing the active one, if any.
    pub shadow: Option<i64>,
    pub changed_by: String,
    #[schema(value_type = String)]
    pub changed_at: jiff::Timestamp,
}

/// One version, without its text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: i64,
    pub note: String,
    pub created_by: String,
    #[schema(value_type = String)]
    pub created_at: jiff::Timestamp,
    /// Whether it is the one that runs.
    pub active: bool,
}

/// A problem with a flow's text, at its line and column (1-based; 0 when it has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    /// The field it concerns, when it is a field's.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// What the designer's preview made of a sample record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    /// The mapped record (`outcome`, `key`, `fields`, `lines`…), when it mapped.
    #[schema(value_type = Object)]
    pub output: Option<Value>,
    /// Every problem, at its line: the text's, or a field's on this record.
    pub problems: Vec<Problem>,
    /// Ranked sources for the target fields the flow leaves unmapped.
    #[schema(value_type = Vec<Object>)]
    pub suggestions: Vec<Suggestion>,
}

/// What a save did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Saved {
    pub version: i64,
    /// False when the text was a version already (it runs again now).
    pub new: bool,
}

/// The tenant's flows, by name.
pub async fn list(store: &AnyStore, tenant: &TenantId) -> Result<Vec<FlowView>, ServiceError> {
    let heads = store.flow_heads(tenant).await?;
    let versions = store.flow_versions(tenant, None).await?;
    Ok(heads
        .into_iter()
        .map(|h| {
            let of: Vec<&FlowVersionRow> = versions.iter().filter(|v| v.flow == h.flow).collect();
            FlowView {
                latest: of.iter().map(|v| v.version).max().unwrap_or(h.active),
                versions: of.len(),
                name: h.flow,
                active: h.active,
                paused: h.paused,
                shadow: h.shadow,
                changed_by: h.changed_by,
                changed_at: h.changed_at,
            }
        })
        .collect())
}

/// The head of the tenant's flow `flow`.
pub async fn head(store: &AnyStore, tenant: &TenantId, flow: &str) -> Result<FlowHead, ServiceError> {
    store
        .flow_heads(tenant)
        .await?
        .into_iter()
        .find(|h| h.flow == flow)
        .ok_or_else(|| ServiceError::NotFound(format!("flow {flow}")))
}

/// The versions of `flow`, newest first.
pub async fn versions(store: &AnyStore, tenant: &TenantId, flow: &str) -> Result<Vec<VersionView>, ServiceError> {
    let head = head(store, tenant, flow).await?;
    Ok(store
        .flow_versions(tenant, Some(flow))
        .await?
        .into_iter()
        .map(|v| VersionView {
            active: v.version == head.active,
            version: v.version,
            note: v.note,
            created_by: v.created_by,
            created_at: v.created_at,
        })
        .collect())
}

/// Version `version` of `flow`, with its text.
pub async fn version(
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    version: i64,
) -> Result<FlowVersionRow, ServiceError> {
    head(store, tenant, flow).await?;
    store
        .flow_versions(tenant, Some(flow))
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| ServiceError::NotFound(format!("flow {flow} version {version}")))
}

/// The text of the version that runs.
pub async fn active_text(store: &AnyStore, tenant: &TenantId, flow: &str) -> Result<FlowVersionRow, ServiceError> {
    let head = head(store, tenant, flow).await?;
    version(store, tenant, flow, head.active).await
}

/// The path the edited text's problems name (so they can be told from other flows').
fn edited_path(flow: &str) -> PathBuf {
    PathBuf::from(format!("{flow} (edited)"))
}

/// Checks `text` as the new text of `flow` the way `ferry check` checks the folder: over the
/// tenant's flows (as they run) with it in place of the flow's. Every problem of the text,
/// at its line and column; an empty list when it is sound.
pub async fn check(
    source: &TenantSource,
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    text: &str,
) -> Result<Vec<Problem>, ServiceError> {
    let path = edited_path(flow);
    match parse_flow(&path, text) {
        Err(d) => return Ok(vec![Problem { line: d.pos.line, column: d.pos.column, field: None, message: d.message }]),
        Ok(parsed) if parsed.name.value != flow => {
            return Ok(vec![Problem {
                line: parsed.name.pos.line,
                column: parsed.name.pos.column,
                field: None,
                message: format!(
                    "name `{}` is not this flow's: a version keeps the flow's name `{flow}` (a new flow is a new file)",
                    parsed.name.value
                ),
            }]);
        }
        Ok(_) => {}
    }
    let connections = source.connections(store, tenant).await.map_err(|e| ServiceError::BadInput(e.to_string()))?;
    let resolved = ferry_flows::versions::resolve(store, tenant, &source.flows_dir(tenant))
        .await
        .map_err(|e| ServiceError::BadInput(e.to_string()))?;
    let mut texts: Vec<(PathBuf, String)> =
        resolved.texts.into_iter().filter(|(p, t)| parse_flow(p, t).map_or(true, |f| f.name.value != flow)).collect();
    texts.push((path.clone(), text.to_owned()));
    let (_, problems) = ferry_flows::load_flow_texts(texts, &connections);
    let prefix = format!("{}:", path.display());
    Ok(problems.iter().filter_map(|p| p.strip_prefix(&prefix)).map(problem_of).collect())
}

/// `12:5: message` (or `12:5: flow x: message`) as a [`Problem`].
fn problem_of(rest: &str) -> Problem {
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().and_then(|l| l.trim().parse().ok());
    let column = parts.next().and_then(|c| c.trim().parse().ok());
    match (line, column, parts.next()) {
        (Some(line), Some(column), Some(message)) => {
            Problem { line, column, field: None, message: message.trim().to_owned() }
        }
        _ => Problem { line: 0, column: 0, field: None, message: rest.trim().to_owned() },
    }
}

/// Saves `text` as a new version of `flow` and makes it the one that runs, if it checks.
pub async fn save(
    source: &TenantSource,
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    text: &str,
    how: SaveAs,
    actor: &str,
) -> Result<Saved, ServiceError> {
    head(store, tenant, flow).await?;
    refuse_problems(check(source, store, tenant, flow, text).await?)?;
    let (activate, note) = match how {
        SaveAs::Running => (Activate::Always, "saved in the console"),
        SaveAs::Shadow | SaveAs::Draft => (Activate::Never, "saved in the console as a draft"),
    };
    let (version, new) = store.add_flow_version(tenant, flow, text, note, activate, actor).await?;
    if how == SaveAs::Shadow {
        let head = head(store, tenant, flow).await?;
        if head.active != version {
            store.set_flow_head(tenant, flow, FlowHeadChange::Shadow(Some(version)), actor).await?;
        }
    }
    Ok(Saved { version, new })
}

/// What a saved version becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaveAs {
    /// The version that runs (the default).
    #[default]
    Running,
    /// A shadow of the running version: it maps live records beside it and writes nothing.
    Shadow,
    /// Kept only, to run or shadow later.
    Draft,
}

fn refuse_problems(problems: Vec<Problem>) -> Result<(), ServiceError> {
    if problems.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Err(ServiceError::BadInput(format!("the flow does not check: {}", text.join("; "))))
}

/// Runs version `to` of `flow` again (a rollback, or a roll forward), if it still checks
/// against the tenant's connections.
pub async fn activate(
    source: &TenantSource,
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    to: i64,
    actor: &str,
) -> Result<FlowHead, ServiceError> {
    let row = version(store, tenant, flow, to).await?;
    refuse_problems(check(source, store, tenant, flow, &row.text).await?)?;
    Ok(store.set_flow_head(tenant, flow, FlowHeadChange::Activate(to), actor).await?)
}

/// Pauses (`true`) or resumes `flow`.
pub async fn pause(
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    paused: bool,
    actor: &str,
) -> Result<FlowHead, ServiceError> {
    Ok(store.set_flow_head(tenant, flow, FlowHeadChange::Pause(paused), actor).await?)
}

/// Shadows the active version of `flow` with version `with` (it must check, and map with the
/// same template), or stops shadowing (`None`).
pub async fn shadow(
    source: &TenantSource,
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    with: Option<i64>,
    actor: &str,
) -> Result<FlowHead, ServiceError> {
    if let Some(v) = with {
        let row = version(store, tenant, flow, v).await?;
        refuse_problems(check(source, store, tenant, flow, &row.text).await?)?;
    }
    Ok(store.set_flow_head(tenant, flow, FlowHeadChange::Shadow(with), actor).await?)
}

/// What shadow version `version` (by default the current shadow) would have written
/// differently, for up to `limit` records.
pub async fn shadow_report(
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    version: Option<i64>,
    limit: u32,
) -> Result<(i64, ShadowReport), ServiceError> {
    let head = head(store, tenant, flow).await?;
    let Some(v) = version.or(head.shadow) else {
        return Err(ServiceError::NotFound(format!("shadow of flow {flow} (none was set)")));
    };
    Ok((v, store.shadow_report(tenant, flow, v, limit).await?))
}

/// The recent source records of `flow` kept for the designer (PII redacted).
pub async fn samples(store: &AnyStore, tenant: &TenantId, flow: &str) -> Result<Vec<FlowSample>, ServiceError> {
    head(store, tenant, flow).await?;
    Ok(store.flow_samples(tenant, flow).await?)
}

/// Maps `sample` with `text` without saving anything: the output, or every problem at its
/// line (the text's own, then each field's on this record), and ranked suggestions for the
/// target fields the flow leaves unmapped.
pub fn preview_text(flow: &str, text: &str, sample: &Value) -> PreviewView {
    let path = edited_path(flow);
    let parsed = match parse_flow(&path, text) {
        Ok(parsed) => parsed,
        Err(d) => {
            return PreviewView {
                output: None,
                problems: vec![Problem { line: d.pos.line, column: d.pos.column, field: None, message: d.message }],
                suggestions: Vec::new(),
            };
        }
    };
    let suggestions = suggestions(&parsed, sample);
    let mut checked = Vec::new();
    ferry_mapping::check::check_flow(&path, text, &parsed, (&[], &[]), &mut checked);
    // Connections are checked on save; here only the text and its expressions.
    let problems: Vec<Problem> = checked
        .into_iter()
        .filter(|d| !d.message.starts_with("unknown connection"))
        .map(|d| Problem { line: d.pos.line, column: d.pos.column, field: None, message: d.message })
        .collect();
    if !problems.is_empty() {
        return PreviewView { output: None, problems, suggestions };
    }
    match preview(&parsed, sample, &PreviewContext::default()) {
        Ok(output) => PreviewView { output: Some(output), problems: Vec::new(), suggestions },
        Err(errors) => PreviewView {
            output: None,
            problems: errors
                .into_iter()
                .map(|e| {
                    let (line, column) = position_of(text, &e.field);
                    Problem { line, column, message: e.message, field: Some(e.field) }
                })
                .collect(),
            suggestions,
        },
    }
}

/// Where a field's expression is written: the first line that sets the field's own key
/// (`lines[2].productid` → `productid:`), else the top.
fn position_of(text: &str, field: &str) -> (u32, u32) {
    let key = field.rsplit(['.', ']']).find(|s| !s.is_empty()).unwrap_or(field);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with(':')
        {
            let column = line.len() - trimmed.len() + 1;
            return (u32::try_from(i + 1).unwrap_or(u32::MAX), u32::try_from(column).unwrap_or(u32::MAX));
        }
    }
    (1, 1)
}

/// Ranked sources from `sample` for the target fields the flow's template writes and the flow
/// leaves unmapped.
fn suggestions(flow: &ferry_mapping::Flow, sample: &Value) -> Vec<Suggestion> {
    let template = flow.template_name().value.as_str();
    let Some(template) = ferry_flows::TEMPLATES.iter().find(|t| t.name() == template) else {
        return Vec::new();
    };
    let mapped = |name: &str| {
        flow.map.contains_key(name) || flow.custom_fields.contains_key(name) || flow.target.key.contains_key(name)
    };
    let unmapped: Vec<_> = template.target_fields().into_iter().filter(|f| !mapped(&f.name)).collect();
    if unmapped.is_empty() || !sample.is_object() {
        return Vec::new();
    }
    suggest(sample, &unmapped)
}

/// The sample a preview maps: the one pasted, else the flow's newest kept record.
pub async fn sample_or_recent(
    store: &AnyStore,
    tenant: &TenantId,
    flow: &str,
    pasted: Option<&str>,
) -> Result<Value, ServiceError> {
    match pasted.map(str::trim).filter(|p| !p.is_empty()) {
        Some(text) => serde_json::from_str::<Value>(text).map_err(|e| {
            ServiceError::BadInput(format!(
                "the sample record is not JSON: line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        }),
        None => {
            let recent = samples(store, tenant, flow).await?;
            let first = recent.first().ok_or_else(|| {
                ServiceError::BadInput(format!(
                    "flow {flow} has no recent record yet: paste a sample record to preview with"
                ))
            })?;
            serde_json::from_str(&first.sample)
                .map_err(|e| ServiceError::BadInput(format!("the kept record {} is not JSON: {e}", first.record)))
        }
    }
}

/// The request of a preview: the text and, optionally, a sample (else the newest kept record).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PreviewRequest {
    pub text: String,
    /// A sample record as JSON text.
    pub sample: Option<String>,
}

/// Shared handle the API and the pages keep.
pub type Source = Arc<TenantSource>;
