//! SP-API's published default usage plans (rate, burst) per operation, and the rates Amazon
//! announces at run time through `x-amzn-RateLimit-Limit`.

use std::collections::HashMap;
use std::sync::Mutex;

use ferry_runtime::CallSpec;

/// One operation's documented default plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperationLimit {
    /// `api/operationId`: the bucket key, unique across API versions.
    pub key: &'static str,
    /// The model file's stem, e.g. `orders_2026-01-01`.
    pub api: &'static str,
    /// `operationId` in that model.
    pub operation: &'static str,
    /// Requests per second.
    pub rate: f64,
    pub burst: u32,
}

macro_rules! lim {
    ($api:literal, $op:literal, $rate:expr, $burst:expr) => {
        OperationLimit { key: concat!($api, "/", $op), api: $api, operation: $op, rate: $rate, burst: $burst }
    };
}

/// Default plans from each operation's description in `reference/spapi/models` (a test
/// re-reads the models and compares).
pub const OPERATION_LIMITS: &[OperationLimit] = &[
    lim!("ordersV0", "getOrders", 0.0167, 20),
    lim!("ordersV0", "getOrder", 0.5, 30),
    lim!("ordersV0", "getOrderBuyerInfo", 0.5, 30),
    lim!("ordersV0", "getOrderAddress", 0.5, 30),
    lim!("ordersV0", "getOrderItems", 0.5, 30),
    lim!("ordersV0", "updateShipmentStatus", 5.0, 15),
    lim!("ordersV0", "confirmShipment", 2.0, 10),
    lim!("orders_2026-01-01", "searchOrders", 0.0056, 20),
    lim!("orders_2026-01-01", "getOrder", 0.5, 30),
    lim!("fulfillmentOutbound_2020-07-01", "getFulfillmentPreview", 2.0, 30),
    lim!("fulfillmentOutbound_2020-07-01", "listAllFulfillmentOrders", 2.0, 30),
    lim!("fulfillmentOutbound_2020-07-01", "createFulfillmentOrder", 2.0, 30),
    lim!("fulfillmentOutbound_2020-07-01", "getPackageTrackingDetails", 2.0, 30),
    lim!("fulfillmentOutbound_2020-07-01", "getFulfillmentOrder", 2.0, 30),
    lim!("fulfillmentOutbound_2020-07-01", "cancelFulfillmentOrder", 2.0, 30),
    lim!("listingsItems_2021-08-01", "getListingsItem", 5.0, 10),
    lim!("listingsItems_2021-08-01", "patchListingsItem", 5.0, 5),
    lim!("listingsItems_2021-08-01", "putListingsItem", 5.0, 10),
    lim!("feeds_2021-06-30", "createFeed", 0.0083, 15),
    lim!("feeds_2021-06-30", "getFeed", 2.0, 15),
    lim!("feeds_2021-06-30", "createFeedDocument", 0.5, 15),
    lim!("feeds_2021-06-30", "getFeedDocument", 0.0222, 10),
    lim!("reports_2021-06-30", "getReports", 0.0222, 10),
    lim!("reports_2021-06-30", "createReport", 0.0167, 15),
    lim!("reports_2021-06-30", "getReport", 2.0, 15),
    lim!("reports_2021-06-30", "getReportDocument", 0.0167, 15),
    lim!("notifications", "getSubscription", 1.0, 5),
    lim!("notifications", "createSubscription", 1.0, 5),
    lim!("notifications", "getDestinations", 1.0, 5),
    lim!("notifications", "createDestination", 1.0, 5),
    lim!("financesV0", "listFinancialEventsByGroupId", 0.5, 30),
    lim!("financesV0", "listFinancialEventsByOrderId", 0.5, 30),
    lim!("financesV0", "listFinancialEvents", 0.5, 30),
    lim!("fbaInventory", "getInventorySummaries", 2.0, 2),
    lim!("tokens_2021-03-01", "createRestrictedDataToken", 1.0, 10),
];

/// A cap Amazon keeps on one report type per seller account, over every application the
/// seller authorised together (not per seller × application like the operation plans).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportCap {
    pub report_type: &'static str,
    /// Requests per second, long-run.
    pub rate: f64,
    pub burst: u32,
}

/// Report types with a per-seller cap. `SPAPI.md` is silent on these; Amazon's support wrote
/// of GET_SALES_AND_TRAFFIC_REPORT (selling-partner-api-models#5210, 2026): "metering per seller
/// account, allowing 4 requests per hour (once every 15 minutes) and 96 requests per day per
/// seller. When you authorize 10 apps to access your account, these apps share the 96 daily
/// requests combined", and "request 4 reports every 60 minutes instead of 1 report every 15
/// minutes": a bucket of 4 refilled once every 15 minutes.
pub const REPORT_CAPS: &[ReportCap] =
    &[ReportCap { report_type: "GET_SALES_AND_TRAFFIC_REPORT", rate: 1.0 / 900.0, burst: 4 }];

/// The cap on requesting `report_type`, if Amazon keeps one.
pub fn report_cap(report_type: &str) -> Option<&'static ReportCap> {
    REPORT_CAPS.iter().find(|c| c.report_type == report_type)
}

/// The documented plan of `api`/`operation`.
pub fn operation_limit(api: &str, operation: &str) -> Option<&'static OperationLimit> {
    OPERATION_LIMITS.iter().find(|l| l.api == api && l.operation == operation)
}

/// The plans one connection runs with: the defaults times `scale` (1.0 in production; a
/// sped-up sandbox uses the same factor), replaced per operation by what Amazon announces.
#[derive(Debug)]
pub struct AmazonLimits {
    scale: f64,
    announced: Mutex<HashMap<&'static str, f64>>,
}

impl AmazonLimits {
    pub fn new(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        AmazonLimits { scale, announced: Mutex::new(HashMap::new()) }
    }

    fn announced(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, f64>> {
        self.announced.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// (rate, burst) to use now for `limit`.
    pub fn current(&self, limit: &OperationLimit) -> (f64, u32) {
        let rate = self.announced().get(limit.key).copied().unwrap_or(limit.rate * self.scale);
        (rate, limit.burst)
    }

    /// Records an `x-amzn-RateLimit-Limit` value; returns the new rate if it changed.
    pub fn announce(&self, limit: &OperationLimit, header: &str) -> Option<f64> {
        let rate: f64 = header.trim().parse().ok().filter(|r: &f64| r.is_finite() && *r > 0.0)?;
        let (current, _) = self.current(limit);
        if (current - rate).abs() <= f64::EPSILON * current.max(1.0) {
            return None;
        }
        self.announced().insert(limit.key, rate);
        Some(rate)
    }

    /// The runtime's description of one call of `limit` on `connection` against `host`. The
    /// burst keeps a tenth (at least one token) below Amazon's: our bucket admits a request
    /// slightly before Amazon's bucket sees it, and uneven network delay between requests
    /// would otherwise draw a 429 exactly when both buckets run empty. `h` tokens of headroom
    /// absorb a delay spread of `h / rate` (6 s for getOrder's 0.5/s) and cost `h / rate`
    /// once per run.
    pub fn call_spec<'a>(
        &self,
        connection: &'a str,
        scope: &'a str,
        host: &'a str,
        limit: &'static OperationLimit,
    ) -> CallSpec<'a> {
        let (rate_per_sec, burst) = self.current(limit);
        CallSpec {
            connection,
            scope,
            operation: limit.key,
            host,
            rate_per_sec,
            burst: client_burst(burst),
            max_concurrency: 16,
            caps: Vec::new(),
        }
    }
}

/// Amazon's burst less the headroom described at [`AmazonLimits::call_spec`] (a burst of 1
/// or 2 has none to spare).
pub fn client_burst(burst: u32) -> u32 {
    let headroom = if burst <= 2 { 0 } else { (burst / 10).max(1) };
    burst.saturating_sub(headroom).max(1)
}
