//! Fault knobs every simulator offers: an error rate, added latency, outage windows and
//! throttling storms, changeable while the server runs. Each simulator turns a decision into
//! its own vendor's error body.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to inject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Share of requests (0.0–1.0) answered with a transient 5xx.
    pub error_rate: f64,
    /// Added to every response.
    pub latency: Duration,
    /// Share of requests (0.0–1.0) answered with 429 regardless of the token buckets.
    pub throttle_rate: f64,
}

/// What a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Serve normally (after the configured latency).
    None,
    /// Answer 503 (the service is down) until the outage ends.
    Outage { remaining: Duration },
    /// Answer a transient 5xx.
    ServerError,
    /// Answer 429.
    Throttle,
}

/// Shared, mutable fault state of one simulator.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<State>,
}

#[derive(Debug)]
struct State {
    config: FaultConfig,
    outage_until: Option<Instant>,
    rng: fastrand::Rng,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new(FaultConfig::default(), fastrand::u64(..))
    }
}

impl Faults {
    /// Faults with a seed, so a test's sequence of injected errors is reproducible.
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Faults { inner: Mutex::new(State { config, outage_until: None, rng: fastrand::Rng::with_seed(seed) }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the configuration.
    pub fn set(&self, config: FaultConfig) {
        self.state().config = config;
    }

    pub fn config(&self) -> FaultConfig {
        self.state().config.clone()
    }

    /// Every request fails with 503 for `length` from now.
    pub fn start_outage(&self, length: Duration) {
        self.state().outage_until = Some(Instant::now() + length);
    }

    /// Ends an outage early.
    pub fn end_outage(&self) {
        self.state().outage_until = None;
    }

    /// Time left of the current outage (zero when there is none).
    pub fn outage_remaining(&self) -> Duration {
        self.state().outage_until.map_or(Duration::ZERO, |until| until.saturating_duration_since(Instant::now()))
    }

    /// Decides the fate of one request, and returns the latency to add.
    pub fn decide(&self) -> (Fault, Duration) {
        let mut s = self.state();
        let latency = s.config.latency;
        if let Some(until) = s.outage_until {
            let now = Instant::now();
            if now < until {
                return (Fault::Outage { remaining: until - now }, latency);
            }
            s.outage_until = None;
        }
        let (error_rate, throttle_rate) = (s.config.error_rate, s.config.throttle_rate);
        if error_rate > 0.0 && s.rng.f64() < error_rate {
            return (Fault::ServerError, latency);
        }
        if throttle_rate > 0.0 && s.rng.f64() < throttle_rate {
            return (Fault::Throttle, latency);
        }
        (Fault::None, latency)
    }
}
