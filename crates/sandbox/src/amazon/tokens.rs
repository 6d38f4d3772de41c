//! Tokens 2021-03-01 `createRestrictedDataToken`: RDTs scoped to restricted resources
//! (method + path, generic `{orderId}` or specific, and data elements), which the restricted
//! Orders v0 reads require before they return buyer names, addresses and emails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::Shared;
use super::http::{gate, invalid_input, json_response};

const API: &str = "tokens_2021-03-01";

/// One restricted resource an RDT opens.
#[derive(Debug, Clone)]
pub struct Resource {
    pub method: String,
    pub path: String,
    pub data_elements: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rdt {
    pub expires_at: Instant,
    pub resources: Vec<Resource>,
    /// Whom the access token that asked for it was issued to.
    pub caller: Option<Arc<super::request_log::Caller>>,
}

/// Does `pattern` (`/orders/v0/orders/{orderId}/address` or a specific path) match `path`?
fn path_matches(pattern: &str, path: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(p, s)| (p.starts_with('{') && p.ends_with('}')) || p == s)
}

impl Shared {
    /// True when the request's token is an RDT covering `method path` (and `element`, if given).
    pub fn rdt_covers(&self, headers: &HeaderMap, method: &str, path: &str, element: Option<&str>) -> bool {
        let Some(token) = headers.get("x-amz-access-token").and_then(|v| v.to_str().ok()) else { return false };
        let rdts = super::lock(&self.rdts);
        let Some(rdt) = rdts.get(token).filter(|r| r.expires_at > Instant::now()) else { return false };
        rdt.resources.iter().any(|r| {
            r.method == method
                && path_matches(&r.path, path)
                && element.is_none_or(|e| r.data_elements.iter().any(|d| d == e))
        })
    }

    /// True when `token` is a live RDT (accepted wherever an access token is).
    pub fn is_rdt(&self, token: &str) -> bool {
        super::lock(&self.rdts).get(token).is_some_and(|r| r.expires_at > Instant::now())
    }
}

pub(crate) async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let rate = gate!(shared, API, "createRestrictedDataToken", &headers);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let Some(list) = body.get("restrictedResources").and_then(Value::as_array).filter(|l| !l.is_empty()) else {
        return invalid_input("restrictedResources is required", rate);
    };
    if list.len() > 50 {
        return invalid_input("restrictedResources holds at most 50 resources", rate);
    }
    let mut resources = Vec::new();
    for (n, r) in list.iter().enumerate() {
        let method = r.get("method").and_then(Value::as_str).unwrap_or_default();
        if !["GET", "PUT", "POST", "DELETE"].contains(&method) {
            return invalid_input(format!("restrictedResources[{n}].method must be GET, PUT, POST or DELETE"), rate);
        }
        let Some(path) = r.get("path").and_then(Value::as_str).filter(|p| p.starts_with('/')) else {
            return invalid_input(format!("restrictedResources[{n}].path is required"), rate);
        };
        let data_elements: Vec<String> = r
            .get("dataElements")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if let Some(bad) = data_elements
            .iter()
            .find(|e| !["buyerInfo", "shippingAddress", "buyerTaxInformation"].contains(&e.as_str()))
        {
            return invalid_input(format!("restrictedResources[{n}].dataElements has an unknown value {bad:?}"), rate);
        }
        resources.push(Resource { method: method.into(), path: path.into(), data_elements });
    }
    let token = format!("Atz.sprdt|sandbox-{}", uuid::Uuid::new_v4().simple());
    let lifetime = Duration::from_secs(3600).min(shared.token_lifetime().max(Duration::from_secs(1)));
    let caller = shared.caller(&headers);
    super::lock(&shared.rdts).insert(token.clone(), Rdt { expires_at: Instant::now() + lifetime, resources, caller });
    json_response(StatusCode::OK, &json!({ "restrictedDataToken": token, "expiresIn": lifetime.as_secs() }), rate)
}
