//! Retry delays: capped exponential backoff with full jitter.
//!
//! Full jitter (a uniform draw in `[0, ceiling]`) spreads the retries of many jobs that failed
//! together (an outage) so they do not come back as one wave.

use std::time::Duration;

/// How often and how patiently a job is retried after transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; after that the job is dead-lettered.
    pub max_attempts: u32,
    /// Ceiling of the delay after the first failed attempt.
    pub base: Duration,
    /// No delay ceiling grows past this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 8, base: Duration::from_secs(1), cap: Duration::from_secs(10 * 60) }
    }
}

impl RetryPolicy {
    /// The un-jittered upper bound of the delay after failed attempt `attempt` (1-based; 0 is
    /// treated as 1): `min(cap, base * 2^(attempt-1))`, saturating instead of overflowing.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1);
        let grown = 1u32.checked_shl(exponent).and_then(|factor| self.base.checked_mul(factor)).unwrap_or(self.cap);
        grown.min(self.cap)
    }

    /// A random delay in `[0, ceiling(attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, &mut fastrand::Rng::new())
    }

    /// [`delay`](Self::delay) with a caller-supplied generator (seeded in tests).
    pub fn delay_with(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.ceiling(attempt).as_nanos();
        let nanos = rng.u128(0..=ceiling);
        // `nanos <= ceiling`, which came from a Duration, so the seconds fit in a u64.
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        let subsec = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
        Duration::new(secs, subsec)
    }

    /// Whether no attempt is left after `attempts_used` attempts.
    pub fn is_exhausted(&self, attempts_used: u32) -> bool {
        attempts_used >= self.max_attempts
    }
}
