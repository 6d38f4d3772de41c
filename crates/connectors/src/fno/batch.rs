//! `$batch` for F&O (DYNAMICS.md §B.2: "change sets are atomic"): an encoder for single
//! requests and change sets, and a decoder that hands every operation its outcome. When a
//! change set fails, F&O answers it with the one failed request's error and none of its
//! writes stay, so each of its operations gets [`Outcome::RolledBack`] with that failure.
//! Operations after a failure that stopped the batch get [`Outcome::NotRun`].

use ferry_runtime::failure::Failure;
use serde_json::{Map, Value};
use thiserror::Error;

use super::errors;
use super::models::Record;
use super::query::{EntityKey, QueryError};
use crate::dataverse::batch::{boundary_of, split_parts};

/// Most operations in one batch (see [`super::limits::BATCH_OPERATIONS`]).
pub const MAX_OPERATIONS: usize = super::limits::BATCH_OPERATIONS;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("a $batch holds at most {MAX_OPERATIONS} operations; this one would hold {0}")]
    TooManyOperations(usize),
    #[error("GET is not allowed in a change set")]
    GetInChangeSet,
    #[error("invalid key: {0}")]
    Key(#[from] QueryError),
    #[error("the $batch response is malformed: {0}")]
    Malformed(String),
}

/// One request of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub method: &'static str,
    /// Relative to `/data/` (`SalesOrderHeadersV2`, `CustomersV3(dataAreaId='usmf',…)`).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Map<String, Value>>,
}

impl Operation {
    pub fn create(entity_set: &str, body: Map<String, Value>) -> Self {
        Operation { method: "POST", path: entity_set.to_owned(), headers: Vec::new(), body: Some(body) }
    }

    pub fn update(entity_set: &str, key: &EntityKey, body: Map<String, Value>) -> Result<Self, QueryError> {
        Ok(Operation { method: "PATCH", path: key.path(entity_set)?, headers: Vec::new(), body: Some(body) })
    }

    pub fn delete(entity_set: &str, key: &EntityKey) -> Result<Self, QueryError> {
        Ok(Operation { method: "DELETE", path: key.path(entity_set)?, headers: Vec::new(), body: None })
    }

    /// A GET (outside change sets), e.g. `CustomersV3?$top=1`.
    pub fn get(path_and_query: &str) -> Self {
        Operation { method: "GET", path: path_and_query.to_owned(), headers: Vec::new(), body: None }
    }

    /// The path with `cross-company=true` added (for rows of another company).
    pub fn cross_company(mut self) -> Self {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        self.path = format!("{}{sep}cross-company=true", self.path);
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Single(Operation),
    ChangeSet(Vec<Operation>),
}

/// A batch being built; operations are numbered in order (0-based) across the batch.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    items: Vec<Item>,
    operations: usize,
}

/// What became of one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 2xx, with the entity for a create.
    Done { status: u16, record: Option<Record> },
    /// This operation failed (outside a change set).
    Failed(Failure),
    /// Its change set failed (this operation or another one in it): nothing of it was written.
    RolledBack(Failure),
    /// The batch stopped before it.
    NotRun,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperationResult {
    pub index: usize,
    pub outcome: Outcome,
}

/// The encoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    pub content_type: String,
    pub body: String,
}

fn write_operation(out: &mut String, boundary: &str, content_id: usize, data_path: &str, op: &Operation) {
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {content_id}\r\n\r\n"
    ));
    out.push_str(&format!("{} {data_path}/{} HTTP/1.1\r\nAccept: application/json\r\n", op.method, op.path));
    for (name, value) in &op.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    match &op.body {
        Some(body) => out.push_str(&format!(
            "Content-Type: application/json; type=entry\r\n\r\n{}\r\n",
            Value::Object(body.clone())
        )),
        None => out.push_str("\r\n"),
    }
}

/// The status, headers and body of an `application/http` response part.
fn parse_response(text: &str) -> Result<(u16, String), BatchError> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).skip_while(|l| l.trim().is_empty());
    let status_line = lines.next().ok_or_else(|| BatchError::Malformed("a part has no status line".into()))?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| BatchError::Malformed(format!("invalid status line '{status_line}'")))?;
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
    }
    Ok((status, lines.collect::<Vec<_>>().join("\n").trim().to_owned()))
}

fn outcome_of(status: u16, body: &str) -> Outcome {
    if (200..300).contains(&status) {
        let record = match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(map)) => Some(Record::from_json(map)),
            _ => None,
        };
        Outcome::Done { status, record }
    } else {
        Outcome::Failed(errors::classify(status, None, body.as_bytes()))
    }
}

impl Batch {
    pub fn new() -> Self {
        Batch::default()
    }

    pub fn len(&self) -> usize {
        self.operations
    }

    pub fn is_empty(&self) -> bool {
        self.operations == 0
    }

    fn reserve(&mut self, n: usize) -> Result<usize, BatchError> {
        if self.operations + n > MAX_OPERATIONS {
            return Err(BatchError::TooManyOperations(self.operations + n));
        }
        let first = self.operations;
        self.operations += n;
        Ok(first)
    }

    /// Adds a request of its own; returns its index.
    pub fn push(&mut self, operation: Operation) -> Result<usize, BatchError> {
        let index = self.reserve(1)?;
        self.items.push(Item::Single(operation));
        Ok(index)
    }

    /// Adds an atomic change set; returns the index of its first operation.
    pub fn push_change_set(&mut self, operations: Vec<Operation>) -> Result<usize, BatchError> {
        if operations.iter().any(|o| o.method == "GET") {
            return Err(BatchError::GetInChangeSet);
        }
        let index = self.reserve(operations.len())?;
        self.items.push(Item::ChangeSet(operations));
        Ok(index)
    }

    /// The request body; `data_path` is `/data` (request lines are rooted paths).
    pub fn encode(&self, data_path: &str) -> EncodedBatch {
        let batch = format!("batch_{}", uuid::Uuid::new_v4());
        let mut out = String::new();
        let mut content_id = 1;
        for item in &self.items {
            match item {
                Item::Single(op) => {
                    write_operation(&mut out, &batch, content_id, data_path, op);
                    content_id += 1;
                }
                Item::ChangeSet(ops) => {
                    let changeset = format!("changeset_{}", uuid::Uuid::new_v4());
                    out.push_str(&format!("--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"));
                    for op in ops {
                        write_operation(&mut out, &changeset, content_id, data_path, op);
                        content_id += 1;
                    }
                    out.push_str(&format!("--{changeset}--\r\n"));
                }
            }
        }
        out.push_str(&format!("--{batch}--\r\n"));
        EncodedBatch { content_type: format!("multipart/mixed; boundary={batch}"), body: out }
    }

    /// Maps the response parts back to the operations, in order.
    pub fn decode(&self, content_type: Option<&str>, body: &str) -> Result<Vec<OperationResult>, BatchError> {
        let boundary = content_type
            .and_then(boundary_of)
            .ok_or_else(|| BatchError::Malformed("the response has no multipart boundary".into()))?;
        let parts = split_parts(body, &boundary).map_err(BatchError::Malformed)?;
        let mut parts = parts.into_iter();
        let mut results = Vec::with_capacity(self.operations);
        let mut index = 0;
        for item in &self.items {
            let count = match item {
                Item::Single(_) => 1,
                Item::ChangeSet(ops) => ops.len(),
            };
            let Some(part) = parts.next() else {
                for i in index..index + count {
                    results.push(OperationResult { index: i, outcome: Outcome::NotRun });
                }
                index += count;
                continue;
            };
            let part_type = part.header("content-type").unwrap_or_default().to_ascii_lowercase();
            if part_type.starts_with("multipart/mixed") {
                let inner = boundary_of(part.header("content-type").unwrap_or_default())
                    .ok_or_else(|| BatchError::Malformed("a change set response has no boundary".into()))?;
                let answers = split_parts(&part.body, &inner).map_err(BatchError::Malformed)?;
                if answers.len() != count {
                    return Err(BatchError::Malformed(format!(
                        "a change set of {count} operations got {} answers",
                        answers.len()
                    )));
                }
                for (i, answer) in answers.iter().enumerate() {
                    let (status, text) = parse_response(&answer.body)?;
                    results.push(OperationResult { index: index + i, outcome: outcome_of(status, &text) });
                }
            } else {
                let (status, text) = parse_response(&part.body)?;
                let outcome = outcome_of(status, &text);
                match (item, outcome) {
                    (Item::ChangeSet(_), Outcome::Failed(failure)) => {
                        for i in index..index + count {
                            results.push(OperationResult { index: i, outcome: Outcome::RolledBack(failure.clone()) });
                        }
                    }
                    (_, outcome) => results.push(OperationResult { index, outcome }),
                }
            }
            index += count;
        }
        Ok(results)
    }
}
