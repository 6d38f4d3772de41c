//! The SP-API client: builds each operation's HTTP request, attaches the LWA access token
//! (`x-amz-access-token`), refreshes once on a 403, learns rates from
//! `x-amzn-RateLimit-Limit`, and classifies failures. It never sleeps or retries: wrap calls
//! in the runtime's `Resilience::call` with [`AmazonClient::call_spec`].

pub mod fba_inventory;
pub mod feeds;
pub mod finances;
pub mod fulfillment_outbound;
pub mod listings;
pub mod notifications_api;
pub mod orders;
pub mod orders_v0;
pub mod reports;

use std::sync::Arc;

use ferry_model::AmazonMarketplaceId;
use ferry_runtime::failure::Failure;
use ferry_runtime::{CallSpec, Resilience};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::{Grant, LWA_TOKEN_URL, LwaAuth, LwaCredentials};
use super::errors;
use super::limits::{AmazonLimits, OperationLimit, operation_limit};

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one query value or path segment.
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// SP-API regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    NorthAmerica,
    Europe,
    FarEast,
}

impl Region {
    /// Production endpoint.
    pub fn endpoint(self) -> &'static str {
        match self {
            Region::NorthAmerica => "https://sellingpartnerapi-na.amazon.com",
            Region::Europe => "https://sellingpartnerapi-eu.amazon.com",
            Region::FarEast => "https://sellingpartnerapi-fe.amazon.com",
        }
    }

    /// Amazon's static sandbox endpoint.
    pub fn sandbox_endpoint(self) -> &'static str {
        match self {
            Region::NorthAmerica => "https://sandbox.sellingpartnerapi-na.amazon.com",
            Region::Europe => "https://sandbox.sellingpartnerapi-eu.amazon.com",
            Region::FarEast => "https://sandbox.sellingpartnerapi-fe.amazon.com",
        }
    }

    /// The region serving a marketplace, for the marketplaces listed in the reference
    /// (`SPAPI.md` §A.4); `None` for others, which the connection then configures.
    pub fn of_marketplace(marketplace: &AmazonMarketplaceId) -> Option<Region> {
        Some(match marketplace.as_str() {
            "ATVPDKIKX0DER" | "A2EUQ1WTGCTBG2" | "A1AM78C64UM0Y8" => Region::NorthAmerica,
            "A1F83G8C2ARO7P" | "A1PA6795UKMFR9" | "A13V1IB3VIYZZH" | "APJ6JRA9NG5V4" | "A1RKKUPIHCS9HS" => {
                Region::Europe
            }
            "A1VC38T7YXB528" => Region::FarEast,
            _ => return None,
        })
    }
}

/// How to reach one seller's account.
#[derive(Debug, Clone)]
pub struct AmazonConfig {
    /// SP-API endpoint, e.g. [`Region::endpoint`] or a sandbox's base URL.
    pub endpoint: String,
    /// LWA token endpoint ([`LWA_TOKEN_URL`] in production).
    pub token_url: String,
    pub credentials: LwaCredentials,
    /// The seller's marketplaces; the first is the default.
    pub marketplace_ids: Vec<AmazonMarketplaceId>,
    /// Multiplies the default rates (1.0 in production; matches a sped-up sandbox in tests).
    pub limits_scale: f64,
    /// Sent as `user-agent` (Amazon asks for "AppId/Version (Language=…)").
    pub user_agent: String,
    /// The CAs LWA and SP-API certificates are verified against (public roots by default).
    pub tls: crate::http::Tls,
    /// The seller's selling partner id (`options.seller_id`), which Amazon counts rates
    /// against together with the application; without it the refresh token (one seller's
    /// authorisation of one application) stands for the seller, hashed.
    pub seller_id: Option<String>,
}

impl AmazonConfig {
    /// Production settings for `region`.
    pub fn production(region: Region, credentials: LwaCredentials, marketplace_ids: Vec<AmazonMarketplaceId>) -> Self {
        AmazonConfig {
            endpoint: region.endpoint().into(),
            token_url: LWA_TOKEN_URL.into(),
            credentials,
            marketplace_ids,
            limits_scale: 1.0,
            seller_id: None,
            user_agent: concat!("Ferry/", env!("CARGO_PKG_VERSION"), " (Language=Rust)").into(),
            tls: crate::http::Tls::default(),
        }
    }
}

/// An HTTP request of one operation, before auth: what the model-example test compares.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    /// Path with parameters substituted and encoded.
    pub path: String,
    /// Query parameters in order, not yet encoded; arrays are comma-joined (`csv`).
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl HttpRequest {
    pub fn get(path: String) -> Self {
        HttpRequest { method: "GET", path, query: Vec::new(), body: None }
    }

    /// Adds `name=value` when `value` is present.
    pub fn param(mut self, name: &str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.query.push((name.to_owned(), value.to_string()));
        }
        self
    }

    /// Adds a `csv` array parameter when it is not empty.
    pub fn list<S: AsRef<str>>(mut self, name: &str, values: &[S]) -> Self {
        if !values.is_empty() {
            let joined = values.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(",");
            self.query.push((name.to_owned(), joined));
        }
        self
    }

    /// `path?query`, encoded.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.query).finish();
        format!("{}?{query}", self.path)
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

/// Client of one seller account.
pub struct AmazonClient {
    http: reqwest::Client,
    config: AmazonConfig,
    auth: LwaAuth,
    limits: AmazonLimits,
    host: String,
    /// The runtime's limits, and the connection as its metrics name it.
    runtime: Option<(Arc<Resilience>, String)>,
    /// `spapi/<application>/<seller>`: what Amazon's usage plans are counted against.
    scope: String,
    /// `spapi-seller/<seller>`: what Amazon's per-seller caps are counted against.
    seller_scope: String,
    rdts: super::rdt::RdtCache,
}

impl AmazonClient {
    pub fn new(config: AmazonConfig) -> Result<Self, Failure> {
        let http = crate::http::client_builder(&config.tls)
            .map_err(|e| Failure::permanent(e.to_string()))?
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| Failure::permanent(format!("cannot build the HTTP client: {e}")))?;
        let host = config
            .endpoint
            .split("://")
            .nth(1)
            .unwrap_or(&config.endpoint)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let (scope, seller_scope) = limit_scopes(&config);
        Ok(AmazonClient {
            scope,
            seller_scope,
            auth: LwaAuth::new(http.clone(), config.token_url.clone(), config.credentials.clone()),
            limits: AmazonLimits::new(config.limits_scale),
            http,
            host,
            config,
            runtime: None,
            rdts: Default::default(),
        })
    }

    /// Pushes rates Amazon announces into the runtime's buckets of this seller and application,
    /// and lets the polls' calls wait in them; `connection` names it in metrics.
    pub fn with_runtime(mut self, resilience: Arc<Resilience>, connection: impl Into<String>) -> Self {
        self.runtime = Some((resilience, connection.into()));
        self
    }

    pub fn config(&self) -> &AmazonConfig {
        &self.config
    }

    pub fn auth(&self) -> &LwaAuth {
        &self.auth
    }

    pub(crate) fn rdts(&self) -> &super::rdt::RdtCache {
        &self.rdts
    }

    pub fn limits(&self) -> &AmazonLimits {
        &self.limits
    }

    /// The seller account's scope, over every application it authorised: where Amazon's
    /// per-seller caps are counted ([`super::limits::REPORT_CAPS`]).
    pub fn seller_scope(&self) -> &str {
        &self.seller_scope
    }

    /// The remote host (what the circuit breaker is keyed on).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The runtime's call description for `api`/`operation` on `connection`.
    pub fn call_spec<'a>(&'a self, connection: &'a str, api: &str, operation: &str) -> Option<CallSpec<'a>> {
        operation_limit(api, operation).map(|limit| self.limits.call_spec(connection, &self.scope, &self.host, limit))
    }

    /// Runs `call` (one request of `api`/`operation`) within the runtime's limits when the
    /// client has one: this node's bucket and, on PostgreSQL, the bucket every node shares.
    /// For calls made outside a job (the polls): a wait too long to sleep through comes back
    /// as a throttled failure carrying it. Calls inside a job use `Resilience::call` instead.
    pub async fn within_limits<T>(
        &self,
        api: &str,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        self.within_limits_capped(api, operation, Vec::new(), call).await
    }

    /// [`within_limits`](Self::within_limits), also taking `caps` (Amazon's wider caps).
    pub(crate) async fn within_limits_capped<T>(
        &self,
        api: &str,
        operation: &str,
        caps: Vec<ferry_runtime::Cap>,
        call: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        let Some((resilience, connection)) = &self.runtime else { return call.await };
        let Some(mut spec) = self.call_spec(connection, api, operation) else { return call.await };
        spec.caps = caps;
        match resilience.call(operation, &spec, call).await {
            Ok(value) => Ok(value),
            Err(ferry_runtime::JobError::Failed { failure, .. }) => Err(failure),
            Err(ferry_runtime::JobError::Deferred { wait, reason, .. }) => Err(Failure::throttled(Some(wait), reason)),
        }
    }

    /// The connection's first marketplace.
    pub fn default_marketplace(&self) -> Result<&AmazonMarketplaceId, Failure> {
        self.config
            .marketplace_ids
            .first()
            .ok_or_else(|| Failure::permanent("the Amazon connection has no marketplace id configured"))
    }

    /// Sends `request` as `api`/`operation` with the seller's token; `Ok` only for 2xx.
    pub async fn execute(&self, api: &str, operation: &str, request: &HttpRequest) -> Result<ApiResponse, Failure> {
        self.execute_with(api, operation, request, &Grant::RefreshToken).await
    }

    /// [`execute`](Self::execute) with the token of `grant`.
    pub async fn execute_with(
        &self,
        api: &str,
        operation: &str,
        request: &HttpRequest,
        grant: &Grant,
    ) -> Result<ApiResponse, Failure> {
        let limit = operation_limit(api, operation)
            .ok_or_else(|| Failure::permanent(format!("{api}/{operation} is not a known SP-API operation")))?;
        let token = self.auth.access_token(grant).await?;
        let mut raw = self.send_once(operation, request, token.expose()).await?;
        if raw.status == 403 {
            // An expired or revoked token: refresh once; a second 403 is an auth failure.
            self.auth.invalidate(grant).await;
            let token = self.auth.access_token(grant).await?;
            raw = self.send_once(operation, request, token.expose()).await?;
        }
        self.finish(limit, operation, raw)
    }

    /// One send with an explicit token (an RDT), no refresh: the caller renews on Auth.
    pub(crate) async fn execute_token(
        &self,
        api: &str,
        operation: &str,
        request: &HttpRequest,
        token: &str,
    ) -> Result<ApiResponse, Failure> {
        let limit = operation_limit(api, operation)
            .ok_or_else(|| Failure::permanent(format!("{api}/{operation} is not a known SP-API operation")))?;
        let raw = self.send_once(operation, request, token).await?;
        self.finish(limit, operation, raw)
    }

    fn finish(
        &self,
        limit: &'static OperationLimit,
        operation: &str,
        raw: RawResponse,
    ) -> Result<ApiResponse, Failure> {
        if let Some(header) = raw.rate_limit.as_deref() {
            self.observe_rate(limit, header);
        }
        if (200..300).contains(&raw.status) {
            return Ok(ApiResponse { status: raw.status, request_id: raw.request_id, body: raw.body });
        }
        let (rate, _) = self.limits.current(limit);
        let mut failure = errors::classify(operation, raw.status, raw.retry_after.as_deref(), &raw.body, rate);
        if let Some(id) = raw.request_id {
            append(&mut failure, &format!(" [x-amzn-RequestId {id}]"));
        }
        Err(failure)
    }

    fn observe_rate(&self, limit: &'static OperationLimit, header: &str) {
        if let Some(rate) = self.limits.announce(limit, header)
            && let Some((resilience, _)) = &self.runtime
        {
            let burst = super::limits::client_burst(self.limits.current(limit).1);
            if let Err(error) = resilience.limiters.update(&self.scope, limit.key, rate, burst) {
                tracing::warn!(operation = limit.key, %error, "ignoring x-amzn-RateLimit-Limit");
            }
        }
    }

    async fn send_once(&self, operation: &str, request: &HttpRequest, token: &str) -> Result<RawResponse, Failure> {
        let url = format!("{}{}", self.config.endpoint.trim_end_matches('/'), request.path_and_query());
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| Failure::permanent(format!("{operation}: bad method {}", request.method)))?;
        let mut builder = self
            .http
            .request(method, &url)
            .header("x-amz-access-token", token)
            .header("x-amz-date", jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string())
            .header("accept", "application/json");
        if let Some(body) = &request.body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| Failure::permanent(format!("{operation}: cannot encode the request: {e}")))?;
            builder = builder.header("content-type", "application/json").body(bytes);
        }
        let response = builder.send().await.map_err(|e| errors::transport(operation, e))?;
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let status = response.status().as_u16();
        let rate_limit = header("x-amzn-RateLimit-Limit");
        let request_id = header("x-amzn-RequestId");
        let retry_after = header("retry-after");
        let body = response.bytes().await.map_err(|e| errors::transport(operation, e))?.to_vec();
        Ok(RawResponse { status, rate_limit, request_id, retry_after, body })
    }
}

impl std::fmt::Debug for AmazonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmazonClient").field("endpoint", &self.config.endpoint).finish_non_exhaustive()
    }
}

struct RawResponse {
    status: u16,
    rate_limit: Option<String>,
    request_id: Option<String>,
    retry_after: Option<String>,
    body: Vec<u8>,
}

fn append(failure: &mut Failure, text: &str) {
    match failure {
        Failure::Transient { message }
        | Failure::Throttled { message, .. }
        | Failure::Permanent { message, .. }
        | Failure::Auth { message } => message.push_str(text),
    }
}

/// Decodes a 2xx body as `T`, naming the operation and the position on failure.
pub(crate) fn decode<T: DeserializeOwned>(
    operation: &str,
    expected: &str,
    response: &ApiResponse,
) -> Result<T, Failure> {
    serde_json::from_slice(&response.body).map_err(|e| errors::bad_response(operation, expected, &e))
}

/// Whom Amazon counts this client's calls against: SP-API usage plans are per selling partner
/// and application ("All usage plans are specific to application-Selling Partner pairs", SPAPI.md), so two connections or tenants on one seller's
/// authorisation of one application share one bucket. The refresh token is hashed: the key is
/// stored in the shared-bucket table and must not reveal it.
fn limit_scopes(config: &AmazonConfig) -> (String, String) {
    use sha2::Digest as _;
    let seller = match config.seller_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_owned(),
        None => {
            let digest = sha2::Sha256::digest(config.credentials.refresh_token.expose().as_bytes());
            format!("rt-{}", hex::encode(&digest[..12]))
        }
    };
    (format!("spapi/{}/{seller}", config.credentials.client_id), format!("spapi-seller/{seller}"))
}
