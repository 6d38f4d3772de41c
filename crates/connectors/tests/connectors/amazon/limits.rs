//! Limits: the published plans, a burst of getOrder calls paced by the runtime's bucket, and
//! rates learned from `x-amzn-RateLimit-Limit`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferry_connectors::amazon::{GetOrderRequest, OPERATION_LIMITS, operation_limit};
use ferry_runtime::Resilience;
use ferry_runtime::breaker::BreakerConfig;
use serde_json::Value;

use super::{sandbox_and_client, spapi_reference};

/// `| Rate (requests per second) | Burst |` rows of an operation's description.
fn documented_plan(description: &str) -> Option<(f64, u32)> {
    let after = description.split("| Rate (requests per second) | Burst |").nth(1)?;
    let row = after.lines().map(str::trim).find(|l| l.starts_with('|') && !l.contains("----"))?;
    let cells: Vec<&str> = row.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    Some((cells.first()?.parse().ok()?, cells.get(1)?.parse().ok()?))
}

#[test]
fn limit_tables_match_the_models_documented_defaults() {
    let models = spapi_reference().join("models");
    let mut checked = 0;
    for limit in OPERATION_LIMITS {
        let path = models.join(format!("{}.json", limit.api));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let model: Value = serde_json::from_str(&text).unwrap();
        let op = model["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .find(|op| op["operationId"] == limit.operation)
            .unwrap_or_else(|| panic!("{} has no operation {}", limit.api, limit.operation));
        let (rate, burst) = documented_plan(op["description"].as_str().unwrap_or_default())
            .unwrap_or_else(|| panic!("{} documents no plan", limit.key));
        assert_eq!((limit.rate, limit.burst), (rate, burst), "{}", limit.key);
        // The sandbox enforces the same plan.
        let sandbox = ferry_sandbox::amazon::operation_limit(limit.api, limit.operation)
            .unwrap_or_else(|| panic!("sandbox has no plan for {}", limit.key));
        assert_eq!((sandbox.rate, sandbox.burst), (rate, burst), "sandbox {}", limit.key);
        checked += 1;
    }
    assert!(checked >= 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_200_get_order_calls_draws_no_429_and_takes_the_time_the_bucket_allows() {
    // getOrder: 0.5 requests/s, burst 30. Sped up 80 times: 40/s, so 200 calls need at
    // least (200 - 30) / 40 = 4.25 s.
    const SPEEDUP: f64 = 80.0;
    const CALLS: usize = 200;
    let (sandbox, client) = sandbox_and_client(SPEEDUP).await;
    let ids = sandbox.seed_orders(20, 0.0);
    let limit = operation_limit("orders_2026-01-01", "getOrder").unwrap();
    let allowed = (CALLS as f64 - f64::from(limit.burst)) / (limit.rate * SPEEDUP);
    let client = Arc::new(client);
    let resilience = Arc::new(Resilience::new(BreakerConfig::default(), Duration::from_secs(60)));
    // Token first, so the measurement is of getOrder alone.
    client.auth().access_token(&ferry_connectors::amazon::Grant::RefreshToken).await.unwrap();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..CALLS {
        let (client, resilience) = (Arc::clone(&client), Arc::clone(&resilience));
        let request = GetOrderRequest { order_id: ids[n % ids.len()].clone(), included_data: vec![] };
        tasks.push(tokio::spawn(async move {
            let spec = client.call_spec("amazon", "orders_2026-01-01", "getOrder").unwrap();
            resilience.call("getOrder", &spec, client.get_order(&request)).await.map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every getOrder succeeds");
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(sandbox.stats().throttled.load(Ordering::Relaxed), 0, "no 429");
    assert_eq!(sandbox.stats().requests.load(Ordering::Relaxed), CALLS as u64);
    assert!(elapsed >= allowed * 0.95, "faster than the bucket allows: {elapsed:.3}s < {allowed:.3}s");
    assert!(elapsed <= allowed * 1.10, "took {elapsed:.3}s, allowed {allowed:.3}s (+10%)");
}

#[tokio::test]
async fn rates_announced_by_amazon_replace_the_defaults_in_the_runtime_bucket() {
    // The sandbox runs 80x faster and says so in x-amzn-RateLimit-Limit; the client starts
    // from the published default.
    let (sandbox, _) = sandbox_and_client(80.0).await;
    let client = super::client_for(&sandbox, 1.0);
    let resilience = Arc::new(Resilience::default());
    let client = client.with_runtime(Arc::clone(&resilience), "amazon");
    let ids = sandbox.seed_orders(1, 0.0);
    let spec = client.call_spec("amazon", "orders_2026-01-01", "getOrder").unwrap();
    assert_eq!(spec.rate_per_sec, 0.5);
    let request = GetOrderRequest { order_id: ids[0].clone(), included_data: vec![] };
    resilience.call("getOrder", &spec, client.get_order(&request)).await.unwrap();
    // The bucket is the seller's × application's (the scope), not the connection's.
    assert!(spec.scope.starts_with("spapi/"), "{}", spec.scope);
    assert!(!spec.scope.contains(sandbox.config().refresh_token.as_str()), "the token is hashed");
    let bucket = resilience.limiters.get(spec.scope, "orders_2026-01-01/getOrder").unwrap();
    assert_eq!(bucket.limits().0, 40.0);
    assert_eq!(client.call_spec("amazon", "orders_2026-01-01", "getOrder").unwrap().rate_per_sec, 40.0);
}

#[test]
fn marketplaces_map_to_their_regional_endpoints() {
    use ferry_connectors::amazon::Region;
    use ferry_model::AmazonMarketplaceId;
    let region = |id: &str| Region::of_marketplace(&AmazonMarketplaceId::new(id).unwrap());
    assert_eq!(region("ATVPDKIKX0DER").map(Region::endpoint), Some("https://sellingpartnerapi-na.amazon.com"));
    assert_eq!(region("A1PA6795UKMFR9").map(Region::endpoint), Some("https://sellingpartnerapi-eu.amazon.com"));
    assert_eq!(region("A1VC38T7YXB528").map(Region::endpoint), Some("https://sellingpartnerapi-fe.amazon.com"));
    assert_eq!(
        region("A1F83G8C2ARO7P").map(Region::sandbox_endpoint),
        Some("https://sandbox.sellingpartnerapi-eu.amazon.com")
    );
    assert_eq!(region("ZZZZZZZZZZ"), None);
}
