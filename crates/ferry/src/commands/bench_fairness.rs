//! `ferry bench fairness`: one tenant has a backlog of no-op jobs (100,000 by default) due
//! since before the run; while a node-sized pool drains it, a quiet tenant enqueues a job every
//! 20 ms. Reports how long the quiet tenant's jobs waited from enqueue to run (median, p99,
//! max) and how much of the backlog was still there when the last one ran. Figures only.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_runtime::{Effects, Handler, HandlerFuture, JobContext, Pool, PoolConfig, Registry, Resilience};
use ferry_store::{Job, NewJob, Store, TenantId};
use jiff::{SignedDuration, Timestamp};

use crate::cli::FairnessBenchArgs;

const PROBE: &str = "bench.probe";

/// Records how long each probe waited between its enqueue (in its payload) and its run.
struct Probe(Arc<Mutex<Vec<Duration>>>);

impl Handler for Probe {
    fn run<'a>(&'a self, _ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        let waited = job
            .payload_as::<serde_json::Value>()
            .ok()
            .and_then(|p| p["at"].as_i64())
            .map(|at| Duration::from_micros(ferry_store::now_micros().saturating_sub(at).max(0).unsigned_abs()));
        if let Some(waited) = waited {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(waited);
        }
        Box::pin(async { Ok(Effects::default()) })
    }
}

pub async fn run(args: FairnessBenchArgs) -> anyhow::Result<ExitCode> {
    println!(
        "fairness benchmark: tenant `busy` has {} no-op jobs due; tenant `quiet` enqueues {} jobs, one every 20 ms; \
         2 workers × 64 (a node's defaults); {} cores",
        args.backlog,
        args.probes,
        super::bench::cores()
    );
    for kind in &args.stores {
        let bench = super::bench::BenchStore::create(kind, &args.pg_url, 16).await?;
        let r = measure(bench.store.clone(), &args).await;
        bench.remove().await?;
        let r = r?;
        println!(
            "{kind:<9} quiet tenant's wait: median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} probes); busy backlog \
             left when the last probe ran: {}",
            r.median.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.max.as_secs_f64() * 1e3,
            r.probes,
            r.backlog_left
        );
    }
    Ok(ExitCode::SUCCESS)
}

struct Figures {
    median: Duration,
    p99: Duration,
    max: Duration,
    probes: usize,
    backlog_left: u64,
}

async fn measure<S: Store>(store: S, args: &FairnessBenchArgs) -> anyhow::Result<Figures> {
    store.migrate().await?;
    let busy: TenantId = "busy".parse()?;
    let quiet: TenantId = "quiet".parse()?;
    store.ensure_tenant(&busy, "busy").await?;
    store.ensure_tenant(&quiet, "quiet").await?;
    let due = Timestamp::now() - SignedDuration::from_mins(10);
    let mut left = args.backlog;
    while left > 0 {
        let n = left.min(1_000);
        let batch: Vec<NewJob> = (0..n)
            .map(|i| NewJob {
                run_at: Some(due),
                ..NewJob::new(busy.clone(), crate::builtin::NOOP, serde_json::json!({ "i": i }))
            })
            .collect();
        store.enqueue(&batch).await?;
        left -= n;
    }
    let waits = Arc::new(Mutex::new(Vec::new()));
    let mut registry = Registry::new();
    registry.register(crate::builtin::NOOP, crate::builtin::Noop);
    registry.register(PROBE, Probe(Arc::clone(&waits)));
    let config = PoolConfig { node_id: "bench".into(), workers: 2, concurrency: 64, ..PoolConfig::default() };
    let pool = Pool::new(store.clone(), registry, JobContext { resilience: Arc::new(Resilience::default()) }, config);
    let stats = pool.stats();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async move {
        let _ = rx.await;
    }));
    for _ in 0..args.probes {
        let job = NewJob::new(quiet.clone(), PROBE, serde_json::json!({ "at": ferry_store::now_micros() }));
        store.enqueue(&[job]).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while waits.lock().unwrap_or_else(|e| e.into_inner()).len() < args.probes as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let backlog_left = u64::from(args.backlog).saturating_sub(stats.finished().saturating_sub(u64::from(args.probes)));
    let _ = tx.send(());
    let _ = running.await;
    let mut waits = waits.lock().unwrap_or_else(|e| e.into_inner()).clone();
    waits.sort();
    let at = |q: f64| waits.get(((waits.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    Ok(Figures { median: at(0.5), p99: at(0.99), max: at(1.0), probes: waits.len(), backlog_left })
}
