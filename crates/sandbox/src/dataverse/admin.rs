//! Run-time knobs of the Dataverse sandbox: `POST /_sandbox/faults` (and the same as Rust API
//! and `ferry sandbox` flags) scales the service protection window, forces the next N answers
//! to 429 or a 5xx, adds latency, sets error/throttle rates, or starts an outage. A forced 429
//! is the platform's own answer (code 0x80072322, its message, `Retry-After`), so a client sees
//! exactly what a real org sends when its request budget is spent, without spending 6,000
//! requests first.
//!
//! ```json
//! POST /_sandbox/faults
//! { "limit_scale": 0.01, "force_status": 429, "force_count": 2, "latency_ms": 50, "outage_seconds": 3 }
//! ```
//! `GET /_sandbox/faults` answers the current knobs.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::errors::{ApiError, REQUESTS_EXCEEDED};
use super::limits::ServiceLimits;

/// What to change; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultKnobs {
    /// Scale the default service protection limits: window, request count and execution time
    /// are multiplied by this (0.01: 60 requests per 3 s). Concurrency stays 52.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_scale: Option<f64>,
    /// `false` turns the service protection limits off, `true` back on (at the default or
    /// scaled values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<bool>,
    /// Status of the next `force_count` Web API answers: 429, 500, 502, 503 or 504.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_status: Option<u16>,
    /// How many answers get `force_status` (0 clears a pending force).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_count: Option<u32>,
    /// `Retry-After` (seconds) of forced 429 and 503 answers; 1 unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// Added to every Web API answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Share (0.0–1.0) of answers that are a transient 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Share (0.0–1.0) of answers that are a 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_rate: Option<f64>,
    /// Every Web API request gets 503 for this many seconds from now (0 ends an outage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage_seconds: Option<f64>,
}

/// Longest outage or `Retry-After` a knob may ask for (a day).
const MAX_SECONDS: f64 = 86_400.0;

/// A knob value the sandbox refuses, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct KnobError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> KnobError {
    KnobError { field, message: message.into() }
}

fn share(field: &'static str, value: Option<f64>) -> Result<(), KnobError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(refuse(field, format!("must be between 0.0 and 1.0, got {v}"))),
        _ => Ok(()),
    }
}

impl FaultKnobs {
    /// Checks every field; the one validation behind the endpoint, the Rust API and the CLI.
    pub fn validate(&self) -> Result<(), KnobError> {
        if let Some(scale) = self.limit_scale
            && !(scale.is_finite() && scale > 0.0 && scale <= 1000.0)
        {
            return Err(refuse("limit_scale", format!("must be a number above 0 and at most 1000, got {scale}")));
        }
        if let Some(status) = self.force_status
            && !matches!(status, 429 | 500 | 502 | 503 | 504)
        {
            return Err(refuse("force_status", format!("must be 429, 500, 502, 503 or 504, got {status}")));
        }
        if self.force_count.is_some_and(|n| n > 0) && self.force_status.is_none() {
            return Err(refuse("force_count", "needs force_status (429, 500, 502, 503 or 504)"));
        }
        if self.force_status.is_some() && self.force_count.is_none() {
            return Err(refuse("force_status", "needs force_count (how many answers to force)"));
        }
        if let Some(seconds) = self.retry_after_seconds
            && !(1..=MAX_SECONDS as u64).contains(&seconds)
        {
            return Err(refuse("retry_after_seconds", format!("must be between 1 and 86400, got {seconds}")));
        }
        if let Some(ms) = self.latency_ms
            && ms > 60_000
        {
            return Err(refuse("latency_ms", format!("must be at most 60000 (one minute), got {ms}")));
        }
        share("error_rate", self.error_rate)?;
        share("throttle_rate", self.throttle_rate)?;
        if let Some(seconds) = self.outage_seconds
            && !(seconds.is_finite() && (0.0..=MAX_SECONDS).contains(&seconds))
        {
            return Err(refuse("outage_seconds", format!("must be between 0 and 86400, got {seconds}")));
        }
        Ok(())
    }

    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == FaultKnobs::default()
    }
}

/// The knobs in force, as `GET /_sandbox/faults` shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultState {
    pub limits_enabled: bool,
    pub limit_requests: u32,
    pub limit_window_seconds: f64,
    pub limit_concurrent: u32,
    /// Status still forced, and for how many answers.
    pub force_status: Option<u16>,
    pub force_remaining: u32,
    pub retry_after_seconds: u64,
    pub latency_ms: u64,
    pub error_rate: f64,
    pub throttle_rate: f64,
    /// Seconds of outage left (0: none).
    pub outage_remaining_seconds: f64,
}

/// The forced answers still to give.
#[derive(Debug, Default)]
pub struct Forced {
    inner: Mutex<ForcedState>,
}

#[derive(Debug, Clone, Copy)]
struct ForcedState {
    status: Option<u16>,
    remaining: u32,
    retry_after: u64,
}

impl Default for ForcedState {
    fn default() -> Self {
        ForcedState { status: None, remaining: 0, retry_after: 1 }
    }
}

impl Forced {
    fn lock(&self) -> std::sync::MutexGuard<'_, ForcedState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set(&self, status: Option<u16>, count: u32, retry_after: Option<u64>) {
        let mut s = self.lock();
        s.status = status.filter(|_| count > 0);
        s.remaining = if s.status.is_some() { count } else { 0 };
        if let Some(seconds) = retry_after {
            s.retry_after = seconds;
        }
    }

    pub(crate) fn set_retry_after(&self, seconds: u64) {
        self.lock().retry_after = seconds;
    }

    pub(crate) fn retry_after(&self) -> u64 {
        self.lock().retry_after
    }

    pub(crate) fn pending(&self) -> (Option<u16>, u32) {
        let s = self.lock();
        (s.status, s.remaining)
    }

    /// The error to answer instead of serving, if one is still forced.
    pub(crate) fn take(&self, limits: &ServiceLimits) -> Option<ApiError> {
        let mut s = self.lock();
        let status = s.status?;
        s.remaining = s.remaining.saturating_sub(1);
        if s.remaining == 0 {
            s.status = None;
        }
        let retry_after = s.retry_after;
        drop(s);
        Some(forced_error(status, limits, retry_after))
    }
}

/// The platform's answer for a forced status.
pub fn forced_error(status: u16, limits: &ServiceLimits, retry_after: u64) -> ApiError {
    match status {
        429 => ApiError::throttled(REQUESTS_EXCEEDED, requests_exceeded_message(limits), retry_after),
        503 => {
            let mut e = ApiError::new(503, OUTAGE_CODE, OUTAGE_MESSAGE);
            e.retry_after = Some(retry_after);
            e
        }
        other => ApiError::new(other, OUTAGE_CODE, "An unexpected error occurred."),
    }
}

/// The message of the request-count 429 (DYNAMICS.md §A.3).
pub fn requests_exceeded_message(limits: &ServiceLimits) -> String {
    format!(
        "Number of requests exceeded the limit of {} over time window of {} seconds.",
        limits.requests,
        limits.window.as_secs().max(1)
    )
}

/// Code and message of an outage answer (the reference gives none for 503; see the sandbox notes).
pub const OUTAGE_CODE: &str = "0x80040216";
pub const OUTAGE_MESSAGE: &str = "The service is temporarily unavailable. Try again later.";

/// `limit_scale` applied to the default limits.
pub fn scaled_limits(scale: f64) -> ServiceLimits {
    ServiceLimits::scaled(scale)
}

/// Seconds → `Duration`, for knobs already validated.
pub fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value.clamp(0.0, MAX_SECONDS))
}
