//! Rate limits shared by the nodes of one PostgreSQL: two nodes calling the same operation as
//! fast as they are let through send, together, no more than one rate and burst; a 429 one
//! node receives pauses the other too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ferry_runtime::failure::Failure;
use ferry_runtime::shared_buckets::StoreBuckets;
use ferry_runtime::{CallSpec, JobError, Resilience};
use ferry_store::{PgStore, Store};

const RATE: f64 = 20.0;
const BURST: u32 = 2;

fn spec() -> CallSpec<'static> {
    CallSpec {
        connection: "amazon",
        scope: "amazon",
        operation: "getOrder",
        host: "sellingpartnerapi-na.amazon.com",
        rate_per_sec: RATE,
        burst: BURST,
        max_concurrency: 8,
        caps: Vec::new(),
    }
}

/// Two "nodes": each its own store handle, its own in-memory buckets, one shared bucket row.
async fn two_nodes() -> Option<Vec<Arc<Resilience>>> {
    let url = ferry_store::testing::fresh_pg_schema("shared_limits").await.unwrap_or_else(|e| panic!("{e}"))?;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store = PgStore::open(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let shared = Arc::new(StoreBuckets::new(store, "default"));
        nodes.push(Arc::new(Resilience::new(Default::default(), Duration::from_secs(2)).with_shared_buckets(shared)));
    }
    Some(nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_together_stay_within_one_rate() {
    let Some(nodes) = two_nodes().await else { return };
    let sent = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let run = Duration::from_millis(1500);
    let mut tasks = Vec::new();
    for node in nodes {
        for _ in 0..3 {
            let (node, sent) = (Arc::clone(&node), Arc::clone(&sent));
            tasks.push(tokio::spawn(async move {
                while started.elapsed() < run {
                    let call = async {
                        sent.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, Failure>(())
                    };
                    match node.call("read order", &spec(), call).await {
                        Ok(()) | Err(JobError::Deferred { .. }) => {}
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let sent = sent.load(Ordering::SeqCst);
    // One node alone would be let through this much; two without a shared bucket, twice it.
    let most = (RATE * elapsed.as_secs_f64()) as u32 + BURST + 1;
    assert!(sent > BURST, "calls go through at the rate ({sent} sent)");
    assert!(sent <= most, "{sent} calls in {elapsed:?} from two nodes; one rate and burst allow {most}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_one_node_pauses_the_other() {
    let Some(nodes) = two_nodes().await else { return };
    let throttled = async { Err::<(), _>(Failure::throttled(Some(Duration::from_secs(30)), "429 from Amazon")) };
    let _ = nodes[0].call("read order", &spec(), throttled).await;
    let other = nodes[1].call("read order", &spec(), async { Ok::<_, Failure>(()) }).await;
    match other {
        Err(JobError::Deferred { wait, reason, .. }) => {
            assert!(wait > Duration::from_secs(25), "paused for the Retry-After: {wait:?}");
            assert!(reason.contains("shared"), "{reason}");
        }
        other => panic!("the other node must wait out the 429 too, got {other:?}"),
    }
}

/// A call of `scope` (one seller × application) under a cap counted over the seller.
fn capped(scope: &'static str, seller: &str) -> CallSpec<'static> {
    CallSpec {
        scope,
        operation: "createReport",
        rate_per_sec: 100.0,
        burst: 100,
        caps: vec![ferry_runtime::Cap {
            scope: format!("spapi-seller/{seller}"),
            key: "createReport/GET_SALES_AND_TRAFFIC_REPORT".into(),
            rate_per_sec: 1.0 / 900.0,
            burst: 2,
        }],
        ..spec()
    }
}

async fn sent(node: &Resilience, spec: &CallSpec<'_>) -> Result<(), String> {
    match node.call("request report", spec, async { Ok::<_, Failure>(()) }).await {
        Ok(()) => Ok(()),
        Err(JobError::Deferred { wait, reason, .. }) => Err(format!("{reason} ({} s)", wait.as_secs())),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_over_the_seller_holds_across_applications_tenants_and_nodes() {
    let Some(nodes) = two_nodes().await else { return };
    // Two applications (or tenants) on seller A, each on its own node: their own buckets are
    // apart, the seller's cap is one.
    let app1 = capped("spapi/app1/A", "A");
    let app2 = capped("spapi/app2/A", "A");
    assert_eq!(sent(&nodes[0], &app1).await, Ok(()));
    assert_eq!(sent(&nodes[1], &app2).await, Ok(()));
    let refused = sent(&nodes[0], &app1).await.expect_err("the seller's cap of 2 is used up");
    assert!(
        refused.contains("a cap on createReport/GET_SALES_AND_TRAFFIC_REPORT over spapi-seller/A"),
        "the deferral names the cap: {refused}"
    );
    assert!(sent(&nodes[1], &app2).await.is_err(), "the other node and application too");
    // Seller B's cap is its own.
    assert_eq!(sent(&nodes[1], &capped("spapi/app1/B", "B")).await, Ok(()));
    // A call without the cap (another report type) is not held by it.
    assert_eq!(sent(&nodes[0], &CallSpec { caps: Vec::new(), ..capped("spapi/app1/A", "A") }).await, Ok(()));
}

#[tokio::test]
async fn a_cap_holds_on_one_node_without_a_shared_store() {
    let node = Resilience::default();
    let a1 = capped("spapi/app1/A", "A");
    let a2 = capped("spapi/app2/A", "A");
    assert_eq!(sent(&node, &a1).await, Ok(()));
    assert_eq!(sent(&node, &a2).await, Ok(()));
    let refused = sent(&node, &a2).await.expect_err("the cap is used up");
    assert!(
        refused.contains("spapi-seller/A") && (refused.ends_with("(900 s)") || refused.ends_with("(899 s)")),
        "the wait is the cap's refill: {refused}"
    );
}
