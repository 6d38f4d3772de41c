//! An SQS-compatible queue (JSON protocol: `X-Amz-Target: AmazonSQS.<Action>`) that receives
//! the notifications the sandbox emits. SendMessage, ReceiveMessage (with long polling and
//! visibility timeouts), DeleteMessage, ChangeMessageVisibility and GetQueueUrl, each checked
//! with AWS Signature Version 4 against the sandbox's AWS credentials.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Shared;
use super::http::json_response;

/// One message on the queue.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub body: String,
    /// The receipt handle of the latest receive; only it can delete the message.
    pub receipt: Option<String>,
    pub visible_at: Instant,
    pub receives: u32,
}

/// The queue's messages, oldest first.
#[derive(Debug, Default)]
pub struct Queue {
    pub messages: Vec<Message>,
    pub deleted: u64,
}

impl Queue {
    pub fn push(&mut self, body: String) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.messages.push(Message { id: id.clone(), body, receipt: None, visible_at: Instant::now(), receives: 0 });
        id
    }
}

fn sqs_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({ "__type": format!("com.amazonaws.sqs#{kind}"), "message": message });
    let mut response = json_response(status, &body, None);
    if let Ok(value) = format!("AWS.SimpleQueueService.{kind};Sender").parse() {
        response.headers_mut().insert("x-amzn-query-error", value);
    }
    response
}

const SIGV4: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Checks the request's SigV4 `Authorization` header; `Err` is the message of a 403.
fn verify_signature(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let config = &shared.config;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let auth = header("authorization").ok_or("Missing Authorization header")?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or("Unsupported signature algorithm")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (credential, signed_headers, signature) = match (credential, signed_headers, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => return Err("Authorization header is incomplete".into()),
    };
    let mut scope = credential.split('/');
    let key_id = scope.next().unwrap_or_default();
    if key_id != config.aws_access_key_id {
        return Err("The security token included in the request is invalid".into());
    }
    let (date, region, service) = (scope.next().unwrap_or(""), scope.next().unwrap_or(""), scope.next().unwrap_or(""));
    let amz_date = header("x-amz-date").ok_or("Missing x-amz-date")?;
    if !amz_date.starts_with(date) || date.len() != 8 {
        return Err("Credential date does not match x-amz-date".into());
    }
    let at = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", amz_date)
        .ok()
        .and_then(|t| t.to_datetime().ok())
        .and_then(|d| jiff::tz::TimeZone::UTC.to_timestamp(d).ok())
        .ok_or("x-amz-date is malformed")?;
    if jiff::Timestamp::now().duration_since(at).abs() > jiff::SignedDuration::from_mins(15) {
        return Err("Signature expired".into());
    }
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let value = header(name).ok_or_else(|| format!("Signed header {name} is missing"))?;
        canonical_headers.push_str(&format!("{name}:{}\n", value.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    let path: String = uri
        .path()
        .split('/')
        .map(|s| {
            let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            utf8_percent_encode(&decoded, SIGV4).to_string()
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut query: Vec<(String, String)> = super::http::decode_pairs(uri.query().unwrap_or(""))
        .into_iter()
        .map(|(k, v)| (utf8_percent_encode(&k, SIGV4).to_string(), utf8_percent_encode(&v, SIGV4).to_string()))
        .collect();
    query.sort();
    let query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let canonical =
        format!("POST\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}", hex::encode(Sha256::digest(body)));
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let secret = format!("AWS4{}", config.aws_secret_access_key);
    let key = [date, region, service, "aws4_request"].iter().fold(secret.into_bytes(), |k, p| hmac(&k, p.as_bytes()));
    let expected = hex::encode(hmac(&key, to_sign.as_bytes()));
    // Constant time: how much of a guessed signature matched must not show.
    if bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        Ok(())
    } else {
        Err("The request signature we calculated does not match the signature you provided.".into())
    }
}

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Some(action) =
        headers.get("x-amz-target").and_then(|v| v.to_str().ok()).and_then(|t| t.strip_prefix("AmazonSQS."))
    else {
        return sqs_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "X-Amz-Target header is missing or not AmazonSQS.*",
        );
    };
    let action = action.to_owned();
    if let Err(message) = verify_signature(&shared, &uri, &headers, &body) {
        let kind =
            if message.contains("security token") { "InvalidClientTokenId" } else { "InvalidSignatureException" };
        return json_response(
            StatusCode::FORBIDDEN,
            &json!({ "__type": format!("com.amazon.coral.service#{kind}"), "message": message }),
            None,
        );
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return sqs_error(StatusCode::BAD_REQUEST, "InvalidParameterValue", "The request body is not JSON"),
    };
    let queue_url = shared.queue_url();
    if action != "GetQueueUrl" && request.get("QueueUrl").and_then(Value::as_str) != Some(queue_url.as_str()) {
        return sqs_error(StatusCode::BAD_REQUEST, "QueueDoesNotExist", "The specified queue does not exist.");
    }
    match action.as_str() {
        "GetQueueUrl" => json_response(StatusCode::OK, &json!({ "QueueUrl": queue_url }), None),
        "SendMessage" => {
            let Some(body) = request.get("MessageBody").and_then(Value::as_str) else {
                return sqs_error(StatusCode::BAD_REQUEST, "MissingParameter", "MessageBody is required");
            };
            let id = shared.queue().push(body.to_owned());
            shared.published.notify_waiters();
            json_response(StatusCode::OK, &json!({ "MessageId": id }), None)
        }
        "ReceiveMessage" => receive(&shared, &request).await,
        "DeleteMessage" => {
            let Some(handle) = request.get("ReceiptHandle").and_then(Value::as_str) else {
                return sqs_error(StatusCode::BAD_REQUEST, "MissingParameter", "ReceiptHandle is required");
            };
            let mut queue = shared.queue();
            match queue.messages.iter().position(|m| m.receipt.as_deref() == Some(handle)) {
                Some(index) => {
                    queue.messages.remove(index);
                    queue.deleted += 1;
                    json_response(StatusCode::OK, &json!({}), None)
                }
                None => {
                    sqs_error(StatusCode::BAD_REQUEST, "ReceiptHandleIsInvalid", "The receipt handle is not valid.")
                }
            }
        }
        "ChangeMessageVisibility" => {
            let (Some(handle), Some(secs)) = (
                request.get("ReceiptHandle").and_then(Value::as_str),
                request.get("VisibilityTimeout").and_then(Value::as_u64).filter(|s| *s <= 43_200),
            ) else {
                return sqs_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValue",
                    "ReceiptHandle and VisibilityTimeout (0–43200) are required",
                );
            };
            let mut queue = shared.queue();
            match queue.messages.iter_mut().find(|m| m.receipt.as_deref() == Some(handle)) {
                Some(message) => {
                    message.visible_at = Instant::now() + Duration::from_secs(secs);
                    json_response(StatusCode::OK, &json!({}), None)
                }
                None => {
                    sqs_error(StatusCode::BAD_REQUEST, "ReceiptHandleIsInvalid", "The receipt handle is not valid.")
                }
            }
        }
        other => sqs_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!("The action {other} is not valid for this endpoint."),
        ),
    }
}

async fn receive(shared: &Shared, request: &Value) -> Response {
    let max = request.get("MaxNumberOfMessages").and_then(Value::as_u64).unwrap_or(1);
    if !(1..=10).contains(&max) {
        return sqs_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            "MaxNumberOfMessages must be between 1 and 10",
        );
    }
    let wait = request.get("WaitTimeSeconds").and_then(Value::as_u64).unwrap_or(0).min(20);
    let visibility = Duration::from_secs(request.get("VisibilityTimeout").and_then(Value::as_u64).unwrap_or(30));
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let notified = shared.published.notified();
        let messages: Vec<Value> = {
            let now = Instant::now();
            let mut queue = shared.queue();
            queue
                .messages
                .iter_mut()
                .filter(|m| m.visible_at <= now)
                .take(max as usize)
                .map(|m| {
                    let handle = uuid::Uuid::new_v4().simple().to_string();
                    m.receipt = Some(handle.clone());
                    m.visible_at = now + visibility;
                    m.receives += 1;
                    json!({ "MessageId": m.id, "ReceiptHandle": handle, "Body": m.body,
                            "Attributes": { "ApproximateReceiveCount": m.receives.to_string() } })
                })
                .collect()
        };
        let now = Instant::now();
        if !messages.is_empty() || now >= deadline {
            let body = if messages.is_empty() { json!({}) } else { json!({ "Messages": messages }) };
            return json_response(StatusCode::OK, &body, None);
        }
        // Wake on a new message, or re-check soon for messages whose visibility ends.
        let _ = tokio::time::timeout((deadline - now).min(Duration::from_millis(50)), notified).await;
    }
}
