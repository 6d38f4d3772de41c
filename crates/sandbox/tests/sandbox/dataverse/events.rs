//! Change tracking and webhooks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};
use axum::routing::post;
use ferry_sandbox::dataverse::{StepMode, StepOptions, WebhookAuth, WebhookRegistration};
use serde_json::{Value, json};

use super::samples;
use super::support::{Api, json_shape};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn change_tracking_returns_a_delta_link_then_changes_and_deletions_in_the_reference_shape() {
    let api = Api::start().await;
    let kept = api.create("accounts", json!({"name": "Monte Orton", "telephone1": "555000", "fax": "10101"})).await;
    let gone = api.create("accounts", json!({"name": "Gone"})).await;
    let initial = api
        .send("GET", "accounts?$select=name,accountnumber,telephone1,fax", &[("Prefer", "odata.track-changes")], None)
        .await;
    assert_eq!(initial.header("Preference-Applied").as_deref(), Some("odata.track-changes"));
    let initial = initial.json();
    let reference: Value = serde_json::from_str(samples::CHANGE_TRACKING_INITIAL_RESPONSE).expect("sample");
    assert_eq!(keys(&initial), keys(&reference));
    let row = initial["value"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["accountid"] == kept.as_str()))
        .expect("row");
    assert_eq!(json_shape(row), json_shape(&reference["value"][0]));
    let delta = initial["@odata.deltaLink"].as_str().expect("delta link").to_owned();
    assert!(delta.contains("accounts?$select=name,accountnumber,telephone1,fax&$deltatoken="), "{delta}");
    assert!(delta.contains("%21"), "token shaped like the sample: {delta}");

    // Nothing changed: no rows, a delta link again.
    let empty = api.send_url("GET", &delta, &[("Prefer", "odata.track-changes")], None).await.json();
    assert_eq!(empty["value"].as_array().map(Vec::len), Some(0));

    api.patch(&format!("accounts({kept})"), &[], &json!({"telephone1": "555001"})).await;
    api.send("DELETE", &format!("accounts({gone})"), &[], None).await;
    let changes = api.send_url("GET", &delta, &[("Prefer", "odata.track-changes")], None).await.json();
    let reference: Value = serde_json::from_str(samples::CHANGE_TRACKING_DELTA_RESPONSE).expect("sample");
    assert_eq!(keys(&changes), keys(&reference));
    assert!(changes["@odata.context"].as_str().is_some_and(|c| c.ends_with("/$delta")));
    let values = changes["value"].as_array().expect("value");
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["telephone1"], "555001");
    assert_eq!(keys(&values[1]), keys(&reference["value"][1]));
    assert_eq!((values[1]["id"].as_str(), values[1]["reason"].as_str()), (Some(gone.as_str()), Some("deleted")));
    assert!(values[1]["@odata.context"].as_str().is_some_and(|c| c.ends_with("/$metadata#accounts/$deletedEntity")));

    let r = api.send("GET", "accounts?$filter=name%20eq%20'x'", &[("Prefer", "odata.track-changes")], None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error().1, "The \"$filter\" query parameter isn't supported when Change Tracking is enabled.");
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, String, Value)>>>);

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let store = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, uri: Uri, body: Bytes| {
            let store = store.clone();
            async move {
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                store.0.lock().unwrap_or_else(|e| e.into_inner()).push((
                    headers,
                    uri.query().unwrap_or_default().to_owned(),
                    json,
                ));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received)
}

#[tokio::test]
async fn webhooks_post_a_remote_execution_context_shaped_like_the_reference_sample() {
    let api = Api::start().await;
    let (url, received) = receiver().await;
    api.sandbox.register_webhook(WebhookRegistration {
        url,
        entity: "contact".into(),
        messages: vec!["Create".into(), "Update".into(), "Delete".into()],
        auth: WebhookAuth::WebhookKey("s3cret key".into()),
    });
    let id = api.create("contacts", json!({"firstname": "James", "lastname": "Glynn"})).await;
    api.patch(&format!("contacts({id})"), &[], &json!({"firstname": "Jim"})).await;
    api.send("DELETE", &format!("contacts({id})"), &[], None).await;
    api.create("accounts", json!({"name": "not registered"})).await;
    for _ in 0..100 {
        if received.0.lock().map(|r| r.len()).unwrap_or(0) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let calls = received.0.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(calls.len(), 3, "create, update, delete of contact only");
    let messages: Vec<&str> = calls.iter().filter_map(|(_, _, b)| b["MessageName"].as_str()).collect();
    assert_eq!(messages, ["Create", "Update", "Delete"]);
    let (headers, query, update) = &calls[1];
    assert_eq!(query, "code=s3cret%20key");
    assert_eq!(headers.get("x-ms-dynamics-entity-name").and_then(|v| v.to_str().ok()), Some("contact"));
    assert_eq!(headers.get("x-ms-dynamics-request-name").and_then(|v| v.to_str().ok()), Some("Update"));
    assert!(
        headers.get("x-ms-dynamics-organization").is_some() && headers.get("x-ms-correlation-request-id").is_some()
    );
    let reference: Value =
        serde_json::from_str(samples::WEBHOOK_REMOTEEXECUTIONCONTEXT_CONTACT_UPDATE).expect("sample");
    assert_eq!(keys(update), keys(&reference));
    assert_eq!(keys(&update["InputParameters"][0]["value"]), keys(&reference["InputParameters"][0]["value"]));
    assert_eq!(keys(&update["ParentContext"]), keys(&reference["ParentContext"]));
    assert_eq!(keys(&update["PostEntityImages"][0]["value"]), keys(&reference["PostEntityImages"][0]["value"]));
    assert_eq!(update["PrimaryEntityId"], id.as_str());
    assert_eq!((update["Stage"].as_i64(), update["ParentContext"]["Stage"].as_i64()), (Some(40), Some(30)));
    let attributes = update["InputParameters"][0]["value"]["Attributes"].as_array().expect("attributes");
    let firstname = attributes.iter().find(|a| a["key"] == "firstname").expect("firstname");
    assert_eq!(firstname["value"], "Jim");
    let modified = attributes.iter().find(|a| a["key"] == "modifiedon").expect("modifiedon");
    assert!(modified["value"].as_str().is_some_and(|v| v.starts_with("/Date(")));
    let modified_by = attributes.iter().find(|a| a["key"] == "modifiedby").expect("modifiedby");
    assert_eq!(keys(&modified_by["value"]), keys(&reference["InputParameters"][0]["value"]["Attributes"][5]["value"]));
    assert_eq!(api.sandbox.webhook_deliveries().iter().filter(|d| d.outcome == Ok(200)).count(), 3);

    // Above 256 KB the bulky parts are dropped and a header says so.
    api.create("contacts", json!({"lastname": "Big", "description": "x".repeat(300 * 1024)})).await;
    for _ in 0..100 {
        if received.0.lock().map(|r| r.len()).unwrap_or(0) >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let calls = received.0.lock().map(|r| r.clone()).unwrap_or_default();
    let (headers, _, big) = calls.get(3).expect("fourth call");
    assert_eq!(headers.get("x-ms-dynamics-msg-size-exceeded").and_then(|v| v.to_str().ok()), Some("true"));
    assert!(big.get("InputParameters").is_none() && big.get("ParentContext").is_none());
    assert_eq!(big["MessageName"], "Create");
}

#[tokio::test]
async fn a_change_made_while_an_initial_sync_pages_is_in_the_first_delta() {
    let api = Api::start().await;
    for n in 0..4 {
        api.create("accounts", json!({"name": format!("A{n}")})).await;
    }
    let track = [("Prefer", "odata.track-changes,odata.maxpagesize=2")];
    let page1 = api.send("GET", "accounts?$select=name", &track, None).await.json();
    let next = page1["@odata.nextLink"].as_str().expect("more pages").to_owned();
    assert!(page1.get("@odata.deltaLink").is_none(), "the delta link comes with the last page");
    let changed = page1["value"][0]["accountid"].as_str().expect("id").to_owned();
    api.patch(&format!("accounts({changed})"), &[], &json!({"name": "changed meanwhile"})).await;
    let page2 = api.send_url("GET", &next, &track, None).await.json();
    let delta = page2["@odata.deltaLink"].as_str().expect("delta link").to_owned();
    let changes = api.send_url("GET", &delta, &[("Prefer", "odata.track-changes")], None).await.json();
    let names: Vec<&str> =
        changes["value"].as_array().expect("value").iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["changed meanwhile"]);
}

#[tokio::test]
async fn webhooks_can_be_registered_through_the_web_api_as_a_service_endpoint_and_step() {
    let api = Api::start().await;
    let (url, received) = receiver().await;
    let endpoint = api
        .create(
            "serviceendpoints",
            json!({"name": "Ferry", "contract": 8, "url": url, "authtype": 5,
            "authvalue": "<settings><setting name=\"x-ferry-key\" value=\"abc\" /></settings>"}),
        )
        .await;
    let message = api.get("sdkmessages?$select=sdkmessageid&$filter=name%20eq%20'Update'").await.json()["value"][0]["sdkmessageid"]
        .as_str()
        .expect("Update message")
        .to_owned();
    let filter = api
        .get(&format!("sdkmessagefilters?$select=sdkmessagefilterid&$filter=primaryobjecttypecode%20eq%20'account'%20and%20_sdkmessageid_value%20eq%20{message}"))
        .await
        .json()["value"][0]["sdkmessagefilterid"]
        .as_str()
        .expect("filter")
        .to_owned();
    api.create(
        "sdkmessageprocessingsteps",
        json!({"name": "Ferry: Update of account", "stage": 40, "mode": 1, "rank": 1, "supporteddeployment": 0,
            "sdkmessageid@odata.bind": format!("/sdkmessages({message})"),
            "sdkmessagefilterid@odata.bind": format!("/sdkmessagefilters({filter})"),
            "eventhandler_serviceendpoint@odata.bind": format!("/serviceendpoints({endpoint})")}),
    )
    .await;
    let listed =
        api.get("serviceendpoints?$filter=contract%20eq%208&$select=serviceendpointid,name,authtype,url").await.json();
    assert_eq!(listed["value"][0]["serviceendpointid"], endpoint.as_str());
    let account = api.create("accounts", json!({"name": "created: not registered"})).await;
    api.patch(&format!("accounts({account})"), &[], &json!({"name": "updated"})).await;
    for _ in 0..100 {
        if received.0.lock().map(|r| !r.is_empty()).unwrap_or(false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let calls = received.0.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(calls.len(), 1, "only the registered message and table");
    let (headers, _, body) = &calls[0];
    assert_eq!(headers.get("x-ferry-key").and_then(|v| v.to_str().ok()), Some("abc"));
    assert_eq!((body["MessageName"].as_str(), body["PrimaryEntityName"].as_str()), (Some("Update"), Some("account")));
}

#[tokio::test]
async fn failed_webhook_deliveries_are_recorded_as_failed_system_jobs() {
    let api = Api::start().await;
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    api.sandbox.register_webhook(WebhookRegistration {
        url,
        entity: "account".into(),
        messages: vec!["Create".into()],
        auth: WebhookAuth::WebhookKey("k".into()),
    });
    let account = api.create("accounts", json!({"name": "Unlucky"})).await;
    let mut jobs = Value::Null;
    for _ in 0..100 {
        jobs =
            api.get("asyncoperations?$select=name,message,regardingobjectid&$filter=statuscode%20eq%2031").await.json();
        if jobs["value"].as_array().is_some_and(|v| !v.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(jobs["value"][0]["name"], "WebHook: Create of account");
    assert_eq!(jobs["value"][0]["regardingobjectid"], account.as_str());
    assert!(jobs["value"][0]["message"].as_str().is_some_and(|m| m.contains("connect")), "{jobs}");
}

async fn calls_after(received: &Received, n: usize) -> Vec<(HeaderMap, String, Value)> {
    for _ in 0..100 {
        if received.0.lock().map(|r| r.len()).unwrap_or(0) >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything more that would arrive has had its chance.
    tokio::time::sleep(Duration::from_millis(100)).await;
    received.0.lock().map(|r| r.clone()).unwrap_or_default()
}

fn registration(url: &str, entity: &str, messages: &[&str]) -> WebhookRegistration {
    WebhookRegistration {
        url: url.to_owned(),
        entity: entity.into(),
        messages: messages.iter().map(|m| (*m).to_owned()).collect(),
        auth: WebhookAuth::WebhookKey("k".into()),
    }
}

#[tokio::test]
async fn a_step_with_filtering_attributes_fires_on_updates_that_write_one_of_them_only() {
    let api = Api::start().await;
    let (url, received) = receiver().await;
    let step = api.sandbox.register_webhook_step(
        registration(&url, "account", &["Create", "Update"]),
        StepOptions { filtering_attributes: vec!["name".into(), "telephone1".into()], ..StepOptions::default() },
    );
    let id = api.create("accounts", json!({"name": "A", "fax": "1"})).await;
    api.patch(&format!("accounts({id})"), &[], &json!({"fax": "2"})).await;
    api.patch(&format!("accounts({id})"), &[], &json!({"description": "x", "telephone1": "555"})).await;
    api.patch(&format!("accounts({id})"), &[], &json!({"fax": "3"})).await;
    let calls = calls_after(&received, 2).await;
    let messages: Vec<&str> = calls.iter().filter_map(|(_, _, b)| b["MessageName"].as_str()).collect();
    assert_eq!(messages, ["Create", "Update"], "creates always, updates only when name or telephone1 is written");
    let update = &calls[1].2;
    let written: Vec<&str> = update["InputParameters"][0]["value"]["Attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter_map(|a| a["key"].as_str())
        .collect();
    assert!(written.contains(&"telephone1"), "{written:?}");
    // The step is the call's owning extension.
    assert_eq!(update["OwningExtension"]["Id"], step.to_string());
    assert_eq!(update["OwningExtension"]["LogicalName"], "sdkmessageprocessingstep");
}

#[tokio::test]
async fn a_synchronous_step_is_called_within_the_request_with_mode_0_and_its_failure_fails_the_request() {
    let api = Api::start().await;
    let (url, received) = receiver().await;
    let step = api.sandbox.register_webhook_step(
        registration(&url, "contact", &["Create", "Update"]),
        StepOptions { mode: StepMode::Synchronous, ..StepOptions::default() },
    );
    let id = api.create("contacts", json!({"lastname": "Sync"})).await;
    // Delivered before the create answered: no waiting.
    let calls = received.0.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(calls.len(), 1, "the call was made within the request");
    let body = &calls[0].2;
    assert_eq!((body["Mode"].as_i64(), body["MessageName"].as_str()), (Some(0), Some("Create")));
    assert_eq!(body["OwningExtension"]["Id"], step.to_string());
    assert_eq!(body["PrimaryEntityId"], id.as_str());

    // A second synchronous step whose endpoint fails: the update fails and is undone.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    api.sandbox.register_webhook_step(
        registration(&dead, "contact", &["Update"]),
        StepOptions { mode: StepMode::Synchronous, ..StepOptions::default() },
    );
    let first = api.send("GET", "contacts?$select=lastname", &[("Prefer", "odata.track-changes")], None).await.json();
    let delta = first["@odata.deltaLink"].as_str().expect("delta").to_owned();
    let r = api.patch(&format!("contacts({id})"), &[], &json!({"lastname": "Changed"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let (code, message) = r.error();
    assert_eq!(code, "0x80040265");
    assert!(message.contains("synchronous WebHook step") && !message.contains("code=k"), "{message}");
    assert_eq!(api.get(&format!("contacts({id})?$select=lastname")).await.json()["lastname"], "Sync", "rolled back");
    // Not a System Job: the caller was told.
    let jobs = api.get("asyncoperations?$select=name").await.json();
    assert_eq!(jobs["value"], json!([]));
    // The rolled-back update is not a change to track either.
    let changes = api.send_url("GET", &delta, &[("Prefer", "odata.track-changes")], None).await.json();
    assert_eq!(changes["value"], json!([]));
}

#[tokio::test]
async fn steps_registered_through_the_web_api_carry_their_mode_filtering_attributes_and_id() {
    let api = Api::start().await;
    let (url, received) = receiver().await;
    let endpoint = api
        .create(
            "serviceendpoints",
            json!({"name": "Ferry", "contract": 8, "url": url, "authtype": 4, "authvalue": "k"}),
        )
        .await;
    let message = "20bebb1b-ea3e-db11-86a7-000a3a5473e8"; // Update
    let filter = api
        .get(&format!("sdkmessagefilters?$select=sdkmessagefilterid&$filter=primaryobjecttypecode%20eq%20'account'%20and%20_sdkmessageid_value%20eq%20{message}"))
        .await
        .json()["value"][0]["sdkmessagefilterid"]
        .as_str()
        .expect("filter")
        .to_owned();
    let step = api
        .create(
            "sdkmessageprocessingsteps",
            json!({"name": "Ferry: Update of account name", "stage": 40, "mode": 0, "filteringattributes": "name",
                "sdkmessageid@odata.bind": format!("/sdkmessages({message})"),
                "sdkmessagefilterid@odata.bind": format!("/sdkmessagefilters({filter})"),
                "eventhandler_serviceendpoint@odata.bind": format!("/serviceendpoints({endpoint})")}),
        )
        .await;
    let account = api.create("accounts", json!({"name": "A"})).await;
    api.patch(&format!("accounts({account})"), &[], &json!({"fax": "1"})).await;
    assert!(received.0.lock().map(|r| r.is_empty()).unwrap_or(false), "fax is not a filtering attribute");
    api.patch(&format!("accounts({account})"), &[], &json!({"name": "B"})).await;
    let calls = received.0.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(calls.len(), 1, "called within the update of name");
    assert_eq!(
        (calls[0].2["Mode"].as_i64(), calls[0].2["OwningExtension"]["Id"].as_str()),
        (Some(0), Some(step.as_str()))
    );
}

#[tokio::test]
async fn next_and_delta_links_lead_back_through_the_host_the_client_used() {
    let api = Api::start().await;
    for n in 0..3 {
        api.create("accounts", json!({"name": format!("A{n}")})).await;
    }
    let port = api.sandbox.addr().port();
    let host = format!("localhost:{port}");
    let get = |prefer: &'static str| {
        api.http
            .get(format!("{}/accounts?$select=name", api.sandbox.api_url()))
            .bearer_auth(&api.token)
            .header("Host", host.clone())
            .header("Prefer", prefer)
            .send()
    };
    let page: Value = serde_json::from_str(&get("odata.maxpagesize=2").await.expect("GET").text().await.expect("body"))
        .expect("json");
    let next = page["@odata.nextLink"].as_str().expect("next link");
    assert!(next.starts_with(&format!("http://localhost:{port}/api/data/v9.2/accounts?")), "{next}");
    let tracked: Value =
        serde_json::from_str(&get("odata.track-changes").await.expect("GET").text().await.expect("body"))
            .expect("json");
    let delta = tracked["@odata.deltaLink"].as_str().expect("delta link");
    assert!(delta.starts_with(&format!("http://localhost:{port}/api/data/v9.2/accounts?")), "{delta}");
    // Without a usable Host the configured address is used.
    let plain = api.get("accounts?$select=name").await.json();
    assert!(plain["@odata.context"].as_str().is_some_and(|c| c.starts_with(&api.sandbox.base_url())));
}
