//! Liveness and readiness.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ferry_store::Store;
use serde_json::json;

use super::json;
use crate::state::AppState;

/// A store slower than this to answer a point read is not fit to take events.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The cursor read as a probe: a primary-key lookup that touches no queue row.
const PROBE_CURSOR: &str = "ferry.readyz";

/// 200 while the process can answer at all.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// 200 `{"status":"ready"}` when the store takes writes and answers a cheap query; 503 with a
/// JSON body saying why otherwise, so a load balancer stops sending webhooks this node could
/// not acknowledge. Writes failing (a full disk, a read-only or refusing database) make the
/// node not ready even though reads still work; the next write that goes through makes it
/// ready again.
pub(crate) async fn readyz<S: Store>(State(state): State<Arc<AppState<S>>>) -> Response {
    let backend = state.store.backend();
    let writes = state.store.write_status();
    if let Some(failing) = &writes.failing {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({
                "status": "not ready",
                "reason": format!("writes to the {backend} store are failing"),
                "store": backend,
                "failing_since": failing.since.to_string(),
                "last_failure_at": failing.last_at.to_string(),
                "failed_writes": failing.failures,
                "last_error": failing.error,
                "last_successful_write": writes.last_ok.map(|t| t.to_string()),
            }),
        );
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store.cursor(&state.tenant, PROBE_CURSOR)).await {
        Ok(Ok(_)) => json(StatusCode::OK, json!({ "status": "ready", "store": backend })),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness probe: store failed");
            not_ready(backend, format!("the {backend} store failed: {error}"))
        }
        Err(_) => not_ready(backend, format!("the {backend} store did not answer within {}s", READY_TIMEOUT.as_secs())),
    }
}

fn not_ready(backend: &str, reason: String) -> Response {
    json(StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "not ready", "reason": reason, "store": backend }))
}
