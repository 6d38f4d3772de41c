//! The worker pool: claims jobs in batches under a lease, runs them concurrently, keeps
//! their leases alive, and commits outcomes in batches (each outcome atomic with its effects).
//! A crashed node's leases expire and any node returns those jobs to the queue.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_store::{Completion, Job, JobId, Outcome, Store};
use jiff::Timestamp;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::backoff::RetryPolicy;
use crate::decide::decide;
use crate::failure::Failure;
use crate::handler::{JobContext, JobError, Registry};

/// How a pool runs.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Identifies this node in lease owners (`node/w0`, `node/w1`, …).
    pub node_id: String,
    /// Independent claim loops, each with its own lease owner.
    pub workers: usize,
    /// Jobs running at once per worker.
    pub concurrency: usize,
    /// Most jobs taken by one claim.
    pub claim_batch: u32,
    /// Most outcomes committed in one transaction.
    pub completion_batch: usize,
    /// How long a claim is valid without a heartbeat.
    pub lease: Duration,
    /// How long an idle worker waits before asking again.
    pub poll_interval: Duration,
    /// A job still running after this is failed as transient.
    pub job_timeout: Duration,
    /// On shutdown, how long the whole drain may take: in-flight jobs finish (or are stopped)
    /// and their outcomes are committed within it. If the store does not take them in time
    /// (it is down), the node stops anyway: those jobs stay leased and run again once the
    /// lease expires, after a restart or on another node.
    pub drain_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            node_id: default_node_id(),
            workers: 2,
            concurrency: 64,
            claim_batch: 100,
            completion_batch: 500,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(250),
            job_timeout: Duration::from_secs(300),
            drain_timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

/// `hostname-pid`, unique enough among the nodes sharing one database.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "node".to_string() } else { host };
    format!("{host}-{}", std::process::id())
}

/// Counters a pool keeps while it runs.
#[derive(Debug, Default)]
pub struct PoolStats {
    pub claimed: AtomicU64,
    pub completed: AtomicU64,
    pub retried: AtomicU64,
    pub deferred: AtomicU64,
    pub dead: AtomicU64,
    pub released: AtomicU64,
    /// Outcomes that were not applied because the lease had moved on.
    pub stale: AtomicU64,
    pub store_errors: AtomicU64,
}

impl PoolStats {
    fn add(&self, c: &Completion, applied: bool) {
        if !applied {
            self.stale.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let counter = match &c.outcome {
            Outcome::Completed { .. } => &self.completed,
            Outcome::Retry { refund_attempt: true, .. } => &self.deferred,
            Outcome::Retry { .. } => &self.retried,
            Outcome::Dead { .. } => &self.dead,
            Outcome::Release => &self.released,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Jobs finished one way or another (completed or dead-lettered).
    pub fn finished(&self) -> u64 {
        self.completed.load(Ordering::Relaxed) + self.dead.load(Ordering::Relaxed)
    }
}

/// A pool of workers over one store.
pub struct Pool<S: Store> {
    store: S,
    registry: Arc<Registry>,
    ctx: JobContext,
    config: PoolConfig,
    stats: Arc<PoolStats>,
    wake: Arc<Notify>,
}

impl<S: Store> Pool<S> {
    pub fn new(store: S, registry: Registry, ctx: JobContext, config: PoolConfig) -> Self {
        Pool { store, registry: Arc::new(registry), ctx, config, stats: Arc::default(), wake: Arc::default() }
    }

    /// Its flow registry, where a running node adds, replaces and removes tenants' flows.
    pub fn registry(&self) -> Arc<Registry> {
        Arc::clone(&self.registry)
    }

    /// Replaces the retry policy (the demo and tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Counters, readable while the pool runs.
    pub fn stats(&self) -> Arc<PoolStats> {
        Arc::clone(&self.stats)
    }

    /// Wakes idle workers at once (after an in-process enqueue) instead of at the next poll.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Runs until `shutdown` resolves, then drains: no new claims; in-flight jobs finish within
    /// the drain timeout or have their leases released so another worker takes them at once.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers = JoinSet::new();
        for i in 0..self.config.workers.max(1) {
            let worker = Worker {
                owner: format!("{}/w{i}", self.config.node_id),
                store: self.store.clone(),
                registry: Arc::clone(&self.registry),
                ctx: self.ctx.clone(),
                config: self.config.clone(),
                stats: Arc::clone(&self.stats),
                wake: Arc::clone(&self.wake),
                in_flight: Arc::default(),
            };
            workers.spawn(worker.run(stop_rx.clone()));
        }
        let recovery = tokio::spawn(recover_leases(self.store.clone(), self.config.lease, stop_rx.clone()));
        let reporter = tokio::spawn(report_breakers(
            self.store.clone(),
            self.config.node_id.clone(),
            self.ctx.clone(),
            stop_rx.clone(),
        ));
        shutdown.await;
        tracing::info!("draining: no new claims, waiting for running jobs");
        let deadline = tokio::time::Instant::now() + self.config.drain_timeout;
        let _ = stop_tx.send(true);
        self.wake.notify_waiters();
        // Each worker keeps to the deadline itself; this is the backstop for a store call that
        // hangs past it (an unreachable server), so a stop never waits for SIGKILL.
        let backstop = deadline + DRAIN_BACKSTOP;
        let joined = tokio::time::timeout_at(backstop, async { while workers.join_next().await.is_some() {} }).await;
        if joined.is_err() {
            tracing::warn!("workers did not stop by the drain deadline; stopping them (their jobs stay leased)");
            workers.abort_all();
            while workers.join_next().await.is_some() {}
        }
        for task in [recovery, reporter] {
            let handle = task.abort_handle();
            if tokio::time::timeout_at(backstop, task).await.is_err() {
                handle.abort();
            }
        }
    }
}

/// How long past the drain deadline the pool waits for a store call stuck in a worker.
const DRAIN_BACKSTOP: Duration = Duration::from_millis(500);

/// Publishes this node's circuit breaker states to the store every few seconds, so
/// `ferry status` (another process, maybe another machine) can show them.
async fn report_breakers<S: Store>(store: S, node: String, ctx: JobContext, mut stop: watch::Receiver<bool>) {
    let mut last: Vec<(String, String)> = Vec::new();
    loop {
        let stopping = wait_or_stop(&mut stop, Duration::from_secs(2)).await;
        let now: Vec<(String, String)> = ctx
            .resilience
            .breakers
            .snapshot()
            .into_iter()
            .map(|(host, state)| (host, state.as_str().to_string()))
            .collect();
        if now != last || stopping {
            // On the way out, clear the report: a stopped node's breakers say nothing.
            let report = if stopping { Vec::new() } else { now.clone() };
            if let Err(e) = store.record_breakers(&node, &report).await {
                tracing::warn!(error = %e, "could not record breaker states");
            }
            last = now;
        }
        if stopping {
            return;
        }
    }
}

/// Periodically returns jobs of crashed workers (expired leases) to the queue.
async fn recover_leases<S: Store>(store: S, lease: Duration, mut stop: watch::Receiver<bool>) {
    let every = (lease / 2).max(Duration::from_millis(200));
    loop {
        match store.recover_expired_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "returned jobs with expired leases to the queue"),
            Err(e) => tracing::warn!(error = %e, "could not recover expired leases"),
        }
        if wait_or_stop(&mut stop, every).await {
            return;
        }
    }
}

/// Sleeps for `d`; true if the stop signal came first.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

struct Worker<S: Store> {
    owner: String,
    store: S,
    registry: Arc<Registry>,
    ctx: JobContext,
    config: PoolConfig,
    stats: Arc<PoolStats>,
    wake: Arc<Notify>,
    in_flight: Arc<Mutex<HashSet<JobId>>>,
}

impl<S: Store> Worker<S> {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        // Bounded by the concurrency: at most 3 × concurrency effects are ever done but not yet
        // committed (running, queued, in the commit), which bounds redelivery after a crash.
        let (done_tx, done_rx) = mpsc::channel::<Completion>(self.config.concurrency.max(1));
        let (deadline_tx, deadline_rx) = watch::channel(None);
        let completer = tokio::spawn(complete_loop(
            self.store.clone(),
            self.owner.clone(),
            done_rx,
            self.config.completion_batch.max(1),
            Arc::clone(&self.stats),
            Arc::clone(&self.in_flight),
            deadline_rx,
        ));
        let heartbeat = tokio::spawn(heartbeat_loop(
            self.store.clone(),
            self.owner.clone(),
            self.config.lease,
            Arc::clone(&self.in_flight),
            stop.clone(),
        ));
        let mut tasks = JoinSet::new();
        let mut store_backoff = Duration::from_millis(100);
        loop {
            while tasks.try_join_next().is_some() {}
            if *stop.borrow() {
                break;
            }
            // Wait for at least one free slot, then take as many as are free.
            let first = tokio::select! {
                p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = stop.changed() => break,
            };
            let mut permits = vec![first];
            let extra = slots.available_permits().min(self.config.claim_batch.max(1) as usize - 1);
            for _ in 0..extra {
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let want = u32::try_from(permits.len()).unwrap_or(u32::MAX);
            // A claim stuck on a store that does not answer must not hold up a stop. Should a
            // claim go through unseen, its jobs stay leased and run again when the lease expires.
            let claimed = tokio::select! {
                r = self.store.claim(&self.owner, want, self.config.lease) => r,
                _ = stop.changed() => break,
            };
            let jobs = match claimed {
                Ok(jobs) => {
                    store_backoff = Duration::from_millis(100);
                    jobs
                }
                Err(e) => {
                    self.stats.store_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, worker = %self.owner, "claim failed; retrying");
                    drop(permits);
                    if wait_or_stop(&mut stop, store_backoff).await {
                        break;
                    }
                    store_backoff = (store_backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            self.stats.claimed.fetch_add(jobs.len() as u64, Ordering::Relaxed);
            if jobs.is_empty() {
                drop(permits);
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = self.wake.notified() => {}
                    _ = self.store.jobs_added() => {}
                    _ = stop.changed() => break,
                }
                continue;
            }
            {
                let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
                in_flight.extend(jobs.iter().map(|j| j.id));
            }
            let mut permits = permits.into_iter();
            for job in jobs {
                let Some(permit) = permits.next() else { break };
                tasks.spawn(run_job(
                    job,
                    permit,
                    Arc::clone(&self.registry),
                    self.ctx.clone(),
                    (self.config.retry, self.config.job_timeout),
                    done_tx.clone(),
                ));
            }
        }
        // Drain: let running jobs finish, then release whatever is still out. Jobs get the
        // drain timeout less a reserve for committing; commits get until the deadline.
        let deadline = tokio::time::Instant::now() + self.config.drain_timeout;
        let _ = deadline_tx.send(Some(deadline));
        let reserve = (self.config.drain_timeout / 4).min(Duration::from_secs(5));
        let drained =
            tokio::time::timeout_at(deadline - reserve, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        let leftover: Vec<JobId> = self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
        for job in leftover {
            let _ = done_tx.send(Completion { job, outcome: Outcome::Release, trace: Vec::new() }).await;
        }
        drop(done_tx);
        let _ = completer.await;
        heartbeat.abort();
        let _ = heartbeat.await;
    }
}

/// Runs one job and reports its outcome. The handler runs in its own task so a panic becomes
/// a transient failure of that job instead of taking the worker down.
async fn run_job(
    job: Job,
    permit: OwnedSemaphorePermit,
    registry: Arc<Registry>,
    ctx: JobContext,
    (retry, timeout): (RetryPolicy, Duration),
    done: mpsc::Sender<Completion>,
) {
    let job = Arc::new(job);
    let result = execute(&job, &registry, ctx, timeout).await;
    let mut completion = decide(&job, result, &retry, Timestamp::now());
    if let Outcome::Dead { covers_earlier, .. } = &mut completion.outcome {
        *covers_earlier = job.record.is_some()
            && registry.get(&job.tenant, &job.flow).is_some_and(|h| h.failure_covers_earlier(&job));
    }
    // The slot frees only once the outcome is queued for commit: backpressure on claims.
    let _ = done.send(completion).await;
    drop(permit);
}

async fn execute(
    job: &Arc<Job>,
    registry: &Registry,
    ctx: JobContext,
    timeout: Duration,
) -> Result<crate::Effects, JobError> {
    if job.attempts > job.max_attempts {
        // Only a crash mid-run gets here: the last attempt was claimed but never finished.
        let last = job.last_error.as_deref().unwrap_or("none recorded");
        return Err(JobError::failed(
            "queue",
            Failure::permanent(format!("job {} used all {} attempts; last error: {last}", job.id, job.max_attempts)),
        ));
    }
    let Some(handler) = registry.get(&job.tenant, &job.flow) else {
        let known = registry.names(&job.tenant).join(", ");
        return Err(JobError::failed(
            "dispatch",
            Failure::permanent(format!("job {}: unknown flow `{}` (loaded flows: {known})", job.id, job.flow)),
        ));
    };
    let owned = Arc::clone(job);
    let mut task = tokio::spawn(async move { handler.run(&ctx, &owned).await });
    match tokio::time::timeout(timeout, &mut task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => Err(JobError::failed(
            "run",
            Failure::transient(format!(
                "job {}: the flow `{}` panicked (a bug; reported as transient)",
                job.id, job.flow
            )),
        )),
        Ok(Err(_)) => Err(JobError::failed("run", Failure::transient("job was cancelled"))),
        Err(_) => {
            // Stop it: a timed-out run must not go on beside its own retry.
            task.abort();
            Err(JobError::failed("run", Failure::transient(format!("job {} timed out after {timeout:?}", job.id))))
        }
    }
}

/// Commits outcomes in batches. A store error keeps the batch and retries: the leases stay
/// alive through the heartbeat meanwhile, and if this node dies they expire and nothing is lost.
/// Once draining, retries stop at the drain deadline: what is still uncommitted then is left
/// to the leases (the jobs run again after they expire), so a store that is down cannot keep
/// the node from stopping.
async fn complete_loop<S: Store>(
    store: S,
    owner: String,
    mut rx: mpsc::Receiver<Completion>,
    max_batch: usize,
    stats: Arc<PoolStats>,
    in_flight: Arc<Mutex<HashSet<JobId>>>,
    deadline: watch::Receiver<Option<tokio::time::Instant>>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut abandoned = 0usize;
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let mut backoff = Duration::from_millis(50);
        let applied = loop {
            let attempt = tokio::select! {
                r = store.complete(&owner, &batch) => Some(r),
                _ = deadline_passed(deadline.clone()) => None,
            };
            match attempt {
                Some(Ok(applied)) => break Some(applied),
                Some(Err(e)) => {
                    stats.store_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, jobs = batch.len(), "could not commit outcomes; retrying");
                    let waited = tokio::select! {
                        _ = tokio::time::sleep(backoff) => true,
                        _ = deadline_passed(deadline.clone()) => false,
                    };
                    if !waited {
                        break None;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                None => break None,
            }
        };
        {
            let mut set = in_flight.lock().unwrap_or_else(|e| e.into_inner());
            match applied {
                Some(applied) => {
                    for (c, ok) in batch.iter().zip(applied.iter()) {
                        set.remove(&c.job);
                        stats.add(c, *ok);
                    }
                }
                None => {
                    // Still leased in the store: they stay in flight, and the heartbeat keeps
                    // their leases only while this node lives.
                    abandoned += batch.len();
                }
            }
        }
        batch.clear();
    }
    if abandoned > 0 {
        tracing::warn!(
            jobs = abandoned,
            "the store did not take these outcomes before the drain deadline; the jobs stay leased \
             and run again once their leases expire (after a restart or on another node)"
        );
    }
}

/// Resolves once a drain deadline is set and has passed; never before a drain starts.
async fn deadline_passed(mut deadline: watch::Receiver<Option<tokio::time::Instant>>) {
    loop {
        let at = *deadline.borrow_and_update();
        match at {
            Some(at) => {
                tokio::time::sleep_until(at).await;
                return;
            }
            None => {
                if deadline.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// Keeps the leases of running jobs alive.
async fn heartbeat_loop<S: Store>(
    store: S,
    owner: String,
    lease: Duration,
    in_flight: Arc<Mutex<HashSet<JobId>>>,
    mut stop: watch::Receiver<bool>,
) {
    let every = (lease / 3).max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            // Keep beating while draining: running jobs still need their leases.
            _ = stop.changed() => {}
        }
        let ids: Vec<JobId> = in_flight.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
        if let Err(e) = store.heartbeat(&owner, &ids, lease).await {
            tracing::warn!(error = %e, "heartbeat failed");
        }
    }
}
