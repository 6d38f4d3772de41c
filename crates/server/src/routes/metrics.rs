//! `GET /metrics`: in-process counters plus gauges read from the store at scrape time.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_store::Store;

use crate::metrics::{CONTENT_TYPE, Snapshot};
use crate::state::AppState;

/// Always 200: a store outage shows as `ferry_store_up 0` and missing queue gauges, because a
/// failed scrape would hide the in-process counters exactly when they matter.
pub(crate) async fn metrics<S: Store>(State(state): State<Arc<AppState<S>>>) -> Response {
    let (queue, breakers) = tokio::join!(state.store.queue_stats(), state.store.breakers());
    let queue = queue.inspect_err(|error| tracing::warn!(%error, "metrics: queue stats unavailable")).ok();
    let breakers = breakers.inspect_err(|error| tracing::warn!(%error, "metrics: breaker states unavailable"));
    let store_up = queue.is_some() && breakers.is_ok();
    let breakers = breakers.unwrap_or_default();
    let tenants = state.ingress.tenants();
    let snapshot = Snapshot {
        pool: state.pool_stats.as_deref(),
        queue: queue.as_ref(),
        breakers: &breakers,
        store_up,
        tenants: &tenants,
    };
    let body = state.metrics.render(&snapshot);
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}
