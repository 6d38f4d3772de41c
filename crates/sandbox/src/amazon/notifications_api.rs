//! Notifications v1: destinations (grantless: a `sellingpartnerapi::notifications` token)
//! and subscriptions (seller-authorized). The sandbox delivers every notification it emits to
//! its SQS-compatible queue whatever is subscribed; the subscriptions are kept for clients
//! that check them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::Shared;
use super::http::{gate, invalid_input, json_response, not_found};

const API: &str = "notifications";

#[derive(Debug, Default)]
pub struct NotificationsState {
    pub destinations: BTreeMap<String, Value>,
    /// By notification type.
    pub subscriptions: BTreeMap<String, Value>,
}

pub(crate) async fn create_destination(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match shared.gate_grantless(API, "createDestination", &headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(name), Some(spec)) = (body.get("name").and_then(Value::as_str), body.get("resourceSpecification")) else {
        return invalid_input("name and resourceSpecification are required", rate);
    };
    let resource = if let Some(arn) = spec.get("sqs").and_then(|s| s.get("arn")).and_then(Value::as_str) {
        if !arn.starts_with("arn:aws:sqs:") {
            return invalid_input("resourceSpecification.sqs.arn is not an SQS queue ARN", rate);
        }
        json!({ "sqs": { "arn": arn } })
    } else if let Some(bridge) = spec.get("eventBridge") {
        let (Some(region), Some(account)) =
            (bridge.get("region").and_then(Value::as_str), bridge.get("accountId").and_then(Value::as_str))
        else {
            return invalid_input("resourceSpecification.eventBridge needs region and accountId", rate);
        };
        json!({ "eventBridge": { "name": format!("aws.partner/sellingpartnerapi.amazon/{account}"), "region": region, "accountId": account } })
    } else {
        return invalid_input("resourceSpecification needs sqs or eventBridge", rate);
    };
    let id = uuid::Uuid::new_v4().to_string();
    let destination = json!({ "name": name, "destinationId": id, "resource": resource });
    super::lock(&shared.notifications_api).destinations.insert(id, destination.clone());
    json_response(StatusCode::OK, &json!({ "payload": destination }), rate)
}

pub(crate) async fn get_destinations(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let rate = match shared.gate_grantless(API, "getDestinations", &headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    let list: Vec<Value> = super::lock(&shared.notifications_api).destinations.values().cloned().collect();
    json_response(StatusCode::OK, &json!({ "payload": list }), rate)
}

pub(crate) async fn create_subscription(
    State(shared): State<Arc<Shared>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rate = gate!(shared, API, "createSubscription", &headers);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(version), Some(destination)) =
        (body.get("payloadVersion").and_then(Value::as_str), body.get("destinationId").and_then(Value::as_str))
    else {
        return invalid_input("payloadVersion and destinationId are required", rate);
    };
    let mut state = super::lock(&shared.notifications_api);
    if !state.destinations.contains_key(destination) {
        return invalid_input(format!("destinationId {destination} does not exist"), rate);
    }
    if state.subscriptions.contains_key(&kind) {
        return super::http::error(
            StatusCode::CONFLICT,
            "Conflict",
            &format!("A subscription for {kind} already exists"),
            None,
        );
    }
    let subscription = json!({ "subscriptionId": uuid::Uuid::new_v4().to_string(), "payloadVersion": version, "destinationId": destination });
    state.subscriptions.insert(kind, subscription.clone());
    json_response(StatusCode::OK, &json!({ "payload": subscription }), rate)
}

pub(crate) async fn get_subscription(
    State(shared): State<Arc<Shared>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = gate!(shared, API, "getSubscription", &headers);
    match super::lock(&shared.notifications_api).subscriptions.get(&kind) {
        Some(s) => json_response(StatusCode::OK, &json!({ "payload": s }), rate),
        None => not_found(format!("No subscription for {kind}"), rate),
    }
}
