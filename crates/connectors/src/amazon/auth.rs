//! Login with Amazon: access tokens from the refresh-token grant (calls on a seller's
//! behalf) or the client-credentials grant with a scope (grantless calls such as
//! Notifications destinations), cached with refresh ahead of expiry.

use std::time::Duration;

use ferry_runtime::failure::Failure;
use ferry_store::secrets::{MasterKey, SecretValue};
use ferry_store::{Store, TenantId};
use serde::Deserialize;

use crate::token::{IssuedToken, TokenCache};

/// Amazon's production token endpoint (all regions).
pub const LWA_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// Refresh this long before an access token expires.
const REFRESH_AHEAD: Duration = Duration::from_secs(120);

/// The application's LWA client and the seller's authorization.
#[derive(Clone, Debug)]
pub struct LwaCredentials {
    pub client_id: String,
    pub client_secret: SecretValue,
    pub refresh_token: SecretValue,
}

/// Which grant a token comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// `grant_type=refresh_token`: operations on the seller's data.
    RefreshToken,
    /// `grant_type=client_credentials` with a scope such as `sellingpartnerapi::notifications`.
    Grantless { scope: String },
}

/// Could not read the credentials from the secrets store.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("secret {name} of tenant {tenant} is missing")]
    Missing { tenant: String, name: String },
    #[error("secret {name}: {source}")]
    Store { name: String, source: ferry_store::StoreError },
}

impl LwaCredentials {
    /// Reads `<prefix>.client_id`, `<prefix>.client_secret` and `<prefix>.refresh_token` from
    /// the tenant's secrets (e.g. prefix `amazon`).
    pub async fn from_store<S: Store>(
        store: &S,
        key: &MasterKey,
        tenant: &TenantId,
        prefix: &str,
    ) -> Result<Self, CredentialsError> {
        let read = |field: &'static str| {
            let name = format!("{prefix}.{field}");
            async move {
                let sealed = store
                    .secret(tenant, &name)
                    .await
                    .map_err(|source| CredentialsError::Store { name: name.clone(), source })?
                    .ok_or_else(|| CredentialsError::Missing { tenant: tenant.to_string(), name: name.clone() })?;
                key.open(&sealed).map_err(|source| CredentialsError::Store { name, source })
            }
        };
        Ok(LwaCredentials {
            client_id: read("client_id").await?.expose().to_owned(),
            client_secret: read("client_secret").await?,
            refresh_token: read("refresh_token").await?,
        })
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct LwaErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Access tokens for one application + seller, one cache per grant.
#[derive(Debug)]
pub struct LwaAuth {
    http: reqwest::Client,
    token_url: String,
    credentials: LwaCredentials,
    seller: TokenCache,
    grantless: tokio::sync::Mutex<Vec<(String, std::sync::Arc<TokenCache>)>>,
}

impl LwaAuth {
    pub fn new(http: reqwest::Client, token_url: impl Into<String>, credentials: LwaCredentials) -> Self {
        LwaAuth {
            http,
            token_url: token_url.into(),
            credentials,
            seller: TokenCache::new(REFRESH_AHEAD),
            grantless: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// A valid access token for `grant`, from the cache or freshly exchanged.
    pub async fn access_token(&self, grant: &Grant) -> Result<SecretValue, Failure> {
        match grant {
            Grant::RefreshToken => self.seller.get(|| self.exchange(grant)).await,
            Grant::Grantless { scope } => {
                let cache = self.grantless_cache(scope).await;
                cache.get(|| self.exchange(grant)).await
            }
        }
    }

    /// Forgets the cached token of `grant` (Amazon refused it).
    pub async fn invalidate(&self, grant: &Grant) {
        match grant {
            Grant::RefreshToken => self.seller.invalidate().await,
            Grant::Grantless { scope } => self.grantless_cache(scope).await.invalidate().await,
        }
    }

    async fn grantless_cache(&self, scope: &str) -> std::sync::Arc<TokenCache> {
        let mut caches = self.grantless.lock().await;
        if let Some((_, cache)) = caches.iter().find(|(s, _)| s == scope) {
            return std::sync::Arc::clone(cache);
        }
        let cache = std::sync::Arc::new(TokenCache::new(REFRESH_AHEAD));
        caches.push((scope.to_owned(), std::sync::Arc::clone(&cache)));
        cache
    }

    /// One token exchange. Errors never include the secrets or the token.
    async fn exchange(&self, grant: &Grant) -> Result<IssuedToken, Failure> {
        let c = &self.credentials;
        let mut form = vec![("client_id", c.client_id.as_str()), ("client_secret", c.client_secret.expose())];
        match grant {
            Grant::RefreshToken => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", c.refresh_token.expose()));
            }
            Grant::Grantless { scope } => {
                form.push(("grant_type", "client_credentials"));
                form.push(("scope", scope));
            }
        }
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&form).finish();
        let response = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded;charset=UTF-8")
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::transient(format!("LWA token exchange failed: {}", crate::http::describe(e))))?;
        let status = response.status().as_u16();
        let bytes =
            response.bytes().await.map_err(|e| Failure::transient(format!("LWA token response unreadable: {e}")))?;
        if (200..300).contains(&status) {
            let token: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::permanent_with_code(
                    "InvalidResponse",
                    format!("LWA token response is malformed (line {} column {})", e.line(), e.column()),
                )
            })?;
            return Ok(IssuedToken {
                value: SecretValue::new(token.access_token),
                expires_in: Duration::from_secs(token.expires_in),
            });
        }
        let detail = serde_json::from_slice::<LwaErrorBody>(&bytes)
            .map(|e| format!("{}: {}", e.error, e.error_description))
            .unwrap_or_else(|_| format!("HTTP {status}"));
        let message = format!("LWA token exchange refused ({status}): {detail}");
        Err(match status {
            // Wrong client, revoked or wrong refresh token, bad scope: credentials must change.
            400 | 401 | 403 => Failure::auth(message),
            429 => Failure::throttled(None, message),
            _ => ferry_runtime::failure::classify_http_status(status, None, message),
        })
    }
}
