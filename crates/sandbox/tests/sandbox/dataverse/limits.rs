//! Service protection limits and fault knobs.

use std::time::Duration;

use ferry_sandbox::dataverse::ServiceLimits;
use ferry_sandbox::faults::FaultConfig;

use super::support::Api;

#[tokio::test]
async fn request_count_limit_answers_429_with_retry_after_and_the_documented_error() {
    let api = Api::start().await;
    api.sandbox.set_limits(ServiceLimits::default().with_requests(5, Duration::from_secs(3)));
    for _ in 0..5 {
        assert_eq!(api.get("accounts?$select=name").await.status, 200);
    }
    let r = api.get("accounts?$select=name").await;
    assert_eq!(r.status, 429);
    let retry: u64 = r.header("Retry-After").and_then(|v| v.parse().ok()).expect("Retry-After in seconds");
    assert!((1..=3).contains(&retry), "{retry}");
    assert_eq!(
        r.error(),
        (
            "0x80072322".to_owned(),
            "Number of requests exceeded the limit of 5 over time window of 3 seconds.".to_owned()
        )
    );
    let stats = api.sandbox.limit_stats();
    assert_eq!((stats.admitted, stats.throttled_requests), (5, 1));
    // After the window the identity may send again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(api.get("accounts").await.status, 200);
    // The scale knob keeps the published proportions.
    let scaled = ServiceLimits::scaled(1.0 / 150.0);
    assert_eq!((scaled.requests, scaled.window, scaled.concurrent), (40, Duration::from_secs(2), 52));
}

#[tokio::test]
async fn concurrency_limit_refuses_requests_beyond_the_cap_immediately() {
    let api = Api::start().await;
    api.sandbox.set_limits(ServiceLimits::default().with_concurrency(2));
    api.sandbox.faults().set(FaultConfig { latency: Duration::from_millis(300), ..FaultConfig::default() });
    let calls = (0..6).map(|_| api.get("accounts"));
    let results = futures_join(calls).await;
    let refused: Vec<_> = results.iter().filter(|r| r.status == 429).collect();
    assert!(!refused.is_empty(), "some of 6 concurrent requests exceed a cap of 2");
    assert_eq!(results.iter().filter(|r| r.status == 200).count() + refused.len(), 6);
    assert_eq!(
        refused[0].error(),
        ("0x80072326".to_owned(), "Number of concurrent requests exceeded the limit of 2.".to_owned())
    );
    assert!(refused[0].header("Retry-After").is_some());
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let handles: Vec<_> = futures.collect();
    // Poll them together on this task.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.extend(done.into_iter().flatten());
    out
}

#[tokio::test]
async fn fault_knobs_inject_outages_errors_and_throttling_at_run_time() {
    let api = Api::start().await;
    api.sandbox.faults().start_outage(Duration::from_secs(30));
    let r = api.get("accounts").await;
    assert_eq!(r.status, 503);
    assert!(r.header("Retry-After").is_some());
    assert!(r.error().1.contains("temporarily unavailable"));
    api.sandbox.faults().end_outage();
    assert_eq!(api.get("accounts").await.status, 200);
    api.sandbox.faults().set(FaultConfig { error_rate: 1.0, ..FaultConfig::default() });
    assert_eq!(api.get("accounts").await.status, 500);
    api.sandbox.faults().set(FaultConfig { throttle_rate: 1.0, ..FaultConfig::default() });
    let r = api.get("accounts").await;
    assert_eq!((r.status, r.error().0.as_str()), (429, "0x80072322"));
    api.sandbox.faults().set(FaultConfig::default());
    assert_eq!(api.get("accounts").await.status, 200);
}

#[tokio::test]
async fn combined_execution_time_limit_answers_429_with_its_own_code() {
    let api = Api::start().await;
    api.sandbox.set_limits(ServiceLimits { execution_time: Duration::from_millis(200), ..ServiceLimits::default() });
    api.sandbox.faults().set(FaultConfig { latency: Duration::from_millis(120), ..FaultConfig::default() });
    assert_eq!(api.get("accounts").await.status, 200);
    assert_eq!(api.get("accounts").await.status, 200);
    let r = api.get("accounts").await;
    assert_eq!(r.status, 429);
    let (code, message) = r.error();
    assert_eq!(code, "0x80072321");
    assert!(
        message.starts_with("Combined execution time of incoming requests exceeded limit of 200 milliseconds"),
        "{message}"
    );
    assert_eq!(api.sandbox.limit_stats().throttled_execution, 1);
}

#[tokio::test]
async fn sending_while_told_to_wait_lengthens_the_wait_and_is_counted() {
    let api = Api::start().await;
    api.sandbox.set_limits(ServiceLimits::default().with_requests(1, Duration::from_secs(3)));
    assert_eq!(api.get("accounts").await.status, 200);
    let first = api.get("accounts").await;
    let first_wait: u64 = first.header("Retry-After").and_then(|v| v.parse().ok()).expect("Retry-After");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = api.get("accounts").await;
    assert_eq!(again.status, 429);
    let longer: u64 = again.header("Retry-After").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!(longer > first_wait, "{longer} > {first_wait}");
    assert_eq!(api.sandbox.limit_stats().early_requests, 1);
}

#[tokio::test]
async fn requests_are_counted_per_method_and_resource() {
    let api = Api::start().await;
    assert_eq!(api.get("accounts?$select=name").await.status, 200);
    assert_eq!(api.get("accounts?$top=1").await.status, 200);
    let created = api.send("POST", "accounts", &[("Content-Type", "application/json")], Some(r#"{"name":"A"}"#)).await;
    assert_eq!(created.status, 204);
    let id = created.header("OData-EntityId").expect("entity id");
    let id = id.rsplit_once('(').map(|(_, rest)| rest.trim_end_matches(')')).expect("id in the entity id");
    assert_eq!(api.get(&format!("accounts({id})")).await.status, 200);
    assert_eq!(
        api.sandbox.requests_by_kind(),
        vec![("GET accounts".to_owned(), 3), ("POST accounts".to_owned(), 1)],
        "keys, queries and paths count under their entity set"
    );
    assert_eq!(api.sandbox.request_count(), 4);
}

async fn post_knobs(api: &Api, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = api
        .http
        .post(api.sandbox.faults_url())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST /_sandbox/faults");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

#[tokio::test]
async fn the_admin_endpoint_forces_the_next_answers_to_the_platforms_429_then_serves_again() {
    let api = Api::start().await;
    let (status, state) =
        post_knobs(&api, serde_json::json!({ "force_status": 429, "force_count": 2, "retry_after_seconds": 7 })).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!((state["force_status"].as_u64(), state["force_remaining"].as_u64()), (Some(429), Some(2)));
    for _ in 0..2 {
        let r = api.get("accounts?$select=name").await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("Retry-After").as_deref(), Some("7"));
        assert_eq!(
            r.error(),
            (
                "0x80072322".to_owned(),
                "Number of requests exceeded the limit of 6000 over time window of 300 seconds.".to_owned()
            )
        );
    }
    assert_eq!(api.get("accounts?$select=name").await.status, 200, "only two answers were forced");
    assert_eq!(api.sandbox.fault_state().force_remaining, 0);
}

#[tokio::test]
async fn the_admin_endpoint_scales_the_window_forces_5xx_adds_outages_and_refuses_bad_knobs_by_name() {
    let api = Api::start().await;
    // limit_scale 0.001: 6 requests in a 0.3 s window; the seventh is refused.
    let (status, state) = post_knobs(&api, serde_json::json!({ "limit_scale": 0.001 })).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["limit_requests"].as_u64(), Some(6));
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(api.get("accounts").await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429]);
    assert_eq!(post_knobs(&api, serde_json::json!({ "limits": false })).await.0, 200);

    assert_eq!(post_knobs(&api, serde_json::json!({ "force_status": 503, "force_count": 1 })).await.0, 200);
    let r = api.get("accounts").await;
    assert_eq!((r.status, r.header("Retry-After").as_deref()), (503, Some("1")));
    assert_eq!(api.get("accounts").await.status, 200);

    assert_eq!(post_knobs(&api, serde_json::json!({ "outage_seconds": 30 })).await.0, 200);
    assert_eq!(api.get("accounts").await.status, 503);
    assert!(api.sandbox.fault_state().outage_remaining_seconds > 20.0);
    assert_eq!(post_knobs(&api, serde_json::json!({ "outage_seconds": 0 })).await.0, 200);
    assert_eq!(api.get("accounts").await.status, 200);

    for (body, field) in [
        (serde_json::json!({ "force_status": 418, "force_count": 1 }), "force_status"),
        (serde_json::json!({ "force_count": 3 }), "force_count"),
        (serde_json::json!({ "error_rate": 1.5 }), "error_rate"),
        (serde_json::json!({ "limit_scale": -1 }), "limit_scale"),
    ] {
        let (status, answer) = post_knobs(&api, body.clone()).await;
        assert_eq!((status, answer["field"].as_str()), (400, Some(field)), "{body} → {answer}");
    }
    let (status, answer) = post_knobs(&api, serde_json::json!({ "latncy_ms": 5 })).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("latncy_ms")), "{answer}");
    // A refused request changed nothing.
    assert_eq!(api.sandbox.fault_state().force_remaining, 0);
    assert_eq!(api.sandbox.fault_state().error_rate, 0.0);
}
