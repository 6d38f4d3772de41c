//! Notifications in over SQS: SigV4, receive → inbox → delete, redelivery deduplicated.

use std::time::Duration;

use ferry_connectors::amazon::notifications::parse_notification;
use ferry_connectors::amazon::sigv4::{AwsCredentials, SigningRequest, authorization};
use ferry_connectors::amazon::sqs::{SqsConfig, SqsConsumer};
use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::failure::FailureKind;
use ferry_sandbox::amazon::AmazonSandbox;
use ferry_store::secrets::SecretValue;
use ferry_store::testing::TempDir;
use ferry_store::{Connection, NewJob, SqliteStore, Store};

#[test]
fn sigv4_matches_awss_documented_example() {
    // AWS's "create a signed request" example (IAM ListUsers, 2015-08-30).
    let headers = vec![
        ("Content-Type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned()),
        ("Host".to_owned(), "iam.amazonaws.com".to_owned()),
        ("X-Amz-Date".to_owned(), "20150830T123600Z".to_owned()),
    ];
    let query = vec![("Action".to_owned(), "ListUsers".to_owned()), ("Version".to_owned(), "2010-05-08".to_owned())];
    let request = SigningRequest { method: "GET", path: "/", query: &query, headers: &headers, body: b"" };
    let credentials = AwsCredentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: SecretValue::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        session_token: None,
    };
    let at = "2015-08-30T12:36:00Z".parse().unwrap();
    assert_eq!(
        authorization(&request, &credentials, "us-east-1", "iam", at),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, \
         Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    );
}

fn consumer(sandbox: &AmazonSandbox, secret: &str) -> SqsConsumer {
    let c = sandbox.config();
    SqsConsumer::new(SqsConfig {
        endpoint: sandbox.base_url().to_owned(),
        queue_url: sandbox.queue_url(),
        region: c.aws_region.clone(),
        credentials: AwsCredentials {
            access_key_id: c.aws_access_key_id.clone(),
            secret_access_key: SecretValue::new(secret),
            session_token: None,
        },
        tls: Default::default(),
    })
    .expect("consumer")
}

async fn store(dir: &TempDir) -> (SqliteStore, TenantId, ConnectionId) {
    let store = SqliteStore::open(&dir.path().join("ferry.db").to_string_lossy()).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let connection = ConnectionId::new("amazon").unwrap();
    store.ensure_tenant(&tenant, "Acme").await.unwrap();
    store
        .upsert_connection(&Connection {
            tenant: tenant.clone(),
            id: connection.clone(),
            system: "amazon".into(),
            endpoint: "sandbox".into(),
            credentials_ref: None,
            limits: serde_json::json!({}),
            options: serde_json::json!({}),
        })
        .await
        .unwrap();
    (store, tenant, connection)
}

#[tokio::test]
async fn notifications_reach_the_inbox_once_and_are_deleted_only_after() {
    let (sandbox, _) = super::sandbox_and_client(100_000.0).await;
    let secret = sandbox.config().aws_secret_access_key.clone();
    let sqs = consumer(&sandbox, &secret);
    let dir = TempDir::new("ferry-amazon-sqs").unwrap();
    let (store, tenant, connection) = store(&dir).await;
    let ids = sandbox.seed_orders(12, 0.0);
    assert_eq!(sandbox.queue_depth(), (12, 0), "one ORDER_CHANGE per new order");

    // A consumer that stored one event and died before deleting: its message comes back.
    let first = sqs.receive(1, 0, Some(1)).await.unwrap();
    let n = parse_notification(&first[0].body).unwrap();
    store.accept_event(&n.to_event(tenant.clone(), connection.clone()), &[]).await.unwrap();

    let jobs = |n: &ferry_connectors::amazon::notifications::Notification| {
        vec![
            NewJob::new(TenantId::new("acme").unwrap(), "amazon-orders", n.raw.expose().clone())
                .dedupe_key(n.dedupe_key()),
        ]
    };
    let mut stored = 0;
    let mut duplicates = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sandbox.queue_depth().0 > 0 {
        assert!(std::time::Instant::now() < deadline, "queue not drained: {:?}", sandbox.queue_depth());
        let report = sqs.poll_into(&store, &tenant, &connection, 1, jobs).await.unwrap();
        stored += report.stored;
        duplicates += report.duplicates;
        assert_eq!(report.unreadable, 0);
    }
    assert_eq!((stored, duplicates), (11, 1), "the redelivered message is deduplicated by its NotificationId");
    assert_eq!(sandbox.queue_depth(), (0, 12));
    let stats = store.queue_stats().await.unwrap();
    assert_eq!(stats.ready, 11, "one job per stored event (the manual one enqueued none)");
    assert_eq!(ids.len(), 12);

    // An unreadable message is hidden, not deleted and not stored.
    sqs.send("{\"hello\":1}").await.unwrap();
    let report = sqs.poll_into(&store, &tenant, &connection, 0, jobs).await.unwrap();
    assert_eq!((report.received, report.unreadable, report.stored), (1, 1, 0));
    assert_eq!(sandbox.queue_depth(), (1, 12));
    assert!(sqs.receive(10, 0, None).await.unwrap().is_empty(), "hidden for hours");
}

#[tokio::test]
async fn a_wrong_aws_secret_is_an_auth_failure() {
    let (sandbox, _) = super::sandbox_and_client(100_000.0).await;
    let failure = consumer(&sandbox, "not-the-secret").receive(1, 0, None).await.unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Auth, "{failure}");
    assert!(failure.message().contains("signature"), "{failure}");
    assert!(!failure.message().contains("not-the-secret"));
}

#[tokio::test]
async fn destinations_are_grantless_and_subscriptions_are_the_sellers() {
    let (sandbox, client) = super::sandbox_and_client(100_000.0).await;
    assert_eq!(client.get_subscription("ORDER_CHANGE").await.unwrap(), None);
    let destination =
        client.create_sqs_destination("ferry", "arn:aws:sqs:us-east-1:000000000000:ferry-notifications").await.unwrap();
    let bridge = client.create_eventbridge_destination("ferry-bridge", "us-east-1", "123456789012").await.unwrap();
    assert_eq!(client.get_destinations().await.unwrap().len(), 2);
    assert!(bridge.resource.contains_key("eventBridge"));
    let subscription = client.create_subscription("ORDER_CHANGE", &destination.destination_id, "1.0").await.unwrap();
    assert_eq!(client.get_subscription("ORDER_CHANGE").await.unwrap(), Some(subscription));
    let failure = client.create_subscription("ORDER_CHANGE", &destination.destination_id, "1.0").await.unwrap_err();
    assert!(failure.message().contains("already exists"), "{failure}");
    // Two LWA grants: one seller token, one grantless token.
    assert_eq!(sandbox.stats().lwa_requests.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[tokio::test]
async fn the_eventbridge_ingress_stores_before_it_answers_and_checks_the_key_first() {
    use ferry_connectors::amazon::webhooks::{IngressConfig, ingest};
    let dir = TempDir::new("ferry-amazon-eventbridge").unwrap();
    let (store, tenant, connection) = store(&dir).await;
    let config = IngressConfig {
        store: store.clone(),
        tenant: tenant.clone(),
        connection,
        api_key_header: "x-api-key".into(),
        api_key: SecretValue::new("eventbridge-key"),
        jobs_for: Box::new(|n| {
            vec![
                NewJob::new(TenantId::new("acme").unwrap(), "amazon-events", n.raw.expose().clone())
                    .dedupe_key(n.dedupe_key()),
            ]
        }),
        freshness: Default::default(),
    };
    let sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(super::spapi_reference().join("samples/ORDER_CHANGE.example.json")).unwrap(),
    )
    .unwrap();
    let now = jiff::Timestamp::now().to_string();
    let event = serde_json::json!({ "version": "0", "id": "1", "detail-type": "ORDER_CHANGE", "source": "aws.partner/sellingpartnerapi.amazon", "time": now, "detail": sample });
    // The HTTP framing around `ingest` is the server crate's (tested there over sockets).
    let post = |key: &str, body: String| {
        let headers = vec![("X-Api-Key".to_string(), key.to_string())];
        let config = &config;
        async move { ingest(config, &headers, body.as_bytes()).await }
    };

    let wrong = post("nope", event.to_string()).await.unwrap_err();
    assert_eq!(wrong.status(), 401);
    assert_eq!(store.queue_stats().await.unwrap().ready, 0, "nothing stored for a wrong key");
    let garbage = post("eventbridge-key", "{\"detail\":{}}".into()).await.unwrap_err();
    assert_eq!(garbage.status(), 400);
    assert!(garbage.to_string().contains("NotificationType"));

    let first = post("eventbridge-key", event.to_string()).await;
    assert_eq!(first, Ok(true), "stored, not a duplicate");
    let again = post("eventbridge-key", event.to_string()).await;
    assert_eq!(again, Ok(false), "a redelivery is recognised");
    assert_eq!(store.queue_stats().await.unwrap().ready, 1, "one job for the event delivered twice");

    // A captured delivery replayed later, or one from a clock far ahead, is refused unstored.
    let mut stale = event.clone();
    stale["time"] = serde_json::json!("2020-01-11T00:09:53Z");
    stale["detail"]["NotificationMetadata"]["NotificationId"] = serde_json::json!("stale-1");
    let refused = post("eventbridge-key", stale.to_string()).await.unwrap_err();
    assert_eq!(refused.status(), 400);
    assert!(refused.to_string().contains("2020-01-11T00:09:53Z") && refused.to_string().contains("old"), "{refused}");
    let mut ahead = stale.clone();
    ahead["time"] = serde_json::json!((jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10)).to_string());
    let refused = post("eventbridge-key", ahead.to_string()).await.unwrap_err();
    assert_eq!(refused.status(), 400);
    assert!(refused.to_string().contains("ahead"), "{refused}");
    assert_eq!(store.queue_stats().await.unwrap().ready, 1, "nothing stored for either");
    let _ = tenant;
}
