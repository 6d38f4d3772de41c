//! Amazon sandbox tests over real sockets: LWA, orders, limits, faults, and the responses'
//! conformance to the response schemas in Amazon's models.

mod conformance;
mod fidelity;
mod orders;
mod request_log;
mod schema;

use std::path::PathBuf;

use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use serde_json::Value;

/// The vendored `reference/spapi` at the repository's root.
pub fn spapi_reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reference/spapi")
}

pub async fn start(speedup: f64) -> AmazonSandbox {
    // Orders keep their seeded status unless a test turns the lifecycle on.
    AmazonSandbox::start(AmazonSandboxConfig { speedup, order_lifecycle: false, ..Default::default() })
        .await
        .expect("sandbox starts")
}

/// A raw HTTP response.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An access token from the sandbox's LWA endpoint.
pub async fn token(sandbox: &AmazonSandbox) -> String {
    let c = sandbox.config();
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
        urlenc(&c.refresh_token),
        urlenc(&c.client_id),
        urlenc(&c.client_secret)
    );
    let reply = post_form(&sandbox.token_url(), form).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

pub fn urlenc(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub async fn post_form(url: &str, form: String) -> Reply {
    let response = crate::http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("LWA reachable");
    reply(response).await
}

pub async fn call(
    sandbox: &AmazonSandbox,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let client = crate::http();
    let url = format!("{}{path}", sandbox.base_url());
    let mut request = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(token) = token {
        request = request.header("x-amz-access-token", token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    reply(request.send().await.expect("sandbox reachable")).await
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
    Reply { status, headers, body }
}
