//! The runtime's view of its limits, as the console reads it: a tenant's buckets (tokens left,
//! burst, rate, a remote's pause), its recent 429s and its hosts' breakers; never another
//! tenant's connections, even when both share one vendor bucket.

use std::time::Duration;

use ferry_runtime::breaker::{BreakerConfig, BreakerState};
use ferry_runtime::failure::Failure;
use ferry_runtime::limits_view::THROTTLES_KEPT;
use ferry_runtime::{CallSpec, JobError, Resilience};

fn spec<'a>(connection: &'a str, operation: &'a str) -> CallSpec<'a> {
    CallSpec {
        connection,
        scope: "spapi/app1/SELLER",
        operation,
        host: "sellingpartnerapi-na.amazon.com",
        rate_per_sec: 0.5,
        burst: 10,
        max_concurrency: 4,
        caps: Vec::new(),
    }
}

async fn ok(node: &Resilience, spec: &CallSpec<'_>) {
    node.call("read", spec, async { Ok::<_, Failure>(()) }).await.unwrap();
}

async fn answered(node: &Resilience, spec: &CallSpec<'_>, failure: Failure) {
    let e = node.call("read", spec, async { Err::<(), _>(failure) }).await.unwrap_err();
    assert!(matches!(e, JobError::Failed { .. }), "{e:?}");
}

#[tokio::test]
async fn a_tenant_sees_its_buckets_throttles_and_breakers_and_no_other_tenants() {
    let node =
        Resilience::new(BreakerConfig { failure_threshold: 1, open_for: Duration::from_secs(60) }, Duration::ZERO);
    assert_eq!(node.limits_of("acme"), Default::default(), "nothing called yet");
    let orders = spec("acme/amazon", "getOrders");
    for _ in 0..4 {
        ok(&node, &orders).await;
    }
    let view = node.limits_of("acme");
    assert_eq!(view.buckets.len(), 1, "{view:?}");
    let b = &view.buckets[0];
    assert_eq!(
        (b.connection.as_str(), b.operation.as_str(), b.burst, b.rate_per_sec),
        ("amazon", "getOrders", 10, 0.5)
    );
    assert!((5.9..6.1).contains(&b.tokens), "4 of 10 taken: {}", b.tokens);
    assert_eq!(b.paused_until, None);
    assert!(view.throttles.is_empty());
    assert_eq!(view.breakers.len(), 1);
    assert_eq!(view.breakers[0].state, BreakerState::Closed);

    // A 429 with Retry-After 30 s: the bucket is empty and paused about 30 s, the throttle kept.
    let before = jiff::Timestamp::now();
    answered(&node, &orders, Failure::throttled(Some(Duration::from_secs(30)), "429 QuotaExceeded")).await;
    let view = node.limits_of("acme");
    let b = &view.buckets[0];
    assert_eq!(b.tokens, 0.0, "paused: nothing available");
    let until = b.paused_until.expect("paused by the remote");
    let ahead = until.duration_since(before).as_secs_f64();
    assert!((29.0..=31.0).contains(&ahead), "paused ~30 s: {ahead}");
    assert_eq!(view.throttles.len(), 1);
    let t = &view.throttles[0];
    assert_eq!((t.connection.as_str(), t.operation.as_str()), ("amazon", "getOrders"));
    assert_eq!(t.retry_after, Some(Duration::from_secs(30)));
    assert!(t.at >= before);

    // Tenant globex calls the same seller account (one vendor bucket) through its own connection.
    let theirs = spec("globex/amazon-eu", "getOrders");
    let _ = node.call("read", &theirs, async { Ok::<_, Failure>(()) }).await;
    let other = spec("globex/crm", "webapi");
    let crm = CallSpec { host: "globex.crm.dynamics.com", scope: "dataverse/globex", ..other };
    answered(&node, &crm, Failure::transient("503 Service Unavailable")).await;
    let acme = node.limits_of("acme");
    assert!(acme.buckets.iter().all(|b| b.connection == "amazon"), "{acme:?}");
    assert!(acme.throttles.iter().all(|t| t.connection == "amazon"));
    assert_eq!(acme.breakers.iter().map(|b| b.host.as_str()).collect::<Vec<_>>(), ["sellingpartnerapi-na.amazon.com"]);
    let globex = node.limits_of("globex");
    let names: Vec<&str> = globex.buckets.iter().map(|b| b.connection.as_str()).collect();
    assert_eq!(names, ["amazon-eu", "crm"], "{globex:?}");
    assert!(globex.throttles.is_empty(), "acme's 429 is not globex's");
    let crm_breaker = globex.breakers.iter().find(|b| b.host == "globex.crm.dynamics.com").unwrap();
    assert_eq!(crm_breaker.state, BreakerState::Open, "one failure opens it here");
    assert!(crm_breaker.since >= before);
    // A tenant whose name is a prefix of another's sees nothing of it.
    assert_eq!(node.limits_of("glob"), Default::default());
}

#[tokio::test]
async fn recent_throttles_are_bounded_per_connection_newest_first() {
    let node = Resilience::new(BreakerConfig::default(), Duration::from_secs(1));
    let a = CallSpec { rate_per_sec: 1_000.0, ..spec("acme/amazon", "getOrders") };
    for i in 0..(THROTTLES_KEPT as u64 + 5) {
        answered(&node, &a, Failure::throttled(Some(Duration::from_millis(i)), "429")).await;
    }
    let view = node.limits_of("acme");
    assert_eq!(view.throttles.len(), THROTTLES_KEPT);
    assert_eq!(view.throttles[0].retry_after, Some(Duration::from_millis(THROTTLES_KEPT as u64 + 4)), "newest first");
}
