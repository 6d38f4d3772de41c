//! `store.max_connections`: the store's pool never holds more connections than configured,
//! on either backend; without a setting each backend keeps its default.

use ferry_store::{AnyStore, PG_DEFAULT_CONNECTIONS, SQLITE_DEFAULT_CONNECTIONS, testing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_opens_at_most_max_connections() {
    let Some(base) = testing::fresh_pg_schema("maxconn").await.unwrap_or_else(|e| panic!("{e}")) else { return };
    let app = format!("ferry-maxconn-{}", std::process::id());
    let url = format!("{base}&application_name={app}");
    let AnyStore::Postgres(store) = AnyStore::open_with(&url, Some(3)).await.expect("open") else {
        panic!("a postgres:// URL opens PostgreSQL")
    };
    let pool = store.pool().clone();
    assert_eq!(pool.options().get_max_connections(), 3);
    // Twelve queries at once, each holding its connection; the server sees at most three.
    let busy: Vec<_> = (0..12)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { sqlx::query("SELECT pg_sleep(0.3)").execute(&pool).await })
        })
        .collect();
    let watcher = AnyStore::open_with(&base, Some(1)).await.expect("watcher");
    let AnyStore::Postgres(watcher) = watcher else { unreachable!() };
    let mut most = 0_i64;
    for _ in 0..10 {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(&app)
            .fetch_one(watcher.pool())
            .await
            .expect("pg_stat_activity");
        most = most.max(n);
        assert!(pool.size() <= 3, "the pool holds {} connections", pool.size());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for task in busy {
        task.await.expect("task").expect("query");
    }
    assert!((1..=3).contains(&most), "the server saw {most} connections of this store (max_connections = 3)");

    let AnyStore::Postgres(default) = AnyStore::open_with(&base, None).await.expect("open") else { unreachable!() };
    assert_eq!(default.pool().options().get_max_connections(), PG_DEFAULT_CONNECTIONS);
}

#[tokio::test]
async fn sqlite_pool_size_follows_max_connections() {
    let dir = testing::TempDir::new("maxconn").expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let AnyStore::Sqlite(two) = AnyStore::open_with(&url, Some(2)).await.expect("open") else { unreachable!() };
    assert_eq!(two.pool().options().get_max_connections(), 2);
    let AnyStore::Sqlite(default) = AnyStore::open_with(&url, None).await.expect("open") else { unreachable!() };
    assert_eq!(default.pool().options().get_max_connections(), SQLITE_DEFAULT_CONNECTIONS);
}
