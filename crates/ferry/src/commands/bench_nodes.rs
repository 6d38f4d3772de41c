//! `ferry bench nodes`: how the end-to-end order rate scales with the number of nodes on one
//! PostgreSQL. For each count, a fresh schema, the Amazon and Dataverse sandboxes in this
//! process with limits off, and that many `ferry run` processes, each pinned to one core with
//! `taskset`, started on a backlog of Amazon orders; the time until the CRM holds every one
//! is measured from the nodes' start. Figures only: nothing here asserts a speed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig, ServiceLimits};
use ferry_sandbox::tls::SandboxTls;

use super::order_world::{PollSeconds, Sandboxes, prepare_crm, seal_sandbox_credentials, write_flows};
use crate::cli::NodesBenchArgs;
use crate::config::NodeConfig;

/// The engine's limits with "limits off": far above anything the sandboxes can serve.
const UNLIMITED_SCALE: f64 = 1e6;

pub async fn run(base: &NodeConfig, args: NodesBenchArgs) -> anyhow::Result<ExitCode> {
    if args.orders == 0 {
        anyhow::bail!("--orders must be at least 1");
    }
    if args.nodes.is_empty() || args.nodes.contains(&0) {
        anyhow::bail!("--nodes must list node counts of at least 1, e.g. 1,2,3");
    }
    if !matches!(args.buyer_pii.as_str(), "full" | "guest") {
        anyhow::bail!("--buyer-pii must be `full` or `guest`, got `{}`", args.buyer_pii);
    }
    check_taskset()?;
    let cores = super::bench::cores();
    let exe = std::env::current_exe().context("cannot find this ferry executable to start the nodes")?;
    println!(
        "nodes benchmark: {} Amazon orders → CRM (F1, buyer data {}), limits off, PostgreSQL, {} worker(s) × {} per node",
        args.orders, args.buyer_pii, args.workers, args.concurrency
    );
    println!(
        "machine: {cores} cores; node k is pinned with `taskset -c k%{cores}`; the sandboxes (this process) and \
         PostgreSQL are not pinned and share the same cores; {} build",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let mut first: Option<f64> = None;
    for &nodes in &args.nodes {
        let schema = format!("bench_nodes_{}_{nodes}", std::process::id());
        let url = ferry_store::create_pg_schema(&args.pg_url, &schema).await?;
        let dir = std::env::temp_dir().join(format!("ferry-bench-nodes-{}-{nodes}", std::process::id()));
        let figures = measure(base, &args, &exe, &dir, &url, nodes, cores).await;
        ferry_store::drop_pg_schema(&args.pg_url, &schema).await?;
        let figures = figures?;
        let _ = std::fs::remove_dir_all(&dir);
        let rate = figures.written as f64 / figures.seconds.max(1e-9);
        let scaling = match first {
            None => {
                first = Some(rate);
                String::new()
            }
            Some(one) => format!(" ({:.2}× the first count's)", rate / one.max(1e-9)),
        };
        println!(
            "{nodes} node(s): {} orders in the CRM {:.2} s after the nodes started: {rate:.0} orders/s{scaling}; \
             between 10% and 90% written: {:.0} orders/s",
            figures.written, figures.seconds, figures.steady_rate
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `taskset` (util-linux) pins each node to one core; without it the figures would mean
/// something else, so the benchmark refuses to run.
fn check_taskset() -> anyhow::Result<()> {
    match Command::new("taskset").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => anyhow::bail!("`taskset --version` failed ({status}): taskset from util-linux is needed"),
        Err(e) => anyhow::bail!(
            "taskset is needed to pin each node to one core and could not be run ({e}): install util-linux"
        ),
    }
}

struct Figures {
    written: usize,
    /// From the nodes' start until the CRM held all of them.
    seconds: f64,
    /// Orders per second between 10% and 90% of them written (start and finish left out).
    steady_rate: f64,
}

/// The node processes, killed when dropped (also when a measurement fails half-way).
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn measure(
    base: &NodeConfig,
    args: &NodesBenchArgs,
    exe: &Path,
    dir: &Path,
    store_url: &str,
    nodes: usize,
    cores: usize,
) -> anyhow::Result<Figures> {
    let _ = std::fs::remove_dir_all(dir);
    ferry_store::private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let polls = PollSeconds { orders: 1.0, fulfilment: 600.0, crm: 120.0 };
    let flows_dir = dir.join("flows");
    write_flows(base, &flows_dir, false, Some(&args.buyer_pii), polls)?;
    let tls = SandboxTls::generate()?;
    let ca_file = dir.join("sandbox-ca.pem");
    tls.write_ca(&ca_file).with_context(|| format!("cannot write {}", ca_file.display()))?;
    let amazon_config = AmazonSandboxConfig {
        tls: Some(tls.clone()),
        order_lifecycle: false,
        rate_limits: false,
        ..AmazonSandboxConfig::default()
    };
    let amazon = AmazonSandbox::start(amazon_config.clone()).await?;
    let dataverse = DataverseSandbox::start(DataverseSandboxConfig {
        limits: ServiceLimits::off(),
        tls: Some(tls),
        ..DataverseSandboxConfig::default()
    })
    .await?;
    dataverse.seed_reference_data().map_err(|e| anyhow::anyhow!("seeding Dataverse reference data: {e:?}"))?;
    let skus = prepare_crm(&dataverse, &ca_file).await?;
    let sandboxes =
        Sandboxes { amazon: &amazon, amazon_config: &amazon_config, dataverse: &dataverse, ca_file: &ca_file };
    let mut cfg = base.clone();
    cfg.data_dir = dir.join("data");
    cfg.flows_dir = flows_dir;
    cfg.store_url = store_url.to_owned();
    cfg.connections = sandboxes.connections(UNLIMITED_SCALE, UNLIMITED_SCALE, polls, false)?;
    // Creates the master key the nodes share (one data folder), the schema and the tenant.
    let store = crate::node::open_store(&cfg).await?;
    let key = super::master_key(&cfg)?;
    seal_sandbox_credentials(&store, &cfg, &key, &amazon_config, "bench-webhook-key-not-used").await?;
    drop(store);

    // The backlog waits before any node starts (a poll that ran before the orders appeared
    // would move its cursor past their update times), and the clock starts with the nodes.
    let ids = amazon.seed_orders(args.orders, 0.0);
    let want = amazon.with_orders(|o| {
        ids.iter()
            .filter_map(|id| o.by_id.get(id))
            .filter(|order| {
                order.status != ferry_sandbox::amazon::state::Status::Pending
                    && order.items.iter().all(|i| skus.contains(&i.sku))
            })
            .count()
    });
    let started = Instant::now();
    let ports: Vec<u16> = (0..nodes).map(|_| free_port()).collect::<anyhow::Result<_>>()?;
    let mut children = Children(Vec::new());
    for (n, port) in ports.iter().enumerate() {
        let config = write_node_config(dir, &cfg, n, *port, args)?;
        let log = std::fs::File::create(dir.join(format!("node-{n}.log")))?;
        let mut command = Command::new("taskset");
        command.arg("-c").arg((n % cores).to_string()).arg(exe).arg("--config").arg(&config).arg("run");
        // The node reads its settings from its file only (no FERRY_* from this shell).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("FERRY_") {
                command.env_remove(name);
            }
        }
        command.env("FERRY_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log));
        children.0.push(command.spawn().context("cannot start `taskset … ferry run`")?);
    }
    wait_ready(&ports, &mut children, dir).await?;
    let limit = Duration::from_secs_f64(60.0 + args.orders as f64 / 20.0);
    let (mut at_10, mut at_90) = (None, None);
    loop {
        let written = dataverse.row_count("salesorders");
        let elapsed = started.elapsed().as_secs_f64();
        if at_10.is_none() && written * 10 >= want {
            at_10 = Some((elapsed, written));
        }
        if at_90.is_none() && written * 10 >= want * 9 {
            at_90 = Some((elapsed, written));
        }
        if written >= want {
            break;
        }
        if started.elapsed() > limit {
            anyhow::bail!(
                "{nodes} node(s): only {written} of {want} orders in the CRM after {:.0} s (node logs in {})",
                limit.as_secs_f64(),
                dir.display()
            );
        }
        for (n, child) in children.0.iter_mut().enumerate() {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "node {n} stopped ({status}) mid-run; its log: {}",
                    dir.join(format!("node-{n}.log")).display()
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(children);
    let steady_rate = match (at_10, at_90) {
        (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => (n1 - n0) as f64 / (t1 - t0),
        _ => want as f64 / seconds.max(1e-9),
    };
    Ok(Figures { written: want, seconds, steady_rate })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Node `n`'s config file: the shared settings, its own id and port.
fn write_node_config(
    dir: &Path,
    cfg: &NodeConfig,
    n: usize,
    port: u16,
    args: &NodesBenchArgs,
) -> anyhow::Result<PathBuf> {
    let mut node = toml::Table::new();
    node.insert("id".into(), format!("bench-node-{n}").into());
    node.insert("data_dir".into(), cfg.data_dir.display().to_string().into());
    node.insert("flows_dir".into(), cfg.flows_dir.display().to_string().into());
    node.insert("listen".into(), format!("127.0.0.1:{port}").into());
    let mut store = toml::Table::new();
    store.insert("url".into(), cfg.store_url.clone().into());
    let mut workers = toml::Table::new();
    workers.insert("count".into(), i64::from(args.workers).into());
    workers.insert("concurrency".into(), i64::from(args.concurrency).into());
    let connections: Vec<toml::Value> =
        cfg.connections.iter().map(super::sandbox::connection_toml).collect::<anyhow::Result<_>>()?;
    let mut root = toml::Table::new();
    root.insert("node".into(), node.into());
    root.insert("store".into(), store.into());
    root.insert("workers".into(), workers.into());
    root.insert("connections".into(), connections.into());
    let path = dir.join(format!("ferry-{n}.toml"));
    std::fs::write(&path, toml::to_string(&root)?).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Waits until every node answers `/readyz`; a node that exits meanwhile fails the run.
async fn wait_ready(ports: &[u16], children: &mut Children, dir: &Path) -> anyhow::Result<()> {
    let client = ferry_connectors::http::client(&Default::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    for (n, port) in ports.iter().enumerate() {
        loop {
            let ready = client
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            if let Some(status) = children.0[n].try_wait()? {
                anyhow::bail!(
                    "node {n} exited ({status}) while starting; its log: {}",
                    dir.join(format!("node-{n}.log")).display()
                );
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "node {n} was not ready within 60 s; its log: {}",
                    dir.join(format!("node-{n}.log")).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
