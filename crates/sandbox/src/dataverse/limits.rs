//! Service protection limits (DYNAMICS.md §A.3), per identity: requests within a sliding
//! window, combined execution time within the window, and concurrent requests. A refused
//! request gets 429 with `Retry-After` (seconds) and the documented code and message.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::errors::{ApiError, CONCURRENCY_EXCEEDED, EXECUTION_TIME_EXCEEDED, REQUESTS_EXCEEDED};

/// The limits; [`ServiceLimits::default`] is the platform's default per web server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLimits {
    /// Off: nothing is refused (benchmarks "with limits off").
    pub enabled: bool,
    /// Requests allowed within `window` (6000).
    pub requests: u32,
    /// The sliding window (300 s).
    pub window: Duration,
    /// Combined execution time allowed within `window` (1,200 s).
    pub execution_time: Duration,
    /// Concurrent requests (52).
    pub concurrent: u32,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        ServiceLimits {
            enabled: true,
            requests: 6000,
            window: Duration::from_secs(300),
            execution_time: Duration::from_secs(1200),
            concurrent: 52,
        }
    }
}

impl ServiceLimits {
    /// No limits.
    pub fn off() -> Self {
        ServiceLimits { enabled: false, ..ServiceLimits::default() }
    }

    /// The default limits with the window (and the execution-time budget with it) shortened
    /// by `factor` and the request count scaled the same way, so tests reach the limits in
    /// seconds; e.g. `scaled(1.0 / 150.0)`: 40 requests per 2 s. Concurrency is unchanged.
    pub fn scaled(factor: f64) -> Self {
        let d = ServiceLimits::default();
        let factor = if factor.is_finite() && factor > 0.0 { factor } else { 1.0 };
        ServiceLimits {
            enabled: true,
            requests: ((d.requests as f64 * factor).round() as u32).max(1),
            window: d.window.mul_f64(factor).max(Duration::from_millis(1)),
            execution_time: d.execution_time.mul_f64(factor).max(Duration::from_millis(1)),
            concurrent: d.concurrent,
        }
    }

    /// These limits with another request count per window.
    pub fn with_requests(mut self, requests: u32, window: Duration) -> Self {
        self.requests = requests.max(1);
        self.execution_time = self.execution_time.mul_f64(window.as_secs_f64() / self.window.as_secs_f64().max(1e-9));
        self.window = window.max(Duration::from_millis(1));
        self
    }

    /// These limits with another concurrency cap.
    pub fn with_concurrency(mut self, concurrent: u32) -> Self {
        self.concurrent = concurrent.max(1);
        self
    }
}

/// What the limiter saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitStats {
    /// Requests admitted.
    pub admitted: u64,
    /// 429s for the request count.
    pub throttled_requests: u64,
    /// 429s for execution time.
    pub throttled_execution: u64,
    /// 429s for concurrency.
    pub throttled_concurrency: u64,
    /// Requests that arrived while the identity was told to wait (after a grace for requests
    /// already in flight when the 429 went out, before its `Retry-After` ended).
    pub early_requests: u64,
}

/// Requests still in flight when a 429 leaves may arrive a little later (a loaded machine
/// can hold them in its queues for a while); they were not sent "while told to wait".
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
struct Identity {
    requests: VecDeque<Instant>,
    executions: VecDeque<(Instant, Duration)>,
    execution_total: Duration,
    in_flight: u32,
    /// (429 sent at, wait until)
    told_to_wait: Option<(Instant, Instant)>,
}

#[derive(Debug, Default)]
struct State {
    limits: ServiceLimits,
    identities: HashMap<String, Identity>,
    stats: LimitStats,
}

/// The limiter of one sandbox.
#[derive(Debug, Clone, Default)]
pub struct Limiter {
    state: Arc<Mutex<State>>,
}

/// Holds a concurrency slot; records the execution time when dropped.
pub struct Admission {
    limiter: Limiter,
    identity: String,
    started: Instant,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut s = self.limiter.lock();
        let now = Instant::now();
        if let Some(identity) = s.identities.get_mut(&self.identity) {
            identity.in_flight = identity.in_flight.saturating_sub(1);
            let took = now - self.started;
            identity.executions.push_back((now, took));
            identity.execution_total += took;
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

impl Limiter {
    pub fn new(limits: ServiceLimits) -> Self {
        Limiter { state: Arc::new(Mutex::new(State { limits, ..State::default() })) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, limits: ServiceLimits) {
        let mut s = self.lock();
        s.limits = limits;
        s.identities.clear();
    }

    pub fn limits(&self) -> ServiceLimits {
        self.lock().limits.clone()
    }

    pub fn stats(&self) -> LimitStats {
        self.lock().stats.clone()
    }

    /// Admits one request of `identity`, or refuses it with the 429 to send.
    pub fn admit(&self, identity: &str) -> Result<Admission, ApiError> {
        let now = Instant::now();
        let mut guard = self.lock();
        let state = &mut *guard;
        let limits = state.limits.clone();
        let entry = state.identities.entry(identity.to_owned()).or_default();
        // Time still to wait when this request arrived early (sent while told to wait).
        let mut early_by = None;
        if let Some((sent, until)) = entry.told_to_wait {
            if now >= until {
                entry.told_to_wait = None;
            } else if now > sent + IN_FLIGHT_GRACE {
                state.stats.early_requests += 1;
                early_by = Some(until - now);
            }
        }
        if limits.enabled {
            while entry.requests.front().is_some_and(|t| now.duration_since(*t) >= limits.window) {
                entry.requests.pop_front();
            }
            while let Some((t, d)) = entry.executions.front().copied() {
                if now.duration_since(t) < limits.window {
                    break;
                }
                entry.executions.pop_front();
                entry.execution_total = entry.execution_total.saturating_sub(d);
            }
            let refusal = if entry.in_flight >= limits.concurrent {
                state.stats.throttled_concurrency += 1;
                Some(ApiError::throttled(
                    CONCURRENCY_EXCEEDED,
                    format!("Number of concurrent requests exceeded the limit of {}.", limits.concurrent),
                    1,
                ))
            } else if entry.requests.len() >= limits.requests as usize {
                state.stats.throttled_requests += 1;
                let oldest = entry.requests.front().copied().unwrap_or(now);
                let wait = (oldest + limits.window).saturating_duration_since(now);
                Some(ApiError::throttled(
                    REQUESTS_EXCEEDED,
                    format!(
                        "Number of requests exceeded the limit of {} over time window of {} seconds.",
                        limits.requests,
                        limits.window.as_secs().max(1)
                    ),
                    ceil_secs(wait),
                ))
            } else if entry.execution_total >= limits.execution_time {
                state.stats.throttled_execution += 1;
                let wait = entry
                    .executions
                    .front()
                    .map_or(limits.window, |(t, _)| (*t + limits.window).saturating_duration_since(now));
                Some(ApiError::throttled(
                    EXECUTION_TIME_EXCEEDED,
                    format!(
                        "Combined execution time of incoming requests exceeded limit of {} milliseconds over time window of {} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.",
                        limits.execution_time.as_millis(),
                        limits.window.as_secs().max(1)
                    ),
                    ceil_secs(wait),
                ))
            } else {
                None
            };
            if let Some(mut error) = refusal {
                // Continuing to send while told to wait lengthens the wait (DYNAMICS.md §A.3).
                if let (Some(remaining), Some(seconds)) = (early_by, error.retry_after) {
                    error.retry_after = Some(seconds + ceil_secs(remaining));
                }
                let until = now + Duration::from_secs(error.retry_after.unwrap_or(1));
                let later = entry.told_to_wait.map_or(until, |(_, u)| u.max(until));
                entry.told_to_wait = Some((now, later));
                return Err(error);
            }
            entry.requests.push_back(now);
        }
        entry.in_flight += 1;
        state.stats.admitted += 1;
        Ok(Admission { limiter: self.clone(), identity: identity.to_owned(), started: now })
    }
}
