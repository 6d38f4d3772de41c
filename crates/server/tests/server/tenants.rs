//! One listener, many tenants: each tenant's webhooks on `/t/{tenant}/ingress/…`, stored for
//! that tenant alone, authenticated by that tenant's keys alone, added and removed while the
//! server serves; `/metrics` keeps every tenant's series apart.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::CallObserver;
use ferry_server::{AmazonIngress, DataverseWebhook};
use ferry_store::secrets::SecretValue;
use ferry_store::{NewJob, Store};
use serde_json::Value;

use crate::{API_KEY, API_KEY_HEADER, DATAVERSE_CODE, Harness, order_change_with_id, scrape};

const CONTACT: &str = "5e8d7a9c-2f3b-4c1d-9e8f-7a6b5c4d3e2f";

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).expect("tenant id")
}

/// Tenant `id`'s keys: every tenant has its own.
fn amazon_key(id: &str) -> String {
    format!("{id}-eventbridge-key")
}

fn dataverse_code(id: &str) -> String {
    format!("{id}-dataverse-code")
}

/// What `Ingress::set_tenant` takes for tenant `id`: EventBridge on connection `amazon` and
/// Dataverse on `crm` (the same connection ids as every other tenant), each new event
/// enqueuing one job for the tenant.
fn sources(id: &str) -> (Vec<AmazonIngress>, Vec<DataverseWebhook>) {
    let (jobs_tenant, crm_tenant) = (tenant(id), tenant(id));
    let amazon =
        AmazonIngress::new(ConnectionId::new("amazon").expect("id"), API_KEY_HEADER, SecretValue::new(amazon_key(id)))
            .jobs(move |n| vec![NewJob::new(jobs_tenant.clone(), "amazon-events", n.raw.expose().clone())]);
    let crm = DataverseWebhook::with_key(ConnectionId::new("crm").expect("id"), SecretValue::new(dataverse_code(id)))
        .jobs(move |e| vec![NewJob::new(crm_tenant.clone(), "crm-contacts", serde_json::json!({ "id": e.id }))]);
    (vec![amazon], vec![crm])
}

/// Adds tenant `id` to the store and to the running server's table.
async fn add_tenant<S: Store>(h: &Harness<S>, id: &str) {
    h.store.ensure_tenant(&tenant(id), id).await.expect("tenant");
    let (amazon, dataverse) = sources(id);
    h.ingress.set_tenant(tenant(id), amazon, dataverse);
}

/// A Dataverse RemoteExecutionContext (a contact update) with `operation_id`.
fn dataverse_call(operation_id: &str) -> String {
    serde_json::json!({
        "MessageName": "Update",
        "PrimaryEntityName": "contact",
        "PrimaryEntityId": CONTACT,
        "OperationId": operation_id,
        "CorrelationId": "b1c2d3e4-0000-4000-8000-000000000001",
        "Depth": 1,
        "Stage": 40,
        "InputParameters": [],
    })
    .to_string()
}

fn amazon_dedupe(id: &str) -> String {
    format!("amazon:ORDER_CHANGE:{id}")
}

fn dataverse_dedupe(operation_id: &str) -> String {
    format!("dataverse:contact:{CONTACT}:{operation_id}")
}

async fn post_amazon<S: Store>(h: &Harness<S>, tenant: &str, key: &str, body: String) -> (u16, String) {
    let url = h.url(&format!("/t/{tenant}/ingress/amazon/eventbridge"));
    let response = h.http.post(url).header(API_KEY_HEADER, key).body(body).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

async fn post_dataverse<S: Store>(h: &Harness<S>, tenant: &str, path_and_query: &str, body: String) -> (u16, String) {
    let url = h.url(&format!("/t/{tenant}/ingress/dataverse/{path_and_query}"));
    let response =
        h.http.post(url).header("content-type", "application/json").body(body).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

fn error_of(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {body}"));
    value["error"].as_str().unwrap_or_else(|| panic!("no error text: {body}")).to_owned()
}

/// Every ready job in the store, counted by (tenant, flow). Claims them.
async fn jobs_by_tenant<S: Store>(h: &Harness<S>) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    loop {
        let jobs = h.store.claim("test-node/w0", 100, Duration::from_secs(60)).await.expect("claim");
        if jobs.is_empty() {
            return counts;
        }
        for job in jobs {
            *counts.entry((job.tenant.as_str().to_owned(), job.flow.clone())).or_default() += 1;
        }
    }
}

fn key(tenant: &str, flow: &str) -> (String, String) {
    (tenant.to_owned(), flow.to_owned())
}

async fn events_are_stored_for_the_tenant_whose_route_took_them<S: Store>(h: &Harness<S>) {
    add_tenant(h, "north").await;
    add_tenant(h, "south").await;
    let (north, south) = (tenant("north"), tenant("south"));

    let (status, body) = post_amazon(h, "south", &amazon_key("south"), order_change_with_id("s-1").to_string()).await;
    assert_eq!(status, 200, "{body}");
    let path = format!("crm?code={}", dataverse_code("south"));
    let (status, body) = post_dataverse(h, "south", &path, dataverse_call("s-op-1")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_amazon(h, "north", &amazon_key("north"), order_change_with_id("n-1").to_string()).await;
    assert_eq!(status, 200, "{body}");

    // Every tenant's jobs are its own: south's two events made two jobs for south, north's one
    // for north, and the server's own tenant got nothing.
    let jobs = jobs_by_tenant(h).await;
    let expected = BTreeMap::from([
        (key("north", "amazon-events"), 1),
        (key("south", "amazon-events"), 1),
        (key("south", "crm-contacts"), 1),
    ]);
    assert_eq!(jobs, expected);
    // And so are the inbox rows: south's events are in south's inbox, nowhere else.
    assert!(h.in_inbox_of(&south, "amazon", &amazon_dedupe("s-1")).await, "south's event is in south's inbox");
    assert!(h.in_inbox_of(&south, "crm", &dataverse_dedupe("s-op-1")).await, "south's webhook is in south's inbox");
    assert!(h.in_inbox_of(&north, "amazon", &amazon_dedupe("n-1")).await, "north's event is in north's inbox");
    assert!(!h.in_inbox_of(&north, "amazon", &amazon_dedupe("s-1")).await, "south's event is not north's");
    assert!(!h.in_inbox_of(&north, "crm", &dataverse_dedupe("s-op-1")).await, "south's webhook is not north's");
    assert!(!h.in_inbox_of(&h.tenant, "amazon", &amazon_dedupe("s-1")).await, "nor the own tenant's");
    assert!(!h.in_inbox_of(&south, "amazon", &amazon_dedupe("n-1")).await, "north's event is not south's");
}

#[tokio::test]
async fn an_event_posted_to_a_tenants_route_is_stored_for_that_tenant_only_on_sqlite() {
    events_are_stored_for_the_tenant_whose_route_took_them(&Harness::start().await).await;
}

#[tokio::test]
async fn an_event_posted_to_a_tenants_route_is_stored_for_that_tenant_only_on_postgresql() {
    let Some(h) = Harness::start_pg().await else { return };
    events_are_stored_for_the_tenant_whose_route_took_them(&h).await;
}

/// A tenant with two Amazon connections (two seller accounts, or two regions), each with its
/// own EventBridge destination and key: each event goes to the connection whose key it
/// carries, and a key of neither is refused.
#[tokio::test]
async fn each_amazon_connection_of_a_tenant_takes_the_events_its_key_carries() {
    let h = Harness::start().await;
    let t = tenant("multi");
    h.store.ensure_tenant(&t, "multi").await.expect("tenant");
    let ingress = |connection: &str, key: &str| {
        let (jobs_tenant, flow) = (t.clone(), format!("{connection}-events"));
        AmazonIngress::new(ConnectionId::new(connection).expect("id"), API_KEY_HEADER, SecretValue::new(key.to_owned()))
            .jobs(move |n| vec![NewJob::new(jobs_tenant.clone(), &flow, n.raw.expose().clone())])
    };
    h.ingress.set_tenant(t.clone(), vec![ingress("amazon-na", "na-key"), ingress("amazon-eu", "eu-key")], Vec::new());
    assert_eq!(post_amazon(&h, "multi", "eu-key", order_change_with_id("eu-1").to_string()).await.0, 200);
    assert_eq!(post_amazon(&h, "multi", "na-key", order_change_with_id("na-1").to_string()).await.0, 200);
    assert_eq!(post_amazon(&h, "multi", "na-key", order_change_with_id("na-2").to_string()).await.0, 200);
    let (status, body) = post_amazon(&h, "multi", "neither-key", order_change_with_id("x-1").to_string()).await;
    assert_eq!(status, 401, "{body}");
    let jobs = jobs_by_tenant(&h).await;
    assert_eq!(jobs, BTreeMap::from([(key("multi", "amazon-eu-events"), 1), (key("multi", "amazon-na-events"), 2)]));

    // A closure wired wrongly, making a job for another tenant too: only the tenant's own is kept.
    let other = tenant("other");
    h.store.ensure_tenant(&other, "other").await.expect("tenant");
    let (mine, theirs) = (t.clone(), other.clone());
    let crossed =
        AmazonIngress::new(ConnectionId::new("amazon-na").expect("id"), API_KEY_HEADER, SecretValue::new("na-key"))
            .jobs(move |n| {
                vec![
                    NewJob::new(mine.clone(), "own-events", n.raw.expose().clone()),
                    NewJob::new(theirs.clone(), "stolen-events", n.raw.expose().clone()),
                ]
            });
    h.ingress.set_tenant(t.clone(), vec![crossed], Vec::new());
    assert_eq!(post_amazon(&h, "multi", "na-key", order_change_with_id("na-3").to_string()).await.0, 200);
    assert_eq!(jobs_by_tenant(&h).await, BTreeMap::from([(key("multi", "own-events"), 1)]));
}

#[tokio::test]
async fn one_tenants_keys_never_authenticate_another_tenants_routes() {
    let h = Harness::start().await;
    add_tenant(&h, "north").await;
    add_tenant(&h, "south").await;
    let event = order_change_with_id("cross-1").to_string();

    // North's keys (and the own tenant's) on south's routes, and south's on the own tenant's.
    for key in [amazon_key("north"), API_KEY.to_owned()] {
        let (status, body) = post_amazon(&h, "south", &key, event.clone()).await;
        assert_eq!(status, 401, "{key}: {body}");
        assert!(!body.contains(&key) && !body.contains(&amazon_key("south")), "no key is echoed: {body}");
    }
    for code in [dataverse_code("north"), DATAVERSE_CODE.to_owned()] {
        let (status, body) = post_dataverse(&h, "south", &format!("crm?code={code}"), dataverse_call("cross-op")).await;
        assert_eq!(status, 401, "{code}: {body}");
    }
    assert_eq!(h.post_amazon(Some(&amazon_key("south")), event.clone()).await.0, 401);
    let path = format!("crm?code={}", dataverse_code("south"));
    assert_eq!(h.post_dataverse(&path, dataverse_call("cross-op")).await.0, 401);

    assert!(jobs_by_tenant(&h).await.is_empty(), "nothing refused was enqueued");
    for tenant in [tenant("north"), tenant("south"), h.tenant.clone()] {
        assert!(!h.in_inbox_of(&tenant, "amazon", &amazon_dedupe("cross-1")).await, "{tenant}: nothing stored");
    }
    // The right key still works on the same route.
    assert_eq!(post_amazon(&h, "south", &amazon_key("south"), event).await.0, 200);
}

#[tokio::test]
async fn a_removed_tenants_routes_answer_404_naming_only_it_while_other_tenants_keep_working() {
    let h = Harness::start().await;
    add_tenant(&h, "north").await;
    add_tenant(&h, "south").await;
    assert_eq!(post_amazon(&h, "south", &amazon_key("south"), order_change_with_id("before").to_string()).await.0, 200);

    assert!(h.ingress.remove_tenant(&tenant("south")), "south was served");
    assert!(!h.ingress.remove_tenant(&tenant("south")), "and is no longer");
    assert_eq!(h.ingress.tenants(), vec!["acme".to_owned(), "north".to_owned()]);

    let event = order_change_with_id("after").to_string();
    let (status, body) = post_amazon(&h, "south", &amazon_key("south"), event.clone()).await;
    assert_eq!(status, 404, "{body}");
    let amazon_error = error_of(&body);
    assert!(amazon_error.contains("`south`"), "the answer names the tenant asked for: {amazon_error}");
    let path = format!("crm?code={}", dataverse_code("south"));
    let (status, body) = post_dataverse(&h, "south", &path, dataverse_call("after-op")).await;
    assert_eq!(status, 404, "{body}");
    let dataverse_error = error_of(&body);
    assert!(dataverse_error.contains("`south`") && dataverse_error.contains("`crm`"), "{dataverse_error}");

    // A tenant never served gets the very same answer: a 404 tells nothing about which
    // tenants exist, and never names another.
    let (status, body) = post_amazon(&h, "nobody", "any", event.clone()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(error_of(&body), amazon_error.replace("south", "nobody"));
    let (status, body) = post_dataverse(&h, "nobody", "crm?code=any", dataverse_call("after-op")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(error_of(&body), dataverse_error.replace("south", "nobody"));
    for answer in [&amazon_error, &dataverse_error] {
        assert!(!answer.contains("north") && !answer.contains("acme"), "no other tenant is named: {answer}");
    }
    // A served tenant's unknown connection is a 404 too.
    let (status, body) = post_dataverse(&h, "north", "erp?code=x", dataverse_call("erp-op")).await;
    assert_eq!(status, 404, "{body}");
    assert!(error_of(&body).contains("`erp`"), "{body}");

    // North and the own tenant are untouched.
    assert_eq!(post_amazon(&h, "north", &amazon_key("north"), event.clone()).await.0, 200);
    let path = format!("crm?code={}", dataverse_code("north"));
    assert_eq!(post_dataverse(&h, "north", &path, dataverse_call("after-op")).await.0, 200);
    assert_eq!(h.post_amazon(Some(API_KEY), event).await.0, 200);
    let jobs = jobs_by_tenant(&h).await;
    let expected = BTreeMap::from([
        (key("acme", "amazon-events"), 1),
        (key("north", "amazon-events"), 1),
        (key("north", "crm-contacts"), 1),
        (key("south", "amazon-events"), 1),
    ]);
    assert_eq!(jobs, expected, "south has only what it received before it was removed");
    assert!(!h.in_inbox_of(&tenant("south"), "amazon", &amazon_dedupe("after")).await);
}

#[tokio::test]
async fn a_tenant_added_or_changed_while_the_server_serves_is_served_at_once() {
    let h = Harness::start().await;
    let event = order_change_with_id("east-1").to_string();
    assert_eq!(post_amazon(&h, "east", &amazon_key("east"), event.clone()).await.0, 404, "not served yet");

    // Same server, same client (its pooled connection): nothing restarts.
    add_tenant(&h, "east").await;
    let (status, body) = post_amazon(&h, "east", &amazon_key("east"), event.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(h.in_inbox_of(&tenant("east"), "amazon", &amazon_dedupe("east-1")).await);

    // Setting a tenant again replaces its sources: the old key stops working, the new one works,
    // and a Dataverse connection it no longer has answers 404.
    let rotated = AmazonIngress::new(
        ConnectionId::new("amazon").expect("id"),
        API_KEY_HEADER,
        SecretValue::new("east-rotated-key"),
    );
    h.ingress.set_tenant(tenant("east"), vec![rotated], Vec::new());
    let event = order_change_with_id("east-2").to_string();
    assert_eq!(post_amazon(&h, "east", &amazon_key("east"), event.clone()).await.0, 401, "the old key");
    assert_eq!(post_amazon(&h, "east", "east-rotated-key", event).await.0, 200, "the new key");
    let path = format!("crm?code={}", dataverse_code("east"));
    assert_eq!(post_dataverse(&h, "east", &path, dataverse_call("east-op")).await.0, 404);

    // The own tenant's entry is in the table too: replacing it changes `/ingress/…`.
    assert_eq!(h.post_amazon(Some(API_KEY), order_change_with_id("own-1").to_string()).await.0, 200);
    let (_, dataverse) = sources("acme");
    h.ingress.set_tenant(h.tenant.clone(), Vec::new(), dataverse);
    let (status, body) = h.post_amazon(Some(API_KEY), order_change_with_id("own-2").to_string()).await;
    assert_eq!(status, 404, "{body}");
    let path = format!("crm?code={}", dataverse_code("acme"));
    assert_eq!(h.post_dataverse(&path, dataverse_call("own-op")).await.0, 200);
    assert!(h.in_inbox("crm", &dataverse_dedupe("own-op")).await);
}

#[tokio::test]
async fn metrics_keep_each_tenants_series_apart() {
    let h = Harness::start().await;
    add_tenant(&h, "north").await;
    add_tenant(&h, "south").await;
    add_tenant(&h, "west").await;
    assert_eq!(post_amazon(&h, "north", &amazon_key("north"), order_change_with_id("m-1").to_string()).await.0, 200);
    assert_eq!(post_amazon(&h, "south", &amazon_key("south"), order_change_with_id("m-2").to_string()).await.0, 200);
    assert_eq!(post_amazon(&h, "south", &amazon_key("south"), order_change_with_id("m-2").to_string()).await.0, 200);
    assert_eq!(post_amazon(&h, "south", &amazon_key("north"), order_change_with_id("m-3").to_string()).await.0, 401);
    assert_eq!(post_amazon(&h, "nobody", "any", order_change_with_id("m-4").to_string()).await.0, 404);
    assert_eq!(h.post_amazon(Some(API_KEY), order_change_with_id("m-5").to_string()).await.0, 200);

    // What the runtime reports: a connection or flow qualified with its tenant, or unqualified
    // for the server's own tenant. Both tenants have a connection called `amazon`.
    let observer: &dyn CallObserver = &*h.metrics;
    observer.api_call("north/amazon", "getOrder", "ok");
    observer.api_call("south/amazon", "getOrder", "ok");
    observer.api_call("south/amazon", "getOrder", "ok");
    observer.api_call("amazon", "getOrder", "ok");
    observer.throttled("south/amazon", "getOrder");
    observer.delivered("south/amazon-crm-orders", 0.3);
    observer.delivered("amazon-crm-orders", 7.0);

    let scrape = scrape(&h).await;
    let events = |tenant, outcome| {
        let labels = [("tenant", tenant), ("source", "amazon"), ("outcome", outcome)];
        scrape.value("ferry_events_received_total", &labels)
    };
    assert_eq!((events("north", "stored"), events("north", "duplicate")), (Some(1.0), Some(0.0)));
    assert_eq!((events("south", "stored"), events("south", "duplicate")), (Some(1.0), Some(1.0)));
    assert_eq!((events("south", "rejected"), events("north", "rejected")), (Some(1.0), Some(0.0)));
    assert_eq!(events("acme", "stored"), Some(1.0));
    assert_eq!(events("west", "stored"), Some(0.0), "a served tenant has its series before its first event");
    assert_eq!(events("", "rejected"), Some(1.0), "an event to no served tenant counts under no tenant");
    assert!(
        scrape.samples.iter().all(|s| s.labels.get("tenant").is_none_or(|t| t != "nobody")),
        "a request cannot mint a tenant's series"
    );

    let calls = |tenant| {
        let labels = [("tenant", tenant), ("connection", "amazon"), ("operation", "getOrder"), ("status", "ok")];
        scrape.value("ferry_api_requests_total", &labels)
    };
    assert_eq!((calls("north"), calls("south"), calls("acme")), (Some(1.0), Some(2.0), Some(1.0)));
    assert_eq!(scrape.named("ferry_api_requests_total").len(), 3, "one series per tenant");
    let throttles = [("tenant", "south"), ("connection", "amazon"), ("operation", "getOrder")];
    assert_eq!(scrape.value("ferry_throttle_waits_total", &throttles), Some(1.0));
    assert_eq!(scrape.named("ferry_throttle_waits_total").len(), 1);

    let latencies = |tenant| scrape.value("ferry_event_to_target_seconds_count", &[("tenant", tenant)]);
    assert_eq!((latencies("south"), latencies("acme"), latencies("north")), (Some(1.0), Some(1.0), Some(0.0)));
    let half_second =
        |tenant| scrape.value("ferry_event_to_target_seconds_bucket", &[("tenant", tenant), ("le", "0.5")]);
    assert_eq!((half_second("south"), half_second("acme")), (Some(1.0), Some(0.0)));
}
