//! `$batch` (DYNAMICS.md §A.2b): an encoder that writes the structure of the reference
//! request samples (`batch_…` boundary, change sets with `Content-ID`, `application/http`
//! parts) and a decoder that maps every response part back to its operation, for atomic
//! change sets, `Prefer: odata.continue-on-error`, and batches that stopped at a failure.

use ferry_model::DataverseId;
use ferry_runtime::failure::Failure;
use serde_json::{Map, Value};
use thiserror::Error;

use super::errors;
use super::models::{Record, id_from_entity_url};
use super::query::{KeyError, RecordKey};

/// Most operations in one batch or change set.
pub const MAX_OPERATIONS: usize = 1000;

/// A batch that cannot be built or read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("a $batch holds at most {MAX_OPERATIONS} operations; this one would hold {0}")]
    TooManyOperations(usize),
    #[error("GET is not allowed in a change set (operation {0})")]
    GetInChangeSet(usize),
    #[error("invalid key: {0}")]
    Key(#[from] KeyError),
    #[error("the $batch response is malformed: {0}")]
    Malformed(String),
}

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub method: &'static str,
    /// Relative to the API base (`tasks`, `salesorders(ordernumber='X')`) or `$n`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Operation {
    /// POST a new row.
    pub fn create(entity_set: &str, body: Map<String, Value>) -> Self {
        Operation { method: "POST", path: entity_set.to_owned(), headers: Vec::new(), body: Some(Value::Object(body)) }
    }

    /// PATCH an existing row only (`If-Match: *`: never creates).
    pub fn update(entity_set: &str, key: &RecordKey, body: Map<String, Value>) -> Result<Self, KeyError> {
        Ok(Operation {
            method: "PATCH",
            path: key.path(entity_set)?,
            headers: vec![("If-Match".into(), "*".into())],
            body: Some(Value::Object(body)),
        })
    }

    /// PATCH by key: creates or updates (idempotent).
    pub fn upsert(entity_set: &str, key: &RecordKey, body: Map<String, Value>) -> Result<Self, KeyError> {
        Ok(Operation {
            method: "PATCH",
            path: key.path(entity_set)?,
            headers: Vec::new(),
            body: Some(Value::Object(body)),
        })
    }

    /// PATCH by key with `If-None-Match: *`: creates, or fails with 412 if the row exists.
    pub fn create_only(entity_set: &str, key: &RecordKey, body: Map<String, Value>) -> Result<Self, KeyError> {
        Ok(Operation {
            method: "PATCH",
            path: key.path(entity_set)?,
            headers: vec![("If-None-Match".into(), "*".into())],
            body: Some(Value::Object(body)),
        })
    }

    pub fn delete(entity_set: &str, key: &RecordKey) -> Result<Self, KeyError> {
        Ok(Operation { method: "DELETE", path: key.path(entity_set)?, headers: Vec::new(), body: None })
    }

    /// GET (outside change sets only), e.g. `accounts(<id>)/Account_Tasks?$select=subject`.
    pub fn get(path_and_query: &str) -> Self {
        Operation { method: "GET", path: path_and_query.to_owned(), headers: Vec::new(), body: None }
    }

    /// Adds a header (e.g. `If-Match` with an ETag).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Single(Operation),
    /// (content id, operation)
    ChangeSet(Vec<(u32, Operation)>),
}

/// A change set being filled: its operations get `Content-ID`s that later operations in the
/// same change set can reference as `$n`.
#[derive(Debug)]
pub struct ChangeSet {
    next_id: u32,
    operations: Vec<(u32, Operation)>,
}

impl ChangeSet {
    /// Adds an operation; returns its reference (`$n`) for `@odata.bind` or a URL.
    pub fn add(&mut self, operation: Operation) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.operations.push((id, operation));
        format!("${id}")
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

/// A `$batch` request being built. Operations are numbered in order (0-based) across the
/// batch; results come back with the same numbers.
#[derive(Debug, Default)]
pub struct Batch {
    items: Vec<Item>,
    next_content_id: u32,
    operations: usize,
}

/// The encoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    pub content_type: String,
    pub body: String,
}

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done: the row's id (from `OData-EntityId`) and any body (GET results, representations).
    Succeeded { status: u16, id: Option<DataverseId>, etag: Option<String>, body: Option<Value> },
    /// Refused, classified like any other Dataverse answer.
    Failed(Failure),
    /// Its change set failed on another operation and was rolled back.
    RolledBack,
    /// The batch stopped at an earlier failure (no `continue-on-error`).
    NotExecuted,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Succeeded { .. })
    }

    /// The rows of a successful GET part.
    pub fn records(&self) -> Vec<Record> {
        match self {
            Outcome::Succeeded { body: Some(Value::Object(map)), .. } => match map.get("value") {
                Some(Value::Array(rows)) => {
                    rows.iter().filter_map(|r| r.as_object().cloned()).map(Record::from_json).collect()
                }
                _ => vec![Record::from_json(map.clone())],
            },
            _ => Vec::new(),
        }
    }
}

/// The result of the operation numbered `index`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationResult {
    pub index: usize,
    pub content_id: Option<String>,
    pub outcome: Outcome,
}

impl Batch {
    pub fn new() -> Self {
        Batch { next_content_id: 1, ..Batch::default() }
    }

    /// Operations so far.
    pub fn len(&self) -> usize {
        self.operations
    }

    pub fn is_empty(&self) -> bool {
        self.operations == 0
    }

    fn room(&self, more: usize) -> Result<(), BatchError> {
        let total = self.operations + more;
        if total > MAX_OPERATIONS {
            return Err(BatchError::TooManyOperations(total));
        }
        Ok(())
    }

    /// Adds an operation outside any change set; returns its index.
    pub fn push(&mut self, operation: Operation) -> Result<usize, BatchError> {
        self.room(1)?;
        self.items.push(Item::Single(operation));
        self.operations += 1;
        Ok(self.operations - 1)
    }

    /// Starts a change set; add operations to it, then [`Batch::push_change_set`].
    pub fn change_set(&self) -> ChangeSet {
        ChangeSet { next_id: self.next_content_id.max(1), operations: Vec::new() }
    }

    /// Adds a change set (all or nothing); returns the index of its first operation.
    pub fn push_change_set(&mut self, change_set: ChangeSet) -> Result<usize, BatchError> {
        self.room(change_set.operations.len())?;
        if let Some(pos) = change_set.operations.iter().position(|(_, op)| op.method == "GET") {
            return Err(BatchError::GetInChangeSet(self.operations + pos));
        }
        let first = self.operations;
        self.operations += change_set.operations.len();
        self.next_content_id = change_set.next_id;
        self.items.push(Item::ChangeSet(change_set.operations));
        Ok(first)
    }

    /// Writes the request body; `api_path` is `/api/data/v9.2`.
    pub fn encode(&self, api_path: &str) -> EncodedBatch {
        let boundary = format!("batch_{}", uuid::Uuid::new_v4());
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Single(op) => {
                    out.push_str(&format!("--{boundary}\r\n"));
                    write_operation(&mut out, api_path, None, op);
                }
                Item::ChangeSet(ops) => {
                    let cs = format!("changeset_{}", uuid::Uuid::new_v4());
                    out.push_str(&format!("--{boundary}\r\nContent-Type: multipart/mixed; boundary=\"{cs}\"\r\n\r\n"));
                    for (id, op) in ops {
                        out.push_str(&format!("--{cs}\r\n"));
                        write_operation(&mut out, api_path, Some(*id), op);
                    }
                    out.push_str(&format!("--{cs}--\r\n\r\n"));
                }
            }
        }
        out.push_str(&format!("--{boundary}--\r\n"));
        EncodedBatch { content_type: format!("multipart/mixed; boundary=\"{boundary}\""), body: out }
    }

    /// Maps a `$batch` response to the operations. `content_type` is the response's header
    /// (when absent, the boundary is read from the body's first delimiter).
    pub fn decode(&self, content_type: Option<&str>, body: &str) -> Result<Vec<OperationResult>, BatchError> {
        let boundary = content_type
            .and_then(boundary_of)
            .or_else(|| {
                body.lines().map(str::trim).find(|l| l.starts_with("--")).map(|l| l.trim_start_matches("--").to_owned())
            })
            .ok_or_else(|| BatchError::Malformed("no multipart boundary".into()))?;
        let parts = split_parts(body, &boundary).map_err(BatchError::Malformed)?;
        let mut results = Vec::with_capacity(self.operations);
        let mut parts = parts.into_iter();
        let mut index = 0usize;
        for item in &self.items {
            let part = parts.next();
            match (item, part) {
                (Item::Single(_), Some(part)) => {
                    results.push(OperationResult { index, content_id: None, outcome: http_outcome(&part.body)? });
                    index += 1;
                }
                (Item::ChangeSet(ops), Some(part)) => {
                    let part_type = part.header("content-type").unwrap_or_default();
                    if part_type.to_ascii_lowercase().starts_with("multipart/mixed") {
                        let inner = boundary_of(part_type)
                            .ok_or_else(|| BatchError::Malformed("change set response without boundary".into()))?;
                        let inner_parts = split_parts(&part.body, &inner).map_err(BatchError::Malformed)?;
                        for (position, (id, _)) in ops.iter().enumerate() {
                            let id_text = id.to_string();
                            let matching = inner_parts
                                .iter()
                                .find(|p| p.header("content-id") == Some(id_text.as_str()))
                                .or_else(|| inner_parts.get(position));
                            let outcome = match matching {
                                Some(p) => http_outcome(&p.body)?,
                                None => Outcome::NotExecuted,
                            };
                            results.push(OperationResult { index, content_id: Some(id_text), outcome });
                            index += 1;
                        }
                    } else {
                        // A failed change set is answered by its failing operation alone.
                        let failed_id = part.header("content-id").map(str::to_owned);
                        let failure = http_outcome(&part.body)?;
                        let failing = failed_id.clone().or_else(|| ops.first().map(|(id, _)| id.to_string()));
                        for (id, _) in ops {
                            let id_text = id.to_string();
                            let outcome =
                                if Some(&id_text) == failing.as_ref() { failure.clone() } else { Outcome::RolledBack };
                            results.push(OperationResult { index, content_id: Some(id_text), outcome });
                            index += 1;
                        }
                    }
                }
                (Item::Single(_), None) => {
                    results.push(OperationResult { index, content_id: None, outcome: Outcome::NotExecuted });
                    index += 1;
                }
                (Item::ChangeSet(ops), None) => {
                    for (id, _) in ops {
                        results.push(OperationResult {
                            index,
                            content_id: Some(id.to_string()),
                            outcome: Outcome::NotExecuted,
                        });
                        index += 1;
                    }
                }
            }
        }
        Ok(results)
    }
}

fn write_operation(out: &mut String, api_path: &str, content_id: Option<u32>, op: &Operation) {
    out.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let Some(id) = content_id {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    let target = if op.path.starts_with('$') { op.path.clone() } else { format!("{api_path}/{}", op.path) };
    out.push_str(&format!("\r\n{} {target} HTTP/1.1\r\n", op.method));
    if op.body.is_some() {
        out.push_str("Content-Type: application/json; type=entry\r\n");
    }
    for (name, value) in &op.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    if let Some(body) = &op.body {
        out.push_str(&body.to_string());
        out.push_str("\r\n");
    } else {
        out.push_str("\r\n");
    }
}

/// A part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The `boundary` of a `multipart/mixed` content type.
pub fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}

fn headers_until_blank<'a>(iter: &mut impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for line in iter.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    headers
}

/// Splits a multipart body (CRLF or LF line ends).
pub fn split_parts(body: &str, boundary: &str) -> Result<Vec<Part>, String> {
    let (delimiter, close) = (format!("--{boundary}"), format!("--{boundary}--"));
    let mut parts: Vec<Vec<&str>> = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    let mut closed = false;
    for line in lines(body) {
        let t = line.trim_end();
        if t == close || t == delimiter {
            if let Some(done) = current.take() {
                parts.push(done);
            }
            if t == close {
                closed = true;
                break;
            }
            current = Some(Vec::new());
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    if !closed {
        return Err(format!("missing closing delimiter '{close}'"));
    }
    Ok(parts
        .into_iter()
        .map(|lines| {
            let mut iter = lines.into_iter();
            let headers = headers_until_blank(&mut iter);
            Part { headers, body: iter.collect::<Vec<_>>().join("\n") }
        })
        .collect())
}

/// Reads the HTTP response inside an `application/http` part.
fn http_outcome(text: &str) -> Result<Outcome, BatchError> {
    let mut iter = lines(text).skip_while(|l| l.trim().is_empty());
    let status_line = iter.next().ok_or_else(|| BatchError::Malformed("empty response part".into()))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| BatchError::Malformed(format!("bad status line '{status_line}'")))?;
    let headers = headers_until_blank(&mut iter);
    let body_text = iter.collect::<Vec<_>>().join("\n");
    let body_text = body_text.trim();
    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    if (200..300).contains(&status) {
        let id = header("OData-EntityId").or_else(|| header("Location")).and_then(id_from_entity_url);
        let body = if body_text.is_empty() {
            None
        } else {
            Some(
                serde_json::from_str::<Value>(body_text)
                    .map_err(|e| BatchError::Malformed(format!("part body: {e}")))?,
            )
        };
        let etag = header("ETag").map(str::to_owned);
        return Ok(Outcome::Succeeded { status, id, etag, body });
    }
    Ok(Outcome::Failed(errors::classify(status, header("Retry-After"), body_text.as_bytes())))
}
