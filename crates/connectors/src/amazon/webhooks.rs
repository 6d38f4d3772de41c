//! The HTTP ingress for EventBridge API destinations: an API destination POSTs each SP-API
//! event with an API-key header; the event is answered 200 only once it is in the inbox
//! (EventBridge retries 5xx and 429, so a store outage loses nothing), 401 for a wrong key
//! (checked before anything is parsed or stored), 400 for a body that is not a notification.
//!
//! [`ingest`] is framework-free (the server crate can mount it on its router);
//! [`EventBridgeIngress::serve`] is a small HTTP/1.1 listener for running it standalone.

use std::sync::Arc;

use ferry_model::{ConnectionId, TenantId};
use ferry_store::secrets::SecretValue;
use ferry_store::{NewJob, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::notifications::{Notification, parse_eventbridge};

/// Largest body accepted (EventBridge events are at most 256 KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// Decides the jobs enqueued with each new event.
pub type JobsFor = Box<dyn Fn(&Notification) -> Vec<NewJob> + Send + Sync>;

/// What the ingress checks and where it stores.
pub struct IngressConfig<S: Store> {
    pub store: S,
    pub tenant: TenantId,
    pub connection: ConnectionId,
    /// Header carrying the API key, as configured on the EventBridge connection.
    pub api_key_header: String,
    pub api_key: SecretValue,
    /// Jobs to enqueue with each new event.
    pub jobs_for: JobsFor,
}

/// Why an event was not accepted, with the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngressError {
    #[error("missing or wrong API key")]
    Unauthorized,
    #[error("not an SP-API notification: {0}")]
    BadRequest(String),
    #[error("the inbox is unavailable: {0}")]
    Unavailable(String),
}

impl IngressError {
    pub fn status(&self) -> u16 {
        match self {
            IngressError::Unauthorized => 401,
            IngressError::BadRequest(_) => 400,
            IngressError::Unavailable(_) => 503,
        }
    }
}

/// Equal-length-independent comparison without an early exit.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// Checks the key, parses the event and stores it with its jobs; `Ok(true)` for a new
/// event, `Ok(false)` for a redelivery.
pub async fn ingest<S: Store>(
    config: &IngressConfig<S>,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<bool, IngressError> {
    let key = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(&config.api_key_header)).map(|(_, v)| v.as_bytes());
    if !key.is_some_and(|key| same_secret(key, config.api_key.expose().as_bytes())) {
        return Err(IngressError::Unauthorized);
    }
    let text = std::str::from_utf8(body).map_err(|_| IngressError::BadRequest("body is not UTF-8".into()))?;
    let notification = parse_eventbridge(text).map_err(|e| IngressError::BadRequest(e.to_string()))?;
    let event = notification.to_event(config.tenant.clone(), config.connection.clone());
    let accepted = config
        .store
        .accept_event(&event, &(config.jobs_for)(&notification))
        .await
        .map_err(|e| IngressError::Unavailable(e.to_string()))?;
    Ok(accepted.new)
}

/// A standalone listener for [`ingest`].
pub struct EventBridgeIngress;

impl EventBridgeIngress {
    /// Serves until the listener fails; one request per connection.
    pub async fn serve<S: Store>(listener: TcpListener, config: Arc<IngressConfig<S>>) -> std::io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let config = Arc::clone(&config);
            tokio::spawn(async move {
                if let Err(error) = handle(stream, &config).await {
                    tracing::debug!(%error, "EventBridge ingress connection failed");
                }
            });
        }
    }
}

async fn respond(stream: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

async fn handle<S: Store>(mut stream: TcpStream, config: &IngressConfig<S>) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let (method, headers, body_start, length) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        let mut raw = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut raw);
        match request.parse(&buffer) {
            Ok(httparse::Status::Complete(start)) => {
                let headers: Vec<(String, String)> = request
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect();
                let length = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (request.method.unwrap_or("").to_owned(), headers, start, length);
            }
            Ok(httparse::Status::Partial) if buffer.len() < 64 * 1024 => continue,
            _ => return respond(&mut stream, 400, r#"{"error":"malformed HTTP request"}"#).await,
        }
    };
    if method != "POST" {
        return respond(&mut stream, 405, r#"{"error":"POST only"}"#).await;
    }
    if length > MAX_BODY {
        return respond(&mut stream, 413, r#"{"error":"body too large"}"#).await;
    }
    while buffer.len() < body_start + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return respond(&mut stream, 400, r#"{"error":"body shorter than content-length"}"#).await;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = &buffer[body_start..body_start + length];
    match ingest(config, &headers, body).await {
        Ok(new) => respond(&mut stream, 200, &format!(r#"{{"stored":true,"duplicate":{}}}"#, !new)).await,
        Err(error) => {
            let message = serde_json::json!({ "error": error.to_string() }).to_string();
            respond(&mut stream, error.status(), &message).await
        }
    }
}
