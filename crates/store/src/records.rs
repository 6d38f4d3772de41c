//! The rows the store keeps, as typed values.

use std::fmt;

use ferry_model::{ConnectionId, TenantId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::StoreError;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                s.trim()
                    .parse::<i64>()
                    .map($name)
                    .map_err(|_| format!("`{s}` is not a {} (expected a whole number)", $what))
            }
        }
    };
}

row_id!(
    /// A job's id.
    JobId,
    "job id"
);
row_id!(
    /// A dead letter's id.
    DeadLetterId,
    "dead-letter id"
);
row_id!(
    /// An inbox event's id.
    EventId,
    "event id"
);

/// A connection: one configured endpoint of one system for one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub tenant: TenantId,
    pub id: ConnectionId,
    /// The system, e.g. "amazon", "dataverse".
    pub system: String,
    pub endpoint: String,
    /// The name of the secret holding its credentials; never the credentials themselves.
    pub credentials_ref: Option<String>,
    /// Rate/burst/concurrency overrides, as configured.
    pub limits: serde_json::Value,
    /// System-specific settings (marketplaces, token URL, queue URL), as configured; an
    /// empty object when there are none.
    #[serde(default = "empty_object")]
    pub options: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// Whether a tenant's work runs: a disabled tenant's jobs stay queued, untouched, and run
/// when it is enabled again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Disabled,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Disabled => "disabled",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(TenantStatus::Active),
            "disabled" => Ok(TenantStatus::Disabled),
            other => {
                Err(StoreError::Corrupt { what: "tenants.status".into(), detail: format!("unknown status `{other}`") })
            }
        }
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tenant (one seller's workspace) as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantInfo {
    pub id: TenantId,
    pub name: String,
    pub status: TenantStatus,
    /// Days its processed data is kept; `None`: the node's `store.retention_days`.
    pub retention_days: Option<u32>,
    pub created_at: Timestamp,
}

/// An event arriving from a source, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    /// Unique per tenant: the same event delivered twice is stored once.
    pub dedupe_key: String,
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// What `accept_event` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub event: EventId,
    /// False when the dedupe key was already known (a redelivery).
    pub new: bool,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub tenant: TenantId,
    pub flow: String,
    pub connection: Option<ConnectionId>,
    /// When set, at most one job with this key exists per tenant.
    pub dedupe_key: Option<String>,
    /// The record the job is about (e.g. `amazon:order:123-…`). Jobs of one flow for one
    /// record run one at a time, across nodes; see [`Outcome::Completed::covers_earlier`].
    pub record: Option<String>,
    pub payload: serde_json::Value,
    pub run_at: Option<Timestamp>,
    pub max_attempts: u32,
}

impl NewJob {
    /// A job for `flow` with default settings (runs now, 8 attempts).
    pub fn new(tenant: TenantId, flow: impl Into<String>, payload: serde_json::Value) -> Self {
        NewJob {
            tenant,
            flow: flow.into(),
            connection: None,
            dedupe_key: None,
            record: None,
            payload,
            run_at: None,
            max_attempts: 8,
        }
    }

    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// Names the record the job is about: it then never runs beside another job of its flow
    /// for the same record, and a run that read the record afresh covers the earlier ones.
    pub fn record(mut self, record: impl Into<String>) -> Self {
        self.record = Some(record.into());
        self
    }

    pub fn connection(mut self, connection: ConnectionId) -> Self {
        self.connection = Some(connection);
        self
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    pub fn run_at(mut self, at: Timestamp) -> Self {
        self.run_at = Some(at);
        self
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Available,
    Running,
    Completed,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Dead => "dead",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "available" => JobState::Available,
            "running" => JobState::Running,
            "completed" => JobState::Completed,
            "dead" => JobState::Dead,
            other => {
                return Err(StoreError::Corrupt {
                    what: "jobs.state".into(),
                    detail: format!("unknown state `{other}`"),
                });
            }
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub tenant: TenantId,
    pub flow: String,
    pub connection: Option<ConnectionId>,
    pub dedupe_key: Option<String>,
    /// The payload as stored. Parse it with [`Job::payload_as`] so a corrupt payload becomes an
    /// error naming the job.
    pub payload: String,
    pub state: JobState,
    /// Attempts used so far, including the current one while running.
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: Timestamp,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<String>,
    pub created_at: Timestamp,
    /// The record the job is about, if it named one ([`NewJob::record`]).
    pub record: Option<String>,
}

impl Job {
    /// Parses the payload into `T`, naming the job and flow when it does not fit.
    pub fn payload_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        if crate::secrets::is_sealed_payload(&self.payload) {
            return Err(StoreError::Corrupt {
                what: format!("payload of job {} (flow `{}`)", self.id, self.flow),
                detail: "it is sealed with a master key this store was not opened with".into(),
            });
        }
        serde_json::from_str(&self.payload).map_err(|e| StoreError::Corrupt {
            what: format!("payload of job {} (flow `{}`)", self.id, self.flow),
            detail: e.to_string(),
        })
    }
}

/// A cursor position to commit together with an enqueue or a job's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorUpdate {
    pub tenant: TenantId,
    pub name: String,
    pub value: String,
}

/// Identifies a source record's mapping to one target entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XrefKey {
    pub tenant: TenantId,
    pub source_system: String,
    pub source_entity: String,
    pub source_id: String,
    pub target_system: String,
    pub target_entity: String,
}

/// A source record ↔ target record row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xref {
    pub key: XrefKey,
    pub target_id: String,
}

/// A trace row with the job and flow it came from (record search).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRow {
    pub job: JobId,
    pub flow: String,
    pub run: RunRecord,
}

/// Identifies the last write of a record in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EchoKey {
    pub tenant: TenantId,
    pub system: String,
    pub entity: String,
    pub record_id: String,
    /// e.g. "store->crm".
    pub direction: String,
}

/// The hash of what was last written for a record and direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub key: EchoKey,
    pub hash: String,
}

/// One per-record trace line (already PII-redacted by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The record it concerns, e.g. "amazon:order:123-1234567-1234567".
    pub record: String,
    pub step: String,
    /// e.g. "ok", "retry", "throttled", "dead".
    pub outcome: String,
    pub message: String,
    pub at: Timestamp,
}

/// What became of a claimed job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done: its effects are recorded with it.
    Completed {
        xrefs: Vec<Xref>,
        cursor: Option<CursorUpdate>,
        echoes: Vec<Echo>,
        /// The run read its record afresh after it was claimed, so the waiting jobs of the same
        /// flow and record enqueued before that claim carry nothing newer: they complete as
        /// covered with it. Jobs enqueued after the claim still run, once each.
        covers_earlier: bool,
    },
    /// Try again at `run_at`. `refund_attempt` is true for throttling and open circuits, which
    /// must not consume an attempt.
    Retry { run_at: Timestamp, refund_attempt: bool, error_kind: String, error: String },
    /// Give up: move to the dead-letter table with the step that failed and why. A record
    /// has at most one open dead letter: a later job of the same flow and record that gives
    /// up too updates it (its payload, step and error) instead of adding another.
    Dead {
        step: String,
        error_kind: String,
        error: String,
        /// As for `Completed`: the run read its record afresh, so the jobs enqueued before its
        /// claim would fail the same way; they complete as covered by this dead letter, whose
        /// replay reads the record again.
        covers_earlier: bool,
    },
    /// Hand the job back untouched (shutdown drain): the attempt is refunded.
    Release,
}

impl Outcome {
    /// Completed with no recorded effects.
    pub fn done() -> Self {
        Outcome::Completed { xrefs: Vec::new(), cursor: None, echoes: Vec::new(), covers_earlier: false }
    }
}

/// One job's outcome with its trace lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub job: JobId,
    pub outcome: Outcome,
    pub trace: Vec<RunRecord>,
}

impl Completion {
    /// A dead-letter outcome without trace lines.
    pub fn dead(job: JobId, step: &str, error_kind: &str, error: &str) -> Self {
        Completion {
            job,
            outcome: Outcome::Dead {
                step: step.into(),
                error_kind: error_kind.into(),
                error: error.into(),
                covers_earlier: false,
            },
            trace: Vec::new(),
        }
    }
}

/// What a retention purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub inbox: u64,
    pub jobs: u64,
    pub dead_letters: u64,
    pub runs: u64,
}

/// Queue counts for `ferry status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Available and due now.
    pub ready: u64,
    /// Available but scheduled later (backoff, throttling).
    pub scheduled: u64,
    pub running: u64,
    pub completed: u64,
    pub dead: u64,
    /// Dead letters still open.
    pub dead_letters_open: u64,
    /// Running jobs whose lease has run out (a crashed worker's).
    pub expired_leases: u64,
}

/// How many of a flow's jobs finished in one hour (by when they last changed), for the
/// console's anomaly flags on each flow's volume and failure rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowHourCount {
    pub flow: String,
    /// The start of the hour (UTC, on the hour).
    pub hour: Timestamp,
    /// Jobs that ran and completed in the hour.
    pub completed: u64,
    /// Jobs completed without a run because a later run of their record covered them
    /// (record coalescing): not counted in `completed`.
    pub covered: u64,
    /// Jobs that gave up (dead-lettered) in the hour.
    pub dead: u64,
}

/// Upper bounds (exclusive, in milliseconds) of the latency buckets the store counts each
/// flow's completed jobs in, per hour: bucket `i` holds latencies under `LATENCY_BOUNDS_MS[i]`
/// (and at least the bound before it); the last bucket, `LATENCY_BOUNDS_MS.len()`, holds a day
/// or more. Fixed: the counters already kept are read with these bounds.
pub const LATENCY_BOUNDS_MS: [u64; 20] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000,
    3_600_000, 10_800_000, 21_600_000, 86_400_000,
];

/// How long a flow's completed jobs took from their creation (for a webhook's jobs: the
/// event's acceptance) to their completion, as counts per latency bucket (see
/// [`LATENCY_BOUNDS_MS`]). Jobs completed as covered by another run are not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowLatency {
    pub flow: String,
    /// Jobs per bucket: `LATENCY_BOUNDS_MS.len() + 1` entries.
    pub buckets: Vec<u64>,
}

impl FlowLatency {
    /// Completed jobs counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The `q` quantile (0 < q ≤ 1) as the upper bound of the bucket it falls in, in
    /// milliseconds: the quantile is under it. `None` without jobs, or when it falls in the
    /// last bucket (a day or more).
    pub fn quantile_under_ms(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // The rank of the quantile among the jobs, 1-based: the smallest r with r ≥ q·total.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return LATENCY_BOUNDS_MS.get(i).copied();
            }
        }
        None
    }
}

/// A latency bound as people read it: "250 ms", "2.5 s", "5 min", "1 h".
pub fn latency_words(ms: u64) -> String {
    let trim = |v: f64| {
        let text = format!("{v:.1}");
        text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
    };
    match ms {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{} s", trim(ms as f64 / 1e3)),
        ms if ms < 3_600_000 => format!("{} min", trim(ms as f64 / 6e4)),
        ms if ms < 86_400_000 => format!("{} h", trim(ms as f64 / 3.6e6)),
        ms => format!("{} d", trim(ms as f64 / 8.64e7)),
    }
}

/// State of a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterStatus {
    Open,
    Replayed,
    Discarded,
}

impl DeadLetterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterStatus::Open => "open",
            DeadLetterStatus::Replayed => "replayed",
            DeadLetterStatus::Discarded => "discarded",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "open" => DeadLetterStatus::Open,
            "replayed" => DeadLetterStatus::Replayed,
            "discarded" => DeadLetterStatus::Discarded,
            other => {
                return Err(StoreError::Corrupt {
                    what: "dead_letters.status".into(),
                    detail: format!("unknown status `{other}`"),
                });
            }
        })
    }
}

/// A job that gave up, with everything a person needs to fix and replay it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub id: DeadLetterId,
    pub tenant: TenantId,
    pub job: JobId,
    pub flow: String,
    pub step: String,
    pub attempts: u32,
    pub error_kind: String,
    pub error: String,
    /// The payload as stored (shown redacted; see [`crate::redact`]).
    pub payload: String,
    pub status: DeadLetterStatus,
    pub replay_job: Option<JobId>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub tenant: TenantId,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// An admin API token as stored: its id, tenant, role and dates, and the SHA-256 of the whole
/// token; the token itself is shown once, when it is made, and kept nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRow {
    pub id: String,
    pub tenant: TenantId,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    pub label: String,
    #[serde(skip)]
    pub hash: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// An alert rule as stored: the rule's JSON is the console's to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRuleRow {
    pub id: i64,
    pub tenant: TenantId,
    pub rule: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// The open episode of one alert rule and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEpisode {
    pub id: i64,
    pub started_at: Timestamp,
    pub fired_at: Option<Timestamp>,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub at: Timestamp,
    pub entry: AuditEntry,
}

/// A secret as stored: encrypted, never the clear value.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub tenant: TenantId,
    pub name: String,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("tenant", &self.tenant)
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A secret's name and dates, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretInfo {
    pub name: String,
    pub key_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub(crate) fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// A circuit breaker's state as a node last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerRow {
    pub node: String,
    pub host: String,
    pub state: String,
    pub updated_at: Timestamp,
}

/// One entry of a lookup table that mappings read with `lookup('table')`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookupEntry {
    pub table: String,
    pub key: String,
    pub value: serde_json::Value,
}

/// An exchange rate: one unit of `from` buys `rate` units of `to`. Never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FxRate {
    pub from: ferry_model::Currency,
    pub to: ferry_model::Currency,
    pub rate: ferry_model::Decimal,
}

/// One saved version of a flow's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowVersionRow {
    pub flow: String,
    pub version: i64,
    pub text: String,
    /// Where it came from: "imported from <file>", "saved in the console"…
    pub note: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// What runs of one flow: the active version, whether it is paused, and the version
/// shadowing it (run beside it on live records, writing nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowHead {
    pub flow: String,
    pub active: i64,
    pub paused: bool,
    pub shadow: Option<i64>,
    pub changed_by: String,
    pub changed_at: Timestamp,
}

/// When [`crate::Store::add_flow_version`] makes the version the one that runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activate {
    /// Always (a save from the designer; the same text as an older version re-activates it).
    Always,
    /// Only when the text is new (a file imported at start: a text already kept changes
    /// nothing, so a rollback in the console survives restarts).
    IfNew,
    /// Never: a draft, to shadow the running version or to run later.
    Never,
}

/// A change to a flow's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowHeadChange {
    /// Run this version (it must exist): a rollback, or a roll forward.
    Activate(i64),
    /// Pause (true) or resume (false).
    Pause(bool),
    /// Shadow the active version with this one (it must exist), or stop shadowing.
    Shadow(Option<i64>),
}

/// What a shadow version would have written for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowResult {
    pub record: String,
    /// How many fields would differ.
    pub differing: u32,
    /// The difference as JSON (the console's to read).
    pub diff: String,
    pub at: Timestamp,
}

/// A shadow version's results: how many records it saw, how many would differ, and the
/// newest results (those that differ first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowReport {
    pub records: u64,
    pub differing_records: u64,
    pub results: Vec<ShadowResult>,
}

/// A recent source record of a flow (PII redacted), for the designer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowSample {
    pub record: String,
    pub sample: String,
    pub at: Timestamp,
}

/// One amount of a money field a flow marks: what it is, what it is grouped by (a SKU, a fee
/// type: never buyer data), the record it came from and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoneyObservation {
    pub flow: String,
    /// What the amount is, in words: "unit price".
    pub field: String,
    /// What the key is, in words: "SKU".
    pub per: String,
    pub key: String,
    /// ISO 4217.
    pub currency: String,
    pub record: String,
    /// Decimal text, exact.
    pub amount: String,
    pub at: Timestamp,
}
