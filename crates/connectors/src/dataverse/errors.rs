//! Classification of Dataverse answers into runtime [`Failure`]s: the OData error body
//! (`{"error":{"code","message"}}`), the three service-protection 429s with `Retry-After`,
//! 412 as a conflict, 401/403 as auth.

use std::time::Duration;

use ferry_runtime::failure::{Failure, parse_retry_after};
use serde::Deserialize;

/// The error object of a Web API answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ODataError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope {
    error: ODataError,
}

/// A service protection limit (DYNAMICS.md §A.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceProtection {
    /// 6000 requests per 5 minutes.
    RequestCount,
    /// 20 minutes of execution time per 5 minutes.
    ExecutionTime,
    /// 52 concurrent requests.
    Concurrency,
}

impl ServiceProtection {
    /// Recognises the hex or decimal code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "0x80072322" | "-2147015902" => Some(ServiceProtection::RequestCount),
            "0x80072321" | "-2147015903" => Some(ServiceProtection::ExecutionTime),
            "0x80072326" | "-2147015898" => Some(ServiceProtection::Concurrency),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            ServiceProtection::RequestCount => "number of requests",
            ServiceProtection::ExecutionTime => "combined execution time",
            ServiceProtection::Concurrency => "concurrent requests",
        }
    }
}

/// Parses an OData error body, if it is one.
pub fn parse_error_body(body: &[u8]) -> Option<ODataError> {
    serde_json::from_slice::<Envelope>(body).ok().map(|e| e.error)
}

/// Long remote messages are cut so a dead letter stays readable.
fn clip(message: &str) -> String {
    const MAX: usize = 600;
    if message.len() <= MAX {
        return message.to_owned();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

/// The permanent-failure code of a 412 (optimistic concurrency or create-only conflict).
pub const CONFLICT: &str = "412";

/// Classifies a non-success answer. `retry_after` is the raw header value.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> Failure {
    let error = parse_error_body(body);
    let message = match &error {
        Some(e) if !e.message.is_empty() => clip(&e.message),
        _ => format!("HTTP {status} from Dataverse"),
    };
    let code = error.as_ref().map(|e| e.code.clone()).unwrap_or_default();
    let wait = retry_after.and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
    match status {
        429 => {
            let limit = ServiceProtection::from_code(&code)
                .map_or("service protection".to_owned(), |p| format!("service protection ({})", p.describe()));
            Failure::throttled(Some(wait.unwrap_or(Duration::from_secs(1))), format!("Dataverse {limit}: {message}"))
        }
        401 | 403 => Failure::auth(format!("Dataverse refused the identity (HTTP {status}): {message}")),
        408 | 500..=599 => Failure::transient(format!("Dataverse HTTP {status}: {message}")),
        _ => {
            let code = if code.is_empty() { status.to_string() } else { format!("{status}:{code}") };
            Failure::permanent_with_code(code, message)
        }
    }
}

/// Whether a failure is a 412: the row changed since it was read (ETag), or a create-only
/// write found the row already there.
pub fn is_conflict(failure: &Failure) -> bool {
    matches!(failure, Failure::Permanent { code: Some(code), .. } if code == CONFLICT || code.starts_with("412:"))
}

/// Whether a failure is a 404 (no such row).
pub fn is_not_found(failure: &Failure) -> bool {
    matches!(failure, Failure::Permanent { code: Some(code), .. } if code == "404" || code.starts_with("404:"))
}

/// A transport error (connect, reset, timeout): worth retrying.
pub fn transport(error: reqwest::Error) -> Failure {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // `without_url` keeps query strings (which can carry keys) out of the message.
    Failure::transient(format!("Dataverse {what}: {}", crate::http::describe(error)))
}
