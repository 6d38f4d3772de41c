//! Support for tests of Ferry and of code built on it: fresh PostgreSQL schemas, and the
//! FERRY_REQUIRE_PG rule (when set to 1, a missing PostgreSQL is a failure, not a skip).

use std::sync::atomic::{AtomicU32, Ordering};

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
