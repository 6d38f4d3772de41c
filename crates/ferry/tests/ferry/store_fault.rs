//! A store fault never wedges the node. With `ferry run` working the queue, the store stops
//! taking writes (SQLite: its filesystem fills up; PostgreSQL: the database refuses every
//! change to the queue at COMMIT): the node says it is not ready, and once the store takes
//! writes again the node recovers by itself, without a restart. Every job the store
//! acknowledged is applied exactly once. And SIGTERM with the store down still stops within
//! the drain timeout: the outcomes it could not commit stay leased and run after a restart.

use std::io::BufRead as _;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_store::testing::{SmallDisk, install_pg_fault, set_pg_fault, truncate_wal};
use ferry_store::{AnyStore, JobId, JobState, NewJob, Store, TenantId};
use serde_json::{Value, json};

use super::support::{Receiver, TempDir, node, pg_url, write_config};

/// A store the test can make fail and come back.
struct FaultyStore {
    store: AnyStore,
    url: String,
    disk: Option<SmallDisk>,
}

impl FaultyStore {
    async fn sqlite() -> FaultyStore {
        let disk = SmallDisk::mount("16m");
        let url = format!("sqlite://{}", disk.path().join("ferry.db").display());
        FaultyStore::open(url, Some(disk)).await
    }

    async fn postgres() -> Option<FaultyStore> {
        let url = pg_url("fault").await?;
        Some(FaultyStore::open(url, None).await)
    }

    async fn open(url: String, disk: Option<SmallDisk>) -> FaultyStore {
        let store = AnyStore::open(&url).await.expect("open store");
        store.migrate().await.expect("migrate");
        store.ensure_tenant(&tenant(), "default").await.expect("tenant");
        if let AnyStore::Postgres(pg) = &store {
            install_pg_fault(pg.pool()).await;
        }
        FaultyStore { store, url, disk }
    }

    /// The store stops taking writes.
    async fn fail(&self) {
        match (&self.store, &self.disk) {
            (AnyStore::Sqlite(s), Some(disk)) => {
                truncate_wal(s.pool()).await;
                disk.fill();
            }
            (AnyStore::Postgres(pg), _) => set_pg_fault(pg.pool(), true).await,
            _ => unreachable!("a SQLite store lives on a small disk"),
        }
    }

    /// Space (or permission) returns.
    async fn recover(&self) {
        match (&self.store, &self.disk) {
            (AnyStore::Sqlite(_), Some(disk)) => disk.free(),
            (AnyStore::Postgres(pg), _) => set_pg_fault(pg.pool(), false).await,
            _ => unreachable!("a SQLite store lives on a small disk"),
        }
    }

    async fn close(self) {
        match &self.store {
            AnyStore::Sqlite(s) => s.pool().close().await,
            AnyStore::Postgres(pg) => pg.pool().close().await,
        }
    }
}

fn tenant() -> TenantId {
    "default".parse().expect("tenant")
}

fn call(receiver: &Receiver, key: &str) -> NewJob {
    NewJob::new(
        tenant(),
        "builtin.http_call",
        json!({ "url": receiver.url(), "body": { "key": key }, "idempotency_key": key }),
    )
}

/// Enqueues one job per key; returns the acknowledged ones with their ids.
async fn enqueue(store: &AnyStore, receiver: &Receiver, keys: &[String]) -> Vec<(String, JobId)> {
    let jobs: Vec<NewJob> = keys.iter().map(|k| call(receiver, k)).collect();
    let ids = store.enqueue(&jobs).await.expect("enqueue");
    keys.iter().cloned().zip(ids.into_iter().map(|id| id.expect("inserted"))).collect()
}

/// A running node: the process, where it listens, and what it logged so far.
struct Node {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Node {
    fn start(dir: &std::path::Path, config: &std::path::Path) -> Node {
        let mut child = node(dir, config).stderr(Stdio::piped()).spawn().expect("spawn ferry run");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        // Keep reading stderr so the node never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("node running")
                    && let Some(addr) = line.split("listen=").nth(1).and_then(|r| r.split_whitespace().next())
                {
                    let _ = addr_tx.send(addr.to_string());
                }
                lines.lock().expect("log").push(line);
            }
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(30)).expect("the node logs where it listens");
        Node { child, addr, log }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    async fn readyz(&self) -> (u16, Value) {
        let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::public_roots()).expect("client");
        let response = http.get(format!("http://{}/readyz", self.addr)).send().await.expect("GET /readyz");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("/readyz is not JSON ({e}): {text}")))
    }

    /// Polls /readyz until it answers `status`; returns the body.
    async fn until_ready_is(&self, status: u16, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (got, body) = self.readyz().await;
            if got == status {
                return body;
            }
            assert!(Instant::now() < deadline, "/readyz stayed {got} ({body}), expected {status}\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then waits for the exit (failing after `within`); returns the elapsed time.
    fn terminate(mut self, within: Duration) -> (std::process::ExitStatus, Duration, String) {
        let started = Instant::now();
        std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill");
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return (status, started.elapsed(), self.log());
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the node did not stop within {within:?} of SIGTERM\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn wait_until_running(store: &AnyStore) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.queue_stats().await.expect("stats").running == 0 {
        assert!(Instant::now() < deadline, "the node never started work");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every job is completed.
async fn wait_until_completed(store: &AnyStore, jobs: &[(String, JobId)], within: Duration, node: &Node) {
    let deadline = Instant::now() + within;
    for (key, id) in jobs {
        loop {
            let job = store.job(*id).await.expect("read job").expect("job exists");
            if job.state == JobState::Completed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} ({key}) is {:?} (last error {:?})\n{}",
                job.state,
                job.last_error,
                node.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Writes fail → not ready (503, saying why) → the store comes back → ready again and the
/// queue moves, without a restart; each acknowledged job applied once, none sent twice.
async fn the_node_recovers_by_itself(faulty: FaultyStore) {
    let dir = TempDir::new("fault");
    let receiver = Receiver::start(Duration::from_millis(400)).await;
    let store = faulty.store.clone();
    let mut acknowledged = enqueue(&store, &receiver, &keys("before-", 8)).await;
    let config = write_config(dir.path(), &faulty.url, "[workers]\ncount = 1\nconcurrency = 4\ndrain_seconds = 5\n");
    let node = Node::start(dir.path(), &config);
    assert_eq!(node.readyz().await.0, 200, "{}", node.log());
    wait_until_running(&store).await;

    faulty.fail().await;
    let body = node.until_ready_is(503, Duration::from_secs(20)).await;
    assert_eq!(body["status"], "not ready", "{body}");
    assert!(body["reason"].as_str().is_some_and(|r| r.contains("writes")), "says why: {body}");
    assert!(body["last_error"].as_str().is_some_and(|e| !e.is_empty()), "with the error: {body}");
    assert!(body["failing_since"].as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{body}");
    // Nobody can enqueue meanwhile: these are refused, so not acknowledged.
    for key in keys("during-", 3) {
        assert!(store.enqueue(&[call(&receiver, &key)]).await.is_err(), "the store refuses {key}");
    }
    // The node keeps retrying for a while, still not ready.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(node.readyz().await.0, 503);

    faulty.recover().await;
    node.until_ready_is(200, Duration::from_secs(30)).await;
    acknowledged.extend(enqueue(&store, &receiver, &keys("after-", 8)).await);
    wait_until_completed(&store, &acknowledged, Duration::from_secs(60), &node).await;
    assert_eq!(node.readyz().await.0, 200);

    let (status, _, log) = node.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(!log.contains("transaction depth"), "no wedged connection: {log}");
    {
        let ledger = receiver.ledger.lock().expect("ledger");
        let mut applied: Vec<&String> = ledger.applied.keys().collect();
        applied.sort();
        let mut expected: Vec<&String> = acknowledged.iter().map(|(k, _)| k).collect();
        expected.sort();
        assert_eq!(applied, expected, "every acknowledged job applied, nothing else");
        assert_eq!(ledger.deliveries, acknowledged.len() as u64, "no job ran twice");
        assert_eq!(ledger.conflicting, 0);
    }
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!((stats.completed, stats.running, stats.ready), (acknowledged.len() as u64, 0, 0), "{stats:?}");
    faulty.close().await;
}

/// SIGTERM while the store refuses writes: the node stops within its drain timeout instead
/// of retrying forever; what it could not commit stays leased, and once the store is back a
/// restarted node runs those jobs: every job applied exactly once.
async fn sigterm_with_the_store_down(faulty: FaultyStore) {
    let dir = TempDir::new("fault-stop");
    let receiver = Receiver::start(Duration::from_millis(300)).await;
    let store = faulty.store.clone();
    let jobs = enqueue(&store, &receiver, &keys("job-", 8)).await;
    let config = write_config(
        dir.path(),
        &faulty.url,
        "[workers]\ncount = 1\nconcurrency = 4\nlease_seconds = 3\ndrain_seconds = 3\n",
    );
    let node = Node::start(dir.path(), &config);
    wait_until_running(&store).await;
    faulty.fail().await;
    node.until_ready_is(503, Duration::from_secs(20)).await;

    // Drain 3 s; the listener and polls get 1 s more. Before, this never ended.
    let (status, took, log) = node.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(took >= Duration::from_secs(2), "it waited for the store before giving up ({took:?})\n{log}");
    assert!(log.contains("stay leased"), "says what becomes of the uncommitted jobs: {log}");
    let stats = store.queue_stats().await.expect("stats");
    assert!(stats.running >= 1, "the uncommitted jobs are still leased, not lost: {stats:?}");

    faulty.recover().await;
    let second = Node::start(dir.path(), &config);
    wait_until_completed(&store, &jobs, Duration::from_secs(60), &second).await;
    let (status, _, log) = second.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit {status:?}\n{log}");
    {
        let ledger = receiver.ledger.lock().expect("ledger");
        let mut applied: Vec<&String> = ledger.applied.keys().collect();
        applied.sort();
        let mut expected: Vec<&String> = jobs.iter().map(|(k, _)| k).collect();
        expected.sort();
        assert_eq!(applied, expected, "every job applied");
        assert_eq!(ledger.conflicting, 0);
    }
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!((stats.completed, stats.running, stats.ready), (jobs.len() as u64, 0, 0), "{stats:?}");
    faulty.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_makes_the_node_unready_and_it_recovers_by_itself_sqlite() {
    the_node_recovers_by_itself(FaultyStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_database_makes_the_node_unready_and_it_recovers_by_itself_postgres() {
    if let Some(faulty) = FaultyStore::postgres().await {
        the_node_recovers_by_itself(faulty).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_a_full_disk_stops_within_the_drain_and_leased_jobs_run_after_restart_sqlite() {
    sigterm_with_the_store_down(FaultyStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_refusing_database_stops_within_the_drain_and_leased_jobs_run_after_restart_postgres() {
    if let Some(faulty) = FaultyStore::postgres().await {
        sigterm_with_the_store_down(faulty).await;
    }
}

/// The drain timeout is a setting (`workers.drain_seconds`), checked like the others.
#[test]
fn drain_seconds_out_of_range_is_refused_where_it_is_written() {
    let dir = TempDir::new("drain-check");
    for bad in ["0", "3601"] {
        let cfg = write_config(
            dir.path(),
            &format!("sqlite://{}", dir.path().join("ferry.db").display()),
            &format!("[workers]\ndrain_seconds = {bad}\n"),
        );
        let out = super::support::ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().expect("run");
        let (_, err) = super::support::text(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("ferry.toml:9:") && err.contains("workers.drain_seconds"), "{bad}: {err}");
    }
    let cfg = write_config(
        dir.path(),
        &format!("sqlite://{}", dir.path().join("ferry.db").display()),
        "[workers]\ndrain_seconds = 5\n",
    );
    let out = super::support::ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().expect("run");
    assert!(out.status.success(), "{}", super::support::text(&out).1);
}
