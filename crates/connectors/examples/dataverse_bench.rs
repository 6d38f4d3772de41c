//! Benchmark (`cargo run --release -p ferry-connectors --example dataverse_bench`): Dataverse
//! writes per second and HTTP requests per written record, single requests versus `$batch`, against the
//! sandbox with limits off and with the default limits. Reports figures, asserts only that
//! every write landed.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferry_connectors::dataverse::batch::{Batch, Operation};
use ferry_connectors::dataverse::{DataverseClient, RecordKey};
use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig, ServiceLimits};
use serde_json::json;

use support::{client_for, drive, obj, sandbox};

#[path = "../tests/connectors/dataverse/support.rs"]
mod support;

fn key(i: usize) -> RecordKey {
    RecordKey::alternate("ordernumber", format!("B-{i:08}").as_str())
}

async fn single(sandbox: &DataverseSandbox, client: &DataverseClient, n: usize) -> (f64, f64) {
    let before = client.stats().requests.load(Ordering::Relaxed);
    let started = Instant::now();
    drive(client, n, 52, |client, i| async move {
        client
            .upsert("salesorders", &key(i), &obj(json!({"name": format!("O{i}"), "freightamount": 1.5})))
            .await
            .map(|_| ())
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(sandbox.row_count("salesorders"), n);
    let requests = client.stats().requests.load(Ordering::Relaxed) - before;
    (n as f64 / secs, requests as f64 / n as f64)
}

async fn batched(sandbox: &DataverseSandbox, client: &DataverseClient, n: usize, size: usize) -> (f64, f64) {
    let before = client.stats().requests.load(Ordering::Relaxed);
    let started = Instant::now();
    let batches = n / size;
    drive(client, batches, 4, move |client, b| async move {
        let mut batch = Batch::new();
        for i in b * size..(b + 1) * size {
            let op = Operation::upsert(
                "salesorders",
                &key(1_000_000 + i),
                obj(json!({"name": format!("O{i}"), "freightamount": 1.5})),
            );
            batch
                .push(op.map_err(|e| ferry_runtime::failure::Failure::permanent(e.to_string()))?)
                .map_err(|e| ferry_runtime::failure::Failure::permanent(e.to_string()))?;
        }
        let results = client.execute_batch(&batch, true).await?;
        assert!(results.iter().all(|r| r.outcome.is_success()));
        Ok(())
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    let requests = client.stats().requests.load(Ordering::Relaxed) - before;
    let _ = sandbox;
    (n as f64 / secs, requests as f64 / n as f64)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // The default limits (6000 requests / 300 s) do not bind a 5,000-write run; the third
    // row keeps their rate (20 requests/s) over a 5 s window to show the sustained figure.
    let runs = [
        ("limits off", ServiceLimits::off(), 5000),
        ("default limits", ServiceLimits::default(), 5000),
        ("default rate, 5 s window", ServiceLimits::scaled(1.0 / 60.0), 300),
    ];
    for (label, limits, singles) in runs {
        let sandbox = sandbox(DataverseSandboxConfig { limits, ..Default::default() }).await;
        let client = client_for(&sandbox);
        let (single_rate, single_rpr) = single(&sandbox, &client, singles).await;
        let (batch_rate, batch_rpr) = batched(&sandbox, &client, 20_000, 1000).await;
        let (batch100_rate, batch100_rpr) = batched(&sandbox, &client, 20_000, 100).await;
        let stats = sandbox.limit_stats();
        println!(
            "[{label}] single: {single_rate:.0} writes/s, {single_rpr:.3} req/record | $batch 1000: {batch_rate:.0} writes/s, {batch_rpr:.4} req/record | $batch 100: {batch100_rate:.0} writes/s, {batch100_rpr:.4} req/record | 429s: {}",
            stats.throttled_requests + stats.throttled_concurrency + stats.throttled_execution
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
