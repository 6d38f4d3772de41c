//! A store chosen at run time from the configured URL.

use crate::*;

/// The PostgreSQL pool size when the config does not set one.
pub const PG_DEFAULT_CONNECTIONS: u32 = 16;
/// The SQLite pool size when the config does not set one (one writer at a time; readers share).
pub const SQLITE_DEFAULT_CONNECTIONS: u32 = 4;

/// Either backend, picked from the store URL (`sqlite://…` or `postgres://…`).
#[derive(Clone, Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens the store a URL names: `sqlite://path` (or a path ending in `.db`) or
    /// `postgres://…` / `postgresql://…`.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, None).await
    }

    /// [`open`](Self::open) with a pool of at most `max_connections` (`store.max_connections`);
    /// `None` is the backend's default: [`PG_DEFAULT_CONNECTIONS`] or
    /// [`SQLITE_DEFAULT_CONNECTIONS`].
    pub async fn open_with(url: &str, max_connections: Option<u32>) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(PgStore::open(url, max_connections.unwrap_or(PG_DEFAULT_CONNECTIONS)).await?))
        } else if url.starts_with("sqlite:") || url.ends_with(".db") || url.ends_with(".sqlite") {
            let max = max_connections.unwrap_or(SQLITE_DEFAULT_CONNECTIONS);
            Ok(AnyStore::Sqlite(SqliteStore::open_with(url, max).await?))
        } else {
            Err(StoreError::Open {
                url: redact::url(url),
                reason: "unknown store kind: use sqlite://path/to/ferry.db or postgres://user@host/db".into(),
            })
        }
    }
}

impl AnyStore {
    /// Seals payloads at rest under the node's master key (see [`SqliteStore::with_payload_key`]).
    pub fn with_payload_key(self, key: std::sync::Arc<secrets::MasterKey>) -> Self {
        match self {
            AnyStore::Sqlite(s) => AnyStore::Sqlite(s.with_payload_key(key)),
            AnyStore::Postgres(s) => AnyStore::Postgres(s.with_payload_key(key)),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl Store for AnyStore {
    fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(s) => s.backend(),
            AnyStore::Postgres(s) => s.backend(),
        }
    }

    async fn take_rate_token(&self, key: &str, interval: Duration, burst: u32) -> Result<Option<Duration>> {
        delegate!(self, s => s.take_rate_token(key, interval, burst))
    }

    async fn pause_rate_bucket(&self, key: &str, pause: Duration) -> Result<()> {
        delegate!(self, s => s.pause_rate_bucket(key, pause))
    }

    async fn jobs_added(&self) {
        delegate!(self, s => s.jobs_added())
    }

    fn write_status(&self) -> WriteStatus {
        match self {
            AnyStore::Sqlite(s) => s.write_status(),
            AnyStore::Postgres(s) => s.write_status(),
        }
    }

    async fn migrate(&self) -> Result<()> {
        delegate!(self, s => s.migrate())
    }

    async fn ensure_tenant(&self, tenant: &TenantId, name: &str) -> Result<()> {
        delegate!(self, s => s.ensure_tenant(tenant, name))
    }

    async fn upsert_connection(&self, conn: &Connection) -> Result<()> {
        delegate!(self, s => s.upsert_connection(conn))
    }

    async fn connections(&self, tenant: &TenantId) -> Result<Vec<Connection>> {
        delegate!(self, s => s.connections(tenant))
    }

    async fn put_connection(&self, conn: &Connection, actor: &str) -> Result<bool> {
        delegate!(self, s => s.put_connection(conn, actor))
    }

    async fn remove_connection(&self, tenant: &TenantId, id: &ConnectionId, actor: &str) -> Result<()> {
        delegate!(self, s => s.remove_connection(tenant, id, actor))
    }

    async fn tenants(&self) -> Result<Vec<TenantInfo>> {
        delegate!(self, s => s.tenants())
    }

    async fn add_tenant(&self, tenant: &TenantId, name: &str, retention_days: Option<u32>, actor: &str) -> Result<()> {
        delegate!(self, s => s.add_tenant(tenant, name, retention_days, actor))
    }

    async fn set_tenant_status(&self, tenant: &TenantId, status: TenantStatus, actor: &str) -> Result<bool> {
        delegate!(self, s => s.set_tenant_status(tenant, status, actor))
    }

    async fn set_tenant_retention(&self, tenant: &TenantId, retention_days: Option<u32>, actor: &str) -> Result<()> {
        delegate!(self, s => s.set_tenant_retention(tenant, retention_days, actor))
    }

    async fn accept_event(&self, event: &NewEvent, jobs: &[NewJob]) -> Result<Accepted> {
        delegate!(self, s => s.accept_event(event, jobs))
    }

    async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Option<JobId>>> {
        delegate!(self, s => s.enqueue(jobs))
    }

    async fn enqueue_with_cursor(&self, jobs: &[NewJob], cursor: &CursorUpdate) -> Result<Vec<Option<JobId>>> {
        delegate!(self, s => s.enqueue_with_cursor(jobs, cursor))
    }

    async fn claim(&self, owner: &str, limit: u32, lease: Duration) -> Result<Vec<Job>> {
        delegate!(self, s => s.claim(owner, limit, lease))
    }

    async fn heartbeat(&self, owner: &str, jobs: &[JobId], lease: Duration) -> Result<u64> {
        delegate!(self, s => s.heartbeat(owner, jobs, lease))
    }

    async fn complete(&self, owner: &str, outcomes: &[Completion]) -> Result<Vec<bool>> {
        delegate!(self, s => s.complete(owner, outcomes))
    }

    async fn recover_expired_leases(&self) -> Result<u64> {
        delegate!(self, s => s.recover_expired_leases())
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        delegate!(self, s => s.job(id))
    }

    async fn queue_stats_of(&self, tenant: Option<&TenantId>) -> Result<QueueStats> {
        delegate!(self, s => s.queue_stats_of(tenant))
    }

    async fn flow_hourly_counts(&self, tenant: &TenantId, since: jiff::Timestamp) -> Result<Vec<FlowHourCount>> {
        delegate!(self, s => s.flow_hourly_counts(tenant, since))
    }

    async fn flow_latency(&self, tenant: &TenantId, since: jiff::Timestamp) -> Result<Vec<FlowLatency>> {
        delegate!(self, s => s.flow_latency(tenant, since))
    }

    async fn dead_letters(&self, tenant: &TenantId, open_only: bool, limit: u32) -> Result<Vec<DeadLetter>> {
        delegate!(self, s => s.dead_letters(tenant, open_only, limit))
    }

    async fn dead_letter(&self, tenant: &TenantId, id: DeadLetterId) -> Result<Option<DeadLetter>> {
        delegate!(self, s => s.dead_letter(tenant, id))
    }

    async fn replay_dead_letter(
        &self,
        tenant: &TenantId,
        id: DeadLetterId,
        edited_payload: Option<&serde_json::Value>,
        actor: &str,
    ) -> Result<JobId> {
        delegate!(self, s => s.replay_dead_letter(tenant, id, edited_payload, actor))
    }

    async fn discard_dead_letter(&self, tenant: &TenantId, id: DeadLetterId, actor: &str) -> Result<()> {
        delegate!(self, s => s.discard_dead_letter(tenant, id, actor))
    }

    async fn xref(&self, key: &XrefKey) -> Result<Option<String>> {
        delegate!(self, s => s.xref(key))
    }

    async fn put_xref(&self, xref: &Xref) -> Result<()> {
        delegate!(self, s => s.put_xref(xref))
    }

    async fn cursor(&self, tenant: &TenantId, name: &str) -> Result<Option<String>> {
        delegate!(self, s => s.cursor(tenant, name))
    }

    async fn echo_hash(&self, key: &EchoKey) -> Result<Option<String>> {
        delegate!(self, s => s.echo_hash(key))
    }

    async fn runs_for_job(&self, job: JobId) -> Result<Vec<RunRecord>> {
        delegate!(self, s => s.runs_for_job(job))
    }

    async fn record_runs(&self, tenant: &TenantId, id: &str, limit: u32) -> Result<Vec<TraceRow>> {
        delegate!(self, s => s.record_runs(tenant, id, limit))
    }

    async fn xrefs_of(&self, tenant: &TenantId, id: &str) -> Result<Vec<Xref>> {
        delegate!(self, s => s.xrefs_of(tenant, id))
    }

    async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        delegate!(self, s => s.audit(entry))
    }

    async fn audit_log(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditRow>> {
        delegate!(self, s => s.audit_log(tenant, limit))
    }

    async fn add_alert_rule(&self, tenant: &TenantId, rule: &str, shown: &str, actor: &str) -> Result<i64> {
        delegate!(self, s => s.add_alert_rule(tenant, rule, shown, actor))
    }

    async fn alert_rules(&self, tenant: &TenantId) -> Result<Vec<AlertRuleRow>> {
        delegate!(self, s => s.alert_rules(tenant))
    }

    async fn remove_alert_rule(&self, tenant: &TenantId, id: i64, actor: &str) -> Result<()> {
        delegate!(self, s => s.remove_alert_rule(tenant, id, actor))
    }

    async fn add_flow_version(
        &self,
        tenant: &TenantId,
        flow: &str,
        text: &str,
        note: &str,
        activate: Activate,
        actor: &str,
    ) -> Result<(i64, bool)> {
        delegate!(self, s => s.add_flow_version(tenant, flow, text, note, activate, actor))
    }

    async fn flow_versions(&self, tenant: &TenantId, flow: Option<&str>) -> Result<Vec<FlowVersionRow>> {
        delegate!(self, s => s.flow_versions(tenant, flow))
    }

    async fn flow_heads(&self, tenant: &TenantId) -> Result<Vec<FlowHead>> {
        delegate!(self, s => s.flow_heads(tenant))
    }

    async fn set_flow_head(
        &self,
        tenant: &TenantId,
        flow: &str,
        change: FlowHeadChange,
        actor: &str,
    ) -> Result<FlowHead> {
        delegate!(self, s => s.set_flow_head(tenant, flow, change, actor))
    }

    async fn put_shadow_result(
        &self,
        tenant: &TenantId,
        flow: &str,
        version: i64,
        result: &ShadowResult,
    ) -> Result<()> {
        delegate!(self, s => s.put_shadow_result(tenant, flow, version, result))
    }

    async fn shadow_report(&self, tenant: &TenantId, flow: &str, version: i64, limit: u32) -> Result<ShadowReport> {
        delegate!(self, s => s.shadow_report(tenant, flow, version, limit))
    }

    async fn put_flow_sample(&self, tenant: &TenantId, flow: &str, sample: &FlowSample) -> Result<()> {
        delegate!(self, s => s.put_flow_sample(tenant, flow, sample))
    }

    async fn flow_samples(&self, tenant: &TenantId, flow: &str) -> Result<Vec<FlowSample>> {
        delegate!(self, s => s.flow_samples(tenant, flow))
    }

    async fn wake_paused_jobs(&self, tenant: &TenantId, flows: &[String]) -> Result<u64> {
        delegate!(self, s => s.wake_paused_jobs(tenant, flows))
    }

    async fn put_money_observations(&self, tenant: &TenantId, observations: &[MoneyObservation]) -> Result<()> {
        delegate!(self, s => s.put_money_observations(tenant, observations))
    }

    async fn money_observations(&self, tenant: &TenantId, since: jiff::Timestamp) -> Result<Vec<MoneyObservation>> {
        delegate!(self, s => s.money_observations(tenant, since))
    }

    async fn alert_episode(
        &self,
        tenant: &TenantId,
        rule: i64,
        subject: &str,
        now: jiff::Timestamp,
    ) -> Result<AlertEpisode> {
        delegate!(self, s => s.alert_episode(tenant, rule, subject, now))
    }

    async fn mark_alert_fired(&self, episode: i64, now: jiff::Timestamp) -> Result<bool> {
        delegate!(self, s => s.mark_alert_fired(episode, now))
    }

    async fn unmark_alert_fired(&self, episode: i64) -> Result<()> {
        delegate!(self, s => s.unmark_alert_fired(episode))
    }

    async fn end_alert_episodes(
        &self,
        tenant: &TenantId,
        rule: i64,
        holding: &[String],
        now: jiff::Timestamp,
    ) -> Result<()> {
        delegate!(self, s => s.end_alert_episodes(tenant, rule, holding, now))
    }

    async fn add_api_token(&self, token: &ApiTokenRow, actor: &str) -> Result<()> {
        delegate!(self, s => s.add_api_token(token, actor))
    }

    async fn api_token(&self, id: &str) -> Result<Option<ApiTokenRow>> {
        delegate!(self, s => s.api_token(id))
    }

    async fn api_tokens(&self, tenant: &TenantId) -> Result<Vec<ApiTokenRow>> {
        delegate!(self, s => s.api_tokens(tenant))
    }

    async fn revoke_api_token(&self, tenant: &TenantId, id: &str, actor: &str) -> Result<bool> {
        delegate!(self, s => s.revoke_api_token(tenant, id, actor))
    }

    async fn purge(&self, tenant: &TenantId, before: jiff::Timestamp) -> Result<Purged> {
        delegate!(self, s => s.purge(tenant, before))
    }

    async fn put_secret(&self, secret: &SealedSecret, actor: &str) -> Result<()> {
        delegate!(self, s => s.put_secret(secret, actor))
    }

    async fn secret(&self, tenant: &TenantId, name: &str) -> Result<Option<SealedSecret>> {
        delegate!(self, s => s.secret(tenant, name))
    }

    async fn secret_names(&self, tenant: &TenantId) -> Result<Vec<SecretInfo>> {
        delegate!(self, s => s.secret_names(tenant))
    }

    async fn record_breakers(&self, node: &str, states: &[(String, String)]) -> Result<()> {
        delegate!(self, s => s.record_breakers(node, states))
    }

    async fn breakers(&self) -> Result<Vec<BreakerRow>> {
        delegate!(self, s => s.breakers())
    }

    async fn put_lookup(&self, tenant: &TenantId, table: &str, key: &str, value: &serde_json::Value) -> Result<()> {
        delegate!(self, s => s.put_lookup(tenant, table, key, value))
    }

    async fn lookups(&self, tenant: &TenantId) -> Result<Vec<LookupEntry>> {
        delegate!(self, s => s.lookups(tenant))
    }

    async fn put_rate(&self, tenant: &TenantId, rate: &FxRate) -> Result<()> {
        delegate!(self, s => s.put_rate(tenant, rate))
    }

    async fn rates(&self, tenant: &TenantId) -> Result<Vec<FxRate>> {
        delegate!(self, s => s.rates(tenant))
    }
}
