//! Opening a fresh store of each kind for one test.

use ferry_store::testing::TempDir;
use ferry_store::{PgStore, SqliteStore, Store, TenantId};

/// A fresh, migrated SQLite store in a temporary directory (kept alive by the returned guard).
pub async fn sqlite() -> (SqliteStore, TempDir) {
    let dir = TempDir::new("store").expect("temp dir");
    let store =
        SqliteStore::open(&format!("sqlite://{}", dir.path().join("ferry.db").display())).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    store.ensure_tenant(&tenant(), "Default").await.expect("tenant");
    (store, dir)
}

/// A fresh, migrated PostgreSQL store in its own schema, or `None` (with a note) when no
/// server is reachable and FERRY_REQUIRE_PG is not set.
pub async fn postgres() -> Option<PgStore> {
    let url = ferry_store::testing::fresh_pg_schema("store").await.unwrap_or_else(|e| panic!("{e}"))?;
    let store = PgStore::open(&url, 8).await.expect("open pg");
    store.migrate().await.expect("migrate pg");
    store.ensure_tenant(&tenant(), "Default").await.expect("tenant");
    Some(store)
}

pub fn tenant() -> TenantId {
    "default".parse().expect("tenant id")
}

/// Defines `#[tokio::test]`s named `<name>_sqlite` and `<name>_postgres` that run the same
/// generic body against each backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        pub mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = $crate::store::common::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        pub mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = $crate::store::common::postgres().await {
                        super::$name(store).await;
                    }
                }
            )*
        }
    };
}
