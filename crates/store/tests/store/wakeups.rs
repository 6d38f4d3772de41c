//! Idle workers wake when jobs are added: within a process on both backends, and across
//! nodes on PostgreSQL (LISTEN/NOTIFY), instead of at their next poll.

use std::time::{Duration, Instant};

use ferry_store::{NewJob, PgStore, Store};
use serde_json::json;

use super::common::{sqlite, tenant};

/// Adds a job through `writer` every 100 ms until `waiter.jobs_added()` resolves; fails after
/// 20 s (a wake-up that never comes). The repetition covers the moment the waiter takes to
/// start waiting; the jobs themselves are not what is tested.
async fn wakes<W: Store, R: Store>(writer: W, waiter: R) {
    let waiting = tokio::spawn(async move { waiter.jobs_added().await });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    while !waiting.is_finished() {
        assert!(Instant::now() < deadline, "no wake-up within 20 s of {n} jobs added");
        n += 1;
        writer.enqueue(&[NewJob::new(tenant(), "wake", json!({ "n": n }))]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_added_in_the_process_wakes_its_idle_workers_sqlite() {
    let (store, _dir) = sqlite().await;
    wakes(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_added_on_one_node_wakes_the_idle_workers_of_another_postgres() {
    let Some(url) = ferry_store::testing::fresh_pg_schema("wake").await.unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let node_a = PgStore::open(&url, 2).await.unwrap();
    node_a.migrate().await.unwrap();
    node_a.ensure_tenant(&tenant(), "Default").await.unwrap();
    // A second store on the same database shares nothing in memory with the first: only
    // PostgreSQL's NOTIFY can wake it.
    let node_b = PgStore::open(&url, 2).await.unwrap();
    wakes(node_a, node_b).await;
}
