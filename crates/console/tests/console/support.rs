//! What the console's tests share: one JSON call to the admin API.

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// `method url` with `token` as the bearer (if any) and `body` as JSON (if any): the status
/// and the answer (JSON, else its text as a JSON string).
pub async fn call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.header("content-type", "application/json").body(b.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
