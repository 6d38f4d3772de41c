//! Priority-based throttling (DYNAMICS.md §B.3): each Entra application has a priority
//! (System administration > Setup > Throttling priority mapping); when the environment is
//! under pressure, low-priority integrations are throttled first, with HTTP 429 and a
//! `Retry-After` in seconds. F&O publishes no thresholds, so the pressure is a run-time knob:
//! [`Throttle::level`] says up to which priority requests are refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::errors::FnoError;

/// A throttling priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    Medium,
    High,
}

/// The pressure knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Requests of applications at or below this priority get 429; `None`: no pressure.
    pub level: Option<Priority>,
    /// The `Retry-After` they get, in seconds.
    pub retry_after_secs: u64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle { level: None, retry_after_secs: 1 }
    }
}

impl Throttle {
    /// Pressure that throttles applications up to `level`.
    pub fn up_to(level: Priority, retry_after_secs: u64) -> Self {
        Throttle { level: Some(level), retry_after_secs }
    }
}

/// Decides per request.
#[derive(Debug)]
pub struct Limiter {
    throttle: Mutex<Throttle>,
    priorities: Mutex<HashMap<String, Priority>>,
    /// Priority of applications without a mapping.
    unmapped: Priority,
    throttled: AtomicU64,
}

impl Limiter {
    pub fn new(throttle: Throttle, priorities: HashMap<String, Priority>, unmapped: Priority) -> Self {
        Limiter {
            throttle: Mutex::new(throttle),
            priorities: Mutex::new(priorities),
            unmapped,
            throttled: AtomicU64::new(0),
        }
    }

    pub fn set(&self, throttle: Throttle) {
        *self.throttle.lock().unwrap_or_else(|e| e.into_inner()) = throttle;
    }

    pub fn get(&self) -> Throttle {
        *self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_priority(&self, client_id: &str, priority: Priority) {
        self.priorities.lock().unwrap_or_else(|e| e.into_inner()).insert(client_id.to_owned(), priority);
    }

    pub fn priority(&self, client_id: &str) -> Priority {
        self.priorities.lock().unwrap_or_else(|e| e.into_inner()).get(client_id).copied().unwrap_or(self.unmapped)
    }

    /// 429s answered so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Admits a request of `client_id`, or answers 429.
    pub fn admit(&self, client_id: &str) -> Result<(), FnoError> {
        let throttle = self.get();
        match throttle.level {
            Some(level) if self.priority(client_id) <= level => {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                Err(FnoError::throttled(throttle.retry_after_secs))
            }
            _ => Ok(()),
        }
    }

    /// Counts a 429 decided elsewhere (the fault knobs).
    pub fn count_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }
}
