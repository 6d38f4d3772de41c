//! Change tracking as a polling source (DYNAMICS.md §A.4): the first poll returns the rows
//! and a delta link; each later poll GETs the stored delta link and returns what changed,
//! deleted rows included. The delta link is the cursor: store it with the enqueue.

use ferry_model::DataverseId;
use ferry_runtime::failure::Failure;
use serde_json::{Map, Value};

use super::models::Record;

/// The `@odata.deltaLink` to poll next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaCursor(String);

impl DeltaCursor {
    pub fn new(link: impl Into<String>) -> Self {
        DeltaCursor(link.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Created or updated: the row's current selected columns.
    Upserted(Record),
    /// Deleted (`$deletedEntity`).
    Deleted(DataverseId),
}

/// A poll's changes and the cursor to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    pub changes: Vec<Change>,
    pub cursor: DeltaCursor,
}

/// Reads the `value` of a change-tracking response.
pub fn parse_changes(body: &Map<String, Value>) -> Result<Vec<Change>, Failure> {
    let Some(Value::Array(items)) = body.get("value") else { return Ok(Vec::new()) };
    let mut changes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            return Err(Failure::permanent(format!("change tracking item {i} is not an object")));
        };
        let deleted =
            object.get("@odata.context").and_then(Value::as_str).is_some_and(|c| c.ends_with("/$deletedEntity"));
        if deleted {
            let id = object
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Failure::permanent(format!("deleted item {i} has no valid id")))?;
            changes.push(Change::Deleted(id));
        } else {
            changes.push(Change::Upserted(Record::from_json(object.clone())));
        }
    }
    Ok(changes)
}

/// What one poll of a [`ChangeTrackingSource`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollOutcome {
    /// Changes the delta contained.
    pub changes: usize,
    /// Jobs enqueued (changes already enqueued before are skipped by their dedupe key).
    pub enqueued: usize,
}

/// Change tracking of one table as a polling source: the delta link is the cursor, kept in
/// the store and moved in the same transaction as the jobs it covers, so a crash between
/// the poll and the enqueue replays the changes instead of losing them.
#[derive(Debug, Clone)]
pub struct ChangeTrackingSource {
    pub tenant: ferry_model::TenantId,
    pub connection: ferry_model::ConnectionId,
    /// Entity set (`accounts`).
    pub entity_set: String,
    /// Its primary id column (`accountid`).
    pub primary_id: String,
    pub select: Vec<String>,
    /// The flow each change's job runs.
    pub flow: String,
    pub page_size: Option<u32>,
    /// Put before each job's dedupe key, record and cursor (`<instance>/`), so two flow instances fed
    /// by one source keep their jobs apart; empty for a template's only instance.
    pub key_prefix: String,
}

impl ChangeTrackingSource {
    /// The cursor's name in the store.
    pub fn cursor_name(&self) -> String {
        format!("{}dataverse:{}:{}:delta", self.key_prefix, self.connection, self.entity_set)
    }

    fn job(&self, change: &Change) -> Result<ferry_store::NewJob, Failure> {
        let (key, payload, id) = match change {
            Change::Upserted(record) => {
                let id = record.str(&self.primary_id).ok_or_else(|| {
                    Failure::permanent(format!("a changed {} row has no {}", self.entity_set, self.primary_id))
                })?;
                let version = record.etag.clone().unwrap_or_default();
                (
                    format!("dataverse:{}:{id}:{version}", self.entity_set),
                    serde_json::json!({ "entity_set": self.entity_set, "change": "upserted", "id": id, "record": record.fields }),
                    id.to_owned(),
                )
            }
            Change::Deleted(id) => (
                format!("dataverse:{}:{id}:deleted", self.entity_set),
                serde_json::json!({ "entity_set": self.entity_set, "change": "deleted", "id": id.to_string() }),
                id.to_string(),
            ),
        };
        Ok(ferry_store::NewJob::new(self.tenant.clone(), self.flow.clone(), payload)
            .dedupe_key(format!("{}{key}", self.key_prefix))
            .record(format!("{}dataverse:{}:{id}", self.key_prefix, self.entity_set))
            .connection(self.connection.clone()))
    }

    /// Polls once: from the stored delta link (or an initial sync), enqueues a job per change
    /// and stores the new delta link with them.
    pub async fn poll<S: ferry_store::Store>(
        &self,
        store: &S,
        client: &super::client::DataverseClient,
    ) -> Result<PollOutcome, Failure> {
        let stored = store
            .cursor(&self.tenant, &self.cursor_name())
            .await
            .map_err(|e| Failure::transient(format!("reading the change-tracking cursor: {e}")))?;
        let cursor = stored.map(DeltaCursor::new);
        let select: Vec<&str> = self.select.iter().map(String::as_str).collect();
        let batch = client.poll_changes(&self.entity_set, &select, cursor.as_ref(), self.page_size).await?;
        let jobs = batch.changes.iter().map(|c| self.job(c)).collect::<Result<Vec<_>, _>>()?;
        let update = ferry_store::CursorUpdate {
            tenant: self.tenant.clone(),
            name: self.cursor_name(),
            value: batch.cursor.into_string(),
        };
        let ids = store
            .enqueue_with_cursor(&jobs, &update)
            .await
            .map_err(|e| Failure::transient(format!("enqueueing changes of {}: {e}", self.entity_set)))?;
        Ok(PollOutcome { changes: jobs.len(), enqueued: ids.iter().flatten().count() })
    }
}
