//! A small hand-written Prometheus registry: labelled counters, one fixed-bucket histogram, and
//! the gauges read at scrape time from the store and the worker pool, rendered in the text
//! exposition format 0.0.4. Hand-written because the few metrics Ferry exports do not justify a
//! dependency, and so the names and labels stay in one reviewed place.
//!
//! # Tenants
//!
//! Every series that belongs to one tenant carries a `tenant` label: inbound events, remote API
//! calls, rate-limit waits and end-to-end latencies. Two tenants with a connection called
//! `amazon` are two series, and no series mixes tenants.
//!
//! The runtime's [`ferry_runtime::CallObserver`] names a call by connection and a delivery by
//! flow. Either may be qualified with its tenant as `"<tenant>/<connection>"` (or
//! `"<tenant>/<flow>"`): the part before the first `/` is the `tenant` label, the rest the
//! `connection` label. An unqualified name (no `/`; tenant, connection and flow ids never hold
//! one) belongs to the server's own tenant ([`Metrics::set_own_tenant`], set by the server from
//! its [`crate::ServerConfig`]). An event refused because its route names no tenant this node
//! serves is counted with `tenant=""`, so a request can never mint a series.
//!
//! Queue, job and breaker gauges are node- or store-wide and carry no tenant.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use ferry_model::TenantId;
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
    /// Tenants whose event counters and latency histogram are shown (at zero) before anything
    /// happened to them, besides the own tenant: the tenants the server serves.
    pub tenants: &'a [String],
}

/// Whose series a sample is, resolved when rendering (the own tenant may be named after the
/// first calls were counted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    /// The server's own tenant (an unqualified connection or flow).
    Own,
    Tenant(String),
    /// No tenant (an event to a tenant this node does not serve).
    Nobody,
}

impl Owner {
    fn of(tenant: Option<&str>) -> Self {
        tenant.map_or(Owner::Nobody, |t| Owner::Tenant(t.to_owned()))
    }

    /// Splits `"<tenant>/<name>"`; an unqualified name is the own tenant's.
    fn split(qualified: &str) -> (Owner, &str) {
        match qualified.split_once('/') {
            Some((tenant, name)) => (Owner::Tenant(tenant.to_owned()), name),
            None => (Owner::Own, qualified),
        }
    }

    fn label(&self, own: &str) -> String {
        match self {
            Owner::Own => own.to_owned(),
            Owner::Tenant(tenant) => tenant.clone(),
            Owner::Nobody => String::new(),
        }
    }
}

/// Ferry's in-process metrics. Share it as `Arc<Metrics>`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    /// The `tenant` label of unqualified names; empty until a server names it.
    own_tenant: RwLock<String>,
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
            "Inbound events by tenant, source and what the ingress did with them.",
            &["source", "outcome"],
        );
        Metrics {
            own_tenant: RwLock::default(),
            events_received,
            api_requests: CounterVec::new(
                "ferry_api_requests_total",
                "Calls to remote APIs by tenant, connection, operation and HTTP status (or error class).",
                &["connection", "operation", "status"],
            ),
            throttle_waits: CounterVec::new(
                "ferry_throttle_waits_total",
                "Times a call waited for its rate limit (token bucket or a remote 429), by tenant.",
                &["connection", "operation"],
            ),
            end_to_end: Histogram::new(
                "ferry_event_to_target_seconds",
                "Seconds from an event's arrival to its record being written to the target, by tenant.",
                LATENCY_BUCKETS,
            ),
        }
    }

    /// The tenant unqualified connections and flows belong to (see the module comment).
    pub fn set_own_tenant(&self, tenant: &TenantId) {
        *self.own_tenant.write().unwrap_or_else(PoisonError::into_inner) = tenant.as_str().to_owned();
    }

    fn own_tenant(&self) -> String {
        self.own_tenant.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Counts one inbound event for `tenant`; `None` when the route named no tenant this node
    /// serves.
    pub fn record_event(&self, tenant: Option<&str>, source: EventSource, outcome: EventOutcome) {
        self.events_received.add(Owner::of(tenant), &[source.as_str(), outcome.as_str()], 1);
    }

    /// Counts one remote API call; `connection` may be `"<tenant>/<connection>"`, `status` is
    /// the HTTP status or an error class such as `timeout`.
    pub fn record_api_call(&self, connection: &str, operation: &str, status: &str) {
        let (owner, connection) = Owner::split(connection);
        self.api_requests.add(owner, &[connection, operation, status], 1);
    }

    /// Counts one wait imposed by a rate limit; `connection` may be `"<tenant>/<connection>"`.
    pub fn record_throttle(&self, connection: &str, operation: &str) {
        let (owner, connection) = Owner::split(connection);
        self.throttle_waits.add(owner, &[connection, operation], 1);
    }

    /// Records one event-to-target latency of the own tenant.
    pub fn observe_end_to_end(&self, seconds: f64) {
        self.observe(Owner::Own, seconds);
    }

    /// Records one event-to-target latency of `flow`, which may be `"<tenant>/<flow>"`.
    pub fn observe_delivery(&self, flow: &str, seconds: f64) {
        self.observe(Owner::split(flow).0, seconds);
    }

    /// Negative or non-finite values (clock skew, bugs) are clamped or dropped rather than
    /// corrupting the histogram.
    fn observe(&self, owner: Owner, seconds: f64) {
        if seconds.is_nan() {
            return;
        }
        self.end_to_end.observe(owner, seconds.max(0.0));
    }

    /// The upper bound of the end-to-end latency bucket that holds quantile `q` (0–1) of the
    /// observations of every tenant (`+Inf` past the last bound); `None` before the first
    /// observation.
    pub fn end_to_end_quantile(&self, q: f64) -> Option<f64> {
        self.end_to_end.quantile_bound(q)
    }

    /// Renders every metric in the Prometheus text format 0.0.4.
    pub fn render(&self, snapshot: &Snapshot<'_>) -> String {
        let own = self.own_tenant();
        // The own tenant and every served one show zeros before their first event, so
        // dashboards and rate() see a series from the start.
        let mut tenants: Vec<&str> = snapshot.tenants.iter().map(String::as_str).collect();
        tenants.push(&own);
        let mut out = String::with_capacity(4096);
        let mut events = self.events_received.resolved(&own);
        for tenant in &tenants {
            for source in [EventSource::Amazon, EventSource::Dataverse] {
                for outcome in [EventOutcome::Stored, EventOutcome::Duplicate, EventOutcome::Rejected] {
                    let key = vec![(*tenant).to_owned(), source.as_str().to_owned(), outcome.as_str().to_owned()];
                    events.entry(key).or_insert(0);
                }
            }
        }
        self.events_received.render(&mut out, &events);
        render_jobs(&mut out, snapshot.pool);
        render_queue(&mut out, snapshot);
        self.api_requests.render(&mut out, &self.api_requests.resolved(&own));
        self.throttle_waits.render(&mut out, &self.throttle_waits.resolved(&own));
        render_breakers(&mut out, snapshot.breakers);
        self.end_to_end.render(&mut out, &own, &tenants);
        out
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a counter map half-updated in a way that
    // matters more than losing all metrics.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A counter with a `tenant` label and a fixed set of further label names.
#[derive(Debug)]
struct CounterVec {
    name: &'static str,
    help: &'static str,
    /// The labels after `tenant`.
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<(Owner, Vec<String>), u64>>,
}

impl CounterVec {
    fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        CounterVec { name, help, labels, values: Mutex::default() }
    }

    fn add(&self, owner: Owner, values: &[&str], n: u64) {
        debug_assert_eq!(values.len(), self.labels.len(), "label count of {}", self.name);
        let key: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        let mut map = lock(&self.values);
        let slot = map.entry((owner, key)).or_insert(0);
        *slot = slot.saturating_add(n);
    }

    /// The counts by label values, `tenant` first, with the own tenant named `own` (its
    /// unqualified and qualified counts are one series).
    fn resolved(&self, own: &str) -> BTreeMap<Vec<String>, u64> {
        let mut resolved = BTreeMap::new();
        for ((owner, values), count) in lock(&self.values).iter() {
            let key: Vec<String> = std::iter::once(owner.label(own)).chain(values.iter().cloned()).collect();
            let slot: &mut u64 = resolved.entry(key).or_insert(0);
            *slot = slot.saturating_add(*count);
        }
        resolved
    }

    fn render(&self, out: &mut String, resolved: &BTreeMap<Vec<String>, u64>) {
        header(out, self.name, self.help, "counter");
        for (values, count) in resolved {
            let names = std::iter::once("tenant").chain(self.labels.iter().copied());
            let labels: Vec<(&str, &str)> = names.zip(values.iter().map(String::as_str)).collect();
            sample(out, self.name, &labels, &count.to_string());
        }
    }
}

#[derive(Debug, Clone)]
struct HistogramState {
    /// Per-bucket (non-cumulative) counts; the last slot is +Inf.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl HistogramState {
    fn empty(bounds: &[f64]) -> Self {
        HistogramState { counts: vec![0; bounds.len() + 1], sum: 0.0, count: 0 }
    }

    fn merge(&mut self, other: &HistogramState) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// A histogram with fixed upper bounds, one per tenant.
#[derive(Debug)]
struct Histogram {
    name: &'static str,
    help: &'static str,
    bounds: &'static [f64],
    states: Mutex<BTreeMap<Owner, HistogramState>>,
}

impl Histogram {
    fn new(name: &'static str, help: &'static str, bounds: &'static [f64]) -> Self {
        Histogram { name, help, bounds, states: Mutex::default() }
    }

    fn observe(&self, owner: Owner, value: f64) {
        let slot = self.bounds.iter().position(|bound| value <= *bound).unwrap_or(self.bounds.len());
        let mut states = lock(&self.states);
        let state = states.entry(owner).or_insert_with(|| HistogramState::empty(self.bounds));
        state.counts[slot] += 1;
        state.sum += value;
        state.count += 1;
    }

    /// Every tenant's observations in one.
    fn quantile_bound(&self, q: f64) -> Option<f64> {
        let mut state = HistogramState::empty(self.bounds);
        for one in lock(&self.states).values() {
            state.merge(one);
        }
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

    /// One histogram per tenant, the own one named `own`; `tenants` are shown empty when they
    /// have no observation yet.
    fn render(&self, out: &mut String, own: &str, tenants: &[&str]) {
        header(out, self.name, self.help, "histogram");
        let mut resolved: BTreeMap<String, HistogramState> = BTreeMap::new();
        for (owner, state) in lock(&self.states).iter() {
            resolved.entry(owner.label(own)).or_insert_with(|| HistogramState::empty(self.bounds)).merge(state);
        }
        for tenant in tenants {
            resolved.entry((*tenant).to_owned()).or_insert_with(|| HistogramState::empty(self.bounds));
        }
        let bucket = format!("{}_bucket", self.name);
        for (tenant, state) in &resolved {
            let mut cumulative = 0;
            for (i, count) in state.counts.iter().enumerate() {
                cumulative += count;
                let le = self.bounds.get(i).map_or_else(|| "+Inf".to_owned(), |b| number(*b));
                sample(out, &bucket, &[("tenant", tenant), ("le", &le)], &cumulative.to_string());
            }
            sample(out, &format!("{}_sum", self.name), &[("tenant", tenant)], &number(state.sum));
            sample(out, &format!("{}_count", self.name), &[("tenant", tenant)], &state.count.to_string());
        }
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

/// The runtime reports every remote call here; connections and flows may be qualified with
/// their tenant (see the module comment).
impl ferry_runtime::CallObserver for Metrics {
    fn api_call(&self, connection: &str, operation: &str, outcome: &str) {
        self.record_api_call(connection, operation, outcome);
    }

    fn throttled(&self, connection: &str, operation: &str) {
        self.record_throttle(connection, operation);
    }

    fn delivered(&self, flow: &str, seconds: f64) {
        self.observe_delivery(flow, seconds);
    }
}
