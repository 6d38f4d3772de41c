//! Whether the store is taking writes: every write records its outcome here, so readiness can
//! say "writes are failing since …, last error …" while a read probe would still succeed (a
//! full disk or a read-only database answers reads), and turns green at the next write that
//! changes something.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde::Serialize;

use crate::StoreError;

/// A snapshot of the store's write health.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WriteStatus {
    /// Set while the most recent write failed; cleared by the next write that changes a row.
    pub failing: Option<WriteFailure>,
    /// When a write last changed a row.
    pub last_ok: Option<Timestamp>,
}

impl WriteStatus {
    /// True unless the most recent write failed.
    pub fn is_ok(&self) -> bool {
        self.failing.is_none()
    }
}

/// The failures since the last successful write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteFailure {
    /// The first failure of this run of failures.
    pub since: Timestamp,
    /// The latest failure.
    pub last_at: Timestamp,
    /// How many writes failed since the last success.
    pub failures: u64,
    /// The latest error, naming the store and what it was doing.
    pub error: String,
}

/// The shared recorder a store's clones write to.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteHealth(Arc<Mutex<WriteStatus>>);

impl WriteHealth {
    pub(crate) fn status(&self) -> WriteStatus {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records a write's result and passes it on. Only database errors count as failures (a
    /// conflict or a missing row says nothing about the store); a success counts only when
    /// `changed` says the write changed a row, because a statement that touches nothing
    /// succeeds even on a full disk.
    pub(crate) fn note<T>(
        &self,
        result: Result<T, StoreError>,
        changed: impl FnOnce(&T) -> bool,
    ) -> Result<T, StoreError> {
        match &result {
            Ok(v) if changed(v) => {
                let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
                s.failing = None;
                s.last_ok = Some(Timestamp::now());
            }
            Ok(_) => {}
            Err(e @ (StoreError::Database { .. } | StoreError::Migration { .. })) => {
                let now = Timestamp::now();
                let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
                let (since, failures) = s.failing.as_ref().map_or((now, 0), |f| (f.since, f.failures));
                s.failing = Some(WriteFailure { since, last_at: now, failures: failures + 1, error: e.to_string() });
            }
            Err(_) => {}
        }
        result
    }
}
