//! `ferry demo`: the Amazon and Dataverse sandboxes, the engine on an embedded SQLite file and
//! the server, all in this process; the sandbox receives a stream of Amazon orders (about 2%
//! with a SKU the CRM does not know), F1 and F2 run, and the terminal shows them move.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ferry_store::Store as _;

use crate::cli::DemoArgs;
use crate::config::NodeConfig;

use super::order_world::{Limits, Progress, World, WorldOptions};

/// Share of demo orders whose first line has a SKU the CRM does not know.
const UNKNOWN_SKU_SHARE: f64 = 0.02;

pub async fn run(base: &NodeConfig, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let opts = WorldOptions {
        speedup: args.speedup,
        limits: Limits::Demo,
        order_lifecycle: true,
        store_url: None,
        buyer_pii: None,
        notifications: true,
        crm_to_fba: true,
    };
    let mut world = World::start(base, &base.data_dir.join("demo"), &opts).await?;
    println!("Ferry demo: Amazon orders → Dynamics 365 sales orders → FBA fulfilment and tracking back.");
    println!("  Amazon sandbox     {}  (SP-API, LWA, SQS queue; clock ×{})", world.amazon.base_url(), args.speedup);
    println!("  Dataverse sandbox  {}", world.dataverse.api_url());
    println!("  Ferry server       http://{}  (/healthz /readyz /metrics, webhooks)", world.server_addr);
    println!("  store              {}", world.cfg.data_dir.join("ferry.db").display());
    println!("  flows              {}", world.engine.flow_names().join(", "));
    let (ids, unknown) = world.seed_orders(args.orders, UNKNOWN_SKU_SHARE);
    println!("  seeded             {} Amazon orders ({} with a SKU the CRM does not know)", ids.len(), unknown.len());
    println!("  counters           orders done: Amazon orders in the CRM or dead-lettered, each once;");
    println!(
        "                     jobs finished: jobs of every flow (an order's notification, polls and retries are several)"
    );
    world.start_flows().await?;

    let started = Instant::now();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut last_print = Instant::now();
    let mut quiet_since: Option<(Instant, Progress)> = None;
    let deadline = started + Duration::from_secs(600);
    // Pending orders are authorised by the sandbox's lifecycle, so every valid one lands.
    let expected_crm = ids.len() - unknown.len();
    // One listener for the whole run: Ctrl-C or SIGTERM ends a demo that runs until stopped.
    let mut interrupted = std::pin::pin!(crate::node::shutdown_signal());
    let outcome = loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = &mut interrupted, if !args.exit_when_idle => break None,
        }
        let p = world.progress().await?;
        let line = format!(
            "  {:>5.1}s  orders done {:>4}/{} · CRM orders {:>4}/{expected_crm} · fulfilments {:>3} · tracked {:>3} · dead letters {:>3} · jobs finished {:>5} · queued {:>4}",
            started.elapsed().as_secs_f64(),
            p.orders_done,
            ids.len(),
            p.crm_orders,
            p.fulfilments,
            p.tracked,
            p.dead_letters,
            p.jobs_finished,
            p.queued
        );
        if tty {
            print!("\r{line}");
            let _ = std::io::stdout().flush();
        } else if last_print.elapsed() >= Duration::from_secs(2) {
            println!("{line}");
            last_print = Instant::now();
        }
        if !args.exit_when_idle {
            continue;
        }
        let settled = p.queued == 0 && p.crm_orders >= expected_crm && p.open_fulfilments == 0 && p.amazon_moving == 0;
        quiet_since = match quiet_since {
            Some((since, last)) if settled && last == p => Some((since, last)),
            _ if settled => Some((Instant::now(), p.clone())),
            _ => None,
        };
        if quiet_since.as_ref().is_some_and(|(since, _)| since.elapsed() >= Duration::from_secs(2)) {
            break Some(p);
        }
        if Instant::now() > deadline {
            break Some(p);
        }
    };
    if tty {
        println!();
    }
    let Some(p) = outcome else {
        world.stop().await;
        return Ok(ExitCode::SUCCESS);
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "summary  {} Amazon orders in {elapsed:.1} s: {} CRM sales orders, {} FBA fulfilment orders ({} shipped with tracking in the CRM), {} dead letters",
        ids.len(),
        p.crm_orders,
        p.fulfilments,
        p.tracked,
        p.dead_letters
    );
    println!(
        "         SP-API requests {} · Dataverse requests {}",
        world.amazon.stats().requests.load(std::sync::atomic::Ordering::Relaxed),
        world.dataverse.request_count()
    );
    for d in world.store.dead_letters(&world.cfg.tenant, true, 3).await? {
        println!("  dead letter {}: step `{}` — {}", d.id, d.step, d.error);
    }
    let unknown_dead = world.dead_lettered(&unknown).await?;
    world.stop().await;
    let ok = p.crm_orders == expected_crm && unknown_dead == unknown.len() && p.queued == 0;
    if ok {
        println!("every valid order is in the CRM once; every order with an unknown SKU is a dead letter naming it");
        println!("(replay them with `ferry --config … dlq replay` once the products exist)");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "demo FAILED: expected {expected_crm} CRM orders and {} unknown-SKU dead letters, got {} and {unknown_dead}",
            unknown.len(),
            p.crm_orders
        );
        Ok(ExitCode::FAILURE)
    }
}
