//! The admin API over HTTP on a real store (SQLite, and PostgreSQL when there is one): every
//! route refuses a request without a token (401), with a role below its own (403) and anything
//! of another tenant (404 or an empty list); the OpenAPI document lists every route; dead
//! letters are replayed, discarded and bulk-handled by cause, each change audited with the
//! token that made it.

use std::sync::Arc;
use std::time::Duration;

use ferry_console::api::{ApiState, router};
use ferry_console::auth::{Role, issue};
use ferry_runtime::breaker::BreakerConfig;
use ferry_runtime::failure::Failure;
use ferry_runtime::{CallSpec, Resilience};
use ferry_store::{Activate, AnyStore, Completion, NewJob, Outcome, RunRecord, Store as _, TenantId, Xref, XrefKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Every route of the API: (method, path with `{id}` for a path parameter, least role).
const ROUTES: &[(&str, &str, Role)] = &[
    ("GET", "/api/v1/me", Role::Viewer),
    ("GET", "/api/v1/queue", Role::Viewer),
    ("GET", "/api/v1/flows/stats", Role::Viewer),
    ("GET", "/api/v1/limits", Role::Viewer),
    ("GET", "/api/v1/tenants", Role::Viewer),
    ("GET", "/api/v1/tenants/{id}", Role::Viewer),
    ("GET", "/api/v1/connections", Role::Viewer),
    ("POST", "/api/v1/connections/{id}/test", Role::Admin),
    ("GET", "/api/v1/dead-letters", Role::Viewer),
    ("GET", "/api/v1/dead-letters/groups", Role::Viewer),
    ("GET", "/api/v1/dead-letters/{id}", Role::Viewer),
    ("POST", "/api/v1/dead-letters/{id}/replay", Role::Operator),
    ("POST", "/api/v1/dead-letters/{id}/discard", Role::Operator),
    ("POST", "/api/v1/dead-letters/bulk", Role::Operator),
    ("GET", "/api/v1/records/{id}", Role::Viewer),
    ("GET", "/api/v1/anomalies", Role::Viewer),
    ("GET", "/api/v1/alerts", Role::Viewer),
    ("POST", "/api/v1/alerts", Role::Admin),
    ("DELETE", "/api/v1/alerts/{id}", Role::Admin),
    ("GET", "/api/v1/audit", Role::Admin),
    ("GET", "/api/v1/tokens", Role::Admin),
    ("POST", "/api/v1/tokens", Role::Admin),
    ("POST", "/api/v1/tokens/{id}/revoke", Role::Admin),
    ("GET", "/api/v1/flows", Role::Viewer),
    ("GET", "/api/v1/flows/{flow}/versions", Role::Viewer),
    ("POST", "/api/v1/flows/{flow}/versions", Role::Admin),
    ("GET", "/api/v1/flows/{flow}/versions/{version}", Role::Viewer),
    ("POST", "/api/v1/flows/{flow}/activate", Role::Admin),
    ("POST", "/api/v1/flows/{flow}/pause", Role::Operator),
    ("POST", "/api/v1/flows/{flow}/resume", Role::Operator),
    ("PUT", "/api/v1/flows/{flow}/shadow", Role::Admin),
    ("GET", "/api/v1/flows/{flow}/shadow", Role::Viewer),
    ("POST", "/api/v1/flows/{flow}/preview", Role::Viewer),
    ("GET", "/api/v1/flows/{flow}/samples", Role::Viewer),
];

/// The flow the route table's `{flow}` names (acme has it; globex does not).
const FLOW: &str = "amazon-orders-to-crm";

struct Api {
    base: String,
    http: reqwest::Client,
    store: AnyStore,
    /// The node's runtime the console reads the limits of (none: a node without flows).
    runtime: Option<Arc<Resilience>>,
    _dir: ferry_store::testing::TempDir,
}

impl Api {
    async fn start(store_url: Option<String>) -> Api {
        Api::start_with(store_url, true).await
    }

    async fn start_with(store_url: Option<String>, runs_flows: bool) -> Api {
        let dir = ferry_store::testing::TempDir::new("ferry-console-api").unwrap();
        let url = store_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("ferry.db").display()));
        let store = AnyStore::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        let runtime = runs_flows.then(|| Arc::new(Resilience::new(BreakerConfig::default(), Duration::ZERO)));
        let mut state = ApiState::new(store.clone());
        if let Some(r) = &runtime {
            state = state.with_runtime(r.clone());
        }
        let app = router(Arc::new(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
        Api { base, http, store, runtime, _dir: dir }
    }

    async fn token(&self, tenant: &str, role: Role) -> String {
        let tenant: TenantId = tenant.parse().unwrap();
        self.store.ensure_tenant(&tenant, tenant.as_ref()).await.unwrap();
        issue(&self.store, &tenant, role, "test", None, "test").await.unwrap().token
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        super::support::call(&self.http, method, format!("{}{path}", self.base), token, body).await
    }

    /// Two dead letters of `tenant` on an unknown SKU (one cause), one on a refused write.
    async fn dead_letters(&self, tenant: &str) -> Vec<i64> {
        let tenant: TenantId = tenant.parse().unwrap();
        self.store.ensure_tenant(&tenant, tenant.as_ref()).await.unwrap();
        let jobs: Vec<NewJob> = (0..3)
            .map(|i| {
                NewJob::new(
                    tenant.clone(),
                    "amazon-orders-to-crm",
                    json!({ "order_id": format!("111-000000{i}-1234567"), "buyer": { "BuyerEmail": "jane@example.com" } }),
                )
            })
            .collect();
        self.store.enqueue(&jobs).await.unwrap();
        let claimed = self.store.claim("t", 3, Duration::from_secs(30)).await.unwrap();
        let completions: Vec<Completion> = claimed
            .iter()
            .enumerate()
            .map(|(i, j)| {
                let error = if i < 2 {
                    format!("order 111-000000{i}-1234567 line {}: unknown SKU 'UNMAPPED-17409': add the product", i + 1)
                } else {
                    "the CRM refused the write: 400".to_owned()
                };
                Completion::dead(j.id, "write order", "permanent", &error)
            })
            .collect();
        self.store.complete("t", &completions).await.unwrap();
        let mut ids: Vec<i64> =
            self.store.dead_letters(&tenant, true, 10).await.unwrap().iter().map(|d| d.id.0).collect();
        ids.sort();
        ids
    }
}

/// An Amazon order of `tenant` written to the CRM as `crm_id`: its F1 job's trace and xref.
async fn synced_order(store: &AnyStore, tenant: &str, order: &str, crm_id: &str) {
    let tenant: TenantId = tenant.parse().unwrap();
    store.ensure_tenant(&tenant, tenant.as_ref()).await.unwrap();
    store.enqueue(&[NewJob::new(tenant.clone(), "amazon-orders-to-crm", json!({ "order_id": order }))]).await.unwrap();
    let job = store.claim("t", 1, Duration::from_secs(30)).await.unwrap().remove(0);
    let record = format!("amazon:order:{order}");
    let line = |step: &str, message: &str| RunRecord {
        record: record.clone(),
        step: step.into(),
        outcome: "ok".into(),
        message: message.into(),
        at: jiff::Timestamp::now(),
    };
    let xref = Xref {
        key: XrefKey {
            tenant: tenant.clone(),
            source_system: "amazon".into(),
            source_entity: "order".into(),
            source_id: order.into(),
            target_system: "dataverse".into(),
            target_entity: "salesorder".into(),
        },
        target_id: crm_id.into(),
    };
    let done = Completion {
        job: job.id,
        outcome: Outcome::Completed { xrefs: vec![xref], cursor: None, echoes: Vec::new(), covers_earlier: false },
        trace: vec![line("read order", "getOrder 200"), line("write order", &format!("upserted salesorder {crm_id}"))],
    };
    store.complete("t", &[done]).await.unwrap();
}

fn path_with(path: &str, id: &str) -> String {
    path.replace("{id}", id).replace("{flow}", FLOW).replace("{version}", "1")
}

fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("POST", "/api/v1/dead-letters/bulk") => Some(json!({ "action": "replay", "preview": true })),
        ("POST", "/api/v1/tokens") => Some(json!({ "role": "viewer", "label": "x" })),
        ("POST", "/api/v1/alerts") => {
            Some(json!({ "kind": "breaker_open", "seconds": 60, "webhook": "https://h.example/x" }))
        }
        ("POST", "/api/v1/flows/{flow}/versions") => Some(json!({ "text": format!("name: {FLOW}\n") })),
        ("POST", "/api/v1/flows/{flow}/activate") => Some(json!({ "version": 1 })),
        ("POST", "/api/v1/flows/{flow}/preview") => Some(json!({ "text": format!("name: {FLOW}\n"), "sample": "{}" })),
        ("PUT", _) => Some(json!({ "version": null })),
        ("POST", _) => Some(json!({})),
        _ => None,
    }
}

async fn every_route_refuses_what_it_must(api: &Api) {
    let ids = api.dead_letters("acme").await;
    let other_ids = api.dead_letters("globex").await;
    let roles = [Role::Viewer, Role::Operator, Role::Admin];
    let mut tokens = Vec::new();
    for role in roles {
        tokens.push((role, api.token("acme", role).await));
    }
    let other_admin = api.token("globex", Role::Admin).await;
    let acme: TenantId = "acme".parse().unwrap();
    let text = format!("name: {FLOW}\n");
    api.store.add_flow_version(&acme, FLOW, &text, "imported", Activate::IfNew, "test").await.unwrap();
    for (method, path, least) in ROUTES {
        let at = path_with(path, &ids[0].to_string());
        // No token, and a token that is not one.
        let (status, body) = api.call(method, &at, None, body_for(method, path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a token: {body}");
        let (status, _) = api.call(method, &at, Some("fy_0123456789ab_not-the-secret"), body_for(method, path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with a made-up token");
        for (role, token) in &tokens {
            if role.allows(*least) {
                continue;
            }
            let (status, body) = api.call(method, &at, Some(token), body_for(method, path)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role}: {body}");
            assert!(body["error"].as_str().unwrap().contains(&format!("needs the {least} role")), "{body}");
        }
        // Another tenant's admin: an id of acme is not found; lists hold only globex's.
        if (path.contains("{id}") || path.contains("{flow}"))
            && !path.starts_with("/api/v1/tokens")
            && !path.starts_with("/api/v1/records")
            && !path.starts_with("/api/v1/alerts")
            && !path.starts_with("/api/v1/connections")
        {
            let (status, body) = api.call(method, &at, Some(&other_admin), body_for(method, path)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path} of another tenant: {body}");
        }
    }
    let (_, flows) = api.call("GET", "/api/v1/flows", Some(&other_admin), None).await;
    assert_eq!(flows, json!([]), "another tenant's flows are not listed");
    let (_, listed) = api.call("GET", "/api/v1/dead-letters", Some(&other_admin), None).await;
    let listed: Vec<i64> = listed.as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|id| other_ids.contains(id)), "only globex's: {listed:?}");
    // A record is found by any of its ids, only by its own tenant.
    synced_order(&api.store, "acme", "114-1111111-2222222", "5f1c0000-0000-4000-8000-000000000001").await;
    let viewer = &tokens[0].1;
    for id in ["114-1111111-2222222", "5f1c0000-0000-4000-8000-000000000001"] {
        let (status, found) = api.call("GET", &format!("/api/v1/records/{id}"), Some(viewer), None).await;
        assert_eq!(status, StatusCode::OK, "{id}: {found}");
        let (status, body) = api.call("GET", &format!("/api/v1/records/{id}"), Some(&other_admin), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's record: {body}");
    }
    // Each flow's figures, the tenant's own: acme's three dead letters and its synced order.
    let (status, stats) = api.call("GET", "/api/v1/flows/stats", Some(viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let flow = &stats[0];
    assert_eq!(stats.as_array().unwrap().len(), 1, "{stats}");
    assert_eq!(flow["flow"], "amazon-orders-to-crm");
    assert_eq!((flow["finished_24h"].as_u64(), flow["dead_24h"].as_u64()), (Some(4), Some(3)), "{stats}");
    assert_eq!(flow["completed_last_hour"], 1, "{stats}");
    let (p50, p99) = (flow["p50_under_ms"].as_u64().unwrap(), flow["p99_under_ms"].as_u64().unwrap());
    assert!(ferry_store::LATENCY_BOUNDS_MS.contains(&p50) && p50 <= p99, "{stats}");
    let (_, theirs) = api.call("GET", "/api/v1/flows/stats", Some(&other_admin), None).await;
    assert_eq!(theirs[0]["finished_24h"], 3, "globex's own: {theirs}");
    assert_eq!((theirs[0]["completed_last_hour"].as_u64(), theirs[0]["p50_under_ms"].is_null()), (Some(0), true));

    let (_, found) = api.call("GET", "/api/v1/records/114-1111111-2222222", Some(viewer), None).await;
    let steps: Vec<&str> = found["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["read order", "write order"], "{found}");
    assert_eq!(found["records"], json!(["amazon:order:114-1111111-2222222"]));
    assert_eq!(found["links"][0]["id"], "5f1c0000-0000-4000-8000-000000000001", "its CRM order: {found}");
    assert_eq!(found["links"][0]["relation"], "target");
    let (_, back) = api.call("GET", "/api/v1/records/5f1c0000-0000-4000-8000-000000000001", Some(viewer), None).await;
    assert_eq!(back["links"][0]["id"], "114-1111111-2222222", "and back to the Amazon order: {back}");
    assert_eq!(back["links"][0]["relation"], "source");
    let (status, _) = api.call("GET", "/api/v1/records/222-0000000-0000000", Some(viewer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an id nothing has");
    // A suffix that is not a whole id does not match.
    let (status, _) = api.call("GET", "/api/v1/records/2222222", Some(viewer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, me) = api.call("GET", "/api/v1/me", Some(&other_admin), None).await;
    assert_eq!(me["tenant"], "globex");
    // Another tenant's token id cannot be revoked from here.
    let acme_admin = &tokens[2].1;
    let globex_token_id = other_admin.split('_').nth(1).unwrap();
    let (status, _) =
        api.call("POST", &format!("/api/v1/tokens/{globex_token_id}/revoke"), Some(acme_admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn dead_letters_are_handled_by_cause_and_audited(api: &Api) {
    let ids = api.dead_letters("initech").await;
    let viewer = api.token("initech", Role::Viewer).await;
    let operator = api.token("initech", Role::Operator).await;
    let admin = api.token("initech", Role::Admin).await;

    let (status, groups) = api.call("GET", "/api/v1/dead-letters/groups", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK);
    let top = &groups[0];
    assert_eq!(top["count"], 2, "two orders, one cause: {groups}");
    assert_eq!(top["cause"], "order … line …: unknown SKU 'UNMAPPED-17409': add the product", "{groups}");
    assert_eq!(groups.as_array().unwrap().len(), 2, "{groups}");

    // The single view redacts buyer data; unredacted is an operator's, and audited.
    let (_, shown) = api.call("GET", &format!("/api/v1/dead-letters/{}", ids[0]), Some(&viewer), None).await;
    let payload = shown["payload"].as_str().unwrap();
    assert!(!payload.contains("jane@example.com") && payload.contains("111-0000000-1234567"), "{payload}");
    let (status, _) =
        api.call("GET", &format!("/api/v1/dead-letters/{}?unredacted=true", ids[0]), Some(&viewer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, shown) =
        api.call("GET", &format!("/api/v1/dead-letters/{}?unredacted=true", ids[0]), Some(&operator), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown["payload"].as_str().unwrap().contains("jane@example.com"));

    // Bulk by cause: a preview counts, changes nothing; then the replay.
    let cause = top["cause"].as_str().unwrap();
    let bulk = json!({ "action": "replay", "cause": cause, "preview": true });
    let (status, preview) = api.call("POST", "/api/v1/dead-letters/bulk", Some(&operator), Some(bulk)).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!((preview["matched"].as_u64(), preview["done"].as_u64()), (Some(2), Some(0)), "{preview}");
    let (_, still) = api.call("GET", "/api/v1/dead-letters", Some(&viewer), None).await;
    assert_eq!(still.as_array().unwrap().len(), 3, "a preview changes nothing");
    let (status, _) =
        api.call("POST", "/api/v1/dead-letters/bulk", Some(&operator), Some(json!({ "action": "discard" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "every open dead letter at once needs a filter");
    let bulk = json!({ "action": "replay", "cause": cause });
    let (_, done) = api.call("POST", "/api/v1/dead-letters/bulk", Some(&operator), Some(bulk)).await;
    assert_eq!((done["matched"].as_u64(), done["done"].as_u64()), (Some(2), Some(2)), "{done}");
    let (_, open) = api.call("GET", "/api/v1/dead-letters", Some(&viewer), None).await;
    assert_eq!(open.as_array().unwrap().len(), 1, "the other cause is left: {open}");
    let q = api.store.queue_stats_of(Some(&"initech".parse().unwrap())).await.unwrap();
    assert_eq!(q.ready, 2, "the two replays are queued");

    // One replayed with an edited payload (which must be an object), one discarded; twice is a conflict.
    let last = open[0]["id"].as_i64().unwrap();
    let (status, _) = api
        .call("POST", &format!("/api/v1/dead-letters/{last}/replay"), Some(&operator), Some(json!({ "payload": [1] })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An edit that drops a field of the job, or changes its kind, is refused naming it.
    let replay = |payload: Value| {
        let path = format!("/api/v1/dead-letters/{last}/replay");
        let operator = operator.clone();
        async move { api.call("POST", &path, Some(&operator), Some(json!({ "payload": payload }))).await }
    };
    let (status, refused) = replay(json!({ "order_id": "x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["error"].as_str().unwrap().contains("field `buyer` is missing"), "{refused}");
    let (status, refused) = replay(json!({ "order_id": 7, "buyer": { "BuyerEmail": "j@example.com" } })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["error"].as_str().unwrap().contains("field `order_id` must be a text"), "{refused}");
    let fixed = json!({ "order_id": "x", "buyer": { "BuyerEmail": "j@example.com" } });
    let (status, replayed) = replay(fixed.clone()).await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    let job = api.store.job(ferry_store::JobId(replayed["job"].as_i64().unwrap())).await.unwrap().unwrap();
    assert_eq!(job.payload_as::<Value>().unwrap(), fixed);
    let (status, _) = api.call("POST", &format!("/api/v1/dead-letters/{last}/discard"), Some(&operator), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "already replayed");

    // The audit log names the token behind each change.
    let (status, audit) = api.call("GET", "/api/v1/audit", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let operator_id = operator.split('_').nth(1).unwrap();
    let by_operator: Vec<&Value> =
        audit.as_array().unwrap().iter().filter(|a| a["actor"] == format!("token {operator_id}")).collect();
    let actions: Vec<&str> = by_operator.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"dlq.show_unredacted"), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| a.contains("replay")).count(), 3, "{actions:?}");
    assert!(!audit.to_string().contains("jane@example.com"), "no buyer data in the audit log");

    // An alert rule's webhook path is a secret: listed as scheme and host only.
    let rule =
        json!({ "kind": "breaker_open", "seconds": 300, "webhook": "https://hooks.slack.com/services/T0/B0/s3cr3t" });
    let (status, made) = api.call("POST", "/api/v1/alerts", Some(&admin), Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (_, rules) = api.call("GET", "/api/v1/alerts", Some(&viewer), None).await;
    assert_eq!(rules[0]["webhook"], "https://hooks.slack.com/…", "{rules}");
    assert!(!rules.to_string().contains("s3cr3t"));
    let (_, audit) = api.call("GET", "/api/v1/audit", Some(&admin), None).await;
    assert!(audit.to_string().contains("alert.add") && !audit.to_string().contains("s3cr3t"), "{audit}");
    let (status, _) = api
        .call(
            "POST",
            "/api/v1/alerts",
            Some(&admin),
            Some(json!({ "kind": "breaker_open", "seconds": 1, "webhook": "http://example.com/x" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "plain http to another machine");

    // Tokens: an admin makes one (shown once), revoking it ends it; an expired one is refused.
    let (status, made) = api
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({ "role": "viewer", "label": "finance", "expires": "30d" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let fresh = made["token"].as_str().unwrap().to_owned();
    assert_eq!(api.call("GET", "/api/v1/me", Some(&fresh), None).await.0, StatusCode::OK);
    let (_, listed) = api.call("GET", "/api/v1/tokens", Some(&admin), None).await;
    assert!(!listed.to_string().contains(&fresh), "a list never shows a token");
    let (status, _) =
        api.call("POST", &format!("/api/v1/tokens/{}/revoke", made["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.call("GET", "/api/v1/me", Some(&fresh), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("revoked"), "{body}");
    let tenant: TenantId = "initech".parse().unwrap();
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(300);
    let expiring = issue(&api.store, &tenant, Role::Viewer, "short", Some(soon), "test").await.unwrap().token;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = api.call("GET", "/api/v1/me", Some(&expiring), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("expired"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_a_token_its_role_and_the_tenant_on_sqlite() {
    every_route_refuses_what_it_must(&Api::start(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_a_token_its_role_and_the_tenant_on_postgres() {
    let Some(url) = ferry_store::testing::fresh_pg_schema("console_api").await.unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    every_route_refuses_what_it_must(&Api::start(Some(url)).await).await;
}

/// A call of `connection` (`<tenant>/<id>`, as the connectors name it) through the runtime;
/// `answer` is what the remote said.
async fn call_through(runtime: &Resilience, connection: &str, operation: &str, answer: Result<(), Failure>) {
    let spec = CallSpec {
        connection,
        scope: "spapi/app/SELLER",
        operation,
        host: "sellingpartnerapi-eu.amazon.com",
        rate_per_sec: 0.5,
        burst: 20,
        max_concurrency: 4,
        caps: Vec::new(),
    };
    let _ = runtime.call("read", &spec, async { answer }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_tenants_show_the_callers_own_only() {
    let api = Api::start(None).await;
    let viewer = api.token("acme", Role::Viewer).await;
    let other = api.token("globex", Role::Admin).await;
    let acme: TenantId = "acme".parse().unwrap();
    let runtime = api.runtime.as_ref().unwrap();

    // Nothing called yet: the runtime is there, the lists are empty.
    let (status, limits) = api.call("GET", "/api/v1/limits", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{limits}");
    assert_eq!(limits, json!({ "runtime": true, "budgets": [], "throttles": [], "breakers": [] }));

    // acme's Amazon connection used 5 of 20, then a 429 with Retry-After 42 s; globex's called too.
    for _ in 0..5 {
        call_through(runtime, "acme/amazon", "getOrder", Ok(())).await;
    }
    call_through(runtime, "acme/amazon", "searchOrders", Ok(())).await;
    call_through(runtime, "acme/amazon", "searchOrders", Err(Failure::throttled(Some(Duration::from_secs(42)), "429")))
        .await;
    call_through(runtime, "globex/amazon-de", "getOrderItems", Err(Failure::throttled(None, "429"))).await;

    let (_, limits) = api.call("GET", "/api/v1/limits", Some(&viewer), None).await;
    let budgets = limits["budgets"].as_array().unwrap();
    let ops: Vec<(&str, &str)> =
        budgets.iter().map(|b| (b["connection"].as_str().unwrap(), b["operation"].as_str().unwrap())).collect();
    assert_eq!(ops, [("amazon", "getOrder"), ("amazon", "searchOrders")], "acme's own only: {limits}");
    let get_order = &budgets[0];
    assert_eq!((get_order["burst"].as_u64(), get_order["rate_per_sec"].as_f64()), (Some(20), Some(0.5)));
    let tokens = get_order["tokens"].as_f64().unwrap();
    assert!((14.9..15.1).contains(&tokens), "5 of 20 used: {tokens}");
    assert!((get_order["fraction"].as_f64().unwrap() - 0.75).abs() < 0.01, "{get_order}");
    assert!(get_order["paused_until"].is_null());
    let search = &budgets[1];
    assert_eq!(search["tokens"], 0.0, "paused by the 429: {search}");
    let until: jiff::Timestamp = search["paused_until"].as_str().unwrap().parse().unwrap();
    let ahead = until.duration_since(jiff::Timestamp::now()).as_secs_f64();
    assert!((40.0..=42.5).contains(&ahead), "paused for the Retry-After: {ahead}");
    let throttles = limits["throttles"].as_array().unwrap();
    assert_eq!(throttles.len(), 1, "globex's 429 is not acme's: {limits}");
    assert_eq!(throttles[0]["connection"], "amazon");
    assert_eq!(throttles[0]["operation"], "searchOrders");
    assert_eq!(throttles[0]["retry_after_seconds"], 42.0);
    assert_eq!(limits["breakers"][0]["host"], "sellingpartnerapi-eu.amazon.com");
    assert_eq!(limits["breakers"][0]["state"], "closed");
    let (_, theirs) = api.call("GET", "/api/v1/limits", Some(&other), None).await;
    assert!(!theirs.to_string().contains("\"amazon\""), "acme's connection is not globex's: {theirs}");
    assert_eq!(theirs["throttles"][0]["connection"], "amazon-de");
    assert!(theirs["throttles"][0]["retry_after_seconds"].is_null(), "it sent no Retry-After");

    // The tenant: its own, with its connections and flows; another's id is not found.
    api.store
        .upsert_connection(&ferry_store::Connection {
            tenant: acme.clone(),
            id: "amazon".parse().unwrap(),
            system: "amazon".into(),
            endpoint: "https://sellingpartnerapi-eu.amazon.com".into(),
            credentials_ref: None,
            limits: json!({}),
            options: json!({}),
        })
        .await
        .unwrap();
    api.store
        .add_flow_version(&acme, FLOW, &format!("name: {FLOW}\n"), "imported", Activate::IfNew, "test")
        .await
        .unwrap();
    let (status, listed) = api.call("GET", "/api/v1/tenants", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1, "only the caller's own: {listed}");
    let (status, tenant) = api.call("GET", "/api/v1/tenants/acme", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(listed[0], tenant);
    assert_eq!((tenant["id"].as_str(), tenant["enabled"].as_bool()), (Some("acme"), Some(true)));
    assert_eq!(tenant["connections"], json!([{ "name": "amazon", "kind": "amazon" }]));
    assert_eq!(tenant["flows"][0]["name"], FLOW, "{tenant}");
    let (status, _) = api.call("GET", "/api/v1/tenants/acme", Some(&other), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's id");
    let (status, _) = api.call("GET", "/api/v1/tenants/globex", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = api.call("GET", "/api/v1/tenants", Some(&other), None).await;
    assert_eq!(
        (theirs[0]["id"].as_str(), theirs[0]["connections"].as_array().map(Vec::len)),
        (Some("globex"), Some(0))
    );
    // A disabled tenant says so.
    api.store.set_tenant_status(&acme, ferry_store::TenantStatus::Disabled, "test").await.unwrap();
    let (_, tenant) = api.call("GET", "/api/v1/tenants/acme", Some(&viewer), None).await;
    assert_eq!(tenant["enabled"], false, "{tenant}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_on_a_node_without_flows_are_empty_and_say_why() {
    let api = Api::start_with(None, false).await;
    let viewer = api.token("acme", Role::Viewer).await;
    let (status, limits) = api.call("GET", "/api/v1/limits", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK, "not an error: {limits}");
    assert_eq!(limits["runtime"], false);
    assert!(limits["note"].as_str().unwrap().contains("runs no flows"), "{limits}");
    assert_eq!((limits["budgets"].clone(), limits["throttles"].clone()), (json!([]), json!([])));
    assert_eq!(limits["breakers"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_replayed_and_discarded_by_cause_and_every_change_is_audited() {
    dead_letters_are_handled_by_cause_and_audited(&Api::start(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_valid_and_lists_every_route_with_its_refusals() {
    let api = Api::start(None).await;
    let (status, doc) = api.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "the document needs no token");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for (path, methods) in paths {
        for (method, op) in methods.as_object().unwrap() {
            documented += 1;
            let listed = ROUTES.iter().any(|(m, p, _)| m.eq_ignore_ascii_case(method) && p == path);
            assert!(listed, "{method} {path} is documented but not in this test's table");
            assert!(op["responses"]["401"].is_object(), "{method} {path} documents its 401");
            // Every $ref resolves.
            for r in refs(op) {
                let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("odd ref {r}"));
                assert!(doc["components"]["schemas"][name].is_object(), "{method} {path}: {r} is not in the document");
            }
        }
    }
    assert_eq!(documented, ROUTES.len(), "every route is documented");
}

fn refs(v: &Value) -> Vec<String> {
    match v {
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, v)| if k == "$ref" { v.as_str().map(str::to_owned).into_iter().collect() } else { refs(v) })
            .collect(),
        Value::Array(a) => a.iter().flat_map(refs).collect(),
        _ => Vec::new(),
    }
}
