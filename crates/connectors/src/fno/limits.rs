//! F&O's limits (DYNAMICS.md §B.2–B.3). Microsoft publishes no request-rate thresholds for
//! priority-based throttling, only that throttled calls get 429 with `Retry-After`; the
//! runtime therefore starts from a generous rate and slows down on the 429s' `Retry-After`.
//! The numbers below without a source are Ferry's choices.

use std::time::Duration;

use ferry_runtime::CallSpec;

/// Largest server page ("maximum page size of 10,000").
pub const MAX_PAGE_SIZE: u32 = 10_000;
/// The wait when a 429 carries no `Retry-After` (Microsoft's sample waits 30 s).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Requests in flight per connection (Ferry's choice).
pub const CONCURRENT_REQUESTS: usize = 16;
/// Operations per `$batch` the connector sends (Ferry's choice; F&O publishes none).
pub const BATCH_OPERATIONS: usize = 500;
/// Starting rate per connection, requests per second (Ferry's choice).
pub const RATE_PER_SEC: f64 = 50.0;

/// The runtime's limits for an F&O operation.
pub fn call_spec<'a>(connection: &'a str, scope: &'a str, operation: &'a str, host: &'a str) -> CallSpec<'a> {
    CallSpec {
        connection,
        scope,
        operation,
        host,
        rate_per_sec: RATE_PER_SEC,
        burst: 100,
        max_concurrency: CONCURRENT_REQUESTS,
        caps: Vec::new(),
    }
}
