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

// Buyer data at rest: payloads sealed under the node's key, and a retention purge.

use std::sync::Arc;
use std::time::Duration;

use ferry_store::secrets::MasterKey;
use ferry_store::{AnyStore, Completion, NewEvent, PgStore, RunRecord, TenantId};

const BUYER: [&str; 3] = ["Jane Roe", "1 Main Street", "+1 555 0100"];

fn order(n: u32) -> serde_json::Value {
    json!({ "order_id": format!("111-{n}"), "ShippingAddress": {
        "Name": BUYER[0], "AddressLine1": BUYER[1], "Phone": BUYER[2], "City": "Seattle" } })
}

/// The same database opened twice: with the node's key, and without any.
struct Opened {
    keyed: AnyStore,
    keyless: AnyStore,
    _dir: Option<ferry_store::testing::TempDir>,
}

async fn open_sqlite(key: &Arc<MasterKey>) -> Opened {
    let dir = ferry_store::testing::TempDir::new("sealed").unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let keyed = AnyStore::Sqlite(SqliteStore::open(&url).await.unwrap()).with_payload_key(key.clone());
    keyed.migrate().await.unwrap();
    let keyless = AnyStore::Sqlite(SqliteStore::open(&url).await.unwrap());
    Opened { keyed, keyless, _dir: Some(dir) }
}

async fn open_postgres(key: &Arc<MasterKey>) -> Option<Opened> {
    let url = ferry_store::testing::fresh_pg_schema("sealed").await.unwrap_or_else(|e| panic!("{e}"))?;
    let keyed = AnyStore::Postgres(PgStore::open(&url, 4).await.unwrap()).with_payload_key(key.clone());
    keyed.migrate().await.unwrap();
    let keyless = AnyStore::Postgres(PgStore::open(&url, 2).await.unwrap());
    Some(Opened { keyed, keyless, _dir: None })
}

async fn raw_strings(store: &AnyStore, sql: &'static str) -> Vec<String> {
    match store {
        AnyStore::Sqlite(s) => sqlx::query_scalar(sql).fetch_all(s.pool()).await.unwrap(),
        AnyStore::Postgres(s) => sqlx::query_scalar(sql).fetch_all(s.pool()).await.unwrap(),
    }
}

async fn raw_exec(store: &AnyStore, sql: &'static str, tenant: &TenantId, at: i64) {
    match store {
        AnyStore::Sqlite(s) => sqlx::query(sql).bind(tenant.as_ref()).bind(at).execute(s.pool()).await.map(|_| ()),
        AnyStore::Postgres(s) => sqlx::query(sql).bind(tenant.as_ref()).bind(at).execute(s.pool()).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn raw_count(store: &AnyStore, table: &str, tenant: &TenantId) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1");
    match store {
        AnyStore::Sqlite(s) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.as_ref()).fetch_one(s.pool()).await.unwrap()
        }
        AnyStore::Postgres(s) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.as_ref()).fetch_one(s.pool()).await.unwrap()
        }
    }
}

async fn payloads_are_sealed_at_rest(o: Opened, key: Arc<MasterKey>) {
    let store = &o.keyed;
    store.ensure_tenant(&tenant(), "Default").await.unwrap();
    let event = NewEvent {
        tenant: tenant(),
        connection: "amazon-na".parse().unwrap(),
        dedupe_key: "evt-1".into(),
        event_type: "ORDER_CHANGE".into(),
        payload: order(1),
    };
    let jobs = [NewJob::new(tenant(), "amazon-orders", order(1)), NewJob::new(tenant(), "amazon-orders", order(2))];
    store.accept_event(&event, &jobs).await.unwrap();
    let claimed = store.claim("w", 2, Duration::from_secs(30)).await.unwrap();
    let seen: serde_json::Value = claimed[0].payload_as().expect("a worker reads its payload");
    assert_eq!(seen["ShippingAddress"]["Name"], BUYER[0]);
    let dead = |j: &ferry_store::Job| Completion::dead(j.id, "write", "permanent", "refused");
    store.complete("w", &[dead(&claimed[0]), dead(&claimed[1])]).await.unwrap();

    let raw = raw_strings(
        store,
        "SELECT payload FROM inbox UNION ALL SELECT payload FROM jobs \
         UNION ALL SELECT payload FROM dead_letters",
    )
    .await;
    assert_eq!(raw.len(), 5, "one event, two jobs, two dead letters");
    for stored in &raw {
        assert!(stored.starts_with(ferry_store::secrets::SEALED_PAYLOAD_PREFIX), "{stored}");
        for clear in BUYER.iter().chain(&["111-1", "Seattle"]) {
            assert!(!stored.contains(clear), "`{clear}` is stored in clear: {stored}");
        }
    }

    // Through the store, an operator still sees (redacted) and replays the payload.
    let letters = store.dead_letters(&tenant(), true, 10).await.unwrap();
    let letter = store.dead_letter(&tenant(), letters[1].id).await.unwrap().unwrap();
    let payload: serde_json::Value = serde_json::from_str(&letter.payload).expect("opened");
    assert_eq!(payload, order(1));
    let shown = ferry_store::redact::json_text(&letter.payload);
    assert!(shown.contains("111-1") && !BUYER.iter().any(|b| shown.contains(b)), "{shown}");
    let replayed = store.replay_dead_letter(&tenant(), letter.id, None, "cli:ops").await.unwrap();
    let job = store.job(replayed).await.unwrap().unwrap();
    assert_eq!(job.payload_as::<serde_json::Value>().unwrap(), order(1));

    // Without the key the payload stays sealed: a job says so, and a replay copies it sealed.
    let blind = o.keyless.job(replayed).await.unwrap().unwrap();
    let err = blind.payload_as::<serde_json::Value>().unwrap_err().to_string();
    assert!(err.contains(&format!("job {replayed}")) && err.contains("sealed"), "{err}");
    let copied = o.keyless.replay_dead_letter(&tenant(), letters[0].id, None, "cli:ops").await.unwrap();
    assert_eq!(store.job(copied).await.unwrap().unwrap().payload_as::<serde_json::Value>().unwrap(), order(2));
    // Another key cannot open it.
    let other = o.keyless.clone().with_payload_key(Arc::new(MasterKey::from_bytes(&[1u8; 32])));
    assert!(other.job(copied).await.unwrap().unwrap().payload_as::<serde_json::Value>().is_err());
    drop(key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_are_sealed_at_rest_sqlite() {
    let key = Arc::new(MasterKey::from_bytes(&[9u8; 32]));
    payloads_are_sealed_at_rest(open_sqlite(&key).await, key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_are_sealed_at_rest_postgres() {
    let key = Arc::new(MasterKey::from_bytes(&[9u8; 32]));
    if let Some(o) = open_postgres(&key).await {
        payloads_are_sealed_at_rest(o, key).await;
    }
}

/// For each tenant: an event, a completed job, a discarded dead letter, an open dead letter
/// and trace lines; everything named `old…` is then aged 40 days.
async fn retention_purges_old_rows_of_one_tenant(o: Opened) {
    let store = &o.keyed;
    let other: TenantId = "other".parse().unwrap();
    for t in [tenant(), other.clone()] {
        store.ensure_tenant(&t, t.as_ref()).await.unwrap();
        for age in ["old", "new"] {
            let event = NewEvent {
                tenant: t.clone(),
                connection: "amazon-na".parse().unwrap(),
                dedupe_key: format!("{age}-evt"),
                event_type: "ORDER_CHANGE".into(),
                payload: order(1),
            };
            let jobs: Vec<NewJob> = ["done", "discarded", "open"]
                .iter()
                .map(|k| NewJob::new(t.clone(), "f", order(1)).dedupe_key(format!("{age}-{k}")))
                .collect();
            store.accept_event(&event, &jobs).await.unwrap();
            let claimed = store.claim("w", 3, Duration::from_secs(30)).await.unwrap();
            let trace = |j: &ferry_store::Job| RunRecord {
                record: format!("{age}-record"),
                step: "write".into(),
                outcome: "ok".into(),
                message: format!("job {}", j.id),
                at: jiff::Timestamp::now(),
            };
            let by_key = |k: &str| claimed.iter().find(|j| j.dedupe_key.as_deref() == Some(k)).unwrap();
            let mut done = Completion::dead(by_key(&format!("{age}-done")).id, "", "", "");
            done.outcome =
                ferry_store::Outcome::Completed { xrefs: vec![], cursor: None, echoes: vec![], covers_earlier: false };
            done.trace = vec![trace(by_key(&format!("{age}-done")))];
            let mut open = Completion::dead(by_key(&format!("{age}-open")).id, "write", "permanent", "refused");
            open.trace = vec![trace(by_key(&format!("{age}-open")))];
            let discarded = Completion::dead(by_key(&format!("{age}-discarded")).id, "write", "permanent", "refused");
            store.complete("w", &[done, open, discarded]).await.unwrap();
            let letters = store.dead_letters(&t, true, 10).await.unwrap();
            let discard = letters.iter().find(|d| d.job == by_key(&format!("{age}-discarded")).id).unwrap();
            store.discard_dead_letter(&t, discard.id, "cli:ops").await.unwrap();
        }
        let long_ago = ferry_store::to_micros(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(40 * 24));
        for sql in [
            "UPDATE inbox SET received_at = $2 WHERE tenant_id = $1 AND dedupe_key LIKE 'old-%'",
            "UPDATE jobs SET updated_at = $2 WHERE tenant_id = $1 AND dedupe_key LIKE 'old-%'",
            "UPDATE dead_letters SET created_at = $2, resolved_at = CASE WHEN resolved_at IS NULL THEN NULL ELSE $2 END \
             WHERE tenant_id = $1 AND job_id IN (SELECT id FROM jobs WHERE dedupe_key LIKE 'old-%')",
            "UPDATE runs SET at = $2 WHERE tenant_id = $1 AND record = 'old-record'",
        ] {
            raw_exec(store, sql, &t, long_ago).await;
        }
    }
    let count = |table: &'static str, t: TenantId| async move { raw_count(store, table, &t).await };
    let before = [count("inbox", other.clone()).await, count("jobs", other.clone()).await];

    let cutoff = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(30 * 24);
    let purged = store.purge(&tenant(), cutoff).await.unwrap();
    assert_eq!(
        purged,
        ferry_store::Purged { inbox: 1, jobs: 2, dead_letters: 1, runs: 1 },
        "the old event, the old completed job and the old discarded letter with its job, the old trace of the completed job"
    );
    assert_eq!(count("inbox", tenant()).await, 1, "the new event is kept");
    assert_eq!(count("jobs", tenant()).await, 4, "the new jobs and the old open dead letter's job are kept");
    let letters = store.dead_letters(&tenant(), false, 10).await.unwrap();
    assert_eq!(letters.len(), 3, "the new letters and the old open one: {letters:?}");
    let old_open = letters.iter().find(|d| d.status == ferry_store::DeadLetterStatus::Open && d.created_at < cutoff);
    let old_open = old_open.expect("an open dead letter is kept however old");
    assert_eq!(store.runs_for_job(old_open.job).await.unwrap().len(), 1, "with its trace");
    assert!(serde_json::from_str::<serde_json::Value>(&old_open.payload).is_ok(), "and its payload");
    assert_eq!([count("inbox", other.clone()).await, count("jobs", other.clone()).await], before);
    assert_eq!(store.dead_letters(&other, false, 10).await.unwrap().len(), 4, "the other tenant is untouched");
    assert_eq!(store.purge(&tenant(), cutoff).await.unwrap(), ferry_store::Purged::default(), "nothing left to do");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_old_rows_of_one_tenant_sqlite() {
    let key = Arc::new(MasterKey::from_bytes(&[9u8; 32]));
    retention_purges_old_rows_of_one_tenant(open_sqlite(&key).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_old_rows_of_one_tenant_postgres() {
    let key = Arc::new(MasterKey::from_bytes(&[9u8; 32]));
    if let Some(o) = open_postgres(&key).await {
        retention_purges_old_rows_of_one_tenant(o).await;
    }
}
