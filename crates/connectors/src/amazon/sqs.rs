//! An SQS consumer for SP-API notifications (ReceiveMessage, DeleteMessage,
//! ChangeMessageVisibility over SQS's JSON protocol, SigV4-signed, endpoint configurable).
//! A message is deleted only after its event is in the inbox: a crash in between means a
//! redelivery, which the inbox's dedupe key absorbs.

use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::failure::{Failure, classify_http_status};
use ferry_store::{NewJob, Store};
use serde::Deserialize;
use serde_json::{Value, json};

use super::notifications::{Notification, parse_notification};
use super::sigv4::{AwsCredentials, SigningRequest, amz_date, authorization};

/// Where the queue is and how to sign for it.
#[derive(Debug, Clone)]
pub struct SqsConfig {
    /// The SQS endpoint, e.g. `https://sqs.us-east-1.amazonaws.com` or a sandbox URL.
    pub endpoint: String,
    pub queue_url: String,
    pub region: String,
    pub credentials: AwsCredentials,
    /// The CAs the queue's certificate is verified against (public roots by default).
    pub tls: crate::http::Tls,
}

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqsMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
}

#[derive(Deserialize)]
struct ReceiveResponse {
    #[serde(rename = "Messages", default)]
    messages: Vec<SqsMessage>,
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub received: usize,
    /// Stored as new inbox events.
    pub stored: usize,
    /// Already in the inbox (a redelivery); deleted too.
    pub duplicates: usize,
    /// Not a notification Ferry can read: hidden for [`UNREADABLE_HIDE_SECS`] so it does not
    /// spin, and left for the queue's redrive policy.
    pub unreadable: usize,
}

/// How long an unreadable message stays invisible (SQS's maximum, 12 hours).
pub const UNREADABLE_HIDE_SECS: u32 = 43_200;

/// A consumer of one queue.
#[derive(Debug, Clone)]
pub struct SqsConsumer {
    http: reqwest::Client,
    config: SqsConfig,
    host: String,
}

impl SqsConsumer {
    /// A consumer of `config`'s queue; fails only when its TLS settings cannot be used.
    pub fn new(config: SqsConfig) -> Result<Self, Failure> {
        let host = config
            .endpoint
            .split("://")
            .nth(1)
            .unwrap_or(&config.endpoint)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let http = crate::http::client(&config.tls).map_err(|e| Failure::permanent(format!("SQS: {e}")))?;
        Ok(SqsConsumer { http, config, host })
    }

    async fn call(&self, action: &str, body: Value) -> Result<Value, Failure> {
        let body = serde_json::to_vec(&body).map_err(|e| Failure::permanent(format!("SQS {action}: {e}")))?;
        let now = jiff::Timestamp::now();
        let target = format!("AmazonSQS.{action}");
        let mut headers = vec![
            ("host".to_owned(), self.host.clone()),
            ("content-type".to_owned(), "application/x-amz-json-1.0".to_owned()),
            ("x-amz-date".to_owned(), amz_date(now)),
            ("x-amz-target".to_owned(), target),
        ];
        if let Some(token) = &self.config.credentials.session_token {
            headers.push(("x-amz-security-token".to_owned(), token.expose().to_owned()));
        }
        let path =
            self.config.endpoint.split("://").nth(1).and_then(|rest| rest.find('/').map(|i| &rest[i..])).unwrap_or("/");
        let signing = SigningRequest { method: "POST", path, query: &[], headers: &headers, body: &body };
        let auth = authorization(&signing, &self.config.credentials, &self.config.region, "sqs", now);
        let mut request = self.http.post(&self.config.endpoint).header("authorization", auth).body(body);
        for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::transient(format!("SQS {action}: {}", crate::http::describe(e))))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| Failure::transient(format!("SQS {action}: {e}")))?;
        let value: Value = if bytes.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                Failure::permanent(format!(
                    "SQS {action}: malformed response (line {} column {})",
                    e.line(),
                    e.column()
                ))
            })?
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let kind =
            value.get("__type").and_then(Value::as_str).unwrap_or("").rsplit('#').next().unwrap_or("").to_owned();
        let message = value.get("message").or_else(|| value.get("Message")).and_then(Value::as_str).unwrap_or("");
        let text = format!("SQS {action}: {status} {kind}: {message}");
        Err(match kind.as_str() {
            "RequestThrottled" | "ThrottlingException" => Failure::throttled(None, text),
            "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "InvalidClientTokenId"
            | "AccessDenied"
            | "AccessDeniedException" => Failure::auth(text),
            _ => classify_http_status(status, None, text),
        })
    }

    /// ReceiveMessage: up to `max` (1–10) messages, long-polling up to `wait_secs` (0–20).
    pub async fn receive(
        &self,
        max: u8,
        wait_secs: u8,
        visibility_secs: Option<u32>,
    ) -> Result<Vec<SqsMessage>, Failure> {
        let mut body = json!({
            "QueueUrl": self.config.queue_url,
            "MaxNumberOfMessages": max.clamp(1, 10),
            "WaitTimeSeconds": wait_secs.min(20),
        });
        if let Some(v) = visibility_secs {
            body["VisibilityTimeout"] = json!(v);
        }
        let value = self.call("ReceiveMessage", body).await?;
        serde_json::from_value::<ReceiveResponse>(value)
            .map(|r| r.messages)
            .map_err(|e| Failure::permanent(format!("SQS ReceiveMessage: unexpected response: {e}")))
    }

    /// SendMessage (forwarding, tests); returns the message id.
    pub async fn send(&self, body: &str) -> Result<String, Failure> {
        let value = self.call("SendMessage", json!({ "QueueUrl": self.config.queue_url, "MessageBody": body })).await?;
        Ok(value.get("MessageId").and_then(Value::as_str).unwrap_or_default().to_owned())
    }

    pub async fn delete(&self, receipt_handle: &str) -> Result<(), Failure> {
        self.call("DeleteMessage", json!({ "QueueUrl": self.config.queue_url, "ReceiptHandle": receipt_handle }))
            .await
            .map(|_| ())
    }

    pub async fn change_visibility(&self, receipt_handle: &str, secs: u32) -> Result<(), Failure> {
        self.call(
            "ChangeMessageVisibility",
            json!({ "QueueUrl": self.config.queue_url, "ReceiptHandle": receipt_handle, "VisibilityTimeout": secs }),
        )
        .await
        .map(|_| ())
    }

    /// One poll: receive, store each notification as an inbox event with the jobs `jobs_for`
    /// returns (one transaction per event), and delete each message only once it is stored.
    pub async fn poll_into<S: Store>(
        &self,
        store: &S,
        tenant: &TenantId,
        connection: &ConnectionId,
        wait_secs: u8,
        jobs_for: impl Fn(&Notification) -> Vec<NewJob>,
    ) -> Result<PollReport, Failure> {
        let messages = self.receive(10, wait_secs, None).await?;
        let mut report = PollReport { received: messages.len(), ..Default::default() };
        for message in messages {
            let notification = match parse_notification(&message.body) {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(message_id = %message.message_id, %error, "unreadable SQS notification");
                    self.change_visibility(&message.receipt_handle, UNREADABLE_HIDE_SECS).await?;
                    report.unreadable += 1;
                    continue;
                }
            };
            let event = notification.to_event(tenant.clone(), connection.clone());
            let accepted = store.accept_event(&event, &jobs_for(&notification)).await.map_err(|e| {
                Failure::transient(format!("storing notification {}: {e}", notification.notification_id))
            })?;
            if accepted.new {
                report.stored += 1;
            } else {
                report.duplicates += 1;
            }
            self.delete(&message.receipt_handle).await?;
        }
        Ok(report)
    }
}
