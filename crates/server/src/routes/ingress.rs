//! Webhook ingress, per tenant (`/t/{tenant}/ingress/…`) and for the server's own tenant
//! (`/ingress/…`). Every route checks the sender's key from the headers and query first,
//! then reads the body (bounded in size and time), then hands it to the connectors' own receivers
//! (parsing, freshness, store-then-acknowledge); this file only adapts HTTP and counts outcomes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use ferry_connectors::amazon::webhooks::{IngressConfig, IngressError, MAX_BODY, authenticate, store_event};
use ferry_connectors::dataverse::webhooks::{accept, verify};
use ferry_model::TenantId;
use ferry_store::Store;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

use super::{DATAVERSE_MAX_BODY, close, json, json_error};
use crate::config::DataverseWebhook;
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

/// Reads an authenticated request's body: at most `max` bytes (a larger declared length is
/// refused before a byte is read) within `deadline`. Every refusal is JSON and closes the
/// connection, since the rest of the body is left unread.
async fn read_body(headers: &HeaderMap, body: Body, max: usize, deadline: Duration) -> Result<Bytes, Response> {
    let too_large = |size: &str| {
        let message = format!("the body is {size}; at most {max} bytes are accepted");
        close(json_error(StatusCode::PAYLOAD_TOO_LARGE, &message))
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > max as u64
    {
        return Err(too_large(&format!("{length} bytes")));
    }
    match tokio::time::timeout(deadline, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(too_large(&format!("over {max} bytes"))),
        Ok(Err(error)) => {
            Err(close(json_error(StatusCode::BAD_REQUEST, &format!("the request body could not be read: {error}"))))
        }
        Err(_) => {
            let message = format!("the request body did not arrive within {}s", deadline.as_secs());
            Err(close(json_error(StatusCode::REQUEST_TIMEOUT, &message)))
        }
    }
}

/// `POST /ingress/amazon/eventbridge`: the server's own tenant.
pub(crate) async fn amazon<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let tenant = state.tenant.as_str();
    let entries = state.ingress.get(tenant);
    let Some(configs) = entries.as_deref().map(|entries| &entries.amazon).filter(|a| !a.is_empty()) else {
        state.metrics.record_event(Some(tenant), EventSource::Amazon, EventOutcome::Rejected);
        let message = "the Amazon EventBridge ingress is not configured on this server";
        return close(json_error(StatusCode::NOT_FOUND, message));
    };
    amazon_event(&state, tenant, configs, headers, body).await
}

/// `POST /t/{tenant}/ingress/amazon/eventbridge`.
pub(crate) async fn tenant_amazon<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let entries = state.ingress.get(&tenant);
    let Some(configs) = entries.as_deref().map(|entries| &entries.amazon).filter(|a| !a.is_empty()) else {
        // Only a served tenant gets a series of its own: a path cannot mint labels.
        let counted = entries.is_some().then_some(tenant.as_str());
        state.metrics.record_event(counted, EventSource::Amazon, EventOutcome::Rejected);
        // The same answer whether the tenant is unknown or has no such ingress: asking says
        // nothing about which tenants this node serves.
        let message = format!("no Amazon EventBridge ingress is configured for tenant `{tenant}`");
        return close(json_error(StatusCode::NOT_FOUND, &message));
    };
    amazon_event(&state, &tenant, configs, headers, body).await
}

/// Stores an EventBridge event for the tenant's Amazon connection whose API key it carries
/// (each connection's destination has its own key), or refuses it.
async fn amazon_event<S: Store>(
    state: &AppState<S>,
    tenant: &str,
    configs: &[IngressConfig<S>],
    headers: HeaderMap,
    body: Body,
) -> Response {
    let metrics = &state.metrics;
    let refused = |code: u16, error: &dyn std::fmt::Display, connection: Option<&str>| {
        metrics.record_event(Some(tenant), EventSource::Amazon, refusal(code));
        // The message names what is wrong (never the key); it is safe for the sender and logs.
        tracing::info!(status = code, %error, tenant, connection, "EventBridge event refused");
        json_error(status(code), &error.to_string())
    };
    let pairs = header_pairs(&headers);
    let Some(config) = configs.iter().find(|c| authenticate(c, &pairs).is_ok()) else {
        let error = IngressError::Unauthorized;
        return close(refused(error.status(), &error, None));
    };
    let refused = |code: u16, error: &dyn std::fmt::Display| refused(code, error, Some(config.connection.as_ref()));
    let body = match read_body(&headers, body, MAX_BODY, state.limits.body_read_timeout).await {
        Ok(body) => body,
        Err(response) => {
            metrics.record_event(Some(tenant), EventSource::Amazon, EventOutcome::Rejected);
            return response;
        }
    };
    match store_event(config, &body).await {
        Ok(new) => {
            let outcome = if new { EventOutcome::Stored } else { EventOutcome::Duplicate };
            metrics.record_event(Some(tenant), EventSource::Amazon, outcome);
            accepted(new)
        }
        Err(error) => refused(error.status(), &error),
    }
}

/// `POST /ingress/dataverse/{connection}`: the server's own tenant.
pub(crate) async fn dataverse<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(connection): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let tenant = state.tenant.as_str();
    let entries = state.ingress.get(tenant);
    let Some(webhook) = entries.as_deref().and_then(|entries| entries.dataverse.get(&connection)) else {
        state.metrics.record_event(Some(tenant), EventSource::Dataverse, EventOutcome::Rejected);
        let message = format!("no Dataverse webhook is configured for connection `{connection}`");
        return close(json_error(StatusCode::NOT_FOUND, &message));
    };
    dataverse_event(&state, &state.tenant, webhook, query, headers, body).await
}

/// `POST /t/{tenant}/ingress/dataverse/{connection}`.
pub(crate) async fn tenant_dataverse<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path((tenant, connection)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let entries = state.ingress.get(&tenant);
    let webhook = entries.as_deref().and_then(|entries| entries.dataverse.get(&connection));
    // A served tenant's id is valid: its entry was set with a TenantId.
    let (Some(webhook), Ok(tenant_id)) = (webhook, TenantId::new(tenant.as_str())) else {
        let counted = entries.is_some().then_some(tenant.as_str());
        state.metrics.record_event(counted, EventSource::Dataverse, EventOutcome::Rejected);
        let message = format!("no Dataverse webhook is configured for connection `{connection}` of tenant `{tenant}`");
        return close(json_error(StatusCode::NOT_FOUND, &message));
    };
    dataverse_event(&state, &tenant_id, webhook, query, headers, body).await
}

async fn dataverse_event<S: Store>(
    state: &AppState<S>,
    tenant: &TenantId,
    webhook: &DataverseWebhook,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let metrics = &state.metrics;
    let label = Some(tenant.as_str());
    let refused = |code: u16, error: &dyn std::fmt::Display| {
        metrics.record_event(label, EventSource::Dataverse, refusal(code));
        tracing::info!(status = code, %error, %tenant, connection = %webhook.connection, "Dataverse webhook refused");
        json_error(status(code), &error.to_string())
    };
    if let Err(error) = verify(&webhook.auth, &header_pairs(&headers), query.as_deref().unwrap_or("")) {
        return close(refused(error.status(), &error));
    }
    let body = match read_body(&headers, body, DATAVERSE_MAX_BODY, state.limits.body_read_timeout).await {
        Ok(body) => body,
        Err(response) => {
            metrics.record_event(label, EventSource::Dataverse, EventOutcome::Rejected);
            return response;
        }
    };
    let result = accept(&state.store, tenant, &webhook.connection, &body, |event| (webhook.jobs)(event)).await;
    match result {
        Ok((_, accepted_event)) => {
            let outcome = if accepted_event.new { EventOutcome::Stored } else { EventOutcome::Duplicate };
            metrics.record_event(label, EventSource::Dataverse, outcome);
            accepted(accepted_event.new)
        }
        Err(error) => refused(error.status(), &error),
    }
}
