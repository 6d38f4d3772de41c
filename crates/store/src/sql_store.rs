//! The store logic shared by both backends. The Rust is written once in [`impl_store!`]; each
//! backend supplies its pool type and a module of SQL constants in its own dialect. Lists of
//! ids and batches of rows travel as one JSON text parameter, which both databases unpack in
//! SQL (`json_each` / `json_to_recordset`), so every statement is static and batched.

/// The job columns, in the order `job_from_row` reads them.
macro_rules! job_cols {
    () => {
        "id, tenant_id, flow, connection, dedupe_key, payload, state, attempts, max_attempts, \
         run_at, lease_owner, lease_until, last_error, last_error_kind, created_at, record"
    };
}
pub(crate) use job_cols;

macro_rules! dead_letter_cols {
    () => {
        "id, tenant_id, job_id, flow, step, attempts, error_kind, error, payload, status, \
         replay_job_id, created_at, resolved_at, resolved_by"
    };
}
pub(crate) use dead_letter_cols;

/// The columns `token_from_row` reads, in order.
macro_rules! token_cols {
    () => {
        "id, tenant_id, role, label, hash, created_by, created_at, expires_at, revoked_at"
    };
}
pub(crate) use token_cols;

/// The latency bucket of a finished job row, in SQL: the same bounds as
/// [`crate::LATENCY_BOUNDS_MS`] (µs here), the same kinds as [`latency_kind`].
macro_rules! latency_case {
    () => {
        "CASE WHEN updated_at - created_at < 10000 THEN 'lat00' WHEN updated_at - created_at < 25000 THEN 'lat01' \
         WHEN updated_at - created_at < 50000 THEN 'lat02' WHEN updated_at - created_at < 100000 THEN 'lat03' \
         WHEN updated_at - created_at < 250000 THEN 'lat04' WHEN updated_at - created_at < 500000 THEN 'lat05' \
         WHEN updated_at - created_at < 1000000 THEN 'lat06' WHEN updated_at - created_at < 2500000 THEN 'lat07' \
         WHEN updated_at - created_at < 5000000 THEN 'lat08' WHEN updated_at - created_at < 10000000 THEN 'lat09' \
         WHEN updated_at - created_at < 30000000 THEN 'lat10' WHEN updated_at - created_at < 60000000 THEN 'lat11' \
         WHEN updated_at - created_at < 120000000 THEN 'lat12' WHEN updated_at - created_at < 300000000 THEN 'lat13' \
         WHEN updated_at - created_at < 600000000 THEN 'lat14' WHEN updated_at - created_at < 1800000000 THEN 'lat15' \
         WHEN updated_at - created_at < 3600000000 THEN 'lat16' WHEN updated_at - created_at < 10800000000 THEN 'lat17' \
         WHEN updated_at - created_at < 21600000000 THEN 'lat18' WHEN updated_at - created_at < 86400000000 THEN 'lat19' \
         ELSE 'lat20' END"
    };
}

/// The rows a purge deletes from `jobs` (`$1` tenant, `$2` cutoff) that match `$which`, with
/// `$kind` as their counter kind and the hour they finished in.
macro_rules! purged_finished {
    ($kind:expr, $which:literal) => {
        concat!(
            "SELECT tenant_id, flow, (updated_at / 3600000000) * 3600000000 AS hour, ",
            $kind,
            " AS kind FROM jobs WHERE tenant_id = $1 AND ",
            $which,
            " AND updated_at < $2 AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.job_id = jobs.id)"
        )
    };
}

/// Statements written the same way in both dialects.
pub(crate) mod shared {
    /// `$1` key, `$2` interval, `$3` burst × interval (µs); a row comes back only when the
    /// request is admitted. `now` is the database's clock read under the row's lock, so every
    /// node's requests are measured on one clock, whatever their own clocks say. The dialect
    /// supplies its spelling of `max(a, b)` and of the clock in microseconds.
    macro_rules! take_rate_token {
        ($greatest:literal, $now:literal) => {
            concat!(
                "INSERT INTO rate_buckets (key, tat, paused_until, updated_at) VALUES ($1, ",
                $now,
                " + $2, 0, ",
                $now,
                ") \
                 ON CONFLICT (key) DO UPDATE SET tat = ",
                $greatest,
                "(rate_buckets.tat, ",
                $now,
                ") + $2, updated_at = ",
                $now,
                " \
                 WHERE rate_buckets.paused_until <= ",
                $now,
                " AND ",
                $greatest,
                "(rate_buckets.tat, ",
                $now,
                ") + $2 - ",
                $now,
                " <= $3 \
                 RETURNING tat"
            )
        };
    }
    pub(crate) use take_rate_token;
    /// `$1` key, `$2` interval, `$3` burst × interval: how long until the bucket admits again.
    macro_rules! rate_bucket_wait {
        ($greatest:literal, $now:literal) => {
            concat!(
                "SELECT ",
                $greatest,
                "(paused_until - ",
                $now,
                ", ",
                $greatest,
                "(tat, ",
                $now,
                ") + $2 - $3 - ",
                $now,
                ", 1) \
                 FROM rate_buckets WHERE key = $1"
            )
        };
    }
    pub(crate) use rate_bucket_wait;
    /// `$1` key, `$2` pause (µs).
    macro_rules! pause_rate_bucket {
        ($greatest:literal, $now:literal) => {
            concat!(
                "INSERT INTO rate_buckets (key, tat, paused_until, updated_at) VALUES ($1, ",
                $now,
                ", ",
                $now,
                " + $2, ",
                $now,
                ") \
                 ON CONFLICT (key) DO UPDATE SET paused_until = ",
                $greatest,
                "(rate_buckets.paused_until, ",
                $now,
                " + $2), updated_at = ",
                $now
            )
        };
    }
    pub(crate) use pause_rate_bucket;

    pub const UPSERT_LOOKUP: &str = "INSERT INTO lookup_entries (tenant_id, table_name, key, value, updated_at) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, table_name, key) \
        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
    pub const UPSERT_RATE: &str = "INSERT INTO fx_rates (tenant_id, from_currency, to_currency, rate, updated_at) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, from_currency, to_currency) \
        DO UPDATE SET rate = excluded.rate, updated_at = excluded.updated_at";
    pub const UPSERT_CONNECTION: &str = "INSERT INTO connections \
        (tenant_id, id, system, endpoint, credentials_ref, limits, options, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
        ON CONFLICT (tenant_id, id) DO UPDATE SET system = excluded.system, endpoint = excluded.endpoint, \
        credentials_ref = excluded.credentials_ref, limits = excluded.limits, options = excluded.options, \
        updated_at = excluded.updated_at";
    pub const ADD_TENANT: &str = "INSERT INTO tenants (id, name, created_at, status, retention_days) \
        VALUES ($1, $2, $3, 'active', $4) ON CONFLICT (id) DO NOTHING RETURNING id";
    /// `$2` the new status; the row comes back (with the old status) only if it changed.
    pub const SET_TENANT_STATUS: &str = "UPDATE tenants SET status = $2 WHERE id = $1 AND status <> $2 RETURNING id";
    pub const SET_TENANT_RETENTION: &str = "UPDATE tenants SET retention_days = $2 WHERE id = $1 RETURNING id";
    pub const INSERT_EVENT: &str = "INSERT INTO inbox \
        (tenant_id, connection, dedupe_key, event_type, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING id";
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
    pub const COMPLETE_JOB: &str = "UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, \
        updated_at = $3 WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING tenant_id, flow, created_at";
    pub const RETRY_JOB: &str = "UPDATE jobs SET state = 'available', run_at = $3, attempts = attempts - $4, \
        last_error_kind = $5, last_error = $6, lease_owner = NULL, lease_until = NULL, updated_at = $7 \
        WHERE id = $1 AND state = 'running' AND lease_owner = $2";
    pub const RELEASE_JOB: &str = "UPDATE jobs SET state = 'available', attempts = attempts - 1, \
        lease_owner = NULL, lease_until = NULL, updated_at = $3 \
        WHERE id = $1 AND state = 'running' AND lease_owner = $2";
    pub const KILL_JOB: &str = "UPDATE jobs SET state = 'dead', last_error_kind = $3, last_error = $4, \
        lease_owner = NULL, lease_until = NULL, updated_at = $5 \
        WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING tenant_id, flow";
    pub const INSERT_DEAD_LETTER: &str = "INSERT INTO dead_letters (tenant_id, job_id, flow, step, attempts, \
        error_kind, error, payload, status, created_at, record) \
        SELECT tenant_id, id, flow, $2, attempts, $3, $4, payload, 'open', $5, record FROM jobs WHERE id = $1";
    /// The record's open dead letter, if it has one (a job's flow and record).
    pub const OPEN_DEAD_LETTER_OF_RECORD: &str = "SELECT d.id FROM dead_letters d JOIN jobs j \
        ON d.tenant_id = j.tenant_id AND d.flow = j.flow AND d.record = j.record \
        WHERE j.id = $1 AND d.status = 'open' ORDER BY d.id LIMIT 1";
    /// The record's open dead letter takes the newest job that gave up: its payload (what a
    /// replay runs), step, attempts and error.
    pub const MERGE_DEAD_LETTER: &str = "UPDATE dead_letters SET job_id = $2, step = $3, error_kind = $4, \
        error = $5, attempts = (SELECT attempts FROM jobs WHERE id = $2), \
        payload = (SELECT payload FROM jobs WHERE id = $2) WHERE id = $1";
    pub const RECORD_OF_JOB: &str = "SELECT tenant_id, flow, record, cover_id FROM jobs WHERE id = $1";
    /// Completes the waiting jobs of a record that a run covered (enqueued before its claim).
    pub const COVER_JOBS: &str = "UPDATE jobs SET state = 'completed', last_error_kind = 'covered', \
        last_error = $6, lease_owner = NULL, lease_until = NULL, updated_at = $7 \
        WHERE tenant_id = $1 AND flow = $2 AND record = $3 AND state = 'available' AND id <= $4 AND id <> $5";
    /// Queue counts of one tenant (`$2`) at `$1` (now), each read from a partial index or the
    /// hourly counters: nothing here reads the finished jobs themselves.
    pub const QUEUE_STATS_OF: &str = "\
        SELECT 'ready', COUNT(*) FROM jobs WHERE tenant_id = $2 AND state = 'available' AND run_at <= $1 \
        UNION ALL SELECT 'scheduled', COUNT(*) FROM jobs WHERE tenant_id = $2 AND state = 'available' AND run_at > $1 \
        UNION ALL SELECT 'running', COUNT(*) FROM jobs WHERE state = 'running' AND lease_until IS NOT NULL AND tenant_id = $2 \
        UNION ALL SELECT 'expired', COUNT(*) FROM jobs WHERE state = 'running' AND lease_until < $1 AND tenant_id = $2 \
        UNION ALL SELECT 'completed', CAST(SUM(n) AS BIGINT) FROM flow_counts WHERE tenant_id = $2 AND kind IN ('completed', 'covered') \
        UNION ALL SELECT 'dead', CAST(SUM(n) AS BIGINT) FROM flow_counts WHERE tenant_id = $2 AND kind = 'dead' \
        UNION ALL SELECT 'dead_letters_open', COUNT(*) FROM dead_letters WHERE tenant_id = $2 AND status = 'open'";
    /// [`QUEUE_STATS_OF`] for every tenant.
    pub const QUEUE_STATS_ALL: &str = "\
        SELECT 'ready', COUNT(*) FROM jobs WHERE state = 'available' AND run_at <= $1 \
        UNION ALL SELECT 'scheduled', COUNT(*) FROM jobs WHERE state = 'available' AND run_at > $1 \
        UNION ALL SELECT 'running', COUNT(*) FROM jobs WHERE state = 'running' AND lease_until IS NOT NULL \
        UNION ALL SELECT 'expired', COUNT(*) FROM jobs WHERE state = 'running' AND lease_until < $1 \
        UNION ALL SELECT 'completed', CAST(SUM(n) AS BIGINT) FROM flow_counts WHERE kind IN ('completed', 'covered') \
        UNION ALL SELECT 'dead', CAST(SUM(n) AS BIGINT) FROM flow_counts WHERE kind = 'dead' \
        UNION ALL SELECT 'dead_letters_open', COUNT(*) FROM dead_letters WHERE status = 'open'";
    /// A tenant's (`$1`) finished jobs per flow and hour since `$2` (µs, on the hour), from the
    /// hourly counters (primary key order: no sort).
    pub const FLOW_HOURLY_COUNTS: &str = "SELECT flow, hour, \
        CAST(SUM(CASE WHEN kind = 'completed' THEN n ELSE 0 END) AS BIGINT), \
        CAST(SUM(CASE WHEN kind = 'covered' THEN n ELSE 0 END) AS BIGINT), \
        CAST(SUM(CASE WHEN kind = 'dead' THEN n ELSE 0 END) AS BIGINT) \
        FROM flow_counts WHERE tenant_id = $1 AND hour >= $2 AND kind IN ('completed', 'covered', 'dead') \
        GROUP BY flow, hour ORDER BY flow, hour";
    /// A tenant's (`$1`) latency buckets per flow since `$2` (µs, on the hour).
    pub const FLOW_LATENCY: &str = "SELECT flow, kind, CAST(SUM(n) AS BIGINT) FROM flow_counts \
        WHERE tenant_id = $1 AND hour >= $2 AND kind >= 'lat00' AND kind <= 'lat99' \
        GROUP BY flow, kind ORDER BY flow, kind";
    /// Subtracts from the hourly counters the finished jobs a purge deletes (`$1` tenant,
    /// `$2` cutoff): the same rows as the purge's delete of jobs, counted the way
    /// [`crate::sql_store::CountChanges`] counts them (the latency buckets as
    /// [`crate::sql_store::latency_kind`]).
    pub const PURGE_FLOW_COUNTS: &str = concat!(
        "INSERT INTO flow_counts (tenant_id, flow, hour, kind, n) \
         SELECT tenant_id, flow, hour, kind, -COUNT(*) FROM (",
        purged_finished!(
            "CASE WHEN state = 'dead' THEN 'dead' WHEN last_error_kind = 'covered' THEN 'covered' ELSE 'completed' END",
            "state IN ('completed', 'dead')"
        ),
        " UNION ALL ",
        purged_finished!(
            latency_case!(),
            "state = 'completed' AND (last_error_kind IS NULL OR last_error_kind <> 'covered')"
        ),
        ") purged GROUP BY tenant_id, flow, hour, kind ORDER BY tenant_id, flow, hour, kind \
         ON CONFLICT (tenant_id, flow, hour, kind) DO UPDATE SET n = flow_counts.n + excluded.n"
    );
    /// Drops the counters a purge brought to zero (`$1` tenant, `$2` cutoff).
    pub const DROP_EMPTY_FLOW_COUNTS: &str = "DELETE FROM flow_counts WHERE tenant_id = $1 AND hour <= $2 AND n = 0";
    /// The purge's delete of a tenant's finished jobs (`$1` tenant, `$2` cutoff).
    pub const PURGE_JOBS: &str = "DELETE FROM jobs WHERE tenant_id = $1 AND state IN ('completed', 'dead') AND updated_at < $2 \
        AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.job_id = jobs.id)";
    /// Every tenant's hourly counters as counted from the finished jobs (what migration 13
    /// writes): tenant, flow, hour, kind, count.
    pub const FLOW_COUNTS_FROM_JOBS: &str = concat!(
        "SELECT tenant_id, flow, hour, kind, COUNT(*) FROM (\
           SELECT tenant_id, flow, (updated_at / 3600000000) * 3600000000 AS hour, \
             CASE WHEN state = 'dead' THEN 'dead' WHEN last_error_kind = 'covered' THEN 'covered' ELSE 'completed' END AS kind \
           FROM jobs WHERE state IN ('completed', 'dead') \
           UNION ALL \
           SELECT tenant_id, flow, (updated_at / 3600000000) * 3600000000 AS hour, ",
        latency_case!(),
        " AS kind FROM jobs WHERE state = 'completed' AND (last_error_kind IS NULL OR last_error_kind <> 'covered')\
         ) finished GROUP BY tenant_id, flow, hour, kind"
    );
}

/// An hour in microseconds: the counters' unit of time.
pub(crate) const HOUR: i64 = 3_600_000_000;

/// The counter kind of a completed job's latency (µs from creation to completion): the same
/// buckets as `latency_case!` in SQL.
pub(crate) fn latency_kind(micros: i64) -> &'static str {
    const KINDS: [&str; 21] = [
        "lat00", "lat01", "lat02", "lat03", "lat04", "lat05", "lat06", "lat07", "lat08", "lat09", "lat10", "lat11",
        "lat12", "lat13", "lat14", "lat15", "lat16", "lat17", "lat18", "lat19", "lat20",
    ];
    let i = crate::LATENCY_BOUNDS_MS.iter().position(|&b| i128::from(micros) < i128::from(b) * 1000);
    KINDS[i.unwrap_or(crate::LATENCY_BOUNDS_MS.len())]
}

/// The bucket index of a latency kind (`lat07` → 7).
pub(crate) fn latency_bucket(kind: &str) -> Option<usize> {
    kind.strip_prefix("lat").and_then(|n| n.parse::<usize>().ok()).filter(|&i| i <= crate::LATENCY_BOUNDS_MS.len())
}

/// What one transaction changes in the hourly counters (`flow_counts`), written with one
/// statement at its end, in key order (so two transactions lock counter rows in one order).
#[derive(Default)]
pub(crate) struct CountChanges(std::collections::BTreeMap<(String, String, &'static str), i64>);

impl CountChanges {
    pub(crate) fn add(&mut self, tenant: &str, flow: &str, kind: &'static str, n: i64) {
        if n != 0 {
            *self.0.entry((tenant.to_owned(), flow.to_owned(), kind)).or_default() += n;
        }
    }

    /// A job that ran and completed at `now`, created at `created_at`.
    pub(crate) fn completed(&mut self, tenant: &str, flow: &str, created_at: i64, now: i64) {
        self.add(tenant, flow, "completed", 1);
        self.add(tenant, flow, latency_kind(now.saturating_sub(created_at)), 1);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rows to add, as the JSON array the upsert unpacks.
    pub(crate) fn json(&self) -> String {
        let rows: Vec<serde_json::Value> =
            self.0.iter().map(|((t, f, k), n)| serde_json::json!({ "t": t, "f": f, "k": k, "n": n })).collect();
        serde_json::Value::Array(rows).to_string()
    }
}

/// Serialises jobs into the JSON array the batch insert unpacks.
pub(crate) fn jobs_json(
    jobs: &[crate::NewJob],
    now: i64,
    key: Option<&crate::secrets::MasterKey>,
) -> Result<String, crate::StoreError> {
    let rows: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            Ok(serde_json::json!({
                "t": j.tenant.as_ref(),
                "f": j.flow,
                "c": j.connection.as_ref().map(|c| c.as_ref().to_string()),
                "k": j.dedupe_key,
                "rk": j.record,
                "p": seal_payload(key, &j.tenant, j.payload.to_string())?,
                "m": i64::from(j.max_attempts.max(1)),
                "r": j.run_at.map(crate::to_micros).unwrap_or(now),
            }))
        })
        .collect::<Result<_, crate::StoreError>>()?;
    Ok(serde_json::Value::Array(rows).to_string())
}

/// A payload as it is written: sealed under the store's payload key when it has one.
pub(crate) fn seal_payload(
    key: Option<&crate::secrets::MasterKey>,
    tenant: &crate::TenantId,
    clear: String,
) -> Result<String, crate::StoreError> {
    match key {
        Some(k) => k.seal_payload(tenant, &clear),
        None => Ok(clear),
    }
}

/// A payload as it is read: opened when the store has the key it was sealed with. A payload
/// that cannot be opened stays sealed, so reading it fails for that row alone (naming the job
/// or dead letter), never for every row read with it.
pub(crate) fn open_payload(
    key: Option<&crate::secrets::MasterKey>,
    tenant: &crate::TenantId,
    stored: String,
) -> String {
    match key {
        Some(k) if crate::secrets::is_sealed_payload(&stored) => match k.open_payload(tenant, &stored) {
            Ok(clear) => clear,
            Err(e) => {
                tracing::warn!(tenant = %tenant, error = %e, "a stored payload cannot be opened");
                stored
            }
        },
        _ => stored,
    }
}

/// Matches the `(id, dedupe_key)` rows a batch insert returned to the input jobs, in input
/// order. Keyed jobs match by key (only the first job with a key can have been inserted);
/// keyless jobs are inserted in input order, so they take the keyless ids in ascending order.
pub(crate) fn match_inserted(
    jobs: &[crate::NewJob],
    mut returned: Vec<(i64, Option<String>)>,
) -> Vec<Option<crate::JobId>> {
    returned.sort_by_key(|(id, _)| *id);
    let mut by_key = std::collections::HashMap::new();
    let mut keyless = std::collections::VecDeque::new();
    for (id, key) in returned {
        match key {
            Some(k) => {
                by_key.insert(k, id);
            }
            None => keyless.push_back(id),
        }
    }
    jobs.iter()
        .map(|j| match &j.dedupe_key {
            Some(k) => by_key.remove(k).map(crate::JobId),
            None => keyless.pop_front().map(crate::JobId),
        })
        .collect()
}

pub(crate) fn ids_json<T: Copy + Into<i64>>(ids: impl IntoIterator<Item = T>) -> String {
    let v: Vec<i64> = ids.into_iter().map(Into::into).collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

impl From<crate::JobId> for i64 {
    fn from(id: crate::JobId) -> i64 {
        id.0
    }
}

pub(crate) fn tenant_of(raw: String, what: &str) -> Result<crate::TenantId, crate::StoreError> {
    raw.parse().map_err(|e| crate::StoreError::Corrupt { what: what.to_string(), detail: format!("{e}") })
}

pub(crate) fn connection_of(raw: Option<String>, what: &str) -> Result<Option<crate::ConnectionId>, crate::StoreError> {
    raw.map(|r| r.parse().map_err(|e| crate::StoreError::Corrupt { what: what.to_string(), detail: format!("{e}") }))
        .transpose()
}

/// A write transaction on a pooled connection of its own, begun and ended with plain SQL so
/// the connection's state is never left to sqlx's bookkeeping: if anything goes wrong
/// (a failed statement, a failed COMMIT such as a full disk, an early return or a cancelled
/// future), the connection is closed instead of going back to the pool. The server or SQLite
/// then rolls back, and the next write gets a fresh connection, so one failed commit never
/// wedges the pool ("begin_with at non-zero transaction depth" forever after).
pub(crate) struct WriteTx<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    open: bool,
}

impl<DB: sqlx::Database> WriteTx<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    /// Takes a connection and runs `begin` on it.
    pub(crate) async fn begin(pool: &sqlx::Pool<DB>, begin: &'static str) -> Result<Self, sqlx::Error> {
        let conn = pool.acquire().await?;
        // Open from the start: if BEGIN fails, dropping closes the connection.
        let mut tx = WriteTx { conn, open: true };
        sqlx::raw_sql(begin).execute(&mut *tx.conn).await?;
        Ok(tx)
    }

    /// Commits; on failure the connection is discarded (by the drop).
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        sqlx::raw_sql("COMMIT").execute(&mut *self.conn).await?;
        self.open = false;
        Ok(())
    }
}

impl<DB: sqlx::Database> Drop for WriteTx<DB> {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteTx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

/// Implements [`crate::Store`] for a backend: `$store` has a `pool: sqlx::Pool<$db>` field,
/// and `$sql` is a module of that dialect's statements with the same names in both.
macro_rules! impl_store {
    ($store:ty, $db:ty, $sql:ident, $backend:literal) => {
        use sqlx::Row as _;
        use $crate::error::DbContext as _;
        use $crate::records::u32_of;
        use $crate::sql_store::{CountChanges, HOUR, connection_of, ids_json, jobs_json, latency_bucket, match_inserted, tenant_of};
        use $crate::time::{from_micros, micros_after, now_micros, to_micros};
        use $crate::*;

        type Row = <$db as sqlx::Database>::Row;
        type Tx = $crate::sql_store::WriteTx<$db>;

        fn job_from_row(r: &Row, key: Option<&$crate::secrets::MasterKey>) -> Result<Job> {
            let id: i64 = r.try_get(0).db($backend, "read job")?;
            let what = format!("job {id}");
            let tenant = tenant_of(r.try_get(1).db($backend, "read job")?, &what)?;
            Ok(Job {
                id: JobId(id),
                payload: $crate::sql_store::open_payload(key, &tenant, r.try_get(5).db($backend, "read job")?),
                tenant,
                flow: r.try_get(2).db($backend, "read job")?,
                connection: connection_of(r.try_get(3).db($backend, "read job")?, &what)?,
                dedupe_key: r.try_get(4).db($backend, "read job")?,
                state: JobState::parse(&r.try_get::<String, _>(6).db($backend, "read job")?)?,
                attempts: u32_of(r.try_get(7).db($backend, "read job")?),
                max_attempts: u32_of(r.try_get(8).db($backend, "read job")?),
                run_at: from_micros(r.try_get(9).db($backend, "read job")?),
                lease_owner: r.try_get(10).db($backend, "read job")?,
                lease_until: r.try_get::<Option<i64>, _>(11).db($backend, "read job")?.map(from_micros),
                last_error: r.try_get(12).db($backend, "read job")?,
                last_error_kind: r.try_get(13).db($backend, "read job")?,
                created_at: from_micros(r.try_get(14).db($backend, "read job")?),
                record: r.try_get(15).db($backend, "read job")?,
            })
        }

        fn token_from_row(r: &Row, backend: &'static str) -> Result<ApiTokenRow> {
            let c = "read token";
            let id: String = r.try_get(0).db(backend, c)?;
            Ok(ApiTokenRow {
                tenant: tenant_of(r.try_get(1).db(backend, c)?, &format!("token {id}"))?,
                role: r.try_get(2).db(backend, c)?,
                label: r.try_get(3).db(backend, c)?,
                hash: r.try_get(4).db(backend, c)?,
                created_by: r.try_get(5).db(backend, c)?,
                created_at: from_micros(r.try_get(6).db(backend, c)?),
                expires_at: r.try_get::<Option<i64>, _>(7).db(backend, c)?.map(from_micros),
                revoked_at: r.try_get::<Option<i64>, _>(8).db(backend, c)?.map(from_micros),
                id,
            })
        }

        fn dead_letter_from_row(r: &Row, key: Option<&$crate::secrets::MasterKey>) -> Result<DeadLetter> {
            let c = "read dead letter";
            let id: i64 = r.try_get(0).db($backend, c)?;
            let tenant = tenant_of(r.try_get(1).db($backend, c)?, &format!("dead letter {id}"))?;
            Ok(DeadLetter {
                id: DeadLetterId(id),
                payload: $crate::sql_store::open_payload(key, &tenant, r.try_get(8).db($backend, c)?),
                tenant,
                job: JobId(r.try_get(2).db($backend, c)?),
                flow: r.try_get(3).db($backend, c)?,
                step: r.try_get(4).db($backend, c)?,
                attempts: u32_of(r.try_get(5).db($backend, c)?),
                error_kind: r.try_get(6).db($backend, c)?,
                error: r.try_get(7).db($backend, c)?,
                status: DeadLetterStatus::parse(&r.try_get::<String, _>(9).db($backend, c)?)?,
                replay_job: r.try_get::<Option<i64>, _>(10).db($backend, c)?.map(JobId),
                created_at: from_micros(r.try_get(11).db($backend, c)?),
                resolved_at: r.try_get::<Option<i64>, _>(12).db($backend, c)?.map(from_micros),
                resolved_by: r.try_get(13).db($backend, c)?,
            })
        }

        async fn insert_jobs(tx: &mut Tx, jobs: &[NewJob], key: Option<&$crate::secrets::MasterKey>) -> Result<Vec<Option<JobId>>> {
            if jobs.is_empty() {
                return Ok(Vec::new());
            }
            let rows = sqlx::query($sql::INSERT_JOBS)
                .bind(jobs_json(jobs, now_micros(), key)?)
                .bind(now_micros())
                .fetch_all(&mut **tx)
                .await
                .db($backend, "enqueue jobs")?;
            let mut returned = Vec::with_capacity(rows.len());
            for r in &rows {
                returned.push((
                    r.try_get::<i64, _>(0).db($backend, "enqueue jobs")?,
                    r.try_get::<Option<String>, _>(1).db($backend, "enqueue jobs")?,
                ));
            }
            Ok(match_inserted(jobs, returned))
        }

        async fn upsert_cursor(tx: &mut Tx, c: &CursorUpdate, now: i64) -> Result<()> {
            sqlx::query($sql::UPSERT_CURSOR)
                .bind(c.tenant.as_ref())
                .bind(&c.name)
                .bind(&c.value)
                .bind(now)
                .execute(&mut **tx)
                .await
                .db($backend, "move cursor")?;
            Ok(())
        }

        async fn upsert_xref(tx: &mut Tx, x: &Xref, now: i64) -> Result<()> {
            sqlx::query($sql::UPSERT_XREF)
                .bind(x.key.tenant.as_ref())
                .bind(&x.key.source_system)
                .bind(&x.key.source_entity)
                .bind(&x.key.source_id)
                .bind(&x.key.target_system)
                .bind(&x.key.target_entity)
                .bind(&x.target_id)
                .bind(now)
                .execute(&mut **tx)
                .await
                .db($backend, "write xref")?;
            Ok(())
        }

        async fn write_connection(tx: &mut Tx, c: &Connection, now: i64) -> Result<()> {
            // A connection without options stores `{}`, the column's default.
            let options = if c.options.is_null() { "{}".to_string() } else { c.options.to_string() };
            sqlx::query($sql::UPSERT_CONNECTION)
                .bind(c.tenant.as_ref())
                .bind(c.id.as_ref())
                .bind(&c.system)
                .bind(&c.endpoint)
                .bind(&c.credentials_ref)
                .bind(c.limits.to_string())
                .bind(options)
                .bind(now)
                .execute(&mut **tx)
                .await
                .db($backend, "write connection")?;
            Ok(())
        }

        async fn insert_audit(tx: &mut Tx, e: &AuditEntry, now: i64) -> Result<()> {
            sqlx::query($sql::INSERT_AUDIT)
                .bind(e.tenant.as_ref())
                .bind(now)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.subject)
                .bind(&e.detail)
                .execute(&mut **tx)
                .await
                .db($backend, "write audit")?;
            Ok(())
        }

        /// Completes the waiting jobs of `job`'s flow and record that were enqueued before `job`
        /// was claimed (ids up to its `cover_id`), with one trace line on `job` saying how many.
        async fn cover_earlier(tx: &mut Tx, job: i64, why: String, now: i64, counts: &mut CountChanges) -> Result<()> {
            let row: Option<(String, String, Option<String>, Option<i64>)> = sqlx::query_as($sql::RECORD_OF_JOB)
                .bind(job)
                .fetch_optional(&mut **tx)
                .await
                .db($backend, "read the job's record")?;
            let Some((tenant, flow, Some(record), Some(cover_id))) = row else { return Ok(()) };
            let covered = sqlx::query($sql::COVER_JOBS)
                .bind(&tenant)
                .bind(&flow)
                .bind(&record)
                .bind(cover_id)
                .bind(job)
                .bind(why)
                .bind(now)
                .execute(&mut **tx)
                .await
                .db($backend, "complete covered jobs")?
                .rows_affected();
            if covered > 0 {
                counts.add(&tenant, &flow, "covered", i64::try_from(covered).unwrap_or(i64::MAX));
                sqlx::query($sql::INSERT_RUN)
                    .bind(job)
                    .bind(&record)
                    .bind("coalesce")
                    .bind("covered")
                    .bind(format!("{covered} earlier job(s) of this record completed as covered by this run"))
                    .bind(now)
                    .execute(&mut **tx)
                    .await
                    .db($backend, "write run trace")?;
            }
            Ok(())
        }

        /// Applies one outcome if `owner` still holds the job's lease.
        async fn apply_outcome(tx: &mut Tx, owner: &str, c: &Completion, now: i64, counts: &mut CountChanges) -> Result<bool> {
            let job = c.job.0;
            let applied = match &c.outcome {
                Outcome::Completed { xrefs, cursor, echoes, covers_earlier } => {
                    let done: Option<(String, String, i64)> = sqlx::query_as($sql::COMPLETE_JOB)
                        .bind(job)
                        .bind(owner)
                        .bind(now)
                        .fetch_optional(&mut **tx)
                        .await
                        .db($backend, "complete job")?;
                    if let Some((tenant, flow, created_at)) = &done {
                        counts.completed(tenant, flow, *created_at, now);
                        for x in xrefs {
                            upsert_xref(tx, x, now).await?;
                        }
                        if let Some(cur) = cursor {
                            upsert_cursor(tx, cur, now).await?;
                        }
                        for e in echoes {
                            sqlx::query($sql::UPSERT_ECHO)
                                .bind(e.key.tenant.as_ref())
                                .bind(&e.key.system)
                                .bind(&e.key.entity)
                                .bind(&e.key.record_id)
                                .bind(&e.key.direction)
                                .bind(&e.hash)
                                .bind(now)
                                .execute(&mut **tx)
                                .await
                                .db($backend, "write echo hash")?;
                        }
                        if *covers_earlier {
                            cover_earlier(tx, job, format!("covered by job {job}, which read the record after this job was enqueued"), now, counts).await?;
                        }
                    }
                    done.is_some()
                }
                Outcome::Retry { run_at, refund_attempt, error_kind, error } => {
                    sqlx::query($sql::RETRY_JOB)
                        .bind(job)
                        .bind(owner)
                        .bind(to_micros(*run_at))
                        .bind(i64::from(*refund_attempt))
                        .bind(error_kind)
                        .bind(error)
                        .bind(now)
                        .execute(&mut **tx)
                        .await
                        .db($backend, "reschedule job")?
                        .rows_affected()
                        == 1
                }
                Outcome::Release => {
                    sqlx::query($sql::RELEASE_JOB)
                        .bind(job)
                        .bind(owner)
                        .bind(now)
                        .execute(&mut **tx)
                        .await
                        .db($backend, "release job")?
                        .rows_affected()
                        == 1
                }
                Outcome::Dead { step, error_kind, error, covers_earlier } => {
                    let killed: Option<(String, String)> = sqlx::query_as($sql::KILL_JOB)
                        .bind(job)
                        .bind(owner)
                        .bind(error_kind)
                        .bind(error)
                        .bind(now)
                        .fetch_optional(&mut **tx)
                        .await
                        .db($backend, "dead-letter job")?;
                    if let Some((tenant, flow)) = &killed {
                        counts.add(tenant, flow, "dead", 1);
                        let open: Option<i64> = sqlx::query_scalar($sql::OPEN_DEAD_LETTER_OF_RECORD)
                            .bind(job)
                            .fetch_optional(&mut **tx)
                            .await
                            .db($backend, "find the record's dead letter")?;
                        match open {
                            Some(letter) => {
                                sqlx::query($sql::MERGE_DEAD_LETTER)
                                    .bind(letter)
                                    .bind(job)
                                    .bind(step)
                                    .bind(error_kind)
                                    .bind(error)
                                    .execute(&mut **tx)
                                    .await
                                    .db($backend, "update the record's dead letter")?;
                            }
                            None => {
                                sqlx::query($sql::INSERT_DEAD_LETTER)
                                    .bind(job)
                                    .bind(step)
                                    .bind(error_kind)
                                    .bind(error)
                                    .bind(now)
                                    .execute(&mut **tx)
                                    .await
                                    .db($backend, "dead-letter job")?;
                            }
                        }
                        if *covers_earlier {
                            let why = format!("covered by job {job}, which gave up after reading the record; replaying its dead letter reads the record again");
                            cover_earlier(tx, job, why, now, counts).await?;
                        }
                    }
                    killed.is_some()
                }
            };
            if applied {
                for t in &c.trace {
                    sqlx::query($sql::INSERT_RUN)
                        .bind(job)
                        .bind(&t.record)
                        .bind(&t.step)
                        .bind(&t.outcome)
                        .bind(&t.message)
                        .bind(to_micros(t.at))
                        .execute(&mut **tx)
                        .await
                        .db($backend, "write run trace")?;
                }
            }
            Ok(applied)
        }

        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn write_status(&self) -> WriteStatus {
                self.health.status()
            }

            async fn take_rate_token(&self, key: &str, interval: std::time::Duration, burst: u32) -> Result<Option<std::time::Duration>> {
                let interval = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX).max(1);
                let span = interval.saturating_mul(i64::from(burst.max(1)));
                let result: Result<Option<std::time::Duration>> = async {
                    let admitted: Option<i64> = sqlx::query_scalar($sql::TAKE_RATE_TOKEN)
                        .bind(key)
                        .bind(interval)
                        .bind(span)
                        .fetch_optional(&self.pool)
                        .await
                        .db($backend, "take rate token")?;
                    if admitted.is_some() {
                        return Ok(None);
                    }
                    let wait: i64 = sqlx::query_scalar($sql::RATE_BUCKET_WAIT)
                        .bind(key)
                        .bind(interval)
                        .bind(span)
                        .fetch_one(&self.pool)
                        .await
                        .db($backend, "read rate bucket")?;
                    Ok(Some(std::time::Duration::from_micros(wait.max(1).unsigned_abs())))
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn pause_rate_bucket(&self, key: &str, pause: std::time::Duration) -> Result<()> {
                let result: Result<()> = async {
                    sqlx::query($sql::PAUSE_RATE_BUCKET)
                        .bind(key)
                        .bind(i64::try_from(pause.as_micros()).unwrap_or(i64::MAX / 2))
                        .execute(&self.pool)
                        .await
                        .db($backend, "pause rate bucket")?;
                    Ok(())
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn jobs_added(&self) {
                self.before_waiting().await;
                self.wakeups.wait().await
            }

            async fn migrate(&self) -> Result<()> {
                let result: Result<()> = async {
                    sqlx::query($crate::migrate::CREATE_MIGRATIONS_TABLE)
                        .execute(&self.pool)
                        .await
                        .db($backend, "create migrations table")?;
                    for m in $sql::MIGRATIONS {
                        let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin migration")?;
                        sqlx::query($sql::MIGRATION_LOCK).execute(&mut *tx).await.db($backend, "lock migrations")?;
                        let done: Option<i64> = sqlx::query_scalar("SELECT version FROM ferry_migrations WHERE version = $1")
                            .bind(m.version)
                            .fetch_optional(&mut *tx)
                            .await
                            .db($backend, "read migrations")?;
                        if done.is_some() {
                            tx.commit().await.db($backend, "commit migrations check")?;
                            continue;
                        }
                        let fail = |source| $crate::StoreError::Migration { backend: $backend, version: m.version, name: m.name, source };
                        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql)).execute(&mut *tx).await.map_err(fail)?;
                        sqlx::query("INSERT INTO ferry_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                            .bind(m.version)
                            .bind(m.name)
                            .bind(now_micros())
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                        tx.commit().await.map_err(fail)?;
                    }
                    Ok(())
                }
                .await;
                self.health.note(result, |_| false)
            }

            async fn ensure_tenant(&self, tenant: &TenantId, name: &str) -> Result<()> {
                let result: Result<()> = async {
                    sqlx::query($sql::ENSURE_TENANT)
                        .bind(tenant.as_ref())
                        .bind(name)
                        .bind(now_micros())
                        .execute(&self.pool)
                        .await
                        .db($backend, "create tenant")?;
                    self.tenants.invalidate();
                    Ok(())
                }
                .await;
                self.health.note(result, |_| false)
            }

            async fn upsert_connection(&self, c: &Connection) -> Result<()> {
                let result: Result<()> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin connection")?;
                    write_connection(&mut tx, c, now_micros()).await?;
                    tx.commit().await.db($backend, "commit connection")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn put_connection(&self, c: &Connection, actor: &str) -> Result<bool> {
                let result: Result<bool> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin connection")?;
                    let existed: Option<String> = sqlx::query_scalar("SELECT id FROM connections WHERE tenant_id = $1 AND id = $2")
                        .bind(c.tenant.as_ref())
                        .bind(c.id.as_ref())
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "read connection")?;
                    write_connection(&mut tx, c, now).await?;
                    let action = if existed.is_some() { "connection.update" } else { "connection.add" };
                    let detail = format!("system {} endpoint {}", c.system, $crate::redact::url(&c.endpoint));
                    insert_audit(&mut tx, &AuditEntry { tenant: c.tenant.clone(), actor: actor.into(), action: action.into(), subject: c.id.to_string(), detail }, now).await?;
                    tx.commit().await.db($backend, "commit connection")?;
                    Ok(existed.is_none())
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn remove_connection(&self, tenant: &TenantId, id: &ConnectionId, actor: &str) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin remove connection")?;
                    let n = sqlx::query("DELETE FROM connections WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.as_ref())
                        .bind(id.as_ref())
                        .execute(&mut *tx)
                        .await
                        .db($backend, "remove connection")?
                        .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound { what: "connection", id: format!("{id} of tenant {tenant}") });
                    }
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "connection.remove".into(), subject: id.to_string(), detail: String::new() }, now).await?;
                    tx.commit().await.db($backend, "commit remove connection")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn tenants(&self) -> Result<Vec<TenantInfo>> {
                let rows: Vec<(String, String, String, Option<i64>, i64)> =
                    sqlx::query_as("SELECT id, name, status, retention_days, created_at FROM tenants ORDER BY id")
                        .fetch_all(&self.pool)
                        .await
                        .db($backend, "list tenants")?;
                rows.into_iter()
                    .map(|(id, name, status, retention, created)| {
                        let what = format!("tenant {id}");
                        Ok(TenantInfo {
                            id: tenant_of(id, &what)?,
                            name,
                            status: TenantStatus::parse(&status)?,
                            retention_days: retention
                                .map(|d| u32::try_from(d).map_err(|_| StoreError::Corrupt { what: format!("retention_days of {what}"), detail: format!("{d} is out of range") }))
                                .transpose()?,
                            created_at: from_micros(created),
                        })
                    })
                    .collect()
            }

            async fn add_tenant(&self, tenant: &TenantId, name: &str, retention_days: Option<u32>, actor: &str) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin add tenant")?;
                    let added: Option<String> = sqlx::query_scalar($sql::ADD_TENANT)
                        .bind(tenant.as_ref())
                        .bind(name)
                        .bind(now)
                        .bind(retention_days.map(i64::from))
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "add tenant")?;
                    if added.is_none() {
                        return Err(StoreError::Conflict { what: "tenant", id: tenant.to_string(), reason: "already exists".into() });
                    }
                    let detail = match retention_days {
                        Some(d) => format!("name {name}, retention {d} days"),
                        None => format!("name {name}, retention: node default"),
                    };
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "tenant.add".into(), subject: tenant.to_string(), detail }, now).await?;
                    tx.commit().await.db($backend, "commit add tenant")?;
                    self.tenants.invalidate();
                    Ok(())
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn set_tenant_status(&self, tenant: &TenantId, status: TenantStatus, actor: &str) -> Result<bool> {
                let result: Result<bool> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin tenant status")?;
                    let changed: Option<String> = sqlx::query_scalar($sql::SET_TENANT_STATUS)
                        .bind(tenant.as_ref())
                        .bind(status.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "set tenant status")?;
                    if changed.is_none() {
                        let known: Option<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1")
                            .bind(tenant.as_ref())
                            .fetch_optional(&mut *tx)
                            .await
                            .db($backend, "read tenant")?;
                        tx.commit().await.db($backend, "commit tenant status")?;
                        return match known {
                            Some(_) => Ok(false),
                            None => Err(StoreError::NotFound { what: "tenant", id: tenant.to_string() }),
                        };
                    }
                    let action = match status {
                        TenantStatus::Active => "tenant.enable",
                        TenantStatus::Disabled => "tenant.disable",
                    };
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: action.into(), subject: tenant.to_string(), detail: String::new() }, now).await?;
                    tx.commit().await.db($backend, "commit tenant status")?;
                    self.tenants.invalidate();
                    if status == TenantStatus::Active {
                        // Its queued jobs are runnable again: wake idle workers.
                        self.wakeups.jobs_written();
                    }
                    Ok(true)
                }
                .await;
                self.health.note(result, |changed| *changed)
            }

            async fn set_tenant_retention(&self, tenant: &TenantId, retention_days: Option<u32>, actor: &str) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin tenant retention")?;
                    let found: Option<String> = sqlx::query_scalar($sql::SET_TENANT_RETENTION)
                        .bind(tenant.as_ref())
                        .bind(retention_days.map(i64::from))
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "set tenant retention")?;
                    if found.is_none() {
                        return Err(StoreError::NotFound { what: "tenant", id: tenant.to_string() });
                    }
                    let detail = match retention_days {
                        Some(d) => format!("{d} days"),
                        None => "node default".into(),
                    };
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "tenant.retention".into(), subject: tenant.to_string(), detail }, now).await?;
                    tx.commit().await.db($backend, "commit tenant retention")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn connections(&self, tenant: &TenantId) -> Result<Vec<Connection>> {
                let rows = sqlx::query(
                    "SELECT id, system, endpoint, credentials_ref, limits, options FROM connections WHERE tenant_id = $1 ORDER BY id",
                )
                .bind(tenant.as_ref())
                .fetch_all(&self.pool)
                .await
                .db($backend, "read connections")?;
                let c = "read connections";
                rows.iter()
                    .map(|r| {
                        let id: String = r.try_get(0).db($backend, c)?;
                        let limits: String = r.try_get(4).db($backend, c)?;
                        let options: String = r.try_get(5).db($backend, c)?;
                        let what = format!("connection {id}");
                        Ok(Connection {
                            tenant: tenant.clone(),
                            id: connection_of(Some(id), &what)?.ok_or_else(|| StoreError::Corrupt { what: what.clone(), detail: "no id".into() })?,
                            system: r.try_get(1).db($backend, c)?,
                            endpoint: r.try_get(2).db($backend, c)?,
                            credentials_ref: r.try_get(3).db($backend, c)?,
                            limits: serde_json::from_str(&limits)
                                .map_err(|e| StoreError::Corrupt { what: format!("limits of {what}"), detail: e.to_string() })?,
                            options: serde_json::from_str(&options)
                                .map_err(|e| StoreError::Corrupt { what: format!("options of {what}"), detail: e.to_string() })?,
                        })
                    })
                    .collect()
            }

            async fn accept_event(&self, event: &NewEvent, jobs: &[NewJob]) -> Result<Accepted> {
                let result: Result<Accepted> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin accept")?;
                    let inserted: Option<i64> = sqlx::query_scalar($sql::INSERT_EVENT)
                        .bind(event.tenant.as_ref())
                        .bind(event.connection.as_ref())
                        .bind(&event.dedupe_key)
                        .bind(&event.event_type)
                        .bind($crate::sql_store::seal_payload(self.payload_key.as_deref(), &event.tenant, event.payload.to_string())?)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "store event")?;
                    let accepted = match inserted {
                        Some(id) => {
                            insert_jobs(&mut tx, jobs, self.payload_key.as_deref()).await?;
                            Accepted { event: EventId(id), new: true }
                        }
                        None => {
                            let id: i64 = sqlx::query_scalar("SELECT id FROM inbox WHERE tenant_id = $1 AND dedupe_key = $2")
                                .bind(event.tenant.as_ref())
                                .bind(&event.dedupe_key)
                                .fetch_one(&mut *tx)
                                .await
                                .db($backend, "find stored event")?;
                            Accepted { event: EventId(id), new: false }
                        }
                    };
                    tx.commit().await.db($backend, "commit accept")?;
                    if accepted.new {
                        self.wakeups.jobs_written();
                    }
                    Ok(accepted)
                }
                .await;
                self.health.note(result, |a| a.new)
            }

            async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Option<JobId>>> {
                let result: Result<Vec<Option<JobId>>> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin enqueue")?;
                    let ids = insert_jobs(&mut tx, jobs, self.payload_key.as_deref()).await?;
                    tx.commit().await.db($backend, "commit enqueue")?;
                    self.wakeups.jobs_written();
                    Ok(ids)
                }
                .await;
                self.health.note(result, |ids| ids.iter().any(Option::is_some))
            }

            async fn enqueue_with_cursor(&self, jobs: &[NewJob], cursor: &CursorUpdate) -> Result<Vec<Option<JobId>>> {
                let result: Result<Vec<Option<JobId>>> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin enqueue")?;
                    let ids = insert_jobs(&mut tx, jobs, self.payload_key.as_deref()).await?;
                    upsert_cursor(&mut tx, cursor, now_micros()).await?;
                    tx.commit().await.db($backend, "commit enqueue")?;
                    self.wakeups.jobs_written();
                    Ok(ids)
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn claim(&self, owner: &str, limit: u32, lease: std::time::Duration) -> Result<Vec<Job>> {
                let result: Result<Vec<Job>> = async {
                    let now = now_micros();
                    let until = micros_after(now, lease);
                    // Tenants share the workers: with several tenants due, each gets an equal
                    // share of the claim, starting from a tenant that moves on each time, so a
                    // backlog of one never delays another's new job by more than one claim.
                    let tenants = match self.tenants.fresh(now) {
                        Some(t) => t,
                        None => {
                            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
                                .fetch_one(&self.pool)
                                .await
                                .db($backend, "count tenants")?;
                            let disabled: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE status = 'disabled'")
                                .fetch_all(&self.pool)
                                .await
                                .db($backend, "read disabled tenants")?;
                            let t = $crate::tenant_count::Tenants { count: n.max(0).unsigned_abs(), disabled: disabled.into() };
                            self.tenants.set(now, &t);
                            t
                        }
                    };
                    // A disabled tenant's jobs stay queued: with any tenant disabled, every
                    // claim goes tenant by tenant over the enabled ones that have work.
                    let some_disabled = !tenants.disabled.is_empty();
                    let due: Vec<String> = if tenants.count <= 1 && !some_disabled {
                        Vec::new()
                    } else {
                        let due: Vec<String> = sqlx::query_scalar($sql::DUE_TENANTS)
                            .bind(now)
                            .fetch_all(&self.pool)
                            .await
                            .db($backend, "find due tenants")?;
                        due.into_iter().filter(|t| !tenants.disabled.contains(t)).collect()
                    };
                    let mut rows = Vec::new();
                    if due.len() <= 1 && !some_disabled {
                        rows = sqlx::query($sql::CLAIM)
                            .bind(owner)
                            .bind(until)
                            .bind(now)
                            .bind(i64::from(limit))
                            .fetch_all(&self.pool)
                            .await
                            .db($backend, "claim jobs")?;
                    } else if !due.is_empty() {
                        // Rounds of equal shares; a tenant that could not fill its share
                        // drops out, and the rest share what is left.
                        let start = (now.unsigned_abs() / 1000) as usize % due.len();
                        let mut hungry: Vec<&String> = due.iter().cycle().skip(start).take(due.len()).collect();
                        while !hungry.is_empty() && (rows.len() as u32) < limit {
                            let share = (limit - rows.len() as u32).div_ceil(hungry.len() as u32);
                            let mut still = Vec::with_capacity(hungry.len());
                            for tenant in hungry {
                                let want = share.min(limit - rows.len() as u32);
                                if want == 0 {
                                    break;
                                }
                                let got = sqlx::query($sql::CLAIM_TENANT)
                                    .bind(owner)
                                    .bind(until)
                                    .bind(now)
                                    .bind(i64::from(want))
                                    .bind(tenant)
                                    .fetch_all(&self.pool)
                                    .await
                                    .db($backend, "claim jobs")?;
                                if got.len() as u32 == want {
                                    still.push(tenant);
                                }
                                rows.extend(got);
                            }
                            hungry = still;
                        }
                    }
                    let mut jobs = rows.iter().map(|r| job_from_row(r, self.payload_key.as_deref())).collect::<Result<Vec<_>>>()?;
                    jobs.sort_by_key(|j| (j.run_at, j.id));
                    Ok(jobs)
                }
                .await;
                self.health.note(result, |jobs| !jobs.is_empty())
            }

            async fn heartbeat(&self, owner: &str, jobs: &[JobId], lease: std::time::Duration) -> Result<u64> {
                let result: Result<u64> = async {
                    if jobs.is_empty() {
                        return Ok(0);
                    }
                    let until = micros_after(now_micros(), lease);
                    let extended: Vec<i64> = sqlx::query_scalar($sql::HEARTBEAT)
                        .bind(ids_json(jobs.iter().copied()))
                        .bind(owner)
                        .bind(until)
                        .fetch_all(&self.pool)
                        .await
                        .db($backend, "extend leases")?;
                    Ok(extended.len() as u64)
                }
                .await;
                self.health.note(result, |n| *n > 0)
            }

            async fn complete(&self, owner: &str, outcomes: &[Completion]) -> Result<Vec<bool>> {
                let result: Result<Vec<bool>> = async {
                    if outcomes.is_empty() {
                        return Ok(Vec::new());
                    }
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin complete")?;
                    // The common case, completions without effects, is one statement for the batch.
                    let plain: std::collections::HashSet<JobId> = outcomes
                        .iter()
                        .filter(|c| c.trace.is_empty() && matches!(&c.outcome, Outcome::Completed { xrefs, cursor: None, echoes, covers_earlier: false } if xrefs.is_empty() && echoes.is_empty()))
                        .map(|c| c.job)
                        .collect();
                    // Lock the batch's rows in id order first (PostgreSQL; SQLite has one
                    // writer), so outcomes applied one by one never lock in a different order
                    // than another statement over the same jobs.
                    if let Some(lock) = $sql::LOCK_JOBS && plain.len() < outcomes.len() {
                        sqlx::query(lock)
                            .bind(ids_json(outcomes.iter().map(|c| c.job)))
                            .execute(&mut *tx)
                            .await
                            .db($backend, "lock jobs")?;
                    }
                    // The hourly counters change in the same transaction as the jobs they count.
                    let mut counts = CountChanges::default();
                    let mut done_plain = std::collections::HashSet::new();
                    if !plain.is_empty() {
                        let done: Vec<(i64, String, String, i64)> = sqlx::query_as($sql::COMPLETE_JOBS)
                            .bind(ids_json(plain.iter().copied()))
                            .bind(owner)
                            .bind(now)
                            .fetch_all(&mut *tx)
                            .await
                            .db($backend, "complete jobs")?;
                        for (id, tenant, flow, created_at) in done {
                            counts.completed(&tenant, &flow, created_at, now);
                            done_plain.insert(JobId(id));
                        }
                    }
                    let mut applied = Vec::with_capacity(outcomes.len());
                    for c in outcomes {
                        if plain.contains(&c.job) {
                            applied.push(done_plain.contains(&c.job));
                        } else {
                            applied.push(apply_outcome(&mut tx, owner, c, now, &mut counts).await?);
                        }
                    }
                    if !counts.is_empty() {
                        sqlx::query($sql::ADD_FLOW_COUNTS)
                            .bind(counts.json())
                            .bind(now.div_euclid(HOUR) * HOUR)
                            .execute(&mut *tx)
                            .await
                            .db($backend, "count finished jobs")?;
                    }
                    tx.commit().await.db($backend, "commit outcomes")?;
                    if plain.len() < outcomes.len() {
                        // Retries and follow-up jobs may be runnable now.
                        self.wakeups.jobs_written();
                    }
                    Ok(applied)
                }
                .await;
                self.health.note(result, |applied| applied.contains(&true))
            }

            async fn recover_expired_leases(&self) -> Result<u64> {
                let result: Result<u64> = async {
                    Ok(sqlx::query($sql::RECOVER_LEASES)
                        .bind(now_micros())
                        .execute(&self.pool)
                        .await
                        .db($backend, "recover expired leases")?
                        .rows_affected())
                }
                .await;
                self.health.note(result, |n| *n > 0)
            }

            async fn job(&self, id: JobId) -> Result<Option<Job>> {
                let row = sqlx::query(concat!("SELECT ", $crate::sql_store::job_cols!(), " FROM jobs WHERE id = $1"))
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .db($backend, "read job")?;
                row.as_ref().map(|r| job_from_row(r, self.payload_key.as_deref())).transpose()
            }

            async fn queue_stats_of(&self, tenant: Option<&TenantId>) -> Result<QueueStats> {
                let now = now_micros();
                let query = match tenant {
                    Some(t) => sqlx::query($sql::QUEUE_STATS_OF).bind(now).bind(t.as_ref()),
                    None => sqlx::query($sql::QUEUE_STATS_ALL).bind(now),
                };
                let rows = query.fetch_all(&self.pool).await.db($backend, "count jobs")?;
                let mut s = QueueStats::default();
                for r in &rows {
                    let bucket: String = r.try_get(0).db($backend, "count jobs")?;
                    let n = r.try_get::<Option<i64>, _>(1).db($backend, "count jobs")?;
                    let n = u64::try_from(n.unwrap_or(0)).unwrap_or(0);
                    match bucket.as_str() {
                        "ready" => s.ready = n,
                        "scheduled" => s.scheduled = n,
                        "running" => s.running = n,
                        "expired" => s.expired_leases = n,
                        "completed" => s.completed = n,
                        "dead" => s.dead = n,
                        "dead_letters_open" => s.dead_letters_open = n,
                        _ => {}
                    }
                }
                Ok(s)
            }

            async fn flow_hourly_counts(&self, tenant: &TenantId, since: jiff::Timestamp) -> Result<Vec<FlowHourCount>> {
                let since = to_micros(since).div_euclid(HOUR).saturating_mul(HOUR);
                let rows = sqlx::query($sql::FLOW_HOURLY_COUNTS)
                    .bind(tenant.as_ref())
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await
                    .db($backend, "count finished jobs per hour")?;
                let count = |r: &Row, i: usize| -> Result<u64> {
                    let n: Option<i64> = r.try_get(i).db($backend, "count finished jobs per hour")?;
                    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
                };
                rows.iter()
                    .map(|r| {
                        Ok(FlowHourCount {
                            flow: r.try_get(0).db($backend, "count finished jobs per hour")?,
                            hour: from_micros(r.try_get(1).db($backend, "count finished jobs per hour")?),
                            completed: count(r, 2)?,
                            covered: count(r, 3)?,
                            dead: count(r, 4)?,
                        })
                    })
                    .collect()
            }

            async fn flow_latency(&self, tenant: &TenantId, since: jiff::Timestamp) -> Result<Vec<FlowLatency>> {
                let c = "read latency counters";
                let since = to_micros(since).div_euclid(HOUR).saturating_mul(HOUR);
                let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as($sql::FLOW_LATENCY)
                    .bind(tenant.as_ref())
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await
                    .db($backend, c)?;
                let mut flows: Vec<FlowLatency> = Vec::new();
                for (flow, kind, n) in rows {
                    let Some(bucket) = latency_bucket(&kind) else { continue };
                    if flows.last().is_none_or(|l| l.flow != flow) {
                        flows.push(FlowLatency { flow, buckets: vec![0; LATENCY_BOUNDS_MS.len() + 1] });
                    }
                    if let Some(last) = flows.last_mut() {
                        last.buckets[bucket] += u64::try_from(n.unwrap_or(0)).unwrap_or(0);
                    }
                }
                Ok(flows)
            }

            async fn dead_letters(&self, tenant: &TenantId, open_only: bool, limit: u32) -> Result<Vec<DeadLetter>> {
                let rows = sqlx::query(concat!(
                    "SELECT ", $crate::sql_store::dead_letter_cols!(),
                    " FROM dead_letters WHERE tenant_id = $1 AND ($2 = 0 OR status = 'open') ORDER BY id DESC LIMIT $3"
                ))
                .bind(tenant.as_ref())
                .bind(i64::from(open_only))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .db($backend, "list dead letters")?;
                rows.iter().map(|r| dead_letter_from_row(r, self.payload_key.as_deref())).collect()
            }

            async fn dead_letter(&self, tenant: &TenantId, id: DeadLetterId) -> Result<Option<DeadLetter>> {
                let row = sqlx::query(concat!("SELECT ", $crate::sql_store::dead_letter_cols!(), " FROM dead_letters WHERE id = $1 AND tenant_id = $2"))
                    .bind(id.0)
                    .bind(tenant.as_ref())
                    .fetch_optional(&self.pool)
                    .await
                    .db($backend, "read dead letter")?;
                row.as_ref().map(|r| dead_letter_from_row(r, self.payload_key.as_deref())).transpose()
            }

            async fn replay_dead_letter(&self, tenant: &TenantId, id: DeadLetterId, edited: Option<&serde_json::Value>, actor: &str) -> Result<JobId> {
                let result: Result<JobId> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin replay")?;
                    let row = sqlx::query(concat!("SELECT ", $crate::sql_store::dead_letter_cols!(), " FROM dead_letters WHERE id = $1 AND tenant_id = $2"))
                        .bind(id.0)
                        .bind(tenant.as_ref())
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "read dead letter")?;
                    let dl = row.as_ref().map(|r| dead_letter_from_row(r, self.payload_key.as_deref())).transpose()?.ok_or_else(|| StoreError::NotFound { what: "dead letter", id: id.to_string() })?;
                    if dl.status != DeadLetterStatus::Open {
                        return Err(StoreError::Conflict { what: "dead letter", id: id.to_string(), reason: format!("already {}", dl.status.as_str()) });
                    }
                    let original = sqlx::query(concat!("SELECT ", $crate::sql_store::job_cols!(), " FROM jobs WHERE id = $1"))
                        .bind(dl.job.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "read dead job")?;
                    let original = original.as_ref().map(|r| job_from_row(r, self.payload_key.as_deref())).transpose()?;
                    // A payload this store cannot open (opened without the node's key) is
                    // copied to the new job as it is stored, still sealed.
                    let copy_sealed = edited.is_none() && $crate::secrets::is_sealed_payload(&dl.payload);
                    let payload = match edited {
                        Some(p) => p.clone(),
                        None if copy_sealed => serde_json::Value::Null,
                        None => serde_json::from_str(&dl.payload).map_err(|e| StoreError::Corrupt {
                            what: format!("payload of dead letter {id}"),
                            detail: format!("{e}; replay it with an edited payload"),
                        })?,
                    };
                    let mut job = NewJob::new(dl.tenant.clone(), dl.flow.clone(), payload);
                    if let Some(o) = &original {
                        job.connection = o.connection.clone();
                        job.max_attempts = o.max_attempts;
                    job.record = o.record.clone();
                    }
                    let new_id = insert_jobs(&mut tx, std::slice::from_ref(&job), self.payload_key.as_deref()).await?
                        .into_iter()
                        .next()
                        .flatten()
                        .ok_or_else(|| StoreError::Conflict { what: "dead letter", id: id.to_string(), reason: "replay job was not inserted".into() })?;
                    if copy_sealed {
                        sqlx::query("UPDATE jobs SET payload = (SELECT payload FROM dead_letters WHERE id = $2) WHERE id = $1")
                            .bind(new_id.0)
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await
                            .db($backend, "copy dead letter payload")?;
                    }
                    sqlx::query("UPDATE dead_letters SET status = 'replayed', replay_job_id = $2, resolved_at = $3, resolved_by = $4 WHERE id = $1")
                        .bind(id.0)
                        .bind(new_id.0)
                        .bind(now)
                        .bind(actor)
                        .execute(&mut *tx)
                        .await
                        .db($backend, "mark dead letter replayed")?;
                    let detail = if edited.is_some() { format!("as job {new_id}, payload edited") } else { format!("as job {new_id}") };
                    insert_audit(&mut tx, &AuditEntry { tenant: dl.tenant.clone(), actor: actor.into(), action: "dlq.replay".into(), subject: format!("dead letter {id}"), detail }, now).await?;
                    tx.commit().await.db($backend, "commit replay")?;
                    self.wakeups.jobs_written();
                    Ok(new_id)
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn discard_dead_letter(&self, tenant: &TenantId, id: DeadLetterId, actor: &str) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin discard")?;
                    let tenant: Option<(String, String)> = sqlx::query_as("SELECT tenant_id, status FROM dead_letters WHERE id = $1 AND tenant_id = $2")
                        .bind(id.0)
                        .bind(tenant.as_ref())
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "read dead letter")?;
                    let (tenant, status) = tenant.ok_or_else(|| StoreError::NotFound { what: "dead letter", id: id.to_string() })?;
                    if status != "open" {
                        return Err(StoreError::Conflict { what: "dead letter", id: id.to_string(), reason: format!("already {status}") });
                    }
                    sqlx::query("UPDATE dead_letters SET status = 'discarded', resolved_at = $2, resolved_by = $3 WHERE id = $1")
                        .bind(id.0)
                        .bind(now)
                        .bind(actor)
                        .execute(&mut *tx)
                        .await
                        .db($backend, "discard dead letter")?;
                    let tenant = tenant_of(tenant, "dead_letters.tenant_id")?;
                    insert_audit(&mut tx, &AuditEntry { tenant, actor: actor.into(), action: "dlq.discard".into(), subject: format!("dead letter {id}"), detail: String::new() }, now).await?;
                    tx.commit().await.db($backend, "commit discard")?;
                    Ok(())
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn xref(&self, k: &XrefKey) -> Result<Option<String>> {
                sqlx::query_scalar(
                    "SELECT target_id FROM xref WHERE tenant_id = $1 AND source_system = $2 AND source_entity = $3 \
                     AND source_id = $4 AND target_system = $5 AND target_entity = $6",
                )
                .bind(k.tenant.as_ref())
                .bind(&k.source_system)
                .bind(&k.source_entity)
                .bind(&k.source_id)
                .bind(&k.target_system)
                .bind(&k.target_entity)
                .fetch_optional(&self.pool)
                .await
                .db($backend, "read xref")
            }

            async fn put_xref(&self, x: &Xref) -> Result<()> {
                let result: Result<()> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin xref")?;
                    upsert_xref(&mut tx, x, now_micros()).await?;
                    tx.commit().await.db($backend, "commit xref")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn cursor(&self, tenant: &TenantId, name: &str) -> Result<Option<String>> {
                sqlx::query_scalar("SELECT value FROM cursors WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant.as_ref())
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .db($backend, "read cursor")
            }

            async fn echo_hash(&self, k: &EchoKey) -> Result<Option<String>> {
                sqlx::query_scalar(
                    "SELECT hash FROM echo WHERE tenant_id = $1 AND system = $2 AND entity = $3 AND record_id = $4 AND direction = $5",
                )
                .bind(k.tenant.as_ref())
                .bind(&k.system)
                .bind(&k.entity)
                .bind(&k.record_id)
                .bind(&k.direction)
                .fetch_optional(&self.pool)
                .await
                .db($backend, "read echo hash")
            }

            async fn runs_for_job(&self, job: JobId) -> Result<Vec<RunRecord>> {
                let rows = sqlx::query("SELECT record, step, outcome, message, at FROM runs WHERE job_id = $1 ORDER BY id")
                    .bind(job.0)
                    .fetch_all(&self.pool)
                    .await
                    .db($backend, "read runs")?;
                rows.iter()
                    .map(|r| {
                        Ok(RunRecord {
                            record: r.try_get(0).db($backend, "read runs")?,
                            step: r.try_get(1).db($backend, "read runs")?,
                            outcome: r.try_get(2).db($backend, "read runs")?,
                            message: r.try_get(3).db($backend, "read runs")?,
                            at: from_micros(r.try_get(4).db($backend, "read runs")?),
                        })
                    })
                    .collect()
            }

            async fn record_runs(&self, tenant: &TenantId, id: &str, limit: u32) -> Result<Vec<TraceRow>> {
                let c = "read record trace";
                // The record key's last ':'-separated part: `id`'s own, whatever `id` is.
                let last_part = id.rsplit(':').next().unwrap_or(id);
                let rows = sqlx::query($sql::RECORD_RUNS)
                    .bind(tenant.as_ref())
                    .bind(id)
                    .bind(i64::from(limit))
                    .bind(last_part)
                    .fetch_all(&self.pool)
                    .await
                    .db($backend, c)?;
                rows.iter()
                    .map(|r| {
                        Ok(TraceRow {
                            job: JobId(r.try_get(0).db($backend, c)?),
                            flow: r.try_get(1).db($backend, c)?,
                            run: RunRecord {
                                record: r.try_get(2).db($backend, c)?,
                                step: r.try_get(3).db($backend, c)?,
                                outcome: r.try_get(4).db($backend, c)?,
                                message: r.try_get(5).db($backend, c)?,
                                at: from_micros(r.try_get(6).db($backend, c)?),
                            },
                        })
                    })
                    .collect()
            }

            async fn xrefs_of(&self, tenant: &TenantId, id: &str) -> Result<Vec<Xref>> {
                let c = "read xrefs";
                let rows = sqlx::query(
                    "SELECT source_system, source_entity, source_id, target_system, target_entity, target_id FROM xref \
                     WHERE tenant_id = $1 AND (source_id = $2 OR target_id = $2) ORDER BY updated_at",
                )
                .bind(tenant.as_ref())
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .db($backend, c)?;
                rows.iter()
                    .map(|r| {
                        Ok(Xref {
                            key: XrefKey {
                                tenant: tenant.clone(),
                                source_system: r.try_get(0).db($backend, c)?,
                                source_entity: r.try_get(1).db($backend, c)?,
                                source_id: r.try_get(2).db($backend, c)?,
                                target_system: r.try_get(3).db($backend, c)?,
                                target_entity: r.try_get(4).db($backend, c)?,
                            },
                            target_id: r.try_get(5).db($backend, c)?,
                        })
                    })
                    .collect()
            }

            async fn audit(&self, e: &AuditEntry) -> Result<()> {
                let result: Result<()> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin audit")?;
                    insert_audit(&mut tx, e, now_micros()).await?;
                    tx.commit().await.db($backend, "commit audit")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn audit_log(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditRow>> {
                let rows = sqlx::query("SELECT at, actor, action, subject, detail FROM audit WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2")
                    .bind(tenant.as_ref())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .db($backend, "read audit")?;
                let c = "read audit";
                rows.iter()
                    .map(|r| {
                        Ok(AuditRow {
                            at: from_micros(r.try_get(0).db($backend, c)?),
                            entry: AuditEntry {
                                tenant: tenant.clone(),
                                actor: r.try_get(1).db($backend, c)?,
                                action: r.try_get(2).db($backend, c)?,
                                subject: r.try_get(3).db($backend, c)?,
                                detail: r.try_get(4).db($backend, c)?,
                            },
                        })
                    })
                    .collect()
            }

            async fn add_alert_rule(&self, tenant: &TenantId, rule: &str, shown: &str, actor: &str) -> Result<i64> {
                let result: Result<i64> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin add alert rule")?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO alert_rules (tenant_id, rule, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .bind(tenant.as_ref())
                    // Sealed like payloads: a rule's webhook URL is a secret.
                    .bind($crate::sql_store::seal_payload(self.payload_key.as_deref(), tenant, rule.to_owned())?)
                    .bind(actor)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .db($backend, "add alert rule")?;
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "alert.add".into(), subject: format!("alert rule {id}"), detail: shown.to_owned() }, now).await?;
                    tx.commit().await.db($backend, "commit add alert rule")?;
                    Ok(id)
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn alert_rules(&self, tenant: &TenantId) -> Result<Vec<AlertRuleRow>> {
                let rows: Vec<(i64, String, String, i64)> =
                    sqlx::query_as("SELECT id, rule, created_by, created_at FROM alert_rules WHERE tenant_id = $1 ORDER BY id")
                        .bind(tenant.as_ref())
                        .fetch_all(&self.pool)
                        .await
                        .db($backend, "list alert rules")?;
                Ok(rows
                    .into_iter()
                    .map(|(id, rule, created_by, created_at)| AlertRuleRow {
                        id,
                        tenant: tenant.clone(),
                        rule: $crate::sql_store::open_payload(self.payload_key.as_deref(), tenant, rule),
                        created_by,
                        created_at: from_micros(created_at),
                    })
                    .collect())
            }

            async fn remove_alert_rule(&self, tenant: &TenantId, id: i64, actor: &str) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin remove alert rule")?;
                    let removed: Option<i64> = sqlx::query_scalar("DELETE FROM alert_rules WHERE tenant_id = $1 AND id = $2 RETURNING id")
                        .bind(tenant.as_ref())
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "remove alert rule")?;
                    if removed.is_none() {
                        return Err(StoreError::NotFound { what: "alert rule", id: id.to_string() });
                    }
                    sqlx::query("UPDATE alert_episodes SET ended_at = $3 WHERE tenant_id = $1 AND rule_id = $2 AND ended_at IS NULL")
                        .bind(tenant.as_ref())
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .db($backend, "end alert episodes")?;
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "alert.remove".into(), subject: format!("alert rule {id}"), detail: String::new() }, now).await?;
                    tx.commit().await.db($backend, "commit remove alert rule")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn alert_episode(&self, tenant: &TenantId, rule: i64, subject: &str, now: jiff::Timestamp) -> Result<AlertEpisode> {
                let result: Result<AlertEpisode> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin alert episode")?;
                    sqlx::query(
                        "INSERT INTO alert_episodes (tenant_id, rule_id, subject, started_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (tenant_id, rule_id, subject) WHERE ended_at IS NULL DO NOTHING",
                    )
                    .bind(tenant.as_ref())
                    .bind(rule)
                    .bind(subject)
                    .bind(to_micros(now))
                    .execute(&mut *tx)
                    .await
                    .db($backend, "open alert episode")?;
                    let (id, started, fired): (i64, i64, Option<i64>) = sqlx::query_as(
                        "SELECT id, started_at, fired_at FROM alert_episodes \
                         WHERE tenant_id = $1 AND rule_id = $2 AND subject = $3 AND ended_at IS NULL",
                    )
                    .bind(tenant.as_ref())
                    .bind(rule)
                    .bind(subject)
                    .fetch_one(&mut *tx)
                    .await
                    .db($backend, "read alert episode")?;
                    tx.commit().await.db($backend, "commit alert episode")?;
                    Ok(AlertEpisode { id, started_at: from_micros(started), fired_at: fired.map(from_micros) })
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn mark_alert_fired(&self, episode: i64, now: jiff::Timestamp) -> Result<bool> {
                let n = sqlx::query("UPDATE alert_episodes SET fired_at = $2 WHERE id = $1 AND fired_at IS NULL")
                    .bind(episode)
                    .bind(to_micros(now))
                    .execute(&self.pool)
                    .await
                    .db($backend, "mark alert fired")?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn unmark_alert_fired(&self, episode: i64) -> Result<()> {
                sqlx::query("UPDATE alert_episodes SET fired_at = NULL WHERE id = $1")
                    .bind(episode)
                    .execute(&self.pool)
                    .await
                    .db($backend, "unmark alert fired")?;
                Ok(())
            }

            async fn end_alert_episodes(&self, tenant: &TenantId, rule: i64, holding: &[String], now: jiff::Timestamp) -> Result<()> {
                let open: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT id, subject FROM alert_episodes WHERE tenant_id = $1 AND rule_id = $2 AND ended_at IS NULL",
                )
                .bind(tenant.as_ref())
                .bind(rule)
                .fetch_all(&self.pool)
                .await
                .db($backend, "read alert episodes")?;
                for (id, subject) in open {
                    if holding.contains(&subject) {
                        continue;
                    }
                    sqlx::query("UPDATE alert_episodes SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                        .bind(id)
                        .bind(to_micros(now))
                        .execute(&self.pool)
                        .await
                        .db($backend, "end alert episode")?;
                }
                Ok(())
            }

            async fn add_flow_version(&self, tenant: &TenantId, flow: &str, text: &str, note: &str, activate: Activate, actor: &str) -> Result<(i64, bool)> {
                let result: Result<(i64, bool)> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin add flow version")?;
                    // Two nodes importing the same file at once: the second waits here, then
                    // finds the first's version of the text and adds none.
                    if let Some(lock) = $sql::LOCK_FLOW {
                        sqlx::query(lock).bind(tenant.as_ref()).bind(flow).execute(&mut *tx).await.db($backend, "lock flow versions")?;
                    }
                    let kept: Vec<(i64, String)> = sqlx::query_as(
                        "SELECT version, text FROM flow_versions WHERE tenant_id = $1 AND flow = $2 ORDER BY version",
                    )
                    .bind(tenant.as_ref())
                    .bind(flow)
                    .fetch_all(&mut *tx)
                    .await
                    .db($backend, "read flow versions")?;
                    let (version, new) = match kept.iter().find(|(_, t)| t == text) {
                        Some((v, _)) => (*v, false),
                        None => {
                            let next = kept.last().map_or(1, |(v, _)| v + 1);
                            sqlx::query(
                                "INSERT INTO flow_versions (tenant_id, flow, version, text, note, created_by, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind(tenant.as_ref())
                            .bind(flow)
                            .bind(next)
                            .bind(text)
                            .bind(note)
                            .bind(actor)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .db($backend, "add flow version")?;
                            insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "flow.version".into(), subject: format!("flow {flow}"), detail: format!("version {next}: {note}") }, now).await?;
                            (next, true)
                        }
                    };
                    let runs = match activate {
                        Activate::Always => true,
                        Activate::IfNew => new,
                        Activate::Never => false,
                    };
                    if runs {
                        let before: Option<i64> = sqlx::query_scalar("SELECT active FROM flow_heads WHERE tenant_id = $1 AND flow = $2")
                            .bind(tenant.as_ref())
                            .bind(flow)
                            .fetch_optional(&mut *tx)
                            .await
                            .db($backend, "read flow head")?;
                        if before != Some(version) {
                            sqlx::query(
                                "INSERT INTO flow_heads (tenant_id, flow, active, paused, shadow, changed_by, changed_at) \
                                 VALUES ($1, $2, $3, 0, NULL, $4, $5) ON CONFLICT (tenant_id, flow) DO UPDATE SET \
                                 active = excluded.active, changed_by = excluded.changed_by, changed_at = excluded.changed_at, \
                                 shadow = CASE WHEN flow_heads.shadow = excluded.active THEN NULL ELSE flow_heads.shadow END",
                            )
                            .bind(tenant.as_ref())
                            .bind(flow)
                            .bind(version)
                            .bind(actor)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .db($backend, "activate flow version")?;
                            let from = before.map_or_else(|| "none".to_owned(), |v| format!("version {v}"));
                            insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "flow.activate".into(), subject: format!("flow {flow}"), detail: format!("runs {from} → version {version}") }, now).await?;
                        }
                    }
                    tx.commit().await.db($backend, "commit add flow version")?;
                    Ok((version, new))
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn flow_versions(&self, tenant: &TenantId, flow: Option<&str>) -> Result<Vec<FlowVersionRow>> {
                let rows: Vec<(String, i64, String, String, String, i64)> = sqlx::query_as(
                    "SELECT flow, version, text, note, created_by, created_at FROM flow_versions \
                     WHERE tenant_id = $1 AND ($2 IS NULL OR flow = $2) ORDER BY flow, version DESC",
                )
                .bind(tenant.as_ref())
                .bind(flow)
                .fetch_all(&self.pool)
                .await
                .db($backend, "list flow versions")?;
                Ok(rows
                    .into_iter()
                    .map(|(flow, version, text, note, created_by, created_at)| FlowVersionRow {
                        flow,
                        version,
                        text,
                        note,
                        created_by,
                        created_at: from_micros(created_at),
                    })
                    .collect())
            }

            async fn flow_heads(&self, tenant: &TenantId) -> Result<Vec<FlowHead>> {
                let rows: Vec<(String, i64, i64, Option<i64>, String, i64)> = sqlx::query_as(
                    "SELECT flow, active, paused, shadow, changed_by, changed_at FROM flow_heads WHERE tenant_id = $1 ORDER BY flow",
                )
                .bind(tenant.as_ref())
                .fetch_all(&self.pool)
                .await
                .db($backend, "list flow heads")?;
                Ok(rows
                    .into_iter()
                    .map(|(flow, active, paused, shadow, changed_by, changed_at)| FlowHead {
                        flow,
                        active,
                        paused: paused != 0,
                        shadow,
                        changed_by,
                        changed_at: from_micros(changed_at),
                    })
                    .collect())
            }

            async fn set_flow_head(&self, tenant: &TenantId, flow: &str, change: FlowHeadChange, actor: &str) -> Result<FlowHead> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin set flow head")?;
                    let head: Option<(i64, i64, Option<i64>)> =
                        sqlx::query_as("SELECT active, paused, shadow FROM flow_heads WHERE tenant_id = $1 AND flow = $2")
                            .bind(tenant.as_ref())
                            .bind(flow)
                            .fetch_optional(&mut *tx)
                            .await
                            .db($backend, "read flow head")?;
                    let Some((active, paused, shadow)) = head else {
                        return Err(StoreError::NotFound { what: "flow", id: flow.to_owned() });
                    };
                    if let FlowHeadChange::Activate(v) | FlowHeadChange::Shadow(Some(v)) = change {
                        let exists: Option<i64> = sqlx::query_scalar(
                            "SELECT version FROM flow_versions WHERE tenant_id = $1 AND flow = $2 AND version = $3",
                        )
                        .bind(tenant.as_ref())
                        .bind(flow)
                        .bind(v)
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "read flow version")?;
                        if exists.is_none() {
                            return Err(StoreError::NotFound { what: "flow version", id: format!("{flow} version {v}") });
                        }
                    }
                    let shown = |v: Option<i64>| v.map_or_else(|| "none".to_owned(), |v| format!("version {v}"));
                    let (action, detail, (active, paused, shadow)) = match change {
                        FlowHeadChange::Activate(v) => (
                            "flow.activate",
                            format!("runs version {active} → version {v}"),
                            (v, paused, shadow.filter(|s| *s != v)),
                        ),
                        FlowHeadChange::Pause(true) => ("flow.pause", "running → paused".to_owned(), (active, 1, shadow)),
                        FlowHeadChange::Pause(false) => ("flow.resume", "paused → running".to_owned(), (active, 0, shadow)),
                        FlowHeadChange::Shadow(Some(v)) if v == active => {
                            return Err(StoreError::Conflict {
                                what: "flow",
                                id: flow.to_owned(),
                                reason: format!("version {v} is the one running; a shadow must be another version"),
                            });
                        }
                        FlowHeadChange::Shadow(s) => {
                            ("flow.shadow", format!("shadow {} → {}", shown(shadow), shown(s)), (active, paused, s))
                        }
                    };
                    sqlx::query(
                        "UPDATE flow_heads SET active = $3, paused = $4, shadow = $5, changed_by = $6, changed_at = $7 \
                         WHERE tenant_id = $1 AND flow = $2",
                    )
                    .bind(tenant.as_ref())
                    .bind(flow)
                    .bind(active)
                    .bind(paused)
                    .bind(shadow)
                    .bind(actor)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .db($backend, "set flow head")?;
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: action.into(), subject: format!("flow {flow}"), detail }, now).await?;
                    tx.commit().await.db($backend, "commit set flow head")
                }
                .await;
                self.health.note(result, |_| true)?;
                self.flow_heads(tenant)
                    .await?
                    .into_iter()
                    .find(|h| h.flow == flow)
                    .ok_or_else(|| StoreError::NotFound { what: "flow", id: flow.to_owned() })
            }

            async fn put_shadow_result(&self, tenant: &TenantId, flow: &str, version: i64, result: &ShadowResult) -> Result<()> {
                let written: Result<()> = async {
                    sqlx::query(
                        "INSERT INTO flow_shadow_results (tenant_id, flow, version, record, differing, diff, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, flow, version, record) DO UPDATE SET \
                         differing = excluded.differing, diff = excluded.diff, at = excluded.at",
                    )
                    .bind(tenant.as_ref())
                    .bind(flow)
                    .bind(version)
                    .bind(&result.record)
                    .bind(i64::from(result.differing))
                    .bind($crate::sql_store::seal_payload(self.payload_key.as_deref(), tenant, result.diff.clone())?)
                    .bind(to_micros(result.at))
                    .execute(&self.pool)
                    .await
                    .db($backend, "put shadow result")?;
                    Ok(())
                }
                .await;
                self.health.note(written, |_| true)
            }

            async fn shadow_report(&self, tenant: &TenantId, flow: &str, version: i64, limit: u32) -> Result<ShadowReport> {
                let (records, differing): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN differing > 0 THEN 1 ELSE 0 END), 0) FROM flow_shadow_results \
                     WHERE tenant_id = $1 AND flow = $2 AND version = $3",
                )
                .bind(tenant.as_ref())
                .bind(flow)
                .bind(version)
                .fetch_one(&self.pool)
                .await
                .db($backend, "count shadow results")?;
                let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
                    "SELECT record, differing, diff, at FROM flow_shadow_results WHERE tenant_id = $1 AND flow = $2 AND version = $3 \
                     ORDER BY CASE WHEN differing > 0 THEN 0 ELSE 1 END, at DESC, record LIMIT $4",
                )
                .bind(tenant.as_ref())
                .bind(flow)
                .bind(version)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .db($backend, "list shadow results")?;
                Ok(ShadowReport {
                    records: u64::try_from(records).unwrap_or(0),
                    differing_records: u64::try_from(differing).unwrap_or(0),
                    results: rows
                        .into_iter()
                        .map(|(record, differing, diff, at)| ShadowResult {
                            record,
                            differing: u32::try_from(differing).unwrap_or(u32::MAX),
                            diff: $crate::sql_store::open_payload(self.payload_key.as_deref(), tenant, diff),
                            at: from_micros(at),
                        })
                        .collect(),
                })
            }

            async fn put_flow_sample(&self, tenant: &TenantId, flow: &str, sample: &FlowSample) -> Result<()> {
                let written: Result<()> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin put flow sample")?;
                    sqlx::query(
                        "INSERT INTO flow_samples (tenant_id, flow, record, sample, at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (tenant_id, flow, record) DO UPDATE SET sample = excluded.sample, at = excluded.at",
                    )
                    .bind(tenant.as_ref())
                    .bind(flow)
                    .bind(&sample.record)
                    .bind($crate::sql_store::seal_payload(self.payload_key.as_deref(), tenant, sample.sample.clone())?)
                    .bind(to_micros(sample.at))
                    .execute(&mut *tx)
                    .await
                    .db($backend, "put flow sample")?;
                    sqlx::query(
                        "DELETE FROM flow_samples WHERE tenant_id = $1 AND flow = $2 AND record NOT IN \
                         (SELECT record FROM flow_samples WHERE tenant_id = $1 AND flow = $2 ORDER BY at DESC, record LIMIT $3)",
                    )
                    .bind(tenant.as_ref())
                    .bind(flow)
                    .bind(FLOW_SAMPLES)
                    .execute(&mut *tx)
                    .await
                    .db($backend, "trim flow samples")?;
                    tx.commit().await.db($backend, "commit put flow sample")
                }
                .await;
                self.health.note(written, |_| true)
            }

            async fn flow_samples(&self, tenant: &TenantId, flow: &str) -> Result<Vec<FlowSample>> {
                let rows: Vec<(String, String, i64)> = sqlx::query_as(
                    "SELECT record, sample, at FROM flow_samples WHERE tenant_id = $1 AND flow = $2 ORDER BY at DESC, record",
                )
                .bind(tenant.as_ref())
                .bind(flow)
                .fetch_all(&self.pool)
                .await
                .db($backend, "list flow samples")?;
                Ok(rows
                    .into_iter()
                    .map(|(record, sample, at)| FlowSample {
                        record,
                        sample: $crate::sql_store::open_payload(self.payload_key.as_deref(), tenant, sample),
                        at: from_micros(at),
                    })
                    .collect())
            }

            async fn wake_paused_jobs(&self, tenant: &TenantId, flows: &[String]) -> Result<u64> {
                let mut woken = 0;
                for flow in flows {
                    woken += sqlx::query(
                        "UPDATE jobs SET run_at = $3 WHERE tenant_id = $1 AND flow = $2 AND state = 'available' \
                         AND last_error_kind = 'deferred' AND last_error LIKE 'flow % is paused%'",
                    )
                    .bind(tenant.as_ref())
                    .bind(flow)
                    .bind(now_micros())
                    .execute(&self.pool)
                    .await
                    .db($backend, "wake paused jobs")?
                    .rows_affected();
                }
                Ok(woken)
            }

            async fn put_money_observations(&self, tenant: &TenantId, observations: &[MoneyObservation]) -> Result<()> {
                if observations.is_empty() {
                    return Ok(());
                }
                let written: Result<()> = async {
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin put money")?;
                    for o in observations {
                        sqlx::query(
                            "INSERT INTO money_observations (tenant_id, flow, field, per, key, currency, record, amount, at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, flow, field, key, record) \
                             DO UPDATE SET per = excluded.per, currency = excluded.currency, amount = excluded.amount, at = excluded.at",
                        )
                        .bind(tenant.as_ref())
                        .bind(&o.flow)
                        .bind(&o.field)
                        .bind(&o.per)
                        .bind(&o.key)
                        .bind(&o.currency)
                        .bind(&o.record)
                        .bind(&o.amount)
                        .bind(to_micros(o.at))
                        .execute(&mut *tx)
                        .await
                        .db($backend, "put money observation")?;
                    }
                    tx.commit().await.db($backend, "commit put money")
                }
                .await;
                self.health.note(written, |_| true)
            }

            async fn money_observations(&self, tenant: &TenantId, since: jiff::Timestamp) -> Result<Vec<MoneyObservation>> {
                let rows: Vec<(String, String, String, String, String, String, String, i64)> = sqlx::query_as(
                    "SELECT flow, field, per, key, currency, record, amount, at FROM money_observations \
                     WHERE tenant_id = $1 AND at >= $2 ORDER BY at, record",
                )
                .bind(tenant.as_ref())
                .bind(to_micros(since))
                .fetch_all(&self.pool)
                .await
                .db($backend, "list money observations")?;
                Ok(rows
                    .into_iter()
                    .map(|(flow, field, per, key, currency, record, amount, at)| MoneyObservation {
                        flow,
                        field,
                        per,
                        key,
                        currency,
                        record,
                        amount,
                        at: from_micros(at),
                    })
                    .collect())
            }

            async fn add_api_token(&self, token: &ApiTokenRow, actor: &str) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin add token")?;
                    let added: Option<String> = sqlx::query_scalar(
                        "INSERT INTO api_tokens (id, tenant_id, role, label, hash, created_by, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id",
                    )
                    .bind(&token.id)
                    .bind(token.tenant.as_ref())
                    .bind(&token.role)
                    .bind(&token.label)
                    .bind(&token.hash)
                    .bind(&token.created_by)
                    .bind(to_micros(token.created_at))
                    .bind(token.expires_at.map(to_micros))
                    .fetch_optional(&mut *tx)
                    .await
                    .db($backend, "add token")?;
                    if added.is_none() {
                        return Err(StoreError::Conflict { what: "token", id: token.id.clone(), reason: "already exists".into() });
                    }
                    let expires = token.expires_at.map_or_else(|| "never expires".to_owned(), |t| format!("expires {t}"));
                    let detail = format!("role {}, label {}, {expires}", token.role, token.label);
                    insert_audit(&mut tx, &AuditEntry { tenant: token.tenant.clone(), actor: actor.into(), action: "token.create".into(), subject: token.id.clone(), detail }, now).await?;
                    tx.commit().await.db($backend, "commit add token")?;
                    Ok(())
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn api_token(&self, id: &str) -> Result<Option<ApiTokenRow>> {
                let row = sqlx::query(concat!("SELECT ", $crate::sql_store::token_cols!(), " FROM api_tokens WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .db($backend, "read token")?;
                row.as_ref().map(|r| token_from_row(r, $backend)).transpose()
            }

            async fn api_tokens(&self, tenant: &TenantId) -> Result<Vec<ApiTokenRow>> {
                let rows = sqlx::query(concat!("SELECT ", $crate::sql_store::token_cols!(), " FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id"))
                    .bind(tenant.as_ref())
                    .fetch_all(&self.pool)
                    .await
                    .db($backend, "list tokens")?;
                rows.iter().map(|r| token_from_row(r, $backend)).collect()
            }

            async fn revoke_api_token(&self, tenant: &TenantId, id: &str, actor: &str) -> Result<bool> {
                let result: Result<bool> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin revoke token")?;
                    let revoked: Option<Option<i64>> = sqlx::query_scalar("SELECT revoked_at FROM api_tokens WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.as_ref())
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await
                        .db($backend, "read token")?;
                    match revoked {
                        None => return Err(StoreError::NotFound { what: "token", id: id.to_owned() }),
                        Some(Some(_)) => {
                            tx.commit().await.db($backend, "commit revoke token")?;
                            return Ok(false);
                        }
                        Some(None) => {}
                    }
                    sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.as_ref())
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .db($backend, "revoke token")?;
                    insert_audit(&mut tx, &AuditEntry { tenant: tenant.clone(), actor: actor.into(), action: "token.revoke".into(), subject: id.to_owned(), detail: String::new() }, now).await?;
                    tx.commit().await.db($backend, "commit revoke token")?;
                    Ok(true)
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn put_lookup(&self, tenant: &TenantId, table: &str, key: &str, value: &serde_json::Value) -> Result<()> {
                let result: Result<()> = async {
                    sqlx::query($sql::UPSERT_LOOKUP)
                        .bind(tenant.as_ref())
                        .bind(table)
                        .bind(key)
                        .bind(value.to_string())
                        .bind(now_micros())
                        .execute(&self.pool)
                        .await
                        .db($backend, "write lookup entry")?;
                    Ok(())
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn lookups(&self, tenant: &TenantId) -> Result<Vec<LookupEntry>> {
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT table_name, key, value FROM lookup_entries WHERE tenant_id = $1 ORDER BY table_name, key",
                )
                .bind(tenant.as_ref())
                .fetch_all(&self.pool)
                .await
                .db($backend, "read lookup entries")?;
                rows.into_iter()
                    .map(|(table, key, value)| {
                        let value = serde_json::from_str(&value).map_err(|e| StoreError::Corrupt {
                            what: format!("lookup entry {table}/{key}"),
                            detail: e.to_string(),
                        })?;
                        Ok(LookupEntry { table, key, value })
                    })
                    .collect()
            }

            async fn put_rate(&self, tenant: &TenantId, rate: &FxRate) -> Result<()> {
                let result: Result<()> = async {
                    sqlx::query($sql::UPSERT_RATE)
                        .bind(tenant.as_ref())
                        .bind(rate.from.to_string())
                        .bind(rate.to.to_string())
                        .bind(rate.rate.to_string())
                        .bind(now_micros())
                        .execute(&self.pool)
                        .await
                        .db($backend, "write exchange rate")?;
                    Ok(())
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn rates(&self, tenant: &TenantId) -> Result<Vec<FxRate>> {
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT from_currency, to_currency, rate FROM fx_rates WHERE tenant_id = $1 ORDER BY from_currency, to_currency",
                )
                .bind(tenant.as_ref())
                .fetch_all(&self.pool)
                .await
                .db($backend, "read exchange rates")?;
                rows.into_iter()
                    .map(|(from, to, rate)| {
                        let corrupt = |detail: String| StoreError::Corrupt { what: format!("exchange rate {from}->{to}"), detail };
                        Ok(FxRate {
                            from: from.parse().map_err(|e| corrupt(format!("{e}")))?,
                            to: to.parse().map_err(|e| corrupt(format!("{e}")))?,
                            rate: rate.parse().map_err(|e| corrupt(format!("{e}")))?,
                        })
                    })
                    .collect()
            }

            async fn record_breakers(&self, node: &str, states: &[(String, String)]) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin breakers")?;
                    sqlx::query("DELETE FROM breakers WHERE node_id = $1")
                        .bind(node)
                        .execute(&mut *tx)
                        .await
                        .db($backend, "clear breakers")?;
                    for (host, state) in states {
                        sqlx::query("INSERT INTO breakers (node_id, host, state, updated_at) VALUES ($1, $2, $3, $4)")
                            .bind(node)
                            .bind(host)
                            .bind(state)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .db($backend, "record breaker")?;
                    }
                    tx.commit().await.db($backend, "commit breakers")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn breakers(&self) -> Result<Vec<BreakerRow>> {
                let rows: Vec<(String, String, String, i64)> =
                    sqlx::query_as("SELECT node_id, host, state, updated_at FROM breakers ORDER BY host, node_id")
                        .fetch_all(&self.pool)
                        .await
                        .db($backend, "read breakers")?;
                Ok(rows
                    .into_iter()
                    .map(|(node, host, state, at)| BreakerRow { node, host, state, updated_at: from_micros(at) })
                    .collect())
            }

            async fn purge(&self, tenant: &TenantId, before: jiff::Timestamp) -> Result<Purged> {
                let result: Result<Purged> = async {
                    let before = to_micros(before);
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin purge")?;
                    let mut purged = Purged::default();
                    let (mut subtracted, mut emptied) = (0, 0);
                    for (statement, count) in [
                        ("DELETE FROM dead_letters WHERE tenant_id = $1 AND status <> 'open' AND resolved_at < $2", &mut purged.dead_letters),
                        // The hourly counters lose the jobs deleted next, in this transaction.
                        ($sql::PURGE_FLOW_COUNTS, &mut subtracted),
                        ($sql::PURGE_JOBS, &mut purged.jobs),
                        ($sql::DROP_EMPTY_FLOW_COUNTS, &mut emptied),
                        ("DELETE FROM runs WHERE tenant_id = $1 AND at < $2 \
                          AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.job_id = runs.job_id)", &mut purged.runs),
                        ("DELETE FROM inbox WHERE tenant_id = $1 AND received_at < $2", &mut purged.inbox),
                    ] {
                        *count = sqlx::query(statement)
                            .bind(tenant.as_ref())
                            .bind(before)
                            .execute(&mut *tx)
                            .await
                            .db($backend, "purge old rows")?
                            .rows_affected();
                    }
                    // Money amounts and shadow results past the retention go too (no buyer data).
                    for statement in [
                        "DELETE FROM money_observations WHERE tenant_id = $1 AND at < $2",
                        "DELETE FROM flow_shadow_results WHERE tenant_id = $1 AND at < $2",
                    ] {
                        sqlx::query(statement)
                            .bind(tenant.as_ref())
                            .bind(before)
                            .execute(&mut *tx)
                            .await
                            .db($backend, "purge old amounts")?;
                    }
                    tx.commit().await.db($backend, "commit purge")?;
                    Ok(purged)
                }
                .await;
                self.health.note(result, |p| p.inbox + p.jobs + p.dead_letters + p.runs > 0)
            }

            async fn put_secret(&self, s: &SealedSecret, actor: &str) -> Result<()> {
                let result: Result<()> = async {
                    let now = now_micros();
                    let mut tx = Tx::begin(&self.pool, $sql::BEGIN_WRITE).await.db($backend, "begin secret")?;
                    sqlx::query($sql::UPSERT_SECRET)
                        .bind(s.tenant.as_ref())
                        .bind(&s.name)
                        .bind(&s.key_id)
                        .bind(&s.nonce)
                        .bind(&s.ciphertext)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .db($backend, "write secret")?;
                    insert_audit(&mut tx, &AuditEntry { tenant: s.tenant.clone(), actor: actor.into(), action: "secret.set".into(), subject: s.name.clone(), detail: String::new() }, now).await?;
                    tx.commit().await.db($backend, "commit secret")
                }
                .await;
                self.health.note(result, |_| true)
            }

            async fn secret(&self, tenant: &TenantId, name: &str) -> Result<Option<SealedSecret>> {
                let row: Option<(String, Vec<u8>, Vec<u8>)> =
                    sqlx::query_as("SELECT key_id, nonce, ciphertext FROM secrets WHERE tenant_id = $1 AND name = $2")
                        .bind(tenant.as_ref())
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .db($backend, "read secret")?;
                Ok(row.map(|(key_id, nonce, ciphertext)| SealedSecret { tenant: tenant.clone(), name: name.to_string(), key_id, nonce, ciphertext }))
            }

            async fn secret_names(&self, tenant: &TenantId) -> Result<Vec<SecretInfo>> {
                let rows: Vec<(String, String, i64, i64)> =
                    sqlx::query_as("SELECT name, key_id, created_at, updated_at FROM secrets WHERE tenant_id = $1 ORDER BY name")
                        .bind(tenant.as_ref())
                        .fetch_all(&self.pool)
                        .await
                        .db($backend, "list secrets")?;
                Ok(rows
                    .into_iter()
                    .map(|(name, key_id, c, u)| SecretInfo { name, key_id, created_at: from_micros(c), updated_at: from_micros(u) })
                    .collect())
            }
        }
    };
}
pub(crate) use impl_store;

#[cfg(test)]
mod counter_tests {
    #[test]
    fn latency_kinds_follow_the_bounds() {
        assert_eq!(super::latency_kind(0), "lat00");
        assert_eq!(super::latency_kind(9_999), "lat00");
        assert_eq!(super::latency_kind(10_000), "lat01");
        assert_eq!(super::latency_kind(2_600_000), "lat08");
        assert_eq!(super::latency_kind(86_399_999_999), "lat19");
        assert_eq!(super::latency_kind(86_400_000_000), "lat20");
        assert_eq!(super::latency_kind(i64::MAX), "lat20");
        assert_eq!(super::latency_bucket("lat20"), Some(20));
        assert_eq!(super::latency_bucket("lat21"), None);
        // The SQL spelling has the same bounds, in µs, in order.
        let sql = super::shared::FLOW_COUNTS_FROM_JOBS;
        for (i, ms) in crate::LATENCY_BOUNDS_MS.iter().enumerate() {
            let when = format!("WHEN updated_at - created_at < {} THEN 'lat{i:02}'", ms * 1000);
            assert!(sql.contains(&when), "{when}");
        }
    }
}
