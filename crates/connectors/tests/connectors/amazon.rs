//! Amazon connector tests, against the Amazon sandbox over real sockets and against Amazon's
//! own models and samples in `shared/reference/spapi`.

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

/// `shared/reference/spapi`, found from this crate's directory.
pub fn spapi_reference() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for base in manifest.ancestors() {
        let candidate = base.join("shared/reference/spapi");
        if candidate.is_dir() {
            return candidate;
        }
        let sibling = base.join("../shared/reference/spapi");
        if sibling.is_dir() {
            return sibling;
        }
    }
    panic!("shared/reference/spapi not found above {}", manifest.display());
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
    config.limits_scale = scale;
    AmazonClient::new(config).expect("client")
}
