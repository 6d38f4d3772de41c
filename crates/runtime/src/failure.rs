//! How a failed remote call is classified.
//!
//! Connectors never sleep or retry on their own: they turn every failure into a [`Failure`] and the
//! runtime decides what happens next (retry with backoff, wait for the rate limit, dead-letter, or
//! refresh credentials).

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use jiff::fmt::{rfc2822, strtime};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// A classified failure of one remote call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth retrying with backoff: timeouts, resets, 5xx, outages.
    Transient { message: String },
    /// The remote asked us to slow down (HTTP 429). Not a failure of the record: the runtime waits
    /// (`retry_after` when the remote said how long) and slows the bucket.
    Throttled { retry_after: Option<Duration>, message: String },
    /// Retrying cannot help: the remote rejected the request. `code` is the remote's own code (an
    /// HTTP status or an API error code) so a dead letter can explain itself.
    Permanent { message: String, code: Option<String> },
    /// Credentials were refused; the runtime refreshes them or stops the connection.
    Auth { message: String },
}

/// The class of a [`Failure`], without its details (for metrics, storage and decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Transient,
    Throttled,
    Permanent,
    Auth,
}

impl FailureKind {
    /// Stable lower-case name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Throttled => "throttled",
            FailureKind::Permanent => "permanent",
            FailureKind::Auth => "auth",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Failure {
    pub fn transient(message: impl Into<String>) -> Self {
        Failure::Transient { message: message.into() }
    }

    pub fn throttled(retry_after: Option<Duration>, message: impl Into<String>) -> Self {
        Failure::Throttled { retry_after, message: message.into() }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Failure::Permanent { message: message.into(), code: None }
    }

    pub fn permanent_with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        Failure::Permanent { message: message.into(), code: Some(code.into()) }
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Failure::Auth { message: message.into() }
    }

    pub fn kind(&self) -> FailureKind {
        match self {
            Failure::Transient { .. } => FailureKind::Transient,
            Failure::Throttled { .. } => FailureKind::Throttled,
            Failure::Permanent { .. } => FailureKind::Permanent,
            Failure::Auth { .. } => FailureKind::Auth,
        }
    }

    /// The remote's (or the connector's) explanation.
    pub fn message(&self) -> &str {
        match self {
            Failure::Transient { message }
            | Failure::Throttled { message, .. }
            | Failure::Permanent { message, .. }
            | Failure::Auth { message } => message,
        }
    }

    /// How long the remote asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Permanent { message, code: Some(code) } => write!(f, "permanent ({code}): {message}"),
            Failure::Throttled { retry_after: Some(wait), message } => {
                write!(f, "throttled (retry after {:.3}s): {message}", wait.as_secs_f64())
            }
            other => write!(f, "{}: {}", other.kind(), other.message()),
        }
    }
}

impl std::error::Error for Failure {}

/// Parses an HTTP `Retry-After` value (RFC 9110 §10.2.3): delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, also the obsolete RFC 850 and asctime forms recipients must
/// accept). A date in the past means "now" (zero). Anything else is `None`: a malformed header
/// must not stall a job.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = parse_http_date(value)?;
    let ahead = at.duration_since(now);
    if ahead.is_negative() {
        return Some(Duration::ZERO);
    }
    Duration::try_from(ahead).ok()
}

/// IMF-fixdate first (what every current server sends), then the two obsolete forms.
fn parse_http_date(value: &str) -> Option<Timestamp> {
    static RFC2822: rfc2822::DateTimeParser = rfc2822::DateTimeParser::new();
    if let Ok(ts) = RFC2822.parse_timestamp(value) {
        return Some(ts);
    }
    // RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994"), both UTC.
    let squeezed = value.split_whitespace().collect::<Vec<_>>().join(" ");
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"].iter().find_map(|format| {
        let datetime = strtime::parse(format, &squeezed).ok()?.to_datetime().ok()?;
        TimeZone::UTC.to_timestamp(datetime).ok()
    })
}

/// Classifies a non-success HTTP status. `retry_after` is kept only for 429 (a throttle wait);
/// 408 and 5xx are transient; other 4xx are permanent with the status as code. Statuses outside
/// 4xx/5xx (an unexpected redirect, say) are permanent too: repeating the request will not
/// change them.
pub fn classify_http_status(status: u16, retry_after: Option<Duration>, message: String) -> Failure {
    match status {
        429 => Failure::Throttled { retry_after, message },
        401 | 403 => Failure::Auth { message },
        408 | 500..=599 => Failure::Transient { message },
        _ => Failure::Permanent { message, code: Some(status.to_string()) },
    }
}
