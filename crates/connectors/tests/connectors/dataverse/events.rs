//! Events in: change tracking as a polling source, and the webhook receiver.

use std::sync::atomic::{AtomicU32, Ordering};

use ferry_connectors::dataverse::webhooks::{self, WebhookAuth};
use ferry_connectors::dataverse::{Change, DeltaCursor, Query, RecordKey};
use ferry_model::{ConnectionId, TenantId};
use ferry_store::secrets::SecretValue;
use ferry_store::{Connection, SqliteStore, Store};
use serde_json::json;

use super::samples;
use super::support::{obj, start};

#[tokio::test]
async fn change_tracking_polls_with_the_delta_link_as_cursor_and_reports_deletions() {
    let (_sandbox, client) = start().await;
    let keep = client.create("accounts", &obj(json!({"name": "Keep"}))).await.expect("create");
    let drop = client.create("accounts", &obj(json!({"name": "Drop"}))).await.expect("create");
    let first = client.poll_changes("accounts", &["name", "telephone1"], None, Some(1)).await.expect("initial");
    assert_eq!(first.changes.len(), 2, "initial sync returns every row, across pages");
    let cursor = DeltaCursor::new(first.cursor.clone().into_string());
    let quiet = client.poll_changes("accounts", &["name"], Some(&cursor), None).await.expect("delta");
    assert!(quiet.changes.is_empty());

    client
        .update(
            "accounts",
            &RecordKey::Id(keep),
            &obj(json!({"telephone1": "555"})),
            ferry_connectors::dataverse::Concurrency::Exists,
        )
        .await
        .expect("update");
    client.delete("accounts", &RecordKey::Id(drop), None).await.expect("delete");
    let added = client.create("accounts", &obj(json!({"name": "New"}))).await.expect("create");
    let delta = client.poll_changes("accounts", &["name"], Some(&quiet.cursor), None).await.expect("delta");
    let mut upserted: Vec<_> = delta
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Upserted(r) => r.id("accountid"),
            _ => None,
        })
        .collect();
    upserted.sort();
    let mut expected = vec![keep, added];
    expected.sort();
    assert_eq!(upserted, expected);
    assert!(delta.changes.contains(&Change::Deleted(drop)));
    assert_ne!(delta.cursor, quiet.cursor, "the cursor moves");
    let _ = client.query("accounts", &Query::new(), None).await;
}

#[test]
fn the_reference_webhook_sample_parses_into_an_event() {
    let event =
        webhooks::parse_event(samples::WEBHOOK_REMOTEEXECUTIONCONTEXT_CONTACT_UPDATE.as_bytes()).expect("parses");
    assert_eq!((event.message.as_str(), event.entity.as_str()), ("Update", "contact"));
    assert_eq!(event.id.to_string(), "6d81597f-0f9f-e711-8122-000d3aa2331c");
    assert_eq!(event.attributes["firstname"], "James");
    assert_eq!(event.attributes["modifiedby"]["LogicalName"], "systemuser");
    assert_eq!(event.attributes["modifiedon"], "2017-09-26T00:04:07.000Z");
    assert_eq!(event.occurred_at.map(|t| t.as_millisecond()), Some(1506409448000));
    assert_eq!((event.stage, event.depth), (40, 1));
    let err = webhooks::parse_event(b"{\"MessageName\":\"Update\"}").unwrap_err();
    assert!(err.to_string().contains("PrimaryEntityName is missing"));
    assert_eq!(err.status(), 400);
}

#[test]
fn webhook_authentication_checks_the_configured_key() {
    let key = WebhookAuth::WebhookKey(SecretValue::new("k3y"));
    assert!(webhooks::verify(&key, &[], "code=k3y").is_ok());
    assert!(webhooks::verify(&key, &[], "code=k3z").is_err());
    assert!(webhooks::verify(&key, &[], "").is_err());
    let header = WebhookAuth::HttpHeader { name: "x-ferry-key".into(), value: SecretValue::new("abc") };
    assert!(webhooks::verify(&header, &[("X-Ferry-Key".into(), "abc".into())], "").is_ok());
    let err = webhooks::verify(&header, &[("x-ferry-key".into(), "abd".into())], "").unwrap_err();
    assert_eq!(err.status(), 401);
    assert!(!err.to_string().contains("abc"));
    let query =
        WebhookAuth::HttpQueryString(vec![("a".into(), SecretValue::new("1")), ("b".into(), SecretValue::new("2"))]);
    assert!(webhooks::verify(&query, &[], "b=2&a=1").is_ok());
    assert!(webhooks::verify(&query, &[], "a=1").is_err());
    // A key with reserved characters matches however the sender encoded it (form or RFC 3986).
    let odd = WebhookAuth::WebhookKey(SecretValue::new("s3cret key/+="));
    assert!(webhooks::verify(&odd, &[], "x=1&code=s3cret+key%2F%2B%3D").is_ok());
    assert!(webhooks::verify(&odd, &[], "code=s3cret%20key%2F%2B%3D").is_ok());
    assert!(webhooks::verify(&odd, &[], "code=s3cret+key/+=").is_err(), "a raw + is a space");
}

#[tokio::test]
async fn the_receiver_stores_the_event_before_answering_and_once_per_operation() {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferry-dv-hook-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let store = SqliteStore::open(&format!("sqlite://{}", dir.join("t.db").display())).await.expect("store");
    store.migrate().await.expect("migrate");
    let tenant: TenantId = "acme".parse().expect("tenant");
    let connection: ConnectionId = "crm".parse().expect("connection");
    store.ensure_tenant(&tenant, "Acme").await.expect("tenant");
    store
        .upsert_connection(&Connection {
            tenant: tenant.clone(),
            id: connection.clone(),
            system: "dataverse".into(),
            endpoint: "https://org.crm.dynamics.com".into(),
            credentials_ref: None,
            limits: json!({}),
            options: json!({}),
        })
        .await
        .expect("connection");
    let auth = WebhookAuth::WebhookKey(SecretValue::new("k"));
    let body = samples::WEBHOOK_REMOTEEXECUTIONCONTEXT_CONTACT_UPDATE.as_bytes();
    let refused = webhooks::receive(&store, &tenant, &connection, &auth, &[], "code=bad", body, |_| Vec::new()).await;
    assert_eq!(refused.map(|_| ()).unwrap_err().status(), 401);
    let (event, first) = webhooks::receive(&store, &tenant, &connection, &auth, &[], "code=k", body, |_| Vec::new())
        .await
        .expect("stored");
    assert!(first.new);
    assert_eq!(event.entity, "contact");
    let (_, again) = webhooks::receive(&store, &tenant, &connection, &auth, &[], "code=k", body, |_| Vec::new())
        .await
        .expect("stored");
    assert!(!again.new, "a redelivery is stored once");
    assert_eq!(again.event, first.event);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn temp_store(tag: &str) -> (SqliteStore, std::path::PathBuf, TenantId, ConnectionId) {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferry-dv-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let store = SqliteStore::open(&format!("sqlite://{}", dir.join("t.db").display())).await.expect("store");
    store.migrate().await.expect("migrate");
    let tenant: TenantId = "acme".parse().expect("tenant");
    let connection: ConnectionId = "crm".parse().expect("connection");
    store.ensure_tenant(&tenant, "Acme").await.expect("tenant");
    store
        .upsert_connection(&Connection {
            tenant: tenant.clone(),
            id: connection.clone(),
            system: "dataverse".into(),
            endpoint: "https://org.crm.dynamics.com".into(),
            credentials_ref: None,
            limits: json!({}),
            options: json!({}),
        })
        .await
        .expect("connection");
    (store, dir, tenant, connection)
}

#[tokio::test]
async fn the_change_tracking_source_enqueues_changes_with_the_delta_link_as_its_cursor() {
    use ferry_connectors::dataverse::ChangeTrackingSource;
    let (_sandbox, client) = start().await;
    let (store, dir, tenant, connection) = temp_store("ct").await;
    let a = client.create("contacts", &obj(json!({"lastname": "A"}))).await.expect("create");
    let b = client.create("contacts", &obj(json!({"lastname": "B"}))).await.expect("create");
    let source = ChangeTrackingSource {
        tenant: tenant.clone(),
        connection,
        entity_set: "contacts".into(),
        primary_id: "contactid".into(),
        select: vec!["lastname".into()],
        flow: "crm-contacts-to-store".into(),
        page_size: None,
        key_prefix: String::new(),
    };
    let first = source.poll(&store, &client).await.expect("initial poll");
    assert_eq!((first.changes, first.enqueued), (2, 2));
    let cursor = store.cursor(&tenant, &source.cursor_name()).await.expect("cursor").expect("stored");
    assert!(cursor.contains("$deltatoken="), "{cursor}");
    let quiet = source.poll(&store, &client).await.expect("poll");
    assert_eq!((quiet.changes, quiet.enqueued), (0, 0));
    client
        .update(
            "contacts",
            &RecordKey::Id(a),
            &obj(json!({"lastname": "A2"})),
            ferry_connectors::dataverse::Concurrency::Exists,
        )
        .await
        .expect("update");
    client.delete("contacts", &RecordKey::Id(b), None).await.expect("delete");
    let next = source.poll(&store, &client).await.expect("poll");
    assert_eq!((next.changes, next.enqueued), (2, 2));
    assert_eq!(store.queue_stats().await.expect("stats").ready, 4);
    assert_ne!(store.cursor(&tenant, &source.cursor_name()).await.expect("cursor").expect("stored"), cursor);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
