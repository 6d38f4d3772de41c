//! The router: one file per concern.

mod health;
mod ingress;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferry_connectors::amazon::webhooks::MAX_BODY;
use ferry_store::Store;

use crate::state::AppState;

/// Largest Dataverse webhook body accepted: Dataverse truncates larger execution contexts,
/// so anything beyond this is not a real call.
const DATAVERSE_MAX_BODY: usize = 1024 * 1024;

pub(crate) fn router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/ingress/amazon/eventbridge", post(ingress::amazon::<S>).layer(DefaultBodyLimit::max(MAX_BODY)))
        .route(
            "/ingress/dataverse/{connection}",
            post(ingress::dataverse::<S>).layer(DefaultBodyLimit::max(DATAVERSE_MAX_BODY)),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz::<S>))
        .route("/metrics", get(metrics::metrics::<S>))
        .with_state(state)
}

/// A JSON body `{"error": message}` with `status`.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "error": message }))
}

pub(crate) fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
