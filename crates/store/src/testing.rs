//! Support for tests of Ferry and of code built on it: fresh PostgreSQL schemas, and the
//! FERRY_REQUIRE_PG rule (when set to 1, a missing PostgreSQL is a failure, not a skip), and
//! stores that fail on command (a filesystem that fills, a database that refuses at COMMIT).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::PgStore;

/// The database tests use (`FERRY_TEST_PG_URL`, default the local server's `ferry_test`).
pub fn pg_test_url() -> String {
    std::env::var("FERRY_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/ferry_test".into())
}

/// Whether PostgreSQL must be reachable (CI sets FERRY_REQUIRE_PG=1).
pub fn pg_required() -> bool {
    std::env::var("FERRY_REQUIRE_PG").is_ok_and(|v| v == "1")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates an empty schema and returns a URL whose connections use it, so each test has a
/// database of its own. `Ok(None)` means PostgreSQL is unreachable and not required (the
/// caller skips, saying so); unreachable while required is an error.
pub async fn fresh_pg_schema(hint: &str) -> Result<Option<String>, String> {
    let base = pg_test_url();
    let schema = format!("t_{hint}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let admin = match open_or_create(&base).await {
        Ok(s) => s,
        Err(e) if !pg_required() => {
            eprintln!("skipping PostgreSQL half of this test (set FERRY_REQUIRE_PG=1 to fail instead): {e}");
            return Ok(None);
        }
        Err(e) => return Err(format!("PostgreSQL is required (FERRY_REQUIRE_PG=1) but unreachable at {base}: {e}")),
    };
    admin.pool().close().await;
    crate::create_pg_schema(&base, &schema).await.map(Some).map_err(|e| format!("create schema: {e}"))
}

/// Connects to `url`, creating its database first if the server says it does not exist.
async fn open_or_create(url: &str) -> Result<PgStore, crate::StoreError> {
    match PgStore::open(url, 1).await {
        Ok(s) => Ok(s),
        Err(e) if e.to_string().contains("does not exist") => {
            let (server, rest) = url.rsplit_once('/').unwrap_or((url, "ferry_test"));
            let db = rest.split('?').next().unwrap_or("ferry_test");
            let admin = PgStore::open(&format!("{server}/postgres"), 1).await?;
            let create = format!("CREATE DATABASE \"{}\"", db.replace('"', ""));
            // Two test binaries may race to create it; the loser's error is harmless.
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(admin.pool()).await;
            PgStore::open(url, 1).await
        }
        Err(e) => Err(e),
    }
}

/// A temporary folder, removed (with everything in it) on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `<tmp>/ferry-<prefix>-<pid>-<n>`, empty.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("ferry-{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// A store that fails on command, for the fault tests of the store and of the node.

/// A small tmpfs mounted on a fresh folder (unmounted on drop), and a file that fills it.
pub struct SmallDisk {
    dir: TempDir,
    filler: PathBuf,
}

impl SmallDisk {
    /// Mounts `size` (e.g. "8m"). Mounting needs root, which CI has.
    pub fn mount(size: &str) -> SmallDisk {
        let dir = TempDir::new("smalldisk").expect("temp dir");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test fills a small filesystem: mounting a tmpfs failed (it needs root, as in CI): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let filler = dir.path().join("filler");
        SmallDisk { dir, filler }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the filler until the filesystem has no space left.
    pub fn fill(&self) {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&self.filler).expect("create filler");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        // Whatever fits of a partial chunk.
        while f.write(&chunk[..512]).is_ok_and(|n| n > 0) {}
    }

    /// Gives the space back.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).expect("remove filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Empties SQLite's write-ahead log, so every later write needs new space on the disk.
pub async fn truncate_wal(pool: &sqlx::SqlitePool) {
    for _ in 0..100 {
        let (busy, _, _): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await.expect("checkpoint");
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the WAL could not be truncated");
}

/// Makes every later change to `jobs` and `inbox` fail at COMMIT while `ferry_fault.refuse`
/// is true, as a database that cannot write would (SQLSTATE 53100, disk full).
pub async fn install_pg_fault(pool: &sqlx::PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE ferry_fault (refuse boolean NOT NULL); INSERT INTO ferry_fault VALUES (false);
         CREATE FUNCTION ferry_fault_check() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF (SELECT refuse FROM ferry_fault) THEN
                 RAISE EXCEPTION 'could not extend file: No space left on device (injected)' USING ERRCODE = '53100';
             END IF;
             RETURN NULL;
         END $$;
         CREATE CONSTRAINT TRIGGER ferry_fault_jobs AFTER INSERT OR UPDATE ON jobs
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ferry_fault_check();
         CREATE CONSTRAINT TRIGGER ferry_fault_inbox AFTER INSERT OR UPDATE ON inbox
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ferry_fault_check();",
    )
    .execute(pool)
    .await
    .expect("install fault trigger");
}

pub async fn set_pg_fault(pool: &sqlx::PgPool, refuse: bool) {
    sqlx::query("UPDATE ferry_fault SET refuse = $1").bind(refuse).execute(pool).await.expect("switch fault");
}

// The hourly counters (`flow_counts`), for tests that change jobs by hand.

/// Every tenant's finished jobs counted per flow, hour and kind from the jobs themselves, as
/// `(tenant, flow, hour µs, kind, count)` rows: what the hourly counters must hold.
pub const FLOW_COUNTS_FROM_JOBS: &str = crate::sql_store::shared::FLOW_COUNTS_FROM_JOBS;

/// The hourly counters as stored, in the same shape and order as [`FLOW_COUNTS_FROM_JOBS`]
/// read with `ORDER BY 1, 2, 3, 4`.
pub const FLOW_COUNTS_STORED: &str = "SELECT tenant_id, flow, hour, kind, n FROM flow_counts";

/// Counts the hourly counters afresh from the jobs: after a test moved jobs' times by hand
/// (the store keeps the counters as it finishes and purges jobs, never from edits made
/// beside it).
pub async fn recount_flow_counts_sqlite(pool: &sqlx::SqlitePool) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(recount())).execute(pool).await.expect("recount the hourly counters");
}

/// [`recount_flow_counts_sqlite`] on PostgreSQL.
pub async fn recount_flow_counts_pg(pool: &sqlx::PgPool) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(recount())).execute(pool).await.expect("recount the hourly counters");
}

fn recount() -> String {
    format!("DELETE FROM flow_counts; INSERT INTO flow_counts (tenant_id, flow, hour, kind, n) {FLOW_COUNTS_FROM_JOBS}")
}
