//! Each flow's figures for the overview and `GET /api/v1/flows/stats`: jobs finished and
//! dead-lettered over the last 24 hours, and the latency from an event's acceptance to its
//! job's completion (p50 and p99) over the last hour. Everything comes from the store's hourly
//! counters ([`Store::flow_hourly_counts`], [`Store::flow_latency`]), so it costs the same
//! with a thousand finished jobs as with a million.
//!
//! The latency is counted in buckets ([`ferry_store::LATENCY_BOUNDS_MS`]: 10 ms, 25 ms, 50 ms
//! … 1 day), so a percentile is known as the bucket it falls in and is shown as that bucket's
//! upper bound: "p99 < 2.5 s". "The last hour" is the hour in progress and the one before it
//! (the counters are hourly): between one and two hours of completions.

use ferry_store::{FlowLatency, Store as _, TenantId};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// Where the latency window starts: the hours holding this instant and every later one.
pub fn latency_since(now: Timestamp) -> Timestamp {
    now - SignedDuration::from_hours(1)
}

/// A percentile in words for a table cell: "< 250 ms", "≥ 1 d" past the last bound, "—"
/// without completed jobs.
pub fn latency_cell(latency: Option<&FlowLatency>, q: f64) -> String {
    match latency {
        Some(l) if l.count() > 0 => match l.quantile_under_ms(q) {
            Some(ms) => format!("< {}", ferry_store::latency_words(ms)),
            None => format!("≥ {}", ferry_store::latency_words(ferry_store::LATENCY_BOUNDS_MS[19])),
        },
        _ => "—".into(),
    }
}

/// One flow of the tenant, as `GET /api/v1/flows/stats` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FlowStats {
    pub flow: String,
    /// Jobs that finished (completed, covered or dead-lettered) in the last 24 hours.
    pub finished_24h: u64,
    /// Of those, jobs that gave up (dead-lettered).
    pub dead_24h: u64,
    /// Jobs completed in the latency window (since the start of the previous hour).
    pub completed_last_hour: u64,
    /// The median latency from the event's acceptance (the job's creation) to the job's
    /// completion is under this many milliseconds (the upper bound of its bucket). `null`
    /// without completed jobs, or when it is a day or more.
    pub p50_under_ms: Option<u64>,
    /// The 99th percentile, the same way.
    pub p99_under_ms: Option<u64>,
}

/// The tenant's flows that finished anything in the last 24 hours, by name.
pub async fn flow_stats(
    store: &ferry_store::AnyStore,
    tenant: &TenantId,
    now: Timestamp,
) -> Result<Vec<FlowStats>, crate::ServiceError> {
    let day = crate::anomaly::last_complete_hour(now) - SignedDuration::from_hours(23);
    let counts = store.flow_hourly_counts(tenant, day).await?;
    let latency = store.flow_latency(tenant, latency_since(now)).await?;
    let mut flows: Vec<String> =
        counts.iter().map(|c| c.flow.clone()).chain(latency.iter().map(|l| l.flow.clone())).collect();
    flows.sort();
    flows.dedup();
    Ok(flows
        .into_iter()
        .map(|flow| {
            let of_flow = counts.iter().filter(|c| c.flow == flow);
            let (finished, dead) = of_flow.fold((0, 0), |(f, d), c| (f + c.completed + c.covered + c.dead, d + c.dead));
            let l = latency.iter().find(|l| l.flow == flow);
            FlowStats {
                completed_last_hour: l.map_or(0, FlowLatency::count),
                p50_under_ms: l.and_then(|l| l.quantile_under_ms(0.5)),
                p99_under_ms: l.and_then(|l| l.quantile_under_ms(0.99)),
                finished_24h: finished,
                dead_24h: dead,
                flow,
            }
        })
        .collect())
}
