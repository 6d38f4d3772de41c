//! Thousands of events for one record through the real pool: the work stays bounded by the
//! bursts, not the events, and the target ends with the last event; a record that cannot
//! succeed is one dead letter however many events it had. On SQLite and PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_runtime::backoff::RetryPolicy;
use ferry_runtime::failure::Failure;
use ferry_runtime::{Effects, Handler, HandlerFuture, JobContext, JobError, Pool, PoolConfig, Registry, Resilience};
use ferry_store::{Job, NewJob, PgStore, QueueStats, RunRecord, SqliteStore, Store, TenantId};
use serde_json::json;

const EVENTS: u64 = 4_000;
const BURSTS: u64 = 40;

fn tenant() -> TenantId {
    "default".parse().unwrap()
}

/// The remote record: its version at the source and what the target holds.
#[derive(Default)]
struct World {
    source: AtomicU64,
    target: AtomicU64,
    runs: AtomicU64,
}

/// Reads the record's version at the source after the claim, takes a while, writes it.
struct Sync(Arc<World>);

impl Handler for Sync {
    fn run<'a>(&'a self, _: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.0.runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            let read = self.0.source.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(15)).await;
            self.0.target.store(read, Ordering::SeqCst);
            let trace = RunRecord {
                record: job.record.clone().unwrap_or_default(),
                step: "write".into(),
                outcome: "ok".into(),
                message: format!("wrote version {read}"),
                at: jiff::Timestamp::now(),
            };
            Ok(Effects { trace: vec![trace], ..Effects::default() }.covering())
        })
    }
}

/// An order whose SKU the target does not know: every run reads it and gives up.
struct UnknownSku(Arc<World>);

impl Handler for UnknownSku {
    fn run<'a>(&'a self, _: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.0.runs.fetch_add(1, Ordering::SeqCst);
            let record = job.record.clone().unwrap_or_default();
            Err(JobError::failed("lookup product", Failure::permanent(format!("{record}: unknown SKU 'X-9'"))))
        })
    }

    fn failure_covers_earlier(&self, _: &Job) -> bool {
        true
    }
}

fn config() -> PoolConfig {
    PoolConfig {
        node_id: "coalesce".into(),
        workers: 2,
        concurrency: 16,
        poll_interval: Duration::from_millis(10),
        retry: RetryPolicy { max_attempts: 3, base: Duration::from_millis(10), cap: Duration::from_millis(40) },
        drain_timeout: Duration::from_millis(500),
        ..PoolConfig::default()
    }
}

fn ctx() -> JobContext {
    JobContext { resilience: Arc::new(Resilience::default()) }
}

fn settled(s: &QueueStats) -> bool {
    s.ready == 0 && s.scheduled == 0 && s.running == 0
}

async fn wait_for<S: Store>(store: &S, done: impl Fn(&QueueStats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = store.queue_stats().await.unwrap();
        if done(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "the pool did not settle: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn thousands_of_events_for_one_record<S: Store>(store: S) {
    let world = Arc::new(World::default());
    let mut registry = Registry::new();
    registry.register("orders", Sync(world.clone()));
    let pool = Pool::new(store.clone(), registry, ctx(), config());
    let stats = pool.stats();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async move {
        let _ = stopped.await;
    }));
    // The events arrive while the record is being synced: each one changes the source and
    // is then enqueued (as a notification would be), in bursts of 100.
    let mut ids = Vec::new();
    for burst in 0..BURSTS {
        let per = EVENTS / BURSTS;
        let jobs: Vec<NewJob> = (0..per)
            .map(|i| {
                let n = burst * per + i + 1;
                NewJob::new(tenant(), "orders", json!({ "event": n }))
                    .dedupe_key(format!("order-1:event:{n}"))
                    .record("amazon:order:1")
            })
            .collect();
        world.source.store((burst + 1) * per, Ordering::SeqCst);
        ids.extend(store.enqueue(&jobs).await.unwrap().into_iter().flatten());
        tokio::time::sleep(Duration::from_millis(7)).await;
    }
    wait_for(&store, |s| settled(s) && s.completed == EVENTS).await;
    let _ = stop.send(());
    running.await.unwrap();

    assert_eq!(world.target.load(Ordering::SeqCst), EVENTS, "the target holds the last event");
    let runs = world.runs.load(Ordering::SeqCst);
    // Each run covers every job enqueued before its claim, so each later run starts from a
    // burst enqueued after the previous claim: at most one run per burst.
    assert!((1..=BURSTS).contains(&runs), "{runs} handler runs for {EVENTS} events in {BURSTS} bursts");
    assert_eq!(stats.retried.load(Ordering::Relaxed) + stats.deferred.load(Ordering::Relaxed), 0, "no job spun");
    let mut trace_rows = 0;
    for id in &ids {
        trace_rows += store.runs_for_job(*id).await.unwrap().len() as u64;
    }
    assert!(trace_rows <= 2 * runs, "{trace_rows} trace rows for {runs} runs");
    let s = store.queue_stats().await.unwrap();
    assert_eq!((s.completed, s.dead, s.dead_letters_open), (EVENTS, 0, 0), "{s:?}");
    eprintln!("coalesce ({}): {EVENTS} events, {runs} runs, {trace_rows} trace rows", store.backend());
}

async fn unknown_sku_twins_are_one_dead_letter_each<S: Store>(store: S) {
    let world = Arc::new(World::default());
    let mut registry = Registry::new();
    registry.register("orders", UnknownSku(world.clone()));
    // Two orders, each arriving by notification and by poll, several times over.
    let jobs: Vec<NewJob> = ["A", "B"]
        .iter()
        .flat_map(|order| {
            (0..25).map(move |n| {
                NewJob::new(tenant(), "orders", json!({ "order": order, "n": n }))
                    .dedupe_key(format!("{order}:{n}"))
                    .record(format!("amazon:order:{order}"))
            })
        })
        .collect();
    store.enqueue(&jobs).await.unwrap();
    let pool = Pool::new(store.clone(), registry, ctx(), config());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async move {
        let _ = stopped.await;
    }));
    wait_for(&store, settled).await;
    // One more event for A after it was dead-lettered: it runs, and A still has one letter.
    store
        .enqueue(&[NewJob::new(tenant(), "orders", json!({ "order": "A", "n": 99 })).record("amazon:order:A")])
        .await
        .unwrap();
    wait_for(&store, |s| settled(s) && s.completed + s.dead == 51).await;
    let _ = stop.send(());
    running.await.unwrap();
    let letters = store.dead_letters(&tenant(), true, 100).await.unwrap();
    assert_eq!(letters.len(), 2, "one dead letter per order: {letters:?}");
    for order in ["A", "B"] {
        let letter = letters.iter().find(|d| d.error.contains(&format!("amazon:order:{order}"))).expect("letter");
        assert!(letter.error.contains("unknown SKU 'X-9'"), "{}", letter.error);
    }
    let a = letters.iter().find(|d| d.error.contains("amazon:order:A")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&a.payload).unwrap()["n"],
        99,
        "A's letter replays its newest event"
    );
    assert_eq!(world.runs.load(Ordering::SeqCst), 3, "one run per order, and one for A's later event");
}

async fn sqlite() -> (SqliteStore, ferry_store::testing::TempDir) {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = ferry_store::testing::TempDir::new(&format!("coalesce-{}", N.fetch_add(1, Ordering::Relaxed))).unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    store.ensure_tenant(&tenant(), "Default").await.unwrap();
    (store, dir)
}

async fn postgres() -> Option<PgStore> {
    let url = ferry_store::testing::fresh_pg_schema("coalesce").await.unwrap_or_else(|e| panic!("{e}"))?;
    let store = PgStore::open(&url, 8).await.unwrap();
    store.migrate().await.unwrap();
    store.ensure_tenant(&tenant(), "Default").await.unwrap();
    Some(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_events_for_one_record_on_sqlite() {
    let (store, _dir) = sqlite().await;
    thousands_of_events_for_one_record(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_events_for_one_record_on_postgres() {
    let Some(store) = postgres().await else { return };
    thousands_of_events_for_one_record(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sku_twins_are_one_dead_letter_each_on_sqlite() {
    let (store, _dir) = sqlite().await;
    unknown_sku_twins_are_one_dead_letter_each(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sku_twins_are_one_dead_letter_each_on_postgres() {
    let Some(store) = postgres().await else { return };
    unknown_sku_twins_are_one_dead_letter_each(store).await;
}
