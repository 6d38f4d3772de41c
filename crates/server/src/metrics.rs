//! A small hand-written Prometheus registry: labelled counters, one fixed-bucket histogram, and
//! the gauges read at scrape time from the store and the worker pool, rendered in the text
//! exposition format 0.0.4. Hand-written because the few metrics Ferry exports do not justify a
//! dependency, and so the names and labels stay in one reviewed place.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ferry_runtime::PoolStats;
use ferry_store::{BreakerRow, QueueStats};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the end-to-end latency buckets: from sub-second webhook paths to
/// the minutes a throttled or retried record may take.
pub const LATENCY_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// Where an inbound event came from (the `source` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    Amazon,
    Dataverse,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Amazon => "amazon",
            EventSource::Dataverse => "dataverse",
        }
    }
}

/// What the ingress did with an inbound event (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// New and stored (acknowledged).
    Stored,
    /// Already in the inbox (acknowledged, nothing enqueued).
    Duplicate,
    /// Refused: wrong key, unreadable body, unknown endpoint.
    Rejected,
    /// Not stored because the store failed; the sender will retry.
    Unavailable,
}

impl EventOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Stored => "stored",
            EventOutcome::Duplicate => "duplicate",
            EventOutcome::Rejected => "rejected",
            EventOutcome::Unavailable => "unavailable",
        }
    }
}

/// Values read from the store and the pool when `/metrics` is scraped.
#[derive(Debug, Default)]
pub struct Snapshot<'a> {
    pub pool: Option<&'a PoolStats>,
    /// `None` when the store did not answer.
    pub queue: Option<&'a QueueStats>,
    pub breakers: &'a [BreakerRow],
    pub store_up: bool,
}

/// Ferry's in-process metrics. Share it as `Arc<Metrics>`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    events_received: CounterVec,
    api_requests: CounterVec,
    throttle_waits: CounterVec,
    end_to_end: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let events_received = CounterVec::new(
            "ferry_events_received_total",
            "Inbound events by source and what the ingress did with them.",
            &["source", "outcome"],
        );
        // Seeded so dashboards and rate() see a zero before the first event.
        for source in [EventSource::Amazon, EventSource::Dataverse] {
            for outcome in [EventOutcome::Stored, EventOutcome::Duplicate, EventOutcome::Rejected] {
                events_received.add(&[source.as_str(), outcome.as_str()], 0);
            }
        }
        Metrics {
            events_received,
            api_requests: CounterVec::new(
                "ferry_api_requests_total",
                "Calls to remote APIs by connection, operation and HTTP status (or error class).",
                &["connection", "operation", "status"],
            ),
            throttle_waits: CounterVec::new(
                "ferry_throttle_waits_total",
                "Times a call waited for its rate limit (token bucket or a remote 429).",
                &["connection", "operation"],
            ),
            end_to_end: Histogram::new(
                "ferry_event_to_target_seconds",
                "Seconds from an event's arrival to its record being written to the target.",
                LATENCY_BUCKETS,
            ),
        }
    }

    /// Counts one inbound event.
    pub fn record_event(&self, source: EventSource, outcome: EventOutcome) {
        self.events_received.add(&[source.as_str(), outcome.as_str()], 1);
    }

    /// Counts one remote API call; `status` is the HTTP status or an error class such as
    /// `timeout`.
    pub fn record_api_call(&self, connection: &str, operation: &str, status: &str) {
        self.api_requests.add(&[connection, operation, status], 1);
    }

    /// Counts one wait imposed by a rate limit.
    pub fn record_throttle(&self, connection: &str, operation: &str) {
        self.throttle_waits.add(&[connection, operation], 1);
    }

    /// Records one event-to-target latency. Negative or non-finite values (clock skew, bugs)
    /// are clamped or dropped rather than corrupting the histogram.
    pub fn observe_end_to_end(&self, seconds: f64) {
        if seconds.is_nan() {
            return;
        }
        self.end_to_end.observe(seconds.max(0.0));
    }

    /// The upper bound of the end-to-end latency bucket that holds quantile `q` (0–1) of the
    /// observations (`+Inf` past the last bound); `None` before the first observation.
    pub fn end_to_end_quantile(&self, q: f64) -> Option<f64> {
        self.end_to_end.quantile_bound(q)
    }

    /// Renders every metric in the Prometheus text format 0.0.4.
    pub fn render(&self, snapshot: &Snapshot<'_>) -> String {
        let mut out = String::with_capacity(4096);
        self.events_received.render(&mut out);
        render_jobs(&mut out, snapshot.pool);
        render_queue(&mut out, snapshot);
        self.api_requests.render(&mut out);
        self.throttle_waits.render(&mut out);
        render_breakers(&mut out, snapshot.breakers);
        self.end_to_end.render(&mut out);
        out
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a counter map half-updated in a way that
    // matters more than losing all metrics.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A counter with a fixed set of label names.
#[derive(Debug)]
struct CounterVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl CounterVec {
    fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        CounterVec { name, help, labels, values: Mutex::default() }
    }

    fn add(&self, values: &[&str], n: u64) {
        debug_assert_eq!(values.len(), self.labels.len(), "label count of {}", self.name);
        let key: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        let mut map = lock(&self.values);
        let slot = map.entry(key).or_insert(0);
        *slot = slot.saturating_add(n);
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        for (values, count) in lock(&self.values).iter() {
            let labels: Vec<(&str, &str)> =
                self.labels.iter().copied().zip(values.iter().map(String::as_str)).collect();
            sample(out, self.name, &labels, &count.to_string());
        }
    }
}

#[derive(Debug)]
struct HistogramState {
    /// Per-bucket (non-cumulative) counts; the last slot is +Inf.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A histogram with fixed upper bounds.
#[derive(Debug)]
struct Histogram {
    name: &'static str,
    help: &'static str,
    bounds: &'static [f64],
    state: Mutex<HistogramState>,
}

impl Histogram {
    fn new(name: &'static str, help: &'static str, bounds: &'static [f64]) -> Self {
        let state = HistogramState { counts: vec![0; bounds.len() + 1], sum: 0.0, count: 0 };
        Histogram { name, help, bounds, state: Mutex::new(state) }
    }

    fn observe(&self, value: f64) {
        let slot = self.bounds.iter().position(|bound| value <= *bound).unwrap_or(self.bounds.len());
        let mut state = lock(&self.state);
        state.counts[slot] += 1;
        state.sum += value;
        state.count += 1;
    }

    fn quantile_bound(&self, q: f64) -> Option<f64> {
        let state = lock(&self.state);
        if state.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * state.count as f64).ceil().max(1.0) as u64;
        let mut cumulative = 0;
        for (i, count) in state.counts.iter().enumerate() {
            cumulative += count;
            if cumulative >= rank {
                return Some(self.bounds.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        Some(f64::INFINITY)
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        let state = lock(&self.state);
        let bucket = format!("{}_bucket", self.name);
        let mut cumulative = 0;
        for (i, count) in state.counts.iter().enumerate() {
            cumulative += count;
            let le = self.bounds.get(i).map_or_else(|| "+Inf".to_owned(), |b| number(*b));
            sample(out, &bucket, &[("le", &le)], &cumulative.to_string());
        }
        sample(out, &format!("{}_sum", self.name), &[], &number(state.sum));
        sample(out, &format!("{}_count", self.name), &[], &state.count.to_string());
    }
}

fn render_jobs(out: &mut String, pool: Option<&PoolStats>) {
    header(out, "ferry_jobs_total", "Jobs finished by this node's workers, by outcome.", "counter");
    // A node without workers (ingress only) reports no job samples rather than zeros.
    let Some(pool) = pool else { return };
    for (outcome, counter) in [
        ("completed", &pool.completed),
        ("retried", &pool.retried),
        ("deferred", &pool.deferred),
        ("dead", &pool.dead),
        ("released", &pool.released),
    ] {
        sample(out, "ferry_jobs_total", &[("outcome", outcome)], &counter.load(Ordering::Relaxed).to_string());
    }
}

fn render_queue(out: &mut String, snapshot: &Snapshot<'_>) {
    header(out, "ferry_store_up", "1 when the store answered this scrape, 0 otherwise.", "gauge");
    sample(out, "ferry_store_up", &[], if snapshot.store_up { "1" } else { "0" });
    header(out, "ferry_queue_jobs", "Jobs in the queue by state (all nodes, read from the store).", "gauge");
    if let Some(queue) = snapshot.queue {
        for (state, n) in [
            ("ready", queue.ready),
            ("scheduled", queue.scheduled),
            ("running", queue.running),
            ("completed", queue.completed),
            ("dead", queue.dead),
        ] {
            sample(out, "ferry_queue_jobs", &[("state", state)], &n.to_string());
        }
    }
    header(out, "ferry_dead_letters_open", "Dead letters waiting for a fix, replay or discard.", "gauge");
    if let Some(queue) = snapshot.queue {
        sample(out, "ferry_dead_letters_open", &[], &queue.dead_letters_open.to_string());
    }
}

/// 0 closed, 1 half-open, 2 open; `None` for a state this version does not know.
fn breaker_value(state: &str) -> Option<u8> {
    match state {
        "closed" => Some(0),
        "half-open" | "half_open" => Some(1),
        "open" => Some(2),
        _ => None,
    }
}

fn render_breakers(out: &mut String, rows: &[BreakerRow]) {
    header(
        out,
        "ferry_breaker_state",
        "Circuit breaker per node and remote host: 0 closed, 1 half-open, 2 open.",
        "gauge",
    );
    for row in rows {
        match breaker_value(&row.state) {
            Some(v) => sample(out, "ferry_breaker_state", &[("node", &row.node), ("host", &row.host)], &v.to_string()),
            None => tracing::debug!(node = %row.node, host = %row.host, state = %row.state, "unknown breaker state"),
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: &str) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape_label(val));
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

/// Label values escape backslash, double quote and line feed (format 0.0.4).
fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// HELP text escapes backslash and line feed.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A float as Prometheus writes it (`+Inf`, `-Inf`, `NaN`).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        value.to_string()
    }
}

/// The runtime reports every remote call here.
impl ferry_runtime::CallObserver for Metrics {
    fn api_call(&self, connection: &str, operation: &str, outcome: &str) {
        self.record_api_call(connection, operation, outcome);
    }

    fn throttled(&self, connection: &str, operation: &str) {
        self.record_throttle(connection, operation);
    }

    fn delivered(&self, _flow: &str, seconds: f64) {
        self.observe_end_to_end(seconds);
    }
}
