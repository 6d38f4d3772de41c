//! Amazon SP-API + LWA sandbox: a real HTTP server on 127.0.0.1 that any SP-API client can be
//! pointed at. LWA (`POST /auth/o2/token`) and SP-API share one listener. Every operation
//! draws from its own token bucket at Amazon's documented default plan (sped up by a knob),
//! answers throttling with Amazon's 429 body, and carries `x-amzn-RequestId` and (where
//! Amazon sends it) `x-amzn-RateLimit-Limit`. Fault knobs come from [`crate::faults`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
//! let sandbox = AmazonSandbox::start(AmazonSandboxConfig::default()).await?;
//! sandbox.seed_orders(100, 0.05);
//! println!("SP-API and LWA at {}", sandbox.base_url());
//! # Ok(()) }
//! ```

pub mod feeds;
pub mod finances;
pub mod fulfillment;
pub mod http;
pub mod inventory;
pub mod limits;
pub mod listings;
mod lwa;
pub mod notifications_api;
pub mod notify;
mod orders;
pub mod reports;
pub mod request_log;
pub mod seed;
pub mod settlement;
pub mod sqs;
pub mod state;
pub mod tokens;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use jiff::{SignedDuration, Timestamp};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::faults::{Fault, Faults};
use limits::{Limiter, OperationLimit};
pub use limits::{OPERATION_LIMITS, operation_limit};
use lwa::IssuedToken;

/// How the sandbox starts. Every field can be left at its default.
#[derive(Debug, Clone)]
pub struct AmazonSandboxConfig {
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
    /// LWA credentials the token endpoint accepts.
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// The selling partner's id (notifications, listings paths).
    pub seller_id: String,
    /// The marketplace seeded orders belong to.
    pub marketplace_id: String,
    /// Lifetime of issued access tokens (Amazon: one hour).
    pub token_lifetime: Duration,
    /// Token buckets run this many times faster than Amazon's plans (1.0 = Amazon's pace).
    pub speedup: f64,
    /// Seed of the generators (orders, faults), so a run is reproducible.
    pub seed: u64,
    /// AWS keys the SQS-compatible queue checks SigV4 signatures against.
    pub aws_access_key_id: String,
    pub aws_secret_access_key: String,
    pub aws_region: String,
    pub queue_name: String,
    /// Seeded orders live on: Pending ones are authorized after 30 minutes and FBA ones
    /// are shipped by Amazon after 4 hours (Amazon's pace, sped up), each with ORDER_CHANGE.
    /// Tests that count orders by status turn it off.
    pub order_lifecycle: bool,
    /// Off: no operation's token bucket refuses anything (benchmarks "with limits off");
    /// injected faults and throttle storms still apply.
    pub rate_limits: bool,
    /// Serve HTTPS with this identity (clients trust its CA); `None`: plain HTTP.
    pub tls: Option<Arc<crate::tls::SandboxTls>>,
}

impl Default for AmazonSandboxConfig {
    fn default() -> Self {
        AmazonSandboxConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "amzn1.application-oa2-client.sandbox".into(),
            client_secret: "sandbox-client-secret".into(),
            refresh_token: "Atzr|sandbox-refresh-token".into(),
            seller_id: "A2SANDBOXSELLER".into(),
            marketplace_id: "ATVPDKIKX0DER".into(),
            token_lifetime: Duration::from_secs(3600),
            speedup: 1.0,
            seed: 7,
            aws_access_key_id: "AKIDFERRYSANDBOX".into(),
            aws_secret_access_key: "ferry-sandbox-aws-secret".into(),
            aws_region: "us-east-1".into(),
            queue_name: "ferry-notifications".into(),
            order_lifecycle: true,
            rate_limits: true,
            tls: None,
        }
    }
}

/// Request counters, for tests and the demo's status line.
#[derive(Debug, Default)]
pub struct Stats {
    /// SP-API requests received (LWA not included).
    pub requests: AtomicU64,
    /// 429s answered (token buckets and throttle storms).
    pub throttled: AtomicU64,
    /// LWA token requests.
    pub lwa_requests: AtomicU64,
    /// SP-API requests received per operation (`getOrder`, `searchOrders`, …).
    by_operation: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Stats {
    /// SP-API requests received so far, per operation, in name order.
    pub fn by_operation(&self) -> Vec<(String, u64)> {
        lock(&self.by_operation).iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn count(&self, operation: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *lock(&self.by_operation).entry(operation.to_owned()).or_default() += 1;
    }
}

/// State shared by every route.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: AmazonSandboxConfig,
    pub limiter: Limiter,
    pub faults: Faults,
    pub stats: Stats,
    pub(crate) request_log: request_log::RequestLog,
    pub orders: Mutex<state::Orders>,
    pub fulfillment: Mutex<fulfillment::Fulfillment>,
    pub reports: Mutex<reports::Reports>,
    pub listings: Mutex<listings::Listings>,
    pub feeds: Mutex<feeds::Feeds>,
    pub notifications_api: Mutex<notifications_api::NotificationsState>,
    /// The SQS-compatible queue that receives emitted notifications.
    pub queue: Mutex<sqs::Queue>,
    pub rng: Mutex<fastrand::Rng>,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    pub rdts: Mutex<HashMap<String, tokens::Rdt>>,
    token_lifetime: Mutex<Duration>,
    /// Wakes long-polling receivers.
    pub published: tokio::sync::Notify,
    base_url: Mutex<String>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves the data consistent, so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn token_lifetime(&self) -> Duration {
        *lock(&self.token_lifetime)
    }

    pub fn issue_token(&self, token: String, issued: IssuedToken) {
        let mut tokens = lock(&self.tokens);
        let now = Instant::now();
        tokens.retain(|_, t| t.expires_at > now);
        tokens.insert(token, issued);
    }

    pub fn orders(&self) -> std::sync::MutexGuard<'_, state::Orders> {
        lock(&self.orders)
    }

    pub fn fulfillment(&self) -> std::sync::MutexGuard<'_, fulfillment::Fulfillment> {
        lock(&self.fulfillment)
    }

    pub fn queue(&self) -> std::sync::MutexGuard<'_, sqs::Queue> {
        lock(&self.queue)
    }

    /// `<base>/<account>/<queue>`.
    pub fn queue_url(&self) -> String {
        format!("{}/000000000000/{}", self.base_url(), self.config.queue_name)
    }

    pub fn base_url(&self) -> String {
        lock(&self.base_url).clone()
    }

    /// Emits a notification onto the queue.
    pub fn publish(&self, notification: serde_json::Value) {
        self.queue().push(notification.to_string());
        self.published.notify_waiters();
    }

    /// Moves orders along their lifecycle (if enabled) and emits ORDER_CHANGE for each change.
    pub fn advance_orders(&self) {
        if !self.config.order_lifecycle {
            return;
        }
        let speedup = self.limiter.speedup();
        let notifications: Vec<serde_json::Value> = {
            let mut rng = lock(&self.rng);
            let mut orders = self.orders();
            let changed = orders.advance(speedup, &mut rng);
            changed
                .iter()
                .filter_map(|id| orders.by_id.get(id))
                .map(|o| notify::order_change(&self.config.seller_id, o, "OrderStatusChange"))
                .collect()
        };
        for notification in notifications {
            self.publish(notification);
        }
    }

    /// Moves fulfilment orders along their timeline and emits their notifications.
    pub fn advance_fulfillment(&self) {
        let speedup = self.limiter.speedup();
        let emitted = {
            let mut rng = lock(&self.rng);
            self.fulfillment().advance(speedup, &self.config.seller_id, &self.config.marketplace_id, &mut rng)
        };
        for notification in emitted {
            self.publish(notification);
        }
    }

    /// Everything an SP-API request passes before its handler runs: faults, the access token,
    /// then the operation's token bucket. `Ok` carries the rate to announce.
    pub async fn gate(&self, api: &str, operation: &str, headers: &HeaderMap) -> Result<Option<f64>, Response> {
        self.gate_with(api, operation, headers, false).await
    }

    /// [`gate`](Self::gate) for grantless operations: they need a client-credentials token
    /// with the `sellingpartnerapi::notifications` scope.
    pub async fn gate_grantless(
        &self,
        api: &str,
        operation: &str,
        headers: &HeaderMap,
    ) -> Result<Option<f64>, Response> {
        self.gate_with(api, operation, headers, true).await
    }

    async fn gate_with(
        &self,
        api: &str,
        operation: &str,
        headers: &HeaderMap,
        grantless: bool,
    ) -> Result<Option<f64>, Response> {
        if !self.request_log.is_on() {
            return self.admit(api, operation, headers, grantless).await;
        }
        let at = Instant::now();
        let caller = self.caller(headers);
        let admitted = self.admit(api, operation, headers, grantless).await;
        self.request_log.push(request_log::RequestRecord {
            at,
            api: api.to_owned(),
            operation: operation.to_owned(),
            caller,
            refused: admitted.as_ref().err().map(|r| r.status().as_u16()),
        });
        admitted
    }

    /// Whom the request's access token (or RDT) was issued for.
    pub(crate) fn caller(&self, headers: &HeaderMap) -> Option<Arc<request_log::Caller>> {
        let token = headers.get("x-amz-access-token").and_then(|v| v.to_str().ok())?;
        if let Some(issued) = lock(&self.tokens).get(token) {
            return Some(Arc::clone(&issued.caller));
        }
        lock(&self.rdts).get(token).and_then(|rdt| rdt.caller.clone())
    }

    async fn admit(
        &self,
        api: &str,
        operation: &str,
        headers: &HeaderMap,
        grantless: bool,
    ) -> Result<Option<f64>, Response> {
        self.stats.count(operation);
        let (fault, latency) = self.faults.decide();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match fault {
            Fault::None => {}
            Fault::Outage { .. } => {
                return Err(http::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "Service temporarily unavailable. Please try again later.",
                    None,
                ));
            }
            Fault::ServerError => {
                return Err(http::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalFailure",
                    "We encountered an internal error. Please try again.",
                    None,
                ));
            }
            Fault::Throttle => {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(http::quota_exceeded());
            }
        }
        if let Err(details) = self.authorize(headers, grantless) {
            return Err(http::json_response(
                StatusCode::FORBIDDEN,
                &http::error_body("Unauthorized", "Access to requested resource is denied.", details),
                None,
            ));
        }
        let Some(limit): Option<&OperationLimit> = operation_limit(api, operation) else {
            return Ok(None);
        };
        if !self.config.rate_limits {
            // No plan is kept, so none is announced: a client that learns rates from
            // `x-amzn-RateLimit-Limit` must not slow down to a limit nobody enforces.
            return Ok(None);
        }
        match self.limiter.admit(limit) {
            Some(rate) => Ok(Some(rate)),
            None => {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                Err(http::quota_exceeded())
            }
        }
    }

    /// Checks `x-amz-access-token`; `Err` carries the details of the 403.
    fn authorize(&self, headers: &HeaderMap, grantless: bool) -> Result<(), &'static str> {
        let Some(token) = headers.get("x-amz-access-token").and_then(|v| v.to_str().ok()) else {
            return Err("Access token is missing in the request header.");
        };
        if !grantless && self.is_rdt(token) {
            return Ok(());
        }
        let tokens = lock(&self.tokens);
        match tokens.get(token) {
            None => Err("The access token you provided is revoked, malformed or invalid."),
            Some(issued) if issued.expires_at <= Instant::now() => Err("The access token you provided has expired."),
            // Grantless tokens open grantless operations only, and only those.
            Some(issued) if grantless => match issued.scope.as_deref() {
                Some("sellingpartnerapi::notifications") => Ok(()),
                _ => Err("This operation needs a grantless token with scope sellingpartnerapi::notifications."),
            },
            Some(issued) if issued.scope.is_some() => Err("The access token is not valid for this operation."),
            Some(_) => Ok(()),
        }
    }
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct AmazonSandbox {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl AmazonSandbox {
    /// Binds the listener and serves in the background.
    pub async fn start(config: AmazonSandboxConfig) -> std::io::Result<AmazonSandbox> {
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("{}://{addr}", crate::tls::scheme(&config.tls));
        let tls = config.tls.clone();
        let shared = Arc::new(Shared {
            limiter: Limiter::new(config.speedup),
            faults: Faults::new(Default::default(), config.seed),
            stats: Stats::default(),
            request_log: Default::default(),
            orders: Mutex::new(state::Orders::default()),
            fulfillment: Mutex::new(fulfillment::Fulfillment {
                inventory: (0..seed::CATALOG_SIZE).map(|n| (seed::catalog_sku(n), 100)).collect(),
                ..Default::default()
            }),
            queue: Mutex::new(sqs::Queue::default()),
            reports: Mutex::new(reports::Reports::default()),
            feeds: Mutex::new(feeds::Feeds::default()),
            notifications_api: Mutex::new(Default::default()),
            listings: Mutex::new(listings::Listings::seeded(&config.marketplace_id)),
            base_url: Mutex::new(base_url.clone()),
            published: tokio::sync::Notify::new(),
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
            tokens: Mutex::new(HashMap::new()),
            rdts: Mutex::new(HashMap::new()),
            token_lifetime: Mutex::new(config.token_lifetime),
            config,
        });
        let app = router(Arc::clone(&shared));
        // Fulfilment orders progress with time even when nobody reads them.
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(fulfillment::TICK);
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(shared) => {
                        shared.advance_orders();
                        shared.advance_fulfillment();
                        shared.advance_reports();
                        shared.advance_feeds();
                    }
                    None => return,
                }
            }
        });
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = crate::tls::serve(listener, tls, app, async {
                let _ = rx.await;
            });
            if let Err(error) = served.await {
                tracing::warn!(%error, "amazon sandbox stopped");
            }
        });
        Ok(AmazonSandbox { base_url, shared, shutdown: Some(tx) })
    }

    /// `http://127.0.0.1:<port>` (`https://` when started with TLS): the SP-API endpoint and
    /// the LWA host (`/auth/o2/token`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The LWA token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/auth/o2/token", self.base_url)
    }

    pub fn config(&self) -> &AmazonSandboxConfig {
        &self.shared.config
    }

    /// Adds `n` orders placed over the last week; a share `invalid_sku_share` (0.0–1.0) of
    /// them carry a SKU that is not in the catalogue. Returns their ids.
    pub fn seed_orders(&self, n: usize, invalid_sku_share: f64) -> Vec<String> {
        let mut rng = lock(&self.shared.rng);
        let mut orders = self.shared.orders();
        let now = Timestamp::now();
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let mut id = seed::order_id(&mut rng);
            while orders.by_id.contains_key(&id) {
                id = seed::order_id(&mut rng);
            }
            let age = SignedDuration::from_secs(i64::from(rng.u32(2 * 3600..7 * 24 * 3600)));
            let invalid = rng.f64() < invalid_sku_share;
            let mut order = seed::order(&mut rng, id.clone(), &self.shared.config.marketplace_id, now - age, invalid);
            // Never in the future, and at least two minutes old like Amazon's readable window.
            order.last_updated = order.last_updated.min(now - SignedDuration::from_secs(120));
            self.shared.publish(notify::order_change(&self.shared.config.seller_id, &order, "OrderCreated"));
            orders.by_id.insert(id.clone(), order);
            ids.push(id);
        }
        ids
    }

    /// Refunds a shipped order in full, as a customer return would: its RefundEvent
    /// (negative charges, commission refunded less Amazon's refund administration fee) posts now.
    pub fn refund_order(&self, id: &str) -> Result<(), String> {
        let mut orders = self.shared.orders();
        match orders.by_id.get(id).map(|o| o.status) {
            None => return Err(format!("order {id} does not exist")),
            Some(state::Status::Shipped) => {}
            Some(other) => return Err(format!("order {id} is {other:?}; only a shipped order can be refunded")),
        }
        if orders.refunds.contains_key(id) {
            return Err(format!("order {id} is already refunded"));
        }
        orders.refunds.insert(id.to_owned(), Timestamp::now());
        Ok(())
    }

    /// Charges an account-level fee (posted now), listed as a ServiceFeeEvent.
    pub fn charge_service_fee(&self, fee_type: &str, reason: &str, amount: rust_decimal::Decimal, currency: &str) {
        self.shared.orders().service_fees.push(state::ServiceFee {
            posted: Timestamp::now(),
            fee_type: fee_type.to_owned(),
            reason: reason.to_owned(),
            amount,
            currency: currency.to_owned(),
        });
    }

    /// Runs a closure on the order store (tests use it to inspect or prepare state).
    pub fn with_orders<R>(&self, f: impl FnOnce(&mut state::Orders) -> R) -> R {
        f(&mut self.shared.orders())
    }

    /// The ids of the orders that have shipped (those a settlement or refund can name).
    pub fn shipped_order_ids(&self) -> Vec<String> {
        self.with_orders(|o| {
            o.by_id.values().filter(|o| o.status == state::Status::Shipped).map(|o| o.id.clone()).collect()
        })
    }

    /// Runs a closure on the seller's listings.
    pub fn with_listings<R>(&self, f: impl FnOnce(&mut listings::Listings) -> R) -> R {
        f(&mut lock(&self.shared.listings))
    }

    /// Runs a closure on the fulfilment state (orders, FBA inventory).
    pub fn with_fulfillment<R>(&self, f: impl FnOnce(&mut fulfillment::Fulfillment) -> R) -> R {
        f(&mut self.shared.fulfillment())
    }

    /// Messages on the queue (received or not) and messages deleted so far.
    pub fn queue_depth(&self) -> (usize, u64) {
        let queue = self.shared.queue();
        (queue.messages.len(), queue.deleted)
    }

    /// Bodies of the messages on the queue, oldest first (for tests and the demo).
    pub fn queued_notifications(&self) -> Vec<String> {
        self.shared.queue().messages.iter().map(|m| m.body.clone()).collect()
    }

    /// The queue's URL (SQS `QueueUrl`); the SQS endpoint is [`base_url`](Self::base_url).
    pub fn queue_url(&self) -> String {
        self.shared.queue_url()
    }

    /// Closes a settlement period: a DONE `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2` report
    /// built from every shipped order, as Amazon schedules them. Returns the report id.
    pub fn close_settlement(&self, settlement_id: &str) -> String {
        self.close_settlement_with(settlement_id, None)
    }

    /// [`close_settlement`](Self::close_settlement) with the period's reserve rows (`Previous
    /// Reserve Amount Balance` released, `Current Reserve Amount` held back).
    pub fn close_settlement_with(&self, settlement_id: &str, reserve: Option<reports::Reserve>) -> String {
        let text = reports::settlement_from_orders(&self.shared.orders(), settlement_id, reserve);
        self.shared.reports().add_done(reports::SETTLEMENT_V2, &self.shared.config.marketplace_id, &text)
    }

    /// Adds a DONE settlement report from a generated file (benchmarks, large tests).
    pub fn add_settlement_report(&self, spec: &settlement::SettlementSpec) -> std::io::Result<String> {
        let mut text = Vec::new();
        settlement::write_settlement_v2(&mut text, spec)?;
        Ok(self.shared.reports().add_done(reports::SETTLEMENT_V2, &self.shared.config.marketplace_id, &text))
    }

    /// Writes report and feed documents created from now on in Windows-1252 (served with
    /// `charset=Cp1252`), as Amazon does for some EU flat files; UTF-8 otherwise.
    pub fn set_documents_windows_1252(&self, on: bool) {
        self.shared.reports().windows_1252 = on;
    }

    /// Changes the speed-up of every token bucket and of fulfilment progress.
    pub fn set_speedup(&self, speedup: f64) {
        self.shared.limiter.set_speedup(speedup);
    }

    /// Fault knobs (error rate, latency, outages, throttle storms), changeable while running.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Request counters.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Starts the request log from empty: from now on every SP-API request (LWA not
    /// included) is recorded with its arrival time, operation and caller. Off by default.
    pub fn record_requests(&self) {
        self.shared.request_log.start();
    }

    /// Stops the request log and frees it.
    pub fn stop_recording_requests(&self) {
        self.shared.request_log.stop();
    }

    /// The SP-API requests recorded since [`record_requests`](Self::record_requests), by
    /// arrival time.
    pub fn request_log(&self) -> Vec<request_log::RequestRecord> {
        self.shared.request_log.snapshot()
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        *lock(&self.shared.token_lifetime) = lifetime;
    }

    /// Expires every issued access token and RDT now (to exercise a client's refresh on 403).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for token in lock(&self.shared.tokens).values_mut() {
            token.expires_at = now;
        }
        for rdt in lock(&self.shared.rdts).values_mut() {
            rdt.expires_at = now;
        }
    }
}

impl Drop for AmazonSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/auth/o2/token", post(lwa::token))
        .route("/", post(sqs::handle))
        .route("/000000000000/{queue}", post(sqs::handle))
        .route("/orders/2026-01-01/orders", get(orders::search_orders))
        .route("/orders/2026-01-01/orders/{order_id}", get(orders::get_order))
        .route("/orders/v0/orders", get(orders::get_orders_v0))
        .route("/orders/v0/orders/{order_id}", get(orders::get_order_v0))
        .route("/orders/v0/orders/{order_id}/orderItems", get(orders::get_order_items))
        .route("/orders/v0/orders/{order_id}/address", get(orders::get_order_address))
        .route("/orders/v0/orders/{order_id}/buyerInfo", get(orders::get_order_buyer_info))
        .route("/orders/v0/orders/{order_id}/shipmentConfirmation", post(orders::confirm_shipment))
        .route("/orders/v0/orders/{order_id}/shipment", post(orders::update_shipment_status))
        .route("/fba/outbound/2020-07-01/fulfillmentOrders/preview", post(fulfillment::preview))
        .route("/fba/outbound/2020-07-01/fulfillmentOrders", post(fulfillment::create).get(fulfillment::list))
        .route("/fba/outbound/2020-07-01/fulfillmentOrders/{id}", get(fulfillment::get))
        .route("/fba/outbound/2020-07-01/fulfillmentOrders/{id}/cancel", put(fulfillment::cancel))
        .route("/fba/outbound/2020-07-01/tracking", get(fulfillment::tracking))
        .route("/fba/inventory/v1/summaries", get(inventory::summaries))
        .route("/reports/2021-06-30/reports", post(reports::create).get(reports::list))
        .route("/reports/2021-06-30/reports/{id}", get(reports::get))
        .route("/reports/2021-06-30/documents/{id}", get(reports::document))
        .route("/documents/{id}", get(reports::download))
        .route("/tokens/2021-03-01/restrictedDataToken", post(tokens::create))
        .route(
            "/notifications/v1/destinations",
            post(notifications_api::create_destination).get(notifications_api::get_destinations),
        )
        .route(
            "/notifications/v1/subscriptions/{kind}",
            post(notifications_api::create_subscription).get(notifications_api::get_subscription),
        )
        .route("/feeds/2021-06-30/documents", post(feeds::create_document))
        .route("/feeds/2021-06-30/documents/{id}", get(feeds::document))
        .route("/feeds/2021-06-30/feeds", post(feeds::create))
        .route("/feeds/2021-06-30/feeds/{id}", get(feeds::get))
        .route("/uploads/{id}", axum::routing::put(feeds::upload))
        .route(
            "/listings/2021-08-01/items/{seller}/{sku}",
            get(listings::get).put(listings::put).patch(listings::patch),
        )
        .route("/finances/v0/financialEvents", get(finances::list))
        .route("/finances/v0/orders/{id}/financialEvents", get(finances::by_order))
        .route("/finances/v0/financialEventGroups/{id}/financialEvents", get(finances::by_group))
        .fallback(|| async {
            http::error(StatusCode::NOT_FOUND, "NotFound", "The requested resource was not found.", None)
        })
        .with_state(shared)
}
