//! The Microsoft Entra ID token endpoint (client credentials, DYNAMICS.md §A.1) and the
//! bearer check of the Web API. A token names the identity the service protection limits
//! count against.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

/// A registered application (its client id and secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRegistration {
    pub client_id: String,
    pub client_secret: String,
}

/// Which token endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenForm {
    /// `/{tenant}/oauth2/v2.0/token` with `scope`.
    V2Scope,
    /// `/{tenant}/oauth2/token` with `resource`.
    V1Resource,
}

/// Issued tokens.
#[derive(Debug)]
pub struct Tokens {
    tenant: String,
    apps: Vec<AppRegistration>,
    lifetime: Mutex<Duration>,
    issued: Mutex<HashMap<String, (String, Instant)>>,
}

/// Parses `application/x-www-form-urlencoded`.
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn entra_error(error: &str, code: u32, description: &str) -> Value {
    json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}"),
        "error_codes": [code],
        "timestamp": Timestamp::now().strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": Uuid::new_v4().to_string(),
        "correlation_id": Uuid::new_v4().to_string(),
    })
}

impl Tokens {
    pub fn new(tenant: String, apps: Vec<AppRegistration>, lifetime: Duration) -> Self {
        Tokens { tenant, apps, lifetime: Mutex::new(lifetime), issued: Mutex::new(HashMap::new()) }
    }

    pub fn set_lifetime(&self, lifetime: Duration) {
        *self.lifetime.lock().unwrap_or_else(|e| e.into_inner()) = lifetime;
    }

    /// Handles `POST /{tenant}/oauth2/v2.0/token`; `resource` is the org URL the scope must name.
    pub fn issue(&self, tenant: &str, body: &[u8], basic: Option<(String, String)>, resource: &str) -> (u16, Value) {
        self.issue_for(TokenForm::V2Scope, tenant, body, basic, resource)
    }

    /// Handles either endpoint: the v2 one wants `scope=<resource>/.default`, the v1 one
    /// (`/{tenant}/oauth2/token`, still used with F&O, DYNAMICS.md §B.1) wants
    /// `resource=<resource>` (with or without a trailing slash).
    pub fn issue_for(
        &self,
        form_kind: TokenForm,
        tenant: &str,
        body: &[u8],
        basic: Option<(String, String)>,
        resource: &str,
    ) -> (u16, Value) {
        if tenant != self.tenant {
            return (400, entra_error("invalid_request", 90002, &format!("Tenant '{tenant}' not found.")));
        }
        let form = parse_form(body);
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return (400, entra_error("unsupported_grant_type", 70003, "The app requested an unsupported grant type."));
        }
        let (client_id, secret) = match (form.get("client_id"), form.get("client_secret"), basic) {
            (Some(id), Some(secret), _) => (id.clone(), secret.clone()),
            (_, _, Some(pair)) => pair,
            (Some(_), None, None) => {
                return (
                    401,
                    entra_error(
                        "invalid_client",
                        7000218,
                        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                    ),
                );
            }
            _ => {
                return (
                    400,
                    entra_error(
                        "invalid_request",
                        900144,
                        "The request body must contain the following parameter: 'client_id'.",
                    ),
                );
            }
        };
        let Some(app) = self.apps.iter().find(|a| a.client_id == client_id) else {
            return (
                400,
                entra_error(
                    "unauthorized_client",
                    700016,
                    &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
                ),
            );
        };
        if app.client_secret != secret {
            return (401, entra_error("invalid_client", 7000215, "Invalid client secret provided."));
        }
        if form_kind == TokenForm::V1Resource {
            let given = form.get("resource").map(String::as_str).unwrap_or_default();
            if given.trim_end_matches('/') != resource.trim_end_matches('/') {
                let description = if given.is_empty() {
                    "The request body must contain the following parameter: 'resource'.".to_owned()
                } else {
                    format!(
                        "The resource principal named {given} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant."
                    )
                };
                let (error, code) =
                    if given.is_empty() { ("invalid_request", 900144) } else { ("invalid_resource", 500011) };
                return (400, entra_error(error, code, &description));
            }
            return self.grant(app);
        }
        let expected_scope = format!("{}/.default", resource.trim_end_matches('/'));
        let scope = form.get("scope").map(String::as_str).unwrap_or_default();
        if scope.trim_end_matches('/') != expected_scope && scope != format!("{resource}//.default") {
            return (
                400,
                entra_error(
                    "invalid_scope",
                    70011,
                    &format!(
                        "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. Expected '{expected_scope}'."
                    ),
                ),
            );
        }
        self.grant(app)
    }

    fn grant(&self, app: &AppRegistration) -> (u16, Value) {
        let lifetime = *self.lifetime.lock().unwrap_or_else(|e| e.into_inner());
        let token = format!("sandbox.{}.{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), (app.client_id.clone(), Instant::now() + lifetime));
        (
            200,
            json!({ "token_type": "Bearer", "expires_in": lifetime.as_secs(), "ext_expires_in": lifetime.as_secs(), "access_token": token }),
        )
    }

    /// Forgets every issued token (as when a secret is rotated or a session is revoked).
    pub fn revoke_all(&self) {
        self.issued.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The identity behind `Authorization: Bearer …`, if the token is valid and unexpired.
    pub fn identity(&self, authorization: Option<&str>) -> Result<String, &'static str> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .ok_or("Bearer token is missing")?;
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        match issued.get(token.trim()) {
            Some((identity, until)) if Instant::now() < *until => Ok(identity.clone()),
            Some(_) => Err("ExpiredAuthTicket: the access token has expired"),
            None => Err("InvalidAuthTicket: the access token is not valid"),
        }
    }
}
