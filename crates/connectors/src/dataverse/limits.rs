//! Dataverse's published service protection limits (DYNAMICS.md §A.3), as runtime limits.

use std::time::Duration;

use ferry_runtime::CallSpec;
use ferry_runtime::bucket::DATAVERSE_CONCURRENCY;

/// Requests per identity within [`WINDOW`].
pub const REQUESTS_PER_WINDOW: u32 = 6000;
/// The sliding window of the request-count and execution-time limits.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Combined execution time per identity within [`WINDOW`].
pub const EXECUTION_TIME_PER_WINDOW: Duration = Duration::from_secs(1200);
/// Concurrent requests per identity.
pub const CONCURRENT_REQUESTS: usize = DATAVERSE_CONCURRENCY;
/// Operations per `$batch` / change set.
pub const BATCH_OPERATIONS: usize = super::batch::MAX_OPERATIONS;

/// 6000 per 300 s = 20 requests per second on average.
pub fn rate_per_sec() -> f64 {
    REQUESTS_PER_WINDOW as f64 / WINDOW.as_secs_f64()
}

/// The runtime's limits for a Dataverse operation. The burst is what the window allows at
/// once (the platform counts over 5 minutes, so a burst is fine as long as the average
/// holds); 429s then slow the bucket through `Retry-After`.
pub fn call_spec<'a>(connection: &'a str, scope: &'a str, operation: &'a str, host: &'a str) -> CallSpec<'a> {
    CallSpec {
        connection,
        scope,
        operation,
        host,
        rate_per_sec: rate_per_sec(),
        burst: REQUESTS_PER_WINDOW,
        max_concurrency: CONCURRENT_REQUESTS,
        caps: Vec::new(),
    }
}
