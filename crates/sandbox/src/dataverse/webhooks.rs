//! WebHooks (DYNAMICS.md §A.4): on create/update/delete of a registered table the sandbox
//! POSTs a serialized `RemoteExecutionContext` (shaped like the reference sample) to each
//! registered URL, with the `x-ms-dynamics-*` headers and the configured authentication.
//! An asynchronous step (mode 1) is delivered after the request, in commit order, with one
//! retry on 502/503/504, and a failure becomes a System Job; a synchronous step (mode 0) is
//! delivered within the request (`"Mode": 0`), and its failure fails the request, whose writes
//! are undone. A step with filtering attributes fires on Update only when the update writes
//! one of them; `OwningExtension.Id` is the step's id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::store::{ChangeKind, Event};

/// How the receiver authenticates the call ([PA-regwebhook]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAuth {
    /// `?code=<key>` appended to the URL.
    WebhookKey(String),
    /// Headers sent with every call.
    HttpHeader(Vec<(String, String)>),
    /// Query parameters appended to the URL.
    HttpQueryString(Vec<(String, String)>),
}

/// A service endpoint (contract 8) with its step: which table and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// `http://127.0.0.1:port/path` (plain HTTP only).
    pub url: String,
    /// Table logical name (`contact`).
    pub entity: String,
    /// `Create`, `Update`, `Delete`.
    pub messages: Vec<String>,
    pub auth: WebhookAuth,
}

/// How a step runs (`sdkmessageprocessingstep.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepMode {
    /// Mode 0: within the request; a failed call fails the request.
    Synchronous,
    /// Mode 1: after the request, from a queue; a failed call becomes a System Job.
    #[default]
    Asynchronous,
}

impl StepMode {
    pub fn code(self) -> i64 {
        match self {
            StepMode::Synchronous => 0,
            StepMode::Asynchronous => 1,
        }
    }
}

/// The step's settings beyond its table and messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepOptions {
    /// Column logical names; when set, an Update fires the step only if it writes one of them
    /// (Create and Delete are not filtered, as on the platform).
    pub filtering_attributes: Vec<String>,
    pub mode: StepMode,
}

/// A registered step: its id (`OwningExtension.Id` of the calls it makes), registration and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: Uuid,
    pub registration: WebhookRegistration,
    pub options: StepOptions,
}

impl Step {
    /// Whether this step fires for `event`.
    pub fn fires_for(&self, event: &Event) -> bool {
        self.registration.entity == event.entity.logical
            && self.registration.messages.iter().any(|m| m.eq_ignore_ascii_case(event.kind.message_name()))
            && (event.kind != ChangeKind::Update
                || self.options.filtering_attributes.is_empty()
                || self
                    .options
                    .filtering_attributes
                    .iter()
                    .any(|a| event.target.keys().any(|k| k.eq_ignore_ascii_case(a) && k != event.entity.primary_id)))
    }
}

/// The outcome of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub url: String,
    pub entity: String,
    pub message: String,
    pub record_id: Uuid,
    /// HTTP status, or the error.
    pub outcome: Result<u16, String>,
}

pub(crate) struct Job {
    step: Step,
    event: Event,
}

/// Called with each failed delivery (the sandbox records it as a System Job).
pub type FailureSink = Box<dyn Fn(&Delivery) + Send + Sync>;

/// Registrations plus the delivery queue.
pub struct Webhooks {
    organization: String,
    registrations: Mutex<Vec<Step>>,
    sender: mpsc::UnboundedSender<Job>,
    pub(crate) deliveries: Arc<Mutex<Vec<Delivery>>>,
    failures: Arc<std::sync::OnceLock<FailureSink>>,
}

impl Webhooks {
    /// Starts the delivery task.
    pub fn start(organization: String) -> Arc<Self> {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Job>();
        let org = organization.clone();
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let failures: Arc<std::sync::OnceLock<FailureSink>> = Arc::new(std::sync::OnceLock::new());
        let (log, sink) = (Arc::clone(&deliveries), Arc::clone(&failures));
        tokio::spawn(async move {
            while let Some(job) = receiver.recv().await {
                let delivery = delivery_of(&job, deliver(&org, &job).await);
                if !matches!(delivery.outcome, Ok(200..=299))
                    && let Some(sink) = sink.get()
                {
                    sink(&delivery);
                }
                log.lock().unwrap_or_else(|e| e.into_inner()).push(delivery);
            }
        });
        Arc::new(Webhooks { organization, registrations: Mutex::new(Vec::new()), sender, deliveries, failures })
    }

    /// Sets what happens to failed deliveries (once).
    pub fn on_failure(&self, sink: FailureSink) {
        let _ = self.failures.set(sink);
    }

    pub fn register(&self, registration: WebhookRegistration) -> Uuid {
        self.register_step(registration, StepOptions::default())
    }

    /// Registers a step with its mode and filtering attributes; returns the step's id.
    pub fn register_step(&self, registration: WebhookRegistration, options: StepOptions) -> Uuid {
        let id = Uuid::new_v4();
        self.registrations.lock().unwrap_or_else(|e| e.into_inner()).push(Step { id, registration, options });
        id
    }

    pub fn unregister(&self, id: Uuid) {
        self.registrations.lock().unwrap_or_else(|e| e.into_inner()).retain(|s| s.id != id);
    }

    /// Queues the asynchronous deliveries for committed events, to the steps registered
    /// through [`Webhooks::register`] and to `from_store` (steps registered through the Web
    /// API), and returns the synchronous ones for the caller to run within its request
    /// ([`Webhooks::deliver_sync`]).
    pub(crate) fn dispatch(&self, events: &[Event], from_store: &[Step]) -> Vec<Job> {
        let registrations = self.registrations.lock().unwrap_or_else(|e| e.into_inner());
        let mut sync = Vec::new();
        if registrations.is_empty() && from_store.is_empty() {
            return sync;
        }
        for event in events {
            for step in registrations.iter().chain(from_store).filter(|s| s.fires_for(event)) {
                let job = Job { step: step.clone(), event: event.clone() };
                match step.options.mode {
                    StepMode::Synchronous => sync.push(job),
                    StepMode::Asynchronous => {
                        let _ = self.sender.send(job);
                    }
                }
            }
        }
        sync
    }

    /// Delivers synchronous steps in order; the first failed call ends it and is returned.
    pub(crate) async fn deliver_sync(&self, jobs: Vec<Job>) -> Result<(), Delivery> {
        for job in jobs {
            let delivery = delivery_of(&job, deliver(&self.organization, &job).await);
            self.deliveries.lock().unwrap_or_else(|e| e.into_inner()).push(delivery.clone());
            if !matches!(delivery.outcome, Ok(200..=299)) {
                return Err(delivery);
            }
        }
        Ok(())
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn delivery_of(job: &Job, outcome: Result<u16, String>) -> Delivery {
    Delivery {
        url: job.step.registration.url.clone(),
        entity: job.event.entity.logical.to_owned(),
        message: job.event.kind.message_name().to_owned(),
        record_id: job.event.id,
        outcome,
    }
}

fn wcf_date(ts: Timestamp) -> String {
    format!("/Date({})/", ts.as_millisecond())
}

const CONTRACTS: &str = "http://schemas.microsoft.com/xrm/2011/Contracts";

fn reference(logical: &str, id: &str) -> Value {
    json!({
        "__type": format!("EntityReference:{CONTRACTS}"),
        "Id": id, "KeyAttributes": [], "LogicalName": logical, "Name": null, "RowVersion": null
    })
}

/// A column value in WCF-JSON typing (lookups as EntityReference, option sets, `/Date()/`).
fn attribute_value(key: &str, value: &Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("LogicalName") => reference(
            map.get("LogicalName").and_then(Value::as_str).unwrap_or_default(),
            map.get("Id").and_then(Value::as_str).unwrap_or_default(),
        ),
        Value::Number(n) if key.ends_with("code") && n.is_i64() => {
            json!({ "__type": format!("OptionSetValue:{CONTRACTS}"), "Value": n })
        }
        Value::String(s) if key.ends_with("on") || key.starts_with("date") => {
            s.parse::<Timestamp>().map_or_else(|_| value.clone(), |ts| Value::String(wcf_date(ts)))
        }
        other => other.clone(),
    }
}

fn attributes(row: &Map<String, Value>) -> Vec<Value> {
    row.iter()
        .filter(|(k, _)| !k.contains('@'))
        .map(|(k, v)| json!({ "key": k, "value": attribute_value(k, v) }))
        .collect()
}

fn entity(logical: &str, id: &str, attrs: Vec<Value>) -> Value {
    json!({
        "__type": format!("Entity:{CONTRACTS}"),
        "Attributes": attrs,
        "EntityState": null, "FormattedValues": [], "Id": id, "KeyAttributes": [],
        "LogicalName": logical, "RelatedEntities": [], "RowVersion": null
    })
}

/// The body of the call `step` makes for `event`.
pub fn remote_execution_context(organization: &str, event: &Event, step: Uuid, mode: StepMode) -> Value {
    let def = event.entity;
    let id = event.id.to_string();
    let user = "75c2dd85-e89e-e711-8122-000d3aa2331c";
    let target = match event.kind {
        ChangeKind::Delete => reference(def.logical, &id),
        _ => {
            let mut target = event.target.clone();
            target.insert(def.primary_id.to_owned(), Value::String(id.clone()));
            if let Some(modified) = event.image.as_ref().and_then(|i| i.get("modifiedon")) {
                target.insert("modifiedon".into(), modified.clone());
            }
            target.insert("modifiedby".into(), json!({ "LogicalName": "systemuser", "Id": user }));
            entity(def.logical, &id, attributes(&target))
        }
    };
    let post_images = match &event.image {
        // The platform adds this image to asynchronous steps only.
        Some(image) if mode == StepMode::Asynchronous => {
            let mut primary = Map::new();
            if let Some(name) = image.get(def.primary_name) {
                primary.insert(def.primary_name.to_owned(), name.clone());
            }
            primary.insert(def.primary_id.to_owned(), Value::String(id.clone()));
            let mut value = entity(def.logical, &id, attributes(&primary));
            if let Value::Object(map) = &mut value {
                map.remove("__type");
            }
            json!([{ "key": "AsynchronousStepPrimaryName", "value": value }])
        }
        _ => json!([]),
    };
    let output = match event.kind {
        ChangeKind::Create => json!([{ "key": "id", "value": id }]),
        _ => json!([]),
    };
    let correlation = Uuid::new_v4().to_string();
    let operation = Uuid::new_v4().to_string();
    let created = wcf_date(Timestamp::now());
    let common = |stage: u32, parent: Value, post: Value, output: Value| {
        json!({
            "BusinessUnitId": "e2b9dd85-e89e-e711-8122-000d3aa2331c",
            "CorrelationId": correlation,
            "Depth": 1,
            "InitiatingUserId": user,
            "InputParameters": [{ "key": "Target", "value": target }],
            "IsExecutingOffline": false,
            "IsInTransaction": mode == StepMode::Synchronous,
            "IsOfflinePlayback": false,
            "IsolationMode": 1,
            "MessageName": event.kind.message_name(),
            "Mode": mode.code(),
            "OperationCreatedOn": created,
            "OperationId": operation,
            "OrganizationId": "4ef5b371-e89e-e711-8122-000d3aa2331c",
            "OrganizationName": organization,
            "OutputParameters": output,
            "OwningExtension": {
                "Id": step.to_string(), "KeyAttributes": [],
                "LogicalName": "sdkmessageprocessingstep", "Name": null, "RowVersion": null
            },
            "ParentContext": parent,
            "PostEntityImages": post,
            "PreEntityImages": [],
            "PrimaryEntityId": id,
            "PrimaryEntityName": def.logical,
            "RequestId": null,
            "SecondaryEntityName": "none",
            "SharedVariables": [],
            "Stage": stage,
            "UserId": user
        })
    };
    let parent = common(30, Value::Null, json!([]), json!([]));
    common(40, parent, post_images, output)
}

fn url_with_auth(url: &str, auth: &WebhookAuth) -> String {
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let params: Vec<String> = match auth {
        WebhookAuth::WebhookKey(code) => vec![format!("code={}", encode(code))],
        WebhookAuth::HttpQueryString(pairs) => {
            pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect()
        }
        WebhookAuth::HttpHeader(_) => Vec::new(),
    };
    if params.is_empty() {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", params.join("&"))
}

/// Above this the platform drops the bulky parts of the context and says so in a header.
const MAX_BODY: usize = 256 * 1024;

async fn deliver(organization: &str, job: &Job) -> Result<u16, String> {
    let mut context = remote_execution_context(organization, &job.event, job.step.id, job.step.options.mode);
    let mut body = context.to_string();
    let oversized = body.len() > MAX_BODY;
    if oversized {
        if let Value::Object(map) = &mut context {
            for key in ["ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"] {
                map.remove(key);
            }
        }
        body = context.to_string();
    }
    let registration = &job.step.registration;
    let url = url_with_auth(&registration.url, &registration.auth);
    let mut headers = vec![
        ("x-ms-dynamics-organization".to_owned(), format!("{organization}.crm.dynamics.com")),
        ("x-ms-dynamics-entity-name".to_owned(), job.event.entity.logical.to_owned()),
        ("x-ms-dynamics-request-name".to_owned(), job.event.kind.message_name().to_owned()),
        ("x-ms-correlation-request-id".to_owned(), Uuid::new_v4().to_string()),
    ];
    if oversized {
        headers.push(("x-ms-dynamics-msg-size-exceeded".to_owned(), "true".to_owned()));
    }
    if let WebhookAuth::HttpHeader(pairs) = &registration.auth {
        headers.extend(pairs.iter().cloned());
    }
    let mut outcome = post(&url, &headers, body.as_bytes()).await;
    // 502/503/504 get one retry; anything else non-2xx is a failure (as on the platform).
    if matches!(outcome, Ok(502..=504)) {
        outcome = post(&url, &headers, body.as_bytes()).await;
    }
    outcome
}

/// A minimal HTTP/1.1 POST over plain TCP (the receivers are local test servers).
async fn post(url: &str, headers: &[(String, String)], body: &[u8]) -> Result<u16, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("only http:// webhook URLs are supported: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let attempt = async {
        let mut stream = TcpStream::connect(host).await.map_err(|e| format!("connect {host}: {e}"))?;
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        stream.write_all(body).await.map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 512];
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        line.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| "invalid HTTP response".to_owned())
    };
    tokio::time::timeout(Duration::from_secs(60), attempt).await.map_err(|_| "timed out after 60 s".to_owned())?
}

fn settings(xml: &str) -> Vec<(String, String)> {
    // `<settings><setting name="k" value="v" /></settings>`
    let attr = |text: &str, name: &str| -> Option<String> {
        let start = text.find(&format!("{name}=\""))? + name.len() + 2;
        let end = text[start..].find('"')? + start;
        Some(text[start..end].to_owned())
    };
    xml.split("<setting ").skip(1).filter_map(|s| Some((attr(s, "name")?, attr(s, "value")?))).collect()
}

/// WebHooks registered through the Web API: enabled `sdkmessageprocessingstep` rows whose
/// event handler is a `serviceendpoint` with contract 8 (authtype 4 WebhookKey, 5 HttpHeader,
/// 6 HttpQueryString), with their id, mode (0 synchronous, the column's default; 1
/// asynchronous) and filtering attributes (a comma-separated list).
pub fn registered_in_store(store: &super::store::Store) -> Vec<Step> {
    let Some(steps) = store.table("sdkmessageprocessingsteps") else { return Vec::new() };
    if steps.rows.is_empty() {
        return Vec::new();
    }
    let lookup = |set: &str, row: &Map<String, Value>, column: &str| -> Option<Map<String, Value>> {
        let id = row.get(column).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())?;
        store.table(set)?.rows.get(&id).map(|s| s.row.clone())
    };
    let mut out = Vec::new();
    for (step_id, step) in steps.rows.iter().map(|(id, s)| (*id, &s.row)) {
        if step.get("statecode").and_then(Value::as_i64).unwrap_or(0) != 0 {
            continue;
        }
        let (Some(message), Some(endpoint)) = (
            lookup("sdkmessages", step, "_sdkmessageid_value"),
            lookup("serviceendpoints", step, "_eventhandler_value"),
        ) else {
            continue;
        };
        if endpoint.get("contract").and_then(Value::as_i64) != Some(8) {
            continue;
        }
        let entity = lookup("sdkmessagefilters", step, "_sdkmessagefilterid_value")
            .and_then(|f| f.get("primaryobjecttypecode").and_then(Value::as_str).map(str::to_owned));
        let (Some(entity), Some(url), Some(name)) =
            (entity, endpoint.get("url").and_then(Value::as_str), message.get("name").and_then(Value::as_str))
        else {
            continue;
        };
        let value = endpoint.get("authvalue").and_then(Value::as_str).unwrap_or_default();
        let auth = match endpoint.get("authtype").and_then(Value::as_i64) {
            Some(5) => WebhookAuth::HttpHeader(settings(value)),
            Some(6) => WebhookAuth::HttpQueryString(settings(value)),
            _ => WebhookAuth::WebhookKey(value.to_owned()),
        };
        let mode = match step.get("mode").and_then(Value::as_i64) {
            Some(1) => StepMode::Asynchronous,
            _ => StepMode::Synchronous,
        };
        let filtering_attributes = step
            .get("filteringattributes")
            .and_then(Value::as_str)
            .map(|list| list.split(',').map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()).collect())
            .unwrap_or_default();
        out.push(Step {
            id: step_id,
            registration: WebhookRegistration { url: url.to_owned(), entity, messages: vec![name.to_owned()], auth },
            options: StepOptions { filtering_attributes, mode },
        });
    }
    out
}
