//! Dynamics 365 Finance & Operations sandbox: a real HTTP(S) server with the Entra token
//! endpoint in both forms (v2 `/{tenant}/oauth2/v2.0/token` with `scope=<env>/.default`, v1
//! `/{tenant}/oauth2/token` with `resource=<env>`, DYNAMICS.md §B.1) and OData v4 at `/data/`
//! (§B.2–B.4): the entities of [`schema::SERVED`] with their real fields, composite keys that
//! must include `dataAreaId`, the default company unless `cross-company=true`, number
//! sequences and entity-method defaulting ([`methods`]), `$filter` in F&O's dialect (no `in`,
//! `has` or string functions; wildcards; enum literals), `$select`, `$top`, `$skip`,
//! `$orderby`, `$count`, first-level `$expand`, server paging with `@odata.nextLink`,
//! `$batch` with atomic change sets, `$metadata`, priority-based 429s ([`limits`]),
//! business events ([`events`]) and the shared fault knobs.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ferry_sandbox::fno::{FnoSandbox, FnoSandboxConfig};
//! let sandbox = FnoSandbox::start(FnoSandboxConfig::default()).await?;
//! println!("environment {}, data {}", sandbox.base_url(), sandbox.data_url());
//! # Ok(()) }
//! ```

pub mod api;
pub mod batch;
pub mod errors;
pub mod events;
pub mod limits;
pub mod metadata;
pub mod methods;
pub mod odata;
pub mod schema;
pub mod seed;
pub mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::dataverse::auth::{AppRegistration, TokenForm, Tokens};
use crate::faults::{Fault, FaultConfig, Faults};

pub use errors::FnoError;
pub use events::EventDelivery;
pub use limits::{Priority, Throttle};

/// The client id the default configuration accepts.
pub const DEFAULT_CLIENT_ID: &str = "ferry-fno-client";
/// Its secret.
pub const DEFAULT_CLIENT_SECRET: &str = "ferry-fno-secret";
/// The default tenant.
pub const DEFAULT_TENANT: &str = "ferry-sandbox-tenant";
/// F&O's largest page.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct FnoSandboxConfig {
    pub tenant: String,
    /// Applications allowed to get tokens (Azure Active Directory applications in F&O).
    pub apps: Vec<AppRegistration>,
    /// Throttling priority per client id; applications without one are [`Priority::Low`].
    pub priorities: HashMap<String, Priority>,
    /// The company the callers' user defaults to.
    pub default_company: String,
    pub token_lifetime: Duration,
    /// Rows per page (at most 10,000, F&O's maximum); tests lower it.
    pub page_size: usize,
    pub throttle: Throttle,
    pub faults: FaultConfig,
    pub fault_seed: u64,
    /// Serve HTTPS with this identity; `None`: plain HTTP.
    pub tls: Option<Arc<crate::tls::SandboxTls>>,
    /// CA certificates (PEM) that `https://` business-event endpoints are verified against.
    pub event_ca_pem: Option<String>,
    /// Seed the demo data (companies' customers, products, on-hand).
    pub seed: bool,
}

impl Default for FnoSandboxConfig {
    fn default() -> Self {
        FnoSandboxConfig {
            tenant: DEFAULT_TENANT.into(),
            apps: vec![AppRegistration {
                client_id: DEFAULT_CLIENT_ID.into(),
                client_secret: DEFAULT_CLIENT_SECRET.into(),
            }],
            priorities: HashMap::new(),
            default_company: "usmf".into(),
            token_lifetime: Duration::from_secs(3599),
            page_size: MAX_PAGE_SIZE,
            throttle: Throttle::default(),
            faults: FaultConfig::default(),
            fault_seed: 7,
            tls: None,
            event_ca_pem: None,
            seed: true,
        }
    }
}

struct Shared {
    base: String,
    store: Mutex<store::Store>,
    setup: seed::Setup,
    default_company: String,
    tokens: Tokens,
    limiter: limits::Limiter,
    faults: Faults,
    events: Arc<events::Events>,
    page_size: AtomicUsize,
    requests: AtomicU64,
}

impl Shared {
    fn store(&self) -> std::sync::MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running sandbox; stops when dropped or on [`shutdown`](Self::shutdown).
pub struct FnoSandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tenant: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
}

impl FnoSandbox {
    /// Binds 127.0.0.1 on an ephemeral port and serves.
    pub async fn start(config: FnoSandboxConfig) -> std::io::Result<Self> {
        Self::start_on(config, "127.0.0.1:0").await
    }

    /// Binds `addr` and serves.
    pub async fn start_on(config: FnoSandboxConfig, addr: &str) -> std::io::Result<Self> {
        let event_tls = config.event_ca_pem.as_deref().map(events::client_tls).transpose().map_err(invalid)?;
        let setup = seed::setup();
        if setup.company(&config.default_company).is_none() {
            return Err(invalid(format!("the default company '{}' is not usmf or demf", config.default_company)));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let base = format!("{}://{addr}", crate::tls::scheme(&config.tls));
        let shared = Arc::new(Shared {
            base,
            store: Mutex::new(store::Store::default()),
            setup,
            default_company: config.default_company.to_lowercase(),
            tokens: Tokens::new(config.tenant.clone(), config.apps.clone(), config.token_lifetime),
            limiter: limits::Limiter::new(config.throttle, config.priorities.clone(), Priority::Low),
            faults: Faults::new(config.faults.clone(), config.fault_seed),
            events: events::Events::start(event_tls),
            page_size: AtomicUsize::new(config.page_size.clamp(1, MAX_PAGE_SIZE)),
            requests: AtomicU64::new(0),
        });
        if config.seed {
            seed_demo(&shared).map_err(invalid)?;
        }
        let router = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token_v2))
            .route("/{tenant}/oauth2/token", post(token_v1))
            .fallback(data)
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let tls = config.tls.clone();
        let task = tokio::spawn(async move {
            let serve = crate::tls::serve(listener, tls, router, async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "F&O sandbox stopped");
            }
        });
        Ok(FnoSandbox { addr, shared, tenant: config.tenant, stop: Some(stop), task: Some(task) })
    }

    /// The environment URL (`http://127.0.0.1:port`): the token resource, and the v2 scope
    /// plus `/.default`.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// `…/data`
    pub fn data_url(&self) -> String {
        format!("{}/data", self.shared.base)
    }

    /// The v2 token endpoint of the configured tenant.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.shared.base, self.tenant)
    }

    /// The v1 token endpoint (`resource=` form).
    pub fn token_url_v1(&self) -> String {
        format!("{}/{}/oauth2/token", self.shared.base, self.tenant)
    }

    /// The "authority host" to give a connector instead of `https://login.microsoftonline.com`.
    pub fn authority_url(&self) -> String {
        self.shared.base.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Fault knobs (error rate, latency, outages, random 429s), changeable at run time.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Sets the priority-based throttling pressure.
    pub fn set_throttle(&self, throttle: Throttle) {
        self.shared.limiter.set(throttle);
    }

    pub fn throttle(&self) -> Throttle {
        self.shared.limiter.get()
    }

    /// Maps an application to a throttling priority.
    pub fn set_priority(&self, client_id: &str, priority: Priority) {
        self.shared.limiter.set_priority(client_id, priority);
    }

    /// 429s answered so far.
    pub fn throttled_count(&self) -> u64 {
        self.shared.limiter.throttled()
    }

    /// Requests to `/data/` so far.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Rows per page from now on (1–10,000).
    pub fn set_page_size(&self, rows: usize) {
        self.shared.page_size.store(rows.clamp(1, MAX_PAGE_SIZE), Ordering::Relaxed);
    }

    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.tokens.set_lifetime(lifetime);
    }

    /// Invalidates every token issued so far.
    pub fn revoke_tokens(&self) {
        self.shared.tokens.revoke_all();
    }

    /// Registers an endpoint that gets every business event; returns its id.
    pub fn register_business_event_endpoint(&self, url: &str) -> uuid::Uuid {
        self.shared.events.register(url)
    }

    pub fn unregister_business_event_endpoint(&self, id: uuid::Uuid) {
        self.shared.events.unregister(id);
    }

    /// Every delivery attempt's outcome so far.
    pub fn business_event_deliveries(&self) -> Vec<EventDelivery> {
        self.shared.events.deliveries()
    }

    /// Creates a row through the entity methods, as a POST would (company: the body's
    /// `dataAreaId`, else the default); no business event. For seeding tests in bulk.
    pub fn insert(&self, set: &str, body: Value) -> Result<Value, FnoError> {
        let def = schema::by_set(set).ok_or_else(|| FnoError::not_found(format!("No entity set '{set}'.")))?;
        let Value::Object(body) = body else { return Err(FnoError::bad_request("The row must be a JSON object.")) };
        let mut store = self.shared.store();
        let mark = store.mark();
        let ctx = methods::Ctx::new(&self.shared.default_company);
        match methods::create(&mut store, &self.shared.setup, def, body, &ctx) {
            Ok(row) => {
                store.commit();
                Ok(Value::Object(row))
            }
            Err(e) => {
                store.rollback(mark);
                Err(e)
            }
        }
    }

    /// Every row of `set` (all companies), in key order.
    pub fn rows(&self, set: &str) -> Vec<Value> {
        self.shared.store().rows(set).map(|s| Value::Object(s.row.clone())).collect()
    }

    /// Sets the physical on-hand of an item in a warehouse (WarehousesOnHandV2) and the
    /// site totals (InventorySitesOnHandV2), as inventory transactions would.
    pub fn set_on_hand(&self, company: &str, item: &str, site: &str, warehouse: &str, quantity: i64) {
        let mut store = self.shared.store();
        put_on_hand(&mut store, company, item, site, warehouse, quantity);
        store.commit();
    }

    /// [`set_on_hand`](Self::set_on_hand) for many rows at once (company, item, site,
    /// warehouse, quantity), for tests that need tens of thousands of rows.
    pub fn set_on_hand_bulk<'a>(&self, rows: impl IntoIterator<Item = (&'a str, &'a str, &'a str, &'a str, i64)>) {
        let mut store = self.shared.store();
        let mut groups = std::collections::HashSet::new();
        for (company, item, site, warehouse, quantity) in rows {
            groups.extend(put_warehouse_on_hand(&mut store, company, item, site, warehouse, quantity));
        }
        recompute_sites(&mut store, groups);
        store.commit();
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

impl Drop for FnoSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn on_hand_row(def: &schema::EntityDef, fields: &[(&str, Value)]) -> Map<String, Value> {
    let mut row = methods::defaults(def);
    for (k, v) in fields {
        row.insert((*k).to_owned(), v.clone());
    }
    row.insert(schema::MODIFIED.into(), Value::String(methods::now_text()));
    row
}

fn quantities(q: i64) -> [(&'static str, Value); 3] {
    [
        ("OnHandQuantity", Value::from(q)),
        ("AvailableOnHandQuantity", Value::from(q)),
        ("TotalAvailableQuantity", Value::from(q)),
    ]
}

fn product_name(store: &store::Store, company: &str, item: &str) -> Value {
    let Some(def) = schema::by_set("ReleasedProductsV2") else { return Value::String(String::new()) };
    store
        .get(&def.set, &vec![company.to_owned(), item.to_owned()])
        .and_then(|s| s.row.get("SearchName").cloned())
        .unwrap_or(Value::String(String::new()))
}

/// Writes one WarehousesOnHandV2 row; returns its (company, item, site) for the site totals.
fn put_warehouse_on_hand(
    store: &mut store::Store,
    company: &str,
    item: &str,
    site: &str,
    warehouse: &str,
    quantity: i64,
) -> Option<(String, String, String)> {
    let wh = schema::by_set("WarehousesOnHandV2")?;
    let company = company.to_lowercase();
    let mut fields = vec![
        ("dataAreaId", Value::String(company.clone())),
        ("ItemNumber", Value::String(item.to_owned())),
        ("InventorySiteId", Value::String(site.to_owned())),
        ("InventoryWarehouseId", Value::String(warehouse.to_owned())),
        ("ProductName", product_name(store, &company, item)),
        ("AreWarehouseManagementProcessesUsed", Value::String("No".into())),
    ];
    fields.extend(quantities(quantity));
    let row = on_hand_row(wh, &fields);
    let key = store::key_of(wh, &row).ok()?;
    store.put(&wh.set, key, row, true);
    Some((company, item.to_owned(), site.to_owned()))
}

/// Recomputes InventorySitesOnHandV2 for the given (company, item, site) groups in one pass.
fn recompute_sites(store: &mut store::Store, groups: std::collections::HashSet<(String, String, String)>) {
    let (Some(wh), Some(st)) = (schema::by_set("WarehousesOnHandV2"), schema::by_set("InventorySitesOnHandV2")) else {
        return;
    };
    let text = |row: &Map<String, Value>, f: &str| row.get(f).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut totals: HashMap<(String, String, String), i64> = groups.into_iter().map(|g| (g, 0)).collect();
    for s in store.rows(&wh.set) {
        let group = (text(&s.row, "dataAreaId"), text(&s.row, "ItemNumber"), text(&s.row, "InventorySiteId"));
        if let Some(total) = totals.get_mut(&group) {
            *total += s.row.get("OnHandQuantity").and_then(Value::as_i64).unwrap_or_default();
        }
    }
    for ((company, item, site), total) in totals {
        let mut fields = vec![
            ("dataAreaId", Value::String(company.clone())),
            ("ItemNumber", Value::String(item.clone())),
            ("InventorySiteId", Value::String(site)),
            ("ProductName", product_name(store, &company, &item)),
            ("AreWarehouseManagementProcessesUsed", Value::String("No".into())),
        ];
        fields.extend(quantities(total));
        let row = on_hand_row(st, &fields);
        if let Ok(key) = store::key_of(st, &row) {
            store.put(&st.set, key, row, true);
        }
    }
}

fn put_on_hand(store: &mut store::Store, company: &str, item: &str, site: &str, warehouse: &str, quantity: i64) {
    if let Some(group) = put_warehouse_on_hand(store, company, item, site, warehouse, quantity) {
        recompute_sites(store, std::iter::once(group).collect());
    }
}

fn seed_demo(shared: &Shared) -> Result<(), FnoError> {
    let mut store = shared.store();
    let ctx = methods::Ctx::new(&shared.default_company);
    for (set, rows) in [("CustomersV3", seed::customers()), ("ReleasedProductsV2", seed::products())] {
        let def = schema::by_set(set).ok_or_else(|| FnoError::not_found(set.to_owned()))?;
        for row in rows {
            if let Value::Object(body) = row {
                methods::create(&mut store, &shared.setup, def, body, &ctx)?;
            }
        }
    }
    for (company, item, site, warehouse, quantity) in seed::on_hand() {
        put_on_hand(&mut store, company, item, site, warehouse, quantity);
    }
    store.commit();
    Ok(())
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some((decode(id), decode(secret)))
}

fn token_response(shared: &Shared, form: TokenForm, tenant: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let (status, body) = shared.tokens.issue_for(form, tenant, body, basic_credentials(headers), &shared.base);
    let mut response =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), body.to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

async fn token_v2(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token_response(&shared, TokenForm::V2Scope, &tenant, &headers, &body)
}

async fn token_v1(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token_response(&shared, TokenForm::V1Resource, &tenant, &headers, &body)
}

fn to_http(response: api::Response) -> Response {
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

fn error(e: &FnoError) -> Response {
    to_http(api::Response::error(e))
}

/// `scheme://host` of the request's `Host` header, so links lead back the way the client came.
fn request_base(shared: &Shared, headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).filter(|h| {
        !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    });
    match (host, shared.base.split_once("://")) {
        (Some(host), Some((scheme, _))) => format!("{scheme}://{host}"),
        _ => shared.base.clone(),
    }
}

async fn data(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/data/").or_else(|| (path == "/data").then_some("")) else {
        return error(&FnoError::not_found(format!("No resource at '{path}'; the OData service is at /data/.")));
    };
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let (fault, latency) = shared.faults.decide();
    match fault {
        Fault::None => {}
        Fault::Outage { remaining } => {
            let mut e = FnoError::new(503, "System.Net.WebException", "The service is unavailable.");
            e.retry_after = Some(remaining.as_secs().max(1));
            return error(&e);
        }
        Fault::ServerError => {
            return error(&FnoError::new(500, "System.Exception", "An unexpected error occurred on the server."));
        }
        Fault::Throttle => {
            shared.limiter.count_throttled();
            return error(&FnoError::throttled(shared.limiter.get().retry_after_secs));
        }
    }
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let identity = match shared.tokens.identity(authorization) {
        Ok(identity) => identity,
        Err(reason) => {
            let mut response = error(&FnoError::new(401, "System.UnauthorizedAccessException", reason));
            if let Ok(value) =
                HeaderValue::from_str(&format!("Bearer authorization_uri={}/oauth2/authorize", shared.base))
            {
                response.headers_mut().insert("www-authenticate", value);
            }
            return response;
        }
    };
    if let Err(e) = shared.limiter.admit(&identity) {
        return error(&e);
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if rest == "$metadata" {
        let mut response = (StatusCode::OK, metadata::csdl()).into_response();
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/xml"));
        return response;
    }
    let base = format!("{}/data", request_base(&shared, &headers));
    let env = api::Env {
        base: &base,
        setup: &shared.setup,
        ctx: methods::Ctx::new(&shared.default_company),
        page_size: shared.page_size.load(Ordering::Relaxed),
    };
    let header_list: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_ascii_lowercase(), v.to_owned())))
        .collect();
    let request = api::Request {
        method: method.as_str().to_owned(),
        path: rest.to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: header_list,
        body: body.to_vec(),
    };
    let (result, changes) = {
        let mut store = shared.store();
        let mark = store.mark();
        let result = if rest == "$batch" {
            if method != Method::POST {
                Err(FnoError::new(405, errors::ODATA_EXCEPTION, "$batch requires POST."))
            } else {
                let content_type = request.header("content-type").unwrap_or_default().to_owned();
                let continue_on_error = request.header("prefer").is_some_and(|p| p.contains("odata.continue-on-error"));
                batch::run(&env, &mut store, &content_type, &request.body, continue_on_error).map(|outcome| {
                    api::Response {
                        status: 200,
                        headers: vec![
                            ("Content-Type".into(), outcome.content_type),
                            ("OData-Version".into(), "4.0".into()),
                        ],
                        body: outcome.body,
                    }
                })
            }
        } else {
            api::execute(&env, &mut store, &request)
        };
        if result.is_err() {
            store.rollback(mark);
        }
        (result, store.commit())
    };
    shared.events.publish(&changes);
    match result {
        Ok(response) => to_http(response),
        Err(e) => error(&e),
    }
}
