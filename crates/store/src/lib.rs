//! Ferry's durable store: one [`Store`] trait with two backends of equal standing,
//! SQLite (embedded default, one file, WAL) and PostgreSQL (multi-node).
//!
//! Everything the engine must not lose lives here: the inbox of acknowledged events, the job
//! queue, dead letters, cross-references between systems, poll cursors, per-record run traces,
//! the audit log, encrypted secrets and echo hashes. Every row belongs to a tenant.

mod any;
mod error;
mod health;
mod migrate;
mod postgres;
mod records;
pub mod redact;
pub mod secrets;
mod sql_store;
mod sqlite;
mod tenant_count;
pub mod testing;
mod time;
mod wakeups;

pub use any::{AnyStore, PG_DEFAULT_CONNECTIONS, SQLITE_DEFAULT_CONNECTIONS};
pub use error::StoreError;
pub use ferry_model::{ConnectionId, TenantId};
pub use health::{WriteFailure, WriteStatus};
pub use postgres::{PgStore, create_pg_schema, drop_pg_schema};
pub use records::*;
pub use sqlite::SqliteStore;
pub use time::{from_micros, now_micros, to_micros};
pub use wakeups::JOBS_CHANNEL;

/// How many recent source records a flow keeps for the designer.
pub const FLOW_SAMPLES: i64 = 10;

use std::future::Future;
use std::time::Duration;

/// Creates `dir` and any missing parents with mode 0700 (owner only); an existing folder is
/// left as it is. For the data folder, which holds the database and the master key.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The result type of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The durable core. Both backends implement it with the same semantics; the store test suite
/// runs unchanged against each.
pub trait Store: Send + Sync + Clone + 'static {
    /// A short name for messages: "sqlite" or "postgres".
    fn backend(&self) -> &'static str;

    /// Whether writes are going through: the last write's failure (if the most recent one
    /// failed) and when a write last changed a row. Readiness reports it.
    fn write_status(&self) -> WriteStatus;

    /// Resolves when jobs may have become runnable: after this process added some, or (on
    /// PostgreSQL) another node did. Idle workers wait on it beside their poll interval.
    fn jobs_added(&self) -> impl Future<Output = ()> + Send;

    /// Takes one request from the rate bucket `key` that every node on this store shares
    /// (GCRA: one request per `interval`, up to `burst` at once, in one atomic statement).
    /// `Ok(None)`: send it now; `Ok(Some(wait))`: nothing is admitted for `wait`.
    fn take_rate_token(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> impl Future<Output = Result<Option<Duration>>> + Send;

    /// Admits nothing from bucket `key` for `pause` (a remote's `Retry-After`), on every node.
    fn pause_rate_bucket(&self, key: &str, pause: Duration) -> impl Future<Output = Result<()>> + Send;

    /// Applies pending migrations; safe to call on every start and from several nodes.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;

    /// Creates the tenant if it does not exist.
    fn ensure_tenant(&self, tenant: &TenantId, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Inserts or updates a connection (what flows and limits are keyed on).
    fn upsert_connection(&self, conn: &Connection) -> impl Future<Output = Result<()>> + Send;

    /// Lists a tenant's connections.
    fn connections(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<Connection>>> + Send;

    /// Adds or replaces a connection of its tenant, in one transaction with an audit row
    /// naming `actor` (`connection.add`, or `connection.update` when the id existed).
    /// Returns whether the connection is new.
    fn put_connection(&self, conn: &Connection, actor: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Removes a tenant's connection, with an audit row. An id the tenant does not have
    /// (another tenant's included) is [`StoreError::NotFound`].
    fn remove_connection(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every tenant, by id.
    fn tenants(&self) -> impl Future<Output = Result<Vec<TenantInfo>>> + Send;

    /// Creates an active tenant, with an audit row (`tenant.add`); an id already taken is
    /// [`StoreError::Conflict`]. `retention_days`: `None` keeps the node's default.
    fn add_tenant(
        &self,
        tenant: &TenantId,
        name: &str,
        retention_days: Option<u32>,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Enables or disables a tenant, with an audit row (`tenant.enable` / `tenant.disable`)
    /// when the status changes; returns whether it did. A disabled tenant's jobs stay queued,
    /// untouched: [`claim`](Self::claim) skips them (on every node within a second) until
    /// the tenant is enabled again. An unknown tenant is [`StoreError::NotFound`].
    fn set_tenant_status(
        &self,
        tenant: &TenantId,
        status: TenantStatus,
        actor: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Sets how many days a tenant's processed data is kept (`None`: the node's
    /// `store.retention_days`), with an audit row (`tenant.retention`). An unknown tenant is
    /// [`StoreError::NotFound`].
    fn set_tenant_retention(
        &self,
        tenant: &TenantId,
        retention_days: Option<u32>,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Stores an event and enqueues its jobs in one transaction. An event whose dedupe key is
    /// already in the inbox is not stored again and enqueues nothing.
    fn accept_event(&self, event: &NewEvent, jobs: &[NewJob]) -> impl Future<Output = Result<Accepted>> + Send;

    /// Enqueues jobs (batched). Jobs whose dedupe key already exists for the tenant are skipped;
    /// the result holds the ids of the jobs inserted, in input order (`None` for skipped ones).
    fn enqueue(&self, jobs: &[NewJob]) -> impl Future<Output = Result<Vec<Option<JobId>>>> + Send;

    /// Enqueues jobs and moves a cursor in one transaction: the cursor never runs ahead of the
    /// work it covers.
    fn enqueue_with_cursor(
        &self,
        jobs: &[NewJob],
        cursor: &CursorUpdate,
    ) -> impl Future<Output = Result<Vec<Option<JobId>>>> + Send;

    /// Claims up to `limit` runnable jobs for `owner`, leasing them for `lease`. Each claim
    /// counts one attempt; deferrals that must not cost an attempt refund it at completion.
    /// Disabled tenants' jobs are not claimed.
    fn claim(&self, owner: &str, limit: u32, lease: Duration) -> impl Future<Output = Result<Vec<Job>>> + Send;

    /// Extends the lease of jobs still held by `owner`; returns how many were extended.
    fn heartbeat(&self, owner: &str, jobs: &[JobId], lease: Duration) -> impl Future<Output = Result<u64>> + Send;

    /// Commits outcomes, each atomically with its xref rows, cursor, echo hashes and trace, all
    /// in one transaction. An outcome for a job no longer leased by `owner` is not applied
    /// (its lease expired and it belongs to someone else now); the result says which applied.
    fn complete(&self, owner: &str, outcomes: &[Completion]) -> impl Future<Output = Result<Vec<bool>>> + Send;

    /// Returns running jobs whose lease has expired to the queue. Returns how many.
    fn recover_expired_leases(&self) -> impl Future<Output = Result<u64>> + Send;

    /// One job by id.
    fn job(&self, id: JobId) -> impl Future<Output = Result<Option<Job>>> + Send;

    /// Queue depth and states of every tenant, for `/metrics` and the node's own checks.
    fn queue_stats(&self) -> impl Future<Output = Result<QueueStats>> + Send {
        self.queue_stats_of(None)
    }

    /// Queue depth and states of one tenant (`ferry status`, the console), or of all.
    fn queue_stats_of(&self, tenant: Option<&TenantId>) -> impl Future<Output = Result<QueueStats>> + Send;

    /// A tenant's finished jobs per flow and hour, from the hour holding `since` on: how many
    /// completed, were covered, or died in each hour (by the time they last changed), oldest
    /// hour first within each flow, flows by name. Hours in which a flow finished nothing have
    /// no row. Reads the hourly counters kept with the jobs (`flow_counts`), not the jobs;
    /// purged jobs are not counted.
    fn flow_hourly_counts(
        &self,
        tenant: &TenantId,
        since: jiff::Timestamp,
    ) -> impl Future<Output = Result<Vec<FlowHourCount>>> + Send;

    /// A tenant's completed jobs per flow by latency bucket (see [`LATENCY_BOUNDS_MS`]), those
    /// that completed from the hour holding `since` on, flows by name. Reads the hourly
    /// counters, however many jobs there are.
    fn flow_latency(
        &self,
        tenant: &TenantId,
        since: jiff::Timestamp,
    ) -> impl Future<Output = Result<Vec<FlowLatency>>> + Send;

    /// Dead letters of a tenant, newest first; `open_only` hides replayed and discarded ones.
    fn dead_letters(
        &self,
        tenant: &TenantId,
        open_only: bool,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DeadLetter>>> + Send;

    /// One dead letter of a tenant; another tenant's id is not found.
    fn dead_letter(
        &self,
        tenant: &TenantId,
        id: DeadLetterId,
    ) -> impl Future<Output = Result<Option<DeadLetter>>> + Send;

    /// Replays an open dead letter of a tenant as a new job (with an edited payload if given),
    /// in one transaction with marking it replayed and an audit row. Another tenant's id is
    /// [`StoreError::NotFound`].
    fn replay_dead_letter(
        &self,
        tenant: &TenantId,
        id: DeadLetterId,
        edited_payload: Option<&serde_json::Value>,
        actor: &str,
    ) -> impl Future<Output = Result<JobId>> + Send;

    /// Discards an open dead letter of a tenant, with an audit row. Another tenant's id is
    /// [`StoreError::NotFound`].
    fn discard_dead_letter(
        &self,
        tenant: &TenantId,
        id: DeadLetterId,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The target id recorded for a source record.
    fn xref(&self, key: &XrefKey) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Writes (or overwrites) an xref row outside a job, e.g. for an import.
    fn put_xref(&self, xref: &Xref) -> impl Future<Output = Result<()>> + Send;

    /// A cursor's value.
    fn cursor(&self, tenant: &TenantId, name: &str) -> impl Future<Output = Result<Option<String>>> + Send;

    /// The last written hash for a record and direction (echo-loop suppression).
    fn echo_hash(&self, key: &EchoKey) -> impl Future<Output = Result<Option<String>>> + Send;

    /// The trace rows of one job, oldest first.
    fn runs_for_job(&self, job: JobId) -> impl Future<Output = Result<Vec<RunRecord>>> + Send;

    /// A tenant's trace rows of the records whose id is `id` (the record key is `id` or ends
    /// with `:<id>`, e.g. `amazon:order:<id>`), oldest first, at most `limit`.
    fn record_runs(
        &self,
        tenant: &TenantId,
        id: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<TraceRow>>> + Send;

    /// A tenant's cross-references with `id` as source or target id: the record's
    /// counterparts in the other systems.
    fn xrefs_of(&self, tenant: &TenantId, id: &str) -> impl Future<Output = Result<Vec<Xref>>> + Send;

    /// Appends an audit row.
    fn audit(&self, entry: &AuditEntry) -> impl Future<Output = Result<()>> + Send;

    /// Audit rows of a tenant, newest first.
    fn audit_log(&self, tenant: &TenantId, limit: u32) -> impl Future<Output = Result<Vec<AuditRow>>> + Send;

    /// Stores a new admin API token (its hash), with an audit row. An id that exists is a
    /// [`StoreError::Conflict`].
    fn add_api_token(&self, token: &ApiTokenRow, actor: &str) -> impl Future<Output = Result<()>> + Send;

    /// The token with `id`, of any tenant: what a request's bearer token is checked against.
    fn api_token(&self, id: &str) -> impl Future<Output = Result<Option<ApiTokenRow>>> + Send;

    /// Stores an alert rule of a tenant (its JSON), with an audit row saying `shown` (the rule
    /// without its secrets); returns its id.
    fn add_alert_rule(
        &self,
        tenant: &TenantId,
        rule: &str,
        shown: &str,
        actor: &str,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// A tenant's alert rules, oldest first.
    fn alert_rules(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<AlertRuleRow>>> + Send;

    /// Removes a tenant's alert rule (and ends its episodes), with an audit row; another
    /// tenant's id is [`StoreError::NotFound`].
    fn remove_alert_rule(&self, tenant: &TenantId, id: i64, actor: &str) -> impl Future<Output = Result<()>> + Send;

    /// The open episode of `rule` for `subject`, begun at `now` if there is none.
    fn alert_episode(
        &self,
        tenant: &TenantId,
        rule: i64,
        subject: &str,
        now: jiff::Timestamp,
    ) -> impl Future<Output = Result<AlertEpisode>> + Send;

    /// Marks an episode's alert sent; `false` when another node marked it first.
    fn mark_alert_fired(&self, episode: i64, now: jiff::Timestamp) -> impl Future<Output = Result<bool>> + Send;

    /// Takes the mark back (the send failed), so the next check sends it.
    fn unmark_alert_fired(&self, episode: i64) -> impl Future<Output = Result<()>> + Send;

    /// Ends the open episodes of `rule` whose subject is not in `holding`.
    fn end_alert_episodes(
        &self,
        tenant: &TenantId,
        rule: i64,
        holding: &[String],
        now: jiff::Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Keeps `text` as a version of the tenant's flow `flow`, with an audit row: a text the flow
    /// already has keeps its number; a new one gets the next. Returns the version and whether
    /// it is new; `activate` says whether it becomes the one that runs.
    fn add_flow_version(
        &self,
        tenant: &TenantId,
        flow: &str,
        text: &str,
        note: &str,
        activate: Activate,
        actor: &str,
    ) -> impl Future<Output = Result<(i64, bool)>> + Send;

    /// The versions of a tenant's flows (of `flow` only, when given), by flow then newest first.
    fn flow_versions(
        &self,
        tenant: &TenantId,
        flow: Option<&str>,
    ) -> impl Future<Output = Result<Vec<FlowVersionRow>>> + Send;

    /// The heads of a tenant's flows, by flow.
    fn flow_heads(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<FlowHead>>> + Send;

    /// Changes a flow's head, with an audit row saying before and after; a flow or version the
    /// tenant does not have is [`StoreError::NotFound`].
    fn set_flow_head(
        &self,
        tenant: &TenantId,
        flow: &str,
        change: FlowHeadChange,
        actor: &str,
    ) -> impl Future<Output = Result<FlowHead>> + Send;

    /// Keeps what shadow `version` of `flow` would have written for `record` (replacing an
    /// earlier result for the same record).
    fn put_shadow_result(
        &self,
        tenant: &TenantId,
        flow: &str,
        version: i64,
        result: &ShadowResult,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The results of shadow `version` of `flow`: counts, and up to `limit` rows (differing first,
    /// newest first).
    fn shadow_report(
        &self,
        tenant: &TenantId,
        flow: &str,
        version: i64,
        limit: u32,
    ) -> impl Future<Output = Result<ShadowReport>> + Send;

    /// Keeps a recent source record of `flow` (the newest [`FLOW_SAMPLES`] are kept).
    fn put_flow_sample(
        &self,
        tenant: &TenantId,
        flow: &str,
        sample: &FlowSample,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The kept source records of `flow`, newest first.
    fn flow_samples(&self, tenant: &TenantId, flow: &str) -> impl Future<Output = Result<Vec<FlowSample>>> + Send;

    /// Makes the waiting jobs of `flows` that a paused flow deferred runnable now (the flow was
    /// resumed); returns how many.
    fn wake_paused_jobs(&self, tenant: &TenantId, flows: &[String]) -> impl Future<Output = Result<u64>> + Send;

    /// Keeps amounts of marked money fields (a record's amount for a key replaces the earlier).
    fn put_money_observations(
        &self,
        tenant: &TenantId,
        observations: &[MoneyObservation],
    ) -> impl Future<Output = Result<()>> + Send;

    /// A tenant's kept amounts since `since`, oldest first.
    fn money_observations(
        &self,
        tenant: &TenantId,
        since: jiff::Timestamp,
    ) -> impl Future<Output = Result<Vec<MoneyObservation>>> + Send;

    /// A tenant's tokens, newest first (revoked and expired ones too).
    fn api_tokens(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<ApiTokenRow>>> + Send;

    /// Revokes a tenant's token, with an audit row; another tenant's id is
    /// [`StoreError::NotFound`], a revoked one is left as it was (`false`).
    fn revoke_api_token(&self, tenant: &TenantId, id: &str, actor: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Sets (or replaces) one entry of a tenant's lookup table.
    fn put_lookup(
        &self,
        tenant: &TenantId,
        table: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every lookup entry of a tenant, by table then key.
    fn lookups(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<LookupEntry>>> + Send;

    /// Sets the exchange rate: one unit of `from` buys `rate` units of `to`.
    fn put_rate(&self, tenant: &TenantId, rate: &FxRate) -> impl Future<Output = Result<()>> + Send;

    /// A tenant's exchange rates.
    fn rates(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<FxRate>>> + Send;

    /// Records the circuit breaker states a node sees now (replacing its earlier report).
    fn record_breakers(&self, node: &str, states: &[(String, String)]) -> impl Future<Output = Result<()>> + Send;

    /// Every node's last reported breaker states.
    fn breakers(&self) -> impl Future<Output = Result<Vec<BreakerRow>>> + Send;

    /// Deletes a tenant's rows older than `before` that no open work needs, with the payloads
    /// they hold: inbox events received before it, resolved (replayed or discarded) dead
    /// letters resolved before it, completed and dead jobs last changed before it that no
    /// remaining dead letter names, and run traces written before it except those of a
    /// remaining dead letter's job. Other tenants' rows are untouched. An event redelivered
    /// after its inbox row is gone is accepted again: the retention is also the dedupe window.
    fn purge(&self, tenant: &TenantId, before: jiff::Timestamp) -> impl Future<Output = Result<Purged>> + Send;

    /// Stores a sealed secret (insert or replace), with an audit row naming `actor`.
    fn put_secret(&self, secret: &SealedSecret, actor: &str) -> impl Future<Output = Result<()>> + Send;

    /// One sealed secret.
    fn secret(&self, tenant: &TenantId, name: &str) -> impl Future<Output = Result<Option<SealedSecret>>> + Send;

    /// Names and dates of a tenant's secrets, never values.
    fn secret_names(&self, tenant: &TenantId) -> impl Future<Output = Result<Vec<SecretInfo>>> + Send;
}
