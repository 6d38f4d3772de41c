//! Rate limits that hold across nodes. Each node keeps its own token buckets (so one node
//! never exceeds a vendor's rate on its own); with shared buckets the same admission is then
//! taken from the store's bucket row as well, so N nodes together stay within one rate and
//! burst, and a 429's `Retry-After` pauses every node (store: `take_rate_token`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ferry_store::Store;

/// A boxed future of the shared-bucket calls.
pub type BucketFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Buckets every node of a deployment shares.
pub trait SharedBuckets: Send + Sync {
    /// Takes one request from bucket `key`: `Ok(None)` to go, `Ok(Some(wait))` when none is
    /// left for `wait`.
    fn take<'a>(&'a self, key: &'a str, interval: Duration, burst: u32) -> BucketFuture<'a, Option<Duration>>;
    /// Admits nothing from bucket `key` for `pause`, on every node.
    fn pause<'a>(&'a self, key: &'a str, pause: Duration) -> BucketFuture<'a, ()>;
}

/// Shared buckets kept in the store every node uses, under `scope` (the tenant, so two
/// sellers' connections of the same name never share a bucket).
pub struct StoreBuckets<S: Store> {
    store: S,
    scope: String,
}

impl<S: Store> StoreBuckets<S> {
    pub fn new(store: S, scope: impl Into<String>) -> Self {
        StoreBuckets { store, scope: scope.into() }
    }

    fn key(&self, key: &str) -> String {
        format!("{}/{key}", self.scope)
    }
}

impl<S: Store> SharedBuckets for StoreBuckets<S> {
    fn take<'a>(&'a self, key: &'a str, interval: Duration, burst: u32) -> BucketFuture<'a, Option<Duration>> {
        Box::pin(
            async move { self.store.take_rate_token(&self.key(key), interval, burst).await.map_err(|e| e.to_string()) },
        )
    }

    fn pause<'a>(&'a self, key: &'a str, pause: Duration) -> BucketFuture<'a, ()> {
        Box::pin(async move { self.store.pause_rate_bucket(&self.key(key), pause).await.map_err(|e| e.to_string()) })
    }
}
