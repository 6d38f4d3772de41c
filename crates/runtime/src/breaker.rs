//! Circuit breakers, one per remote host.
//!
//! When a host is down, calling it for every queued job wastes attempts and hammers it as it
//! recovers. After `failure_threshold` consecutive failures the breaker opens: calls are rejected
//! without being made (and a job deferred this way does not lose an attempt) until `open_for` has
//! passed; then one probe is let through and its outcome closes or re-opens the circuit.
//!
//! Only transient failures (timeouts, resets, 5xx, outages) should be recorded as failures. A 429,
//! a permanent rejection of one record or an auth failure says nothing about the host being up;
//! the caller classifies (see [`crate::failure::Failure`]) and decides what to record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::{clock_now, saturating_add};

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit (0 is treated as 1).
    pub failure_threshold: u32,
    /// How long an open circuit rejects calls before letting a probe through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig { failure_threshold: 5, open_for: Duration::from_secs(30) }
    }
}

/// What a breaker currently does with calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are rejected without being made.
    Open,
    /// One probe call is (or may be) out; others are rejected until it reports.
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

impl std::fmt::Display for BreakerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The probe is presumed lost at `probe_lost_at`.
    HalfOpen {
        probe_lost_at: Instant,
    },
}

impl Inner {
    fn state(self) -> BreakerState {
        match self {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

/// The state and when it last changed.
#[derive(Debug)]
struct Tracked {
    now: Inner,
    since: Instant,
}

impl Tracked {
    /// Moves to `next`; `since` changes only when the state does (not on a failure counted).
    fn set(&mut self, next: Inner, at: Instant) {
        if next.state() != self.now.state() {
            self.since = at;
        }
        self.now = next;
    }
}

/// A circuit breaker for one remote host.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Tracked>,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker { config, inner: Mutex::new(Tracked { now: Inner::Closed { failures: 0 }, since: clock_now() }) }
    }

    pub fn config(&self) -> BreakerConfig {
        self.config
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Tracked> {
        // Every write leaves a valid state, so a poisoned lock holds nothing half-done.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// May a call be made at `now`? A rejection carries how long until a probe may go.
    ///
    /// When an open circuit's time is up, the caller that gets `Ok` is the probe and must report
    /// its outcome. A probe that never reports (its task was dropped) is presumed lost after
    /// `open_for`, and another probe is let through, so the breaker cannot stick half-open.
    pub fn check_at(&self, now: Instant) -> Result<(), Duration> {
        let mut inner = self.inner();
        match inner.now {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } | Inner::HalfOpen { probe_lost_at: until } if now < until => Err(until - now),
            Inner::Open { .. } | Inner::HalfOpen { .. } => {
                inner.set(Inner::HalfOpen { probe_lost_at: saturating_add(now, self.config.open_for) }, now);
                Ok(())
            }
        }
    }

    /// [`check_at`](Self::check_at) with the runtime clock.
    pub fn check(&self) -> Result<(), Duration> {
        self.check_at(clock_now())
    }

    /// The call worked: a probe closes the circuit, and in Closed the failure streak ends. A
    /// straggler succeeding while Open changes nothing: the probe decides.
    pub fn record_success(&self) {
        let mut inner = self.inner();
        match inner.now {
            Inner::Closed { .. } | Inner::HalfOpen { .. } => inner.set(Inner::Closed { failures: 0 }, clock_now()),
            Inner::Open { .. } => {}
        }
    }

    /// A transient failure at `now` (see the module docs for which failures count).
    pub fn record_failure_at(&self, now: Instant) {
        let mut inner = self.inner();
        let open = Inner::Open { until: saturating_add(now, self.config.open_for) };
        match inner.now {
            Inner::Closed { failures } => {
                let failures = failures.saturating_add(1);
                let next =
                    if failures >= self.config.failure_threshold.max(1) { open } else { Inner::Closed { failures } };
                inner.set(next, now);
            }
            Inner::HalfOpen { .. } => inner.set(open, now),
            // A straggler failing while Open must not extend the wait.
            Inner::Open { .. } => {}
        }
    }

    /// [`record_failure_at`](Self::record_failure_at) with the runtime clock.
    pub fn record_failure(&self) {
        self.record_failure_at(clock_now());
    }

    /// The current state. An open circuit whose time is up still reads Open until the next
    /// check lets a probe through.
    pub fn state(&self) -> BreakerState {
        self.inner().now.state()
    }

    /// The current state and the instant it began (a new breaker: closed since its creation).
    pub fn state_since(&self) -> (BreakerState, Instant) {
        let inner = self.inner();
        (inner.now.state(), inner.since)
    }
}

/// The breakers of all remote hosts, created on first use with one shared config.
#[derive(Debug, Default)]
pub struct Breakers {
    config: BreakerConfig,
    breakers: Mutex<HashMap<String, Arc<CircuitBreaker>>>,
}

impl Breakers {
    pub fn new(config: BreakerConfig) -> Self {
        Breakers { config, breakers: Mutex::new(HashMap::new()) }
    }

    fn breakers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CircuitBreaker>>> {
        self.breakers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The breaker of `host`, created closed on first use.
    pub fn get(&self, host: &str) -> Arc<CircuitBreaker> {
        let mut breakers = self.breakers();
        if let Some(breaker) = breakers.get(host) {
            return Arc::clone(breaker);
        }
        let breaker = breakers.entry(host.to_owned()).or_insert_with(|| Arc::new(CircuitBreaker::new(self.config)));
        Arc::clone(breaker)
    }

    /// The breaker of `host` if a call to it was ever checked.
    pub fn existing(&self, host: &str) -> Option<Arc<CircuitBreaker>> {
        self.breakers().get(host).cloned()
    }

    /// Every known host and its state, sorted by host (for `ferry status`).
    pub fn snapshot(&self) -> Vec<(String, BreakerState)> {
        let mut states: Vec<_> =
            self.breakers().iter().map(|(host, breaker)| (host.clone(), breaker.state())).collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        states
    }
}
