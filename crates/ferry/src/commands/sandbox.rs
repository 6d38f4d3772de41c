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
    let crm_knobs = args.crm_faults.knobs();
    if let Err(e) = crm_knobs.validate() {
        eprintln!("error: --crm-{}: {}", e.field.replace('_', "-"), e.message);
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
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
    if !args.crm_stock {
        set_up_crm(&dataverse, &ca_file).await?;
    }
    if !crm_knobs.is_empty() {
        dataverse.apply_faults(&crm_knobs).map_err(|e| anyhow::anyhow!("--crm-{}", e))?;
    }
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

/// Prepares the Dataverse sandbox as `ferry setup crm` would (through the metadata API), so
/// `ferry run` against it works at once; `--crm-stock` leaves it a stock org.
async fn set_up_crm(dataverse: &DataverseSandbox, ca_file: &std::path::Path) -> anyhow::Result<()> {
    use ferry_connectors::dataverse::{DataverseClient, DataverseConfig};
    let client = DataverseClient::new(
        DataverseConfig::new(
            dataverse.base_url(),
            ferry_sandbox::dataverse::DEFAULT_TENANT,
            ferry_sandbox::dataverse::DEFAULT_CLIENT_ID,
            ferry_store::secrets::SecretValue::new(ferry_sandbox::dataverse::DEFAULT_CLIENT_SECRET),
        )
        .with_authority(dataverse.authority_url())
        .with_tls(ferry_connectors::http::Tls::from_ca_file(ca_file)?),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let quick = super::setup::SetupOptions {
        wait_for_keys: std::time::Duration::from_secs(60),
        poll_every: std::time::Duration::from_millis(100),
    };
    super::setup::setup_crm(&client, quick, &mut |line: &str| tracing::debug!("setup: {line}")).await?;
    Ok(())
}
