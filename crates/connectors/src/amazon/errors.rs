//! Turns SP-API error responses into runtime [`Failure`]s carrying Amazon's code and message.
//!
//! Amazon's body is `{"errors":[{"code","message","details"}]}`. 429 (QuotaExceeded) is
//! throttling; 401/403 are auth; 408/5xx transient; other 4xx permanent with Amazon's code.

use std::time::Duration;

use ferry_runtime::failure::{Failure, classify_http_status, parse_retry_after};
use serde::{Deserialize, Serialize};

/// One entry of Amazon's `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// `{"errors":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorList {
    pub errors: Vec<ApiError>,
}

/// Classifies a non-success response of `operation`. `rate` is the operation's current rate,
/// used to suggest a wait when Amazon throttles without `Retry-After` (it usually does): the
/// time to earn one token.
pub fn classify(operation: &str, status: u16, retry_after: Option<&str>, body: &[u8], rate: f64) -> Failure {
    let list: Option<ErrorList> = serde_json::from_slice(body).ok();
    let first = list.as_ref().and_then(|l| l.errors.first());
    let code = first.map(|e| e.code.clone());
    let message = match first {
        Some(e) => {
            let more = list.as_ref().map_or(0, |l| l.errors.len().saturating_sub(1));
            let mut text = format!("{operation}: {} ({}): {}", status, e.code, e.message);
            if let Some(details) = e.details.as_deref().filter(|d| !d.is_empty()) {
                text.push_str(" — ");
                text.push_str(details);
            }
            if more > 0 {
                text.push_str(&format!(" (+{more} more errors)"));
            }
            text
        }
        None => format!("{operation}: HTTP {status} without an SP-API error body"),
    };
    let retry_after = retry_after
        .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()))
        .or_else(|| (rate > 0.0).then(|| Duration::from_secs_f64((1.0 / rate).min(3600.0))));
    let quota = code.as_deref() == Some("QuotaExceeded");
    if status == 429 || quota {
        return Failure::throttled(retry_after, message);
    }
    match classify_http_status(status, None, message) {
        // Keep Amazon's code (InvalidInput, NotFound…) rather than the bare status.
        Failure::Permanent { message, code: status_code } => Failure::Permanent { message, code: code.or(status_code) },
        other => other,
    }
}

/// A network-level failure (connect, reset, timeout): transient.
pub fn transport(operation: &str, error: reqwest::Error) -> Failure {
    Failure::transient(format!("{operation}: request failed: {}", crate::http::describe(error)))
}

/// A 2xx body that does not match the model: permanent (retrying returns the same body).
/// The message names the position, never the values (they may be buyer data).
pub fn bad_response(operation: &str, expected: &str, error: &serde_json::Error) -> Failure {
    Failure::permanent_with_code(
        "InvalidResponse",
        format!(
            "{operation}: response is not a valid {expected} ({:?} error at line {} column {})",
            error.classify(),
            error.line(),
            error.column()
        ),
    )
}
