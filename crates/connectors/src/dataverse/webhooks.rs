//! Receiving Dataverse WebHooks (DYNAMICS.md §A.4): the call is authenticated by the
//! configured key (WebhookKey `?code=`, HttpHeader or HttpQueryString), its
//! `RemoteExecutionContext` body is parsed into an event, and [`receive`] stores the event
//! (deduplicated by its operation) before the caller answers 2xx.

use ferry_model::{ConnectionId, DataverseId, TenantId, Timestamp};
use ferry_store::secrets::SecretValue;
use ferry_store::{Accepted, NewEvent, NewJob, Store};
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::ingress::{check_event_id, keys_match};

/// How the endpoint was registered to authenticate.
#[derive(Debug, Clone)]
pub enum WebhookAuth {
    /// `?code=<key>`.
    WebhookKey(SecretValue),
    /// A header and its value.
    HttpHeader { name: String, value: SecretValue },
    /// Query parameters that must all be present.
    HttpQueryString(Vec<(String, SecretValue)>),
}

/// A refused or unreadable call. Messages never contain the key or the payload.
#[derive(Debug, Error)]
pub enum WebhookError {
    #[error("webhook authentication failed: {0}")]
    Unauthorized(&'static str),
    #[error("webhook body is not a RemoteExecutionContext: {0}")]
    Invalid(String),
    #[error("storing the webhook event failed: {0}")]
    Store(#[from] ferry_store::StoreError),
}

impl WebhookError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::Unauthorized(_) => 401,
            WebhookError::Invalid(_) => 400,
            // Not stored: make Dataverse (which retries once on 503) try again.
            WebhookError::Store(_) => 503,
        }
    }
}

/// The first value of `name` in a raw query string (`application/x-www-form-urlencoded`).
fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn same(presented: &str, expected: &SecretValue) -> bool {
    keys_match(presented.as_bytes(), expected.expose().as_bytes())
}

/// Checks the call's credentials. `headers` are (name, value) pairs; `query` is the raw query.
pub fn verify(auth: &WebhookAuth, headers: &[(String, String)], query: &str) -> Result<(), WebhookError> {
    match auth {
        WebhookAuth::WebhookKey(key) => match query_param(query, "code") {
            Some(code) if same(&code, key) => Ok(()),
            Some(_) => Err(WebhookError::Unauthorized("the code parameter does not match")),
            None => Err(WebhookError::Unauthorized("the code parameter is missing")),
        },
        WebhookAuth::HttpHeader { name, value } => match headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, v)) if same(v, value) => Ok(()),
            Some(_) => Err(WebhookError::Unauthorized("the authentication header does not match")),
            None => Err(WebhookError::Unauthorized("the authentication header is missing")),
        },
        WebhookAuth::HttpQueryString(pairs) => {
            for (name, value) in pairs {
                match query_param(query, name) {
                    Some(v) if same(&v, value) => {}
                    _ => return Err(WebhookError::Unauthorized("a query-string key is missing or does not match")),
                }
            }
            Ok(())
        }
    }
}

/// The parts of a `RemoteExecutionContext` a flow needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DataverseEvent {
    /// `Create`, `Update`, `Delete`, …
    pub message: String,
    /// Table logical name.
    pub entity: String,
    pub id: DataverseId,
    /// Unique per plugin operation: the dedupe key.
    pub operation_id: String,
    pub correlation_id: Option<String>,
    pub occurred_at: Option<Timestamp>,
    pub depth: i64,
    pub stage: i64,
    /// The columns written (from `InputParameters.Target`), WCF typing flattened: lookups
    /// become `{ "LogicalName", "Id" }`, option sets and money their value, `/Date()/` an
    /// RFC 3339 string.
    pub attributes: Map<String, Value>,
}

/// `/Date(1506409448000-0700)/` → the instant (the offset is display-only; the number is UTC).
pub fn parse_wcf_date(text: &str) -> Option<Timestamp> {
    let inner = text.strip_prefix("/Date(")?.strip_suffix(")/")?;
    let digits_end = inner.char_indices().skip(1).find(|(_, c)| *c == '+' || *c == '-').map_or(inner.len(), |(i, _)| i);
    let millis: i64 = inner[..digits_end].parse().ok()?;
    Timestamp::from_millisecond(millis).ok()
}

fn flatten(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let kind = map.get("__type").and_then(Value::as_str).unwrap_or_default();
            if kind.starts_with("EntityReference") || (map.contains_key("LogicalName") && map.contains_key("Id")) {
                json!({ "LogicalName": map.get("LogicalName"), "Id": map.get("Id") })
            } else if let Some(v) = map.get("Value") {
                v.clone()
            } else {
                value.clone()
            }
        }
        Value::String(s) if s.starts_with("/Date(") => parse_wcf_date(s)
            .map_or_else(|| value.clone(), |ts| Value::String(ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())),
        other => other.clone(),
    }
}

/// Parses the body of a webhook call.
pub fn parse_event(body: &[u8]) -> Result<DataverseEvent, WebhookError> {
    let invalid = |what: &str| WebhookError::Invalid(what.to_owned());
    let root: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(invalid("not a JSON object")),
        Err(e) => {
            return Err(WebhookError::Invalid(format!("invalid JSON at line {}, column {}", e.line(), e.column())));
        }
    };
    let text = |key: &str| root.get(key).and_then(Value::as_str).map(str::to_owned);
    let message = text("MessageName").ok_or_else(|| invalid("MessageName is missing"))?;
    let entity = text("PrimaryEntityName").ok_or_else(|| invalid("PrimaryEntityName is missing"))?;
    let id: DataverseId = text("PrimaryEntityId")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("PrimaryEntityId is missing or not a GUID"))?;
    let operation_id = text("OperationId").ok_or_else(|| invalid("OperationId is missing"))?;
    // These go into the inbox's dedupe key and event type: refuse what the store could never index.
    for (field, value) in [("MessageName", &message), ("PrimaryEntityName", &entity), ("OperationId", &operation_id)] {
        check_event_id(field, value).map_err(WebhookError::Invalid)?;
    }
    let mut attributes = Map::new();
    let target = root
        .get("InputParameters")
        .and_then(Value::as_array)
        .and_then(|params| params.iter().find(|p| p.get("key").and_then(Value::as_str) == Some("Target")))
        .and_then(|p| p.get("value"));
    if let Some(Value::Array(attrs)) = target.and_then(|t| t.get("Attributes")) {
        for attr in attrs {
            if let Some(key) = attr.get("key").and_then(Value::as_str) {
                attributes.insert(key.to_owned(), attr.get("value").map_or(Value::Null, flatten));
            }
        }
    }
    Ok(DataverseEvent {
        message,
        entity,
        id,
        operation_id,
        correlation_id: text("CorrelationId"),
        occurred_at: text("OperationCreatedOn").as_deref().and_then(parse_wcf_date),
        depth: root.get("Depth").and_then(Value::as_i64).unwrap_or(1),
        stage: root.get("Stage").and_then(Value::as_i64).unwrap_or(0),
        attributes,
    })
}

/// Verifies, parses and stores a webhook call (with the jobs it starts) in one transaction;
/// answer 2xx only after this returns `Ok`. A redelivery is stored once (`new == false`).
#[allow(clippy::too_many_arguments)]
pub async fn receive<S: Store>(
    store: &S,
    tenant: &TenantId,
    connection: &ConnectionId,
    auth: &WebhookAuth,
    headers: &[(String, String)],
    query: &str,
    body: &[u8],
    jobs: impl FnOnce(&DataverseEvent) -> Vec<NewJob>,
) -> Result<(DataverseEvent, Accepted), WebhookError> {
    verify(auth, headers, query)?;
    accept(store, tenant, connection, body, jobs).await
}

/// Parses and stores the body of a call already [`verify`]-ed (a server checks the key from
/// the headers and query before it reads the body, then calls this).
pub async fn accept<S: Store>(
    store: &S,
    tenant: &TenantId,
    connection: &ConnectionId,
    body: &[u8],
    jobs: impl FnOnce(&DataverseEvent) -> Vec<NewJob>,
) -> Result<(DataverseEvent, Accepted), WebhookError> {
    let event = parse_event(body)?;
    let payload: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Invalid(e.to_string()))?;
    let new_event = NewEvent {
        tenant: tenant.clone(),
        connection: connection.clone(),
        dedupe_key: format!("dataverse:{}:{}:{}", event.entity, event.id, event.operation_id),
        event_type: format!("{}.{}", event.entity, event.message),
        payload,
    };
    let accepted = store.accept_event(&new_event, &jobs(&event)).await?;
    Ok((event, accepted))
}
