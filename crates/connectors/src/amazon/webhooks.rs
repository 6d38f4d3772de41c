//! The HTTP ingress for EventBridge API destinations: an API destination POSTs each SP-API
//! event with an API-key header; the event is answered 200 only once it is in the inbox
//! (EventBridge retries 5xx and 429, so a store outage loses nothing), 401 for a wrong key
//! (checked by [`authenticate`] from the headers alone, before the body is read), 400 for a body
//! that is not a notification, for an event outside the [`Freshness`] window (a replayed
//! capture), or for identifiers the inbox could not index.
//!
//! [`authenticate`] and [`store_event`] are framework-free: the server crate mounts them on the
//! node's one listener and reads the body in between; [`ingest`] does both for a body in hand.

use std::time::Duration;

use ferry_model::{ConnectionId, TenantId, Timestamp};
use ferry_store::secrets::SecretValue;
use ferry_store::{NewJob, Store};
use serde_json::Value;

use super::notifications::{Notification, NotificationError, parse_envelope};
use crate::ingress::keys_match;

/// Largest body accepted (EventBridge events are at most 256 KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// Oldest an event may be when it arrives: a captured delivery replayed later is refused. It
/// bounds how long EventBridge may keep retrying one delivery to this node (its retry policy's
/// maximum event age, 24 h by default, should be set to this), so it is a setting
/// ([`Freshness`]), not a law.
pub const MAX_EVENT_AGE: Duration = Duration::from_secs(5 * 60);

/// How far ahead of this node's clock an event's time may be (clock skew).
pub const MAX_EVENT_AHEAD: Duration = Duration::from_secs(60);

/// The window an event's time must fall in: the EventBridge envelope's `time`, or for a bare
/// SP-API envelope its `NotificationMetadata.PublishTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub max_age: Duration,
    pub max_ahead: Duration,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness { max_age: MAX_EVENT_AGE, max_ahead: MAX_EVENT_AHEAD }
    }
}

impl Freshness {
    /// `Err` names how far outside the window `sent_at` is.
    pub fn check(&self, sent_at: Timestamp, now: Timestamp) -> Result<(), String> {
        let age = now.duration_since(sent_at);
        if age.is_negative() {
            let ahead = age.unsigned_abs();
            if ahead > self.max_ahead {
                return Err(format!(
                    "the event's time {sent_at} is {}s ahead of this node's clock; at most {}s is accepted",
                    ahead.as_secs(),
                    self.max_ahead.as_secs()
                ));
            }
        } else if age.unsigned_abs() > self.max_age {
            return Err(format!(
                "the event's time {sent_at} is {}s old; events older than {}s are refused",
                age.unsigned_abs().as_secs(),
                self.max_age.as_secs()
            ));
        }
        Ok(())
    }
}

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
    /// The window an event's time must fall in.
    pub freshness: Freshness,
}

/// Why an event was not accepted, with the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngressError {
    #[error("missing or wrong API key")]
    Unauthorized,
    #[error("not an SP-API notification: {0}")]
    BadRequest(String),
    #[error("event refused: {0}")]
    Stale(String),
    #[error("the inbox is unavailable: {0}")]
    Unavailable(String),
}

impl IngressError {
    pub fn status(&self) -> u16 {
        match self {
            IngressError::Unauthorized => 401,
            // Sending it again cannot make it fresher: EventBridge does not retry a 400.
            IngressError::BadRequest(_) | IngressError::Stale(_) => 400,
            IngressError::Unavailable(_) => 503,
        }
    }
}

/// Checks the API key from the headers alone: call it before reading the body.
pub fn authenticate<S: Store>(config: &IngressConfig<S>, headers: &[(String, String)]) -> Result<(), IngressError> {
    let key = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(&config.api_key_header)).map(|(_, v)| v.as_bytes());
    if key.is_some_and(|key| keys_match(key, config.api_key.expose().as_bytes())) {
        Ok(())
    } else {
        Err(IngressError::Unauthorized)
    }
}

/// The notification inside an EventBridge event (or a bare envelope) and the time its
/// freshness is judged by.
fn parse(body: &[u8]) -> Result<(Notification, Timestamp), IngressError> {
    let bad = |e: NotificationError| IngressError::BadRequest(e.to_string());
    let text = std::str::from_utf8(body).map_err(|_| IngressError::BadRequest("body is not UTF-8".into()))?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(NotificationError::NotJson(format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column())))
    })?;
    let (notification, sent_at) = match value.get("detail") {
        Some(detail) if detail.is_object() => {
            let notification = parse_envelope(detail.clone()).map_err(bad)?;
            let time = value.get("time").and_then(Value::as_str).ok_or_else(|| {
                IngressError::BadRequest(
                    "the EventBridge event has no `time`, so its freshness cannot be checked".into(),
                )
            })?;
            let time = time.parse::<Timestamp>().map_err(|_| {
                IngressError::BadRequest(format!("the EventBridge event's `time` ({time}) is not an RFC 3339 time"))
            })?;
            (notification, time)
        }
        _ => {
            let notification = parse_envelope(value).map_err(bad)?;
            let time = notification.publish_time.ok_or_else(|| {
                IngressError::BadRequest(
                    "NotificationMetadata.PublishTime is missing, so the event's freshness cannot be checked".into(),
                )
            })?;
            (notification, time)
        }
    };
    Ok((notification, sent_at))
}

/// Parses an authenticated event, checks its freshness and stores it with its jobs;
/// `Ok(true)` for a new event, `Ok(false)` for a redelivery.
pub async fn store_event<S: Store>(config: &IngressConfig<S>, body: &[u8]) -> Result<bool, IngressError> {
    let (notification, sent_at) = parse(body)?;
    config.freshness.check(sent_at, Timestamp::now()).map_err(IngressError::Stale)?;
    let event = notification.to_event(config.tenant.clone(), config.connection.clone());
    let accepted = config
        .store
        .accept_event(&event, &(config.jobs_for)(&notification))
        .await
        .map_err(|e| IngressError::Unavailable(e.to_string()))?;
    Ok(accepted.new)
}

/// [`authenticate`], then [`store_event`].
pub async fn ingest<S: Store>(
    config: &IngressConfig<S>,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<bool, IngressError> {
    authenticate(config, headers)?;
    store_event(config, body).await
}
