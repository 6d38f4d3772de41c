//! The embedded SQLite backend: one file, WAL, one writer at a time (`BEGIN IMMEDIATE`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;

/// The SQLite store. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/to/ferry.db` or a
    /// plain path). Durability: WAL with `synchronous=FULL`, so a commit survives a power loss,
    /// not only a crash of the process.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
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
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Open { url: url.into(), reason: e.to_string() })?;
        Ok(SqliteStore { pool })
    }

    /// The underlying pool, for tests and tools that inspect the tables directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

mod sql {
    use crate::sql_store::job_cols;

    pub const MIGRATIONS: &[crate::migrate::Migration] = crate::migrate::SQLITE;
    pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    pub const MIGRATION_LOCK: &str = "SELECT 1";

    pub const ENSURE_TENANT: &str =
        "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
    pub const UPSERT_CONNECTION: &str = "INSERT INTO connections \
        (tenant_id, id, system, endpoint, credentials_ref, limits, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
        ON CONFLICT (tenant_id, id) DO UPDATE SET system = excluded.system, endpoint = excluded.endpoint, \
        credentials_ref = excluded.credentials_ref, limits = excluded.limits, updated_at = excluded.updated_at";
    pub const INSERT_EVENT: &str = "INSERT INTO inbox \
        (tenant_id, connection, dedupe_key, event_type, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING id";
    pub const INSERT_JOBS: &str = "INSERT INTO jobs \
        (tenant_id, flow, connection, dedupe_key, payload, state, attempts, max_attempts, run_at, created_at, updated_at) \
        SELECT json_extract(value, '$.t'), json_extract(value, '$.f'), json_extract(value, '$.c'), \
               json_extract(value, '$.k'), json_extract(value, '$.p'), 'available', 0, \
               json_extract(value, '$.m'), json_extract(value, '$.r'), $2, $2 \
        FROM json_each($1) WHERE true \
        ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING \
        RETURNING id, dedupe_key";
    pub const UPSERT_CURSOR: &str = "INSERT INTO cursors (tenant_id, name, value, updated_at) VALUES ($1, $2, $3, $4) \
        ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
    pub const UPSERT_XREF: &str = "INSERT INTO xref (tenant_id, source_system, source_entity, source_id, \
        target_system, target_entity, target_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
        ON CONFLICT (tenant_id, source_system, source_entity, source_id, target_system, target_entity) \
        DO UPDATE SET target_id = excluded.target_id, updated_at = excluded.updated_at";
    pub const UPSERT_ECHO: &str = "INSERT INTO echo (tenant_id, system, entity, record_id, direction, hash, written_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, system, entity, record_id, direction) \
        DO UPDATE SET hash = excluded.hash, written_at = excluded.written_at";
    pub const INSERT_AUDIT: &str = "INSERT INTO audit (tenant_id, at, actor, action, subject, detail) \
        VALUES ($1, $2, $3, $4, $5, $6)";
    pub const INSERT_RUN: &str = "INSERT INTO runs (tenant_id, job_id, flow, record, step, outcome, message, at) \
        SELECT tenant_id, id, flow, $2, $3, $4, $5, $6 FROM jobs WHERE id = $1";
    pub const UPSERT_SECRET: &str = "INSERT INTO secrets (tenant_id, name, key_id, nonce, ciphertext, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id, name) DO UPDATE SET key_id = excluded.key_id, \
        nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at";

    pub const CLAIM: &str = concat!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_until = $2, updated_at = $3 \
         WHERE id IN (SELECT id FROM jobs WHERE state = 'available' AND run_at <= $3 ORDER BY run_at, id LIMIT $4) \
         RETURNING ",
        job_cols!()
    );
    pub const HEARTBEAT: &str = "UPDATE jobs SET lease_until = $3 \
        WHERE id IN (SELECT value FROM json_each($1)) AND state = 'running' AND lease_owner = $2 RETURNING id";
    pub const COMPLETE_JOB: &str = "UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, \
        updated_at = $3 WHERE id = $1 AND state = 'running' AND lease_owner = $2";
    pub const COMPLETE_JOBS: &str = "UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, \
        updated_at = $3 WHERE id IN (SELECT value FROM json_each($1)) AND state = 'running' AND lease_owner = $2 \
        RETURNING id";
    pub const RETRY_JOB: &str = "UPDATE jobs SET state = 'available', run_at = $3, attempts = attempts - $4, \
        last_error_kind = $5, last_error = $6, lease_owner = NULL, lease_until = NULL, updated_at = $7 \
        WHERE id = $1 AND state = 'running' AND lease_owner = $2";
    pub const RELEASE_JOB: &str = "UPDATE jobs SET state = 'available', attempts = attempts - 1, \
        lease_owner = NULL, lease_until = NULL, updated_at = $3 \
        WHERE id = $1 AND state = 'running' AND lease_owner = $2";
    pub const KILL_JOB: &str = "UPDATE jobs SET state = 'dead', last_error_kind = $3, last_error = $4, \
        lease_owner = NULL, lease_until = NULL, updated_at = $5 \
        WHERE id = $1 AND state = 'running' AND lease_owner = $2";
    pub const INSERT_DEAD_LETTER: &str = "INSERT INTO dead_letters (tenant_id, job_id, flow, step, attempts, \
        error_kind, error, payload, status, created_at) \
        SELECT tenant_id, id, flow, $2, attempts, $3, $4, payload, 'open', $5 FROM jobs WHERE id = $1";
    pub const RECOVER_LEASES: &str = "UPDATE jobs SET state = 'available', lease_owner = NULL, lease_until = NULL, \
        last_error_kind = 'transient', last_error = 'lease expired: the worker stopped or crashed mid-run', updated_at = $1 \
        WHERE state = 'running' AND lease_until < $1";
    pub const QUEUE_STATS: &str = "SELECT CASE \
            WHEN state = 'available' AND run_at <= $1 THEN 'ready' \
            WHEN state = 'available' THEN 'scheduled' \
            WHEN state = 'running' AND lease_until < $1 THEN 'expired' \
            ELSE state END AS bucket, COUNT(*) FROM jobs GROUP BY bucket \
        UNION ALL SELECT 'dead_letters_open', COUNT(*) FROM dead_letters WHERE status = 'open'";
}

crate::sql_store::impl_store!(SqliteStore, sqlx::Sqlite, sql, "sqlite");
