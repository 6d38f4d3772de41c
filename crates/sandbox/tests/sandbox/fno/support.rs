//! Test helpers: a started F&O sandbox with a token and raw HTTP calls.

#![allow(dead_code)]

use std::path::PathBuf;

use ferry_sandbox::fno::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FnoSandbox, FnoSandboxConfig};
use serde_json::Value;

pub struct Api {
    pub sandbox: FnoSandbox,
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

    /// The F&O error shape: the outer message is fixed, the inner one says what happened.
    pub fn inner_error(&self) -> String {
        let v = self.json();
        assert_eq!(v["error"]["code"], "", "{}", self.body);
        assert_eq!(v["error"]["message"], "An error has occurred.", "{}", self.body);
        assert!(v["error"]["innererror"]["type"].is_string(), "{}", self.body);
        v["error"]["innererror"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no innererror: {}", self.body))
            .to_owned()
    }

    pub fn values(&self) -> Vec<Value> {
        self.json()["value"].as_array().cloned().unwrap_or_else(|| panic!("no value array: {}", self.body))
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// The vendored samples.
pub fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reference/dynamics/samples")
}

impl Api {
    pub async fn start() -> Api {
        Self::start_with(FnoSandboxConfig::default()).await
    }

    pub async fn start_with(config: FnoSandboxConfig) -> Api {
        let sandbox = FnoSandbox::start(config).await.expect("sandbox starts");
        let http = crate::http();
        let token = Self::token(&http, &sandbox).await;
        Api { sandbox, http, token }
    }

    pub async fn token_call(http: &reqwest::Client, url: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
        let response = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs))
            .send()
            .await
            .expect("token call");
        let status = response.status().as_u16();
        let json: Value = serde_json::from_str(&response.text().await.expect("body")).expect("json");
        (status, json)
    }

    pub async fn token(http: &reqwest::Client, sandbox: &FnoSandbox) -> String {
        let scope = format!("{}/.default", sandbox.base_url());
        let (status, json) = Self::token_call(
            http,
            &sandbox.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
                ("scope", &scope),
            ],
        )
        .await;
        assert_eq!(status, 200, "{json}");
        json["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `path` is relative to `/data/` and already encoded where it needs to be.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Resp {
        let url =
            if path.starts_with("http") { path.to_owned() } else { format!("{}/{path}", self.sandbox.data_url()) };
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, url).bearer_auth(&self.token).header("Accept", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
                request = request.header("Content-Type", "application/json");
            }
            request = request.body(body);
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

    /// GET with the query given unencoded (encoded here).
    pub async fn query(&self, set: &str, options: &[(&str, &str)]) -> Resp {
        self.get(&format!("{set}?{}", form(options))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, &[], Some(body.to_string())).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send("PATCH", path, &[], Some(body.to_string())).await
    }

    /// Creates a row; returns the created entity.
    pub async fn create(&self, set: &str, body: Value) -> Value {
        let r = self.post(set, &body).await;
        assert_eq!(r.status, 201, "create {set}: {}", r.body);
        r.json()
    }
}

/// A `$batch` body: `items` are either one request (`"POST Set"`, body) or a change set.
pub enum Item<'a> {
    Single(&'a str, Option<Value>),
    ChangeSet(Vec<(&'a str, Option<Value>)>),
}

fn write_request(out: &mut String, boundary: &str, id: usize, line: &str, body: &Option<Value>) {
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {id}\r\n\r\n{line} HTTP/1.1\r\n"
    ));
    match body {
        Some(b) => out.push_str(&format!("Content-Type: application/json\r\n\r\n{b}\r\n")),
        None => out.push_str("\r\n"),
    }
}

pub fn batch_body(items: &[Item<'_>]) -> (String, String) {
    let mut out = String::new();
    let mut id = 1;
    for item in items {
        match item {
            Item::Single(line, body) => {
                write_request(&mut out, "batch_t", id, line, body);
                id += 1;
            }
            Item::ChangeSet(requests) => {
                out.push_str("--batch_t\r\nContent-Type: multipart/mixed; boundary=changeset_t\r\n\r\n");
                for (line, body) in requests {
                    write_request(&mut out, "changeset_t", id, line, body);
                    id += 1;
                }
                out.push_str("--changeset_t--\r\n");
            }
        }
    }
    out.push_str("--batch_t--\r\n");
    ("multipart/mixed; boundary=batch_t".to_owned(), out)
}
