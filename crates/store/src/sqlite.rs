//! The embedded SQLite backend: one file, WAL, one writer at a time (`BEGIN IMMEDIATE`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;

/// The SQLite store. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    health: crate::health::WriteHealth,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/to/ferry.db` or a
    /// plain path). Durability: WAL with `synchronous=FULL`, so a commit survives a power loss,
    /// not only a crash of the process.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, crate::any::SQLITE_DEFAULT_CONNECTIONS).await
    }

    /// [`open`](Self::open) with a pool of at most `max_connections`.
    pub async fn open_with(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Open { url: url.into(), reason: "no file path given".into() });
        }
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| StoreError::Open { url: url.into(), reason: e.to_string() })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Open { url: url.into(), reason: e.to_string() })?;
        Ok(SqliteStore { pool, health: Default::default() })
    }

    /// The underlying pool, for tests and tools that inspect the tables directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

mod sql {
    use crate::sql_store::job_cols;
    pub use crate::sql_store::shared::*;

    pub const MIGRATIONS: &[crate::migrate::Migration] = crate::migrate::SQLITE;
    pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    pub const MIGRATION_LOCK: &str = "SELECT 1";

    pub const ENSURE_TENANT: &str =
        "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
    pub const INSERT_JOBS: &str = "INSERT INTO jobs \
        (tenant_id, flow, connection, dedupe_key, payload, state, attempts, max_attempts, run_at, created_at, updated_at, record) \
        SELECT json_extract(value, '$.t'), json_extract(value, '$.f'), json_extract(value, '$.c'), \
               json_extract(value, '$.k'), json_extract(value, '$.p'), 'available', 0, \
               json_extract(value, '$.m'), json_extract(value, '$.r'), $2, $2, json_extract(value, '$.rk') \
        FROM json_each($1) WHERE true \
        ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING \
        RETURNING id, dedupe_key";

    /// One writer at a time, so no claim races another: a job whose record has a running job
    /// is not taken, and of a record's due jobs only the first is.
    pub const CLAIM: &str = concat!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_until = $2, updated_at = $3, \
           cover_id = CASE WHEN record IS NULL THEN NULL ELSE (SELECT max(t.id) FROM jobs t \
             WHERE t.tenant_id = jobs.tenant_id AND t.flow = jobs.flow AND t.record = jobs.record \
               AND t.state IN ('available', 'running')) END \
         WHERE id IN (SELECT j.id FROM jobs j WHERE j.state = 'available' AND j.run_at <= $3 \
           AND (j.record IS NULL OR ( \
             NOT EXISTS (SELECT 1 FROM jobs r WHERE r.tenant_id = j.tenant_id AND r.flow = j.flow \
               AND r.record = j.record AND r.state = 'running') \
             AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.tenant_id = j.tenant_id AND e.flow = j.flow \
               AND e.record = j.record AND e.state = 'available' AND e.run_at <= $3 \
               AND (e.run_at, e.id) < (j.run_at, j.id)))) \
           ORDER BY j.run_at, j.id LIMIT $4) \
         RETURNING ",
        job_cols!()
    );
    pub const HEARTBEAT: &str = "UPDATE jobs SET lease_until = $3 \
        WHERE id IN (SELECT value FROM json_each($1)) AND state = 'running' AND lease_owner = $2 RETURNING id";
    /// One writer at a time (`BEGIN IMMEDIATE`): no row locks to order.
    pub const LOCK_JOBS: Option<&str> = None;
    pub const RECOVER_LEASES: &str = "UPDATE jobs SET state = 'available', lease_owner = NULL, lease_until = NULL, \
        last_error_kind = 'transient', last_error = 'lease expired: the worker stopped or crashed mid-run', updated_at = $1 \
        WHERE state = 'running' AND lease_until < $1";
    pub const COMPLETE_JOBS: &str = "UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, \
        updated_at = $3 WHERE id IN (SELECT value FROM json_each($1)) AND state = 'running' AND lease_owner = $2 \
        RETURNING id";
}

crate::sql_store::impl_store!(SqliteStore, sqlx::Sqlite, sql, "sqlite");
