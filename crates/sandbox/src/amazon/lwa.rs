//! Login with Amazon: `POST /auth/o2/token` with the refresh-token grant (seller-authorized
//! calls) or the client-credentials grant with a scope (grantless calls).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::Shared;
use super::http::{decode_pairs, json_response};

/// What an issued access token may do.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub expires_at: Instant,
    /// `Some(scope)` for a grantless token.
    pub scope: Option<String>,
    /// Whom it was issued to (what Amazon meters a request against).
    pub caller: Arc<super::request_log::Caller>,
}

fn lwa_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(status, &json!({ "error": error, "error_description": description }), None)
}

pub async fn token(State(shared): State<Arc<Shared>>, _headers: HeaderMap, body: Bytes) -> Response {
    shared.stats.lwa_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let form = decode_pairs(&String::from_utf8_lossy(&body));
    let field = |name: &str| form.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let config = &shared.config;
    if field("client_id") != Some(config.client_id.as_str())
        || field("client_secret") != Some(config.client_secret.as_str())
    {
        return lwa_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed");
    }
    let scope = match field("grant_type") {
        Some("refresh_token") => {
            if field("scope").is_some() {
                return lwa_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "scope must not be sent with refresh_token",
                );
            }
            if field("refresh_token") != Some(config.refresh_token.as_str()) {
                return lwa_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                );
            }
            None
        }
        Some("client_credentials") => match field("scope") {
            Some(scope) if scope.starts_with("sellingpartnerapi::") => Some(scope.to_owned()),
            _ => return lwa_error(StatusCode::BAD_REQUEST, "invalid_scope", "The requested scope is invalid"),
        },
        _ => return lwa_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant_type is not supported"),
    };
    let lifetime = shared.token_lifetime();
    let access_token = format!("Atza|sandbox-{}", uuid::Uuid::new_v4().simple());
    // The sandbox authorizes one selling partner: its refresh token stands for that seller.
    let caller = Arc::new(super::request_log::Caller {
        client_id: config.client_id.clone(),
        seller_id: scope.is_none().then(|| config.seller_id.clone()),
    });
    shared.issue_token(
        access_token.clone(),
        IssuedToken { expires_at: Instant::now() + lifetime, scope: scope.clone(), caller },
    );
    let mut body = json!({ "access_token": access_token, "token_type": "bearer", "expires_in": lifetime.as_secs() });
    match scope {
        Some(scope) => body["scope"] = json!(scope),
        None => body["refresh_token"] = json!(config.refresh_token),
    }
    json_response(StatusCode::OK, &body, None)
}
