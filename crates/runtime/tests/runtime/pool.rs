//! The worker pool against a real (SQLite) store: retries, throttling, breakers, dead letters,
//! drain.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ferry_runtime::backoff::RetryPolicy;
use ferry_runtime::breaker::BreakerConfig;
use ferry_runtime::failure::Failure;
use ferry_runtime::{
    CallSpec, Effects, Handler, HandlerFuture, JobContext, JobError, Pool, PoolConfig, Registry, Resilience,
};
use ferry_store::{Job, JobState, NewJob, SqliteStore, Store, TenantId};
use serde_json::json;

fn tenant() -> TenantId {
    "default".parse().unwrap()
}

struct TempDb(std::path::PathBuf);
impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn store() -> (SqliteStore, TempDb) {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir =
        std::env::temp_dir().join(format!("ferry-pool-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = SqliteStore::open(&format!("sqlite://{}", dir.join("t.db").display())).await.unwrap();
    s.migrate().await.unwrap();
    s.ensure_tenant(&tenant(), "Default").await.unwrap();
    (s, TempDb(dir))
}

fn config() -> PoolConfig {
    PoolConfig {
        node_id: "test".into(),
        workers: 1,
        concurrency: 8,
        poll_interval: Duration::from_millis(10),
        retry: RetryPolicy { max_attempts: 3, base: Duration::from_millis(10), cap: Duration::from_millis(40) },
        drain_timeout: Duration::from_millis(300),
        ..PoolConfig::default()
    }
}

/// A handler made from a closure over the job and the context.
struct FnHandler<F>(F);
impl<F> Handler for FnHandler<F>
where
    F: Fn(&JobContext, &Job) -> HandlerFuture<'static> + Send + Sync + 'static,
{
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        (self.0)(ctx, job)
    }
}

fn handler<F>(f: F) -> FnHandler<F>
where
    F: Fn(&JobContext, &Job) -> HandlerFuture<'static> + Send + Sync + 'static,
{
    FnHandler(f)
}

/// Runs the pool until `done` holds for the store (checked every 20 ms) or 20 s pass.
async fn run_until<S: Store>(store: &S, pool: Pool<S>, done: impl Fn(&ferry_store::QueueStats) -> bool) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async move {
        let _ = rx.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = store.queue_stats().await.unwrap();
        if done(&s) {
            break;
        }
        assert!(Instant::now() < deadline, "pool did not reach the expected state: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = tx.send(());
    running.await.unwrap();
}

fn ctx() -> JobContext {
    JobContext { resilience: Arc::new(Resilience::default()) }
}

fn settled(s: &ferry_store::QueueStats) -> bool {
    s.ready == 0 && s.scheduled == 0 && s.running == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_flow_and_corrupt_payload_are_dead_letters_naming_the_job() {
    let (store, _d) = store().await;
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct OrderRef {
        order_id: String,
    }
    let mut registry = Registry::new();
    registry.register(
        "orders",
        handler(|_, job| {
            let parsed = job.payload_as::<OrderRef>().map_err(|e| JobError::bad_payload(job, e));
            Box::pin(async move { parsed.map(|_| Effects::default()) })
        }),
    );
    let ids = store
        .enqueue(&[
            NewJob::new(tenant(), "no.such.flow", json!({})),
            NewJob::new(tenant(), "orders", json!({ "wrong": 1 })),
            NewJob::new(tenant(), "orders", json!({ "order_id": "1" })),
        ])
        .await
        .unwrap();
    let pool = Pool::new(store.clone(), registry, ctx(), config());
    run_until(&store, pool, |s| settled(s) && s.completed == 1 && s.dead == 2).await;
    let dls = store.dead_letters(&tenant(), true, 10).await.unwrap();
    let unknown = dls.iter().find(|d| d.job == ids[0].unwrap()).unwrap();
    assert_eq!(unknown.step, "dispatch");
    assert!(unknown.error.contains("unknown flow `no.such.flow`"), "{}", unknown.error);
    assert!(unknown.error.contains(&format!("job {}", ids[0].unwrap())), "{}", unknown.error);
    assert!(unknown.error.contains("orders"), "lists the loaded flows: {}", unknown.error);
    let corrupt = dls.iter().find(|d| d.job == ids[1].unwrap()).unwrap();
    assert_eq!(corrupt.step, "decode");
    assert!(
        corrupt.error.contains(&format!("job {}", ids[1].unwrap())) && corrupt.error.contains("order_id"),
        "{}",
        corrupt.error
    );
    assert_eq!(corrupt.attempts, 1, "a permanent error is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_obeyed_without_spending_attempts() {
    let (store, _d) = store().await;
    let calls = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let seen = Arc::clone(&calls);
    let mut registry = Registry::new();
    registry.register(
        "f",
        handler(move |_, _| {
            let mut c = seen.lock().unwrap();
            c.push(Instant::now());
            let n = c.len();
            Box::pin(async move {
                if n == 1 {
                    Err(JobError::failed(
                        "call",
                        Failure::throttled(Some(Duration::from_millis(400)), "429 QuotaExceeded"),
                    ))
                } else {
                    Ok(Effects::default())
                }
            })
        }),
    );
    let id = store.enqueue(&[NewJob::new(tenant(), "f", json!({})).max_attempts(1)]).await.unwrap()[0].unwrap();
    let pool = Pool::new(store.clone(), registry, ctx(), config());
    run_until(&store, pool, |s| s.completed == 1).await;
    let c = calls.lock().unwrap().clone();
    assert_eq!(c.len(), 2);
    let gap = c[1] - c[0];
    assert!(gap >= Duration::from_millis(400), "retried after {gap:?}, before the 400 ms Retry-After");
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Completed, "a throttled try did not use up the only attempt");
    assert_eq!(job.attempts, 1);
    let trace = store.runs_for_job(id).await.unwrap();
    assert!(trace.iter().any(|r| r.outcome == "throttled" && r.message.contains("429")), "{trace:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_does_not_exhaust_attempts() {
    let (store, _d) = store().await;
    let count = Arc::new(AtomicU32::new(0));
    let c2 = Arc::clone(&count);
    let mut registry = Registry::new();
    registry.register(
        "f",
        handler(move |_, _| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n < 25 {
                    Err(JobError::failed("call", Failure::throttled(Some(Duration::from_millis(5)), "429")))
                } else {
                    Ok(Effects::default())
                }
            })
        }),
    );
    store.enqueue(&[NewJob::new(tenant(), "f", json!({})).max_attempts(3)]).await.unwrap();
    let pool = Pool::new(store.clone(), registry, ctx(), config());
    let stats = pool.stats();
    run_until(&store, pool, |s| s.completed == 1 || s.dead > 0).await;
    let s = store.queue_stats().await.unwrap();
    assert_eq!((s.completed, s.dead), (1, 0), "25 throttles with 3 attempts still complete");
    assert_eq!(count.load(Ordering::SeqCst), 26);
    assert_eq!(stats.deferred.load(Ordering::Relaxed), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_back_off_then_dead_letter_with_attempts() {
    let (store, _d) = store().await;
    let mut registry = Registry::new();
    registry.register(
        "f",
        handler(|_, _| {
            Box::pin(async { Err(JobError::failed("write order", Failure::transient("503 Service Unavailable"))) })
        }),
    );
    let id =
        store.enqueue(&[NewJob::new(tenant(), "f", json!({ "order": 1 })).max_attempts(3)]).await.unwrap()[0].unwrap();
    let pool = Pool::new(store.clone(), registry, ctx(), config());
    run_until(&store, pool, |s| s.dead == 1).await;
    let dl = store.dead_letters(&tenant(), true, 1).await.unwrap().remove(0);
    assert_eq!(dl.job, id);
    assert_eq!(dl.step, "write order");
    assert_eq!(dl.attempts, 3);
    assert_eq!(dl.error_kind, "transient");
    assert!(dl.error.contains("gave up after 3 attempts") && dl.error.contains("503"), "{}", dl.error);
    let trace = store.runs_for_job(id).await.unwrap();
    assert_eq!(trace.iter().filter(|r| r.outcome == "retry").count(), 2, "{trace:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_circuit_defers_jobs_without_calling_or_spending_attempts() {
    let (store, _d) = store().await;
    let remote_calls = Arc::new(AtomicU32::new(0));
    let rc = Arc::clone(&remote_calls);
    let mut registry = Registry::new();
    registry.register(
        "f",
        handler(move |ctx, _| {
            let ctx = ctx.clone();
            let rc = Arc::clone(&rc);
            Box::pin(async move {
                let spec = CallSpec {
                    connection: "crm",
                    scope: "crm",
                    operation: "upsert",
                    host: "crm.example",
                    rate_per_sec: 1000.0,
                    burst: 1000,
                    max_concurrency: 4,
                    caps: Vec::new(),
                };
                ctx.resilience
                    .call("write", &spec, async {
                        rc.fetch_add(1, Ordering::SeqCst);
                        Err::<(), _>(Failure::transient("connection refused"))
                    })
                    .await?;
                Ok(Effects::default())
            })
        }),
    );
    let jobs: Vec<NewJob> = (0..10).map(|i| NewJob::new(tenant(), "f", json!({ "i": i })).max_attempts(2)).collect();
    store.enqueue(&jobs).await.unwrap();
    let resilience = Resilience::new(
        BreakerConfig { failure_threshold: 3, open_for: Duration::from_secs(60) },
        Duration::from_secs(1),
    );
    let ctx = JobContext { resilience: Arc::new(resilience) };
    let breakers = Arc::clone(&ctx.resilience);
    let mut cfg = config();
    cfg.concurrency = 1;
    let pool = Pool::new(store.clone(), registry, ctx, cfg);
    let stats = pool.stats();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async move {
        let _ = stopped.await;
    }));
    // The node publishes its breaker states for `ferry status` (another process) to read.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = store.queue_stats().await.unwrap();
        let reported = store.breakers().await.unwrap();
        let open = reported.iter().any(|b| b.host == "crm.example" && b.state == "open" && b.node == "test");
        if open && s.ready == 0 && s.running == 0 && s.scheduled == 10 {
            break;
        }
        assert!(Instant::now() < deadline, "breaker not reported open / jobs not deferred: {s:?} {reported:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    running.await.unwrap();
    assert!(store.breakers().await.unwrap().is_empty(), "a stopped node withdraws its report");
    assert_eq!(remote_calls.load(Ordering::SeqCst), 3, "after 3 failures the breaker stops calls");
    assert_eq!(breakers.breakers.get("crm.example").state().as_str(), "open");
    assert!(stats.deferred.load(Ordering::Relaxed) >= 7, "the rest were deferred, not failed");
    let s = store.queue_stats().await.unwrap();
    assert_eq!(s.dead, 0, "nothing dead-lettered while the circuit is open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_flow_is_retried_not_fatal() {
    let (store, _d) = store().await;
    let n = Arc::new(AtomicU32::new(0));
    let n2 = Arc::clone(&n);
    let mut registry = Registry::new();
    registry.register(
        "f",
        handler(move |_, _| {
            let first = n2.fetch_add(1, Ordering::SeqCst) == 0;
            Box::pin(async move {
                if first {
                    panic!("bug in a flow");
                }
                Ok(Effects::default())
            })
        }),
    );
    store.enqueue(&[NewJob::new(tenant(), "f", json!({}))]).await.unwrap();
    let pool = Pool::new(store.clone(), registry, ctx(), config());
    run_until(&store, pool, |s| s.completed == 1).await;
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_finishes_short_jobs_and_releases_long_ones() {
    let (store, _d) = store().await;
    let mut registry = Registry::new();
    registry.register(
        "f",
        handler(|_, job| {
            let long = job.payload.contains("long");
            Box::pin(async move {
                tokio::time::sleep(if long { Duration::from_secs(30) } else { Duration::from_millis(100) }).await;
                Ok(Effects::default())
            })
        }),
    );
    let ids = store
        .enqueue(&[
            NewJob::new(tenant(), "f", json!({ "kind": "short" })),
            NewJob::new(tenant(), "f", json!({ "kind": "long" })),
        ])
        .await
        .unwrap();
    // A drain window far longer than the short job and far shorter than the long one, so a
    // loaded machine cannot blur the two.
    let config = PoolConfig { drain_timeout: Duration::from_secs(3), ..config() };
    let pool = Pool::new(store.clone(), registry, ctx(), config);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async move {
        let _ = rx.await;
    }));
    // Both jobs are running, then the shutdown signal arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.queue_stats().await.unwrap().running < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tx.send(()).unwrap();
    running.await.unwrap();
    let short = store.job(ids[0].unwrap()).await.unwrap().unwrap();
    let long = store.job(ids[1].unwrap()).await.unwrap().unwrap();
    assert_eq!(short.state, JobState::Completed, "a job that fits in the drain window finishes");
    assert_eq!(long.state, JobState::Available, "a job that does not is handed back at once");
    assert_eq!(long.attempts, 0, "the interrupted attempt is refunded");
    assert!(long.lease_owner.is_none());
}

#[derive(Default)]
struct Seen(std::sync::Mutex<Vec<String>>);

impl ferry_runtime::CallObserver for Seen {
    fn api_call(&self, connection: &str, operation: &str, outcome: &str) {
        self.0.lock().unwrap().push(format!("call {connection}/{operation} {outcome}"));
    }
    fn throttled(&self, connection: &str, operation: &str) {
        self.0.lock().unwrap().push(format!("throttle {connection}/{operation}"));
    }
}

#[tokio::test]
async fn every_remote_call_is_reported_to_the_observer() {
    let seen = Arc::new(Seen::default());
    let resilience = Resilience::new(BreakerConfig::default(), Duration::from_millis(1)).with_observer(seen.clone());
    let spec = CallSpec {
        connection: "amazon",
        scope: "amazon",
        operation: "getOrder",
        host: "sp.example",
        rate_per_sec: 0.5,
        burst: 2,
        max_concurrency: 4,
        caps: Vec::new(),
    };
    resilience.call("get", &spec, async { Ok::<_, Failure>(()) }).await.unwrap();
    let throttled = resilience.call("get", &spec, async { Err::<(), _>(Failure::throttled(None, "429")) }).await;
    assert!(matches!(throttled, Err(JobError::Failed { .. })));
    // The 429 paused the bucket: the next call is deferred without being sent.
    let deferred = resilience.call("get", &spec, async { Ok::<_, Failure>(()) }).await;
    assert!(matches!(deferred, Err(JobError::Deferred { .. })), "{deferred:?}");
    assert_eq!(
        *seen.0.lock().unwrap(),
        vec![
            "call amazon/getOrder ok",
            "call amazon/getOrder throttled",
            "throttle amazon/getOrder",
            "throttle amazon/getOrder",
        ]
    );
}
