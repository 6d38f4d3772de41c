//! A sandbox and a connector client pointed at it.

#![allow(dead_code)]

use ferry_connectors::dataverse::{DataverseClient, DataverseConfig};
use ferry_sandbox::dataverse::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DataverseSandbox, DataverseSandboxConfig,
};
use ferry_store::secrets::SecretValue;

pub async fn sandbox(config: DataverseSandboxConfig) -> DataverseSandbox {
    DataverseSandbox::start(config).await.expect("sandbox starts")
}

pub fn config_for(sandbox: &DataverseSandbox) -> DataverseConfig {
    DataverseConfig::new(sandbox.base_url(), DEFAULT_TENANT, DEFAULT_CLIENT_ID, SecretValue::new(DEFAULT_CLIENT_SECRET))
        .with_authority(sandbox.authority_url())
}

pub fn client_for(sandbox: &DataverseSandbox) -> DataverseClient {
    DataverseClient::new(config_for(sandbox)).expect("client")
}

pub async fn start() -> (DataverseSandbox, DataverseClient) {
    let sandbox = sandbox(DataverseSandboxConfig::default()).await;
    let client = client_for(&sandbox);
    (sandbox, client)
}

pub fn obj(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().cloned().unwrap_or_default()
}
