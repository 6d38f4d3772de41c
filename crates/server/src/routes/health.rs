//! Liveness and readiness.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use ferry_store::Store;

use crate::state::AppState;

/// A store slower than this to answer a point read is not fit to take events.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The cursor read as a probe: a primary-key lookup that touches no queue row.
const PROBE_CURSOR: &str = "ferry.readyz";

/// 200 while the process can answer at all.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the store answers a cheap query; 503 with the reason otherwise, so a load
/// balancer stops sending webhooks this node could not acknowledge.
pub(crate) async fn readyz<S: Store>(State(state): State<Arc<AppState<S>>>) -> (StatusCode, String) {
    let backend = state.store.backend();
    match tokio::time::timeout(READY_TIMEOUT, state.store.cursor(&state.tenant, PROBE_CURSOR)).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready".into()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness probe: store failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: the {backend} store failed: {error}"))
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: the {backend} store did not answer within {}s", READY_TIMEOUT.as_secs()),
        ),
    }
}
