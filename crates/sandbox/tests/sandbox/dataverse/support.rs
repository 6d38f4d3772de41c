//! Test helpers: a started sandbox with a token, raw HTTP calls, and multipart shapes.

#![allow(dead_code)]

use std::collections::BTreeSet;

use ferry_sandbox::dataverse::batch::split_parts;
use ferry_sandbox::dataverse::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DataverseSandbox, DataverseSandboxConfig};
use serde_json::Value;

pub struct Api {
    pub sandbox: DataverseSandbox,
    pub http: reqwest::Client,
    pub token: String,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// `error.code`, `error.message`
    pub fn error(&self) -> (String, String) {
        let v = self.json();
        (
            v["error"]["code"].as_str().unwrap_or_else(|| panic!("no error.code in {}", self.body)).to_owned(),
            v["error"]["message"].as_str().unwrap_or_else(|| panic!("no error.message in {}", self.body)).to_owned(),
        )
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Api {
    pub async fn start() -> Api {
        Self::start_with(DataverseSandboxConfig::default()).await
    }

    pub async fn start_with(config: DataverseSandboxConfig) -> Api {
        let sandbox = DataverseSandbox::start(config).await.expect("sandbox starts");
        let http = crate::http();
        let token = Self::get_token(&http, &sandbox).await;
        Api { sandbox, http, token }
    }

    pub async fn get_token(http: &reqwest::Client, sandbox: &DataverseSandbox) -> String {
        let scope = format!("{}/.default", sandbox.base_url());
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", &scope),
        ]);
        let response = http
            .post(sandbox.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token call");
        assert_eq!(response.status().as_u16(), 200);
        let json: Value = serde_json::from_str(&response.text().await.expect("body")).expect("json");
        json["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `path` is relative to `/api/data/v9.2/`.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let url = format!("{}/{path}", self.sandbox.api_url());
        self.send_url(method, &url, headers, body).await
    }

    pub async fn send_url(&self, method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("Accept", "application/json")
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0");
        let mut has_type = false;
        for (name, value) in headers {
            has_type |= name.eq_ignore_ascii_case("content-type");
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            if !has_type {
                request = request.header("Content-Type", "application/json");
            }
            request = request.body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Resp { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, &[], Some(&body.to_string())).await
    }

    pub async fn patch(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
        self.send("PATCH", path, headers, Some(&body.to_string())).await
    }

    /// Creates a row and returns its id.
    pub async fn create(&self, set: &str, body: Value) -> String {
        let r = self.post(set, &body).await;
        assert_eq!(r.status, 204, "create {set}: {}", r.body);
        let url = r.header("OData-EntityId").expect("OData-EntityId");
        let open = url.rfind('(').expect("(");
        url[open + 1..url.len() - 1].to_owned()
    }
}

/// A sample `.http` message: (first line, headers, body).
pub fn split_message(text: &str) -> (String, Vec<(String, String)>, String) {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    (first, headers, lines.collect::<Vec<_>>().join("\n"))
}

/// The structure of a JSON value: object keys (recursively), arrays by their first item.
pub fn json_shape(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.iter().map(|(k, v)| format!("{k}:{}", json_shape(v))).collect();
            format!("{{{}}}", keys.join(","))
        }
        Value::Array(items) => format!("[{}]", items.first().map(json_shape).unwrap_or_default()),
        Value::String(_) => "s".into(),
        Value::Number(_) => "n".into(),
        Value::Bool(_) => "b".into(),
        Value::Null => "null".into(),
    }
}

/// One response part: Content-ID, status, header names, body shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartShape {
    pub content_id: Option<String>,
    pub status: u16,
    pub headers: BTreeSet<String>,
    pub body: Option<String>,
    /// Row count of a `value` array.
    pub rows: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Single(PartShape),
    ChangeSet(Vec<PartShape>),
}

fn part_shape(content_id: Option<&str>, body: &str) -> PartShape {
    let (status_line, headers, body) = split_message(body.trim_start());
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = body.trim();
    let json: Option<Value> = (!body.is_empty()).then(|| serde_json::from_str(body).expect("part body JSON"));
    PartShape {
        content_id: content_id.map(str::to_owned),
        status,
        headers: headers.into_iter().map(|(n, _)| n.to_ascii_lowercase()).collect(),
        rows: json.as_ref().and_then(|j| j.get("value")).and_then(Value::as_array).map(Vec::len),
        body: json.as_ref().map(json_shape),
    }
}

/// The shape of a multipart `$batch` response body.
pub fn batch_shape(body: &str) -> Vec<Shape> {
    let boundary = body
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("--"))
        .map(|l| l.trim_start_matches("--").to_owned())
        .expect("boundary");
    split_parts(body, &boundary)
        .expect("multipart")
        .into_iter()
        .map(|part| {
            let content_type = part.header("content-type").unwrap_or_default().to_owned();
            if content_type.starts_with("multipart/mixed") {
                let inner = ferry_sandbox::dataverse::batch::boundary(&content_type).expect("inner boundary");
                Shape::ChangeSet(
                    split_parts(&part.body, &inner)
                        .expect("change set")
                        .iter()
                        .map(|p| part_shape(p.header("content-id"), &p.body))
                        .collect(),
                )
            } else {
                Shape::Single(part_shape(part.header("content-id"), &part.body))
            }
        })
        .collect()
}

/// Asserts ours has the reference's structure: same parts, statuses, Content-IDs, body
/// shapes and row counts, and at least the reference's headers.
pub fn assert_same_structure(ours: &[Shape], reference: &[Shape]) {
    assert_eq!(ours.len(), reference.len(), "part count: ours {ours:#?}\nreference {reference:#?}");
    let check = |o: &PartShape, r: &PartShape| {
        assert_eq!(o.status, r.status, "status of {o:?} vs {r:?}");
        assert_eq!(o.content_id, r.content_id, "Content-ID");
        assert_eq!(o.body, r.body, "body shape");
        assert_eq!(o.rows, r.rows, "rows");
        let missing: Vec<&String> = r.headers.iter().filter(|h| !o.headers.contains(*h)).collect();
        assert!(missing.is_empty(), "headers missing {missing:?} in {o:?}");
    };
    for (o, r) in ours.iter().zip(reference) {
        match (o, r) {
            (Shape::Single(o), Shape::Single(r)) => check(o, r),
            (Shape::ChangeSet(o), Shape::ChangeSet(r)) => {
                assert_eq!(o.len(), r.len(), "change set size");
                for (a, b) in o.iter().zip(r) {
                    check(a, b);
                }
            }
            _ => panic!("part kinds differ: {o:?} vs {r:?}"),
        }
    }
}

/// The body of a sample response (after its status line and headers).
pub fn sample_body(sample: &str) -> String {
    split_message(sample).2
}

/// A sandbox whose org has these alternate keys (table logical name, columns), active from
/// the start, as an org customised before the test.
pub fn keyed(keys: &[(&str, &[&str])]) -> DataverseSandboxConfig {
    DataverseSandboxConfig {
        alternate_keys: keys
            .iter()
            .map(|(entity, columns)| ((*entity).to_owned(), columns.iter().map(|c| (*c).to_owned()).collect()))
            .collect(),
        ..DataverseSandboxConfig::default()
    }
}
