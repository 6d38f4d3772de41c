//! The `Retry-After` gate of an HTTP connector whose remote tells it to wait (Dataverse's and
//! F&O's 429s): after a 429, no request of that client leaves until the wait is over; a call
//! in the meantime is refused at once as throttled, with the time left, for the runtime to
//! reschedule (a connector never sleeps). The gate also counts what the client sent.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_runtime::failure::Failure;

/// Counters of what a client sent.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// HTTP requests sent.
    pub requests: AtomicU64,
    /// 429 answers received.
    pub throttled: AtomicU64,
    /// Calls refused locally because a `Retry-After` was still running.
    pub held_back: AtomicU64,
}

/// One client's gate.
#[derive(Debug, Default)]
pub struct RetryGate {
    /// No request leaves before this instant (the last 429's `Retry-After`).
    wait_until: Mutex<Option<Instant>>,
    stats: ClientStats,
}

impl RetryGate {
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// How long the remote asked us to wait still, if it did.
    pub fn told_to_wait(&self) -> Option<Duration> {
        let until = (*self.wait_until.lock().unwrap_or_else(|e| e.into_inner()))?;
        until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }

    /// Called at the last moment before a request leaves, under the lock a 429 takes to set
    /// the wait: refuses while `remote`'s `Retry-After` runs, else counts the request.
    pub fn admit(&self, remote: &str) -> Result<(), Failure> {
        let wait_until = self.wait_until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = *wait_until {
            let now = Instant::now();
            if now < until {
                self.stats.held_back.fetch_add(1, Ordering::Relaxed);
                return Err(Failure::throttled(
                    Some(until - now),
                    format!("{remote} asked to wait (Retry-After) and the wait is not over"),
                ));
            }
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A 429 arrived: no request leaves for `retry_after` (or `default` when it gave none);
    /// a longer wait already running is kept.
    pub fn throttled(&self, retry_after: Option<Duration>, default: Duration) {
        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + retry_after.unwrap_or(default);
        let mut wait_until = self.wait_until.lock().unwrap_or_else(|e| e.into_inner());
        *wait_until = Some(wait_until.map_or(until, |u| u.max(until)));
    }
}
