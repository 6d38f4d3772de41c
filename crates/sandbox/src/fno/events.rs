//! Business events (issue 15: "F&O business events delivered to Ferry's ingress (HTTPS
//! endpoint type)"). The reference is silent on their shape; the sandbox posts the common
//! header F&O's business-event contracts carry (`BusinessEventId`, `BusinessEventLegalEntity`,
//! `ControlNumber`, `EventId`, `EventTime` as `/Date(ms)/`, `EventTimeIso8601`,
//! `InitiatingUserAADObjectId`, `MajorVersion`, `MinorVersion`, `ContextRecordSubject`,
//! `ParentContextRecordSubject`) plus the document's company and number and the
//! `ModifiedDateTime` poll cursor. Event ids are the sandbox's:
//! `SalesOrderCreatedBusinessEvent`, `SalesOrderChangedBusinessEvent`,
//! `ReturnOrderCreatedBusinessEvent`, `ReturnOrderChangedBusinessEvent`.
//!
//! One worker posts events in commit order to every registered endpoint (`https://`, checked
//! against the configured CA, or `http://`), up to three attempts each; outcomes are kept for
//! tests ([`Events::deliveries`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::store::Change;

/// One attempt to deliver one event to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDelivery {
    pub endpoint: Uuid,
    pub url: String,
    pub event: Value,
    /// The HTTP status, or why the call failed.
    pub outcome: Result<u16, String>,
}

pub struct Events {
    endpoints: Mutex<Vec<(Uuid, String)>>,
    deliveries: Mutex<Vec<EventDelivery>>,
    control: AtomicU64,
    queue: mpsc::UnboundedSender<Value>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

/// The business event of a committed change, if it has one.
fn event_of(change: &Change, control: u64) -> Option<Value> {
    let (document, number_field) = match change.set.as_str() {
        "SalesOrderHeadersV2" => ("SalesOrder", "SalesOrderNumber"),
        "ReturnOrderHeaders" => ("ReturnOrder", "ReturnOrderNumber"),
        _ => return None,
    };
    let verb = if change.created { "Created" } else { "Changed" };
    let text = |f: &str| change.row.get(f).and_then(Value::as_str).unwrap_or_default().to_owned();
    let now = jiff::Timestamp::now();
    let mut event = json!({
        "BusinessEventId": format!("{document}{verb}BusinessEvent"),
        "BusinessEventLegalEntity": text("dataAreaId").to_uppercase(),
        "ContextRecordSubject": "",
        "ControlNumber": control,
        "EventId": Uuid::new_v4().to_string().to_uppercase(),
        "EventTime": format!("/Date({})/", now.as_millisecond()),
        "EventTimeIso8601": now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "InitiatingUserAADObjectId": "{00000000-0000-0000-0000-000000000000}",
        "MajorVersion": 0,
        "MinorVersion": 0,
        "ParentContextRecordSubject": "",
        "dataAreaId": text("dataAreaId"),
        "ModifiedDateTime": text(super::schema::MODIFIED),
    });
    if let Value::Object(map) = &mut event {
        map.insert(number_field.to_owned(), Value::String(text(number_field)));
        if document == "ReturnOrder" {
            map.insert("RMANumber".into(), Value::String(text("RMANumber")));
        }
    }
    Some(event)
}

impl Events {
    /// Starts the delivery worker; `tls` verifies `https://` endpoints.
    pub fn start(tls: Option<Arc<rustls::ClientConfig>>) -> Arc<Self> {
        let (queue, mut rx) = mpsc::unbounded_channel::<Value>();
        let events = Arc::new(Events {
            endpoints: Mutex::new(Vec::new()),
            deliveries: Mutex::new(Vec::new()),
            control: AtomicU64::new(5_637_144_576),
            queue,
        });
        let weak = Arc::downgrade(&events);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(events) = weak.upgrade() else { return };
                let endpoints = events.endpoints.lock().unwrap_or_else(|e| e.into_inner()).clone();
                for (id, url) in endpoints {
                    let body = event.to_string();
                    let mut outcome = Err(String::new());
                    for attempt in 0..3u64 {
                        outcome = post(&url, body.as_bytes(), tls.clone()).await;
                        if matches!(outcome, Ok(200..=299)) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
                    }
                    events.deliveries.lock().unwrap_or_else(|e| e.into_inner()).push(EventDelivery {
                        endpoint: id,
                        url: url.clone(),
                        event: event.clone(),
                        outcome,
                    });
                }
            }
        });
        events
    }

    pub fn register(&self, url: &str) -> Uuid {
        let id = Uuid::new_v4();
        self.endpoints.lock().unwrap_or_else(|e| e.into_inner()).push((id, url.to_owned()));
        id
    }

    pub fn unregister(&self, id: Uuid) {
        self.endpoints.lock().unwrap_or_else(|e| e.into_inner()).retain(|(e, _)| *e != id);
    }

    pub fn deliveries(&self) -> Vec<EventDelivery> {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Queues the events of committed changes (nothing when no endpoint is registered).
    pub fn publish(&self, changes: &[Change]) {
        if self.endpoints.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            return;
        }
        for change in changes {
            let control = self.control.fetch_add(1, Ordering::Relaxed);
            if let Some(event) = event_of(change, control) {
                let _ = self.queue.send(event);
            }
        }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, head: &str, body: &[u8]) -> Result<u16, String> {
    stream.write_all(head.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    stream.write_all(body).await.map_err(|e| format!("write: {e}"))?;
    stream.flush().await.map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| "invalid HTTP response".to_owned())
}

/// A minimal HTTP/1.1 POST (the receivers are local servers).
async fn post(url: &str, body: &[u8], tls: Option<Arc<rustls::ClientConfig>>) -> Result<u16, String> {
    let (secure, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (_, Some(rest)) => (false, rest),
        _ => return Err(format!("the endpoint URL must be http:// or https://: {url}")),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let attempt = async {
        let tcp = TcpStream::connect(host).await.map_err(|e| format!("connect {host}: {e}"))?;
        if !secure {
            return exchange(tcp, &head, body).await;
        }
        let config = tls.ok_or("no CA is configured for https:// business-event endpoints")?;
        let name = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_matches(['[', ']']).to_owned();
        let server_name =
            rustls::pki_types::ServerName::try_from(name).map_err(|e| format!("invalid host {host}: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}: {e}"))?;
        exchange(stream, &head, body).await
    };
    tokio::time::timeout(Duration::from_secs(30), attempt).await.map_err(|_| "timed out after 30 s".to_owned())?
}

/// A client configuration trusting the CA certificates in `pem`.
pub fn client_tls(pem: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("the business-event CA is not PEM: {e}"))?;
        roots.add(cert).map_err(|e| format!("the business-event CA is not usable: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
