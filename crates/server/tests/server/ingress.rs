//! Webhook ingress: acknowledged only once stored, keys checked before anything is stored,
//! bad bodies refused with the reason.

use ferry_connectors::dataverse::webhooks::parse_event;
use ferry_store::Store;
use serde_json::Value;

use crate::{
    API_KEY, API_KEY_HEADER, DATAVERSE_CODE, Harness, dataverse_sample, fresh_order_change, order_change_event,
    order_change_with_id, oversized_body,
};

const ORDER_CHANGE_KEY: &str = "amazon:ORDER_CHANGE:d0e9e693-c3ad-4373-979f-ed4ec98dd746";

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {body}"))
}

async fn ready_jobs<S: Store>(h: &Harness<S>) -> u64 {
    h.store.queue_stats().await.expect("queue stats").ready
}

#[tokio::test]
async fn an_eventbridge_event_is_in_the_inbox_when_acknowledged_and_a_redelivery_enqueues_nothing() {
    let h = Harness::start().await;
    let event = order_change_event().to_string();

    let (status, body) = h.post_amazon(Some(API_KEY), event.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body), serde_json::json!({ "stored": true, "duplicate": false }));
    assert_eq!(ready_jobs(&h).await, 1, "the event's job is enqueued with it");

    let (status, body) = h.post_amazon(Some(API_KEY), event).await;
    assert_eq!(status, 200, "a redelivery is acknowledged so EventBridge stops retrying");
    assert_eq!(json(&body), serde_json::json!({ "stored": true, "duplicate": true }));
    assert_eq!(ready_jobs(&h).await, 1, "a redelivery enqueues nothing");
    assert!(h.in_inbox("amazon", ORDER_CHANGE_KEY).await, "the acknowledged event is in the inbox");
}

#[tokio::test]
async fn concurrent_deliveries_are_each_acknowledged_once_stored() {
    let h = Harness::start().await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = h
            .http
            .post(h.url("/ingress/amazon/eventbridge"))
            .header(API_KEY_HEADER, API_KEY)
            .body(fresh_order_change().to_string());
        calls.spawn(async move {
            let response = request.send().await.expect("request");
            (response.status().as_u16(), response.text().await.expect("body"))
        });
    }
    while let Some(answer) = calls.join_next().await {
        let (status, body) = answer.expect("call task");
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["duplicate"], false);
    }
    assert_eq!(ready_jobs(&h).await, 20, "every acknowledged event has its job");
}

#[tokio::test]
async fn a_wrong_or_missing_api_key_is_refused_with_401_before_anything_is_stored() {
    let h = Harness::start().await;
    let event = order_change_event().to_string();

    for key in [Some("not-the-key"), Some(""), None] {
        let (status, body) = h.post_amazon(key, event.clone()).await;
        assert_eq!(status, 401, "key {key:?}: {body}");
        assert!(json(&body)["error"].as_str().is_some_and(|e| e.contains("API key")), "{body}");
        assert!(!body.contains(API_KEY), "the answer never echoes the key");
    }
    // The key is checked before the body is even read: garbage with a wrong key is still 401.
    assert_eq!(h.post_amazon(Some("nope"), "garbage").await.0, 401);
    assert_eq!(ready_jobs(&h).await, 0, "nothing enqueued");
    assert!(!h.in_inbox("amazon", ORDER_CHANGE_KEY).await, "nothing stored");
}

#[tokio::test]
async fn a_malformed_body_is_refused_with_400_naming_what_is_wrong_and_nothing_is_stored() {
    let h = Harness::start().await;
    let mut no_id = order_change_event();
    no_id["detail"]["NotificationMetadata"].as_object_mut().expect("metadata").remove("NotificationId");
    let mut no_order = order_change_event();
    no_order["detail"]["Payload"]["OrderChangeNotification"].as_object_mut().expect("payload").remove("AmazonOrderId");
    let cases = [
        ("{\"detail\": ", "not JSON".to_owned()),
        ("{\"detail\":{}}", "NotificationType".to_owned()),
        ("[1,2,3]", "envelope".to_owned()),
        (&no_id.to_string() as &str, "NotificationMetadata.NotificationId".to_owned()),
        (&no_order.to_string() as &str, "AmazonOrderId".to_owned()),
    ];
    for (body, names) in cases {
        let (status, answer) = h.post_amazon(Some(API_KEY), body.to_owned()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = json(&answer)["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(&names), "the error names `{names}`: {error}");
    }
    let (status, _) = h.post_amazon(Some(API_KEY), vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(status, 400, "a body that is not UTF-8");
    assert_eq!(ready_jobs(&h).await, 0, "nothing enqueued");
}

#[tokio::test]
async fn a_body_over_the_eventbridge_limit_is_refused_with_a_json_413() {
    let h = Harness::start().await;
    let (status, body) = h.post_amazon(Some(API_KEY), oversized_body()).await;
    assert_eq!(status, 413);
    assert!(json(&body)["error"].as_str().is_some_and(|e| e.contains("at most")), "{body}");
    assert_eq!(ready_jobs(&h).await, 0);
}

#[tokio::test]
async fn an_eventbridge_event_outside_the_freshness_window_is_refused_and_not_stored() {
    let h = Harness::start().await;
    let now = jiff::Timestamp::now();
    for (id, time, says) in [
        ("stale-1", now - jiff::SignedDuration::from_mins(6), "old"),
        ("stale-2", "2020-01-11T00:09:53Z".parse().expect("time"), "old"),
        ("ahead-1", now + jiff::SignedDuration::from_mins(5), "ahead"),
    ] {
        let mut event = order_change_with_id(id);
        event["time"] = serde_json::json!(time.to_string());
        let (status, body) = h.post_amazon(Some(API_KEY), event.to_string()).await;
        assert_eq!(status, 400, "{id}: {body}");
        let error = json(&body)["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(says) && error.contains(&time.to_string()), "{id}: {error}");
        assert!(!h.in_inbox("amazon", &format!("amazon:ORDER_CHANGE:{id}")).await, "{id} is not stored");
    }
    let mut no_time = order_change_with_id("no-time");
    no_time.as_object_mut().expect("event").remove("time");
    let (status, body) = h.post_amazon(Some(API_KEY), no_time.to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("`time`"), "{body}");
    // Inside the window (a retry a few minutes later) is stored.
    let mut retried = order_change_with_id("retried-1");
    retried["time"] = serde_json::json!((now - jiff::SignedDuration::from_mins(4)).to_string());
    assert_eq!(h.post_amazon(Some(API_KEY), retried.to_string()).await.0, 200);
    assert_eq!(ready_jobs(&h).await, 1);
}

/// A Dataverse RemoteExecutionContext built here, with `operation_id`.
fn dataverse_call(operation_id: &str) -> String {
    serde_json::json!({
        "MessageName": "Update",
        "PrimaryEntityName": "contact",
        "PrimaryEntityId": "5e8d7a9c-2f3b-4c1d-9e8f-7a6b5c4d3e2f",
        "OperationId": operation_id,
        "CorrelationId": "b1c2d3e4-0000-4000-8000-000000000001",
        "Depth": 1,
        "Stage": 40,
        "InputParameters": [],
    })
    .to_string()
}

async fn ids_the_store_cannot_index_are_refused_with_400<S: Store>(h: &Harness<S>) {
    let long = "a".repeat(200 * 1024);
    for (id, says) in [("bad\u{0}id", "U+0000"), (long.as_str(), "204800 bytes")] {
        let (status, body) = h.post_amazon(Some(API_KEY), order_change_with_id(id).to_string()).await;
        assert_eq!(status, 400, "{says}: {body}");
        let error = json(&body)["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains("NotificationMetadata.NotificationId") && error.contains(says), "{error}");

        let (status, body) = h.post_dataverse(&format!("crm?code={DATAVERSE_CODE}"), dataverse_call(id)).await;
        assert_eq!(status, 400, "{says}: {body}");
        let error = json(&body)["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains("OperationId") && error.contains(says), "{error}");
    }
    assert_eq!(ready_jobs(h).await, 0, "nothing enqueued");
    // The store still takes well-formed events.
    assert_eq!(h.post_amazon(Some(API_KEY), order_change_with_id("fine-1").to_string()).await.0, 200);
    assert_eq!(h.post_dataverse(&format!("crm?code={DATAVERSE_CODE}"), dataverse_call("fine-2")).await.0, 200);
    assert_eq!(ready_jobs(h).await, 2);
}

#[tokio::test]
async fn a_nul_or_200_kb_id_gets_400_on_sqlite() {
    ids_the_store_cannot_index_are_refused_with_400(&Harness::start().await).await;
}

#[tokio::test]
async fn a_nul_or_200_kb_id_gets_400_on_postgresql() {
    let Some(h) = Harness::start_pg().await else { return };
    ids_the_store_cannot_index_are_refused_with_400(&h).await;
}

#[tokio::test]
async fn the_dataverse_remote_execution_context_is_stored_once_with_its_job() {
    let h = Harness::start().await;
    let sample = dataverse_sample();
    let event = parse_event(&sample).expect("the sample parses");
    let dedupe_key = format!("dataverse:{}:{}:{}", event.entity, event.id, event.operation_id);
    let path = format!("crm?code={DATAVERSE_CODE}");

    let (status, body) = h.post_dataverse(&path, sample.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body), serde_json::json!({ "stored": true, "duplicate": false }));
    assert_eq!(ready_jobs(&h).await, 1);

    let (status, body) = h.post_dataverse(&path, sample).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["duplicate"], true);
    assert_eq!(ready_jobs(&h).await, 1, "a redelivery enqueues nothing");
    assert!(h.in_inbox("crm", &dedupe_key).await, "the contact update is in the inbox");
}

#[tokio::test]
async fn dataverse_calls_without_the_key_to_an_unknown_connection_or_with_a_bad_body_are_refused() {
    let h = Harness::start().await;
    let sample = dataverse_sample();

    let (status, body) = h.post_dataverse("crm", sample.clone()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("code parameter is missing"), "{body}");
    let (status, body) = h.post_dataverse("crm?code=guess", sample.clone()).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains(DATAVERSE_CODE), "the answer never echoes the key");

    let (status, body) = h.post_dataverse(&format!("erp?code={DATAVERSE_CODE}"), sample).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("`erp`"), "the answer names the connection: {body}");

    let mut no_id: Value = serde_json::from_slice(&dataverse_sample()).expect("sample");
    no_id.as_object_mut().expect("object").remove("PrimaryEntityId");
    let (status, body) = h.post_dataverse(&format!("crm?code={DATAVERSE_CODE}"), no_id.to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("PrimaryEntityId"), "{body}");
    let (status, body) = h.post_dataverse(&format!("crm?code={DATAVERSE_CODE}"), "{\"MessageName\": ").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 1"), "the JSON error says where: {body}");

    assert_eq!(ready_jobs(&h).await, 0, "nothing enqueued");
}

#[tokio::test]
async fn an_event_the_store_cannot_take_is_answered_503_so_the_sender_retries() {
    let h = Harness::start().await;
    h.store.pool().close().await;
    let (status, body) = h.post_amazon(Some(API_KEY), order_change_event().to_string()).await;
    assert_eq!(status, 503, "{body}");
    let (status, body) = h.post_dataverse(&format!("crm?code={DATAVERSE_CODE}"), dataverse_sample()).await;
    assert_eq!(status, 503, "{body}");
}

#[tokio::test]
async fn webhooks_sent_by_the_dataverse_sandbox_are_stored_and_answered_200() {
    use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig, WebhookAuth, WebhookRegistration};
    let h = Harness::start().await;
    let sandbox = DataverseSandbox::start(DataverseSandboxConfig::default()).await.expect("sandbox starts");
    sandbox.register_webhook(WebhookRegistration {
        url: h.url("/ingress/dataverse/crm"),
        entity: "transactioncurrency".into(),
        messages: vec!["Create".into()],
        auth: WebhookAuth::WebhookKey(DATAVERSE_CODE.into()),
    });
    sandbox.seed_reference_data().expect("seed");
    // The sandbox delivers on its own task, as Dataverse does; wait for its record of the call.
    let mut deliveries = Vec::new();
    for _ in 0..250 {
        deliveries = sandbox.webhook_deliveries();
        if !deliveries.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(deliveries.len(), 1, "one currency created: {deliveries:?}");
    assert_eq!(deliveries[0].outcome, Ok(200), "the sender saw the acknowledgement");
    assert_eq!(ready_jobs(&h).await, 1, "the event's job is enqueued with it");
    // The operation id is the sandbox's own: the job enqueued with the event carries it.
    let job = h.store.claim("test-node/w0", 1, std::time::Duration::from_secs(60)).await.expect("claim");
    assert_eq!(job.len(), 1);
    assert_eq!(job[0].flow, "crm-contacts");
    let payload: Value = job[0].payload_as().expect("payload");
    assert_eq!(payload["id"], deliveries[0].record_id.to_string());
    let operation = payload["operation"].as_str().expect("operation id");
    let key = format!("dataverse:transactioncurrency:{}:{operation}", deliveries[0].record_id);
    assert!(h.in_inbox("crm", &key).await, "the delivered event is in the inbox");
    sandbox.shutdown().await;
}
