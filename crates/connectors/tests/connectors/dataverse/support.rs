//! A sandbox and a connector client pointed at it.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferry_connectors::dataverse::{DataverseClient, DataverseConfig};
use ferry_runtime::failure::Failure;
use ferry_sandbox::dataverse::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DataverseSandbox, DataverseSandboxConfig,
};
use ferry_store::secrets::SecretValue;

pub async fn sandbox(config: DataverseSandboxConfig) -> DataverseSandbox {
    DataverseSandbox::start(customised(config)).await.expect("sandbox starts")
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

/// Runs `count` writes on `workers` tasks. A throttled write waits what the connector was
/// told (as the runtime does) and is sent again; any other failure fails the test.
pub async fn drive<F, Fut>(client: &DataverseClient, count: usize, workers: usize, write: F) -> u64
where
    F: Fn(DataverseClient, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), Failure>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let throttled = Arc::new(AtomicUsize::new(0));
    let write = Arc::new(write);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (next, throttled, write, client) = (next.clone(), throttled.clone(), write.clone(), client.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                loop {
                    match write(client.clone(), i).await {
                        Ok(()) => break,
                        Err(Failure::Throttled { retry_after, .. }) => {
                            throttled.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(1))).await;
                        }
                        Err(other) => panic!("write {i} failed: {other}"),
                    }
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    throttled.load(Ordering::Relaxed) as u64
}

/// An org customised as `ferry setup` leaves it (the flows' custom columns and keys), plus the
/// keys the connector's transformers upsert by when an org has them (price list items, and
/// contacts by email); a test that sets its own columns or keys keeps them.
pub fn customised(mut config: DataverseSandboxConfig) -> DataverseSandboxConfig {
    if config.custom_columns.is_empty() && config.alternate_keys.is_empty() {
        config.custom_columns = [
            ("salesorder", "new_amazonorderid"),
            ("salesorder", "new_marketplaceid"),
            ("salesorder", "new_fulfillmentchannel"),
            ("salesorder", "new_orderdate"),
            ("salesorder", "new_trackingnumber"),
            ("salesorder", "new_carrier"),
            ("salesorder", "new_fulfillmentstatus"),
            ("salesorder", "new_shipdate"),
            ("salesorderdetail", "new_sourcelineid"),
            ("salesorderdetail", "new_asin"),
            ("product", "new_fulfillmentchannel"),
        ]
        .iter()
        .map(|(e, c)| ((*e).to_owned(), (*c).to_owned()))
        .collect();
        config.alternate_keys = [
            ("salesorder", &["ordernumber"][..]),
            ("salesorderdetail", &["new_sourcelineid"][..]),
            ("product", &["productnumber"][..]),
            ("productpricelevel", &["_pricelevelid_value", "_productid_value", "_uomid_value"][..]),
            ("contact", &["emailaddress1"][..]),
        ]
        .iter()
        .map(|(e, cs)| ((*e).to_owned(), cs.iter().map(|c| (*c).to_owned()).collect()))
        .collect();
    }
    config
}
