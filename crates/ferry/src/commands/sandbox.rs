//! `ferry sandbox`: the local simulators of Amazon, Dataverse and F&O, for trying Ferry (or any
//! SP-API / Dataverse client) without accounts, seeded as one coherent world: the CRM knows
//! the Amazon catalogue (its SKUs as products), Amazon has orders (a share with a SKU the
//! catalogue lacks) and a closed settlement report with refunds, fees and reserves. Their
//! credentials are the sandbox's own fixed test values, not secrets. Both serve HTTPS with a
//! CA generated at start.
//!
//! Everything lives in `<data dir>/sandbox/` (emptied at each start): the CA (`sandbox-ca.pem`),
//! a node config for these sandboxes (`node.toml`), and that node's store, master key, flows
//! and sealed sandbox credentials, so `ferry run --config <data dir>/sandbox/node.toml` works
//! as printed, with no other step.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use ferry_model::Decimal;
use ferry_sandbox::amazon::reports::Reserve;
use ferry_sandbox::amazon::state::Status;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig, WebhookAuth, WebhookRegistration};
use ferry_sandbox::fno::{FnoSandbox, FnoSandboxConfig};
use ferry_sandbox::tls::SandboxTls;

use super::EXIT_BAD_INPUT;
use super::order_world::{PollSeconds, Sandboxes, prepare_crm, seal_sandbox_credentials, write_flows};
use crate::cli::SandboxArgs;
use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, args: SandboxArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.invalid_sku_share) {
        eprintln!("error: --invalid-sku-share must be between 0.0 and 1.0, got {}", args.invalid_sku_share);
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    if !(args.speedup.is_finite() && args.speedup > 0.0) {
        eprintln!("error: --speedup must be a positive number, got {}", args.speedup);
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let crm_knobs = args.crm_faults.knobs();
    if let Err(e) = crm_knobs.validate() {
        eprintln!("error: --crm-{}: {}", e.field.replace('_', "-"), e.message);
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let dir = cfg.data_dir.join("sandbox");
    let _ = std::fs::remove_dir_all(&dir);
    ferry_store::private_dir(&dir).with_context(|| format!("cannot create the sandbox folder {}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let tls = SandboxTls::generate()?;
    let ca_file = dir.join("sandbox-ca.pem");
    tls.write_ca(&ca_file).with_context(|| format!("cannot write {}", ca_file.display()))?;
    let amazon_config = AmazonSandboxConfig {
        tls: Some(tls.clone()),
        bind: SocketAddr::from(([127, 0, 0, 1], args.amazon_port)),
        speedup: args.speedup,
        ..AmazonSandboxConfig::default()
    };
    let amazon = AmazonSandbox::start(amazon_config.clone()).await?;
    let fno = FnoSandbox::start_on(
        FnoSandboxConfig { tls: Some(tls.clone()), ..Default::default() },
        &format!("127.0.0.1:{}", args.fno_port),
    )
    .await?;
    let dataverse = DataverseSandbox::start_on(
        DataverseSandboxConfig { tls: Some(tls), ..Default::default() },
        &format!("127.0.0.1:{}", args.dataverse_port),
    )
    .await?;
    dataverse.seed_reference_data().map_err(|e| anyhow::anyhow!("seeding Dataverse reference data: {e:?}"))?;
    let skus = if args.crm_stock { Vec::new() } else { prepare_crm(&dataverse, &ca_file).await? };
    if !crm_knobs.is_empty() {
        dataverse.apply_faults(&crm_knobs).map_err(|e| anyhow::anyhow!("--crm-{}", e))?;
    }
    let seeded = amazon.seed_orders(args.orders, args.invalid_sku_share);
    let unknown: Vec<(String, String)> = amazon.with_orders(|o| {
        seeded
            .iter()
            .filter_map(|id| {
                let sku = o.by_id.get(id)?.items.iter().find(|i| !is_catalogue_sku(&i.sku))?.sku.clone();
                Some((id.clone(), sku))
            })
            .collect()
    });
    let settlement = close_a_settlement(&amazon, &unknown);

    // The node for these sandboxes: its own folder, store, master key, flows and credentials.
    let node_port = match args.node_port {
        0 => free_port().context("no free port for the node's listener")?,
        port => port,
    };
    let mut node = cfg.clone();
    node.node_id = Some("sandbox-node".into());
    node.data_dir = dir.clone();
    node.flows_dir = dir.join("flows");
    node.store_url = format!("sqlite://{}", dir.join("ferry.db").display());
    node.listen = SocketAddr::from(([127, 0, 0, 1], node_port));
    node.tls = None;
    let sandboxes =
        Sandboxes { amazon: &amazon, amazon_config: &amazon_config, dataverse: &dataverse, ca_file: &ca_file };
    let polls = PollSeconds {
        orders: (60.0 / args.speedup).max(1.0),
        fulfilment: (120.0 / args.speedup).max(1.0),
        crm: (60.0 / args.speedup).max(1.0),
    };
    node.connections = sandboxes.connections(args.speedup, 1.0, polls, true)?;
    write_flows(cfg, &node.flows_dir, true, None, polls)?;
    let store = crate::node::open_store(&node).await?;
    let key = super::secrets::master_key(&node)?;
    let webhook_key: String = rand::random::<[u8; 32]>().iter().map(|b| format!("{b:02x}")).collect();
    seal_sandbox_credentials(&store, &node, &key, &amazon_config, &webhook_key).await?;
    dataverse.register_webhook(WebhookRegistration {
        url: format!("http://{}/ingress/dataverse/crm", node.listen),
        entity: "salesorder".into(),
        messages: vec!["Create".into(), "Update".into()],
        auth: WebhookAuth::WebhookKey(webhook_key),
    });
    let config_file = dir.join("node.toml");
    write_node_config(&node, &config_file)?;

    println!("Amazon sandbox     {}", amazon.base_url());
    println!("  LWA token        {}", amazon.token_url());
    println!("  client id        {}", amazon_config.client_id);
    println!("  marketplace      {}", amazon_config.marketplace_id);
    println!("  orders seeded    {}", seeded.len());
    println!("  of them unknown  {} (a SKU the CRM does not know: F1 dead-letters each once)", unknown.len());
    for (id, sku) in &unknown {
        println!("  unknown SKU      order {id}: {sku}");
    }
    println!("  settlement       report {settlement} (closed, with refunds, fees and reserves)");
    println!("Dataverse sandbox  {}", dataverse.base_url());
    println!("  Web API          {}", dataverse.api_url());
    println!("  Entra token      {}", dataverse.token_url());
    if args.crm_stock {
        println!("  (a stock org: run `ferry --config {} setup crm`; it has no products)", config_file.display());
    } else {
        println!("  products         {} (the Amazon catalogue)", skus.len());
    }
    println!("F&O sandbox        {}", fno.base_url());
    println!("  OData            {}/", fno.data_url());
    println!("  Entra token      {} (v2 scope) or {} (v1 resource)", fno.token_url(), fno.token_url_v1());
    println!(
        "  client id        {} (secret {}); companies usmf (default) and demf",
        ferry_sandbox::fno::DEFAULT_CLIENT_ID,
        ferry_sandbox::fno::DEFAULT_CLIENT_SECRET
    );
    println!("CA certificate     {}", ca_file.display());
    println!("Node config        {}", config_file.display());
    println!("  (its store holds the sandbox's test credentials; listens on {})", node.listen);
    println!("In another terminal:");
    println!("  ferry run --config {}", config_file.display());
    println!("(sandbox test credentials only; Ctrl-C stops)");
    crate::node::shutdown_signal().await;
    Ok(ExitCode::SUCCESS)
}

fn is_catalogue_sku(sku: &str) -> bool {
    (0..ferry_sandbox::amazon::seed::CATALOG_SIZE).any(|n| ferry_sandbox::amazon::seed::catalog_sku(n) == sku)
}

/// Refunds up to two shipped orders of the catalogue, charges the monthly selling plan and
/// closes a settlement period whose reserve releases last period's and holds 10% of this
/// period's sales; returns the settlement report's id.
fn close_a_settlement(amazon: &AmazonSandbox, unknown: &[(String, String)]) -> String {
    let (refundable, sales): (Vec<String>, Decimal) = amazon.with_orders(|o| {
        let shipped: Vec<_> = o.by_id.values().filter(|o| o.status == Status::Shipped).collect();
        let sales = shipped.iter().flat_map(|o| &o.items).map(|i| i.unit_price * Decimal::from(i.quantity)).sum();
        let refundable = shipped
            .iter()
            .filter(|o| !unknown.iter().any(|(id, _)| *id == o.id))
            .take(2)
            .map(|o| o.id.clone())
            .collect();
        (refundable, sales)
    });
    for id in refundable {
        // Only shipped, not yet refunded orders are chosen, so this cannot fail.
        let _ = amazon.refund_order(&id);
    }
    amazon.charge_service_fee("Subscription", "Professional selling plan", Decimal::new(3999, 2), "USD");
    let reserve = Reserve { previous: Decimal::new(25_000, 2), current: -(sales * Decimal::new(10, 2)).round_dp(2) };
    amazon.close_settlement_with("24681357900", Some(reserve))
}

/// A port on 127.0.0.1 free right now (the node binds it when `ferry run` starts).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn json_to_toml(value: &serde_json::Value) -> anyhow::Result<toml::Value> {
    serde_json::from_value(value.clone()).context("a connection setting has no TOML form")
}

/// A connection as a `[[connections]]` table of a node config (what the config loader reads).
pub fn connection_toml(c: &crate::config::ConnectionConfig) -> anyhow::Result<toml::Value> {
    let mut t = toml::Table::new();
    t.insert("id".into(), c.id.to_string().into());
    t.insert("system".into(), c.system.clone().into());
    t.insert("endpoint".into(), c.endpoint.clone().into());
    if let Some(credentials) = &c.credentials {
        t.insert("credentials".into(), credentials.clone().into());
    }
    t.insert("limits".into(), json_to_toml(&c.limits)?);
    t.insert("options".into(), json_to_toml(&c.options)?);
    Ok(t.into())
}

/// Writes `node` as a TOML node config and checks it reads back as the same config, with the
/// validation `ferry check` and `ferry run` use.
fn write_node_config(node: &NodeConfig, path: &Path) -> anyhow::Result<()> {
    let mut text = String::from(
        "# Written by `ferry sandbox` for its simulators (rewritten at each start).\n\
         # Run it with `ferry run --config <this file>`; the sandbox's test credentials are\n\
         # sealed in this node's store (see `ferry --config <this file> secrets list`).\n",
    );
    let mut root = toml::Table::new();
    let mut section = toml::Table::new();
    if let Some(id) = &node.node_id {
        section.insert("id".into(), id.clone().into());
    }
    section.insert("tenant".into(), node.tenant.to_string().into());
    section.insert("listen".into(), node.listen.to_string().into());
    section.insert("data_dir".into(), node.data_dir.display().to_string().into());
    section.insert("flows_dir".into(), node.flows_dir.display().to_string().into());
    root.insert("node".into(), section.into());
    let mut store = toml::Table::new();
    store.insert("url".into(), node.store_url.clone().into());
    root.insert("store".into(), store.into());
    let connections: Vec<toml::Value> = node.connections.iter().map(connection_toml).collect::<anyhow::Result<_>>()?;
    // [node] and [store] first, then the connections (a table serialises its keys sorted).
    text.push_str(&toml::to_string(&root).context("writing the node config")?);
    let mut rest = toml::Table::new();
    rest.insert("connections".into(), connections.into());
    text.push('\n');
    text.push_str(&toml::to_string(&rest).context("writing the node config")?);
    std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    let read = crate::config::parse(&text, &path.display().to_string(), &|_| None)
        .map_err(|e| anyhow::anyhow!("the node config written for the sandbox does not validate:\n{e}"))?;
    anyhow::ensure!(
        read.connections == node.connections && read.listen == node.listen && read.store_url == node.store_url,
        "the node config written for the sandbox does not read back as written"
    );
    Ok(())
}
