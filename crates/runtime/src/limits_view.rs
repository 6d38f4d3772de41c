//! A read-only view of a node's limits, for the operator console: each connection's token
//! buckets as they are now, the remote throttles (429s) it was answered with lately, and the
//! breakers of the hosts it calls.
//!
//! The runtime keys its buckets by whom the vendor counts (`spapi/<app>/<seller>`), which two
//! tenants may share; the console asks by tenant. So every call notes which connection
//! (`<tenant>/<id>`, as the connectors name it) used which bucket and host, and a view of one
//! tenant reads only its own connections' buckets: tenant A never sees tenant B's connections.
//! Throttles are kept per connection in a bounded ring, so one tenant's storm of 429s cannot
//! push another's out of view. Nothing here names a record or a buyer.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

use crate::breaker::{BreakerState, Breakers};
use crate::bucket::RateLimiters;
use crate::clock::clock_now;
use crate::resilience::CallSpec;

/// Throttles kept per connection.
pub const THROTTLES_KEPT: usize = 20;

/// One bucket of a connection as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketView {
    /// The connection's id within its tenant.
    pub connection: String,
    /// The operation (or, for a wider cap, what the vendor counts: `createReport/…`).
    pub operation: String,
    /// A cap the vendor keeps over more than this connection (seller- or application-wide).
    pub wider_cap: bool,
    /// Tokens available now, between 0 and `burst`.
    pub tokens: f64,
    pub burst: u32,
    pub rate_per_sec: f64,
    /// A remote's `Retry-After` admits nothing before this.
    pub paused_until: Option<Timestamp>,
}

/// A remote's 429.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleView {
    pub at: Timestamp,
    pub connection: String,
    pub operation: String,
    /// What the remote asked for (none: it said nothing; the runtime paused a second).
    pub retry_after: Option<Duration>,
}

/// The breaker of a host one of the tenant's connections calls.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerView {
    pub host: String,
    pub state: BreakerState,
    pub since: Timestamp,
}

/// One tenant's limits as the node's runtime sees them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitsSnapshot {
    /// By connection, then operation.
    pub buckets: Vec<BucketView>,
    /// Newest first, at most [`THROTTLES_KEPT`].
    pub throttles: Vec<ThrottleView>,
    /// By host.
    pub breakers: Vec<BreakerView>,
}

/// Where a bucket is in [`RateLimiters`]: (scope, key), as the call took it.
#[derive(Debug, Clone, PartialEq)]
struct BucketRef {
    operation: String,
    scope: String,
    key: String,
    wider_cap: bool,
}

#[derive(Debug)]
struct Throttle {
    at: Timestamp,
    operation: String,
    retry_after: Option<Duration>,
}

#[derive(Debug, Default)]
struct Seen {
    buckets: Vec<BucketRef>,
    hosts: Vec<String>,
    throttles: VecDeque<Throttle>,
}

/// What each connection used and was answered with (kept by [`crate::Resilience`]).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    connections: Mutex<HashMap<String, Seen>>,
}

impl Recorder {
    fn connections(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen>> {
        // Every write leaves a whole entry, so a poisoned lock holds nothing half-done.
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call of `spec` is about to take its buckets: notes them once (no allocation after).
    pub(crate) fn saw(&self, spec: &CallSpec<'_>) {
        let mut connections = self.connections();
        if !connections.contains_key(spec.connection) {
            connections.insert(spec.connection.to_owned(), Seen::default());
        }
        let Some(seen) = connections.get_mut(spec.connection) else { return };
        let known = |b: &BucketRef, scope: &str, key: &str| b.scope == scope && b.key == key;
        if !seen.buckets.iter().any(|b| known(b, spec.scope, spec.operation)) {
            seen.buckets.push(BucketRef {
                operation: spec.operation.to_owned(),
                scope: spec.scope.to_owned(),
                key: spec.operation.to_owned(),
                wider_cap: false,
            });
        }
        for cap in &spec.caps {
            if !seen.buckets.iter().any(|b| known(b, &cap.scope, &cap.key)) {
                seen.buckets.push(BucketRef {
                    operation: cap.key.clone(),
                    scope: cap.scope.clone(),
                    key: cap.key.clone(),
                    wider_cap: true,
                });
            }
        }
        if !seen.hosts.iter().any(|h| h == spec.host) {
            seen.hosts.push(spec.host.to_owned());
        }
    }

    /// The remote answered a call of `spec` with a throttle.
    pub(crate) fn throttled(&self, spec: &CallSpec<'_>, retry_after: Option<Duration>) {
        let mut connections = self.connections();
        let seen = connections.entry(spec.connection.to_owned()).or_default();
        if seen.throttles.len() == THROTTLES_KEPT {
            seen.throttles.pop_front();
        }
        seen.throttles.push_back(Throttle { at: Timestamp::now(), operation: spec.operation.to_owned(), retry_after });
    }

    /// The view of `tenant`'s connections (those named `<tenant>/…`).
    pub(crate) fn snapshot(&self, tenant: &str, limiters: &RateLimiters, breakers: &Breakers) -> LimitsSnapshot {
        let prefix = format!("{tenant}/");
        let (now, wall) = (clock_now(), Timestamp::now());
        let ago =
            |instant: Instant| SignedDuration::try_from(now.saturating_duration_since(instant)).unwrap_or_default();
        let at = |instant: Instant| wall.checked_sub(ago(instant)).unwrap_or(Timestamp::MIN);
        let mut view = LimitsSnapshot::default();
        let mut hosts: Vec<String> = Vec::new();
        {
            let connections = self.connections();
            for (label, seen) in connections.iter() {
                let Some(id) = label.strip_prefix(&prefix) else { continue };
                for b in &seen.buckets {
                    let Some(bucket) = limiters.get(&b.scope, &b.key) else { continue };
                    let level = bucket.level_at(now);
                    view.buckets.push(BucketView {
                        connection: id.to_owned(),
                        operation: b.operation.clone(),
                        wider_cap: b.wider_cap,
                        tokens: level.tokens,
                        burst: level.burst,
                        rate_per_sec: level.rate_per_sec,
                        paused_until: level.paused_for.map(|d| {
                            SignedDuration::try_from(d)
                                .ok()
                                .and_then(|d| wall.checked_add(d).ok())
                                .unwrap_or(Timestamp::MAX)
                        }),
                    });
                }
                // Newest first, and kept so when two share an instant (the sort below is stable).
                view.throttles.extend(seen.throttles.iter().rev().map(|t| ThrottleView {
                    at: t.at,
                    connection: id.to_owned(),
                    operation: t.operation.clone(),
                    retry_after: t.retry_after,
                }));
                hosts.extend(seen.hosts.iter().cloned());
            }
        }
        view.buckets.sort_by(|a, b| (&a.connection, &a.operation).cmp(&(&b.connection, &b.operation)));
        view.throttles.sort_by_key(|t| std::cmp::Reverse(t.at));
        view.throttles.truncate(THROTTLES_KEPT);
        hosts.sort();
        hosts.dedup();
        view.breakers = hosts
            .into_iter()
            .filter_map(|host| {
                let (state, since) = breakers.existing(&host)?.state_since();
                Some(BreakerView { host, state, since: at(since) })
            })
            .collect();
        view
    }
}
