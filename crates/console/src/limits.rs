//! A tenant's rate limits as the node's runtime sees them now: each connection's budget per
//! operation (tokens left of the burst, the rate, a remote's pause), its recent 429s and the
//! breakers of the hosts it calls. Read from [`ferry_runtime::Resilience::limits_of`], which
//! shows only the tenant's own connections; nothing here names a record or a buyer.

use serde::Serialize;
use utoipa::ToSchema;

use ferry_runtime::Resilience;
use ferry_store::TenantId;

/// What a node without a runtime says instead of figures.
pub const NO_RUNTIME: &str = "this node runs no flows, so it holds no rate limits, throttles or breakers";

/// One connection's budget for one operation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetView {
    pub connection: String,
    /// The operation, or for a wider cap what the vendor counts (`createReport/…`).
    pub operation: String,
    /// A cap the vendor keeps over more than this connection (the seller or application).
    pub wider_cap: bool,
    /// Requests that may go now without waiting (fractional while the bucket refills).
    pub tokens: f64,
    pub burst: u32,
    pub rate_per_sec: f64,
    /// `tokens / burst`, 0 to 1: the gauge.
    pub fraction: f64,
    /// The remote asked (Retry-After) that nothing be sent before this.
    #[schema(value_type = Option<String>)]
    pub paused_until: Option<jiff::Timestamp>,
}

/// A remote's 429.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThrottleView {
    #[schema(value_type = String)]
    pub at: jiff::Timestamp,
    pub connection: String,
    pub operation: String,
    /// The Retry-After the remote sent, in seconds (none: it sent none; one second was waited).
    pub retry_after_seconds: Option<f64>,
}

/// The circuit breaker of a host the tenant's connections call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreakerView {
    pub host: String,
    /// `closed`, `open` or `half-open`.
    pub state: String,
    #[schema(value_type = String)]
    pub since: jiff::Timestamp,
}

/// The tenant's limits now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LimitsView {
    /// Whether this node runs flows (has a runtime); without, the lists are empty and `note`
    /// says why.
    pub runtime: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub budgets: Vec<BudgetView>,
    /// Newest first.
    pub throttles: Vec<ThrottleView>,
    pub breakers: Vec<BreakerView>,
}

/// `tenant`'s limits from `runtime` (none: a node that runs no flows).
pub fn limits(runtime: Option<&Resilience>, tenant: &TenantId) -> LimitsView {
    let Some(runtime) = runtime else {
        return LimitsView {
            runtime: false,
            note: Some(NO_RUNTIME.into()),
            budgets: Vec::new(),
            throttles: Vec::new(),
            breakers: Vec::new(),
        };
    };
    let seen = runtime.limits_of(tenant.as_ref());
    LimitsView {
        runtime: true,
        note: None,
        budgets: seen
            .buckets
            .into_iter()
            .map(|b| BudgetView {
                fraction: if b.burst == 0 { 0.0 } else { (b.tokens / f64::from(b.burst)).clamp(0.0, 1.0) },
                connection: b.connection,
                operation: b.operation,
                wider_cap: b.wider_cap,
                tokens: b.tokens,
                burst: b.burst,
                rate_per_sec: b.rate_per_sec,
                paused_until: b.paused_until,
            })
            .collect(),
        throttles: seen
            .throttles
            .into_iter()
            .map(|t| ThrottleView {
                at: t.at,
                connection: t.connection,
                operation: t.operation,
                retry_after_seconds: t.retry_after.map(|d| d.as_secs_f64()),
            })
            .collect(),
        breakers: seen
            .breakers
            .into_iter()
            .map(|b| BreakerView { host: b.host, state: b.state.as_str().into(), since: b.since })
            .collect(),
    }
}
