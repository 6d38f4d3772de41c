//! The HTTP ingress for EventBridge API destinations: an API destination POSTs each SP-API
//! event with an API-key header; the event is answered 200 only once it is in the inbox
//! (EventBridge retries 5xx and 429, so a store outage loses nothing), 401 for a wrong key
//! (checked before anything is parsed or stored), 400 for a body that is not a notification.
//!
//! [`ingest`] is framework-free: the server crate mounts it on the node's one listener.

use ferry_model::{ConnectionId, TenantId};
use ferry_store::secrets::SecretValue;
use ferry_store::{NewJob, Store};

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
