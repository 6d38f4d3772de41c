//! SIGTERM drains: no new claims, running jobs finish or hand back their leases, exit 0.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ferry_store::{AnyStore, NewJob, Store, TenantId};
use serde_json::json;

use super::support::{Receiver, TempDir, node, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_jobs_and_exits_cleanly() {
    let dir = TempDir::new("drain");
    let receiver = Receiver::start(Duration::from_millis(400)).await;
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let tenant: TenantId = "default".parse().unwrap();
    let store = AnyStore::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.ensure_tenant(&tenant, "default").await.unwrap();
    let jobs: Vec<NewJob> = (0..20)
        .map(|i| {
            NewJob::new(
                tenant.clone(),
                "builtin.http_call",
                json!({ "url": receiver.url(), "body": { "n": i }, "idempotency_key": format!("k{i}") }),
            )
        })
        .collect();
    store.enqueue(&jobs).await.unwrap();
    let config = write_config(dir.path(), &url, "[workers]\ncount = 1\nconcurrency = 4\nlease_seconds = 30\n");
    let run = || node(dir.path(), &config).stderr(Stdio::piped()).spawn().unwrap();
    let child = run();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.queue_stats().await.unwrap().running == 0 {
        assert!(Instant::now() < deadline, "the node never started work");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit status {:?}: {stderr}", out.status);
    assert!(stderr.contains("draining"), "{stderr}");
    let s = store.queue_stats().await.unwrap();
    assert_eq!(s.running, 0, "nothing left leased after the drain: {s:?}");
    assert!(s.completed >= 1 && s.completed < 20, "in-flight jobs finished, no new ones were claimed: {s:?}");

    // Another node picks up the rest; every effect is applied exactly once.
    let mut second = run();
    while store.queue_stats().await.unwrap().completed < 20 {
        assert!(Instant::now() < deadline + Duration::from_secs(20), "the rest was not done");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::process::Command::new("kill").arg("-TERM").arg(second.id().to_string()).status().unwrap();
    assert!(second.wait().unwrap().success());
    let ledger = receiver.ledger.lock().unwrap();
    assert_eq!(ledger.applied.len(), 20);
    assert_eq!(ledger.deliveries, 20, "a drained job is not sent twice");
}

/// A SQLite store in a fresh folder with one queued call to a receiver, and a node config
/// for it: what a node needs to have one job to run.
async fn node_with_one_call(name: &str) -> (TempDir, Receiver, AnyStore, std::path::PathBuf) {
    let dir = TempDir::new(name);
    let receiver = Receiver::start(Duration::ZERO).await;
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let tenant: TenantId = "default".parse().unwrap();
    let store = AnyStore::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.ensure_tenant(&tenant, "default").await.unwrap();
    let payload = json!({ "url": receiver.url(), "body": { "n": 1 }, "idempotency_key": format!("{name}-1") });
    store.enqueue(&[NewJob::new(tenant, "builtin.http_call", payload)]).await.unwrap();
    let config = write_config(dir.path(), &url, "");
    (dir, receiver, store, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_serves_health_readiness_and_metrics() {
    use std::io::BufRead as _;
    let (dir, _receiver, store, config) = node_with_one_call("serve").await;
    let mut child = node(dir.path(), &config).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    // Keep reading stderr so the node never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("node running")
                && let Some(addr) = line.split("listen=").nth(1).and_then(|r| r.split_whitespace().next())
            {
                let _ = addr_tx.send(addr.to_string());
            }
        }
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(30)).expect("the node logs where it listens");
    let http = ferry_connectors::http::client(&Default::default()).expect("client");
    let get = |path: &str| http.get(format!("http://{addr}{path}")).send();
    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.queue_stats().await.unwrap().completed < 1 {
        assert!(Instant::now() < deadline, "the job was not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("ferry_dead_letters_open 0"), "{metrics}");
    assert!(
        metrics.lines().any(|l| l.starts_with("ferry_api_requests_total{")
            && l.contains("connection=\"http\"")
            && l.contains("operation=\"post\"")
            && l.contains("status=\"ok\"")
            && l.ends_with(" 1")),
        "the delivered call is counted: {metrics}"
    );
    assert!(metrics.lines().any(|l| l.starts_with("ferry_jobs_total{outcome=\"completed\"} 1")), "{metrics}");

    // The admin API beside them: a token from `ferry tokens create` opens it, revoked it does not.
    let cli = |args: &[&str]| {
        let out = super::support::ferry(dir.path()).arg("--config").arg(&config).args(args).output().unwrap();
        let (o, e) = super::support::text(&out);
        assert!(out.status.success(), "{args:?}: {o}\n{e}");
        (o, e)
    };
    let me = |token: Option<String>| {
        let mut request = http.get(format!("http://{addr}/api/v1/me"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    assert_eq!(me(None).await.unwrap().status().as_u16(), 401);
    let (token, said) = cli(&["tokens", "create", "--role", "operator", "--name", "night shift"]);
    let token = token.trim().to_owned();
    assert!(token.starts_with("fy_") && said.contains("shown once"), "{token}\n{said}");
    let answer = me(Some(token.clone())).await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!((body["tenant"].as_str(), body["role"].as_str()), (Some("default"), Some("operator")), "{body}");
    let (listed, _) = cli(&["tokens", "list"]);
    let id = body["token"].as_str().unwrap();
    assert!(listed.contains(id) && listed.contains("night shift") && !listed.contains(&token), "{listed}");
    cli(&["tokens", "revoke", id]);
    assert_eq!(me(Some(token)).await.unwrap().status().as_u16(), 401);
    std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(child.wait().unwrap().success());
    assert!(get("/healthz").await.is_err(), "the listener closes with the node");
}

/// A stderr whose reader has gone (a pipe closed by a supervisor or `| head`) used to panic
/// the node at its first log line. Now the node runs its work and drains on SIGTERM, and a
/// command that fails says so by its exit code, the lines being lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_stderr_is_a_broken_pipe_keeps_working_and_stops_cleanly() {
    let broken = || {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        writer
    };
    let (dir, receiver, store, config) = node_with_one_call("broken-stderr").await;
    let mut child = node(dir.path(), &config).env("FERRY_LOG", "debug").stderr(broken()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.queue_stats().await.unwrap().completed < 1 {
        assert!(child.try_wait().unwrap().is_none(), "the node stopped: {:?}", child.try_wait());
        assert!(Instant::now() < deadline, "the job was not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "a broken stderr does not fail the node: {status:?}");
    assert_eq!(receiver.ledger.lock().unwrap().applied.len(), 1);

    // A config error is still an exit code 2, not a panic (101) while printing it.
    std::fs::write(&config, "[node]\nlistn = 1\n").unwrap();
    let status = node(dir.path(), &config).stderr(broken()).status().unwrap();
    assert_eq!(status.code(), Some(2));
}
