//! `ferry bench console`: the console's pages on a store holding a large history (1,000,000
//! finished jobs with a trace line each, 10,000 open dead letters over 50 causes by default):
//! time to first byte of the overview, a record search and the dead-letter list, median and
//! p99, on each store. Figures only.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_console::auth::{Role, issue};
use ferry_store::{Completion, NewJob, Outcome, RunRecord, Store, TenantId};

use crate::cli::ConsoleBenchArgs;

pub async fn run(args: ConsoleBenchArgs) -> anyhow::Result<ExitCode> {
    if args.dead > args.jobs {
        anyhow::bail!("--dead ({}) cannot be more than --jobs ({})", args.dead, args.jobs);
    }
    println!(
        "console benchmark: {} finished jobs (a trace line each), {} of them open dead letters over 50 causes; \
         {} requests per page; {} cores",
        args.jobs,
        args.dead,
        args.requests,
        super::bench::cores()
    );
    for kind in &args.stores {
        let bench = super::bench::BenchStore::create(kind, &args.pg_url, 8).await?;
        let figures = measure(&bench.store, &args).await;
        bench.remove().await?;
        for (page, p50, p99) in figures? {
            println!(
                "{kind:<9} {page:<22} time to first byte: median {:.1} ms, p99 {:.1} ms",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn measure(
    store: &ferry_store::AnyStore,
    args: &ConsoleBenchArgs,
) -> anyhow::Result<Vec<(&'static str, Duration, Duration)>> {
    store.migrate().await?;
    let tenant: TenantId = "bench".parse()?;
    store.ensure_tenant(&tenant, "bench").await?;
    let started = Instant::now();
    let batch = 5_000u32;
    let mut done = 0u32;
    while done < args.jobs {
        let n = batch.min(args.jobs - done);
        let jobs: Vec<NewJob> = (0..n)
            .map(|i| {
                NewJob::new(
                    tenant.clone(),
                    "amazon-orders-to-crm",
                    serde_json::json!({ "order_id": order_id(done + i) }),
                )
            })
            .collect();
        store.enqueue(&jobs).await?;
        let mut claimed = Vec::new();
        while claimed.len() < n as usize {
            let got = store.claim("bench", n, Duration::from_secs(300)).await?;
            anyhow::ensure!(!got.is_empty(), "claimed {} of {n} jobs", claimed.len());
            claimed.extend(got);
        }
        let completions: Vec<Completion> = claimed
            .iter()
            .enumerate()
            .map(|(i, job)| {
                let k = done + i as u32;
                let id = order_id(k);
                if k >= args.jobs - args.dead {
                    let error = format!(
                        "order {id} line 1: unknown SKU 'UNMAPPED-{}': no CRM product has it; add the product, then replay",
                        k % 50
                    );
                    Completion::dead(job.id, "lookup product", "permanent", &error)
                } else {
                    let trace = vec![RunRecord {
                        record: format!("amazon:order:{id}"),
                        step: "write".into(),
                        outcome: "ok".into(),
                        message: "salesorder written with 2 line(s)".into(),
                        at: jiff::Timestamp::now(),
                    }];
                    Completion { job: job.id, outcome: Outcome::done(), trace }
                }
            })
            .collect();
        store.complete("bench", &completions).await?;
        done += n;
        if done.is_multiple_of(100_000) || done == args.jobs {
            eprintln!("  filled {done} of {} jobs in {:.0} s", args.jobs, started.elapsed().as_secs_f64());
        }
    }
    let token = issue(store, &tenant, Role::Viewer, "bench", None, "bench").await?.token;
    let app = ferry_console::api::router(Arc::new(ferry_console::api::ApiState::new(store.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    // The node's own listener, with the console beside it, as `ferry run` serves it.
    let server =
        ferry_server::Server::new(store.clone(), ferry_server::ServerConfig::new(tenant.clone())).with_routes(app);
    let server = tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default())?;
    let searched = order_id(args.jobs / 2);
    let pages: [(&'static str, String); 3] = [
        ("overview", "/console".to_owned()),
        ("record search", format!("/console/records?id={searched}")),
        ("dead-letter list", "/console/dead-letters".to_owned()),
    ];
    let mut figures = Vec::new();
    for (name, path) in pages {
        let mut times = Vec::new();
        for _ in 0..args.requests {
            let sent = Instant::now();
            let response =
                http.get(format!("{base}{path}")).header("cookie", format!("ferry_console={token}")).send().await?;
            let first_byte = sent.elapsed();
            anyhow::ensure!(response.status().is_success(), "{path}: {}", response.status());
            let _ = response.bytes().await?;
            times.push(first_byte);
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        figures.push((name, at(0.5), at(0.99)));
    }
    server.abort();
    Ok(figures)
}

/// An Amazon-shaped order id, distinct per `n`.
fn order_id(n: u32) -> String {
    format!("9{:02}-{:07}-{:07}", n % 100, n / 100, n)
}
