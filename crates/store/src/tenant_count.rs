//! How many tenants the store holds, read at most once a second per store handle: a claim
//! needs the fair per-tenant path only when there are several, and one tenant's node should
//! not pay a probe per claim for it. A tenant added by this handle is seen at once; one added
//! by another node within a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Re-read the count when it is older than this (µs).
const FRESH_FOR: i64 = 1_000_000;

#[derive(Clone, Debug, Default)]
pub(crate) struct TenantCount(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// When the count was read (µs since the epoch); 0: never, or invalidated.
    read_at: AtomicI64,
    count: AtomicU64,
}

impl TenantCount {
    /// The count if it is fresh at `now`.
    pub(crate) fn fresh(&self, now: i64) -> Option<u64> {
        let at = self.0.read_at.load(Ordering::Acquire);
        (at != 0 && now.saturating_sub(at) < FRESH_FOR).then(|| self.0.count.load(Ordering::Relaxed))
    }

    pub(crate) fn set(&self, now: i64, count: u64) {
        self.0.count.store(count, Ordering::Relaxed);
        self.0.read_at.store(now, Ordering::Release);
    }

    /// After this handle added a tenant.
    pub(crate) fn invalidate(&self) {
        self.0.read_at.store(0, Ordering::Release);
    }
}
