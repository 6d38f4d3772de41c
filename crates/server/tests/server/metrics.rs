//! `/metrics`: valid Prometheus text whose values follow what happened.

use std::sync::atomic::Ordering;
use std::time::Duration;

use ferry_store::{Completion, Store};

use crate::{API_KEY, DATAVERSE_CODE, Harness, dataverse_sample, fresh_order_change, order_change_event, scrape};

const FAMILIES: &[(&str, &str)] = &[
    ("ferry_events_received_total", "counter"),
    ("ferry_jobs_total", "counter"),
    ("ferry_queue_jobs", "gauge"),
    ("ferry_dead_letters_open", "gauge"),
    ("ferry_api_requests_total", "counter"),
    ("ferry_throttle_waits_total", "counter"),
    ("ferry_breaker_state", "gauge"),
    ("ferry_event_to_target_seconds", "histogram"),
    ("ferry_store_up", "gauge"),
];

#[tokio::test]
async fn a_fresh_server_exports_every_family_with_its_type_and_zero_counts() {
    let h = Harness::start().await;
    let scrape = scrape(&h).await;
    for (name, kind) in FAMILIES {
        assert_eq!(scrape.types.get(*name).map(String::as_str), Some(*kind), "TYPE of {name}");
    }
    for source in ["amazon", "dataverse"] {
        for outcome in ["stored", "duplicate", "rejected"] {
            let labels = [("tenant", "acme"), ("source", source), ("outcome", outcome)];
            assert_eq!(scrape.value("ferry_events_received_total", &labels), Some(0.0), "{labels:?}");
        }
    }
    assert_eq!(scrape.value("ferry_store_up", &[]), Some(1.0));
    assert_eq!(scrape.value("ferry_event_to_target_seconds_count", &[("tenant", "acme")]), Some(0.0));
}

#[tokio::test]
async fn event_counters_follow_stored_duplicate_and_rejected_deliveries() {
    let h = Harness::start().await;
    let event = order_change_event().to_string();
    assert_eq!(h.post_amazon(Some(API_KEY), event.clone()).await.0, 200);
    assert_eq!(h.post_amazon(Some(API_KEY), event.clone()).await.0, 200);
    assert_eq!(h.post_amazon(Some(API_KEY), event.clone()).await.0, 200);
    assert_eq!(h.post_amazon(Some("wrong"), event).await.0, 401);
    assert_eq!(h.post_amazon(Some(API_KEY), "{}").await.0, 400);
    assert_eq!(h.post_dataverse(&format!("crm?code={DATAVERSE_CODE}"), dataverse_sample()).await.0, 200);

    let scrape = scrape(&h).await;
    let count = |source, outcome| {
        let labels = [("tenant", "acme"), ("source", source), ("outcome", outcome)];
        scrape.value("ferry_events_received_total", &labels).unwrap_or(-1.0)
    };
    assert_eq!(count("amazon", "stored"), 1.0);
    assert_eq!(count("amazon", "duplicate"), 2.0);
    assert_eq!(count("amazon", "rejected"), 2.0);
    assert_eq!(count("dataverse", "stored"), 1.0);
    assert_eq!(count("dataverse", "rejected"), 0.0);
}

#[tokio::test]
async fn queue_gauges_equal_the_stores_queue_stats() {
    let h = Harness::start().await;
    for _ in 0..3 {
        assert_eq!(h.post_amazon(Some(API_KEY), fresh_order_change().to_string()).await.0, 200);
    }
    // One job dead-lettered, one left running: every state has something to show.
    let claimed = h.store.claim("test-node/w0", 2, Duration::from_secs(60)).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    let dead = Completion::dead(claimed[0].id, "getOrder", "permanent", "order not found");
    assert_eq!(h.store.complete("test-node/w0", &[dead]).await.expect("complete"), vec![true]);

    let stats = h.store.queue_stats().await.expect("queue stats");
    let scrape = scrape(&h).await;
    for (state, expected) in [
        ("ready", stats.ready),
        ("scheduled", stats.scheduled),
        ("running", stats.running),
        ("completed", stats.completed),
        ("dead", stats.dead),
    ] {
        assert_eq!(scrape.value("ferry_queue_jobs", &[("state", state)]), Some(expected as f64), "state {state}");
    }
    assert_eq!(scrape.value("ferry_dead_letters_open", &[]), Some(stats.dead_letters_open as f64));
    assert_eq!((stats.ready, stats.running, stats.dead, stats.dead_letters_open), (1, 1, 1, 1));
}

#[tokio::test]
async fn breaker_rows_in_the_store_appear_as_breaker_state() {
    let h = Harness::start().await;
    let states = [
        ("sellingpartnerapi-na.amazon.com".to_owned(), "open".to_owned()),
        ("acme.crm.dynamics.com".to_owned(), "half-open".to_owned()),
        ("login.microsoftonline.com".to_owned(), "closed".to_owned()),
    ];
    h.store.record_breakers("node-a", &states).await.expect("record breakers");
    let scrape = scrape(&h).await;
    let state = |host| scrape.value("ferry_breaker_state", &[("node", "node-a"), ("host", host)]);
    assert_eq!(state("sellingpartnerapi-na.amazon.com"), Some(2.0));
    assert_eq!(state("acme.crm.dynamics.com"), Some(1.0));
    assert_eq!(state("login.microsoftonline.com"), Some(0.0));
    assert_eq!(scrape.named("ferry_breaker_state").len(), 3);
}

#[tokio::test]
async fn pool_outcomes_api_calls_throttles_and_latencies_are_exported_with_escaped_labels() {
    let h = Harness::start().await;
    h.pool_stats.completed.fetch_add(7, Ordering::Relaxed);
    h.pool_stats.dead.fetch_add(2, Ordering::Relaxed);
    h.pool_stats.deferred.fetch_add(1, Ordering::Relaxed);
    let odd = "crm \"eu\"\\west\nline";
    h.metrics.record_api_call("amazon", "getOrder", "200");
    h.metrics.record_api_call("amazon", "getOrder", "200");
    h.metrics.record_api_call(odd, "upsert", "429");
    h.metrics.record_throttle("amazon", "getOrder");
    h.metrics.observe_end_to_end(0.3);
    h.metrics.observe_end_to_end(7.0);

    let scrape = scrape(&h).await;
    let jobs = |outcome| scrape.value("ferry_jobs_total", &[("outcome", outcome)]);
    assert_eq!((jobs("completed"), jobs("dead"), jobs("deferred")), (Some(7.0), Some(2.0), Some(1.0)));
    assert_eq!((jobs("retried"), jobs("released")), (Some(0.0), Some(0.0)));
    let calls = |connection, operation, status| {
        scrape.value(
            "ferry_api_requests_total",
            &[("tenant", "acme"), ("connection", connection), ("operation", operation), ("status", status)],
        )
    };
    assert_eq!(calls("amazon", "getOrder", "200"), Some(2.0));
    assert_eq!(calls(odd, "upsert", "429"), Some(1.0), "the label value survives escaping");
    let labels = [("tenant", "acme"), ("connection", "amazon"), ("operation", "getOrder")];
    let throttles = scrape.value("ferry_throttle_waits_total", &labels);
    assert_eq!(throttles, Some(1.0));
    let bucket = |le| scrape.value("ferry_event_to_target_seconds_bucket", &[("tenant", "acme"), ("le", le)]);
    assert_eq!(
        (bucket("0.25"), bucket("0.5"), bucket("5"), bucket("10"), bucket("+Inf")),
        (Some(0.0), Some(1.0), Some(1.0), Some(2.0), Some(2.0))
    );
    assert_eq!(scrape.value("ferry_event_to_target_seconds_count", &[("tenant", "acme")]), Some(2.0));
    assert_eq!(scrape.value("ferry_event_to_target_seconds_sum", &[("tenant", "acme")]), Some(7.3));
    // The median is in the 0.5 s bucket, the slowest in the 10 s one.
    assert_eq!(h.metrics.end_to_end_quantile(0.5), Some(0.5));
    assert_eq!(h.metrics.end_to_end_quantile(1.0), Some(10.0));
}

#[test]
fn latency_quantiles_are_none_before_the_first_delivery_and_infinite_past_the_last_bound() {
    let metrics = ferry_server::metrics::Metrics::new();
    assert_eq!(metrics.end_to_end_quantile(0.5), None);
    metrics.observe_end_to_end(10_000.0);
    assert_eq!(metrics.end_to_end_quantile(0.5), Some(f64::INFINITY));
}

#[tokio::test]
async fn metrics_still_answer_when_the_store_is_gone_and_say_so() {
    let h = Harness::start().await;
    assert_eq!(h.post_amazon(Some(API_KEY), order_change_event().to_string()).await.0, 200);
    h.store.pool().close().await;
    let scrape = scrape(&h).await;
    assert_eq!(scrape.value("ferry_store_up", &[]), Some(0.0));
    assert!(scrape.named("ferry_queue_jobs").is_empty(), "no stale queue numbers are made up");
    let labels = [("tenant", "acme"), ("source", "amazon"), ("outcome", "stored")];
    let stored = scrape.value("ferry_events_received_total", &labels);
    assert_eq!(stored, Some(1.0), "in-process counters survive a store outage");
}
