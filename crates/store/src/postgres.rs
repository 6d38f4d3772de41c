//! The multi-node PostgreSQL backend: claims use `FOR UPDATE SKIP LOCKED`, so any number of
//! nodes share one queue without blocking each other.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::StoreError;

/// The PostgreSQL store. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    health: crate::health::WriteHealth,
    wakeups: crate::wakeups::Wakeups,
    tenants: crate::tenant_count::TenantCount,
    /// Seals payloads on write and opens them on read (see [`Self::with_payload_key`]).
    payload_key: Option<std::sync::Arc<crate::secrets::MasterKey>>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) with up to `max_connections`.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open { url: crate::redact::url(url), reason: e.to_string() })?;
        Ok(PgStore {
            pool,
            health: Default::default(),
            wakeups: Default::default(),
            tenants: Default::default(),
            payload_key: None,
        })
    }

    /// Other nodes add jobs too: listen for their notifications before the first wait.
    async fn before_waiting(&self) {
        self.wakeups.listen_postgres(&self.pool).await;
    }

    /// Seals every payload written from now on (inbox events, jobs, and so dead letters)
    /// under `key`, the node's master key, and opens sealed payloads on read. Clear payloads
    /// written before still read as they are. Without a key, payloads are written in clear and
    /// sealed ones are returned sealed.
    pub fn with_payload_key(mut self, key: std::sync::Arc<crate::secrets::MasterKey>) -> Self {
        self.payload_key = Some(key);
        self
    }

    /// The underlying pool, for tests and tools that inspect the tables directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Creates (or empties) `schema` in the database at `base` and returns a URL whose
/// connections work inside it: a database of its own for a test or a benchmark run.
pub async fn create_pg_schema(base: &str, schema: &str) -> Result<String, StoreError> {
    check_schema_name(base, schema)?;
    schema_statement(base, format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options[search_path]={schema}"))
}

/// Drops a schema made by [`create_pg_schema`].
pub async fn drop_pg_schema(base: &str, schema: &str) -> Result<(), StoreError> {
    check_schema_name(base, schema)?;
    schema_statement(base, format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await
}

/// The name goes into SQL unquoted, so only `[a-z0-9_]` is accepted.
fn check_schema_name(base: &str, schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty() && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Open { url: crate::redact::url(base), reason: format!("invalid schema name `{schema}`") })
    }
}

async fn schema_statement(base: &str, sql: String) -> Result<(), StoreError> {
    let admin = PgStore::open(base, 1).await?;
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(admin.pool()).await;
    admin.pool().close().await;
    result.map(|_| ()).map_err(|source| StoreError::Database { backend: "postgres", context: "manage schema", source })
}

mod sql {
    use crate::sql_store::job_cols;
    pub use crate::sql_store::shared::*;

    // Rate buckets run on the database's clock in microseconds since the epoch.
    pub const TAKE_RATE_TOKEN: &str = crate::sql_store::shared::take_rate_token!(
        "GREATEST",
        "(extract(epoch from clock_timestamp()) * 1000000)::bigint"
    );
    pub const RATE_BUCKET_WAIT: &str = crate::sql_store::shared::rate_bucket_wait!(
        "GREATEST",
        "(extract(epoch from clock_timestamp()) * 1000000)::bigint"
    );
    pub const PAUSE_RATE_BUCKET: &str = crate::sql_store::shared::pause_rate_bucket!(
        "GREATEST",
        "(extract(epoch from clock_timestamp()) * 1000000)::bigint"
    );
    pub const MIGRATIONS: &[crate::migrate::Migration] = crate::migrate::POSTGRES;
    pub const BEGIN_WRITE: &str = "BEGIN";
    // Nodes starting together apply each migration once.
    pub const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7254301)";

    pub const ENSURE_TENANT: &str =
        "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
    pub const INSERT_JOBS: &str = "INSERT INTO jobs \
        (tenant_id, flow, connection, dedupe_key, payload, state, attempts, max_attempts, run_at, created_at, updated_at, record) \
        SELECT j.t, j.f, j.c, j.k, j.p, 'available', 0, j.m, j.r, $2, $2, j.rk \
        FROM json_to_recordset($1::json) AS j(t text, f text, c text, k text, p text, m bigint, r bigint, rk text) \
        ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING \
        RETURNING id, dedupe_key";

    /// The tenants with a due job (`$1` now): one index probe each. Written as a LATERAL
    /// with LIMIT 1 so that, without statistics, PostgreSQL still probes the per-tenant index
    /// instead of hashing every runnable row (8 ms a claim at 25,000 due jobs).
    pub const DUE_TENANTS: &str = "SELECT t.id FROM tenants t CROSS JOIN LATERAL (SELECT 1 FROM jobs j \
        WHERE j.tenant_id = t.id AND j.state = 'available' AND j.run_at <= $1 LIMIT 1) due ORDER BY t.id";
    pub const CLAIM: &str = concat!("SELECT ", job_cols!(), " FROM ferry_claim_coalesced($1, $2, $3, $4)");
    /// [`CLAIM`] for one tenant's jobs (`$5`): a fair share when several tenants have work.
    pub const CLAIM_TENANT: &str = concat!("SELECT ", job_cols!(), " FROM ferry_claim_tenant($1, $2, $3, $4, $5)");
    pub const HEARTBEAT: &str = "SELECT * FROM ferry_heartbeat($1::json, $2, $3)";
    /// Serialises the writers of one flow's versions (`$1` tenant, `$2` flow) until the
    /// transaction ends: two nodes importing the same file at once keep one version of it.
    pub const LOCK_FLOW: Option<&str> = Some("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))");
    /// Every statement that locks several job rows locks them in id order.
    pub const LOCK_JOBS: Option<&str> = Some(
        "SELECT id FROM jobs WHERE id = ANY(ARRAY(SELECT value::bigint FROM json_array_elements_text($1::json))) \
         ORDER BY id FOR UPDATE",
    );
    // A job locked right now is being completed: it is not expired work to hand back.
    pub const RECOVER_LEASES: &str = "UPDATE jobs SET state = 'available', lease_owner = NULL, lease_until = NULL, \
        last_error_kind = 'transient', last_error = 'lease expired: the worker stopped or crashed mid-run', updated_at = $1 \
        WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1 ORDER BY id FOR UPDATE SKIP LOCKED)) \
          AND state = 'running' AND lease_until < $1";
    pub const COMPLETE_JOBS: &str = "SELECT * FROM ferry_complete_counted($1::json, $2, $3)";
    /// Adds `$1` (a JSON array of tenant, flow, kind and count) to the hourly counters of the
    /// hour `$2`, in the array's order (key order: every transaction locks counter rows in one
    /// order).
    pub const ADD_FLOW_COUNTS: &str = "INSERT INTO flow_counts (tenant_id, flow, hour, kind, n) \
        SELECT c.t, c.f, $2, c.k, c.n FROM json_to_recordset($1::json) AS c(t text, f text, k text, n bigint) \
        ON CONFLICT (tenant_id, flow, hour, kind) DO UPDATE SET n = flow_counts.n + excluded.n";
    /// A tenant's (`$1`) trace rows of the records whose key is `$2` or ends with `:$2`, found
    /// by the key's last part (`$4`: the last part of `$2`) in the index `runs_by_record_id`.
    pub const RECORD_RUNS: &str = "SELECT job_id, flow, record, step, outcome, message, at FROM runs \
        WHERE tenant_id = $1 AND split_part(record, ':', -1) = $4 \
        AND (record = $2 OR substr(record, length(record) - length($2)) = ':' || $2) ORDER BY id LIMIT $3";
}

crate::sql_store::impl_store!(PgStore, sqlx::Postgres, sql, "postgres");
