//! `ferry sandbox`: the local simulators of Amazon and Dataverse, for trying Ferry (or any
//! SP-API / Dataverse client) without accounts. Their credentials are the sandbox's own
//! fixed test values, not secrets. Both serve HTTPS with a CA generated at start, written to
//! `sandbox-ca.pem` in the data folder: give its path as a connection's `ca_file`.

use std::net::SocketAddr;

use anyhow::Context as _;
use std::process::ExitCode;

use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig};
use ferry_sandbox::tls::SandboxTls;

use super::EXIT_BAD_INPUT;
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
    let tls = SandboxTls::generate()?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data folder {}", cfg.data_dir.display()))?;
    let ca_file = cfg.data_dir.join("sandbox-ca.pem");
    tls.write_ca(&ca_file).with_context(|| format!("cannot write {}", ca_file.display()))?;
    let amazon_config = AmazonSandboxConfig {
        tls: Some(tls.clone()),
        bind: SocketAddr::from(([127, 0, 0, 1], args.amazon_port)),
        speedup: args.speedup,
        ..AmazonSandboxConfig::default()
    };
    let amazon = AmazonSandbox::start(amazon_config.clone()).await?;
    let dataverse = DataverseSandbox::start_on(
        DataverseSandboxConfig { tls: Some(tls), ..Default::default() },
        &format!("127.0.0.1:{}", args.dataverse_port),
    )
    .await?;
    dataverse.seed_reference_data().map_err(|e| anyhow::anyhow!("seeding Dataverse reference data: {e:?}"))?;
    let seeded = if args.orders > 0 { amazon.seed_orders(args.orders, args.invalid_sku_share).len() } else { 0 };

    println!("Amazon sandbox     {}", amazon.base_url());
    println!("  LWA token        {}", amazon.token_url());
    println!("  client id        {}", amazon_config.client_id);
    println!("  marketplace      {}", amazon_config.marketplace_id);
    println!("  orders seeded    {seeded}");
    println!("Dataverse sandbox  {}", dataverse.base_url());
    println!("  Web API          {}", dataverse.api_url());
    println!("  Entra token      {}", dataverse.token_url());
    println!("CA certificate     {}", ca_file.display());
    println!("(sandbox test credentials only; Ctrl-C stops)");
    crate::node::shutdown_signal().await;
    Ok(ExitCode::SUCCESS)
}
