//! The runtime's clock: tokio's, so a paused test clock drives it; equal to
//! `std::time::Instant::now()` otherwise.

use std::time::{Duration, Instant};

pub(crate) fn clock_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// `at + by`, clamped instead of panicking at the far end of `Instant`'s range.
pub(crate) fn saturating_add(at: Instant, mut by: Duration) -> Instant {
    loop {
        if let Some(later) = at.checked_add(by) {
            return later;
        }
        by /= 2;
    }
}
