//! The router: one file per concern.

mod health;
mod ingress;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferry_store::Store;

use crate::state::AppState;

/// Largest Dataverse webhook body accepted: Dataverse truncates larger execution contexts,
/// so anything beyond this is not a real call.
const DATAVERSE_MAX_BODY: usize = 1024 * 1024;

/// Largest error text carried over from a response some layer made (axum's rejections).
const MAX_ERROR_TEXT: usize = 4 * 1024;

pub(crate) fn router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/ingress/amazon/eventbridge", post(ingress::amazon::<S>))
        .route("/ingress/dataverse/{connection}", post(ingress::dataverse::<S>))
        .route("/t/{tenant}/ingress/amazon/eventbridge", post(ingress::tenant_amazon::<S>))
        .route("/t/{tenant}/ingress/dataverse/{connection}", post(ingress::tenant_dataverse::<S>))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz::<S>))
        .route("/metrics", get(metrics::metrics::<S>))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(refusals_as_json))
}

/// What a connection past the listener's cap gets: `/healthz` as usual (the process is alive),
/// anything else a 503 to retry shortly. Its body is never read.
pub(crate) fn overflow_router(max_connections: usize) -> Router {
    Router::new().route("/healthz", get(health::healthz)).fallback(move || async move {
        let message = format!("this node is serving its limit of {max_connections} connections; retry shortly");
        let mut response = json_error(StatusCode::SERVICE_UNAVAILABLE, &message);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        close(response)
    })
}

async fn not_found(method: Method, uri: Uri) -> Response {
    close(json_error(StatusCode::NOT_FOUND, &format!("no route for {method} {}", uri.path())))
}

/// Every refusal is JSON: a 4xx/5xx that some layer made as text (axum's 405, its extractor
/// rejections) gets `{"error": …}` with what it said, or what was refused.
async fn refusals_as_json(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_TEXT).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = match (text.is_empty(), status) {
        (false, _) => text,
        (true, StatusCode::METHOD_NOT_ALLOWED) => format!("{method} is not allowed on {path}"),
        (true, _) => format!("{method} {path}: {}", status.canonical_reason().unwrap_or("refused")),
    };
    let mut json = json_error(status, &message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

/// Asks the client to close the connection: said on refusals answered before the body was read,
/// so the unread body is not taken for the next request.
pub(crate) fn close(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A JSON body `{"error": message}` with `status`.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "error": message }))
}

pub(crate) fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
