//! Liveness, readiness, routing and shutdown.

use crate::Harness;

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
    let reason = response.text().await.expect("body");
    assert!(reason.contains("not ready") && reason.contains("sqlite"), "the reason names the store: {reason}");
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
    let after = reqwest::Client::new().get(h.url("/healthz")).send().await;
    assert!(after.is_err(), "the port is closed after shutdown: {after:?}");
}
