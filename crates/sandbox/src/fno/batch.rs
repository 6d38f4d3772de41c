//! `$batch` (DYNAMICS.md §B.2: "change sets are atomic"): a `multipart/mixed` body of
//! `application/http` parts and change sets. A change set runs all or nothing: when one of
//! its requests fails, everything it wrote is rolled back and the change set answers with
//! that one error. The reference is silent on the rest; the sandbox follows OData v4: the
//! batch answers 200, stops at the first failed part unless `Prefer:
//! odata.continue-on-error`, and a `Content-ID` of an earlier create may be referenced as
//! `$n` at the start of a later URL in the same change set.

use std::collections::HashMap;

use uuid::Uuid;

use super::api::{self, Env, Request, Response};
use super::errors::FnoError;
use super::store::Store;
use crate::dataverse::batch::{Part, boundary, split_parts};

/// Most operations the sandbox takes in one batch (F&O publishes no limit; see the notes).
pub const MAX_OPERATIONS: usize = 5000;

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        _ => "Error",
    }
}

fn parse_request(part: &Part) -> Result<Request, FnoError> {
    let mut lines =
        part.body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).skip_while(|l| l.trim().is_empty());
    let line = lines.next().ok_or_else(|| FnoError::bad_request("A $batch part has no request line."))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let (method, target) = match words.as_slice() {
        [method, target, version] if version.starts_with("HTTP/") => (*method, *target),
        [method, target] => (*method, *target),
        _ => return Err(FnoError::bad_request(format!("Invalid request line in a $batch part: '{line}'."))),
    };
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let body = lines.collect::<Vec<_>>().join("\n").trim().as_bytes().to_vec();
    // Absolute (`https://host/data/Set`), rooted (`/data/Set`) or relative (`Set`).
    let relative = match target.find("/data/") {
        Some(at) => &target[at + "/data/".len()..],
        None => target.trim_start_matches('/'),
    };
    let (path, query) = relative.split_once('?').unwrap_or((relative, ""));
    Ok(Request { method: method.to_owned(), path: path.to_owned(), query: query.to_owned(), headers, body })
}

fn write_part(out: &mut String, boundary: &str, content_id: Option<&str>, response: &Response) {
    out.push_str(&format!("--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"));
    if let Some(id) = content_id {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    out.push_str(&format!("\r\nHTTP/1.1 {} {}\r\n", response.status, status_text(response.status)));
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&String::from_utf8_lossy(&response.body));
    out.push_str("\r\n");
}

/// The answer to a `$batch`.
pub struct BatchOutcome {
    pub content_type: String,
    pub body: Vec<u8>,
    /// Requests run (for the request counters).
    pub operations: usize,
}

fn run_one(env: &Env<'_>, store: &mut Store, request: &Request) -> Response {
    match api::execute(env, store, request) {
        Ok(response) => response,
        Err(e) => Response::error(&e),
    }
}

/// Replaces a leading `$n` with the URL of the row content id `n` created.
fn resolve(path: &str, created: &HashMap<String, String>) -> String {
    if let Some(rest) = path.strip_prefix('$') {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(url) = created.get(&rest[..end]) {
            return format!("{url}{}", &rest[end..]);
        }
    }
    path.to_owned()
}

/// Runs a batch under one lock of the store.
pub fn run(
    env: &Env<'_>,
    store: &mut Store,
    content_type: &str,
    body: &[u8],
    continue_on_error: bool,
) -> Result<BatchOutcome, FnoError> {
    let outer = boundary(content_type).ok_or_else(|| {
        FnoError::bad_request("The $batch request needs a multipart/mixed content type with a boundary.")
    })?;
    let text = String::from_utf8_lossy(body);
    let parts = split_parts(&text, &outer).map_err(FnoError::bad_request)?;
    let response_boundary = format!("batchresponse_{}", Uuid::new_v4());
    let mut out = String::new();
    let mut operations = 0usize;
    for part in &parts {
        let part_type = part.header("content-type").unwrap_or_default().to_ascii_lowercase();
        if part_type.starts_with("multipart/mixed") {
            let inner = boundary(part.header("content-type").unwrap_or_default())
                .ok_or_else(|| FnoError::bad_request("A change set has no boundary."))?;
            let requests = split_parts(&part.body, &inner).map_err(FnoError::bad_request)?;
            operations += requests.len();
            if operations > MAX_OPERATIONS {
                return Err(FnoError::bad_request(format!("The $batch holds more than {MAX_OPERATIONS} operations.")));
            }
            let mark = store.mark();
            let mut created: HashMap<String, String> = HashMap::new();
            let mut answers: Vec<(Option<String>, Response)> = Vec::new();
            let mut failed: Option<(Option<String>, Response)> = None;
            for request_part in &requests {
                let content_id = request_part.header("content-id").map(str::to_owned);
                let response = match parse_request(request_part) {
                    Ok(mut request) => {
                        if request.method == "GET" {
                            Response::error(&FnoError::bad_request("A GET request is not allowed in a change set."))
                        } else {
                            request.path = resolve(&request.path, &created);
                            if let Some(at) = request.path.find("/data/") {
                                request.path = request.path[at + 6..].to_owned();
                            }
                            run_one(env, store, &request)
                        }
                    }
                    Err(e) => Response::error(&e),
                };
                if response.status >= 400 {
                    failed = Some((content_id, response));
                    break;
                }
                if let (Some(id), Some((_, location))) =
                    (&content_id, response.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("location")))
                {
                    created.insert(id.clone(), location.clone());
                }
                answers.push((content_id, response));
            }
            if let Some((content_id, response)) = failed {
                store.rollback(mark);
                write_part(&mut out, &response_boundary, content_id.as_deref(), &response);
                if !continue_on_error {
                    break;
                }
                continue;
            }
            let changeset_boundary = format!("changesetresponse_{}", Uuid::new_v4());
            out.push_str(&format!(
                "--{response_boundary}\r\nContent-Type: multipart/mixed; boundary={changeset_boundary}\r\n\r\n"
            ));
            for (content_id, response) in &answers {
                write_part(&mut out, &changeset_boundary, content_id.as_deref(), response);
            }
            out.push_str(&format!("--{changeset_boundary}--\r\n"));
        } else {
            operations += 1;
            if operations > MAX_OPERATIONS {
                return Err(FnoError::bad_request(format!("The $batch holds more than {MAX_OPERATIONS} operations.")));
            }
            let mark = store.mark();
            let response = match parse_request(part) {
                Ok(request) => run_one(env, store, &request),
                Err(e) => Response::error(&e),
            };
            if response.status >= 400 {
                store.rollback(mark);
            }
            let stop = response.status >= 400 && !continue_on_error;
            write_part(&mut out, &response_boundary, part.header("content-id"), &response);
            if stop {
                break;
            }
        }
    }
    out.push_str(&format!("--{response_boundary}--\r\n"));
    Ok(BatchOutcome {
        content_type: format!("multipart/mixed; boundary={response_boundary}"),
        body: out.into_bytes(),
        operations,
    })
}
