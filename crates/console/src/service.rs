//! What the console and the CLI do to a tenant's data, in one place: the API's handlers and the
//! CLI's commands call these, so the two cannot disagree. Every function takes the tenant it
//! acts for and reads or changes nothing of another tenant (another tenant's id is "not
//! found", the same as an id that does not exist); every change names its actor and is
//! audited by the store in the same transaction.

use ferry_store::{
    AnyStore, AuditEntry, DeadLetter, DeadLetterId, DeadLetterStatus, JobId, Store as _, StoreError, TenantId,
};

/// Why a service call did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the store failed: {0}")]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, id } => ServiceError::NotFound(format!("{what} {id}")),
            StoreError::Conflict { what, id, reason } => ServiceError::Conflict(format!("{what} {id}: {reason}")),
            other => ServiceError::Store(other),
        }
    }
}

/// Which dead letters a list or a bulk action takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct DeadLetterFilter {
    /// Only this flow's.
    pub flow: Option<String>,
    /// Only those whose cause (see [`cause`]) is this.
    pub cause: Option<String>,
    /// Replayed and discarded ones too (default: open only).
    #[serde(default)]
    pub all: bool,
}

/// The most dead letters one list or bulk action reads.
pub const MAX_DEAD_LETTERS: u32 = 10_000;

/// A tenant's dead letters matching `filter`, newest first.
pub async fn dead_letters(
    store: &AnyStore,
    tenant: &TenantId,
    filter: &DeadLetterFilter,
    limit: u32,
) -> Result<Vec<DeadLetter>, ServiceError> {
    let rows = store.dead_letters(tenant, !filter.all, MAX_DEAD_LETTERS).await?;
    Ok(rows
        .into_iter()
        .filter(|d| filter.flow.as_ref().is_none_or(|f| *f == d.flow))
        .filter(|d| filter.cause.as_ref().is_none_or(|c| *c == cause(&d.error)))
        .take(limit as usize)
        .collect())
}

/// Open dead letters grouped by flow and cause, largest group first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CauseGroup {
    pub flow: String,
    pub cause: String,
    pub count: usize,
    /// The newest one's id, to show as an example.
    pub example: i64,
}

pub async fn dead_letter_groups(store: &AnyStore, tenant: &TenantId) -> Result<Vec<CauseGroup>, ServiceError> {
    let rows = store.dead_letters(tenant, true, MAX_DEAD_LETTERS).await?;
    let mut groups: Vec<CauseGroup> = Vec::new();
    for d in rows {
        let c = cause(&d.error);
        match groups.iter_mut().find(|g| g.flow == d.flow && g.cause == c) {
            Some(g) => g.count += 1,
            None => groups.push(CauseGroup { flow: d.flow.clone(), cause: c, count: 1, example: d.id.0 }),
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.flow.cmp(&b.flow)).then_with(|| a.cause.cmp(&b.cause)));
    Ok(groups)
}

/// One dead letter; with `unredacted` its payload as stored, which is audited first (no
/// unredacted view without its audit row).
pub async fn dead_letter(
    store: &AnyStore,
    tenant: &TenantId,
    id: DeadLetterId,
    unredacted: bool,
    actor: &str,
) -> Result<DeadLetter, ServiceError> {
    let mut d =
        store.dead_letter(tenant, id).await?.ok_or_else(|| ServiceError::NotFound(format!("dead letter {id}")))?;
    if unredacted {
        store
            .audit(&AuditEntry {
                tenant: tenant.clone(),
                actor: actor.into(),
                action: "dlq.show_unredacted".into(),
                subject: format!("dead letter {id}"),
                detail: String::new(),
            })
            .await?;
    } else {
        d.payload = ferry_store::redact::json_text(&d.payload);
    }
    Ok(d)
}

/// Replays an open dead letter as a new job, with an edited payload if given (which must be
/// a JSON object, as every flow's payload is).
pub async fn replay(
    store: &AnyStore,
    tenant: &TenantId,
    id: DeadLetterId,
    edited: Option<&serde_json::Value>,
    version: Option<i64>,
    actor: &str,
) -> Result<JobId, ServiceError> {
    if let Some(payload) = edited
        && !payload.is_object()
    {
        return Err(ServiceError::BadInput("the edited payload must be a JSON object".into()));
    }
    let dead = still_open(store, tenant, id).await?;
    if let Some(payload) = edited
        && let Ok(original) = serde_json::from_str::<serde_json::Value>(&dead.payload)
    {
        check_edit(&original, payload, "").map_err(|problem| {
            ServiceError::BadInput(format!("the edited payload does not fit flow {}'s job: {problem}", dead.flow))
        })?;
    }
    let Some(version) = version else {
        return Ok(store.replay_dead_letter(tenant, id, edited, actor).await?);
    };
    // The job runs with the chosen version of its flow: its payload names it.
    let versions = store.flow_versions(tenant, Some(&dead.flow)).await?;
    if versions.is_empty() {
        return Err(ServiceError::BadInput(format!("flow {} keeps no versions to choose from", dead.flow)));
    }
    if !versions.iter().any(|v| v.version == version) {
        return Err(ServiceError::NotFound(format!("flow {} version {version}", dead.flow)));
    }
    let mut payload = match edited {
        Some(p) => p.clone(),
        None => serde_json::from_str(&dead.payload).map_err(|e| {
            ServiceError::BadInput(format!("dead letter {id}'s payload is not JSON ({e}); edit it first"))
        })?,
    };
    let Some(object) = payload.as_object_mut() else {
        return Err(ServiceError::BadInput(format!("dead letter {id}'s payload is not a JSON object; edit it first")));
    };
    object.insert(ferry_flows::versions::VERSION_KEY.into(), serde_json::Value::from(version));
    Ok(store.replay_dead_letter(tenant, id, Some(&payload), actor).await?)
}

/// Checks an edited payload against the job's own: the same fields, each of the same JSON
/// kind, nested objects and list items alike (a list's items are checked against its first
/// item). An edit fixes values; a field dropped, renamed or turned into another kind would
/// only fail again when the job runs, so it is refused here, naming the field.
pub fn check_edit(original: &serde_json::Value, edited: &serde_json::Value, path: &str) -> Result<(), String> {
    use serde_json::Value;
    let at = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    match (original, edited) {
        // A field that was empty may be given any value.
        (Value::Null, _) => Ok(()),
        (Value::Object(o), Value::Object(e)) => {
            for (key, value) in o {
                let here = at(key);
                match e.get(key) {
                    None => return Err(format!("field `{here}` is missing")),
                    Some(new) => check_edit(value, new, &here)?,
                }
            }
            let known: Vec<&str> = o.keys().map(String::as_str).collect();
            // An empty object says nothing of its fields: anything may be added to it.
            if !o.is_empty()
                && let Some(extra) =
                    e.keys().find(|k| !o.contains_key(k.as_str()) && k.as_str() != ferry_flows::versions::VERSION_KEY)
            {
                return Err(format!("field `{}` is not one the job carries (it has: {})", at(extra), known.join(", ")));
            }
            Ok(())
        }
        (Value::Array(o), Value::Array(e)) => match o.first() {
            None => Ok(()),
            Some(first) => {
                for (i, item) in e.iter().enumerate() {
                    check_edit(first, item, &format!("{path}[{i}]"))?;
                }
                Ok(())
            }
        },
        (o, e) if std::mem::discriminant(o) == std::mem::discriminant(e) => Ok(()),
        (o, e) => {
            let name = if path.is_empty() { "the payload".to_owned() } else { format!("field `{path}`") };
            Err(format!("{name} must be {}, as the job's was, not {}", kind(o), kind(e)))
        }
    }
}

/// Discards an open dead letter.
pub async fn discard(store: &AnyStore, tenant: &TenantId, id: DeadLetterId, actor: &str) -> Result<(), ServiceError> {
    still_open(store, tenant, id).await?;
    Ok(store.discard_dead_letter(tenant, id, actor).await?)
}

/// The tenant's dead letter `id` exists and is open (else why not, for the caller to say).
async fn still_open(store: &AnyStore, tenant: &TenantId, id: DeadLetterId) -> Result<DeadLetter, ServiceError> {
    let d = store.dead_letter(tenant, id).await?.ok_or_else(|| ServiceError::NotFound(format!("dead letter {id}")))?;
    if d.status != DeadLetterStatus::Open {
        return Err(ServiceError::Conflict(format!("dead letter {id} was already {}", d.status.as_str())));
    }
    Ok(d)
}

/// What a bulk action does to each matching open dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Replay,
    Discard,
}

/// What a bulk action did (or, as a preview, would do).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct BulkOutcome {
    /// Open dead letters the filter matches.
    pub matched: usize,
    /// Of those, how many were replayed or discarded (0 in a preview).
    pub done: usize,
    /// The ids it acted on (or would act on).
    pub ids: Vec<i64>,
    /// Ids it could not act on, with why (resolved meanwhile by someone else, say).
    pub failed: Vec<String>,
}

/// Replays or discards every open dead letter matching `filter` (at most
/// [`MAX_DEAD_LETTERS`]); with `preview` only counts them.
pub async fn bulk(
    store: &AnyStore,
    tenant: &TenantId,
    filter: &DeadLetterFilter,
    action: BulkAction,
    preview: bool,
    actor: &str,
) -> Result<BulkOutcome, ServiceError> {
    if filter.flow.is_none() && filter.cause.is_none() && !preview {
        return Err(ServiceError::BadInput(
            "a bulk action needs a flow or a cause (or a preview): every open dead letter at once is too easy a mistake"
                .into(),
        ));
    }
    let open = DeadLetterFilter { all: false, ..filter.clone() };
    let matching = dead_letters(store, tenant, &open, MAX_DEAD_LETTERS).await?;
    let ids: Vec<i64> = matching.iter().map(|d| d.id.0).collect();
    let mut outcome = BulkOutcome { matched: ids.len(), done: 0, ids, failed: Vec::new() };
    if preview {
        return Ok(outcome);
    }
    // Oldest first: replays run in the order the records first failed.
    for d in matching.iter().rev() {
        let result = match action {
            BulkAction::Replay => store.replay_dead_letter(tenant, d.id, None, actor).await.map(|_| ()),
            BulkAction::Discard => store.discard_dead_letter(tenant, d.id, actor).await,
        };
        match result {
            Ok(()) => outcome.done += 1,
            Err(e) => outcome.failed.push(format!("dead letter {}: {e}", d.id)),
        }
    }
    Ok(outcome)
}

/// What went wrong, without what names one record: the words of an error with its order
/// ids, line numbers, GUIDs and other numbers replaced by `…`, so that twelve orders failing
/// on one unknown SKU are one cause. Quoted values (a SKU, a field) are kept: they are the
/// cause.
pub fn cause(error: &str) -> String {
    let mut out = String::with_capacity(error.len());
    let mut quoted = false;
    for (i, word) in error.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let opens = word.starts_with('\'') || word.starts_with('"');
        let closes = word.trim_end_matches([':', ',', ';', '.', ')']).ends_with(['\'', '"']);
        if quoted || opens {
            out.push_str(word);
            quoted = if quoted { !closes } else { !(closes && word.len() > 1) };
            continue;
        }
        let core = word.trim_end_matches([':', ',', ';', '.', ')']).trim_start_matches('(');
        if looks_like_an_id(core) {
            out.push_str(&word.replacen(core, "…", 1));
        } else {
            out.push_str(word);
        }
    }
    out
}

/// An Amazon order id, a GUID, a number or a job/record id: anything made of digits,
/// hex and dashes with at least one digit.
fn looks_like_an_id(word: &str) -> bool {
    !word.is_empty()
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        && (word.len() >= 3 || word.bytes().all(|b| b.is_ascii_digit()))
}

/// One record across systems: its trace (every step of every flow that handled it) and its
/// counterparts in the other systems (the CRM order an Amazon order became, the fulfilment
/// order a CRM order went out as).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RecordTrace {
    /// What was searched for.
    pub id: String,
    /// The record keys it matched (`amazon:order:<id>`…).
    pub records: Vec<String>,
    /// Every step, oldest first.
    pub steps: Vec<TraceStep>,
    /// The same record in the other systems; each is searchable in turn.
    pub links: Vec<RecordLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TraceStep {
    pub at: String,
    pub flow: String,
    pub job: i64,
    pub record: String,
    pub step: String,
    pub outcome: String,
    /// As recorded: written by the flows with buyer data redacted.
    pub message: String,
    /// Milliseconds since the previous step of the same job.
    pub after_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RecordLink {
    pub system: String,
    pub entity: String,
    pub id: String,
    /// `source` (this record came from it) or `target` (this record was written as it).
    pub relation: String,
}

/// The most trace rows one search reads.
const MAX_TRACE_ROWS: u32 = 2_000;

/// Finds a record of the tenant by any of its ids (Amazon order id, CRM order id, FBA
/// fulfilment id…); `NotFound` when nothing of the tenant has it.
pub async fn record_trace(store: &AnyStore, tenant: &TenantId, id: &str) -> Result<RecordTrace, ServiceError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 200 {
        return Err(ServiceError::BadInput("a record id is 1 to 200 characters".into()));
    }
    let rows = store.record_runs(tenant, id, MAX_TRACE_ROWS).await?;
    let xrefs = store.xrefs_of(tenant, id).await?;
    if rows.is_empty() && xrefs.is_empty() {
        return Err(ServiceError::NotFound(format!("record {id}")));
    }
    let mut records: Vec<String> = rows.iter().map(|r| r.run.record.clone()).collect();
    records.sort();
    records.dedup();
    let mut last_of_job: std::collections::HashMap<i64, jiff::Timestamp> = std::collections::HashMap::new();
    let steps = rows
        .into_iter()
        .map(|r| {
            let after_ms = last_of_job
                .insert(r.job.0, r.run.at)
                .map(|prev| i64::try_from(r.run.at.duration_since(prev).as_millis()).unwrap_or(i64::MAX));
            TraceStep {
                at: r.run.at.to_string(),
                flow: r.flow,
                job: r.job.0,
                record: r.run.record,
                step: r.run.step,
                outcome: r.run.outcome,
                message: r.run.message,
                after_ms,
            }
        })
        .collect();
    let links = xrefs
        .into_iter()
        .map(|x| {
            if x.key.source_id == id {
                RecordLink {
                    system: x.key.target_system,
                    entity: x.key.target_entity,
                    id: x.target_id,
                    relation: "target".into(),
                }
            } else {
                RecordLink {
                    system: x.key.source_system,
                    entity: x.key.source_entity,
                    id: x.key.source_id,
                    relation: "source".into(),
                }
            }
        })
        .collect();
    Ok(RecordTrace { id: id.to_owned(), records, steps, links })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check_edit;

    #[test]
    fn an_edit_may_change_values_but_not_the_jobs_fields_or_their_kinds() {
        let job = json!({ "order_id": "113-1", "attempt": 2, "lines": [{ "sku": "A", "qty": 1 }], "note": null });
        let fixed = json!({ "order_id": "113-2", "attempt": 3, "lines": [{ "sku": "B", "qty": 2 }, { "sku": "C", "qty": 1 }], "note": "x", "flow_version": 4 });
        assert_eq!(check_edit(&job, &fixed, ""), Ok(()));
        let missing = json!({ "attempt": 2, "lines": [], "note": null });
        assert_eq!(check_edit(&job, &missing, "").unwrap_err(), "field `order_id` is missing");
        let typo = json!({ "order_id": "113-1", "attempt": 2, "lines": [], "note": null, "ordr_id": "x" });
        assert!(check_edit(&job, &typo, "").unwrap_err().starts_with("field `ordr_id` is not one the job carries"));
        let kind = json!({ "order_id": 113, "attempt": 2, "lines": [], "note": null });
        assert_eq!(
            check_edit(&job, &kind, "").unwrap_err(),
            "field `order_id` must be a text, as the job's was, not a number"
        );
        let nested = json!({ "order_id": "1", "attempt": 2, "lines": [{ "sku": "A", "qty": "1" }], "note": null });
        assert_eq!(
            check_edit(&job, &nested, "").unwrap_err(),
            "field `lines[0].qty` must be a number, as the job's was, not a text"
        );
    }
}
