//! The overview's live updates over a real HTTP connection: `/console/events` refuses a
//! request without a session (401), streams the overview's fragment every interval (the
//! rate-limit budgets and recent 429s among it), shows a dead letter added meanwhile in a
//! later event, keeps tenants apart, computes once per tenant however many pages listen, and
//! stops computing when the last page goes.

use std::sync::Arc;
use std::time::Duration;

use ferry_console::api::{ApiState, router};
use ferry_console::auth::{Role, issue};
use ferry_runtime::breaker::BreakerConfig;
use ferry_runtime::failure::Failure;
use ferry_runtime::{CallSpec, Resilience};
use ferry_store::{AnyStore, Completion, NewJob, Store as _, TenantId};
use serde_json::json;

struct Live {
    base: String,
    http: reqwest::Client,
    store: AnyStore,
    state: Arc<ApiState>,
    runtime: Arc<Resilience>,
    _dir: ferry_store::testing::TempDir,
}

impl Live {
    async fn start() -> Live {
        let dir = ferry_store::testing::TempDir::new("ferry-console-live").unwrap();
        let store = AnyStore::open(&format!("sqlite://{}", dir.path().join("ferry.db").display())).await.unwrap();
        store.migrate().await.unwrap();
        let runtime = Arc::new(Resilience::new(BreakerConfig::default(), Duration::ZERO));
        let state = Arc::new(
            ApiState::new(store.clone()).with_runtime(runtime.clone()).with_live_every(Duration::from_millis(200)),
        );
        let app = router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
        Live { base, http, store, state, runtime, _dir: dir }
    }

    async fn token(&self, tenant: &str) -> String {
        let t: TenantId = tenant.parse().unwrap();
        self.store.ensure_tenant(&t, tenant).await.unwrap();
        issue(&self.store, &t, Role::Viewer, "test", None, "test").await.unwrap().token
    }

    async fn open(&self, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}/console/events", self.base));
        if let Some(t) = cookie {
            request = request.header("cookie", format!("ferry_console={t}"));
        }
        request.send().await.unwrap()
    }
}

/// A page listening: the events as they come.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next `overview` event's data (its `data:` lines joined as a browser joins them).
    async fn next(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let is_overview = block.lines().any(|l| l == "event: overview");
                if !is_overview {
                    continue;
                }
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                return data.join("\n");
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Events until one satisfies `what` (at most 50).
    async fn until(&mut self, what: impl Fn(&str) -> bool) -> String {
        for _ in 0..50 {
            let data = self.next().await;
            if what(&data) {
                return data;
            }
        }
        panic!("no event showed what was expected");
    }
}

async fn events(live: &Live, token: &str) -> Events {
    let response = live.open(Some(token)).await;
    assert_eq!(response.status(), 200);
    let kind = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    Events { response, buffer: String::new() }
}

/// One order of `tenant` dead-lettered on an unknown SKU.
async fn dead_letter(store: &AnyStore, tenant: &str) {
    let t: TenantId = tenant.parse().unwrap();
    let job = NewJob::new(t, "amazon-orders-to-crm", json!({ "order_id": "113-0000001-7654321" }));
    store.enqueue(&[job]).await.unwrap();
    let claimed = store.claim("t", 1, Duration::from_secs(30)).await.unwrap();
    let error = "order 113-0000001-7654321 line 1: unknown SKU 'UNMAPPED-4242': add the product";
    store.complete("t", &[Completion::dead(claimed[0].id, "write order", "permanent", error)]).await.unwrap();
}

/// The figure of the "open dead letters" gauge in a fragment.
fn open_dead_letters(fragment: &str) -> u64 {
    let after = fragment.split("open dead letters<b").nth(1).expect("the gauge");
    let value = after.split('>').nth(1).unwrap().split('<').next().unwrap();
    value.trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_is_kept_current_by_server_sent_events() {
    let live = Live::start().await;
    let acme = live.token("acme").await;
    let globex = live.token("globex").await;

    // Without a session, or with a token that is not one: 401, not a stream.
    assert_eq!(live.open(None).await.status(), 401);
    assert_eq!(live.open(Some("fy_0123456789ab_nope")).await.status(), 401);

    // acme's Amazon connection used 3 of its 10 and was answered a 429 on another operation.
    let spec = |operation| CallSpec {
        connection: "acme/amazon",
        scope: "spapi/app/SELLER",
        operation,
        host: "sellingpartnerapi-eu.amazon.com",
        rate_per_sec: 0.0167,
        burst: 10,
        max_concurrency: 4,
        caps: Vec::new(),
    };
    for _ in 0..3 {
        live.runtime.call("read", &spec("getOrders"), async { Ok::<_, Failure>(()) }).await.unwrap();
    }
    let throttled = Failure::throttled(Some(Duration::from_secs(60)), "429 QuotaExceeded");
    let _ = live.runtime.call("read", &spec("getOrderItems"), async { Err::<(), _>(throttled) }).await;

    let mut page = events(&live, &acme).await;
    let first = page.next().await;
    assert_eq!(open_dead_letters(&first), 0, "{first}");
    let budgets = first.split("id=\"budgets\"").nth(1).expect("the budgets table");
    assert!(budgets.contains("<td>getOrders</td>") && budgets.contains("value=\"70\""), "7 of 10 left: {budgets}");
    assert!(budgets.contains("7.0 of 10, 0.0167/s"), "{budgets}");
    assert!(budgets.contains("paused until"), "getOrderItems waits for its Retry-After: {budgets}");
    let throttles = first.split("id=\"throttles\"").nth(1).expect("the recent 429s");
    assert!(throttles.contains("<td>amazon</td><td>getOrderItems</td><td>60 s</td>"), "{throttles}");

    // A second event comes without anything asked; a dead letter added shows in a later one.
    let second = page.next().await;
    assert_eq!(open_dead_letters(&second), 0);
    dead_letter(&live.store, "acme").await;
    let later = page.until(|f| open_dead_letters(f) == 1).await;
    assert!(later.contains("UNMAPPED-4242"), "its cause is listed: {later}");

    // Another tenant's page: its own figures, none of acme's; a second acme page shares
    // acme's computation.
    let mut theirs = events(&live, &globex).await;
    let their_first = theirs.next().await;
    assert_eq!(open_dead_letters(&their_first), 0);
    assert!(!their_first.contains("UNMAPPED-4242") && !their_first.contains("getOrders"), "{their_first}");
    let mut again = events(&live, &acme).await;
    assert_eq!(open_dead_letters(&again.next().await), 1);
    assert_eq!(live.state.live.computing(), 2, "one computation per tenant, not per page");

    // Every page closed: the computations stop.
    drop((page, theirs, again));
    let mut waited = 0;
    while live.state.live.computing() > 0 {
        assert!(waited < 100, "the computations did not stop after the pages closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_updates_end_when_the_node_stops() {
    let dir = ferry_store::testing::TempDir::new("ferry-console-live-stop").unwrap();
    let store = AnyStore::open(&format!("sqlite://{}", dir.path().join("ferry.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = Arc::new(ApiState::new(store.clone()).with_stop(stop_rx).with_live_every(Duration::from_millis(100)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tenant: TenantId = "acme".parse().unwrap();
    store.ensure_tenant(&tenant, "acme").await.unwrap();
    let token = issue(&store, &tenant, Role::Viewer, "test", None, "test").await.unwrap().token;
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
    let response = http.get(format!("{base}/console/events")).header("cookie", format!("ferry_console={token}")).send();
    let mut page = Events { response: response.await.unwrap(), buffer: String::new() };
    let first = page.next().await;
    assert!(first.contains("runs no flows"), "a node without a runtime says so: {first}");
    stop_tx.send(true).unwrap();
    let ended =
        tokio::time::timeout(Duration::from_secs(5), async { while let Ok(Some(_)) = page.response.chunk().await {} })
            .await;
    assert!(ended.is_ok(), "the stream ended when the node stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_through_the_console_is_sent_at_once() {
    let dir = ferry_store::testing::TempDir::new("ferry-console-live-change").unwrap();
    let store = AnyStore::open(&format!("sqlite://{}", dir.path().join("ferry.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    // An interval far longer than the test waits: only the change can bring the next event.
    let state = Arc::new(ApiState::new(store.clone()).with_live_every(Duration::from_secs(600)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tenant: TenantId = "acme".parse().unwrap();
    store.ensure_tenant(&tenant, "acme").await.unwrap();
    dead_letter(&store, "acme").await;
    let id = store.dead_letters(&tenant, false, 1).await.unwrap()[0].id.0;
    let viewer = issue(&store, &tenant, Role::Viewer, "test", None, "test").await.unwrap().token;
    let operator = issue(&store, &tenant, Role::Operator, "test", None, "test").await.unwrap().token;
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
    let response =
        http.get(format!("{base}/console/events")).header("cookie", format!("ferry_console={viewer}")).send();
    let mut page = Events { response: response.await.unwrap(), buffer: String::new() };
    assert_eq!(open_dead_letters(&page.next().await), 1);
    // While a page listens, loading the overview takes what it was sent: nothing is computed.
    let computed = state.live.computed();
    for _ in 0..3 {
        let loaded = http.get(format!("{base}/console")).header("cookie", format!("ferry_console={viewer}")).send();
        let loaded = loaded.await.unwrap().text().await.unwrap();
        assert!(loaded.contains("UNMAPPED-4242") && loaded.contains("new EventSource"), "{loaded}");
    }
    assert_eq!(state.live.computed(), computed, "reloads cost no computation");
    let discarded =
        http.post(format!("{base}/api/v1/dead-letters/{id}/discard")).bearer_auth(&operator).send().await.unwrap();
    assert_eq!(discarded.status(), 204);
    assert_eq!(open_dead_letters(&page.next().await), 0, "the discard is shown without waiting for the interval");
}
