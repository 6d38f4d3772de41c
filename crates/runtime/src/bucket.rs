//! Rate limits: a token bucket per (connection, operation) and a concurrency cap per connection.
//!
//! SP-API publishes a rate (often fractional, e.g. 0.0167 requests/s) and a burst per operation and
//! revises the rate through `x-amzn-RateLimit-Limit`; Dataverse answers 429 with `Retry-After`.
//! Both must change a live bucket, so limits are adjustable at run time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::{clock_now, saturating_add};

use thiserror::Error;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Concurrent requests Dataverse allows per user (service protection limit).
pub const DATAVERSE_CONCURRENCY: usize = 52;

/// A bucket's level at one instant (for status pages: nothing here admits a request).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketLevel {
    /// Tokens available now, between 0 and `burst`.
    pub tokens: f64,
    pub rate_per_sec: f64,
    pub burst: u32,
    /// A remote's `Retry-After` admits nothing for this long yet.
    pub paused_for: Option<Duration>,
}

/// Limits that cannot drive a bucket.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LimitError {
    #[error("rate must be a positive, finite number of requests per second (got {0})")]
    InvalidRate(f64),
    #[error("burst must be at least 1 (got 0)")]
    InvalidBurst,
    #[error("rate {rate} requests per second with burst {burst} is too slow to represent")]
    TooSlow { rate: f64, burst: u32 },
}

/// A token bucket with adjustable rate and burst.
///
/// Implemented as GCRA (a "theoretical arrival time" moved forward by one emission interval per
/// admission) in whole nanoseconds, with the interval rounded up. That makes admission exact, not
/// approximately right after float drift: over any window of length W at most `rate * W + burst`
/// requests are admitted.
#[derive(Debug)]
pub struct TokenBucket {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    burst: u32,
    /// Time to earn one token (`1 / rate`, rounded up to the nanosecond).
    interval: Duration,
    /// Time to refill from empty (`burst * interval`).
    span: Duration,
    /// When the bucket will be full again; `None` (or a past instant) means full now.
    full_at: Option<Instant>,
    /// Nothing is admitted before this (a 429's `Retry-After`).
    paused_until: Option<Instant>,
}

/// Validates limits and returns (interval, span).
fn intervals(rate: f64, burst: u32) -> Result<(Duration, Duration), LimitError> {
    if !rate.is_finite() || rate <= 0.0 {
        return Err(LimitError::InvalidRate(rate));
    }
    if burst == 0 {
        return Err(LimitError::InvalidBurst);
    }
    let too_slow = LimitError::TooSlow { rate, burst };
    let nanos = (1e9 / rate).ceil();
    if !nanos.is_finite() || nanos >= u64::MAX as f64 {
        return Err(too_slow);
    }
    // Round up, and correct a division that rounded down: a shorter interval would exceed `rate`.
    let mut nanos = (nanos as u64).max(1);
    if (nanos as f64) * rate < 1e9 {
        nanos = nanos.saturating_add(1);
    }
    let interval = Duration::from_nanos(nanos);
    let span = interval.checked_mul(burst).ok_or(too_slow)?;
    Ok((interval, span))
}

impl TokenBucket {
    /// A full bucket admitting `rate_per_sec` on average and up to `burst` at once.
    pub fn new(rate_per_sec: f64, burst: u32) -> Result<Self, LimitError> {
        let (interval, span) = intervals(rate_per_sec, burst)?;
        Ok(TokenBucket {
            state: Mutex::new(State { rate: rate_per_sec, burst, interval, span, full_at: None, paused_until: None }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent after every statement, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a token at `now`, or says how long until one is available.
    pub fn try_acquire_at(&self, now: Instant) -> Result<(), Duration> {
        let mut s = self.state();
        if let Some(until) = s.paused_until {
            if now < until {
                return Err(until - now);
            }
            s.paused_until = None;
        }
        let from = match s.full_at {
            Some(full_at) if full_at > now => full_at,
            _ => now,
        };
        let next = saturating_add(from, s.interval);
        let limit = saturating_add(now, s.span);
        if next <= limit {
            s.full_at = Some(next);
            Ok(())
        } else {
            Err(next - limit)
        }
    }

    /// [`try_acquire_at`](Self::try_acquire_at) with the runtime clock.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        self.try_acquire_at(clock_now())
    }

    /// Waits until a token is taken. Callers with long waits should rather use `try_acquire` and
    /// reschedule the job than hold a worker.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_at(clock_now()) {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Changes the rate, keeping the burst.
    pub fn set_rate(&self, rate_per_sec: f64) -> Result<(), LimitError> {
        let burst = self.state().burst;
        self.set_limits(rate_per_sec, burst)
    }

    /// Changes rate and burst; the tokens held now are kept, capped at the new burst.
    pub fn set_limits(&self, rate_per_sec: f64, burst: u32) -> Result<(), LimitError> {
        self.set_limits_at(clock_now(), rate_per_sec, burst)
    }

    /// [`set_limits`](Self::set_limits) at a given instant.
    pub fn set_limits_at(&self, now: Instant, rate_per_sec: f64, burst: u32) -> Result<(), LimitError> {
        let (interval, span) = intervals(rate_per_sec, burst)?;
        let mut s = self.state();
        // Tokens held, expressed as time of the old interval, then rescaled to the new one
        // (rounded down, so a change never creates a token).
        let debt = s.full_at.map_or(Duration::ZERO, |f| f.saturating_duration_since(now));
        let held = s.span.saturating_sub(debt).as_nanos();
        let rescaled = held
            .checked_mul(interval.as_nanos())
            .map(|n| n / s.interval.as_nanos().max(1))
            .unwrap_or_else(|| {
                let tokens = held as f64 / s.interval.as_nanos().max(1) as f64;
                (tokens * interval.as_nanos() as f64).floor() as u128
            })
            .min(span.as_nanos());
        let new_debt = span.as_nanos() - rescaled;
        // `new_debt <= span`, which is a Duration, so it fits.
        let new_debt = Duration::from_nanos(u64::try_from(new_debt).unwrap_or(u64::MAX));
        s.full_at = (!new_debt.is_zero()).then(|| saturating_add(now, new_debt));
        s.rate = rate_per_sec;
        s.burst = burst;
        s.interval = interval;
        s.span = span;
        Ok(())
    }

    /// Empties the bucket and admits nothing before `until`; from then on it refills at the rate
    /// (one token at `until`, no burst), so a throttled remote is not hit by a wave.
    pub fn pause_until(&self, until: Instant) {
        let mut s = self.state();
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        // Full again one span after `until`, less the one token available at `until`.
        let full_at = saturating_add(until, s.span.saturating_sub(s.interval));
        s.full_at = Some(s.full_at.map_or(full_at, |f| f.max(full_at)));
    }

    /// A 429 from the remote: pause for `retry_after` from now.
    pub fn penalize(&self, retry_after: Duration) {
        self.penalize_at(clock_now(), retry_after);
    }

    /// [`penalize`](Self::penalize) at a given instant.
    pub fn penalize_at(&self, now: Instant, retry_after: Duration) {
        self.pause_until(saturating_add(now, retry_after));
    }

    /// What the bucket holds at `now`: tokens available (fractional while refilling), its
    /// limits, and how long a remote's `Retry-After` still pauses it.
    pub fn level_at(&self, now: Instant) -> BucketLevel {
        let s = self.state();
        let paused_for = s.paused_until.filter(|until| *until > now).map(|until| until - now);
        let debt = s.full_at.map_or(Duration::ZERO, |f| f.saturating_duration_since(now));
        let held = s.span.saturating_sub(debt);
        let tokens = if paused_for.is_some() { 0.0 } else { held.as_secs_f64() / s.interval.as_secs_f64() };
        BucketLevel { tokens: tokens.clamp(0.0, f64::from(s.burst)), rate_per_sec: s.rate, burst: s.burst, paused_for }
    }

    /// [`level_at`](Self::level_at) with the runtime clock.
    pub fn level(&self) -> BucketLevel {
        self.level_at(clock_now())
    }

    /// Current (rate per second, burst).
    pub fn limits(&self) -> (f64, u32) {
        let s = self.state();
        (s.rate, s.burst)
    }
}

/// The token buckets of all connections, keyed by (connection, operation).
#[derive(Debug, Default)]
pub struct RateLimiters {
    buckets: Mutex<HashMap<String, HashMap<String, Arc<TokenBucket>>>>,
}

impl RateLimiters {
    pub fn new() -> Self {
        Self::default()
    }

    fn buckets(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Arc<TokenBucket>>>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bucket of an operation, if one exists.
    pub fn get(&self, connection: &str, operation: &str) -> Option<Arc<TokenBucket>> {
        self.buckets().get(connection).and_then(|ops| ops.get(operation)).cloned()
    }

    /// The bucket of an operation, created full with the published defaults on first use. The
    /// defaults are ignored (and not validated) once the bucket exists.
    pub fn get_or_insert(
        &self,
        connection: &str,
        operation: &str,
        default_rate: f64,
        default_burst: u32,
    ) -> Result<Arc<TokenBucket>, LimitError> {
        let mut buckets = self.buckets();
        let ops = buckets.entry(connection.to_owned()).or_default();
        if let Some(bucket) = ops.get(operation) {
            return Ok(Arc::clone(bucket));
        }
        let bucket = Arc::new(TokenBucket::new(default_rate, default_burst)?);
        ops.insert(operation.to_owned(), Arc::clone(&bucket));
        Ok(bucket)
    }

    /// Applies limits the remote announced (e.g. `x-amzn-RateLimit-Limit`, which carries only the
    /// rate: pass the current burst). Creates the bucket if it does not exist yet.
    pub fn update(
        &self,
        connection: &str,
        operation: &str,
        rate: f64,
        burst: u32,
    ) -> Result<Arc<TokenBucket>, LimitError> {
        let bucket = self.get_or_insert(connection, operation, rate, burst)?;
        bucket.set_limits(rate, burst)?;
        Ok(bucket)
    }
}

/// A cap on requests in flight per connection (Dataverse: [`DATAVERSE_CONCURRENCY`]).
#[derive(Debug, Default)]
pub struct ConcurrencyCaps {
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl ConcurrencyCaps {
    pub fn new() -> Self {
        Self::default()
    }

    /// The connection's semaphore; `cap` applies when it is created (first use), so a changed
    /// cap takes effect on restart.
    fn semaphore(&self, connection: &str, cap: usize) -> Arc<Semaphore> {
        let mut semaphores = self.semaphores.lock().unwrap_or_else(|e| e.into_inner());
        let semaphore = semaphores.entry(connection.to_owned()).or_insert_with(|| {
            // A cap of 0 would block forever; tokio panics above MAX_PERMITS.
            Arc::new(Semaphore::new(cap.clamp(1, Semaphore::MAX_PERMITS)))
        });
        Arc::clone(semaphore)
    }

    /// Waits for a slot on `connection`; the slot is freed when the permit drops.
    pub async fn acquire(&self, connection: &str, cap: usize) -> OwnedSemaphorePermit {
        loop {
            if let Ok(permit) = self.semaphore(connection, cap).acquire_owned().await {
                return permit;
            }
            // Only a closed semaphore errs and these are never closed; replace it, don't panic.
            self.semaphores.lock().unwrap_or_else(|e| e.into_inner()).remove(connection);
        }
    }

    /// Free slots on `connection` (for status), if it has been used.
    pub fn available(&self, connection: &str) -> Option<usize> {
        self.semaphores.lock().unwrap_or_else(|e| e.into_inner()).get(connection).map(|s| s.available_permits())
    }
}
