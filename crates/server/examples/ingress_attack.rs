//! A hostile network against the node's listener, measured (figures only, nothing asserted):
//!
//! 1. `/healthz` latency over fresh connections, alone and while 500 slow clients hold
//!    connections open by trickling header bytes (reconnecting whenever they are cut off);
//! 2. the listener process's resident memory before, during and after 300 clients each
//!    announce and send a 1 MB body with a wrong API key.
//!
//! The server runs in a child process (this example with `serve`), the same `Server` that
//! `ferry run` serves, with the EventBridge ingress on and a SQLite store, so its memory is
//! read from `/proc/<pid>/status` apart from the attackers'.
//!
//! `cargo run --release -p ferry-server --example ingress_attack [-- SLOW_CLIENTS BODIES]`

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_model::{ConnectionId, TenantId};
use ferry_server::{AmazonIngress, Server, ServerConfig};
use ferry_store::secrets::SecretValue;
use ferry_store::testing::TempDir;
use ferry_store::{SqliteStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY: usize = 1024 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.get(1).map(String::as_str) == Some("serve") {
        return runtime.block_on(serve());
    }
    let slow: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let bodies: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300);
    let mut child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let addr: SocketAddr = line.trim().strip_prefix("listening ").ok_or("no address")?.parse()?;
    let pid = child.id();
    let result = runtime.block_on(attack(addr, pid, slow, bodies));
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

/// The child: a server with the EventBridge ingress on, until stdin closes.
async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let dir = TempDir::new("ingress-attack")?;
    let store = SqliteStore::open(&dir.path().join("ferry.db").display().to_string()).await?;
    store.migrate().await?;
    let tenant = TenantId::new("bench")?;
    store.ensure_tenant(&tenant, "bench").await?;
    let config = ServerConfig::new(tenant).amazon(AmazonIngress::new(
        ConnectionId::new("amazon")?,
        "x-api-key",
        SecretValue::new("the-real-key"),
    ));
    let server = Server::new(store, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    // The parent closes stdin to stop us.
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
        let _ = closed_tx.send(());
    });
    let stop = async move {
        let _ = closed_rx.await;
    };
    server.serve(listener, stop).await?;
    Ok(())
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// One `/healthz` over a fresh connection: its latency, or `None` when it failed.
async fn healthz(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let probe = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        (answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"ok")).then_some(())
    };
    tokio::time::timeout(Duration::from_secs(10), probe).await.ok().flatten().map(|()| started.elapsed())
}

async fn probe_for(addr: SocketAddr, how_long: Duration) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::new();
    let mut failed = 0;
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        match healthz(addr).await {
            Some(latency) => latencies.push(latency),
            None => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    (latencies, failed)
}

fn summary(latencies: &[Duration], failed: usize) -> String {
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "{} answered, {failed} failed; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        latencies.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    )
}

/// Holds one connection open by trickling a header byte every 500 ms; reconnects when cut off.
async fn slow_client(addr: SocketAddr, stop: Arc<AtomicBool>, cut: Arc<AtomicU64>, held_ms: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let opened = Instant::now();
        if stream.write_all(b"POST /ingress/amazon/eventbridge HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.is_err() {
            continue;
        }
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut probe = [0u8; 1];
            // The server closing shows as EOF or an error on read; a write alone may still pass.
            let closed = matches!(
                tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await,
                Ok(Ok(0) | Err(_))
            );
            if closed || stream.write_all(b"a").await.is_err() {
                cut.fetch_add(1, Ordering::Relaxed);
                held_ms.fetch_add(opened.elapsed().as_millis() as u64, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Announces a 1 MB body with a wrong key, sends it, reads the answer's status code.
async fn big_unauthenticated_body(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let head = format!(
        "POST /ingress/amazon/eventbridge HTTP/1.1\r\nHost: x\r\nx-api-key: wrong\r\ncontent-type: application/json\r\ncontent-length: {BODY}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    let body = vec![b'x'; BODY];
    let (mut reader, mut writer) = stream.into_split();
    // Send the body while reading: the server may answer (and close) before taking it.
    let sending = tokio::spawn(async move {
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), reader.read(&mut answer)).await.ok()?.ok()?;
    let _ = tokio::time::timeout(Duration::from_secs(5), sending).await;
    std::str::from_utf8(&answer[..n]).ok()?.split(' ').nth(1)?.parse().ok()
}

async fn attack(addr: SocketAddr, pid: u32, slow: usize, bodies: usize) -> Result<(), Box<dyn std::error::Error>> {
    println!("listener pid {pid} at {addr}; {} cores; limits: {:?}", cores(), ferry_server::ListenerLimits::default());
    let (latencies, failed) = probe_for(addr, Duration::from_secs(5)).await;
    println!("/healthz alone (5 s):                    {}", summary(&latencies, failed));

    let stop = Arc::new(AtomicBool::new(false));
    let cut = Arc::new(AtomicU64::new(0));
    let held_ms = Arc::new(AtomicU64::new(0));
    let rss_idle = rss_kib(pid, "VmRSS:");
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..slow {
        clients.spawn(slow_client(addr, stop.clone(), cut.clone(), held_ms.clone()));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (latencies, failed) = probe_for(addr, Duration::from_secs(25)).await;
    println!("/healthz with {slow} slow clients (25 s):   {}", summary(&latencies, failed));
    let cuts = cut.load(Ordering::Relaxed);
    println!(
        "slow connections cut by the server: {cuts}, held {:.1} s on average; listener RSS {} KiB → {} KiB",
        held_ms.load(Ordering::Relaxed) as f64 / 1000.0 / cuts.max(1) as f64,
        rss_idle,
        rss_kib(pid, "VmRSS:")
    );
    stop.store(true, Ordering::Relaxed);
    clients.shutdown().await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let before = rss_kib(pid, "VmRSS:");
    let hwm_before = rss_kib(pid, "VmHWM:");
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..bodies {
        senders.spawn(big_unauthenticated_body(addr));
    }
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    while let Some(status) = senders.join_next().await {
        let key = match status.ok().flatten() {
            Some(code) => code.to_string(),
            None => "no answer".into(),
        };
        *statuses.entry(key).or_default() += 1;
    }
    let during_peak = rss_kib(pid, "VmHWM:");
    let after = rss_kib(pid, "VmRSS:");
    println!("{bodies} unauthenticated 1 MB bodies in {:.2} s: answers {statuses:?}", started.elapsed().as_secs_f64());
    println!(
        "listener RSS before {before} KiB, after {after} KiB (+{} KiB); peak RSS before {hwm_before} KiB, after {during_peak} KiB (+{} KiB)",
        after.saturating_sub(before),
        during_peak.saturating_sub(hwm_before)
    );
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
