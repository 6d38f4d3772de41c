//! The console's pages over HTTP on a real store: sign-in with a token, the overview of the
//! token's tenant, dead letters by cause with replay offered to operators only (a viewer's
//! replay posted anyway is refused), a bulk replay by cause, a record found by its id with its
//! trace, and nothing of another tenant.

use std::sync::Arc;
use std::time::Duration;

use ferry_console::api::{ApiState, router};
use ferry_console::auth::{Role, issue};
use ferry_store::{AnyStore, Completion, NewJob, Store as _, TenantId};
use serde_json::json;

struct Console {
    base: String,
    http: reqwest::Client,
    store: AnyStore,
    _dir: ferry_store::testing::TempDir,
}

impl Console {
    async fn start() -> Console {
        let dir = ferry_store::testing::TempDir::new("ferry-console-pages").unwrap();
        let store = AnyStore::open(&format!("sqlite://{}", dir.path().join("ferry.db").display())).await.unwrap();
        store.migrate().await.unwrap();
        let app = router(Arc::new(ApiState::new(store.clone())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = ferry_connectors::http::client_builder(&ferry_connectors::http::Tls::default())
            .unwrap()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Console { base, http, store, _dir: dir }
    }

    async fn token(&self, tenant: &str, role: Role) -> String {
        let t: TenantId = tenant.parse().unwrap();
        self.store.ensure_tenant(&t, tenant).await.unwrap();
        issue(&self.store, &t, role, "test", None, "test").await.unwrap().token
    }

    /// GET as the holder of `token` (signed in: the console's cookie).
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, String, Option<String>) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.header("cookie", format!("ferry_console={t}"));
        }
        let response = request.send().await.unwrap();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), response.text().await.unwrap(), location)
    }

    /// POST a form; (status, body, location, set-cookie).
    async fn post(&self, path: &str, token: Option<&str>, form: &str) -> (u16, String, Option<String>, Option<String>) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some(t) = token {
            request = request.header("cookie", format!("ferry_console={t}"));
        }
        let response = request.send().await.unwrap();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        let cookie = response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned());
        let status = response.status().as_u16();
        (status, response.text().await.unwrap(), location, cookie)
    }
}

/// Two orders of `tenant` dead-lettered on one unknown SKU.
async fn unknown_sku(store: &AnyStore, tenant: &str) -> Vec<i64> {
    let t: TenantId = tenant.parse().unwrap();
    store.ensure_tenant(&t, tenant).await.unwrap();
    let jobs: Vec<NewJob> = (0..2)
        .map(|i| {
            NewJob::new(
                t.clone(),
                "amazon-orders-to-crm",
                json!({ "order_id": format!("113-000000{i}-7654321"), "BuyerEmail": "jo@example.com" }),
            )
        })
        .collect();
    store.enqueue(&jobs).await.unwrap();
    let claimed = store.claim("t", 2, Duration::from_secs(30)).await.unwrap();
    let done: Vec<Completion> = claimed
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let error = format!("order 113-000000{i}-7654321 line 1: unknown SKU 'UNMAPPED-17409': add the product");
            Completion::dead(j.id, "write order", "permanent", &error)
        })
        .collect();
    store.complete("t", &done).await.unwrap();
    store.dead_letters(&t, true, 10).await.unwrap().iter().map(|d| d.id.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_fix_dead_letters_by_cause_viewers_only_look_and_tenants_stay_apart() {
    let c = Console::start().await;
    let ids = unknown_sku(&c.store, "acme").await;
    let viewer = c.token("acme", Role::Viewer).await;
    let operator = c.token("acme", Role::Operator).await;
    let other = c.token("globex", Role::Operator).await;

    // Signed out: every page sends you to sign in; a bad token is refused with its reason.
    let (status, _, location) = c.get("/console", None).await;
    assert_eq!((status, location.as_deref()), (303, Some("/console/login")));
    let (status, page, _, _) = c.post("/console/login", None, "token=fy_0123456789ab_nope").await;
    assert_eq!(status, 401);
    assert!(page.contains("id=\"error\"") && page.contains("not valid"), "{page}");
    let (status, _, location, cookie) = c.post("/console/login", None, &format!("token={operator}")).await;
    assert_eq!((status, location.as_deref()), (303, Some("/console")));
    let cookie = cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");

    // The overview: the tenant's queue and its failures by cause.
    let (status, page, _) = c.get("/console", Some(&viewer)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Tenant acme") && page.contains("UNMAPPED-17409"), "{page}");
    assert!(
        page.contains("data-events=\"/console/events\"") && page.contains("new EventSource"),
        "the overview listens to its live updates"
    );
    assert!(page.contains("id=\"flows\"") && page.contains("<polyline"), "each flow's day, with its chart: {page}");
    let flows_row = page.split("id=\"flows\"").nth(1).unwrap();
    assert!(
        flows_row.contains("amazon-orders-to-crm</td><td>2</td><td class=\"bad\">2</td>"),
        "2 records, 2 failed: {flows_row}"
    );
    assert!(!page.contains("jo@example.com"));

    // A viewer sees the dead letters and no replay; an operator sees "Replay all 2".
    let (_, page, _) = c.get("/console/dead-letters", Some(&viewer)).await;
    assert!(page.contains(&format!("/console/dead-letters/{}", ids[0])) && !page.contains("Replay all"), "{page}");
    let (_, page, _) = c.get(&format!("/console/dead-letters/{}", ids[0]), Some(&viewer)).await;
    assert!(!page.contains("id=\"replay\"") && !page.contains("jo@example.com"), "{page}");
    let (status, page, _, _) = c.post(&format!("/console/dead-letters/{}/replay", ids[0]), Some(&viewer), "").await;
    assert_eq!(status, 403, "{page}");
    let (_, page, _) = c.get("/console/dead-letters", Some(&operator)).await;
    assert!(page.contains("Replay all 2"), "{page}");
    let ids_before = ids.clone();

    // The operator edits one payload: bad JSON is refused at the field with its line, nothing
    // replayed; a good edit is replayed as written (and seeing the stored payload is audited).
    let (status, page, _) = c.get(&format!("/console/dead-letters/{}?edit=1", ids[0]), Some(&viewer)).await;
    assert_eq!(status, 403, "a viewer cannot open the editor: {page}");
    let (status, page, _) = c.get(&format!("/console/dead-letters/{}?edit=1", ids[0]), Some(&operator)).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"payload-editor\"") && page.contains("jo@example.com"), "{page}");
    let bad_form = "payload=%7B%22order_id%22%3A+%22113%22%2C%7D";
    let (status, page, _, _) =
        c.post(&format!("/console/dead-letters/{}/replay", ids[0]), Some(&operator), bad_form).await;
    assert_eq!(status, 400);
    assert!(page.contains("id=\"payload-error\"") && page.contains("not valid JSON at line 1"), "{page}");
    assert!(page.contains("113") && page.contains(",}</textarea>"), "the text is kept as typed: {page}");
    assert_eq!(c.store.dead_letters(&"acme".parse().unwrap(), true, 10).await.unwrap().len(), 2, "nothing replayed");
    // Valid JSON that drops a field of the job is refused at the editor too, naming the field.
    let dropped: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", r#"{"order_id": "113-0000000-7654321"}"#)
        .finish();
    let (status, page, _, _) =
        c.post(&format!("/console/dead-letters/{}/replay", ids[0]), Some(&operator), &dropped).await;
    assert_eq!(status, 400);
    assert!(page.contains("id=\"payload-error\"") && page.contains("field `BuyerEmail` is missing"), "{page}");
    let good: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", r#"{"order_id": "113-0000000-7654321", "BuyerEmail": "jo.fixed@example.com"}"#)
        .finish();
    let (status, _, location, _) =
        c.post(&format!("/console/dead-letters/{}/replay", ids[0]), Some(&operator), &good).await;
    assert_eq!(status, 303);
    let (_, page, _) = c.get(&location.unwrap(), Some(&operator)).await;
    assert!(page.contains("with the edited payload"), "{page}");
    let acme: TenantId = "acme".parse().unwrap();
    let audit = c.store.audit_log(&acme, 50).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.action == "dlq.show_unredacted"), "the editor's view is audited");
    let ids: Vec<i64> = c.store.dead_letters(&acme, true, 10).await.unwrap().iter().map(|d| d.id.0).collect();

    // Another tenant's operator: nothing of acme.
    let (status, _, _) = c.get(&format!("/console/dead-letters/{}", ids_before[1]), Some(&other)).await;
    assert_eq!(status, 404);
    let (_, page, _) = c.get("/console/dead-letters", Some(&other)).await;
    assert!(!page.contains("UNMAPPED-17409"), "{page}");
    let cause = "order … line …: unknown SKU 'UNMAPPED-17409': add the product";
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("flow", "amazon-orders-to-crm")
        .append_pair("cause", cause)
        .append_pair("action", "replay")
        .finish();
    let (_, _, location, _) = c.post("/console/dead-letters/bulk", Some(&other), &form).await;
    let (_, page, _) = c.get(&location.unwrap(), Some(&other)).await;
    assert!(page.contains("0 of 0 dead letters replayed"), "{page}");
    assert_eq!(
        c.store.dead_letters(&"acme".parse().unwrap(), true, 10).await.unwrap().len(),
        1,
        "globex replayed none of acme's (one is left after the edited replay)"
    );

    // The operator replays the cause at once.
    let (status, _, location, _) = c.post("/console/dead-letters/bulk", Some(&operator), &form).await;
    assert_eq!(status, 303);
    let (_, page, _) = c.get(&location.unwrap(), Some(&operator)).await;
    assert!(page.contains("1 of 1 dead letters replayed"), "the one left after the edited replay: {page}");
    assert_eq!(ids.len(), 1);
    assert!(c.store.dead_letters(&"acme".parse().unwrap(), true, 10).await.unwrap().is_empty());

    // A record found by its order id: the replays' trace is there, and the id of nothing is said.
    let (status, page, _) = c.get("/console/records?id=113-0000000-7654321", Some(&viewer)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("nothing of tenant acme has the id 113-0000000-7654321") || page.contains("id=\"trace\""),
        "{page}"
    );
    let (_, page, _) = c.get("/console/records?id=999-9999999-9999999", Some(&viewer)).await;
    assert!(page.contains("nothing of tenant acme has the id 999-9999999-9999999"), "{page}");

    // The htmx the pages load is served by the node itself.
    let (status, js, _) = c.get("/console/assets/htmx.min.js", None).await;
    assert_eq!(status, 200);
    assert!(js.contains("htmx"), "vendored htmx");
}
