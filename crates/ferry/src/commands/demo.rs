//! `ferry demo`: the order flows on the sandboxes ([`super::demo_orders`]), or with
//! `--self-check` the runtime's own self-check: a stream of jobs through the real queue on an
//! embedded SQLite file, some of which fail once, get throttled, or are rejected for good, with
//! live progress and a summary that checks every path did what it should.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferry_runtime::backoff::RetryPolicy;
use ferry_store::{NewJob, SqliteStore, Store};

use crate::builtin::{Behaviour, SELFCHECK};
use crate::cli::DemoArgs;
use crate::config::NodeConfig;

fn behaviour(i: u32) -> Behaviour {
    match i % 100 {
        0 => Behaviour::Reject,
        1 | 2 => Behaviour::FlakyOnce,
        3 | 4 => Behaviour::ThrottledOnce,
        _ => Behaviour::Succeed,
    }
}

pub async fn run(cfg: &NodeConfig, _configured: bool, args: DemoArgs) -> anyhow::Result<ExitCode> {
    if args.self_check { self_check(cfg, args).await } else { super::demo_orders::run(cfg, args).await }
}

/// `ferry demo --self-check`: the durable queue, retries, throttling and dead letters on an
/// embedded SQLite store, end to end, without remote systems.
async fn self_check(cfg: &NodeConfig, args: DemoArgs) -> anyhow::Result<ExitCode> {
    println!("Ferry runtime self-check.");
    ferry_store::private_dir(&cfg.data_dir)?;
    let path = cfg.data_dir.join("demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = SqliteStore::open(&format!("sqlite://{}", path.display())).await?;
    store.migrate().await?;
    store.ensure_tenant(&cfg.tenant, cfg.tenant.as_ref()).await?;

    let n = args.jobs.max(1);
    let started = Instant::now();
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| {
            let payload = serde_json::json!({ "behaviour": behaviour(i), "record": format!("demo:record:{i}") });
            NewJob::new(cfg.tenant.clone(), SELFCHECK, payload).dedupe_key(format!("demo-{i}")).max_attempts(3)
        })
        .collect();
    for chunk in jobs.chunks(1_000) {
        store.enqueue(chunk).await?;
    }
    let expect_dead = (0..n).filter(|i| behaviour(*i) == Behaviour::Reject).count() as u64;
    let expect_done = u64::from(n) - expect_dead;
    println!("store   {}", path.display());
    println!("queued  {n} jobs ({expect_dead} will be rejected for good)");

    let mut node_cfg = cfg.clone();
    node_cfg.node_id = Some("demo".into());
    let mut pool = crate::node::pool(store.clone(), &node_cfg, None)?;
    pool = pool.with_retry(RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(50),
        cap: Duration::from_millis(500),
    });
    let stats = pool.stats();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async move {
        let _ = stop_rx.await;
    }));
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut last_print = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = stats.completed.load(Ordering::Relaxed);
        let dead = stats.dead.load(Ordering::Relaxed);
        let line = format!(
            "  {:>6} / {n} done · {} retried · {} throttled · {} dead letters",
            done + dead,
            stats.retried.load(Ordering::Relaxed),
            stats.deferred.load(Ordering::Relaxed),
            dead
        );
        let finished = done + dead >= u64::from(n);
        if tty {
            print!("\r{line}");
            let _ = std::io::stdout().flush();
        } else if finished || last_print.elapsed() >= Duration::from_secs(1) {
            println!("{line}");
            last_print = Instant::now();
        }
        if finished || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if tty {
        println!();
    }
    let _ = stop_tx.send(());
    let _ = running.await;
    let elapsed = started.elapsed();
    let q = store.queue_stats().await?;
    let dls = store.dead_letters(&cfg.tenant, true, 1).await?;
    println!(
        "summary {} completed, {} dead letters in {:.1} s ({:.0} jobs/s)",
        q.completed,
        q.dead_letters_open,
        elapsed.as_secs_f64(),
        f64::from(n) / elapsed.as_secs_f64().max(1e-9)
    );
    if let Some(d) = dls.first() {
        println!("example dead letter {}: step `{}`, {} — {}", d.id, d.step, d.error_kind, d.error);
    }
    let ok = q.completed == expect_done && q.dead_letters_open == expect_dead && q.ready + q.scheduled + q.running == 0;
    if ok {
        println!("self-check passed: every job completed or was dead-lettered as expected; nothing lost or duplicated");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("self-check FAILED: expected {expect_done} completed and {expect_dead} dead letters, got {q:?}");
        Ok(ExitCode::FAILURE)
    }
}
