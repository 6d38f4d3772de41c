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
    wakeups: crate::wakeups::Wakeups,
    tenants: crate::tenant_count::TenantCount,
    /// Seals payloads on write and opens them on read (see [`Self::with_payload_key`]).
    payload_key: Option<std::sync::Arc<crate::secrets::MasterKey>>,
}

impl SqliteStore {
    /// One file has one process writing it: in-process wake-ups are all there is.
    async fn before_waiting(&self) {}

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
        prepare_private_file(path).map_err(|reason| StoreError::Open { url: url.into(), reason })?;
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
        Ok(SqliteStore {
            pool,
            health: Default::default(),
            wakeups: Default::default(),
            tenants: Default::default(),
            payload_key: None,
        })
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
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Buyer data and sealed secrets live in the file: only its owner may read it. A folder
/// Ferry creates for it is made 0700 and the file 0600 (SQLite gives the -wal and -shm files
/// the database file's mode). An existing file, and its -wal/-shm, lose any group and other
/// permissions when Ferry opens it; an existing folder is left as it is (it may be shared).
fn prepare_private_file(path: &str) -> Result<(), String> {
    let file = path.split('?').next().unwrap_or(path);
    if file.is_empty() || file == ":memory:" || path.contains("mode=memory") {
        return Ok(());
    }
    let file = std::path::Path::new(file);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private_dir(dir).map_err(|e| format!("cannot create folder {}: {e}", dir.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", file.display())),
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let f = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
            let Ok(meta) = std::fs::metadata(&f) else { continue };
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode & 0o700))
                    .map_err(|e| format!("cannot make {} private (mode 0600): {e}", f.display()))?;
            }
        }
    }
    Ok(())
}

mod sql {
    use crate::sql_store::job_cols;
    pub use crate::sql_store::shared::*;

    // Rate buckets run on the database's clock in microseconds since the epoch.
    pub const TAKE_RATE_TOKEN: &str =
        crate::sql_store::shared::take_rate_token!("max", "CAST(unixepoch('subsec') * 1000000 AS INTEGER)");
    pub const RATE_BUCKET_WAIT: &str =
        crate::sql_store::shared::rate_bucket_wait!("max", "CAST(unixepoch('subsec') * 1000000 AS INTEGER)");
    pub const PAUSE_RATE_BUCKET: &str =
        crate::sql_store::shared::pause_rate_bucket!("max", "CAST(unixepoch('subsec') * 1000000 AS INTEGER)");
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

    /// The claim, for every tenant's jobs or (with `j.tenant_id = $5 AND`) one tenant's. One
    /// writer at a time, so no claim races another: a job whose record has a running job is
    /// not taken, and of a record's due jobs only the first is.
    macro_rules! claim {
        ($tenant:literal) => {
            concat!(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_until = $2, updated_at = $3, \
                   cover_id = CASE WHEN record IS NULL THEN NULL ELSE (SELECT max(t.id) FROM jobs t \
                     WHERE t.tenant_id = jobs.tenant_id AND t.flow = jobs.flow AND t.record = jobs.record \
                       AND t.state IN ('available', 'running')) END \
                 WHERE id IN (SELECT j.id FROM jobs j WHERE ", $tenant, " j.state = 'available' AND j.run_at <= $3 \
                   AND (j.record IS NULL OR ( \
                     NOT EXISTS (SELECT 1 FROM jobs r WHERE r.tenant_id = j.tenant_id AND r.flow = j.flow \
                       AND r.record = j.record AND r.state = 'running') \
                     AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.tenant_id = j.tenant_id AND e.flow = j.flow \
                       AND e.record = j.record AND e.state = 'available' AND e.run_at <= $3 \
                       AND (e.run_at, e.id) < (j.run_at, j.id)))) \
                   ORDER BY j.run_at, j.id LIMIT $4) \
                 RETURNING ",
                job_cols!()
            )
        };
    }
    /// The tenants with a due job (`$1` now): SQLite runs the EXISTS as one probe of the
    /// per-tenant index for each tenant.
    pub const DUE_TENANTS: &str = "SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM jobs j \
        WHERE j.tenant_id = t.id AND j.state = 'available' AND j.run_at <= $1) ORDER BY t.id";
    pub const CLAIM: &str = claim!("");
    /// [`CLAIM`] for one tenant's jobs (`$5`): a fair share when several tenants have work.
    pub const CLAIM_TENANT: &str = claim!("j.tenant_id = $5 AND");
    pub const HEARTBEAT: &str = "UPDATE jobs SET lease_until = $3 \
        WHERE id IN (SELECT value FROM json_each($1)) AND state = 'running' AND lease_owner = $2 RETURNING id";
    /// One writer at a time (`BEGIN IMMEDIATE`): a flow's versions need no lock of their own.
    pub const LOCK_FLOW: Option<&str> = None;
    /// One writer at a time (`BEGIN IMMEDIATE`): no row locks to order.
    pub const LOCK_JOBS: Option<&str> = None;
    pub const RECOVER_LEASES: &str = "UPDATE jobs SET state = 'available', lease_owner = NULL, lease_until = NULL, \
        last_error_kind = 'transient', last_error = 'lease expired: the worker stopped or crashed mid-run', updated_at = $1 \
        WHERE state = 'running' AND lease_until < $1";
    pub const COMPLETE_JOBS: &str = "UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, \
        updated_at = $3 WHERE id IN (SELECT value FROM json_each($1)) AND state = 'running' AND lease_owner = $2 \
        RETURNING id, tenant_id, flow, created_at";
    /// Adds `$1` (a JSON array of tenant, flow, kind and count) to the hourly counters of the
    /// hour `$2`.
    pub const ADD_FLOW_COUNTS: &str = "INSERT INTO flow_counts (tenant_id, flow, hour, kind, n) \
        SELECT json_extract(value, '$.t'), json_extract(value, '$.f'), $2, json_extract(value, '$.k'), \
               json_extract(value, '$.n') \
        FROM json_each($1) WHERE true \
        ON CONFLICT (tenant_id, flow, hour, kind) DO UPDATE SET n = flow_counts.n + excluded.n";
    /// A tenant's (`$1`) trace rows of the records whose key is `$2` or ends with `:$2`, found
    /// by the key's last part (`$4`: the last part of `$2`) in the index `runs_by_record_id`
    /// (the expression is the index's, to the letter).
    pub const RECORD_RUNS: &str = "SELECT job_id, flow, record, step, outcome, message, at FROM runs \
        WHERE tenant_id = $1 AND substr(record, length(rtrim(record, replace(record, ':', ''))) + 1) = $4 \
        AND (record = $2 OR substr(record, length(record) - length($2)) = ':' || $2) ORDER BY id LIMIT $3";
}

crate::sql_store::impl_store!(SqliteStore, sqlx::Sqlite, sql, "sqlite");
