//! Volume: idempotent upserts, paging across 12,000 rows, and 5,000 writes under scaled
//! service protection limits.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_connectors::dataverse::batch::{Batch, Operation};
use ferry_connectors::dataverse::{DataverseClient, Query, RecordKey};
use ferry_runtime::failure::Failure;
use ferry_sandbox::dataverse::{DataverseSandboxConfig, ServiceLimits};
use serde_json::json;

use super::support::{client_for, obj, sandbox, start};

/// Runs `count` writes on `workers` tasks. A throttled write waits what the connector was
/// told (as the runtime does) and is sent again; any other failure fails the test.
pub async fn drive<F, Fut>(client: &DataverseClient, count: usize, workers: usize, write: F) -> u64
where
    F: Fn(DataverseClient, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), Failure>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let throttled = Arc::new(AtomicUsize::new(0));
    let write = Arc::new(write);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (next, throttled, write, client) = (next.clone(), throttled.clone(), write.clone(), client.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                loop {
                    match write(client.clone(), i).await {
                        Ok(()) => break,
                        Err(Failure::Throttled { retry_after, .. }) => {
                            throttled.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(1))).await;
                        }
                        Err(other) => panic!("write {i} failed: {other}"),
                    }
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    throttled.load(Ordering::Relaxed) as u64
}

fn order_key(i: usize) -> RecordKey {
    RecordKey::alternate("ordernumber", format!("114-{i:07}-0000000").as_str())
}

fn order_body(i: usize, pass: &str) -> serde_json::Map<String, serde_json::Value> {
    obj(json!({"name": format!("Amazon order {i}"), "description": pass, "freightamount": 4.99}))
}

#[tokio::test]
async fn the_same_1000_orders_written_twice_the_second_time_in_batch_leave_1000_rows() {
    let (sandbox, client) = start().await;
    drive(&client, 1000, 16, |client, i| async move {
        client.upsert("salesorders", &order_key(i), &order_body(i, "single")).await.map(|_| ())
    })
    .await;
    assert_eq!(sandbox.row_count("salesorders"), 1000);
    let mut batch = Batch::new();
    for i in 0..1000 {
        batch
            .push(Operation::upsert("salesorders", &order_key(i), order_body(i, "batch")).expect("key"))
            .expect("room");
    }
    let results = client.execute_batch(&batch, true).await.expect("batch");
    assert_eq!(results.len(), 1000);
    assert!(results.iter().all(|r| r.outcome.is_success()), "{:?}", results.iter().find(|r| !r.outcome.is_success()));
    assert_eq!(sandbox.row_count("salesorders"), 1000);
    let rows = client
        .query_all("salesorders", &Query::new().select(&["ordernumber", "description"]), None)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r.str("description") == Some("batch")));
    let numbers: HashSet<&str> = rows.iter().filter_map(|r| r.str("ordernumber")).collect();
    assert_eq!(numbers.len(), 1000);
}

#[tokio::test]
async fn paging_across_12000_rows_returns_every_row_once() {
    let (sandbox, client) = start().await;
    for chunk in 0..12 {
        let mut batch = Batch::new();
        for i in 0..1000 {
            let n = chunk * 1000 + i;
            batch
                .push(Operation::create("contacts", obj(json!({"firstname": "P", "lastname": format!("L{n:05}")}))))
                .expect("room");
        }
        let results = client.execute_batch(&batch, false).await.expect("batch");
        assert!(results.iter().all(|r| r.outcome.is_success()));
    }
    assert_eq!(sandbox.row_count("contacts"), 12_000);
    for page_size in [None, Some(1000)] {
        let before = sandbox.request_count();
        let rows =
            client.query_all("contacts", &Query::new().select(&["lastname"]), page_size).await.expect("all pages");
        let ids: HashSet<String> = rows.iter().filter_map(|r| r.str("contactid").map(str::to_owned)).collect();
        assert_eq!((rows.len(), ids.len()), (12_000, 12_000), "page size {page_size:?}");
        let pages = sandbox.request_count() - before;
        assert_eq!(pages, if page_size.is_none() { 3 } else { 12 }, "5,000 rows per page by default");
    }
}

#[tokio::test]
async fn five_thousand_writes_under_scaled_limits_all_apply_and_honour_retry_after() {
    let limits = ServiceLimits::default().with_requests(400, Duration::from_secs(1));
    let sandbox = sandbox(DataverseSandboxConfig { limits, ..Default::default() }).await;
    let client = client_for(&sandbox);
    let started = Instant::now();
    let throttled = drive(&client, 5000, 64, |client, i| async move {
        client.upsert("salesorders", &order_key(i), &order_body(i, "limited")).await.map(|_| ())
    })
    .await;
    let elapsed = started.elapsed();
    assert_eq!(sandbox.row_count("salesorders"), 5000, "every write applied");
    let stats = sandbox.limit_stats();
    assert!(stats.throttled_requests > 0, "the scaled limit was reached: {stats:?}");
    assert!(throttled > 0);
    assert_eq!(stats.early_requests, 0, "no request arrived while the connector was told to wait: {stats:?}");
    assert_eq!(stats.throttled_concurrency, 0, "the client stays within 52 concurrent requests");
    eprintln!(
        "5,000 writes under 400 req/s: {:.1} s, {} 429s from the sandbox, {} calls held back locally, {} HTTP requests",
        elapsed.as_secs_f64(),
        stats.throttled_requests,
        client.stats().held_back.load(Ordering::Relaxed),
        client.stats().requests.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn writes_through_the_runtime_resilience_layer_pause_on_retry_after_and_all_land() {
    use ferry_connectors::dataverse::{entities, limits};
    use ferry_runtime::{JobError, Resilience};
    let sandbox = sandbox(DataverseSandboxConfig {
        limits: ServiceLimits::default().with_requests(150, Duration::from_secs(1)),
        ..Default::default()
    })
    .await;
    let client = client_for(&sandbox);
    let resilience = Arc::new(Resilience::default());
    let host = sandbox.base_url();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, resilience, host, next) = (client.clone(), resilience.clone(), host.clone(), next.clone());
        tasks.spawn(async move {
            let spec = limits::call_spec("crm", "upsert salesorder", &host);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= 450 {
                    return;
                }
                loop {
                    let (key, body) = (order_key(i), order_body(i, "runtime"));
                    let call = client.upsert(entities::SALES_ORDER.set, &key, &body);
                    match resilience.call("write", &spec, call).await {
                        Ok(_) => break,
                        // The bucket was paused by Retry-After: the next call waits inline.
                        Err(JobError::Failed { failure: Failure::Throttled { .. }, .. }) => {}
                        Err(JobError::Deferred { wait, .. }) => tokio::time::sleep(wait).await,
                        Err(other) => panic!("write {i}: {other}"),
                    }
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    assert_eq!(sandbox.row_count("salesorders"), 450);
    let stats = sandbox.limit_stats();
    assert!(stats.throttled_requests > 0, "{stats:?}");
    assert_eq!(stats.early_requests, 0, "{stats:?}");
}
