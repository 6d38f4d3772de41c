//! LWA, limits, faults and order state, as a client sees them on the wire.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferry_sandbox::faults::FaultConfig;

use super::{call, post_form, start, token, urlenc};

#[tokio::test]
async fn lwa_issues_tokens_for_both_grants_and_refuses_bad_credentials() {
    let sandbox = start(1.0).await;
    let c = sandbox.config().clone();
    let good = format!("client_id={}&client_secret={}", urlenc(&c.client_id), urlenc(&c.client_secret));
    let reply = post_form(
        &sandbox.token_url(),
        format!("grant_type=refresh_token&refresh_token={}&{good}", urlenc(&c.refresh_token)),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["token_type"], "bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    assert!(reply.body["access_token"].as_str().unwrap().starts_with("Atza|"));

    let grantless = post_form(
        &sandbox.token_url(),
        format!("grant_type=client_credentials&scope=sellingpartnerapi%3A%3Anotifications&{good}"),
    )
    .await;
    assert_eq!(grantless.status, 200);
    assert_eq!(grantless.body["scope"], "sellingpartnerapi::notifications");
    // A grantless token does not open the seller's orders.
    let orders = call(
        &sandbox,
        grantless.body["access_token"].as_str(),
        "GET",
        "/orders/2026-01-01/orders/111-1111111-1111111",
        None,
    )
    .await;
    assert_eq!(orders.status, 403);

    let wrong_grant =
        post_form(&sandbox.token_url(), format!("grant_type=refresh_token&refresh_token=nope&{good}")).await;
    assert_eq!((wrong_grant.status, wrong_grant.body["error"].as_str()), (400, Some("invalid_grant")));
    let wrong_client =
        post_form(&sandbox.token_url(), "grant_type=refresh_token&refresh_token=x&client_id=a&client_secret=b".into())
            .await;
    assert_eq!((wrong_client.status, wrong_client.body["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(sandbox.stats().lwa_requests.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn buckets_enforce_the_published_burst_with_amazons_429() {
    // getOrder 2026-01-01: burst 30 at 0.5/s; at Amazon's pace the 31st call in a row is throttled.
    let sandbox = start(1.0).await;
    let ids = sandbox.seed_orders(1, 0.0);
    let token = token(&sandbox).await;
    let path = format!("/orders/2026-01-01/orders/{}", ids[0]);
    for n in 0..30 {
        let reply = call(&sandbox, Some(&token), "GET", &path, None).await;
        assert_eq!(reply.status, 200, "call {n}");
        assert_eq!(reply.header("x-amzn-RateLimit-Limit"), Some("0.5"));
        assert!(reply.header("x-amzn-RequestId").is_some());
    }
    let throttled = call(&sandbox, Some(&token), "GET", &path, None).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(
        throttled.body,
        serde_json::json!({"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]})
    );
    assert!(throttled.header("x-amzn-RequestId").is_some());
    assert_eq!(throttled.header("x-amzn-RateLimit-Limit"), None, "Amazon sends no rate on a 429");
    // Another operation has its own bucket.
    let items = call(&sandbox, Some(&token), "GET", &format!("/orders/v0/orders/{}/orderItems", ids[0]), None).await;
    assert_eq!(items.status, 200);
    // The speed-up knob refills faster: at 0.5/s × 100 a token comes back within 20 ms.
    sandbox.set_speedup(100.0);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let again = call(&sandbox, Some(&token), "GET", &path, None).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-amzn-RateLimit-Limit"), Some("50.0"));
    assert_eq!(sandbox.stats().throttled.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn fault_knobs_inject_latency_errors_outages_and_throttle_storms() {
    let sandbox = start(1000.0).await;
    let ids = sandbox.seed_orders(1, 0.0);
    let token = token(&sandbox).await;
    let path = format!("/orders/2026-01-01/orders/{}", ids[0]);

    sandbox.faults().set(FaultConfig { latency: Duration::from_millis(150), ..Default::default() });
    let started = Instant::now();
    assert_eq!(call(&sandbox, Some(&token), "GET", &path, None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    sandbox.faults().set(FaultConfig { error_rate: 1.0, ..Default::default() });
    let reply = call(&sandbox, Some(&token), "GET", &path, None).await;
    assert_eq!((reply.status, reply.body["errors"][0]["code"].as_str()), (500, Some("InternalFailure")));

    sandbox.faults().set(FaultConfig { throttle_rate: 1.0, ..Default::default() });
    let reply = call(&sandbox, Some(&token), "GET", &path, None).await;
    assert_eq!((reply.status, reply.body["errors"][0]["code"].as_str()), (429, Some("QuotaExceeded")));

    sandbox.faults().set(FaultConfig::default());
    sandbox.faults().start_outage(Duration::from_millis(800));
    assert_eq!(call(&sandbox, Some(&token), "GET", &path, None).await.status, 503);
    tokio::time::sleep(Duration::from_millis(850)).await;
    assert_eq!(call(&sandbox, Some(&token), "GET", &path, None).await.status, 200, "the outage ends by itself");
}

#[tokio::test]
async fn seeding_respects_the_invalid_sku_share_and_searches_filter() {
    let sandbox = start(1000.0).await;
    sandbox.seed_orders(400, 0.25);
    let invalid = sandbox.with_orders(|o| {
        o.by_id
            .values()
            .filter(|o| o.items.iter().any(|i| i.sku.starts_with(ferry_sandbox::amazon::seed::INVALID_SKU_PREFIX)))
            .count()
    });
    assert!((60..=140).contains(&invalid), "about a quarter invalid, got {invalid}");
    let token = token(&sandbox).await;
    let mut seen = 0;
    let mut next: Option<String> = None;
    loop {
        let mut path = "/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&marketplaceIds=ATVPDKIKX0DER&fulfillmentStatuses=UNSHIPPED&fulfilledBy=MERCHANT&includedData=FULFILLMENT".to_owned();
        if let Some(token) = &next {
            path.push_str(&format!("&paginationToken={token}"));
        }
        let page = call(&sandbox, Some(&token), "GET", &path, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for order in page.body["orders"].as_array().unwrap() {
            assert_eq!(order["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
            assert_eq!(order["fulfillment"]["fulfilledBy"], "MERCHANT");
            seen += 1;
        }
        match page.body["pagination"]["nextToken"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    let expected = sandbox.with_orders(|o| {
        o.by_id
            .values()
            .filter(|o| o.status == ferry_sandbox::amazon::state::Status::Unshipped && !o.fulfilled_by_amazon)
            .count()
    });
    assert_eq!(seen, expected);
    let bad_token = call(&sandbox, Some(&token), "GET", "/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&marketplaceIds=ATVPDKIKX0DER&paginationToken=garbage", None).await;
    assert_eq!(bad_token.status, 400);
}

#[tokio::test]
async fn seeded_orders_live_on_and_announce_each_change() {
    use ferry_sandbox::amazon::state::Status;
    // 36000x: payment authorization (30 min) takes 50 ms, Amazon's FBA shipping (4 h) 400 ms.
    let config = ferry_sandbox::amazon::AmazonSandboxConfig { speedup: 36_000.0, ..Default::default() };
    let sandbox = ferry_sandbox::amazon::AmazonSandbox::start(config).await.unwrap();
    sandbox.seed_orders(60, 0.0);
    let pending = sandbox.with_orders(|o| o.by_id.values().filter(|o| o.status == Status::Pending).count());
    let afn_unshipped = sandbox.with_orders(|o| {
        o.by_id
            .values()
            .filter(|o| o.fulfilled_by_amazon && matches!(o.status, Status::Pending | Status::Unshipped))
            .count()
    });
    tokio::time::sleep(Duration::from_millis(900)).await;
    sandbox.with_orders(|o| {
        assert!(o.by_id.values().all(|o| o.status != Status::Pending), "authorized");
        for order in o.by_id.values().filter(|o| o.fulfilled_by_amazon && o.status != Status::Canceled) {
            assert_eq!(order.status, Status::Shipped, "Amazon shipped its own orders");
            assert!(order.items.iter().all(|i| i.quantity_shipped == i.quantity));
            assert!(order.packages.iter().all(|p| p.tracking_number.starts_with("TBA")));
        }
    });
    let changes = sandbox
        .queued_notifications()
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap())
        .filter(|n| {
            n["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["ChangeReason"] == "OrderStatusChange"
        })
        .count();
    assert_eq!(changes, pending + afn_unshipped, "one ORDER_CHANGE per status change");
}

#[tokio::test]
async fn without_rate_limits_nothing_is_throttled_or_announced_and_requests_are_counted_per_operation() {
    let sandbox = ferry_sandbox::amazon::AmazonSandbox::start(ferry_sandbox::amazon::AmazonSandboxConfig {
        order_lifecycle: false,
        rate_limits: false,
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let ids = sandbox.seed_orders(1, 0.0);
    let token = token(&sandbox).await;
    let path = format!("/orders/2026-01-01/orders/{}", ids[0]);
    // Twice getOrder's burst of 30, at Amazon's pace: all answered.
    for n in 0..60 {
        let reply = call(&sandbox, Some(&token), "GET", &path, None).await;
        assert_eq!(reply.status, 200, "call {n}");
        // A limit nobody enforces is not announced (clients would slow down to it).
        assert_eq!(reply.header("x-amzn-RateLimit-Limit"), None, "call {n}");
    }
    let items = call(&sandbox, Some(&token), "GET", &format!("/orders/v0/orders/{}/orderItems", ids[0]), None).await;
    assert_eq!(items.status, 200);
    assert_eq!(sandbox.stats().throttled.load(Ordering::Relaxed), 0);
    assert_eq!(
        sandbox.stats().by_operation(),
        vec![("getOrder".to_owned(), 60), ("getOrderItems".to_owned(), 1)],
        "LWA calls are not SP-API requests"
    );
    assert_eq!(sandbox.stats().requests.load(Ordering::Relaxed), 61);
}
