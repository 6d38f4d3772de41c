//! The typed client against the sandbox: writes, conditional writes, queries, paging, state
//! changes, `$batch`, auth and error classification.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferry_connectors::dataverse::batch::{Batch, Operation, Outcome};
use ferry_connectors::dataverse::models::{FulfilledStatus, IncidentResolution, SalesOrderState};
use ferry_connectors::dataverse::{
    Concurrency, DataverseClient, DataverseConfig, Filter, Query, RecordKey, is_conflict, is_not_found,
};
use ferry_runtime::failure::{Failure, FailureKind};
use ferry_sandbox::dataverse::{DataverseSandboxConfig, FaultKnobs, ServiceLimits};
use ferry_store::secrets::SecretValue;
use serde_json::json;

use super::support::{client_for, config_for, obj, sandbox, start};

#[tokio::test]
async fn create_update_upsert_and_delete_with_conditions() {
    let (sandbox, client) = start().await;
    let id = client.create("accounts", &obj(json!({"name": "Contoso", "accountnumber": "C-1"}))).await.expect("create");
    let row = client.retrieve("accounts", &RecordKey::Id(id), &Query::new().select(&["name"])).await.expect("get");
    assert_eq!(row.str("name"), Some("Contoso"));
    let etag = row.etag.clone().expect("etag");

    // Update never creates.
    let missing = RecordKey::Id("7eb682f1-ca75-e511-80d4-00155d2a68d1".parse().expect("guid"));
    let err = client.update("accounts", &missing, &obj(json!({"name": "x"})), Concurrency::Exists).await.unwrap_err();
    assert!(is_not_found(&err), "{err}");
    assert_eq!(sandbox.row_count("accounts"), 1);

    // Optimistic concurrency: the second write with the old ETag is a conflict.
    let key = RecordKey::Id(id);
    client
        .update("accounts", &key, &obj(json!({"name": "v2"})), Concurrency::Etag(etag.clone()))
        .await
        .expect("fresh etag");
    let err = client.update("accounts", &key, &obj(json!({"name": "v3"})), Concurrency::Etag(etag)).await.unwrap_err();
    assert!(is_conflict(&err), "{err}");
    assert_eq!(err.kind(), FailureKind::Permanent);

    // Upsert by alternate key is idempotent; create-only refuses the second time.
    let order_key = RecordKey::alternate("ordernumber", "112-0000001-0000001");
    let a = client.upsert("salesorders", &order_key, &obj(json!({"name": "one"}))).await.expect("upsert");
    let b = client.upsert("salesorders", &order_key, &obj(json!({"name": "two"}))).await.expect("upsert");
    assert_eq!(a, b);
    let other = RecordKey::alternate("ordernumber", "112-0000001-0000002");
    client.create_only("salesorders", &other, &obj(json!({"name": "new"}))).await.expect("created");
    let err = client.create_only("salesorders", &other, &obj(json!({"name": "again"}))).await.unwrap_err();
    assert!(is_conflict(&err), "{err}");
    assert_eq!(sandbox.row_count("salesorders"), 2);

    client.delete("salesorders", &other, None).await.expect("delete");
    assert!(is_not_found(&client.delete("salesorders", &other, None).await.unwrap_err()));

    // Key values Dataverse cannot address are refused before sending anything.
    let before = sandbox.request_count();
    let err =
        client.upsert("salesorders", &RecordKey::alternate("ordernumber", "A/B"), &obj(json!({}))).await.unwrap_err();
    assert!(err.message().contains("'/'"), "{err}");
    assert_eq!(sandbox.request_count(), before);
}

#[tokio::test]
async fn remote_errors_are_classified_with_the_dataverse_code_and_message() {
    let (_sandbox, client) = start().await;
    let err = client.create("salesorderdetails", &obj(json!({"quantity": 1}))).await.unwrap_err();
    match &err {
        Failure::Permanent { code, message } => {
            assert_eq!(code.as_deref(), Some("400:0x80040203"));
            assert!(message.contains("'salesorderid'"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let err = client
        .create(
            "salesorders",
            &obj(json!({"customerid@odata.bind": "/contacts(7eb682f1-ca75-e511-80d4-00155d2a68d1)"})),
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("undeclared property 'customerid'"), "{err}");
}

#[tokio::test]
async fn a_wrong_secret_is_an_auth_failure_without_the_secret_in_it() {
    let sandbox = sandbox(DataverseSandboxConfig::default()).await;
    let mut config = config_for(&sandbox);
    config.client_secret = SecretValue::new("hunter2-not-it");
    let client = DataverseClient::new(config).expect("client");
    let err = client.query("accounts", &Query::new(), None).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Auth);
    assert!(err.message().contains("AADSTS7000215"), "{err}");
    assert!(!err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let sandbox =
        sandbox(DataverseSandboxConfig { token_lifetime: Duration::from_secs(1), ..Default::default() }).await;
    let client = client_for(&sandbox);
    client.query("accounts", &Query::new(), None).await.expect("first");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.query("accounts", &Query::new(), None).await.expect("a new token was fetched ahead of expiry");
}

#[tokio::test]
async fn queries_filter_select_order_count_and_page_through_next_links() {
    let (_sandbox, client) = start().await;
    for i in 0..30 {
        client
            .create("contacts", &obj(json!({"firstname": format!("P{i:02}"), "lastname": if i < 10 { "O'Neil" } else { "Smith" }, "numberofchildren": i})))
            .await
            .expect("create");
    }
    let query = Query::new()
        .select(&["firstname", "numberofchildren"])
        .filter(
            Filter::eq("lastname", "o'neil")
                .and(Filter::ge("numberofchildren", 5i64))
                .or(Filter::starts_with("firstname", "P29")),
        )
        .order_by("numberofchildren", true)
        .count();
    let page = client.query("contacts", &query, None).await.expect("query");
    let names: Vec<&str> = page.records.iter().filter_map(|r| r.str("firstname")).collect();
    assert_eq!(names, ["P29", "P09", "P08", "P07", "P06", "P05"]);
    assert_eq!(page.count, Some(6));

    assert_eq!(client.count("contacts").await.expect("count"), 30);
    let all = client.query_all("contacts", &Query::new().select(&["firstname"]), Some(7)).await.expect("pages");
    let ids: HashSet<String> = all.iter().filter_map(|r| r.str("contactid").map(str::to_owned)).collect();
    assert_eq!((all.len(), ids.len()), (30, 30));
    let first = client.query("contacts", &Query::new().select(&["firstname"]), Some(7)).await.expect("page");
    assert_eq!(first.records.len(), 7);
    assert!(
        client.next_page("http://elsewhere.example/api/data/v9.2/contacts", None).await.is_err(),
        "links elsewhere are refused"
    );
}

#[tokio::test]
async fn state_changes_use_valid_pairs_and_the_required_messages() {
    let (sandbox, client) = start().await;
    let order = client.create("salesorders", &obj(json!({"name": "SO"}))).await.expect("order");
    client.set_sales_order_state(order, SalesOrderState::Submitted).await.expect("submit");
    client.fulfill_sales_order(order, FulfilledStatus::Complete, "Shipped by FBA").await.expect("fulfil");
    let row = client
        .retrieve("salesorders", &RecordKey::Id(order), &Query::new().select(&["statecode", "statuscode"]))
        .await
        .expect("get");
    assert_eq!(
        (row.get("statecode").and_then(|v| v.as_i64()), row.get("statuscode").and_then(|v| v.as_i64())),
        (Some(3), Some(100001))
    );
    let cancelled = client.create("salesorders", &obj(json!({"name": "SO2"}))).await.expect("order");
    client.cancel_sales_order(cancelled, "Canceled on Amazon").await.expect("cancel");
    let case = client.create("incidents", &obj(json!({"title": "Damaged"}))).await.expect("case");
    client.close_incident(case, IncidentResolution::ProblemSolved, "Refunded").await.expect("close");
    assert_eq!(sandbox.row_count("orderclosures"), 2);
    assert_eq!(sandbox.row_count("incidentresolutions"), 1);
}

#[tokio::test]
async fn batches_map_results_back_including_a_rolled_back_change_set() {
    let (sandbox, client) = start().await;
    let mut batch = Batch::new();
    let mut cs = batch.change_set();
    let account = cs.add(Operation::create("accounts", obj(json!({"name": "Batch Co"}))));
    cs.add(Operation::create(
        "tasks",
        obj(json!({"subject": "call", "regardingobjectid_account_task@odata.bind": account})),
    ));
    batch.push_change_set(cs).expect("cs");
    let mut failing = batch.change_set();
    failing.add(Operation::create("accounts", obj(json!({"name": "never kept"}))));
    failing.add(Operation::create("tasks", obj(json!({"subject": "x".repeat(300)}))));
    batch.push_change_set(failing).expect("cs");
    batch.push(Operation::create("accounts", obj(json!({"name": "after"})))).expect("op");
    let results = client.execute_batch(&batch, true).await.expect("batch");
    assert_eq!(results.len(), 5);
    assert!(results[0].outcome.is_success() && results[1].outcome.is_success());
    assert_eq!(results[2].outcome, Outcome::RolledBack);
    assert!(
        matches!(&results[3].outcome, Outcome::Failed(Failure::Permanent { code: Some(c), .. }) if c == "400:0x80044331")
    );
    assert!(results[4].outcome.is_success());
    assert_eq!(sandbox.row_count("accounts"), 2);

    // Without continue-on-error the batch stops (HTTP 400) and the rest is reported not run.
    let mut batch = Batch::new();
    batch.push(Operation::create("tasks", obj(json!({"subject": "x".repeat(300)})))).expect("op");
    batch.push(Operation::create("tasks", obj(json!({"subject": "ok"})))).expect("op");
    let results = client.execute_batch(&batch, false).await.expect("decoded");
    assert!(matches!(results[0].outcome, Outcome::Failed(_)));
    assert_eq!(results[1].outcome, Outcome::NotExecuted);
}

#[tokio::test]
async fn a_429_is_throttled_with_retry_after_and_nothing_is_sent_until_it_passes() {
    let sandbox = sandbox(DataverseSandboxConfig {
        limits: ServiceLimits::default().with_requests(2, Duration::from_secs(3)),
        ..Default::default()
    })
    .await;
    let client = client_for(&sandbox);
    client.query("accounts", &Query::new(), None).await.expect("1");
    client.query("accounts", &Query::new(), None).await.expect("2");
    let err = client.query("accounts", &Query::new(), None).await.unwrap_err();
    let wait = err.retry_after().expect("Retry-After");
    assert!(wait >= Duration::from_secs(1));
    assert!(err.message().contains("service protection (number of requests)"), "{err}");
    let sent = sandbox.request_count();
    let held = client.query("accounts", &Query::new(), None).await.unwrap_err();
    assert_eq!(held.kind(), FailureKind::Throttled);
    assert!(held.retry_after().is_some_and(|w| w <= wait));
    assert_eq!(sandbox.request_count(), sent, "held back locally");
    assert_eq!(client.stats().held_back.load(Ordering::Relaxed), 1);
    tokio::time::sleep(wait).await;
    client.query("accounts", &Query::new(), None).await.expect("after the wait");
    assert_eq!(sandbox.limit_stats().early_requests, 0);
}

#[tokio::test]
async fn a_429_forced_through_the_sandbox_knobs_is_throttling_to_the_client_without_spending_the_budget() {
    let (sandbox, client) = start().await;
    sandbox
        .apply_faults(&FaultKnobs {
            force_status: Some(429),
            force_count: Some(1),
            retry_after_seconds: Some(2),
            ..FaultKnobs::default()
        })
        .expect("knobs");
    let err = client.query("accounts", &Query::new(), None).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Throttled, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert!(
        err.message().contains("service protection (number of requests)")
            && err.message().contains("Number of requests exceeded the limit of 6000 over time window of 300 seconds."),
        "{err}"
    );
    assert_eq!(sandbox.request_count(), 1, "one request was enough to see a 429");
    // The client keeps to the Retry-After, then the sandbox serves again.
    let held = client.query("accounts", &Query::new(), None).await.unwrap_err();
    assert_eq!(held.kind(), FailureKind::Throttled);
    assert_eq!(sandbox.request_count(), 1, "held back locally");
    tokio::time::sleep(Duration::from_secs(2)).await;
    client.query("accounts", &Query::new(), None).await.expect("served after the wait");

    // A forced 503 is transient.
    sandbox
        .apply_faults(&FaultKnobs { force_status: Some(503), force_count: Some(1), ..FaultKnobs::default() })
        .expect("knobs");
    let err = client.query("accounts", &Query::new(), None).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Transient, "{err}");
}

#[test]
fn service_protection_codes_are_recognised_in_both_spellings() {
    use ferry_connectors::dataverse::errors::{ServiceProtection, classify};
    for (code, kind) in [
        ("0x80072322", ServiceProtection::RequestCount),
        ("-2147015903", ServiceProtection::ExecutionTime),
        ("0x80072326", ServiceProtection::Concurrency),
    ] {
        assert_eq!(ServiceProtection::from_code(code), Some(kind));
        let body = format!(r#"{{"error":{{"code":"{code}","message":"limit"}}}}"#);
        let failure = classify(429, Some("7"), body.as_bytes());
        assert_eq!(failure.retry_after(), Some(Duration::from_secs(7)));
        assert!(failure.message().contains(kind.describe()));
    }
    assert_eq!(classify(503, None, b"").kind(), FailureKind::Transient);
    assert_eq!(
        classify(403, None, b"{\"error\":{\"code\":\"0x80040220\",\"message\":\"PrivilegeDenied\"}}").kind(),
        FailureKind::Auth
    );
    assert!(is_conflict(&classify(412, None, b"{\"error\":{\"code\":\"\",\"message\":\"x\"}}")));
    let _ = DataverseConfig::new("https://org.crm.dynamics.com", "t", "c", SecretValue::new("s")).scope();
}

#[tokio::test]
async fn outages_and_server_errors_are_transient_and_the_client_recovers() {
    let (sandbox, client) = start().await;
    sandbox.faults().start_outage(Duration::from_secs(60));
    let err = client.create("accounts", &obj(json!({"name": "x"}))).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Transient, "{err}");
    sandbox.faults().end_outage();
    sandbox.faults().set(ferry_sandbox::faults::FaultConfig { error_rate: 1.0, ..Default::default() });
    assert_eq!(client.create("accounts", &obj(json!({"name": "x"}))).await.unwrap_err().kind(), FailureKind::Transient);
    sandbox.faults().set(ferry_sandbox::faults::FaultConfig::default());
    client.create("accounts", &obj(json!({"name": "x"}))).await.expect("after the outage");
    assert_eq!(sandbox.row_count("accounts"), 1, "nothing half-written during the outage");
    drop(sandbox);
    let err = client.create("accounts", &obj(json!({"name": "x"}))).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Transient, "connection refused: {err}");
}

#[tokio::test]
async fn a_revoked_token_is_an_auth_failure_and_the_next_call_gets_a_new_one() {
    let (sandbox, client) = start().await;
    client.query("accounts", &Query::new(), None).await.expect("first");
    sandbox.revoke_tokens();
    let err = client.query("accounts", &Query::new(), None).await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Auth, "{err}");
    assert!(err.message().contains("InvalidAuthTicket"), "{err}");
    client.query("accounts", &Query::new(), None).await.expect("the cached token was dropped and replaced");
}
