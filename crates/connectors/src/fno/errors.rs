//! Classification of F&O answers into runtime [`Failure`]s. F&O's error body carries a fixed
//! outer message ("An error has occurred.") and the real one in `innererror.message`
//! (DYNAMICS.md §B.2), so the failure's text is the inner message: that is what a dead
//! letter shows. 429 (priority-based throttling, §B.3) becomes `Throttled` with the
//! `Retry-After` (30 s when absent, as Microsoft's sample assumes).

use ferry_runtime::failure::{Failure, parse_retry_after};
use serde::Deserialize;

/// The error object of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct FnoErrorBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub innererror: Option<InnerError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct InnerError {
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "type")]
    pub kind: String,
}

#[derive(Deserialize)]
struct Envelope {
    error: FnoErrorBody,
}

impl FnoErrorBody {
    /// The most specific message: the inner one, else the outer one.
    pub fn best_message(&self) -> &str {
        match &self.innererror {
            Some(inner) if !inner.message.is_empty() => &inner.message,
            _ => &self.message,
        }
    }
}

pub fn parse_error_body(body: &[u8]) -> Option<FnoErrorBody> {
    serde_json::from_slice::<Envelope>(body).ok().map(|e| e.error)
}

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

/// Classifies a non-success answer. `retry_after` is the raw header value.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> Failure {
    let message = match parse_error_body(body) {
        Some(e) if !e.best_message().is_empty() => clip(e.best_message()),
        _ => format!("HTTP {status} from F&O"),
    };
    let wait = retry_after.and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
    match status {
        429 => Failure::throttled(
            Some(wait.unwrap_or(super::limits::DEFAULT_RETRY_AFTER)),
            format!("F&O throttled the request (priority-based throttling): {message}"),
        ),
        401 | 403 => Failure::auth(format!("F&O refused the identity (HTTP {status}): {message}")),
        408 | 500..=599 => Failure::transient(format!("F&O HTTP {status}: {message}")),
        _ => Failure::permanent_with_code(status.to_string(), format!("F&O HTTP {status}: {message}")),
    }
}

/// A 412 (the row changed since it was read).
pub fn is_conflict(failure: &Failure) -> bool {
    matches!(failure, Failure::Permanent { code: Some(code), .. } if code == "412")
}

/// A 404 (no such row, or not visible in this company).
pub fn is_not_found(failure: &Failure) -> bool {
    matches!(failure, Failure::Permanent { code: Some(code), .. } if code == "404")
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
    Failure::transient(format!("F&O {what}: {}", crate::http::describe(error)))
}
