//! Microsoft Entra ID client-credentials tokens for Dataverse (DYNAMICS.md §A.1), cached with
//! refresh ahead of expiry in the shared [`TokenCache`].

use std::time::Duration;

use ferry_runtime::failure::{Failure, classify_http_status};
use ferry_store::secrets::SecretValue;
use serde::Deserialize;

use super::config::DataverseConfig;
use crate::token::{IssuedToken, TokenCache};

/// Gets and caches access tokens for one identity.
#[derive(Debug)]
pub struct EntraAuth {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    secret: SecretValue,
    audience: Audience,
    cache: TokenCache,
}

/// What the token is for, in the form the endpoint wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// v2 endpoint: `scope=<resource>/.default`.
    Scope(String),
    /// v1 endpoint (`/oauth2/token`): `resource=<resource>`.
    Resource(String),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: String,
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

impl EntraAuth {
    pub fn new(http: reqwest::Client, config: &DataverseConfig) -> Self {
        Self::for_client(
            http,
            config.token_url(),
            config.client_id.clone(),
            config.client_secret.clone(),
            Audience::Scope(config.scope()),
            config.refresh_ahead,
        )
    }

    /// Tokens from `token_url` for another resource (the F&O connector uses this with either
    /// endpoint form).
    pub fn for_client(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        secret: SecretValue,
        audience: Audience,
        refresh_ahead: Duration,
    ) -> Self {
        EntraAuth { http, token_url, client_id, secret, audience, cache: TokenCache::new(refresh_ahead) }
    }

    /// A valid access token (cached until shortly before it expires).
    pub async fn token(&self) -> Result<SecretValue, Failure> {
        self.cache.get(|| self.fetch()).await
    }

    /// Forgets the cached token (after a 401).
    pub async fn invalidate(&self) {
        self.cache.invalidate().await;
    }

    async fn fetch(&self) -> Result<IssuedToken, Failure> {
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &self.client_id),
            ("client_secret", self.secret.expose()),
            match &self.audience {
                Audience::Scope(scope) => ("scope", scope.as_str()),
                Audience::Resource(resource) => ("resource", resource.as_str()),
            },
        ]);
        let response = self
            .http
            .post(&self.token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                Failure::transient(format!("Entra token endpoint unreachable: {}", crate::http::describe(e)))
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| ferry_runtime::failure::parse_retry_after(v, jiff::Timestamp::now()));
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::transient(format!("reading the Entra token response: {}", e.without_url())))?;
        if status == 200 {
            let token: TokenResponse = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::transient(format!("Entra token response is not the expected JSON: {e}")))?;
            return Ok(IssuedToken {
                value: SecretValue::new(token.access_token),
                expires_in: Duration::from_secs(token.expires_in),
            });
        }
        // Entra's description names the problem (AADSTS code) and never echoes the secret.
        let detail = serde_json::from_slice::<TokenError>(&bytes)
            .map(|e| format!("{}: {}", e.error, e.error_description.lines().next().unwrap_or_default()))
            .unwrap_or_else(|_| format!("HTTP {status}"));
        let message = format!("Entra ID refused a token for client {}: {detail}", self.client_id);
        Err(match status {
            400 | 401 => Failure::auth(message),
            _ => classify_http_status(status, retry_after, message),
        })
    }
}
