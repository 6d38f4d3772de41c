//! `ferry bench fairness`: one tenant has a backlog of no-op jobs (100,000 by default) due
//! since before the run; while a node-sized pool drains it, a quiet tenant enqueues a job every
//! 20 ms. Reports how long the quiet tenant's jobs waited from enqueue to run (median, p99,
//! max) and how much of the backlog was still there when the last one ran. Then the same with
//! real orders: the quiet tenant is a node's own tenant on the Amazon and Dataverse sandboxes
//! (F1, ORDER_CHANGE notifications, limits off); an order is placed every 100 ms and timed
//! from its placing at Amazon to its row in the CRM, with the busy backlog (counting only the
//! orders that landed while it was still there) and without.
//! Figures only.

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

pub async fn run(base: &crate::config::NodeConfig, args: FairnessBenchArgs) -> anyhow::Result<ExitCode> {
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
        if args.orders == 0 {
            continue;
        }
        for backlog in [0, args.backlog] {
            let r = orders(base, kind, &args, backlog).await?;
            println!(
                "{kind:<9} quiet tenant's orders, event to CRM, busy backlog {backlog:>6}: median {:.0} ms, p99 {:.0} ms, \
                 max {:.0} ms ({} orders{}); busy backlog left at the end: {}",
                r.median.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
                r.max.as_secs_f64() * 1e3,
                r.probes,
                if backlog > 0 { ", each landed while the backlog was there" } else { "" },
                r.backlog_left
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Places the quiet tenant's orders one by one while `backlog` no-op jobs of the busy tenant
/// are due; times each from placing to its CRM row.
async fn orders(
    base: &crate::config::NodeConfig,
    kind: &str,
    args: &FairnessBenchArgs,
    backlog: u32,
) -> anyhow::Result<Figures> {
    use super::order_world::{Limits, World, WorldOptions};
    let schema = format!("bench_fairness_orders_{}", std::process::id());
    let store_url = match kind {
        "sqlite" => None,
        "postgres" => Some(ferry_store::create_pg_schema(&args.pg_url, &schema).await?),
        other => anyhow::bail!("unknown store `{other}` (use sqlite or postgres)"),
    };
    let dir = std::env::temp_dir().join(format!("ferry-bench-fairness-{}", std::process::id()));
    let opts = WorldOptions {
        speedup: 1.0,
        limits: Limits::Off,
        order_lifecycle: false,
        store_url,
        buyer_pii: Some("guest".into()),
        notifications: true,
        crm_to_fba: false,
    };
    let mut world = World::start(base, &dir, &opts).await?;
    let busy: TenantId = "busy".parse()?;
    world.store.ensure_tenant(&busy, "busy").await?;
    enqueue_backlog(&world.store, &busy, backlog).await?;
    world.start_flows().await?;
    let mut waits = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while waits.len() < args.orders as usize && Instant::now() < deadline {
        let placed = Instant::now();
        let (ids, _) = world.seed_orders(1, 0.0);
        if world.writable(&ids) == 0 {
            continue; // a Pending order F1 leaves alone
        }
        let id = ids[0].clone();
        let landed = loop {
            let there = world
                .dataverse
                .rows("salesorders")
                .iter()
                .any(|r| r.get("new_amazonorderid").and_then(|v| v.as_str()) == Some(id.as_str()));
            if there || Instant::now() > deadline {
                break there;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let waited = placed.elapsed();
        // Only orders that landed while the busy backlog was still there say anything about
        // fairness (with no backlog, every order counts).
        let q = world.store.queue_stats_of(Some(&busy)).await?;
        if landed && (backlog == 0 || q.ready + q.scheduled + q.running > 0) {
            waits.push(waited);
        }
        if backlog > 0 && q.ready + q.scheduled + q.running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(placed.elapsed())).await;
    }
    let q = world.store.queue_stats_of(Some(&busy)).await?;
    let backlog_left = q.ready + q.scheduled + q.running;
    world.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    if kind == "postgres" {
        ferry_store::drop_pg_schema(&args.pg_url, &schema).await?;
    }
    Ok(figures(waits, backlog_left))
}

async fn enqueue_backlog<S: Store>(store: &S, tenant: &TenantId, n: u32) -> anyhow::Result<()> {
    let due = Timestamp::now() - SignedDuration::from_mins(10);
    let mut left = n;
    while left > 0 {
        let k = left.min(1_000);
        let batch: Vec<NewJob> = (0..k)
            .map(|i| NewJob {
                run_at: Some(due),
                ..NewJob::new(tenant.clone(), crate::builtin::NOOP, serde_json::json!({ "i": i }))
            })
            .collect();
        store.enqueue(&batch).await?;
        left -= k;
    }
    Ok(())
}

fn figures(mut waits: Vec<Duration>, backlog_left: u64) -> Figures {
    waits.sort();
    let at = |q: f64| waits.get(((waits.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    Figures { median: at(0.5), p99: at(0.99), max: at(1.0), probes: waits.len(), backlog_left }
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
    enqueue_backlog(&store, &busy, args.backlog).await?;
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
    let waits = waits.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(figures(waits, backlog_left))
}
