//! Black-box tests: the real server on 127.0.0.1:0 over a real SQLite store, spoken to over
//! a socket with an HTTP client, as EventBridge, Dataverse and Prometheus would.

mod server {
    mod health;
    mod ingress;
    mod listener;
    mod metrics;
    mod tenants;
    mod tls;
}

use std::path::PathBuf;
use std::sync::Arc;

use ferry_connectors::amazon::webhooks::MAX_BODY;
use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::PoolStats;
use ferry_server::{AmazonIngress, DataverseWebhook, Ingress, Metrics, Server, ServerConfig};
use ferry_store::secrets::SecretValue;
use ferry_store::testing::TempDir;
use ferry_store::{NewEvent, NewJob, PgStore, SqliteStore, Store};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const API_KEY_HEADER: &str = "x-api-key";
pub const API_KEY: &str = "eventbridge-test-key";
pub const DATAVERSE_CODE: &str = "dataverse-webhook-code";
pub const DATAVERSE_CONNECTION: &str = "crm";

/// A running server and the store behind it.
pub struct Harness<S: Store = SqliteStore> {
    pub store: S,
    pub tenant: TenantId,
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub http: reqwest::Client,
    pub pool_stats: Arc<PoolStats>,
    pub metrics: Arc<Metrics>,
    /// The server's per-tenant webhook table, changed while it serves.
    pub ingress: Ingress<S>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<TempDir>,
}

/// The webhook sources every harness serves: EventBridge with [`API_KEY`], Dataverse `crm`
/// with [`DATAVERSE_CODE`], each enqueuing one job per new event.
pub fn config(tenant: &TenantId, pool_stats: &Arc<PoolStats>) -> ServerConfig {
    let job_tenant = tenant.clone();
    let crm_tenant = tenant.clone();
    ServerConfig::new(tenant.clone())
        .amazon(
            AmazonIngress::new(ConnectionId::new("amazon").expect("id"), API_KEY_HEADER, SecretValue::new(API_KEY))
                .jobs(move |n| {
                    vec![
                        NewJob::new(job_tenant.clone(), "amazon-events", n.raw.expose().clone())
                            .dedupe_key(n.dedupe_key()),
                    ]
                }),
        )
        .dataverse(
            DataverseWebhook::with_key(
                ConnectionId::new(DATAVERSE_CONNECTION).expect("id"),
                SecretValue::new(DATAVERSE_CODE),
            )
            .jobs(move |e| {
                vec![
                    NewJob::new(
                        crm_tenant.clone(),
                        "crm-contacts",
                        serde_json::json!({ "entity": e.entity, "id": e.id.to_string(), "operation": e.operation_id }),
                    )
                    .dedupe_key(format!("crm:{}:{}", e.entity, e.operation_id)),
                ]
            }),
        )
        .pool_stats(Arc::clone(pool_stats))
}

impl Harness<SqliteStore> {
    pub async fn start() -> Harness {
        Self::start_with(|config| config).await
    }

    /// A harness over a fresh SQLite store whose server config `adjust` changes (limits, TLS).
    pub async fn start_with(adjust: impl FnOnce(ServerConfig) -> ServerConfig) -> Harness {
        let dir = TempDir::new("server").expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("ferry.db").display().to_string()).await.expect("open store");
        store.migrate().await.expect("migrate");
        Harness::over(store, Some(dir), adjust).await
    }
}

impl Harness<PgStore> {
    /// A harness over a fresh PostgreSQL schema; `None` when PostgreSQL is unreachable and not
    /// required (FERRY_REQUIRE_PG=1 makes that a failure).
    pub async fn start_pg() -> Option<Harness<PgStore>> {
        let url = ferry_store::testing::fresh_pg_schema("server").await.expect("PostgreSQL")?;
        let store = PgStore::open(&url, 4).await.expect("open PostgreSQL store");
        store.migrate().await.expect("migrate");
        Some(Harness::over(store, None, |config| config).await)
    }
}

impl<S: Store> Harness<S> {
    pub async fn over(store: S, dir: Option<TempDir>, adjust: impl FnOnce(ServerConfig) -> ServerConfig) -> Harness<S> {
        let tenant = TenantId::new("acme").expect("tenant id");
        store.ensure_tenant(&tenant, "Acme").await.expect("tenant");
        let pool_stats = Arc::new(PoolStats::default());
        let server = Server::new(store.clone(), adjust(config(&tenant, &pool_stats)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let (tx, rx) = oneshot::channel::<()>();
        let metrics = server.metrics();
        let ingress = server.ingress();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await
        });
        Harness {
            store,
            tenant,
            base,
            addr,
            http: ferry_connectors::http::client(&Default::default()).expect("client"),
            pool_stats,
            metrics,
            ingress,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs an EventBridge delivery with `key` (none when `None`).
    pub async fn post_amazon(&self, key: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, String) {
        let mut request = self.http.post(self.url("/ingress/amazon/eventbridge")).body(body);
        if let Some(key) = key {
            request = request.header(API_KEY_HEADER, key);
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.text().await.expect("body"))
    }

    /// POSTs a Dataverse webhook call to `path_and_query` (after `/ingress/dataverse/`).
    pub async fn post_dataverse(&self, path_and_query: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        let response = self
            .http
            .post(self.url(&format!("/ingress/dataverse/{path_and_query}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        (response.status().as_u16(), response.text().await.expect("body"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    /// Whether an event with `dedupe_key` is in the inbox: accepting it again is then not new
    /// (and, with no jobs, changes nothing).
    pub async fn in_inbox(&self, connection: &str, dedupe_key: &str) -> bool {
        self.in_inbox_of(&self.tenant, connection, dedupe_key).await
    }

    /// Whether `tenant`'s inbox holds an event with `dedupe_key` (see [`Harness::in_inbox`]).
    pub async fn in_inbox_of(&self, tenant: &TenantId, connection: &str, dedupe_key: &str) -> bool {
        let probe = NewEvent {
            tenant: tenant.clone(),
            connection: ConnectionId::new(connection).expect("id"),
            dedupe_key: dedupe_key.to_owned(),
            event_type: "probe".into(),
            payload: Value::Null,
        };
        !self.store.accept_event(&probe, &[]).await.expect("accept").new
    }

    /// Asks the server to stop and waits until it has.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("server task panicked"),
            None => Ok(()),
        }
    }
}

/// `reference/<what>`, vendored at the repository's root.
pub fn reference(what: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reference").join(what)
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ORDER_CHANGE sample as an EventBridge API destination delivers it.
pub fn order_change_event() -> Value {
    eventbridge(read_json(reference("spapi/samples/ORDER_CHANGE.example.json")))
}

/// A fresh ORDER_CHANGE (new notification id) built by the Amazon sandbox around the sample's
/// payload, wrapped for EventBridge.
pub fn fresh_order_change() -> Value {
    let sample = read_json(reference("spapi/samples/ORDER_CHANGE.example.json"));
    let envelope =
        ferry_sandbox::amazon::notify::envelope("ORDER_CHANGE", sample["Payload"].clone(), jiff::Timestamp::now());
    eventbridge(envelope)
}

fn eventbridge(detail: Value) -> Value {
    serde_json::json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail["NotificationType"].clone(),
        "source": "aws.partner/sellingpartnerapi.amazon",
        "account": "123456789012",
        // Sent now: the ingress refuses events outside its freshness window.
        "time": jiff::Timestamp::now().to_string(),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    })
}

/// The Dataverse RemoteExecutionContext sample (a contact update), as bytes.
pub fn dataverse_sample() -> Vec<u8> {
    let path = reference("dynamics/samples/dataverse-webhook-remoteexecutioncontext-contact-update.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Larger than the EventBridge limit, for the body-size check.
pub fn oversized_body() -> String {
    "x".repeat(MAX_BODY + 1)
}

/// One sample of a scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// A scrape parsed line by line by the rules of the text format 0.0.4.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    /// Metric family → its TYPE.
    pub types: std::collections::BTreeMap<String, String>,
}

impl Exposition {
    /// The value of the sample with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }

    pub fn named(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse::<f64>().map_err(|_| format!("`{text}` is not a sample value")),
    }
}

/// Parses `{a="x",b="y"}` at the start of `text`; returns the labels and the rest.
fn parse_labels(text: &str) -> Result<(std::collections::BTreeMap<String, String>, &str), String> {
    let mut labels = std::collections::BTreeMap::new();
    let mut rest = text.strip_prefix('{').ok_or("labels must start with {")?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name `{name}`"));
        }
        rest = rest[eq + 1..].strip_prefix('"').ok_or("label value must be quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape in label value: {other:?}")),
                },
                Some((i, '"')) => break i,
                Some((_, '\n')) | None => return Err("unterminated label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label `{name}` repeated"));
        }
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The family a sample belongs to (histogram samples carry suffixes).
fn family<'a>(name: &'a str, types: &std::collections::BTreeMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find(|base| types.get(*base).is_some_and(|t| t == "histogram" || t == "summary"))
}

pub fn parse_exposition(text: &str) -> Result<Exposition, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the exposition must end with a line feed".into());
    }
    let mut out = Exposition::default();
    let mut helped = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
            match words.as_slice() {
                ["HELP", name, _] | ["HELP", name] if !valid_name(name) || !helped.insert(name.to_string()) => {
                    return Err(at("bad or repeated HELP".into()));
                }
                ["TYPE", name, kind] => {
                    if !valid_name(name) {
                        return Err(at("bad metric name in TYPE".into()));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(kind) {
                        return Err(at(format!("unknown type `{kind}`")));
                    }
                    if out.samples.iter().any(|s| family(&s.name, &out.types) == Some(name)) {
                        return Err(at("TYPE after samples of its family".into()));
                    }
                    if out.types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(at("repeated TYPE".into()));
                    }
                }
                _ => {}
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(at(format!("bad metric name `{name}`")));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(at)?
        } else {
            (Default::default(), &line[name_end..])
        };
        let mut fields = rest.strip_prefix(' ').ok_or_else(|| at("no space before the value".into()))?.split(' ');
        let value = parse_value(fields.next().unwrap_or_default()).map_err(at)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| at(format!("bad timestamp `{ts}`")))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing fields".into()));
        }
        if family(name, &out.types).is_none() {
            return Err(at(format!("sample of `{name}` before its TYPE")));
        }
        out.samples.push(Sample { name: name.to_owned(), labels, value });
    }
    for (name, kind) in &out.types {
        if kind == "histogram" {
            check_histogram(&out, name)?;
        }
    }
    Ok(out)
}

/// Per label set (besides `le`): buckets cumulative, ending at +Inf, which equals _count.
fn check_histogram(out: &Exposition, name: &str) -> Result<(), String> {
    let mut series: std::collections::BTreeMap<Vec<(String, String)>, (f64, f64)> = Default::default();
    for bucket in out.named(&format!("{name}_bucket")) {
        let le = parse_value(bucket.labels.get("le").ok_or(format!("{name} bucket without le"))?)?;
        let others: Vec<(String, String)> =
            bucket.labels.iter().filter(|(k, _)| *k != "le").map(|(k, v)| (k.clone(), v.clone())).collect();
        let last = series.entry(others).or_insert((f64::NEG_INFINITY, 0.0));
        if le <= last.0 || bucket.value < last.1 {
            return Err(format!("{name} buckets are not cumulative and ordered"));
        }
        *last = (le, bucket.value);
    }
    for (labels, last) in &series {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let count = out.value(&format!("{name}_count"), &labels).ok_or(format!("{name}_count missing"))?;
        if last.0 != f64::INFINITY || last.1 != count {
            return Err(format!("{name} {labels:?}: the +Inf bucket must exist and equal _count"));
        }
        out.value(&format!("{name}_sum"), &labels).ok_or(format!("{name}_sum missing"))?;
    }
    if out.named(&format!("{name}_count")).len() != series.len() {
        return Err(format!("{name}: a _count without buckets"));
    }
    Ok(())
}

/// Scrapes `/metrics`, checks the content type and parses it.
pub async fn scrape(h: &Harness) -> Exposition {
    let response = h.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "content type {content_type}");
    let text = response.text().await.expect("body");
    parse_exposition(&text).unwrap_or_else(|e| panic!("/metrics is not valid Prometheus text: {e}\n{text}"))
}

/// Guards a step that must end on its own (a server that closes a connection, answers a
/// refusal): a hang fails the test instead of blocking the suite. Never a speed assertion.
pub const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(30);

/// An answer read off a raw connection.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {self:?}"))
    }
}

/// Reads one HTTP/1.1 answer (with a Content-Length) from `stream`.
pub async fn read_answer<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> RawAnswer {
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
                    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
                    return RawAnswer { status, head, body };
                }
            }
            let n = stream.read(&mut chunk).await.expect("read answer");
            assert!(n > 0, "connection closed before a full answer: {:?}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(HANG_GUARD, read).await.expect("no answer")
}

/// Whether the server closed `stream` (EOF or reset) without sending anything more.
pub async fn closed_by_server<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> bool {
    use tokio::io::AsyncReadExt;
    let mut chunk = [0u8; 1024];
    match tokio::time::timeout(HANG_GUARD, stream.read(&mut chunk)).await.expect("the server never closed") {
        Ok(0) | Err(_) => true,
        Ok(_) => false,
    }
}

/// Sends `request` on a new connection to `addr` and reads the answer.
pub async fn raw_request(addr: std::net::SocketAddr, request: &[u8]) -> RawAnswer {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    read_answer(&mut stream).await
}

/// `GET path` with keep-alive, as raw bytes.
pub fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// An ORDER_CHANGE EventBridge event built here (no file read), with `notification_id`.
pub fn order_change_with_id(notification_id: &str) -> Value {
    let detail = serde_json::json!({
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": jiff::Timestamp::now().to_string(),
        "Payload": { "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": "A3TH9S8BH6GOGM",
            "AmazonOrderId": "903-1671087-0812628",
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": { "TimeOfOrderChange": jiff::Timestamp::now().to_string(), "ChangeReason": "NoReason" },
            "Summary": { "OrderStatus": "Unshipped", "FulfillmentType": "MFN" }
        }},
        "NotificationMetadata": {
            "ApplicationId": "amzn1.sellerapps.app.f1234566-aaec-55a6-b123-bcb752069ec5",
            "SubscriptionId": "93b098e1-c42-2f45-93a1-78910a6a8369",
            "PublishTime": jiff::Timestamp::now().to_string(),
            "NotificationId": notification_id
        }
    });
    eventbridge(detail)
}
