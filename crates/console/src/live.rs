//! The overview's live updates (`GET /console/events`, server-sent events): every few seconds
//! the overview's fragment (queue gauges, flows, failures, rate-limit budgets, breakers),
//! rendered once per tenant and interval however many pages are open. The first subscriber
//! of a tenant starts its computation; when the last one goes, the computation stops at once
//! (a closed page costs nothing after). A change made through the console (a replay, a
//! discard) is sent at once rather than at the next interval, and an overview loaded while the
//! tenant's pages are open takes the fragment they were last sent instead of computing again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_store::TenantId;
use tokio::sync::watch;

use crate::api::ApiState;

/// How often a tenant's overview is computed while a page shows it.
pub const EVERY: Duration = Duration::from_secs(2);

/// The rendered fragment (none until the first computation ends).
pub type Frame = Option<Arc<str>>;

/// The tenants whose overview is being computed, each with the channel its pages listen on.
pub struct Hub {
    every: Duration,
    tenants: Mutex<HashMap<TenantId, Entry>>,
    /// Overview figures computed so far (live updates and page loads, every tenant).
    pub(crate) computed: std::sync::atomic::AtomicU64,
}

/// A tenant's computation: the channel its pages listen on, and a bell to compute now.
#[derive(Clone)]
struct Entry {
    tx: Arc<watch::Sender<Frame>>,
    now: Arc<tokio::sync::Notify>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(EVERY)
    }
}

impl Hub {
    pub fn new(every: Duration) -> Self {
        Hub {
            every: every.max(Duration::from_millis(50)),
            tenants: Mutex::new(HashMap::new()),
            computed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn tenants(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Entry>> {
        // Entries are inserted and removed whole, so a poisoned lock holds nothing half-done.
        self.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tenants whose overview is being computed now (one computation each).
    pub fn computing(&self) -> usize {
        self.tenants().len()
    }

    /// Overview figures computed so far (live updates and page loads), every tenant together.
    pub fn computed(&self) -> u64 {
        self.computed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The fragment `tenant`'s open pages were last sent, if any page is open.
    pub fn latest(&self, tenant: &TenantId) -> Frame {
        self.tenants().get(tenant).and_then(|entry| entry.tx.borrow().clone())
    }

    /// Something of `tenant` changed (through the console): its pages, if any, get the
    /// overview now rather than at the next interval.
    pub fn changed(&self, tenant: &TenantId) {
        if let Some(entry) = self.tenants().get(tenant) {
            entry.now.notify_one();
        }
    }
}

/// Listens to `tenant`'s overview, starting its computation if no page shows it yet. The
/// receiver's first `changed()` answers with the latest frame at once.
pub fn subscribe(state: &Arc<ApiState>, tenant: &TenantId) -> watch::Receiver<Frame> {
    let mut tenants = state.live.tenants();
    let mut rx = match tenants.get(tenant) {
        Some(entry) => entry.tx.subscribe(),
        None => {
            let (tx, rx) = watch::channel(None);
            let entry = Entry { tx: Arc::new(tx), now: Arc::new(tokio::sync::Notify::new()) };
            tenants.insert(tenant.clone(), entry.clone());
            tokio::spawn(compute(state.clone(), tenant.clone(), entry));
            rx
        }
    };
    rx.mark_changed();
    rx
}

/// Renders `tenant`'s overview every interval while anyone listens.
async fn compute(state: Arc<ApiState>, tenant: TenantId, entry: Entry) {
    let Entry { tx, now } = entry;
    loop {
        match crate::dashboard::live_fragment(&state, &tenant).await {
            Ok(html) => {
                tx.send_replace(Some(Arc::from(html)));
            }
            // The pages keep what they show and the next interval tries again.
            Err(e) => tracing::warn!(tenant = %tenant, error = %e, "console: the live overview could not be computed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(state.live.every) => {}
            _ = tx.closed() => {}
            _ = now.notified() => {}
        }
        // Under the lock, so a page subscribing now either finds this running or starts anew.
        let mut tenants = state.live.tenants();
        if tx.receiver_count() == 0 {
            tenants.remove(&tenant);
            return;
        }
    }
}
