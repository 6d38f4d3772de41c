//! Volume: idempotent upserts, paging across 12,000 rows, and 5,000 writes under scaled
//! service protection limits.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_connectors::dataverse::batch::{Batch, Operation};
use ferry_connectors::dataverse::{Query, RecordKey};
use ferry_runtime::failure::Failure;
use ferry_sandbox::dataverse::{DataverseSandboxConfig, ServiceLimits};
use serde_json::json;

use super::support::{client_for, drive, obj, sandbox, start};

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
    let limits = ServiceLimits::default().with_requests(800, Duration::from_secs(2));
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
        "5,000 writes under 800 requests per 2 s: {:.1} s, {} 429s from the sandbox, {} calls held back locally, {} HTTP requests",
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
        limits: ServiceLimits::default().with_requests(300, Duration::from_secs(2)),
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
            let spec = limits::call_spec("crm", "crm", "upsert salesorder", &host);
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
