//! The mapping designer over the API and the console's pages, on the shipped F1 file: an
//! edited expression changes the preview and saves nothing; an invalid one is shown at its
//! line; saving checks like `ferry check` and creates a version that the next start runs;
//! rollback runs the earlier version again; pause, shadow and drafts; every change audited.

use std::sync::Arc;

use ferry_console::api::{ApiState, router};
use ferry_console::auth::{Role, issue};
use ferry_flows::ConnectionConfig;
use ferry_flows::tenants::TenantSource;
use ferry_store::{AnyStore, Store as _, TenantId};
use reqwest::StatusCode;
use serde_json::{Value, json};

const FLOW: &str = "amazon-orders-to-crm";
/// The F1 file as Ferry ships it.
const SHIPPED: &str = include_str!("../../../../flows/amazon-orders-to-crm.yaml");

struct Designer {
    base: String,
    http: reqwest::Client,
    store: AnyStore,
    tenant: TenantId,
    source: TenantSource,
    _dir: ferry_store::testing::TempDir,
}

fn connection(id: &str, system: &str) -> ConnectionConfig {
    ConnectionConfig {
        id: id.parse().unwrap(),
        system: system.into(),
        endpoint: "https://127.0.0.1:9".into(),
        credentials: None,
        limits: json!({}),
        options: json!({}),
    }
}

impl Designer {
    async fn start() -> Designer {
        let dir = ferry_store::testing::TempDir::new("ferry-console-designer").unwrap();
        let flows_dir = dir.path().join("flows");
        std::fs::create_dir_all(&flows_dir).unwrap();
        std::fs::write(flows_dir.join("amazon-orders-to-crm.yaml"), SHIPPED).unwrap();
        let store = AnyStore::open(&format!("sqlite://{}", dir.path().join("ferry.db").display())).await.unwrap();
        store.migrate().await.unwrap();
        let tenant: TenantId = "acme".parse().unwrap();
        store.ensure_tenant(&tenant, "Acme").await.unwrap();
        let source = TenantSource {
            node_tenant: tenant.clone(),
            node_connections: vec![connection("amazon", "amazon"), connection("crm", "dataverse")],
            flows_dir,
        };
        let app = router(Arc::new(ApiState::new(store.clone()).with_flows(Arc::new(source.clone()))));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
        let designer = Designer { base, http, store, tenant, source, _dir: dir };
        designer.node_start().await;
        designer
    }

    /// What a node does when it builds the tenant's flows: the folder's files become versions,
    /// and the texts that run come back.
    async fn node_start(&self) -> String {
        let resolved = ferry_flows::versions::resolve(&self.store, &self.tenant, &self.source.flows_dir).await.unwrap();
        assert_eq!(resolved.texts.len(), 1);
        resolved.texts[0].1.clone()
    }

    async fn token(&self, role: Role) -> String {
        issue(&self.store, &self.tenant, role, "test", None, "test").await.unwrap().token
    }

    async fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        super::support::call(&self.http, method, format!("{}/api/v1{path}", self.base), Some(token), body).await
    }

    async fn page(&self, method: &str, path: &str, token: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let url = format!("{}{path}", self.base);
        let request = if method == "GET" {
            self.http.get(url)
        } else {
            let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
            self.http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body)
        };
        let response = request.header("cookie", format!("ferry_console={token}")).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

/// A canonical Amazon order as F1's mapping reads it.
fn sample() -> String {
    json!({
        "id": { "id": "114-3941689-8772232" },
        "status": "Unshipped",
        "fulfillment_channel": "AFN",
        "purchased_at": "2026-11-30T10:00:00Z",
        "currency": "USD",
        "reported_total": { "amount": "25.90", "currency": "USD" },
        "marketplace_id": "ATVPDKIKX0DER",
        "shipping_address": { "city": "Seattle", "postal_code": "98109", "country_code": "US" },
        "buyer": { "email": "relay@marketplace.amazon.com" },
        "lines": [{ "sku": "MUG-01", "asin": "B0000MUG01", "quantity_ordered": 2, "title": "Mug" }]
    })
    .to_string()
}

fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_designer_previews_edits_without_saving_shows_errors_at_their_line_saves_versions_and_rolls_back() {
    let d = Designer::start().await;
    let admin = d.token(Role::Admin).await;
    let operator = d.token(Role::Operator).await;
    let viewer = d.token(Role::Viewer).await;

    let (status, flows) = d.api("GET", "/flows", &viewer, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flows[0]["name"], FLOW);
    assert_eq!((flows[0]["active"].as_i64(), flows[0]["versions"].as_u64()), (Some(1), Some(1)), "{flows}");

    // The shipped text maps the sample; an edited expression changes the output, nothing saved.
    let (status, shown) = d
        .api("POST", &format!("/flows/{FLOW}/preview"), &viewer, Some(json!({ "text": SHIPPED, "sample": sample() })))
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["output"]["fields"]["name"], "AMZ-114-3941689-8772232", "{shown}");
    assert!(shown["problems"].as_array().unwrap().is_empty(), "{shown}");
    let edited = SHIPPED.replace(r#"name: "AMZ-{{ order.id.id }}""#, r#"name: "Amazon {{ order.id.id }}""#);
    assert_ne!(edited, SHIPPED);
    let (_, shown) = d
        .api("POST", &format!("/flows/{FLOW}/preview"), &viewer, Some(json!({ "text": edited, "sample": sample() })))
        .await;
    assert_eq!(shown["output"]["fields"]["name"], "Amazon 114-3941689-8772232", "{shown}");
    // Suggestions for the salesorder columns the flow leaves unmapped, with reasons.
    let suggestions = shown["suggestions"].as_array().unwrap();
    assert!(suggestions.iter().any(|s| s["target"] == "shipto_postalcode"), "{shown}");
    assert!(suggestions.iter().all(|s| s["target"] != "name"), "a mapped field is not suggested: {shown}");
    let (_, versions) = d.api("GET", &format!("/flows/{FLOW}/versions"), &viewer, None).await;
    assert_eq!(versions.as_array().unwrap().len(), 1, "a preview saves nothing");

    // An invalid expression is shown at its line, in the API and on the page.
    let broken =
        SHIPPED.replace(r#"name: "AMZ-{{ order.id.id }}""#, r#"name: "AMZ-{{ order.id.id | no_such_filter }}""#);
    let name_line = line_of(&broken, "no_such_filter");
    let (_, shown) = d
        .api("POST", &format!("/flows/{FLOW}/preview"), &viewer, Some(json!({ "text": broken, "sample": sample() })))
        .await;
    let problems = shown["problems"].as_array().unwrap();
    assert!(shown["output"].is_null(), "{shown}");
    assert_eq!(problems[0]["line"].as_u64(), Some(name_line), "{shown}");
    assert!(problems[0]["message"].as_str().unwrap().contains("no_such_filter"), "{shown}");
    let (status, fragment) = d
        .page("POST", &format!("/console/flows/{FLOW}/preview"), &viewer, &[("text", &broken), ("sample", &sample())])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(fragment.contains(&format!("data-line=\"{name_line}\"")), "{fragment}");
    let (_, fragment) = d
        .page("POST", &format!("/console/flows/{FLOW}/preview"), &viewer, &[("text", &edited), ("sample", &sample())])
        .await;
    assert!(fragment.contains("Amazon 114-3941689-8772232"), "{fragment}");

    // Saving checks like `ferry check`: refused with the problem at its line, nothing kept.
    let (status, refused) =
        d.api("POST", &format!("/flows/{FLOW}/versions"), &admin, Some(json!({ "text": broken }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["problems"][0]["line"].as_u64(), Some(name_line), "{refused}");
    let unbound =
        SHIPPED.replace("connections: { amazon: amazon, crm: crm }", "connections: { amazon: amazon, crm: nowhere }");
    let (status, refused) =
        d.api("POST", &format!("/flows/{FLOW}/versions"), &admin, Some(json!({ "text": unbound }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown connection is refused: {refused}");
    assert!(refused["problems"].to_string().contains("nowhere"), "{refused}");
    let renamed = SHIPPED.replace("name: amazon-orders-to-crm", "name: something-else");
    let (status, _) = d.api("POST", &format!("/flows/{FLOW}/versions"), &admin, Some(json!({ "text": renamed }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a version keeps its flow's name");
    let (status, _) =
        d.api("POST", &format!("/flows/{FLOW}/versions"), &operator, Some(json!({ "text": edited }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "saving a version is an admin's");

    // A sound text becomes version 2 and runs, also after the node restarts with the old file.
    let (status, saved) =
        d.api("POST", &format!("/flows/{FLOW}/versions"), &admin, Some(json!({ "text": edited }))).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!((saved["version"].as_i64(), saved["new"].as_bool()), (Some(2), Some(true)));
    assert_eq!(d.node_start().await, edited, "the saved version runs, not the unchanged file");
    let (_, v2) = d.api("GET", &format!("/flows/{FLOW}/versions/2"), &viewer, None).await;
    assert_eq!(v2["text"], edited.as_str());

    // Rollback: version 1 runs again.
    let (status, head) = d.api("POST", &format!("/flows/{FLOW}/activate"), &admin, Some(json!({ "version": 1 }))).await;
    assert_eq!(status, StatusCode::OK, "{head}");
    assert_eq!(head["active"], 1);
    assert_eq!(d.node_start().await, SHIPPED, "rolled back");
    let (status, _) = d.api("POST", &format!("/flows/{FLOW}/activate"), &admin, Some(json!({ "version": 7 }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Saved as a shadow: kept, shadows version 1, does not run.
    let shadowed = SHIPPED.replace("Amazon order {{ order.id.id }}", "Order {{ order.id.id }} from Amazon");
    let (status, saved) = d
        .api("POST", &format!("/flows/{FLOW}/versions"), &admin, Some(json!({ "text": shadowed, "save_as": "shadow" })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let (_, flows) = d.api("GET", "/flows", &viewer, None).await;
    assert_eq!((flows[0]["active"].as_i64(), flows[0]["shadow"].as_i64()), (Some(1), Some(3)), "{flows}");

    // Pause and resume are an operator's.
    let (status, head) = d.api("POST", &format!("/flows/{FLOW}/pause"), &operator, None).await;
    assert_eq!((status, head["paused"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, page) = d.page("GET", "/console/flows", &viewer, &[]).await;
    assert!(page.contains("paused") && !page.contains("class=\"resume\""), "a viewer sees no button: {page}");
    let (_, page) = d.page("GET", "/console/flows", &operator, &[]).await;
    assert!(page.contains("class=\"resume\""), "{page}");
    let (status, _) = d.page("POST", &format!("/console/flows/{FLOW}/resume"), &operator, &[]).await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    let (_, flows) = d.api("GET", "/flows", &viewer, None).await;
    assert_eq!(flows[0]["paused"], false);

    // The designer page shows the running text, the versions and who changed what.
    let (status, page) = d.page("GET", &format!("/console/flows/{FLOW}"), &admin, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"save\"") && page.contains("version-3"), "{page}");
    let (_, page) = d.page("GET", &format!("/console/flows/{FLOW}"), &viewer, &[]).await;
    assert!(!page.contains("id=\"save\""), "a viewer cannot save");
    let (_, audit) = d.api("GET", "/audit", &admin, None).await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    for action in ["flow.version", "flow.activate", "flow.shadow", "flow.pause", "flow.resume"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}
