//! The sandbox's own record of the SP-API requests it received: when, which operation, and
//! for whom (the LWA client and selling partner the access token was issued for, which is
//! what Amazon meters usage plans against). Tests read it to check what a client sent
//! against the published limits without trusting the client's own account of it.
//!
//! Opt-in ([`crate::amazon::AmazonSandbox::record_requests`]): while off, a request costs one
//! atomic load; while on, one entry per request, kept until read or switched off.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Whom an access token was issued for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The LWA client (the application).
    pub client_id: String,
    /// The selling partner whose refresh token was exchanged; `None` for a grantless token.
    pub seller_id: Option<String>,
}

/// One SP-API request as the sandbox received it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When it arrived.
    pub at: Instant,
    /// The model file's stem, e.g. `orders_2026-01-01`.
    pub api: String,
    /// `operationId`, e.g. `getOrder`.
    pub operation: String,
    /// `None` when the request carried no token the sandbox issued.
    pub caller: Option<Arc<Caller>>,
    /// The status the sandbox answered before the operation ran (429 throttled, 403, or an
    /// injected 500/503); `None` when the operation ran.
    pub refused: Option<u16>,
}

/// The log itself.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    on: AtomicBool,
    records: Mutex<Vec<RequestRecord>>,
}

impl RequestLog {
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Starts recording from empty.
    pub fn start(&self) {
        super::lock(&self.records).clear();
        self.on.store(true, Ordering::Relaxed);
    }

    /// Stops recording and frees what was kept.
    pub fn stop(&self) {
        self.on.store(false, Ordering::Relaxed);
        *super::lock(&self.records) = Vec::new();
    }

    pub fn push(&self, record: RequestRecord) {
        if self.is_on() {
            super::lock(&self.records).push(record);
        }
    }

    /// Everything recorded so far, in arrival order.
    pub fn snapshot(&self) -> Vec<RequestRecord> {
        let mut records = super::lock(&self.records).clone();
        // Entries are pushed when the gate is passed; an injected latency can reorder them.
        records.sort_by_key(|r| r.at);
        records
    }
}
