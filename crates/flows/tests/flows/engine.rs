//! A tenant engine built from flow files: each file an instance of its template over the
//! connections it binds; an event reaches every instance that subscribes to it, and only on
//! the connection it arrived on; instances keep their jobs apart.

use std::sync::Arc;

use ferry_connectors::amazon::notifications::parse_notification;
use ferry_flows::TenantEngine;
use ferry_flows::connectors::BuildContext;
use ferry_runtime::Resilience;
use ferry_store::secrets::{MasterKey, SecretValue};
use ferry_store::{AnyStore, Store, TenantId};

use super::support::{F1, F2, Folder, connection, pair, shipped};

/// A SQLite store holding the secrets of `connections` for `tenant`.
async fn store_with_secrets(dir: &std::path::Path, tenant: &TenantId, key: &MasterKey, prefixes: &[&str]) -> AnyStore {
    let store = AnyStore::open(&format!("sqlite://{}", dir.join("ferry.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    store.ensure_tenant(tenant, tenant.as_ref()).await.unwrap();
    for prefix in prefixes {
        for field in ["client_id", "client_secret", "refresh_token"] {
            let name = format!("{prefix}.{field}");
            let sealed = key.seal(tenant, &name, &SecretValue::new(format!("{prefix}-{field}"))).unwrap();
            store.put_secret(&sealed, "test").await.unwrap();
        }
    }
    store
}

fn sample(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reference/spapi/samples").join(name);
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn two_instances_of_one_template_route_only_their_own_connections_events_and_keep_their_jobs_apart() {
    let tenant: TenantId = "seller-a".parse().unwrap();
    let key = MasterKey::from_bytes(&[7; 32]);
    let state = Folder::new(&[]);
    let store = store_with_secrets(state.path(), &tenant, &key, &["amazon", "amazon-eu", "crm"]).await;
    let eu = shipped(F1)
        .replace("name: amazon-orders-to-crm", "name: amazon-eu-orders\ntemplate: amazon-orders-to-crm")
        .replace("connections: { amazon: amazon, crm: crm }", "connections: { amazon: amazon-eu, crm: crm }");
    let off = shipped(F2).replace("name: crm-orders-to-fba", "name: crm-orders-to-fba\nenabled: false");
    let flows = Folder::new(&[(F1, shipped(F1)), ("eu.yaml", eu), (F2, off)]);
    let mut connections = pair();
    connections.push(connection("amazon-eu", "amazon", "http://127.0.0.1:9"));
    let resilience = Arc::new(Resilience::default());
    let ctx = BuildContext { tenant: &tenant, store: &store, key: &key, resilience: &resilience };
    let engine = TenantEngine::build(&ctx, &connections, flows.path()).await.unwrap();

    assert_eq!(engine.flow_names(), vec!["amazon-eu-orders", "amazon-orders-to-crm"], "F2 is disabled: not run");
    let notification = parse_notification(&sample("ORDER_CHANGE.example.json")).unwrap();
    let us: ferry_model::ConnectionId = "amazon".to_string().try_into().unwrap();
    let eu: ferry_model::ConnectionId = "amazon-eu".to_string().try_into().unwrap();
    let on_us = engine.router.amazon(&us, &notification);
    let on_eu = engine.router.amazon(&eu, &notification);
    assert_eq!(on_us.len(), 1, "one instance binds the US account");
    assert_eq!(on_eu.len(), 1, "one instance binds the EU account");
    assert_eq!(on_us[0].flow, "amazon-orders-to-crm");
    assert_eq!(on_eu[0].flow, "amazon-eu-orders");
    assert_eq!(on_us[0].tenant, tenant);
    assert_ne!(on_us[0].dedupe_key, on_eu[0].dedupe_key, "one order in two instances is two jobs");
    assert_ne!(on_us[0].record, on_eu[0].record, "and they do not coalesce into each other");
    assert!(on_eu[0].record.as_deref().unwrap_or_default().starts_with("amazon-eu-orders/"));
    let fulfilment = parse_notification(&sample("FULFILLMENT_ORDER_STATUS.example.json")).unwrap();
    assert!(engine.router.amazon(&us, &fulfilment).is_empty(), "F2's status companion is off with F2");
}

#[tokio::test]
async fn a_missing_secret_names_the_secret_and_how_to_set_it() {
    let tenant: TenantId = "seller-b".parse().unwrap();
    let key = MasterKey::from_bytes(&[9; 32]);
    let state = Folder::new(&[]);
    let store = store_with_secrets(state.path(), &tenant, &key, &["amazon"]).await;
    let flows = Folder::new(&[(F1, shipped(F1))]);
    let resilience = Arc::new(Resilience::default());
    let ctx = BuildContext { tenant: &tenant, store: &store, key: &key, resilience: &resilience };
    let err = TenantEngine::build(&ctx, &pair(), flows.path()).await.err().expect("no crm secret");
    assert_eq!(err.to_string(), "secret crm.client_secret is not set (ferry secrets set crm.client_secret)");
}
