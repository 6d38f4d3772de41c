//! A store that fails and comes back: a failed COMMIT discards its connection instead of
//! wedging the pool, the failure is reported by `write_status`, and writes go through again
//! once the store does, without reopening it. SQLite fails on a real full filesystem (a small
//! tmpfs, filled); PostgreSQL on a deferred trigger that refuses at COMMIT on command.
//! And on PostgreSQL, heartbeats never deadlock with batched completions.

use std::collections::HashSet;
use std::time::Duration;

use ferry_store::testing::{SmallDisk, install_pg_fault, set_pg_fault, truncate_wal};
use ferry_store::{
    Completion, JobId, NewJob, Outcome, PgStore, RunRecord, SqliteStore, Store, StoreError, Xref, XrefKey,
};
use serde_json::json;

use super::common::tenant;

/// A job with a payload big enough that its transaction reaches the disk only at COMMIT.
fn big_job(n: u32) -> NewJob {
    NewJob::new(tenant(), "test.flow", json!({ "n": n, "filler": "x".repeat(100_000) }))
}

/// Every attempt fails for the store's reason (not a wedged connection), `write_status`
/// reports it; once the store is back, writes go through on every pooled connection and
/// nothing acknowledged is lost or doubled.
async fn fails_then_recovers<S: Store>(
    store: &S,
    expect: &str,
    fault_on: impl AsyncFnOnce(),
    fault_off: impl AsyncFnOnce(),
) {
    store.enqueue(&[big_job(0)]).await.expect("a write before the fault");
    assert!(store.write_status().is_ok());
    fault_on().await;
    // More attempts than the pool has connections: each one fails for the store's reason.
    for n in 1..=10 {
        let err = store.enqueue(&[big_job(n)]).await.expect_err("the store refuses the write");
        let text = err.to_string();
        assert!(matches!(err, StoreError::Database { .. }), "{text}");
        assert!(text.contains(expect), "attempt {n} fails because of the store, not a wedged connection: {text}");
        assert!(!text.contains("transaction depth"), "attempt {n}: {text}");
    }
    let status = store.write_status();
    let failing = status.failing.as_ref().expect("write_status reports the failure");
    assert_eq!(failing.failures, 10, "{status:?}");
    assert!(failing.error.contains(expect), "{status:?}");
    assert!(failing.since <= failing.last_at, "{status:?}");
    // Reads still answer: only writes say whether the store takes writes.
    assert_eq!(store.queue_stats().await.expect("read during the fault").ready, 1);
    assert!(!store.write_status().is_ok());

    fault_off().await;
    for n in 11..=20 {
        store.enqueue(&[big_job(n)]).await.unwrap_or_else(|e| panic!("write {n} after recovery: {e}"));
    }
    let status = store.write_status();
    assert!(status.is_ok() && status.last_ok.is_some(), "{status:?}");
    // Exactly the acknowledged jobs are queued, each once.
    let claimed = store.claim("w", 100, Duration::from_secs(30)).await.expect("claim");
    let mut seen: Vec<u64> = claimed
        .iter()
        .map(|j| j.payload_as::<serde_json::Value>().expect("payload")["n"].as_u64().expect("n"))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, [0].into_iter().chain(11..=20).collect::<Vec<u64>>());
    let applied = store
        .complete(
            "w",
            &claimed
                .iter()
                .map(|j| Completion { job: j.id, outcome: Outcome::done(), trace: Vec::new() })
                .collect::<Vec<_>>(),
        )
        .await
        .expect("complete");
    assert!(applied.iter().all(|a| *a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_on_a_full_disk_does_not_wedge_sqlite_and_writes_resume_when_space_returns() {
    let disk = SmallDisk::mount("8m");
    let store = SqliteStore::open(&format!("sqlite://{}", disk.path().join("ferry.db").display())).await.expect("open");
    store.migrate().await.expect("migrate");
    store.ensure_tenant(&tenant(), "Default").await.expect("tenant");
    fails_then_recovers(
        &store,
        "full",
        async || {
            truncate_wal(store.pool()).await;
            disk.fill();
        },
        async || disk.free(),
    )
    .await;
    store.pool().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_does_not_wedge_postgres_and_writes_resume_when_the_database_does() {
    let Some(store) = super::common::postgres().await else { return };
    install_pg_fault(store.pool()).await;
    fails_then_recovers(
        &store,
        "No space left on device",
        async || set_pg_fault(store.pool(), true).await,
        async || set_pg_fault(store.pool(), false).await,
    )
    .await;
}

/// Under load a worker's heartbeat (one statement over all its running jobs) runs beside its
/// batched completions (one transaction per batch, outcomes with effects applied one by one).
/// Both lock the same job rows; taken in different orders they deadlocked on PostgreSQL and
/// the heartbeat failed. Here they race for many rounds: no error on either side, and every
/// outcome applies (no lease was lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_never_deadlock_with_batched_completions_on_postgres() {
    let Some(store) = super::common::postgres().await else { return };
    one_owner_races_heartbeats_and_completions(store).await;
}

async fn one_owner_races_heartbeats_and_completions(store: PgStore) {
    const JOBS: u32 = 600;
    const BATCH: usize = 60;
    let jobs: Vec<NewJob> = (0..JOBS).map(|n| NewJob::new(tenant(), "test.flow", json!({ "n": n }))).collect();
    store.enqueue(&jobs).await.expect("enqueue");
    let claimed = store.claim("node/w0", JOBS, Duration::from_secs(60)).await.expect("claim");
    assert_eq!(claimed.len(), JOBS as usize);
    let ids: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
    let remaining = std::sync::Arc::new(std::sync::Mutex::new(ids.iter().copied().collect::<HashSet<_>>()));

    let beats = {
        let (store, remaining) = (store.clone(), remaining.clone());
        tokio::spawn(async move {
            let mut rounds = 0u32;
            loop {
                let mut live: Vec<JobId> = remaining.lock().expect("lock").iter().copied().collect();
                if live.is_empty() {
                    return rounds;
                }
                // Any order: the store must not depend on the caller sorting.
                live.reverse();
                store
                    .heartbeat("node/w0", &live, Duration::from_secs(60))
                    .await
                    .unwrap_or_else(|e| panic!("heartbeat failed after {rounds} rounds: {e}"));
                rounds += 1;
            }
        })
    };

    // Completions in descending id order, most with effects (applied one by one), some plain.
    let mut order = ids.clone();
    order.reverse();
    for (b, chunk) in order.chunks(BATCH).enumerate() {
        let outcomes: Vec<Completion> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                if i % 3 == 0 {
                    Completion { job: *id, outcome: Outcome::done(), trace: Vec::new() }
                } else {
                    let key = XrefKey {
                        tenant: tenant(),
                        source_system: "amazon".into(),
                        source_entity: "order".into(),
                        source_id: format!("order-{id}"),
                        target_system: "dataverse".into(),
                        target_entity: "salesorder".into(),
                    };
                    Completion {
                        job: *id,
                        outcome: Outcome::Completed {
                            xrefs: vec![Xref { key, target_id: format!("target-{id}") }],
                            cursor: None,
                            echoes: Vec::new(),
                            covers_earlier: false,
                        },
                        trace: vec![RunRecord {
                            record: format!("amazon:order:{id}"),
                            step: "write".into(),
                            outcome: "ok".into(),
                            message: String::new(),
                            at: jiff::Timestamp::now(),
                        }],
                    }
                }
            })
            .collect();
        let applied =
            store.complete("node/w0", &outcomes).await.unwrap_or_else(|e| panic!("completing batch {b} failed: {e}"));
        assert!(applied.iter().all(|a| *a), "batch {b}: a lease was lost: {applied:?}");
        let mut live = remaining.lock().expect("lock");
        for id in chunk {
            live.remove(id);
        }
    }
    let rounds = beats.await.expect("heartbeat task");
    assert!(rounds > 0, "the heartbeat ran beside the completions");
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!((stats.completed, stats.running), (u64::from(JOBS), 0), "{stats:?}");
    assert!(store.write_status().is_ok());
}
