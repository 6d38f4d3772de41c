//! Connections, xrefs, audit.

use ferry_store::{AuditEntry, Connection, Store, Xref, XrefKey};
use serde_json::json;

use super::common::tenant;

async fn connections_upsert_and_list<S: Store>(store: S) {
    let mut c = Connection {
        tenant: tenant(),
        id: "amazon-na".parse().unwrap(),
        system: "amazon".into(),
        endpoint: "https://sellingpartnerapi-na.amazon.com".into(),
        credentials_ref: Some("amazon-na/lwa".into()),
        limits: json!({ "getOrder": { "rate": 0.5, "burst": 30 } }),
        options: json!({ "marketplace_ids": ["ATVPDKIKX0DER"], "queue_wait_seconds": 20 }),
    };
    store.upsert_connection(&c).await.unwrap();
    c.endpoint = "http://127.0.0.1:9000".into();
    store.upsert_connection(&c).await.unwrap();
    let list = store.connections(&tenant()).await.unwrap();
    assert_eq!(list, vec![c]);
}

async fn xrefs_overwrite_and_stay_per_target<S: Store>(store: S) {
    let key = |target_entity: &str| XrefKey {
        tenant: tenant(),
        source_system: "amazon".into(),
        source_entity: "order".into(),
        source_id: "111-2222222-3333333".into(),
        target_system: "dataverse".into(),
        target_entity: target_entity.into(),
    };
    store.put_xref(&Xref { key: key("salesorder"), target_id: "a".into() }).await.unwrap();
    store.put_xref(&Xref { key: key("salesorder"), target_id: "b".into() }).await.unwrap();
    store.put_xref(&Xref { key: key("contact"), target_id: "c".into() }).await.unwrap();
    assert_eq!(store.xref(&key("salesorder")).await.unwrap().as_deref(), Some("b"));
    assert_eq!(store.xref(&key("contact")).await.unwrap().as_deref(), Some("c"));
    assert_eq!(store.xref(&key("account")).await.unwrap(), None);
}

async fn audit_is_newest_first<S: Store>(store: S) {
    for action in ["first", "second"] {
        store
            .audit(&AuditEntry {
                tenant: tenant(),
                actor: "cli".into(),
                action: action.into(),
                subject: "s".into(),
                detail: String::new(),
            })
            .await
            .unwrap();
    }
    let log = store.audit_log(&tenant(), 1).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entry.action, "second");
}

async fn breaker_reports_replace_the_nodes_last<S: Store>(store: S) {
    store
        .record_breakers("n1", &[("crm.example".into(), "open".into()), ("amazon".into(), "closed".into())])
        .await
        .unwrap();
    store.record_breakers("n2", &[("crm.example".into(), "half_open".into())]).await.unwrap();
    store.record_breakers("n1", &[("crm.example".into(), "closed".into())]).await.unwrap();
    let rows: Vec<(String, String, String)> =
        store.breakers().await.unwrap().into_iter().map(|b| (b.host, b.node, b.state)).collect();
    assert_eq!(
        rows,
        vec![
            ("crm.example".into(), "n1".into(), "closed".into()),
            ("crm.example".into(), "n2".into(), "half_open".into())
        ]
    );
}

async fn lookup_tables_and_rates_are_kept_per_tenant<S: Store>(store: S) {
    use ferry_store::FxRate;
    store.put_lookup(&tenant(), "warehouses", "FBA-US", &json!("WH-01")).await.unwrap();
    store.put_lookup(&tenant(), "warehouses", "FBA-US", &json!("WH-02")).await.unwrap();
    store.put_lookup(&tenant(), "currencies", "USD", &json!({ "id": "c-usd" })).await.unwrap();
    let entries: Vec<(String, String, serde_json::Value)> =
        store.lookups(&tenant()).await.unwrap().into_iter().map(|e| (e.table, e.key, e.value)).collect();
    assert_eq!(
        entries,
        vec![
            ("currencies".into(), "USD".into(), json!({ "id": "c-usd" })),
            ("warehouses".into(), "FBA-US".into(), json!("WH-02")),
        ]
    );
    let rate = FxRate { from: "EUR".parse().unwrap(), to: "USD".parse().unwrap(), rate: "1.0842".parse().unwrap() };
    store.put_rate(&tenant(), &rate).await.unwrap();
    let newer = FxRate { rate: "1.0851".parse().unwrap(), ..rate.clone() };
    store.put_rate(&tenant(), &newer).await.unwrap();
    assert_eq!(store.rates(&tenant()).await.unwrap(), vec![newer], "the newest rate replaces the old, exactly");
}

crate::both_backends!(
    lookup_tables_and_rates_are_kept_per_tenant,
    connections_upsert_and_list,
    xrefs_overwrite_and_stay_per_target,
    audit_is_newest_first,
    breaker_reports_replace_the_nodes_last,
);
