//! `ferry demo`: the Amazon and Dataverse sandboxes, the engine on an embedded SQLite file and
//! the server, all in this process; the sandbox receives a stream of Amazon orders (about 2%
//! with a SKU the CRM does not know), F1 and F2 run, and the terminal shows them move.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ferry_connectors::dataverse::{DataverseClient, DataverseConfig, RecordKey};

use ferry_model::ConnectionId;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{
    DataverseSandbox, DataverseSandboxConfig, ServiceLimits, WebhookAuth, WebhookRegistration,
};
use ferry_server::Server;
use ferry_store::secrets::{MasterKey, SecretValue};
use ferry_store::{AnyStore, Store};
use serde_json::json;
use tokio::sync::watch;

use crate::cli::DemoArgs;
use crate::config::{ConnectionConfig, NodeConfig};

/// Share of demo orders whose first line has a SKU the CRM lacks.
const UNKNOWN_SKU_SHARE: f64 = 0.02;
const F1_TEMPLATE: &str = include_str!("../../../../flows/amazon-orders-to-crm.yaml");
const F2_TEMPLATE: &str = include_str!("../../../../flows/crm-orders-to-fba.yaml");

/// The demo's catalogue: the Amazon sandbox's SKUs as CRM products; every fifth is shipped
/// by the seller (MFN), the rest by Amazon (FBA).
async fn seed_products(client: &DataverseClient, skus: &[String]) -> anyhow::Result<()> {
    for (n, sku) in skus.iter().enumerate() {
        let channel = if n % 5 == 4 { "MFN" } else { "FBA" };
        let body = json!({ "name": format!("Ferry sample product {}", n + 1), "new_fulfillmentchannel": channel });
        client
            .upsert(
                "products",
                &RecordKey::alternate("productnumber", sku.as_str()),
                body.as_object().unwrap_or(&Default::default()),
            )
            .await
            .map_err(|e| anyhow::anyhow!("seeding product {sku}: {e}"))?;
    }
    Ok(())
}

pub async fn run(base: &NodeConfig, args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !(args.speedup.is_finite() && args.speedup >= 1.0) {
        anyhow::bail!("--speedup must be a number ≥ 1, got {}", args.speedup);
    }
    let dir = base.data_dir.join("demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let flows_dir = dir.join("flows");
    std::fs::create_dir_all(&flows_dir)?;
    for (name, text) in [("amazon-orders-to-crm.yaml", F1_TEMPLATE), ("crm-orders-to-fba.yaml", F2_TEMPLATE)] {
        let shipped = base.flows_dir.join(name);
        let text = std::fs::read_to_string(&shipped).unwrap_or_else(|_| text.to_owned());
        std::fs::write(flows_dir.join(name), text)?;
    }

    // The two remote systems.
    let amazon_cfg = AmazonSandboxConfig { speedup: args.speedup, ..AmazonSandboxConfig::default() };
    let amazon = AmazonSandbox::start(amazon_cfg.clone()).await?;
    let crm_scale = (args.speedup / 30.0).max(1.0);
    let dv_cfg = DataverseSandboxConfig {
        limits: ServiceLimits { requests: (6000.0 * crm_scale) as u32, ..ServiceLimits::default() },
        alternate_keys: vec![("salesorderdetail".into(), vec!["new_sourcelineid".into()])],
        ..DataverseSandboxConfig::default()
    };
    let dataverse = DataverseSandbox::start(dv_cfg).await?;
    dataverse.seed_reference_data().map_err(|e| anyhow::anyhow!("seeding Dataverse reference data: {e:?}"))?;
    let dv_client = DataverseClient::new(
        DataverseConfig::new(
            dataverse.base_url(),
            ferry_sandbox::dataverse::DEFAULT_TENANT,
            ferry_sandbox::dataverse::DEFAULT_CLIENT_ID,
            SecretValue::new(ferry_sandbox::dataverse::DEFAULT_CLIENT_SECRET),
        )
        .with_authority(dataverse.authority_url()),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let skus: Vec<String> =
        (0..ferry_sandbox::amazon::seed::CATALOG_SIZE).map(ferry_sandbox::amazon::seed::catalog_sku).collect();
    seed_products(&dv_client, &skus).await?;

    // The node: embedded SQLite, the sandbox's test credentials sealed in its secrets table.
    let mut cfg = base.clone();
    cfg.node_id = Some("demo".into());
    cfg.data_dir = dir.clone();
    cfg.flows_dir = flows_dir;
    cfg.store_url = format!("sqlite://{}", dir.join("ferry.db").display());
    cfg.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let amazon_id = ConnectionId::try_from("amazon".to_string())?;
    let crm_id = ConnectionId::try_from("crm".to_string())?;
    cfg.connections = vec![
        ConnectionConfig {
            id: amazon_id.clone(),
            system: "amazon".into(),
            endpoint: amazon.base_url().to_owned(),
            credentials: Some("amazon".into()),
            limits: json!({ "scale": args.speedup }),
            options: json!({
                "marketplace_ids": [amazon_cfg.marketplace_id],
                "token_url": amazon.token_url(),
                "queue_url": amazon.queue_url(),
                "aws_region": amazon_cfg.aws_region,
                "poll_seconds": (300.0 / args.speedup).max(1.0),
                "queue_wait_seconds": 1,
                "fulfilment_poll_seconds": (600.0 / args.speedup).max(1.0),
            }),
        },
        ConnectionConfig {
            id: crm_id.clone(),
            system: "dataverse".into(),
            endpoint: dataverse.base_url(),
            credentials: Some("crm".into()),
            limits: json!({ "scale": crm_scale }),
            options: json!({
                "tenant": ferry_sandbox::dataverse::DEFAULT_TENANT,
                "client_id": ferry_sandbox::dataverse::DEFAULT_CLIENT_ID,
                "authority": dataverse.authority_url(),
                "poll_seconds": (120.0 / args.speedup).max(1.0),
            }),
        },
    ];
    let store = crate::node::open_store(&cfg).await?;
    let key = MasterKey::from_bytes(&rand_key());
    let webhook_key = hex_key();
    for (name, value) in [
        ("amazon.client_id", amazon_cfg.client_id.as_str()),
        ("amazon.client_secret", amazon_cfg.client_secret.as_str()),
        ("amazon.refresh_token", amazon_cfg.refresh_token.as_str()),
        ("amazon.aws_access_key_id", amazon_cfg.aws_access_key_id.as_str()),
        ("amazon.aws_secret_access_key", amazon_cfg.aws_secret_access_key.as_str()),
        ("crm.client_secret", ferry_sandbox::dataverse::DEFAULT_CLIENT_SECRET),
        ("crm.webhook_key", webhook_key.as_str()),
    ] {
        store.put_secret(&key.seal(&cfg.tenant, name, &SecretValue::new(value))?).await?;
    }
    let metrics = Arc::new(ferry_server::metrics::Metrics::new());
    let assembled = crate::node::assemble(&cfg, store.clone(), metrics.clone(), &key).await?;
    let engine = assembled.engine.clone().context("the demo's connections did not start the order flows")?;
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let server_addr = listener.local_addr()?;
    let server = Server::with_metrics(store.clone(), assembled.server, metrics);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let serving = tokio::spawn(async move {
        server
            .serve(listener, async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
    });
    dataverse.register_webhook(WebhookRegistration {
        url: format!("http://{server_addr}/ingress/dataverse/{crm_id}"),
        entity: "salesorder".into(),
        messages: vec!["Create".into(), "Update".into()],
        auth: WebhookAuth::WebhookKey(webhook_key.clone()),
    });

    println!("Ferry demo: Amazon orders → Dynamics 365 sales orders → FBA fulfilment and tracking back.");
    println!("  Amazon sandbox     {}  (SP-API, LWA, SQS queue; clock ×{})", amazon.base_url(), args.speedup);
    println!("  Dataverse sandbox  {}", dataverse.api_url());
    println!("  Ferry server       http://{server_addr}  (/healthz /readyz /metrics, webhooks)");
    println!("  store              {}", dir.join("ferry.db").display());
    println!("  flows              {}", engine.flow_names().join(", "));
    let ids = amazon.seed_orders(args.orders, UNKNOWN_SKU_SHARE);
    let unknown: Vec<String> = amazon.with_orders(|o| {
        ids.iter()
            .filter(|id| o.by_id.get(*id).is_some_and(|order| order.items.iter().any(|i| !skus.contains(&i.sku))))
            .cloned()
            .collect()
    });
    println!("  seeded             {} Amazon orders ({} with a SKU the CRM does not know)", ids.len(), unknown.len());

    let poll_stats = Arc::new(crate::flows::schedule::PollStats::default());
    let mut polls = engine.spawn_polls(
        store.clone(),
        stop_rx.clone(),
        poll_stats.clone(),
        jiff::SignedDuration::from_hours(24 * 8),
    );
    let pool = assembled.pool;
    let mut pool_stop = stop_rx.clone();
    let running = tokio::spawn(pool.run(async move {
        let _ = pool_stop.wait_for(|s| *s).await;
    }));

    let started = Instant::now();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut last_print = Instant::now();
    let mut quiet_since: Option<(Instant, String)> = None;
    let deadline = started + Duration::from_secs(600);
    let expected_crm = ids.len() - unknown.len();
    // One listener for the whole run: Ctrl-C or SIGTERM ends a demo that runs until stopped.
    let mut interrupted = std::pin::pin!(crate::node::shutdown_signal());
    let outcome = loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = &mut interrupted, if !args.exit_when_idle => break None,
        }
        let p = progress(&store, &amazon, &dataverse).await?;
        let line = format!(
            "  {:>5.1}s  orders in {:>4} · CRM orders {:>4}/{expected_crm} · fulfilments {:>3} · tracked {:>3} · dead letters {:>3} · queue {:>4}",
            started.elapsed().as_secs_f64(),
            p.orders_in,
            p.crm_orders,
            p.fulfilments,
            p.tracked,
            p.dead_letters,
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
        let fingerprint = format!("{p:?}");
        quiet_since = match quiet_since {
            Some((since, fp)) if settled && fp == fingerprint => Some((since, fp)),
            _ if settled => Some((Instant::now(), fingerprint)),
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
    let _ = stop_tx.send(true);
    let _ = running.await;
    while polls.join_next().await.is_some() {}
    let _ = serving.await;
    let Some(p) = outcome else { return Ok(ExitCode::SUCCESS) };
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
        amazon.stats().requests.load(std::sync::atomic::Ordering::Relaxed),
        dataverse.request_count()
    );
    let dls = store.dead_letters(&cfg.tenant, true, 3).await?;
    for d in &dls {
        println!("  dead letter {}: step `{}` — {}", d.id, d.step, d.error);
    }
    let unknown_dead = unknown_orders_dead(&store, &cfg.tenant, &unknown).await?;
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

#[derive(Debug, PartialEq)]
struct Progress {
    orders_in: u64,
    crm_orders: usize,
    fulfilments: usize,
    open_fulfilments: usize,
    tracked: usize,
    dead_letters: u64,
    queued: u64,
    /// Amazon orders the sandbox will still move on its own (Pending, AFN not yet shipped).
    amazon_moving: usize,
}

async fn progress(store: &AnyStore, amazon: &AmazonSandbox, dataverse: &DataverseSandbox) -> anyhow::Result<Progress> {
    use ferry_sandbox::amazon::fulfillment::FoStatus;
    use ferry_sandbox::amazon::state::Status;
    let q = store.queue_stats().await?;
    let (fulfilments, open_fulfilments) = amazon.with_fulfillment(|f| {
        let open = f
            .orders
            .values()
            .filter(|o| !matches!(o.status, FoStatus::Complete | FoStatus::Cancelled | FoStatus::Unfulfillable))
            .count();
        (f.orders.len(), open)
    });
    let amazon_moving = amazon.with_orders(|o| {
        o.by_id
            .values()
            .filter(|o| o.status == Status::Pending || (o.status == Status::Unshipped && o.fulfilled_by_amazon))
            .count()
    });
    let rows = dataverse.rows("salesorders");
    let tracked = rows.iter().filter(|r| r.get("new_trackingnumber").is_some_and(|v| !v.is_null())).count();
    Ok(Progress {
        orders_in: q.completed + q.dead_letters_open,
        crm_orders: rows.len(),
        fulfilments,
        open_fulfilments,
        tracked,
        dead_letters: q.dead_letters_open,
        queued: q.ready + q.scheduled + q.running,
        amazon_moving,
    })
}

/// How many of `orders` have a dead letter.
async fn unknown_orders_dead(
    store: &AnyStore,
    tenant: &ferry_model::TenantId,
    orders: &[String],
) -> anyhow::Result<usize> {
    let dls = store.dead_letters(tenant, true, 10_000).await?;
    Ok(orders.iter().filter(|id| dls.iter().any(|d| d.error.contains(id.as_str()))).count())
}

fn rand_key() -> [u8; 32] {
    rand::random()
}

fn hex_key() -> String {
    rand_key().iter().map(|b| format!("{b:02x}")).collect()
}
