//! Dataverse Web API sandbox: a real HTTP server with the Entra token endpoint
//! (`/{tenant}/oauth2/v2.0/token`) and the Web API under `/api/data/v9.2/`: an entity store
//! with required columns, alternate keys, ETags and 412, the `$filter` grammar, `$select`,
//! one level of `$expand`, `$orderby`, `$top`, `$count`, paging through `@odata.nextLink`,
//! `$batch` with change sets, service protection limits (429 + `Retry-After`), change
//! tracking with delta links, webhooks and fault knobs.
//!
//! It starts as a stock organisation does: no alternate keys and no custom columns; the
//! metadata API ([`metadata_api`]) creates them, as `ferry setup` does against a real org. Its
//! fault and limit knobs can be changed while it runs through `POST /_sandbox/faults`
//! ([`admin`]), [`DataverseSandbox::apply_faults`] or `ferry sandbox --crm-…` flags.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig};
//! let sandbox = DataverseSandbox::start(DataverseSandboxConfig::default()).await?;
//! println!("org URL {}, token URL {}", sandbox.base_url(), sandbox.token_url());
//! # Ok(()) }
//! ```

pub mod admin;
pub mod api;
pub mod auth;
pub mod batch;
pub mod errors;
pub mod filter;
pub mod limits;
pub mod metadata;
pub mod metadata_api;
pub mod odata;
pub mod schema;
pub mod store;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::faults::{Fault, FaultConfig, Faults};

pub use admin::{FaultKnobs, FaultState, KnobError};
pub use auth::AppRegistration;
pub use errors::ApiError;
pub use limits::{LimitStats, ServiceLimits};
pub use webhooks::{Delivery, StepMode, StepOptions, WebhookAuth, WebhookRegistration};

use api::{ApiRequest, ApiResponse, Ctx};
use store::Store;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct DataverseSandboxConfig {
    /// The Entra tenant in the token URL.
    pub tenant: String,
    /// Applications allowed to get tokens.
    pub apps: Vec<AppRegistration>,
    /// Organization name (webhook bodies and headers).
    pub organization: String,
    /// Lifetime of issued tokens (Entra: about an hour).
    pub token_lifetime: Duration,
    pub limits: ServiceLimits,
    pub faults: FaultConfig,
    /// Seed of the fault dice, so a test's injected errors are reproducible.
    pub fault_seed: u64,
    /// A stock org has no alternate keys and no custom columns; these make an org that was
    /// customised before the sandbox started: custom columns (table logical name, column
    /// logical name, e.g. `("salesorder", "new_amazonorderid")`) created first, then alternate
    /// keys (table logical name, columns) with their index already `Active`. Both go through
    /// the same checks as the metadata API (`EntityDefinitions(...)/Attributes` and `/Keys`).
    pub custom_columns: Vec<(String, String)>,
    pub alternate_keys: Vec<(String, Vec<String>)>,
    /// Serve HTTPS with this identity (clients trust its CA); `None`: plain HTTP.
    pub tls: Option<Arc<crate::tls::SandboxTls>>,
    /// How long the index job of a key created through the metadata API takes: `Pending` for
    /// the first half, `InProgress` for the second, then `Active`.
    pub key_build: Duration,
}

/// The client id the default configuration accepts.
pub const DEFAULT_CLIENT_ID: &str = "ferry-sandbox-client";
/// Its secret.
pub const DEFAULT_CLIENT_SECRET: &str = "ferry-sandbox-secret";
/// The default tenant.
pub const DEFAULT_TENANT: &str = "ferry-sandbox-tenant";

impl Default for DataverseSandboxConfig {
    fn default() -> Self {
        DataverseSandboxConfig {
            tenant: DEFAULT_TENANT.into(),
            apps: vec![AppRegistration {
                client_id: DEFAULT_CLIENT_ID.into(),
                client_secret: DEFAULT_CLIENT_SECRET.into(),
            }],
            organization: "ferrysandbox".into(),
            token_lifetime: Duration::from_secs(3599),
            limits: ServiceLimits::default(),
            faults: FaultConfig::default(),
            fault_seed: 7,
            custom_columns: Vec::new(),
            alternate_keys: Vec::new(),
            tls: None,
            key_build: Duration::from_secs(1),
        }
    }
}

struct Shared {
    base: String,
    api_base: String,
    store: Mutex<Store>,
    tokens: auth::Tokens,
    limiter: limits::Limiter,
    faults: Faults,
    /// Answers forced through the admin knobs (`force_status` × `force_count`).
    forced: admin::Forced,
    webhooks: Arc<webhooks::Webhooks>,
    requests: AtomicU64,
    /// Requests per method and resource ("GET salesorders", "POST $batch").
    requests_by_kind: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Shared {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Rows created by [`DataverseSandbox::seed_reference_data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceData {
    pub currency: uuid::Uuid,
    pub unit_schedule: uuid::Uuid,
    pub unit: uuid::Uuid,
    pub price_level: uuid::Uuid,
}

/// A running sandbox; stops when dropped or on [`shutdown`](Self::shutdown).
pub struct DataverseSandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tenant: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl DataverseSandbox {
    /// Binds 127.0.0.1 on an ephemeral port and serves.
    pub async fn start(config: DataverseSandboxConfig) -> std::io::Result<Self> {
        Self::start_on(config, "127.0.0.1:0").await
    }

    /// Binds `addr` (e.g. a fixed port for `ferry sandbox`) and serves.
    pub async fn start_on(config: DataverseSandboxConfig, addr: &str) -> std::io::Result<Self> {
        let store = metadata_api::customised_store(&config)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let base = format!("{}://{addr}", crate::tls::scheme(&config.tls));
        let shared = Arc::new(Shared {
            api_base: format!("{base}/api/data/v9.2"),
            base,
            store: Mutex::new(store),
            tokens: auth::Tokens::new(config.tenant.clone(), config.apps.clone(), config.token_lifetime),
            limiter: limits::Limiter::new(config.limits.clone()),
            faults: Faults::new(config.faults.clone(), config.fault_seed),
            forced: admin::Forced::default(),
            webhooks: webhooks::Webhooks::start(config.organization.clone()),
            requests: AtomicU64::new(0),
            requests_by_kind: Mutex::default(),
        });
        let weak = Arc::downgrade(&shared);
        shared.webhooks.on_failure(Box::new(move |delivery| {
            if let Some(shared) = weak.upgrade() {
                record_failed_delivery(&shared, delivery);
            }
        }));
        let router = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/_sandbox/faults", axum::routing::get(get_faults).post(post_faults))
            .fallback(web_api)
            // A `$batch` of 1,000 orders is larger than axum's 2 MB default.
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let tls = config.tls.clone();
        let task = tokio::spawn(async move {
            let serve = crate::tls::serve(listener, tls, router, async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "dataverse sandbox stopped");
            }
        });
        Ok(DataverseSandbox { addr, shared, tenant: config.tenant, stop: Some(stop), task: Some(task) })
    }

    /// The organization URL (`http://127.0.0.1:port`, `https://` with TLS); the token scope is this plus `/.default`.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// `…/api/data/v9.2`.
    pub fn api_url(&self) -> String {
        self.shared.api_base.clone()
    }

    /// The Entra token endpoint of the configured tenant.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.shared.base, self.tenant)
    }

    /// The "authority host" to give a connector instead of `https://login.microsoftonline.com`.
    pub fn authority_url(&self) -> String {
        self.shared.base.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the service protection limits (and forgets the counted requests).
    pub fn set_limits(&self, limits: ServiceLimits) {
        self.shared.limiter.set(limits);
    }

    pub fn limits(&self) -> ServiceLimits {
        self.shared.limiter.limits()
    }

    /// Counters of admitted and throttled requests.
    pub fn limit_stats(&self) -> LimitStats {
        self.shared.limiter.stats()
    }

    /// Fault knobs (error rate, latency, outages, throttling storms), changeable at run time.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Applies run-time knobs (the same as `POST /_sandbox/faults`): scale the limits, force
    /// the next answers to 429/5xx, latency, error and throttle rates, an outage. Nothing
    /// changes when a field is invalid.
    pub fn apply_faults(&self, knobs: &FaultKnobs) -> Result<FaultState, KnobError> {
        apply_knobs(&self.shared, knobs)
    }

    /// The knobs in force.
    pub fn fault_state(&self) -> FaultState {
        fault_state(&self.shared)
    }

    /// The admin endpoint of the knobs (`…/_sandbox/faults`).
    pub fn faults_url(&self) -> String {
        format!("{}/_sandbox/faults", self.shared.base)
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.tokens.set_lifetime(lifetime);
    }

    /// Invalidates every token issued so far: the next call with one gets 401.
    pub fn revoke_tokens(&self) {
        self.shared.tokens.revoke_all();
    }

    /// Registers a webhook (a `serviceendpoint` with contract 8 and an asynchronous step);
    /// returns the step's id.
    pub fn register_webhook(&self, registration: WebhookRegistration) -> uuid::Uuid {
        self.shared.webhooks.register(registration)
    }

    /// Registers a webhook step with its mode and filtering attributes; returns its id (the
    /// `OwningExtension.Id` of its calls).
    pub fn register_webhook_step(&self, registration: WebhookRegistration, options: StepOptions) -> uuid::Uuid {
        self.shared.webhooks.register_step(registration, options)
    }

    pub fn unregister_webhook(&self, id: uuid::Uuid) {
        self.shared.webhooks.unregister(id);
    }

    /// Webhook calls made so far.
    pub fn webhook_deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }

    /// HTTP requests received on the Web API (token calls excluded).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Web API requests received so far per method and resource ("GET salesorders",
    /// "POST $batch"), in name order.
    pub fn requests_by_kind(&self) -> Vec<(String, u64)> {
        let kinds = self.shared.requests_by_kind.lock().unwrap_or_else(|e| e.into_inner());
        kinds.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Rows in an entity set.
    pub fn row_count(&self, set: &str) -> usize {
        self.shared.store().table(set).map_or(0, |t| t.rows.len())
    }

    /// Every row of an entity set, as stored (for tests and the demo).
    pub fn rows(&self, set: &str) -> Vec<serde_json::Map<String, Value>> {
        self.shared.store().table(set).map(|t| t.rows.values().map(|s| s.row.clone()).collect()).unwrap_or_default()
    }

    /// Creates the reference rows an order needs in a fresh environment (as an org has them
    /// out of the box): the USD currency, a unit group with its base unit, and a price list.
    /// Idempotent: a second call finds and returns the same rows (a stock org has no
    /// alternate keys to upsert them by).
    pub fn seed_reference_data(&self) -> Result<ReferenceData, ApiError> {
        let mut store = self.shared.store();
        let no_refs = std::collections::HashMap::new();
        let ctx = Ctx { base: &self.shared.api_base, content_ids: &no_refs };
        let mut txn = store.begin();
        let mut write =
            |method: &str, path: &str, find: Option<(&str, &str)>, body: Value| -> Result<uuid::Uuid, ApiError> {
                if let Some((column, value)) = find {
                    let existing = txn.table(path).and_then(|t| {
                        t.rows
                            .iter()
                            .find(|(_, s)| s.row.get(column).and_then(Value::as_str) == Some(value))
                            .map(|(id, _)| *id)
                    });
                    if let Some(id) = existing {
                        return Ok(id);
                    }
                }
                let request = ApiRequest {
                    method: method.into(),
                    path: path.into(),
                    body: body.to_string().into_bytes(),
                    ..Default::default()
                };
                let response = api::execute(&ctx, &mut txn, &request)?;
                response
                    .headers
                    .iter()
                    .find(|(n, _)| n == "OData-EntityId")
                    .and_then(|(_, url)| {
                        url.rsplit_once('(').and_then(|(_, id)| uuid::Uuid::parse_str(id.trim_end_matches(')')).ok())
                    })
                    .ok_or_else(|| ApiError::new(500, "", format!("seeding {path} returned no id")))
            };
        let currency = write(
            "POST",
            "transactioncurrencies",
            Some(("isocurrencycode", "USD")),
            serde_json::json!({"isocurrencycode": "USD", "currencyname": "US Dollar", "currencysymbol": "$", "currencyprecision": 2, "exchangerate": 1}),
        )?;
        let unit_schedule = write(
            "POST",
            "uomschedules",
            Some(("name", "Default Unit")),
            serde_json::json!({"name": "Default Unit", "baseuomname": "Primary Unit"}),
        )?;
        let unit = write(
            "PATCH",
            &format!("uoms({})", uuid::Uuid::from_u128(unit_schedule.as_u128() ^ 1)),
            None,
            serde_json::json!({"name": "Primary Unit", "quantity": 1, "uomscheduleid@odata.bind": format!("/uomschedules({unit_schedule})")}),
        )?;
        let price_level = write(
            "POST",
            "pricelevels",
            Some(("name", "Default Price List")),
            serde_json::json!({"name": "Default Price List", "transactioncurrencyid@odata.bind": format!("/transactioncurrencies({currency})")}),
        )?;
        let events = txn.commit();
        drop(store);
        let sync = self.shared.webhooks.dispatch(&events, &[]);
        if !sync.is_empty() {
            // Seeding is not a request a step could fail: its synchronous calls just go out.
            let webhooks = Arc::clone(&self.shared.webhooks);
            tokio::spawn(async move { webhooks.deliver_sync(sync).await });
        }
        Ok(ReferenceData { currency, unit_schedule, unit, price_level })
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DataverseSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A failed webhook call becomes a System Job (`asyncoperation`, statecode 3 Completed,
/// statuscode 31 Failed), as on the platform.
fn record_failed_delivery(shared: &Shared, delivery: &Delivery) {
    let Some(def) = schema::by_set("asyncoperations") else { return };
    let id = uuid::Uuid::new_v4();
    let detail = match &delivery.outcome {
        Ok(status) => format!("The webhook endpoint answered HTTP {status}."),
        Err(error) => format!("The webhook call failed: {error}."),
    };
    let mut row = serde_json::Map::new();
    for (column, value) in [
        ("asyncoperationid", Value::String(id.to_string())),
        ("name", Value::String(format!("WebHook: {} of {}", delivery.message, delivery.entity))),
        ("operationtype", Value::from(1)),
        ("statecode", Value::from(3)),
        ("statuscode", Value::from(31)),
        ("message", Value::String(detail.clone())),
        ("friendlymessage", Value::String(detail)),
        ("regardingobjectid", Value::String(delivery.record_id.to_string())),
        ("createdon", Value::String(jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string())),
    ] {
        row.insert(column.to_owned(), value);
    }
    let mut store = shared.store();
    let mut txn = store.begin();
    if txn.put(def, id, row.clone(), row).is_ok() {
        txn.commit();
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some((decode(id), decode(secret)))
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, body) = shared.tokens.issue(&tenant, &body, basic_credentials(&headers), &shared.base);
    let mut response =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), body.to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

fn apply_knobs(shared: &Shared, knobs: &FaultKnobs) -> Result<FaultState, KnobError> {
    knobs.validate()?;
    if knobs.limit_scale.is_some() || knobs.limits.is_some() {
        let current = shared.limiter.limits();
        let mut limits = match knobs.limit_scale {
            Some(scale) => admin::scaled_limits(scale).with_concurrency(current.concurrent),
            None => current,
        };
        if let Some(enabled) = knobs.limits {
            limits.enabled = enabled;
        }
        shared.limiter.set(limits);
    }
    if knobs.latency_ms.is_some() || knobs.error_rate.is_some() || knobs.throttle_rate.is_some() {
        let mut config = shared.faults.config();
        if let Some(ms) = knobs.latency_ms {
            config.latency = Duration::from_millis(ms);
        }
        if let Some(rate) = knobs.error_rate {
            config.error_rate = rate;
        }
        if let Some(rate) = knobs.throttle_rate {
            config.throttle_rate = rate;
        }
        shared.faults.set(config);
    }
    match (knobs.force_status, knobs.force_count) {
        (status, Some(count)) => shared.forced.set(status, count, knobs.retry_after_seconds),
        (_, None) => {
            if let Some(seconds) = knobs.retry_after_seconds {
                shared.forced.set_retry_after(seconds);
            }
        }
    }
    match knobs.outage_seconds {
        Some(s) if s > 0.0 => shared.faults.start_outage(admin::seconds(s)),
        Some(_) => shared.faults.end_outage(),
        None => {}
    }
    Ok(fault_state(shared))
}

fn fault_state(shared: &Shared) -> FaultState {
    let limits = shared.limiter.limits();
    let config = shared.faults.config();
    let (force_status, force_remaining) = shared.forced.pending();
    FaultState {
        limits_enabled: limits.enabled,
        limit_requests: limits.requests,
        limit_window_seconds: limits.window.as_secs_f64(),
        limit_concurrent: limits.concurrent,
        force_status,
        force_remaining,
        retry_after_seconds: shared.forced.retry_after(),
        latency_ms: config.latency.as_millis() as u64,
        error_rate: config.error_rate,
        throttle_rate: config.throttle_rate,
        outage_remaining_seconds: shared.faults.outage_remaining().as_secs_f64(),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &serde_json::to_value(fault_state(&shared)).unwrap_or_default())
}

async fn post_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let knobs: FaultKnobs = match serde_json::from_slice(&body) {
        Ok(knobs) => knobs,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({ "error": format!("the body of POST /_sandbox/faults is not valid: {e}") }),
            );
        }
    };
    match apply_knobs(&shared, &knobs) {
        Ok(state) => json_response(StatusCode::OK, &serde_json::to_value(state).unwrap_or_default()),
        Err(e) => {
            json_response(StatusCode::BAD_REQUEST, &serde_json::json!({ "error": e.to_string(), "field": e.field }))
        }
    }
}

fn to_http(response: ApiResponse) -> Response {
    let mut out = (StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), response.body)
        .into_response();
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
        {
            out.headers_mut().insert(name, value);
        }
    }
    out
}

fn error(e: &ApiError) -> Response {
    to_http(ApiResponse::error(e))
}

async fn web_api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some(rest) =
        ["/api/data/v9.2/", "/api/data/v9.1/", "/api/data/v9.0/"].iter().find_map(|p| path.strip_prefix(p))
    else {
        return error(&ApiError::new(404, "", format!("No Web API resource at '{path}'; use /api/data/v9.2/")));
    };
    shared.requests.fetch_add(1, Ordering::Relaxed);
    {
        let resource = rest.split(['(', '/', '?']).next().unwrap_or(rest);
        let mut kinds = shared.requests_by_kind.lock().unwrap_or_else(|e| e.into_inner());
        *kinds.entry(format!("{method} {resource}")).or_default() += 1;
    }
    if let Some(forced) = shared.forced.take(&shared.limiter.limits()) {
        return error(&forced);
    }
    let (fault, latency) = shared.faults.decide();
    match fault {
        Fault::None => {}
        Fault::Outage { remaining } => {
            let mut e = ApiError::new(503, admin::OUTAGE_CODE, admin::OUTAGE_MESSAGE);
            e.retry_after = Some(remaining.as_secs().max(1));
            return error(&e);
        }
        Fault::ServerError => {
            return error(&ApiError::new(500, "0x80040216", "An unexpected error occurred."));
        }
        Fault::Throttle => {
            let limits = shared.limiter.limits();
            return error(&ApiError::throttled(
                errors::REQUESTS_EXCEEDED,
                admin::requests_exceeded_message(&limits),
                shared.forced.retry_after(),
            ));
        }
    }
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let identity = match shared.tokens.identity(authorization) {
        Ok(identity) => identity,
        Err(reason) => {
            let mut response = error(&ApiError::new(401, "0x80072560", reason));
            let challenge =
                format!("Bearer authorization_uri={}/oauth2/authorize, resource_id={}", shared.base, shared.base);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert("www-authenticate", value);
            }
            return response;
        }
    };
    let _admission = match shared.limiter.admit(&identity) {
        Ok(admission) => admission,
        Err(e) => return error(&e),
    };
    // Added latency holds the concurrency slot, as a slow request does.
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let api_base = format!("{}/api/data/v9.2", request_base(&shared, &headers));
    let header_list: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_ascii_lowercase(), v.to_owned())))
        .collect();
    let request = ApiRequest {
        method: method.as_str().to_owned(),
        path: rest.to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: header_list,
        body: body.to_vec(),
    };
    if rest == "$batch" {
        if method != Method::POST {
            return error(&ApiError::new(405, "0x80060888", "$batch requires POST."));
        }
        let content_type = request.header("content-type").unwrap_or_default().to_owned();
        let continue_on_error = request.prefer().iter().any(|p| p.eq_ignore_ascii_case("odata.continue-on-error"));
        let (outcome, hooks) = {
            let mut store = shared.store();
            let outcome = batch::run(&mut store, &api_base, &content_type, &request.body, continue_on_error);
            let hooks = match &outcome {
                Ok(o) if !o.events.is_empty() => webhooks::registered_in_store(&store),
                _ => Vec::new(),
            };
            (outcome, hooks)
        };
        return match outcome {
            Ok(outcome) => {
                // Synchronous steps of a batch are called before it answers; their failures are
                // recorded but do not undo the batch (the sandbox's limit, see the notes).
                let sync = shared.webhooks.dispatch(&outcome.events, &hooks);
                let _ = shared.webhooks.deliver_sync(sync).await;
                to_http(ApiResponse {
                    status: outcome.status,
                    headers: vec![
                        ("Content-Type".into(), outcome.content_type),
                        ("OData-Version".into(), "4.0".into()),
                    ],
                    body: outcome.body,
                })
            }
            Err(e) => error(&e),
        };
    }
    let (result, events, hooks, revert) = {
        let mut store = shared.store();
        let no_refs = std::collections::HashMap::new();
        let mut txn = store.begin();
        let (result, events, revert) =
            match api::execute(&Ctx { base: &api_base, content_ids: &no_refs }, &mut txn, &request) {
                Ok(response) => {
                    let (events, revert) = txn.commit_revertible();
                    (Ok(response), events, Some(revert))
                }
                Err(e) => {
                    drop(txn); // undoes the writes
                    (Err(e), Vec::new(), None)
                }
            };
        let hooks = if events.is_empty() { Vec::new() } else { webhooks::registered_in_store(&store) };
        (result, events, hooks, revert)
    };
    let sync = shared.webhooks.dispatch(&events, &hooks);
    if !sync.is_empty()
        && let Err(failed) = shared.webhooks.deliver_sync(sync).await
    {
        if let Some(revert) = revert {
            shared.store().revert(revert);
        }
        return error(&sync_step_failed(&failed));
    }
    match result {
        Ok(response) => to_http(response),
        Err(e) => error(&e),
    }
}

/// The answer to a request whose synchronous WebHook step failed (its writes are undone). The
/// reference gives no code or text for it; the code is the platform's "ISV code aborted the
/// operation" that plug-in failures carry.
fn sync_step_failed(delivery: &Delivery) -> ApiError {
    let host =
        delivery.url.split("://").nth(1).and_then(|rest| rest.split(['/', '?']).next()).unwrap_or("the endpoint");
    let why = match &delivery.outcome {
        Ok(status) => format!("it answered HTTP {status}"),
        Err(e) => e.clone(),
    };
    ApiError::new(
        400,
        "0x80040265",
        format!(
            "The synchronous WebHook step for {} of {} failed: the call to {host} did not succeed ({why}). The operation was rolled back.",
            delivery.message, delivery.entity
        ),
    )
}

/// `scheme://host` of the request's own `Host` header (the sandbox serves one scheme), so links
/// it returns (next, delta, entity ids) lead back the way the client came; the configured
/// address when the header is absent or not a plain host[:port].
fn request_base(shared: &Shared, headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).filter(|h| {
        !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    });
    match (host, shared.base.split_once("://")) {
        (Some(host), Some((scheme, _))) => format!("{scheme}://{host}"),
        _ => shared.base.clone(),
    }
}
