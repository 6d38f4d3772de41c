//! `ferry bench queue`: jobs per second through enqueue → claim → complete with a no-op flow,
//! on each store, with 1 and 4 workers. Figures only: nothing here asserts a speed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_runtime::{JobContext, Pool, PoolConfig, Registry, Resilience};
use ferry_store::{AnyStore, NewJob, PgStore, SqliteStore, Store, TenantId};

use crate::cli::{BenchCommand, QueueBenchArgs};
use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Queue(args) => queue(args).await,
        BenchCommand::Orders(args) => super::bench_orders::run(cfg, args).await,
        BenchCommand::Fairness(args) => super::bench_fairness::run(cfg, args).await,
        BenchCommand::Console(args) => super::bench_console::run(args).await,
        BenchCommand::Nodes(args) => super::bench_nodes::run(cfg, args).await,
        BenchCommand::Settlement(args) => super::bench_settlement::run(args),
    }
}

async fn queue(args: QueueBenchArgs) -> anyhow::Result<ExitCode> {
    println!("queue benchmark: {} no-op jobs, enqueue (batches of 1,000) → claim → complete", args.jobs);
    println!(
        "machine: {} cores; PostgreSQL statistics: none (fresh tables, never analysed, autovacuum as configured)",
        cores()
    );
    for kind in &args.stores {
        for &workers in &args.workers {
            let bench = BenchStore::create(kind, &args.pg_url, (workers * 3).max(4)).await?;
            let r = measure(bench.store.clone(), args.jobs, workers).await;
            bench.remove().await?;
            let r = r?;
            println!(
                "{kind:<9} workers={workers}  enqueue {:>8.0}/s  claim+complete {:>7.0}/s (first half {:.0}/s, second half {:.0}/s)  end-to-end {:>7.0} jobs/s",
                r.enqueue_rate, r.drain_rate, r.first_half_rate, r.second_half_rate, r.end_to_end_rate
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

struct Figures {
    enqueue_rate: f64,
    drain_rate: f64,
    first_half_rate: f64,
    second_half_rate: f64,
    end_to_end_rate: f64,
}

async fn measure<S: Store>(store: S, jobs: u32, workers: u32) -> anyhow::Result<Figures> {
    store.migrate().await?;
    let tenant: TenantId = "bench".parse()?;
    store.ensure_tenant(&tenant, "bench").await?;
    let batch: Vec<NewJob> =
        (0..1_000).map(|i| NewJob::new(tenant.clone(), crate::builtin::NOOP, serde_json::json!({ "i": i }))).collect();
    let start = Instant::now();
    let mut left = jobs;
    while left > 0 {
        let n = left.min(1_000) as usize;
        store.enqueue(&batch[..n]).await?;
        left -= n as u32;
    }
    let enqueued = start.elapsed();

    let mut registry = Registry::new();
    registry.register(crate::builtin::NOOP, crate::builtin::Noop);
    let config = PoolConfig {
        node_id: "bench".into(),
        workers: workers as usize,
        concurrency: 200,
        claim_batch: 100,
        completion_batch: 1_000,
        poll_interval: Duration::from_millis(5),
        ..PoolConfig::default()
    };
    let pool = Pool::new(store, registry, JobContext { resilience: Arc::new(Resilience::default()) }, config);
    let stats = pool.stats();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let drain_start = Instant::now();
    let running = tokio::spawn(pool.run(async move {
        let _ = rx.await;
    }));
    let total = u64::from(jobs);
    let mut half_at = None;
    loop {
        let done = stats.finished();
        if half_at.is_none() && done >= total / 2 {
            half_at = Some(drain_start.elapsed());
        }
        if done >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let drained = drain_start.elapsed();
    let _ = tx.send(());
    let _ = running.await;
    let half = half_at.unwrap_or(drained).as_secs_f64().max(1e-9);
    let t = total as f64;
    Ok(Figures {
        enqueue_rate: t / enqueued.as_secs_f64().max(1e-9),
        drain_rate: t / drained.as_secs_f64().max(1e-9),
        first_half_rate: (t / 2.0) / half,
        second_half_rate: (t / 2.0) / (drained.as_secs_f64() - half).max(1e-9),
        end_to_end_rate: t / (enqueued + drained).as_secs_f64().max(1e-9),
    })
}

/// A fresh store of one kind for one measurement: SQLite in a folder of its own, or
/// PostgreSQL in a schema of its own; [`BenchStore::remove`] closes and deletes it.
pub(super) struct BenchStore {
    pub store: AnyStore,
    place: Place,
}

enum Place {
    Folder(std::path::PathBuf),
    Schema { base: String, schema: String },
}

static BENCH_STORES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl BenchStore {
    /// `kind` is `sqlite` or `postgres` (in a schema made in the database at `pg_url`).
    pub(super) async fn create(kind: &str, pg_url: &str, pg_connections: u32) -> anyhow::Result<BenchStore> {
        let n = BENCH_STORES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match kind {
            "sqlite" => {
                let dir = std::env::temp_dir().join(format!("ferry-bench-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)?;
                let store = SqliteStore::open(&format!("sqlite://{}", dir.join("bench.db").display())).await?;
                Ok(BenchStore { store: AnyStore::Sqlite(store), place: Place::Folder(dir) })
            }
            "postgres" => {
                let schema = format!("bench_{}_{n}", std::process::id());
                let url = ferry_store::create_pg_schema(pg_url, &schema).await?;
                let store = PgStore::open(&url, pg_connections).await?;
                Ok(BenchStore {
                    store: AnyStore::Postgres(store),
                    place: Place::Schema { base: pg_url.to_owned(), schema },
                })
            }
            other => anyhow::bail!("unknown store `{other}` (use sqlite or postgres)"),
        }
    }

    /// Closes the store's connections, then deletes its folder or schema.
    pub(super) async fn remove(self) -> anyhow::Result<()> {
        match &self.store {
            AnyStore::Sqlite(s) => s.pool().close().await,
            AnyStore::Postgres(s) => s.pool().close().await,
        }
        match self.place {
            Place::Folder(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Schema { base, schema } => ferry_store::drop_pg_schema(&base, &schema).await?,
        }
        Ok(())
    }
}

pub(super) fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
