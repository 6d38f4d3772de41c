//! Liveness, readiness, routing and shutdown.

use ferry_store::Store as _;

use crate::Harness;

async fn json_body(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn healthz_answers_ok_while_the_process_runs_even_without_a_store() {
    let h = Harness::start().await;
    let response = h.get("/healthz").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.expect("body"), "ok");
    h.store.pool().close().await;
    assert_eq!(h.get("/healthz").await.status().as_u16(), 200, "liveness does not depend on the store");
}

#[tokio::test]
async fn readyz_is_200_while_the_store_answers_and_503_with_the_reason_once_it_is_gone() {
    let h = Harness::start().await;
    assert_eq!(h.get("/readyz").await.status().as_u16(), 200);

    h.store.pool().close().await;
    let response = h.get("/readyz").await;
    assert_eq!(response.status().as_u16(), 503);
    let body = json_body(response).await;
    assert_eq!(body["status"], "not ready", "{body}");
    assert!(body["reason"].as_str().is_some_and(|r| r.contains("sqlite")), "the reason names the store: {body}");
}

/// A store that answers reads but refuses writes (a full disk, a read-only database) is not
/// fit to acknowledge events: readiness says so, with the error and since when, and turns
/// green again at the next write that goes through, without a restart.
#[tokio::test]
async fn readyz_is_503_while_writes_fail_and_200_again_once_a_write_goes_through() {
    let h = Harness::start().await;
    let ready = h.get("/readyz").await;
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(json_body(ready).await["status"], "ready");

    // The store refuses new jobs on command, as a full disk would.
    sqlx::raw_sql(
        "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .execute(h.store.pool())
    .await
    .expect("create trigger");
    let job = ferry_store::NewJob::new(h.tenant.clone(), "test.flow", serde_json::json!({ "n": 1 }));
    let refused = h.store.enqueue(std::slice::from_ref(&job)).await;
    assert!(refused.is_err(), "the write fails: {refused:?}");

    let response = h.get("/readyz").await;
    assert_eq!(response.status().as_u16(), 503);
    let body = json_body(response).await;
    assert_eq!(body["status"], "not ready", "{body}");
    assert!(body["reason"].as_str().is_some_and(|r| r.contains("writes") && r.contains("sqlite")), "{body}");
    assert!(body["last_error"].as_str().is_some_and(|e| e.contains("disk is full")), "says which error: {body}");
    assert!(body["failing_since"].as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{body}");
    assert_eq!(body["failed_writes"], 1, "{body}");
    // Reads still work, and still say nothing about writes.
    assert!(h.store.queue_stats().await.is_ok());
    assert_eq!(h.get("/readyz").await.status().as_u16(), 503, "a read does not clear the failure");

    sqlx::raw_sql("DROP TRIGGER refuse_jobs").execute(h.store.pool()).await.expect("drop trigger");
    h.store.enqueue(std::slice::from_ref(&job)).await.expect("the store takes writes again");
    let response = h.get("/readyz").await;
    assert_eq!(response.status().as_u16(), 200, "ready again after a successful write");
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let h = Harness::start().await;
    assert_eq!(h.get("/nothing-here").await.status().as_u16(), 404);
    assert_eq!(h.get("/ingress/amazon/eventbridge").await.status().as_u16(), 405);
    let post = h.http.post(h.url("/metrics")).send().await.expect("request");
    assert_eq!(post.status().as_u16(), 405);
}

#[tokio::test]
async fn the_server_stops_when_asked_and_no_longer_accepts_connections() {
    let mut h = Harness::start().await;
    assert_eq!(h.get("/healthz").await.status().as_u16(), 200);
    h.stop().await.expect("a graceful stop is not an error");
    // A fresh client: the old one may hold a pooled keep-alive connection.
    let after =
        ferry_connectors::http::client(&Default::default()).expect("client").get(h.url("/healthz")).send().await;
    assert!(after.is_err(), "the port is closed after shutdown: {after:?}");
}
