//! Alerts to a local webhook receiver: a breaker open longer than the rule allows alerts
//! exactly once per episode (across two nodes checking at once), a failed delivery is sent
//! again at the next check, a breaker that closes ends the episode and the next opening is a
//! new one; another tenant's hosts never alert this tenant; no buyer data in any text.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use ferry_console::alerts::{Condition, Rule, add_rule, check_tenant};
use ferry_store::{AnyStore, Connection, Store as _, TenantId};
use jiff::{SignedDuration, Timestamp};

/// A webhook receiver that records each body and answers `status`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<String>>>,
    status: Arc<Mutex<StatusCode>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<String>>> = Arc::default();
        let status = Arc::new(Mutex::new(StatusCode::OK));
        let (g, s) = (got.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    let status = *s.lock().unwrap();
                    if status.is_success() {
                        g.lock().unwrap().push(body);
                    }
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got, status }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

async fn tenant_with_crm(store: &AnyStore, tenant: &str, host: &str) -> TenantId {
    let t: TenantId = tenant.parse().unwrap();
    store.ensure_tenant(&t, tenant).await.unwrap();
    store
        .upsert_connection(&Connection {
            tenant: t.clone(),
            id: "crm".parse().unwrap(),
            system: "dataverse".into(),
            endpoint: format!("https://{host}"),
            credentials_ref: None,
            limits: serde_json::json!({}),
            options: serde_json::json!({}),
        })
        .await
        .unwrap();
    t
}

async fn breaker_episodes(node_a: AnyStore, node_b: AnyStore) {
    let receiver = Receiver::start().await;
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
    let acme = tenant_with_crm(&node_a, "acme", "acme.crm.example").await;
    let globex = tenant_with_crm(&node_a, "globex", "globex.crm.example").await;
    let rule = Rule { condition: Condition::BreakerOpen { seconds: 60 }, webhook: receiver.url.clone() };
    add_rule(&node_a, &acme, &rule, "test").await.unwrap();
    let console = "https://ferry.example.com";
    let check = |store: &AnyStore, at: Timestamp| {
        let (store, http, acme) = (store.clone(), http.clone(), acme.clone());
        async move { check_tenant(&store, &http, &acme, console, at).await.unwrap() }
    };
    let t0 = Timestamp::now();
    let at = |s: i64| t0 + SignedDuration::from_secs(s);

    // Globex's CRM down: not acme's business.
    node_a.record_breakers("n1", &[("globex.crm.example".into(), "open".into())]).await.unwrap();
    assert_eq!(check(&node_a, at(0)).await + check(&node_a, at(600)).await, 0);
    let _ = globex;

    // Acme's CRM down: nothing until it has been open for the rule's 60 s, then one alert,
    // sent by one of the two nodes checking at once.
    node_a
        .record_breakers(
            "n1",
            &[("acme.crm.example".into(), "open".into()), ("globex.crm.example".into(), "open".into())],
        )
        .await
        .unwrap();
    assert_eq!(check(&node_a, at(700)).await, 0, "just opened");
    assert_eq!(check(&node_b, at(730)).await, 0, "open 30 s");
    let (a, b) = tokio::join!(check(&node_a, at(761)), check(&node_b, at(761)));
    assert_eq!(a + b, 1, "one node sends it");
    assert_eq!(check(&node_a, at(900)).await + check(&node_b, at(1800)).await, 0, "once per episode");
    assert_eq!(receiver.count(), 1);
    let text = receiver.got.lock().unwrap()[0].clone();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let said = body["text"].as_str().unwrap();
    assert!(said.contains("acme.crm.example") && said.contains("open for over 60 s"), "{said}");
    assert!(said.contains("https://ferry.example.com/api/v1/queue"), "links to where it shows: {said}");
    assert!(said.contains("tenant acme") && !said.contains("globex"), "{said}");

    // It closes: the episode ends. It opens again: a new episode, a new alert, whose first
    // delivery fails and is sent at the next check.
    node_a.record_breakers("n1", &[("acme.crm.example".into(), "closed".into())]).await.unwrap();
    assert_eq!(check(&node_a, at(1900)).await, 0);
    node_a.record_breakers("n1", &[("acme.crm.example".into(), "open".into())]).await.unwrap();
    assert_eq!(check(&node_a, at(2000)).await, 0);
    *receiver.status.lock().unwrap() = StatusCode::INTERNAL_SERVER_ERROR;
    assert_eq!(check(&node_a, at(2100)).await, 0, "the receiver refused it");
    *receiver.status.lock().unwrap() = StatusCode::OK;
    assert_eq!(check(&node_b, at(2130)).await, 1, "sent again at the next check");
    assert_eq!(check(&node_a, at(2200)).await, 0);
    assert_eq!(receiver.count(), 2, "two episodes, two alerts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_open_too_long_alerts_once_per_episode_on_sqlite() {
    let dir = ferry_store::testing::TempDir::new("ferry-alerts").unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let a = AnyStore::open(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = AnyStore::open(&url).await.unwrap();
    breaker_episodes(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_open_too_long_alerts_once_per_episode_across_nodes_on_postgres() {
    let Some(url) = ferry_store::testing::fresh_pg_schema("console_alerts").await.unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let a = AnyStore::open(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = AnyStore::open(&url).await.unwrap();
    breaker_episodes(a, b).await;
}

#[test]
fn rules_refuse_what_would_never_work() {
    let rule = |webhook: &str| Rule { condition: Condition::BreakerOpen { seconds: 60 }, webhook: webhook.into() };
    assert!(rule("https://hooks.slack.com/services/T/B/X").check().is_ok());
    assert!(rule("http://127.0.0.1:9000/hook").check().is_ok());
    let e = rule("http://hooks.example.com/x").check().unwrap_err();
    assert!(e.contains("must be an https:// URL"), "{e}");
    let e = Rule { condition: Condition::DeadLetters { above: 5, minutes: 0 }, webhook: "https://x.example/h".into() }
        .check()
        .unwrap_err();
    assert!(e.contains("minutes must be 1 to 10080"), "{e}");
}
