//! Tenants and their connections kept in the store: added, listed, disabled and enabled,
//! each change audited; a disabled tenant's jobs stay queued and run once it is enabled.

use std::time::Duration;

use ferry_store::{Connection, JobState, NewJob, Store, StoreError, TenantId, TenantStatus};
use serde_json::json;

use super::common::tenant;

const LEASE: Duration = Duration::from_secs(30);

fn seller(id: &str) -> TenantId {
    id.parse().unwrap()
}

async fn tenants_are_added_listed_and_changed_with_an_audit_row_each<S: Store>(store: S) {
    let b = seller("seller-b");
    store.add_tenant(&b, "Seller B", Some(90), "cli:ops").await.unwrap();

    let list = store.tenants().await.unwrap();
    let ids: Vec<&str> = list.iter().map(|t| t.id.as_ref()).collect();
    assert_eq!(ids, ["default", "seller-b"]);
    assert_eq!(list[0].status, TenantStatus::Active, "a tenant made before migration 8 is active");
    assert_eq!(list[0].retention_days, None, "and keeps the node's retention");
    assert_eq!(
        (list[1].name.as_str(), list[1].status, list[1].retention_days),
        ("Seller B", TenantStatus::Active, Some(90))
    );

    // The same id again is refused, and changes nothing.
    match store.add_tenant(&b, "Other name", None, "cli:ops").await {
        Err(StoreError::Conflict { what: "tenant", id, .. }) => assert_eq!(id, "seller-b"),
        other => panic!("a duplicate tenant must be a conflict, got {other:?}"),
    }
    assert_eq!(store.tenants().await.unwrap()[1].name, "Seller B");

    assert!(store.set_tenant_status(&b, TenantStatus::Disabled, "cli:ops").await.unwrap(), "it changed");
    assert!(!store.set_tenant_status(&b, TenantStatus::Disabled, "cli:ops").await.unwrap(), "already disabled");
    store.set_tenant_retention(&b, None, "cli:ops").await.unwrap();
    let list = store.tenants().await.unwrap();
    assert_eq!((list[1].status, list[1].retention_days), (TenantStatus::Disabled, None));
    assert_eq!(list[0].status, TenantStatus::Active, "the other tenant is untouched");

    let ghost = seller("ghost");
    for result in [
        store.set_tenant_status(&ghost, TenantStatus::Disabled, "cli:ops").await.map(|_| ()),
        store.set_tenant_retention(&ghost, Some(5), "cli:ops").await,
    ] {
        assert!(matches!(result, Err(StoreError::NotFound { what: "tenant", .. })), "{result:?}");
    }
    assert_eq!(store.tenants().await.unwrap().len(), 2, "nothing was created for an unknown tenant");

    let actions: Vec<String> = store.audit_log(&b, 10).await.unwrap().into_iter().map(|r| r.entry.action).collect();
    assert_eq!(actions, ["tenant.retention", "tenant.disable", "tenant.add"], "newest first; no row for a no-op");
    assert!(store.audit_log(&tenant(), 10).await.unwrap().is_empty(), "nothing audited under another tenant");
}

async fn a_disabled_tenants_jobs_stay_queued_and_run_after_it_is_enabled<S: Store>(store: S) {
    let a = tenant();
    let b = seller("seller-b");
    store.add_tenant(&b, "Seller B", None, "cli:ops").await.unwrap();
    store.set_tenant_status(&b, TenantStatus::Disabled, "cli:ops").await.unwrap();
    let b_jobs: Vec<_> = store
        .enqueue(&(0..3).map(|n| NewJob::new(b.clone(), "amazon.orders", json!({ "b": n }))).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    store
        .enqueue(&(0..3).map(|n| NewJob::new(a.clone(), "amazon.orders", json!({ "a": n }))).collect::<Vec<_>>())
        .await
        .unwrap();

    let claimed = store.claim("w1", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 3, "the enabled tenant's jobs are claimed");
    assert!(claimed.iter().all(|j| j.tenant == a), "no job of the disabled tenant: {claimed:?}");
    assert!(store.claim("w1", 10, LEASE).await.unwrap().is_empty(), "nothing else is runnable");
    for id in &b_jobs {
        let job = store.job(*id).await.unwrap().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Available, 0), "queued and untouched");
    }

    assert!(store.set_tenant_status(&b, TenantStatus::Active, "cli:ops").await.unwrap());
    let claimed = store.claim("w1", 10, LEASE).await.unwrap();
    let mut ids: Vec<_> = claimed.iter().map(|j| j.id).collect();
    ids.sort();
    assert_eq!(ids, b_jobs, "enabled again: its queued jobs run");
}

async fn a_store_whose_only_tenant_is_disabled_claims_nothing<S: Store>(store: S) {
    let only = tenant();
    let id = store.enqueue(&[NewJob::new(only.clone(), "amazon.orders", json!({}))]).await.unwrap()[0].unwrap();
    store.set_tenant_status(&only, TenantStatus::Disabled, "cli:ops").await.unwrap();
    assert!(store.claim("w1", 10, LEASE).await.unwrap().is_empty());
    store.set_tenant_status(&only, TenantStatus::Active, "cli:ops").await.unwrap();
    let claimed = store.claim("w1", 10, LEASE).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
}

fn connection(tenant: &TenantId, id: &str, endpoint: &str) -> Connection {
    Connection {
        tenant: tenant.clone(),
        id: id.parse().unwrap(),
        system: "amazon".into(),
        endpoint: endpoint.into(),
        credentials_ref: Some("amazon/lwa".into()),
        limits: json!({ "scale": 2 }),
        options: json!({ "marketplace_ids": ["ATVPDKIKX0DER"], "queue_wait_seconds": 20 }),
    }
}

async fn connections_are_kept_per_tenant_with_their_options<S: Store>(store: S) {
    let a = tenant();
    let b = seller("seller-b");
    store.add_tenant(&b, "Seller B", None, "cli:ops").await.unwrap();
    let mut mine = connection(&a, "amazon", "https://sellingpartnerapi-na.amazon.com");
    assert!(store.put_connection(&mine, "cli:ops").await.unwrap(), "new");
    mine.endpoint = "https://sellingpartnerapi-eu.amazon.com".into();
    assert!(!store.put_connection(&mine, "cli:ops").await.unwrap(), "replaced");
    let theirs = connection(&b, "amazon", "https://sellingpartnerapi-fe.amazon.com");
    store.put_connection(&theirs, "cli:ops").await.unwrap();

    assert_eq!(store.connections(&a).await.unwrap(), vec![mine.clone()], "options come back as written");
    assert_eq!(store.connections(&b).await.unwrap(), vec![theirs]);

    // Removing is per tenant: B removes its own, and A's of the same id stays.
    store.remove_connection(&b, &mine.id, "cli:ops").await.unwrap();
    assert!(store.connections(&b).await.unwrap().is_empty());
    assert_eq!(store.connections(&a).await.unwrap(), vec![mine.clone()]);
    let again = store.remove_connection(&b, &mine.id, "cli:ops").await;
    assert!(matches!(again, Err(StoreError::NotFound { what: "connection", .. })), "{again:?}");

    let actions = |t: TenantId| {
        let store = store.clone();
        async move {
            store
                .audit_log(&t, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.entry.action, r.entry.subject))
                .collect::<Vec<_>>()
        }
    };
    let a_log = actions(a).await;
    assert_eq!(a_log, [("connection.update".into(), "amazon".into()), ("connection.add".into(), "amazon".into())]);
    let b_log = actions(b).await;
    assert_eq!(b_log[0], ("connection.remove".to_string(), "amazon".to_string()));
    assert_eq!(b_log[1], ("connection.add".to_string(), "amazon".to_string()));
}

crate::both_backends!(
    tenants_are_added_listed_and_changed_with_an_audit_row_each,
    a_disabled_tenants_jobs_stay_queued_and_run_after_it_is_enabled,
    a_store_whose_only_tenant_is_disabled_claims_nothing,
    connections_are_kept_per_tenant_with_their_options,
);
