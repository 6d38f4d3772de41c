//! `ferry bench orders`: a backlog of Amazon orders through F1 (and F2 with `--with-fba`) on
//! the in-process sandboxes, on each store. Prints orders per second, the time against the
//! least the published rate limits allow, and the requests per order by operation. Figures
//! only: nothing here asserts a speed.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ferry_connectors::amazon::limits::operation_limit;
use ferry_connectors::dataverse::limits as dv_limits;

use ferry_store::Store as _;

use super::order_world::{Limits, World, WorldOptions};
use crate::cli::OrdersBenchArgs;
use crate::config::NodeConfig;

/// Orders a searchOrders page carries at most.
const PAGE_SIZE: usize = 100;

pub async fn run(base: &NodeConfig, args: OrdersBenchArgs) -> anyhow::Result<ExitCode> {
    let limits = match args.limits.as_str() {
        "off" => Limits::Off,
        "published" => Limits::Published,
        other => anyhow::bail!("--limits must be `off` or `published`, got `{other}`"),
    };
    if !matches!(args.buyer_pii.as_str(), "full" | "guest") {
        anyhow::bail!("--buyer-pii must be `full` or `guest`, got `{}`", args.buyer_pii);
    }
    if args.orders == 0 {
        anyhow::bail!("--orders must be at least 1");
    }
    println!(
        "orders benchmark: {} Amazon orders waiting, limits {}, clock ×{}, buyer data {}, notifications {}, flows {}",
        args.orders,
        args.limits,
        args.speedup,
        args.buyer_pii,
        if args.notifications { "on" } else { "off (poll only)" },
        if args.with_fba { "F1 + F2" } else { "F1" },
    );
    println!("machine: {} cores; sandboxes, engine and server in this one process", super::bench::cores());
    if args.console_clients.iter().any(|k| *k > 0) {
        println!(
            "console clients: each keeps the overview's live updates open and fetches the overview page every {} s",
            super::console_clients::FETCH_EVERY.as_secs()
        );
    }
    let mut ok = true;
    for kind in &args.stores {
        for &clients in &args.console_clients {
            let figures = match kind.as_str() {
                "sqlite" => measure(base, &args, limits, None, clients).await?,
                "postgres" => {
                    let schema = format!("bench_orders_{}_{clients}", std::process::id());
                    let url = ferry_store::create_pg_schema(&args.pg_url, &schema).await?;
                    let figures = measure(base, &args, limits, Some(url), clients).await;
                    ferry_store::drop_pg_schema(&args.pg_url, &schema).await?;
                    figures?
                }
                other => anyhow::bail!("unknown store `{other}` (use sqlite or postgres)"),
            };
            ok &= figures.complete;
            report(kind, &args, limits, &figures);
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

struct Figures {
    /// Orders F1 writes (Pending ones are left out by the flow).
    written: usize,
    /// Seconds until the CRM had all of them.
    f1_seconds: f64,
    /// Seconds until nothing was queued any more.
    idle_seconds: f64,
    complete: bool,
    amazon: BTreeMap<String, u64>,
    dataverse: BTreeMap<String, u64>,
    fulfilments: usize,
    latency_p50: Option<f64>,
    dead_letters: Vec<String>,
    /// The console clients beside the engine and what they received.
    console: Console,
}

#[derive(Debug, Default)]
struct Console {
    clients: usize,
    events: u64,
    with_budgets: u64,
    pages: u64,
    failures: u64,
}

async fn measure(
    base: &NodeConfig,
    args: &OrdersBenchArgs,
    limits: Limits,
    store_url: Option<String>,
    clients: usize,
) -> anyhow::Result<Figures> {
    let opts = WorldOptions {
        speedup: args.speedup,
        limits,
        order_lifecycle: false,
        store_url,
        buyer_pii: Some(args.buyer_pii.clone()),
        notifications: args.notifications,
        crm_to_fba: args.with_fba,
    };
    let dir = std::env::temp_dir().join(format!("ferry-bench-orders-{}", std::process::id()));
    let mut world = World::start(base, &dir, &opts).await?;
    let (ids, _) = world.seed_orders(args.orders, 0.0);
    let want = world.writable(&ids);
    let amazon_before = counts(world.amazon.stats().by_operation());
    let dataverse_before = counts(world.dataverse.requests_by_kind());
    let console = if clients > 0 {
        let token = ferry_console::auth::issue(
            &world.store,
            &world.cfg.tenant,
            ferry_console::auth::Role::Viewer,
            "bench",
            None,
            "bench",
        )
        .await?
        .token;
        Some(super::console_clients::start(&format!("http://{}", world.server_addr), &token, clients)?)
    } else {
        None
    };
    let started = Instant::now();
    world.start_flows().await?;
    // Generous: at published limits with `full`, getOrder alone needs N / 0.5 s of Amazon time.
    let limit = Duration::from_secs_f64(120.0 + args.orders as f64 * 4.0 / args.speedup);
    let every = Duration::from_millis(20);
    let f1 = world.wait_for(limit, every, |p| p.crm_orders >= want).await?;
    let f1_seconds = started.elapsed().as_secs_f64();
    let mut quiet = 0;
    let idle = world
        .wait_for(limit, every, |p| {
            let idle = p.queued == 0 && (!args.with_fba || p.open_fulfilments == 0);
            quiet = if idle { quiet + 1 } else { 0 };
            quiet >= 5
        })
        .await?;
    let idle_seconds = started.elapsed().as_secs_f64() - 5.0 * every.as_secs_f64();
    let amazon = minus(counts(world.amazon.stats().by_operation()), &amazon_before);
    let dataverse = minus(counts(world.dataverse.requests_by_kind()), &dataverse_before);
    let console = console.map_or_else(Console::default, |c| {
        let n = |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);
        Console {
            clients,
            events: n(&c.counts.events),
            with_budgets: n(&c.counts.with_budgets),
            pages: n(&c.counts.pages),
            failures: n(&c.counts.failures),
        }
    });
    let fulfilments = world.progress().await?.fulfilments;
    let latency_p50 = world.metrics.end_to_end_quantile(0.5);
    let dead_letters: Vec<String> = world
        .store
        .dead_letters(&world.cfg.tenant, true, 1_000)
        .await?
        .into_iter()
        .map(|d| format!("{} step `{}`: {}", d.flow, d.step, d.error))
        .collect();
    world.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Figures {
        written: want,
        f1_seconds,
        idle_seconds: idle_seconds.max(f1_seconds),
        complete: f1.is_some() && idle.is_some(),
        amazon,
        dataverse,
        fulfilments,
        latency_p50,
        dead_letters,
        console,
    })
}

fn counts(rows: Vec<(String, u64)>) -> BTreeMap<String, u64> {
    rows.into_iter().collect()
}

fn minus(mut after: BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    for (k, v) in after.iter_mut() {
        *v -= before.get(k).copied().unwrap_or(0).min(*v);
    }
    after.retain(|_, v| *v > 0);
    after
}

/// The least time the published limits allow to read `n` orders (the flow reads Pending ones
/// too, then leaves them out): with `full` every order is one
/// getOrder (0.5/s after a burst of 30); with `guest` the searchOrders pages carry them (one
/// call per 100, 0.0056/s after a burst of 20). Dataverse: the requests beyond 6,000 in the
/// first five-minute window at 20/s.
fn published_minimum(n: usize, full: bool, dataverse_requests: u64) -> f64 {
    let bound = |calls: usize, api: &str, op: &str| {
        operation_limit(api, op).map_or(0.0, |l| calls.saturating_sub(l.burst as usize) as f64 / l.rate)
    };
    let amazon = if full {
        bound(n, "orders_2026-01-01", "getOrder")
    } else {
        bound(n.div_ceil(PAGE_SIZE), "orders_2026-01-01", "searchOrders")
    };
    let dataverse =
        dataverse_requests.saturating_sub(u64::from(dv_limits::REQUESTS_PER_WINDOW)) as f64 / dv_limits::rate_per_sec();
    amazon.max(dataverse)
}

fn report(store: &str, args: &OrdersBenchArgs, limits: Limits, f: &Figures) {
    let n = f.written.max(1) as f64;
    let amazon_total: u64 = f.amazon.values().sum();
    let dataverse_total: u64 = f.dataverse.values().sum();
    if !f.complete {
        println!("{store:<9} DID NOT FINISH within its time limit: figures below are partial");
    }
    let console = match f.console.clients {
        0 => String::new(),
        k => format!(" with {k} console clients"),
    };
    println!(
        "{store:<9} {} orders written to the CRM in {:.2} s: {:.1} orders/s{console}; all queued work done after {:.2} s{}",
        f.written,
        f.f1_seconds,
        n / f.f1_seconds.max(1e-9),
        f.idle_seconds,
        if args.with_fba { format!(" ({} FBA fulfilment orders)", f.fulfilments) } else { String::new() },
    );
    if f.console.clients > 0 {
        let c = &f.console;
        println!(
            "          console: {} live updates received ({} showing rate-limit budgets), {} overview pages fetched, {} refused or failed",
            c.events, c.with_budgets, c.pages, c.failures
        );
    }
    if let Some(p50) = f.latency_p50 {
        println!("          median event-to-CRM latency ≤ {p50} s (histogram bucket)");
    }
    if limits == Limits::Published {
        let vendor_time = f.f1_seconds * args.speedup;
        let minimum = published_minimum(args.orders, args.buyer_pii == "full", dataverse_total);
        let ratio = if minimum > 0.0 { format!("{:.2}× the minimum", vendor_time / minimum) } else { "—".into() };
        println!(
            "          at the published limits: {vendor_time:.0} s of vendor time; the least the published rates and bursts allow is {minimum:.0} s ({ratio})"
        );
    }
    println!(
        "          SP-API {:.2} requests/order ({amazon_total}): {}",
        amazon_total as f64 / n,
        by_operation(&f.amazon, n)
    );
    println!(
        "          Dataverse {:.2} requests/order ({dataverse_total}): {}",
        dataverse_total as f64 / n,
        by_operation(&f.dataverse, n)
    );
    if !f.dead_letters.is_empty() {
        println!("          {} dead letters, e.g. {}", f.dead_letters.len(), f.dead_letters[0]);
    }
}

fn by_operation(counts: &BTreeMap<String, u64>, n: f64) -> String {
    let mut rows: Vec<_> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    rows.iter().map(|(op, c)| format!("{op} {c} ({:.2}/order)", **c as f64 / n)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::published_minimum;

    #[test]
    fn the_published_minimum_follows_the_rate_after_the_burst() {
        // 1,000 getOrder calls: 30 in the burst, 970 at 0.5/s.
        assert_eq!(published_minimum(1_000, true, 0), 1_940.0);
        // Ten searchOrders pages fit the burst of 20.
        assert_eq!(published_minimum(1_000, false, 0), 0.0);
        // 7,000 Dataverse requests: 1,000 beyond the window at 20/s.
        assert_eq!(published_minimum(1_000, false, 7_000), 50.0);
        // 2,500 pages: 2,480 at 0.0056/s.
        assert!((published_minimum(250_000, false, 0) - 2_480.0 / 0.0056).abs() < 1e-6);
    }
}
