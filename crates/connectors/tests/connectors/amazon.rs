//! Amazon connector tests, against the Amazon sandbox over real sockets and against Amazon's
//! own models and samples in the vendored `reference/spapi`.

mod finances;
mod fulfillment;
mod limits;
mod listings;
mod model_examples;
mod notifications;
mod orders;
mod poll;
mod reports;
mod settlement;
mod sqs;

use std::path::PathBuf;

use ferry_connectors::amazon::{AmazonClient, AmazonConfig, LwaCredentials};
use ferry_model::AmazonMarketplaceId;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_store::secrets::SecretValue;

/// The vendored `reference/spapi` at the repository's root.
pub fn spapi_reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reference/spapi")
}

/// A sandbox at `speedup` and a client configured for it (same scale).
pub async fn sandbox_and_client(speedup: f64) -> (AmazonSandbox, AmazonClient) {
    // Orders keep their seeded status: tests pick orders by status.
    let config = AmazonSandboxConfig { speedup, order_lifecycle: false, ..Default::default() };
    let sandbox = AmazonSandbox::start(config).await.expect("sandbox");
    let client = client_for(&sandbox, speedup);
    (sandbox, client)
}

pub fn client_for(sandbox: &AmazonSandbox, scale: f64) -> AmazonClient {
    let mut config = config_for(sandbox);
    config.limits_scale = scale;
    AmazonClient::new(config).expect("client")
}

/// The connector's config for `sandbox`: its credentials, marketplace, endpoint and token URL.
pub fn config_for(sandbox: &AmazonSandbox) -> AmazonConfig {
    let c = sandbox.config();
    let credentials = LwaCredentials {
        client_id: c.client_id.clone(),
        client_secret: SecretValue::new(c.client_secret.clone()),
        refresh_token: SecretValue::new(c.refresh_token.clone()),
    };
    let mut config = AmazonConfig::production(
        ferry_connectors::amazon::Region::NorthAmerica,
        credentials,
        vec![AmazonMarketplaceId::new(c.marketplace_id.clone()).expect("marketplace")],
    );
    config.endpoint = sandbox.base_url().to_owned();
    config.token_url = sandbox.token_url();
    config
}
