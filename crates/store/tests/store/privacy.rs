//! Least privilege at rest: the SQLite file is its owner's alone.

use ferry_store::{NewJob, SqliteStore, Store};
use serde_json::json;

use super::common::tenant;

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_file_its_folder_and_its_wal_are_private() {
    let dir = ferry_store::testing::TempDir::new("private").unwrap();
    let folder = dir.path().join("data").join("node");
    let db = folder.join("ferry.db");
    let store = SqliteStore::open(&format!("sqlite://{}", db.display())).await.expect("open");
    store.migrate().await.unwrap();
    store.ensure_tenant(&tenant(), "Default").await.unwrap();
    store.enqueue(&[NewJob::new(tenant(), "f", json!({ "n": 1 }))]).await.unwrap();
    assert_eq!(mode(&folder), 0o700, "the folder Ferry made");
    assert_eq!(mode(&dir.path().join("data")), 0o700, "and its parent Ferry made");
    for f in ["ferry.db", "ferry.db-wal", "ferry.db-shm"] {
        assert_eq!(mode(&folder.join(f)), 0o600, "{f}");
    }
    store.pool().close().await;

    // A file someone opened up is tightened again when Ferry opens it.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", db.display())).await.expect("reopen");
    store.migrate().await.unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(store.queue_stats().await.unwrap().ready, 1, "the data is still there");
}
