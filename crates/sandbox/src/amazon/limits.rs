//! The sandbox's per-operation token buckets, at the default usage plans Amazon documents in
//! each operation's description (`| Rate (requests per second) | Burst |`), with a speed-up
//! knob so a test can run a long plan in seconds.

use std::collections::HashMap;
use std::sync::Mutex;

use ferry_runtime::bucket::TokenBucket;

/// One operation's documented default usage plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperationLimit {
    /// The model file's stem, e.g. `orders_2026-01-01`.
    pub api: &'static str,
    /// `operationId` in that model.
    pub operation: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    /// Requests per second.
    pub rate: f64,
    pub burst: u32,
}

const fn lim(
    api: &'static str,
    operation: &'static str,
    method: &'static str,
    path: &'static str,
    rate: f64,
    burst: u32,
) -> OperationLimit {
    OperationLimit { api, operation, method, path, rate, burst }
}

/// Default plans, copied from the models in `reference/spapi/models` (a test compares
/// this table with the models' description tables).
pub const OPERATION_LIMITS: &[OperationLimit] = &[
    lim("ordersV0", "getOrders", "GET", "/orders/v0/orders", 0.0167, 20),
    lim("ordersV0", "getOrder", "GET", "/orders/v0/orders/{orderId}", 0.5, 30),
    lim("ordersV0", "getOrderBuyerInfo", "GET", "/orders/v0/orders/{orderId}/buyerInfo", 0.5, 30),
    lim("ordersV0", "getOrderAddress", "GET", "/orders/v0/orders/{orderId}/address", 0.5, 30),
    lim("ordersV0", "getOrderItems", "GET", "/orders/v0/orders/{orderId}/orderItems", 0.5, 30),
    lim("ordersV0", "updateShipmentStatus", "POST", "/orders/v0/orders/{orderId}/shipment", 5.0, 15),
    lim("ordersV0", "confirmShipment", "POST", "/orders/v0/orders/{orderId}/shipmentConfirmation", 2.0, 10),
    lim("orders_2026-01-01", "searchOrders", "GET", "/orders/2026-01-01/orders", 0.0056, 20),
    lim("orders_2026-01-01", "getOrder", "GET", "/orders/2026-01-01/orders/{orderId}", 0.5, 30),
    lim(
        "fulfillmentOutbound_2020-07-01",
        "getFulfillmentPreview",
        "POST",
        "/fba/outbound/2020-07-01/fulfillmentOrders/preview",
        2.0,
        30,
    ),
    lim(
        "fulfillmentOutbound_2020-07-01",
        "listAllFulfillmentOrders",
        "GET",
        "/fba/outbound/2020-07-01/fulfillmentOrders",
        2.0,
        30,
    ),
    lim(
        "fulfillmentOutbound_2020-07-01",
        "createFulfillmentOrder",
        "POST",
        "/fba/outbound/2020-07-01/fulfillmentOrders",
        2.0,
        30,
    ),
    lim(
        "fulfillmentOutbound_2020-07-01",
        "getPackageTrackingDetails",
        "GET",
        "/fba/outbound/2020-07-01/tracking",
        2.0,
        30,
    ),
    lim(
        "fulfillmentOutbound_2020-07-01",
        "getFulfillmentOrder",
        "GET",
        "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}",
        2.0,
        30,
    ),
    lim(
        "fulfillmentOutbound_2020-07-01",
        "cancelFulfillmentOrder",
        "PUT",
        "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}/cancel",
        2.0,
        30,
    ),
    lim("listingsItems_2021-08-01", "getListingsItem", "GET", "/listings/2021-08-01/items/{sellerId}/{sku}", 5.0, 10),
    lim(
        "listingsItems_2021-08-01",
        "patchListingsItem",
        "PATCH",
        "/listings/2021-08-01/items/{sellerId}/{sku}",
        5.0,
        5,
    ),
    lim("listingsItems_2021-08-01", "putListingsItem", "PUT", "/listings/2021-08-01/items/{sellerId}/{sku}", 5.0, 10),
    lim("feeds_2021-06-30", "createFeed", "POST", "/feeds/2021-06-30/feeds", 0.0083, 15),
    lim("feeds_2021-06-30", "getFeed", "GET", "/feeds/2021-06-30/feeds/{feedId}", 2.0, 15),
    lim("feeds_2021-06-30", "createFeedDocument", "POST", "/feeds/2021-06-30/documents", 0.5, 15),
    lim("feeds_2021-06-30", "getFeedDocument", "GET", "/feeds/2021-06-30/documents/{feedDocumentId}", 0.0222, 10),
    lim("reports_2021-06-30", "getReports", "GET", "/reports/2021-06-30/reports", 0.0222, 10),
    lim("reports_2021-06-30", "createReport", "POST", "/reports/2021-06-30/reports", 0.0167, 15),
    lim("reports_2021-06-30", "getReport", "GET", "/reports/2021-06-30/reports/{reportId}", 2.0, 15),
    lim(
        "reports_2021-06-30",
        "getReportDocument",
        "GET",
        "/reports/2021-06-30/documents/{reportDocumentId}",
        0.0167,
        15,
    ),
    lim("notifications", "getSubscription", "GET", "/notifications/v1/subscriptions/{notificationType}", 1.0, 5),
    lim("notifications", "createSubscription", "POST", "/notifications/v1/subscriptions/{notificationType}", 1.0, 5),
    lim("notifications", "getDestinations", "GET", "/notifications/v1/destinations", 1.0, 5),
    lim("notifications", "createDestination", "POST", "/notifications/v1/destinations", 1.0, 5),
    lim(
        "financesV0",
        "listFinancialEventsByGroupId",
        "GET",
        "/finances/v0/financialEventGroups/{eventGroupId}/financialEvents",
        0.5,
        30,
    ),
    lim("financesV0", "listFinancialEventsByOrderId", "GET", "/finances/v0/orders/{orderId}/financialEvents", 0.5, 30),
    lim("financesV0", "listFinancialEvents", "GET", "/finances/v0/financialEvents", 0.5, 30),
    lim("fbaInventory", "getInventorySummaries", "GET", "/fba/inventory/v1/summaries", 2.0, 2),
    lim("tokens_2021-03-01", "createRestrictedDataToken", "POST", "/tokens/2021-03-01/restrictedDataToken", 1.0, 10),
];

/// The documented plan of `api`/`operation`.
pub fn operation_limit(api: &str, operation: &str) -> Option<&'static OperationLimit> {
    OPERATION_LIMITS.iter().find(|l| l.api == api && l.operation == operation)
}

/// Report types Amazon caps per seller account, over every application together:
/// (report type, rate, burst). SPAPI.md is silent; Amazon's support on
/// GET_SALES_AND_TRAFFIC_REPORT (selling-partner-api-models#5210): "4 requests per hour (once
/// every 15 minutes) and 96 requests per day per seller", shared by the seller's apps.
pub const REPORT_TYPE_CAPS: &[(&str, f64, u32)] = &[("GET_SALES_AND_TRAFFIC_REPORT", 1.0 / 900.0, 4)];

/// One bucket per operation (the sandbox serves one selling partner and one application),
/// and one per capped report type.
#[derive(Debug)]
pub struct Limiter {
    inner: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    speedup: f64,
    buckets: HashMap<(&'static str, &'static str), TokenBucket>,
    report_caps: HashMap<&'static str, TokenBucket>,
}

impl Limiter {
    /// Buckets at the documented plans, run `speedup` times faster (1.0 = Amazon's pace).
    pub fn new(speedup: f64) -> Self {
        let speedup = sane_speedup(speedup);
        let buckets = OPERATION_LIMITS
            .iter()
            .filter_map(|l| Some(((l.api, l.operation), TokenBucket::new(l.rate * speedup, l.burst).ok()?)))
            .collect();
        let report_caps = REPORT_TYPE_CAPS
            .iter()
            .filter_map(|(kind, rate, burst)| Some((*kind, TokenBucket::new(rate * speedup, *burst).ok()?)))
            .collect();
        Limiter { inner: Mutex::new(LimiterState { speedup, buckets, report_caps }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the speed-up of every bucket; tokens held are kept.
    pub fn set_speedup(&self, speedup: f64) {
        let speedup = sane_speedup(speedup);
        let mut s = self.state();
        s.speedup = speedup;
        for ((api, op), bucket) in &s.buckets {
            if let Some(l) = operation_limit(api, op) {
                // Rates from the table times a finite positive factor are valid.
                let _ = bucket.set_limits(l.rate * speedup, l.burst);
            }
        }
        for (kind, rate, burst) in REPORT_TYPE_CAPS {
            if let Some(bucket) = s.report_caps.get(kind) {
                let _ = bucket.set_limits(rate * speedup, *burst);
            }
        }
    }

    /// Takes a token of the seller's cap on requesting `report_type`, if it has one; `false`
    /// when the request must get a 429.
    pub fn admit_report(&self, report_type: &str) -> bool {
        self.state().report_caps.get(report_type).is_none_or(|bucket| bucket.try_acquire().is_ok())
    }

    pub fn speedup(&self) -> f64 {
        self.state().speedup
    }

    /// Takes a token for the operation and returns the effective rate (what
    /// `x-amzn-RateLimit-Limit` announces); `None` when the caller must get a 429.
    pub fn admit(&self, limit: &OperationLimit) -> Option<f64> {
        let s = self.state();
        let rate = limit.rate * s.speedup;
        match s.buckets.get(&(limit.api, limit.operation)) {
            Some(bucket) => bucket.try_acquire().ok().map(|()| rate),
            None => Some(rate),
        }
    }
}

fn sane_speedup(speedup: f64) -> f64 {
    if speedup.is_finite() && speedup > 0.0 { speedup } else { 1.0 }
}
