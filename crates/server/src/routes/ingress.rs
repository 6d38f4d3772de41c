//! Webhook ingress. Both routes delegate to the connectors' own receivers (key check, parsing,
//! store-then-acknowledge); this file only adapts HTTP and counts outcomes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ferry_connectors::amazon::webhooks::ingest;
use ferry_connectors::dataverse::webhooks::receive;
use ferry_store::Store;
use serde_json::json;

use super::{json, json_error};
use crate::metrics::{EventOutcome, EventSource};
use crate::state::AppState;

/// Header pairs as the connectors take them. Values that are not UTF-8 are kept lossily: they
/// can only fail the key check, never match it by accident.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// What a refusal counts as: 503 means "not stored, send again", not a bad event.
fn refusal(code: u16) -> EventOutcome {
    if code == 503 { EventOutcome::Unavailable } else { EventOutcome::Rejected }
}

fn accepted(new: bool) -> Response {
    json(StatusCode::OK, json!({ "stored": true, "duplicate": !new }))
}

/// `POST /ingress/amazon/eventbridge`.
pub(crate) async fn amazon<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let metrics = &state.metrics;
    let Some(config) = &state.amazon else {
        metrics.record_event(EventSource::Amazon, EventOutcome::Rejected);
        return json_error(StatusCode::NOT_FOUND, "the Amazon EventBridge ingress is not configured on this server");
    };
    match ingest(config, &header_pairs(&headers), &body).await {
        Ok(new) => {
            let outcome = if new { EventOutcome::Stored } else { EventOutcome::Duplicate };
            metrics.record_event(EventSource::Amazon, outcome);
            accepted(new)
        }
        Err(error) => {
            let code = error.status();
            metrics.record_event(EventSource::Amazon, refusal(code));
            // The message names what is wrong (never the key); it is safe for the sender and logs.
            tracing::info!(status = code, %error, connection = %config.connection, "EventBridge event refused");
            json_error(status(code), &error.to_string())
        }
    }
}

/// `POST /ingress/dataverse/{connection}`.
pub(crate) async fn dataverse<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(connection): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let metrics = &state.metrics;
    let Some(webhook) = state.dataverse.get(&connection) else {
        metrics.record_event(EventSource::Dataverse, EventOutcome::Rejected);
        let message = format!("no Dataverse webhook is configured for connection `{connection}`");
        return json_error(StatusCode::NOT_FOUND, &message);
    };
    let result = receive(
        &state.store,
        &state.tenant,
        &webhook.connection,
        &webhook.auth,
        &header_pairs(&headers),
        query.as_deref().unwrap_or(""),
        &body,
        |event| (webhook.jobs)(event),
    )
    .await;
    match result {
        Ok((_, accepted_event)) => {
            let outcome = if accepted_event.new { EventOutcome::Stored } else { EventOutcome::Duplicate };
            metrics.record_event(EventSource::Dataverse, outcome);
            accepted(accepted_event.new)
        }
        Err(error) => {
            let code = error.status();
            metrics.record_event(EventSource::Dataverse, refusal(code));
            tracing::info!(status = code, %error, connection = %webhook.connection, "Dataverse webhook refused");
            json_error(status(code), &error.to_string())
        }
    }
}
