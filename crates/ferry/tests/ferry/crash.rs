//! The crash test: a `ferry run` child works through 2,000 jobs whose effect is an
//! idempotent HTTP POST; it is killed with SIGKILL at random moments and restarted. At the
//! end the receiver holds exactly 2,000 distinct effects, none applied twice, no job lost,
//! nothing left leased, on each backend.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ferry_store::{AnyStore, NewJob, Store, TenantId};
use serde_json::json;

use super::support::{Receiver, TempDir, node, pg_url, write_config};

const JOBS: u32 = 2_000;
const KILLS: u32 = 6;
const WORKERS: u64 = 2;
const CONCURRENCY: u64 = 4;

async fn crash_and_restart(store_url: String, dir: TempDir) {
    let receiver = Receiver::start(Duration::from_millis(25)).await;
    let tenant: TenantId = "default".parse().unwrap();
    let store = AnyStore::open(&store_url).await.unwrap();
    store.migrate().await.unwrap();
    store.ensure_tenant(&tenant, "default").await.unwrap();
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|i| {
            let payload =
                json!({ "url": receiver.url(), "body": { "n": i }, "idempotency_key": format!("effect-{i}") });
            NewJob::new(tenant.clone(), "builtin.http_call", payload).dedupe_key(format!("effect-{i}")).max_attempts(50)
        })
        .collect();
    for chunk in jobs.chunks(500) {
        store.enqueue(chunk).await.unwrap();
    }
    let workers = format!("[workers]\ncount = {WORKERS}\nconcurrency = {CONCURRENCY}\nlease_seconds = 1\n");
    let config = write_config(dir.path(), &store_url, &workers);
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let spawn = |n: u32| {
        let log = std::fs::File::create(dir.path().join(format!("node-{n}.log"))).unwrap();
        node(dir.path(), &config).stderr(Stdio::from(log)).spawn().expect("spawn ferry run")
    };
    for n in 0..KILLS {
        let mut child = spawn(n);
        tokio::time::sleep(Duration::from_millis(rng.u64(250..800))).await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let done = store.queue_stats().await.unwrap().completed;
        assert!(done < u64::from(JOBS), "work finished before kill {n}: the test would prove nothing (seed {seed})");
    }
    let mut last = spawn(KILLS);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let s = store.queue_stats().await.unwrap();
        if s.completed + s.dead >= u64::from(JOBS) {
            break;
        }
        assert!(Instant::now() < deadline, "not finished after restarts: {s:?} (seed {seed})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::process::Command::new("kill").arg("-TERM").arg(last.id().to_string()).status().unwrap();
    assert!(last.wait().unwrap().success(), "the node drains and exits cleanly on SIGTERM");

    let s = store.queue_stats().await.unwrap();
    assert_eq!(s.completed, u64::from(JOBS), "every job completed (seed {seed}): {s:?}");
    assert_eq!((s.dead, s.ready, s.scheduled, s.running), (0, 0, 0, 0), "none lost, dead or left leased: {s:?}");
    let ledger = receiver.ledger.lock().unwrap();
    assert_eq!(ledger.applied.len(), JOBS as usize, "exactly {JOBS} distinct effects");
    for i in 0..JOBS {
        let (body, times) = ledger.applied.get(&format!("effect-{i}")).unwrap_or_else(|| panic!("effect-{i} missing"));
        assert_eq!(*times, 1);
        assert_eq!(body, &json!({ "n": i }).to_string());
    }
    assert_eq!(ledger.conflicting, 0, "a repeated key always carried the same effect");
    let repeats = ledger.deliveries - u64::from(JOBS);
    let bound = u64::from(KILLS) * WORKERS * CONCURRENCY * 3;
    assert!(
        repeats <= bound,
        "{repeats} repeated deliveries for {KILLS} kills: more than a crash can explain ({bound})"
    );
    eprintln!("crash test ({}): {KILLS} kills, {repeats} idempotent repeats, seed {seed}", store.backend());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_and_duplicates_nothing_on_sqlite() {
    let dir = TempDir::new("crash-sqlite");
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    crash_and_restart(url, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_and_duplicates_nothing_on_postgres() {
    let Some(url) = pg_url("crash").await else { return };
    crash_and_restart(url, TempDir::new("crash-pg")).await;
}
