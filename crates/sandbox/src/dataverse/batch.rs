//! `$batch` (DYNAMICS.md §A.2b): a `multipart/mixed` body of `application/http` parts and
//! change sets, run in order, answered in the format of the reference response samples
//! (`batchresponse_…` / `changesetresponse_…` boundaries, `Content-ID` echoed). Change sets
//! are atomic; without `Prefer: odata.continue-on-error` the batch stops at the first failure
//! and answers 400.

use std::collections::HashMap;

use uuid::Uuid;

use super::api::{self, ApiRequest, ApiResponse, Ctx};
use super::errors::ApiError;
use super::store::{Event, Store};

/// Most operations a batch (and a change set) may hold.
pub const MAX_OPERATIONS: usize = 1000;

/// One part of a multipart body: its headers and the text after them.
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

/// The `boundary` parameter of a `multipart/mixed` content type (quoted or not).
pub fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn parse_headers<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

/// Splits a multipart body at `--boundary` lines (CRLF or LF line ends).
pub fn split_parts(body: &str, boundary: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    let mut closed = false;
    for line in body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        let trimmed = line.trim_end();
        if trimmed == close {
            if let Some(lines) = current.take() {
                parts.push(lines);
            }
            closed = true;
            break;
        }
        if trimmed == delimiter {
            if let Some(lines) = current.take() {
                parts.push(lines);
            }
            current = Some(Vec::new());
            continue;
        }
        if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    if !closed {
        return Err(format!("the multipart body does not end with the closing delimiter '{close}'"));
    }
    Ok(parts
        .into_iter()
        .map(|lines| {
            let mut iter = lines.into_iter();
            let headers = parse_headers(&mut iter);
            Part { headers, body: iter.collect::<Vec<_>>().join("\n") }
        })
        .collect())
}

/// The request inside an `application/http` part.
fn parse_http_request(part: &Part) -> Result<ApiRequest, ApiError> {
    let mut lines =
        part.body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).skip_while(|l| l.trim().is_empty());
    let request_line = lines.next().ok_or_else(|| ApiError::bad_request("A $batch part has no request line."))?;
    // METHOD target HTTP/1.1; the documentation's targets even contain a space
    // (`[Organization URI]/api/…`), so the target is everything in between.
    let words: Vec<&str> = request_line.split_whitespace().collect();
    let (method, target) = match words.as_slice() {
        [method, middle @ .., version] if !middle.is_empty() && version.starts_with("HTTP/") => {
            (*method, middle.join(" "))
        }
        [method, target] => (*method, (*target).to_owned()),
        _ => return Err(ApiError::bad_request(format!("Invalid request line in a $batch part: '{request_line}'"))),
    };
    let target = target.as_str();
    let headers: Vec<(String, String)> =
        parse_headers(&mut lines).into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect();
    let body = lines.collect::<Vec<_>>().join("\n").trim().as_bytes().to_vec();
    // Request lines may be relative (`/api/data/v9.2/tasks`) or absolute, even with the
    // documentation's `[Organization URI]` placeholder.
    let relative = match target.find("/api/data/v9.") {
        Some(at) => target[at..].splitn(5, '/').nth(4).unwrap_or_default(),
        None => target.trim_start_matches('/'),
    };
    let (path, query) = relative.split_once('?').unwrap_or((relative, ""));
    Ok(ApiRequest { method: method.to_owned(), path: path.to_owned(), query: query.to_owned(), headers, body })
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes one `application/http` response part (CRLF line ends, as on the wire).
fn write_part(out: &mut String, boundary: &str, content_id: Option<&str>, response: &ApiResponse) {
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
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub events: Vec<Event>,
}

enum Item {
    Single(Part),
    ChangeSet(Vec<Part>),
}

/// Runs a `$batch` request against the store.
pub fn run(
    store: &mut Store,
    base: &str,
    content_type: &str,
    body: &[u8],
    continue_on_error: bool,
) -> Result<BatchOutcome, ApiError> {
    let outer = boundary(content_type)
        .ok_or_else(|| ApiError::bad_request("A $batch request needs 'Content-Type: multipart/mixed; boundary=…'."))?;
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("The $batch body is not UTF-8."))?;
    let mut items = Vec::new();
    let mut operations = 0usize;
    for part in split_parts(text, &outer).map_err(|e| ApiError::bad_request(format!("Invalid $batch body: {e}")))? {
        let part_type = part.header("content-type").unwrap_or_default().to_ascii_lowercase();
        if part_type.starts_with("multipart/mixed") {
            let inner = boundary(&part_type).ok_or_else(|| ApiError::bad_request("A change set needs a boundary."))?;
            let inner_parts = split_parts(&part.body, &inner)
                .map_err(|e| ApiError::bad_request(format!("Invalid change set in $batch: {e}")))?;
            if inner_parts.len() > MAX_OPERATIONS {
                return Err(ApiError::bad_request(format!(
                    "The current change set contains too many operations. A maximum number of '{MAX_OPERATIONS}' operations are allowed in a change set."
                )));
            }
            operations += inner_parts.len();
            items.push(Item::ChangeSet(inner_parts));
        } else {
            operations += 1;
            items.push(Item::Single(part));
        }
    }
    if operations > MAX_OPERATIONS {
        return Err(ApiError::bad_request(format!(
            "Number of requests in a batch exceeded the limit of {MAX_OPERATIONS} (got {operations})."
        )));
    }
    let response_boundary = format!("batchresponse_{}", Uuid::new_v4());
    let mut out = String::new();
    let mut events = Vec::new();
    let mut failed = false;
    let no_refs = HashMap::new();
    for item in items {
        match item {
            Item::Single(part) => {
                let response = match parse_http_request(&part) {
                    Ok(req) => {
                        let mut txn = store.begin();
                        match api::execute(&Ctx { base, content_ids: &no_refs }, &mut txn, &req) {
                            Ok(response) => {
                                events.extend(txn.commit());
                                response
                            }
                            Err(e) => {
                                failed = true;
                                ApiResponse::error(&e)
                            }
                        }
                    }
                    Err(e) => {
                        failed = true;
                        ApiResponse::error(&e)
                    }
                };
                write_part(&mut out, &response_boundary, None, &response);
            }
            Item::ChangeSet(parts) => {
                let mut content_ids: HashMap<String, String> = HashMap::new();
                let mut responses = Vec::new();
                let mut error = None;
                let mut txn = store.begin();
                for part in &parts {
                    let content_id = part.header("content-id").map(str::to_owned);
                    let result = parse_http_request(part).and_then(|req| {
                        if req.method.eq_ignore_ascii_case("GET") {
                            return Err(ApiError::bad_request("GET requests are not allowed in a change set."));
                        }
                        api::execute(&Ctx { base, content_ids: &content_ids }, &mut txn, &req)
                    });
                    match result {
                        Ok(response) => {
                            if let Some(id) = &content_id
                                && let Some((_, url)) = response.headers.iter().find(|(n, _)| n == "OData-EntityId")
                                && let Some(at) = url.rfind('/')
                            {
                                content_ids.insert(id.clone(), url[at + 1..].to_owned());
                            }
                            responses.push((content_id, response));
                        }
                        Err(e) => {
                            error = Some((content_id, ApiResponse::error(&e)));
                            break;
                        }
                    }
                }
                match error {
                    // The change set is rolled back; only the failure is reported for it.
                    Some((content_id, response)) => {
                        drop(txn);
                        failed = true;
                        write_part(&mut out, &response_boundary, content_id.as_deref(), &response);
                    }
                    None => {
                        events.extend(txn.commit());
                        let cs = format!("changesetresponse_{}", Uuid::new_v4());
                        out.push_str(&format!(
                            "--{response_boundary}\r\nContent-Type: multipart/mixed; boundary={cs}\r\n\r\n"
                        ));
                        for (content_id, response) in &responses {
                            write_part(&mut out, &cs, content_id.as_deref(), response);
                        }
                        out.push_str(&format!("--{cs}--\r\n"));
                    }
                }
            }
        }
        if failed && !continue_on_error {
            break;
        }
    }
    out.push_str(&format!("--{response_boundary}--\r\n"));
    Ok(BatchOutcome {
        status: if failed && !continue_on_error { 400 } else { 200 },
        content_type: format!("multipart/mixed; boundary={response_boundary}"),
        body: out.into_bytes(),
        events,
    })
}
