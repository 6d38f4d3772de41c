//! Every remote call goes through here: circuit breaker per host, concurrency cap per
//! connection, token bucket per (connection, operation). Connectors never sleep or retry on
//! their own; this decides whether to wait briefly, defer the job, or record a failure.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::breaker::{BreakerConfig, Breakers};
use crate::bucket::{ConcurrencyCaps, RateLimiters, TokenBucket};
use crate::failure::Failure;
use crate::handler::JobError;
use crate::limits_view::{LimitsSnapshot, Recorder};
use crate::shared_buckets::SharedBuckets;

/// The limits of one remote operation, as published by the vendor (or configured).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec<'a> {
    /// The connection, as metrics and messages name it.
    pub connection: &'a str,
    /// Whom the vendor counts the call against (`spapi/<app>/<seller>`,
    /// `dataverse/<host>/<app user>`): rate buckets and the concurrency cap are kept per scope
    /// and operation, so two connections (or tenants) on one seller account share one rate.
    pub scope: &'a str,
    pub operation: &'a str,
    /// The remote host, which the circuit breaker is keyed on.
    pub host: &'a str,
    pub rate_per_sec: f64,
    pub burst: u32,
    /// Concurrent requests allowed on the connection (Dataverse: 52 per identity).
    pub max_concurrency: usize,
    /// Caps the vendor keeps over a wider scope than `scope`, each taken after the call's own
    /// bucket (e.g. a report type a seller may request four times an hour whichever
    /// application asks).
    pub caps: Vec<Cap>,
}

/// A limit the vendor counts over a wider scope than one seller × application (or app user):
/// every connection and tenant whose calls carry the same `scope` and `key` shares its bucket,
/// on this node and (with shared buckets) on every node.
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    /// Whom the vendor counts against (`spapi-seller/<seller>`, `spapi-app/<client id>`).
    pub scope: String,
    /// What is counted (`createReport/GET_SALES_AND_TRAFFIC_REPORT`).
    pub key: String,
    pub rate_per_sec: f64,
    pub burst: u32,
}

/// Told about every remote call, for metrics (`/metrics` implements it).
pub trait CallObserver: Send + Sync {
    /// A call answered: `outcome` is "ok" or the failure class ("transient", "throttled", …).
    fn api_call(&self, connection: &str, operation: &str, outcome: &str);
    /// A call waited for, or was deferred by, a rate limit (ours or the remote's 429).
    fn throttled(&self, connection: &str, operation: &str);
    /// A flow wrote its record to the target `seconds` after the event that started it was
    /// stored (the end-to-end latency).
    fn delivered(&self, _flow: &str, _seconds: f64) {}
}

/// Shared resilience state of a node.
pub struct Resilience {
    pub limiters: RateLimiters,
    pub caps: ConcurrencyCaps,
    pub breakers: Breakers,
    /// A rate-limit wait up to this long is slept through in place; a longer one defers the job.
    pub max_inline_wait: Duration,
    observer: Option<Arc<dyn CallObserver>>,
    /// Buckets shared with the other nodes (PostgreSQL deployments); `None` on one node.
    shared: Option<Arc<dyn SharedBuckets>>,
    /// Which connection used which bucket and host, and its recent throttles (for the console).
    seen: Recorder,
}

impl Default for Resilience {
    fn default() -> Self {
        Resilience::new(BreakerConfig::default(), Duration::from_secs(2))
    }
}

impl Resilience {
    pub fn new(breaker: BreakerConfig, max_inline_wait: Duration) -> Self {
        Resilience {
            limiters: RateLimiters::new(),
            caps: ConcurrencyCaps::new(),
            breakers: Breakers::new(breaker),
            max_inline_wait,
            observer: None,
            shared: None,
            seen: Recorder::default(),
        }
    }

    /// Reports every call to `observer` (the node's metrics).
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Takes every admission from `shared` too, so the nodes sharing it stay within one rate.
    pub fn with_shared_buckets(mut self, shared: Arc<dyn SharedBuckets>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Waits for (or defers on) the shared bucket of this call, after the node's own admitted
    /// it. A store that cannot answer leaves the node's own bucket in charge (each node then
    /// keeps the rate alone) rather than stopping every call.
    async fn take_shared(
        &self,
        step: &str,
        spec: &CallSpec<'_>,
        key: &str,
        bucket: &TokenBucket,
        what: &str,
    ) -> Result<(), JobError> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let (rate, burst) = bucket.limits();
        let interval = Duration::from_secs_f64((1.0 / rate).min(86_400.0));
        loop {
            match shared.take(key, interval, burst).await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) if wait <= self.max_inline_wait => {
                    self.observe(|o| o.throttled(spec.connection, spec.operation));
                    tokio::time::sleep(wait).await
                }
                Ok(Some(wait)) => {
                    self.observe(|o| o.throttled(spec.connection, spec.operation));
                    return Err(JobError::Deferred {
                        step: step.into(),
                        wait,
                        reason: format!(
                            "rate limit of {}{what} on {} (shared by the nodes)",
                            spec.operation, spec.connection
                        ),
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, key, "shared rate bucket unavailable; this node's own bucket applies");
                    return Ok(());
                }
            }
        }
    }

    /// Takes a token of this node's `bucket`: a short wait is slept through, a longer one
    /// defers the job.
    async fn take_local(
        &self,
        step: &str,
        spec: &CallSpec<'_>,
        bucket: &TokenBucket,
        what: &str,
    ) -> Result<(), JobError> {
        loop {
            match bucket.try_acquire() {
                Ok(()) => return Ok(()),
                Err(wait) if wait <= self.max_inline_wait => {
                    self.observe(|o| o.throttled(spec.connection, spec.operation));
                    tokio::time::sleep(wait).await
                }
                Err(wait) => {
                    self.observe(|o| o.throttled(spec.connection, spec.operation));
                    return Err(JobError::Deferred {
                        step: step.into(),
                        wait,
                        reason: format!("rate limit of {}{what} on {}", spec.operation, spec.connection),
                    });
                }
            }
        }
    }

    /// Takes a token of one wider cap: this node's bucket, then the one the nodes share. A
    /// short wait is slept through; a longer one defers the job (or, outside a job, comes
    /// back as a throttled failure carrying it).
    async fn take_cap(&self, step: &str, spec: &CallSpec<'_>, cap: &Cap) -> Result<(), JobError> {
        let bucket = self
            .limiters
            .get_or_insert(&cap.scope, &cap.key, cap.rate_per_sec, cap.burst)
            .map_err(|e| JobError::failed(step, Failure::permanent(format!("bad limits for {}: {e}", cap.key))))?;
        let what = format!(" (a cap on {} over {})", cap.key, cap.scope);
        self.take_local(step, spec, &bucket, &what).await?;
        self.take_shared(step, spec, &format!("{}/{}", cap.scope, cap.key), &bucket, &what).await
    }

    fn observe(&self, f: impl FnOnce(&dyn CallObserver)) {
        if let Some(o) = &self.observer {
            f(o.as_ref());
        }
    }

    /// Reports that `flow` wrote its record to the target `seconds` after its event arrived.
    pub fn delivered(&self, flow: &str, seconds: f64) {
        self.observe(|o| o.delivered(flow, seconds));
    }

    /// `tenant`'s limits as this node sees them now: the buckets its connections used, the
    /// throttles they were answered with lately and the breakers of their hosts. Only
    /// connections named `<tenant>/…` (as the connectors name them) are in it.
    pub fn limits_of(&self, tenant: &str) -> LimitsSnapshot {
        self.seen.snapshot(tenant, &self.limiters, &self.breakers)
    }

    /// Runs one remote call within the limits. `step` names it in errors.
    pub async fn call<T, F>(&self, step: &str, spec: &CallSpec<'_>, call: F) -> Result<T, JobError>
    where
        F: Future<Output = Result<T, Failure>>,
    {
        self.seen.saw(spec);
        // Tokens first: a half-open breaker admits one probe, which must then really be sent.
        let bucket =
            self.limiters.get_or_insert(spec.scope, spec.operation, spec.rate_per_sec, spec.burst).map_err(|e| {
                JobError::failed(step, Failure::permanent(format!("bad limits for {}: {e}", spec.operation)))
            })?;
        self.take_local(step, spec, &bucket, "").await?;
        let key = format!("{}/{}", spec.scope, spec.operation);
        self.take_shared(step, spec, &key, &bucket, "").await?;
        for cap in &spec.caps {
            self.take_cap(step, spec, cap).await?;
        }
        let breaker = self.breakers.get(spec.host);
        if let Err(wait) = breaker.check() {
            return Err(JobError::Deferred {
                step: step.into(),
                wait,
                reason: format!("circuit open for {}", spec.host),
            });
        }
        let _permit = self.caps.acquire(spec.scope, spec.max_concurrency.max(1)).await;
        match call.await {
            Ok(v) => {
                breaker.record_success();
                self.observe(|o| o.api_call(spec.connection, spec.operation, "ok"));
                Ok(v)
            }
            Err(failure) => {
                self.observe(|o| o.api_call(spec.connection, spec.operation, failure.kind().as_str()));
                if matches!(failure, Failure::Throttled { .. }) {
                    self.observe(|o| o.throttled(spec.connection, spec.operation));
                }
                match &failure {
                    // The remote is unwell or unreachable: this is what the breaker counts.
                    Failure::Transient { .. } => breaker.record_failure(),
                    // A 429 is the remote asking us to slow down: pause the bucket, not a failure.
                    Failure::Throttled { retry_after, .. } => {
                        let pause = retry_after.unwrap_or(Duration::from_secs(1));
                        self.seen.throttled(spec, *retry_after);
                        bucket.penalize(pause);
                        if let Some(shared) = &self.shared {
                            let key = format!("{}/{}", spec.scope, spec.operation);
                            if let Err(e) = shared.pause(&key, pause).await {
                                tracing::warn!(error = %e, key, "could not pause the shared rate bucket");
                            }
                        }
                        breaker.record_success();
                    }
                    // The remote answered; it is up.
                    Failure::Permanent { .. } | Failure::Auth { .. } => breaker.record_success(),
                }
                Err(JobError::failed(step, failure))
            }
        }
    }
}
