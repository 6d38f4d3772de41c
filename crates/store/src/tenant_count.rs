//! How many tenants the store holds and which of them are disabled, read at most once a
//! second per store handle: a claim needs the fair per-tenant path only when there are several
//! tenants or some are disabled, and one tenant's node should not pay a probe per claim for
//! it. A tenant added, disabled or enabled by this handle is seen at once; by another node or
//! the CLI within a second.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Re-read the count when it is older than this (µs).
const FRESH_FOR: i64 = 1_000_000;

#[derive(Clone, Debug, Default)]
pub(crate) struct TenantCount(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// When the count was read (µs since the epoch); 0: never, or invalidated.
    read_at: AtomicI64,
    count: AtomicU64,
    /// The disabled tenants' ids, read with the count; empty on almost every node.
    disabled: Mutex<Arc<[String]>>,
}

/// What a claim needs to know about the tenants.
#[derive(Clone, Debug)]
pub(crate) struct Tenants {
    pub count: u64,
    pub disabled: Arc<[String]>,
}

impl TenantCount {
    /// The tenants if they were read recently enough at `now`.
    pub(crate) fn fresh(&self, now: i64) -> Option<Tenants> {
        let at = self.0.read_at.load(Ordering::Acquire);
        if at == 0 || now.saturating_sub(at) >= FRESH_FOR {
            return None;
        }
        let disabled = self.0.disabled.lock().map(|d| Arc::clone(&d)).ok()?;
        Some(Tenants { count: self.0.count.load(Ordering::Relaxed), disabled })
    }

    pub(crate) fn set(&self, now: i64, tenants: &Tenants) {
        self.0.count.store(tenants.count, Ordering::Relaxed);
        if let Ok(mut d) = self.0.disabled.lock() {
            *d = Arc::clone(&tenants.disabled);
        }
        self.0.read_at.store(now, Ordering::Release);
    }

    /// After this handle added a tenant or changed one's status.
    pub(crate) fn invalidate(&self) {
        self.0.read_at.store(0, Ordering::Release);
    }
}
