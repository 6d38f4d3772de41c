//! Rate buckets shared by every node on one store: however many nodes take from one bucket
//! at once, together they get no more than its rate and burst; a pause (a 429's Retry-After)
//! holds for every node.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_store::{PgStore, Store};

use super::common::sqlite;

const INTERVAL: Duration = Duration::from_millis(20); // 50 requests/s
const BURST: u32 = 5;

/// Four "nodes" take from one bucket for `run`; returns when each request was admitted.
async fn hammer<S: Store>(nodes: Vec<S>, key: &'static str, run: Duration) -> Vec<Instant> {
    let admitted = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for node in nodes {
        let admitted = Arc::clone(&admitted);
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < run {
                match node.take_rate_token(key, INTERVAL, BURST).await.expect("take token") {
                    None => admitted.lock().unwrap().push(Instant::now()),
                    Some(wait) => tokio::time::sleep(wait.min(Duration::from_millis(5))).await,
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut times = admitted.lock().unwrap().clone();
    times.sort();
    times
}

async fn shared_bucket_holds_across_nodes<S: Store>(nodes: Vec<S>) {
    let started = Instant::now();
    let times = hammer(nodes, "amazon:A1SELLER:app1:getOrders", Duration::from_millis(1500)).await;
    // Measured on the database's clock, which runs between these two readings of ours.
    let elapsed = started.elapsed();
    assert!(times.len() > BURST as usize, "the bucket admits at its rate ({} admitted)", times.len());
    let most = (elapsed.as_micros() / INTERVAL.as_micros()) as usize + BURST as usize + 1;
    assert!(times.len() <= most, "{} admitted in {elapsed:?} by four nodes; the limit allows {most}", times.len());
}

async fn a_pause_holds_for_every_node<S: Store>(a: S, b: S) {
    let key = "dataverse:appuser:prod";
    assert_eq!(a.take_rate_token(key, INTERVAL, BURST).await.unwrap(), None);
    a.pause_rate_bucket(key, Duration::from_secs(30)).await.unwrap();
    let wait = b.take_rate_token(key, INTERVAL, BURST).await.unwrap().expect("paused for the other node too");
    assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
    // A shorter pause after it does not shorten it; another bucket is untouched.
    a.pause_rate_bucket(key, Duration::from_secs(1)).await.unwrap();
    assert!(b.take_rate_token(key, INTERVAL, BURST).await.unwrap().unwrap() > Duration::from_secs(25));
    assert_eq!(b.take_rate_token("dataverse:appuser:test", INTERVAL, BURST).await.unwrap(), None);
}

async fn pg_nodes(n: usize) -> Option<Vec<PgStore>> {
    let url = ferry_store::testing::fresh_pg_schema("rates").await.unwrap_or_else(|e| panic!("{e}"))?;
    let mut nodes = Vec::new();
    for _ in 0..n {
        let node = PgStore::open(&url, 2).await.unwrap();
        node.migrate().await.unwrap();
        nodes.push(node);
    }
    Some(nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_bucket_holds_its_rate_across_nodes_postgres() {
    let Some(nodes) = pg_nodes(4).await else { return };
    shared_bucket_holds_across_nodes(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_bucket_holds_its_rate_across_handles_sqlite() {
    let (store, _dir) = sqlite().await;
    shared_bucket_holds_across_nodes(vec![store.clone(), store.clone(), store.clone(), store]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_holds_for_every_node_postgres() {
    let Some(mut nodes) = pg_nodes(2).await else { return };
    let b = nodes.pop().unwrap();
    a_pause_holds_for_every_node(nodes.pop().unwrap(), b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_holds_for_every_handle_sqlite() {
    let (store, _dir) = sqlite().await;
    a_pause_holds_for_every_node(store.clone(), store).await;
}
