//! Flow versions: every text a flow has run with is kept in the store, numbered per flow, and
//! the store's head of each flow says which version runs, whether an operator paused it, and
//! which version shadows it.
//!
//! The flows folder stays the engineer's (reviewed in git, promoted dev → prod): when a tenant's
//! engine is built, each file whose text the store does not have yet becomes a new version and
//! runs. A text the store already has changes nothing, so a version saved in the console's
//! mapping designer, or a rollback, keeps running across restarts until the file itself is
//! edited again. Which flows exist is still the folder's to say.
//!
//! An instance is given its [`FlowVersions`]: the mapping a job runs with (the version a replay
//! chose, else the active one), the shadow version that maps each live record beside the active
//! one and records the field-by-field difference without writing anything, and a few recent
//! source records (PII redacted) for the designer's preview.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_mapping::flow::parse_flow;
use ferry_mapping::{CompiledMapping, FieldError, LookupSource, MappedRecord};
use ferry_model::TenantId;
use ferry_runtime::JobError;
use ferry_store::{Activate, AnyStore, FlowHead, FlowSample, Job, ShadowResult, Store as _};
use serde_json::{Map, Value, json};

use crate::error::BuildError;
use crate::support::permanent;

/// The job payload key naming the flow version a replay chose.
pub const VERSION_KEY: &str = "flow_version";

/// Who imports the folder's files, in the audit log.
const FILE_ACTOR: &str = "flows folder";

/// How often an instance keeps a source record for the designer.
const SAMPLE_EVERY: Duration = Duration::from_secs(30);

/// What runs of a tenant's flows, after the folder's files were imported.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The text of each flow's active version, with the path its problems name.
    pub texts: Vec<(PathBuf, String)>,
    /// Each flow's head, by flow name.
    pub heads: BTreeMap<String, FlowHead>,
    /// The text of each shadow version, by flow name.
    pub shadows: BTreeMap<String, (i64, String)>,
}

/// Imports the files of `dir` as versions of `tenant`'s flows and returns the texts that run.
/// A file that does not parse is returned as it is, for its problem to be reported.
pub async fn resolve(store: &AnyStore, tenant: &TenantId, dir: &Path) -> Result<Resolved, BuildError> {
    let folder = || dir.display().to_string();
    let (files, problems) = ferry_mapping::check::read_dir_texts(dir)
        .map_err(|d| BuildError::Flows { folder: folder(), problems: vec![d.to_string()] })?;
    if !problems.is_empty() {
        return Err(BuildError::Flows {
            folder: folder(),
            problems: problems.iter().map(ToString::to_string).collect(),
        });
    }
    let mut named = Vec::new();
    for (path, text) in files {
        let name = parse_flow(&path, &text).ok().map(|f| f.name.value);
        if let Some(name) = &name {
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            store
                .add_flow_version(tenant, name, &text, &format!("imported from {file}"), Activate::IfNew, FILE_ACTOR)
                .await?;
        }
        named.push((path, text, name));
    }
    let heads: BTreeMap<String, FlowHead> =
        store.flow_heads(tenant).await?.into_iter().map(|h| (h.flow.clone(), h)).collect();
    let mut versions: HashMap<(String, i64), String> = HashMap::new();
    for v in store.flow_versions(tenant, None).await? {
        versions.insert((v.flow, v.version), v.text);
    }
    let mut resolved = Resolved::default();
    for (path, text, name) in named {
        let Some(head) = name.as_ref().and_then(|n| heads.get(n)) else {
            resolved.texts.push((path, text));
            continue;
        };
        match versions.get(&(head.flow.clone(), head.active)) {
            Some(active) if *active != text => resolved.texts.push((version_path(&path, head.active), active.clone())),
            _ => resolved.texts.push((path.clone(), text)),
        }
        if let Some(shadow) = head.shadow
            && let Some(text) = versions.get(&(head.flow.clone(), shadow))
        {
            resolved.shadows.insert(head.flow.clone(), (shadow, text.clone()));
        }
    }
    resolved.heads = heads;
    Ok(resolved)
}

/// The path a stored version's problems name: its file's, with the version.
pub fn version_path(file: &Path, version: i64) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(format!(" (version {version})"));
    PathBuf::from(name)
}

/// Compiles version `version` of a flow from its text, for `template`.
pub fn compile_version(flow: &str, template: &str, version: i64, text: &str) -> Result<Arc<CompiledMapping>, String> {
    let path = PathBuf::from(format!("{flow} (version {version})"));
    let parsed = parse_flow(&path, text).map_err(|d| d.to_string())?;
    if parsed.template_name().value != template {
        return Err(format!(
            "version {version} of flow {flow} instantiates {}, not {template}",
            parsed.template_name().value
        ));
    }
    CompiledMapping::compile_file(&parsed, &path, Some(text))
        .map(Arc::new)
        .map_err(|d| d.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
}

/// One instance's versions: what its jobs map with, its shadow, its samples.
pub struct FlowVersions {
    pub tenant: TenantId,
    /// The instance's flow name (its file's `name:`).
    pub flow: String,
    template: &'static str,
    /// The version that runs (`None` before the store kept one, e.g. in tests built by hand).
    pub active: Option<i64>,
    /// The version mapping each live record beside the active one, and its mapping.
    pub shadow: Option<(i64, Arc<CompiledMapping>)>,
    store: AnyStore,
    chosen: Mutex<HashMap<i64, Arc<CompiledMapping>>>,
    last_sample: Mutex<Option<Instant>>,
}

impl FlowVersions {
    pub fn new(
        store: AnyStore,
        tenant: TenantId,
        flow: String,
        template: &'static str,
        active: Option<i64>,
        shadow: Option<(i64, Arc<CompiledMapping>)>,
    ) -> Self {
        FlowVersions {
            tenant,
            flow,
            template,
            active,
            shadow,
            store,
            chosen: Mutex::new(HashMap::new()),
            last_sample: Mutex::new(None),
        }
    }

    /// The mapping `job` runs with: the version its payload names (a replay with a chosen
    /// version), else `active`. A version that does not exist, or no longer fits the flow, is a
    /// permanent failure naming it.
    pub async fn mapping_for(
        &self,
        job: &Job,
        active: &Arc<CompiledMapping>,
    ) -> Result<Arc<CompiledMapping>, JobError> {
        // Most jobs name no version: no second parse of their payload.
        if !job.payload.contains(VERSION_KEY) {
            return Ok(active.clone());
        }
        let payload: Value = serde_json::from_str(&job.payload).map_err(|e| JobError::bad_payload(job, e))?;
        let Some(chosen) = payload.get(VERSION_KEY) else {
            return Ok(active.clone());
        };
        let Some(version) = chosen.as_i64() else {
            return Err(permanent(
                "map",
                "flow_version",
                format!("job {}: {VERSION_KEY} must be a version number", job.id),
            ));
        };
        if Some(version) == self.active {
            return Ok(active.clone());
        }
        if let Some(mapping) = self.chosen.lock().unwrap_or_else(|e| e.into_inner()).get(&version) {
            return Ok(mapping.clone());
        }
        let versions = self.store.flow_versions(&self.tenant, Some(&self.flow)).await.map_err(|e| {
            JobError::failed(
                "map",
                ferry_runtime::failure::Failure::transient(format!("cannot read flow versions: {e}")),
            )
        })?;
        let Some(row) = versions.into_iter().find(|v| v.version == version) else {
            return Err(permanent(
                "map",
                "flow_version",
                format!("flow {} has no version {version} (job {})", self.flow, job.id),
            ));
        };
        let mapping = compile_version(&self.flow, self.template, version, &row.text)
            .map_err(|e| permanent("map", "flow_version", e))?;
        self.chosen.lock().unwrap_or_else(|e| e.into_inner()).insert(version, mapping.clone());
        Ok(mapping)
    }

    /// Maps one live record the way every flow does: with the version `job` runs with (see
    /// [`Self::mapping_for`]), the shadow beside it, and a sample kept for the designer.
    pub async fn map(
        &self,
        job: &Job,
        active: &Arc<CompiledMapping>,
        record: &str,
        input: Arc<Value>,
        base: Map<String, Value>,
        lookups: &Arc<dyn LookupSource>,
    ) -> Result<Result<MappedRecord, Vec<FieldError>>, JobError> {
        let mapping = self.mapping_for(job, active).await?;
        let shadow_base = self.shadowed().then(|| base.clone());
        let current = mapping.apply_shared(input.clone(), base, lookups);
        if let Some(base) = shadow_base {
            self.shadow_run(record, &input, base, lookups, &current).await;
        }
        self.sample(record, &input).await;
        Ok(current)
    }

    /// Whether a shadow version runs beside the active one.
    pub fn shadowed(&self) -> bool {
        self.shadow.is_some()
    }

    /// Maps `input` with the shadow version (on the same `base` and lookups the active version
    /// had) and keeps the field-by-field difference from `current` for `record`. It writes
    /// nothing anywhere else, and a failure here never fails the record.
    pub async fn shadow_run(
        &self,
        record: &str,
        input: &Arc<Value>,
        base: Map<String, Value>,
        lookups: &Arc<dyn LookupSource>,
        current: &Result<MappedRecord, Vec<FieldError>>,
    ) {
        let Some((version, mapping)) = &self.shadow else { return };
        let shadow = mapping.apply_shared(input.clone(), base, lookups);
        let diff = diff(current, &shadow);
        let result = ShadowResult {
            record: record.to_owned(),
            differing: u32::try_from(diff.len()).unwrap_or(u32::MAX),
            diff: Value::Array(diff).to_string(),
            at: ferry_model::Timestamp::now(),
        };
        if let Err(e) = self.store.put_shadow_result(&self.tenant, &self.flow, *version, &result).await {
            tracing::warn!(tenant = %self.tenant, flow = %self.flow, error = %e, "cannot keep a shadow result");
        }
    }

    /// Keeps amounts of the money fields the flow marks, for the anomaly flags; a failure here
    /// never fails the record.
    pub async fn observe_money(&self, observations: Vec<ferry_store::MoneyObservation>) {
        if let Err(e) = self.store.put_money_observations(&self.tenant, &observations).await {
            tracing::warn!(tenant = %self.tenant, flow = %self.flow, error = %e, "cannot keep money amounts");
        }
    }

    /// Keeps `input` (PII redacted) as a recent source record of the flow, at most every
    /// [`SAMPLE_EVERY`] per instance.
    pub async fn sample(&self, record: &str, input: &Value) {
        {
            let mut last = self.last_sample.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < SAMPLE_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let sample = FlowSample {
            record: record.to_owned(),
            sample: ferry_store::redact::json(input).to_string(),
            at: ferry_model::Timestamp::now(),
        };
        if let Err(e) = self.store.put_flow_sample(&self.tenant, &self.flow, &sample).await {
            tracing::warn!(tenant = %self.tenant, flow = %self.flow, error = %e, "cannot keep a sample record");
        }
    }
}

/// The differences between what two versions made of one record, field by field
/// (`fields.name`, `lines[0].quantity`, `key.ordernumber`, `outcome`), each
/// `{"field", "current", "shadow"}` with PII redacted; a mapping that failed shows its errors.
pub fn diff(
    current: &Result<MappedRecord, Vec<FieldError>>,
    shadow: &Result<MappedRecord, Vec<FieldError>>,
) -> Vec<Value> {
    let (a, b) = (flatten_result(current), flatten_result(shadow));
    let mut fields: Vec<&String> = a.keys().chain(b.keys()).collect();
    fields.sort_unstable();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| a.get(*f) != b.get(*f))
        .map(|f| {
            let shown = |v: Option<&Value>| match v {
                Some(v) if leaf_is_sensitive(f) => redacted(v),
                Some(v) => v.clone(),
                None => Value::Null,
            };
            json!({ "field": f, "current": shown(a.get(f)), "shadow": shown(b.get(f)) })
        })
        .collect()
}

fn leaf_is_sensitive(path: &str) -> bool {
    let leaf = path.rsplit(['.', ']']).find(|s| !s.is_empty()).unwrap_or(path);
    ferry_store::redact::is_sensitive_key(leaf.trim_start_matches('['))
}

fn redacted(v: &Value) -> Value {
    if v.is_null() { Value::Null } else { Value::String(ferry_store::redact::REDACTED.into()) }
}

/// A mapping's result as `path → value`: its outcome, key, fields and lines.
fn flatten_result(result: &Result<MappedRecord, Vec<FieldError>>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    match result {
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            out.insert("errors".to_owned(), Value::String(text.join("; ")));
        }
        Ok(record) => {
            let value = serde_json::to_value(record).unwrap_or(Value::Null);
            for part in ["outcome", "reason", "key", "fields", "lines", "held_lines"] {
                if let Some(v) = value.get(part) {
                    flatten(part, v, &mut out);
                }
            }
        }
    }
    out
}

fn flatten(path: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten(&format!("{path}.{k}"), v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), v, out);
            }
        }
        Value::Object(_) | Value::Array(_) => {}
        other => {
            out.insert(path.to_owned(), other.clone());
        }
    }
}

/// How long a paused flow's job waits before it looks again.
pub const PAUSED_WAIT: Duration = Duration::from_secs(30);

/// The handler a paused flow's jobs meet: each waits (no attempt used) until the flow is
/// resumed and the node's next refresh puts the flow's own handler back.
pub struct Paused {
    pub flow: String,
}

impl ferry_runtime::Handler for Paused {
    fn run<'a>(&'a self, _ctx: &'a ferry_runtime::JobContext, _job: &'a Job) -> ferry_runtime::HandlerFuture<'a> {
        Box::pin(async move {
            Err(JobError::Deferred {
                step: "paused".into(),
                wait: PAUSED_WAIT,
                reason: format!("flow {} is paused; its jobs wait until it is resumed", self.flow),
            })
        })
    }
}
