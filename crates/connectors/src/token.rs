//! An access-token cache with refresh ahead of expiry, shared by every connector that uses
//! OAuth-style tokens (Login with Amazon, Microsoft Entra ID).

use std::future::Future;
use std::time::{Duration, Instant};

use ferry_runtime::failure::Failure;
use ferry_store::secrets::SecretValue;
use tokio::sync::Mutex;

/// A token and how long it is valid from when it was issued.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub value: SecretValue,
    pub expires_in: Duration,
}

#[derive(Debug)]
struct Cached {
    value: SecretValue,
    refresh_at: Instant,
}

/// Holds one token; concurrent callers share a single refresh.
#[derive(Debug)]
pub struct TokenCache {
    refresh_ahead: Duration,
    slot: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// A cache that refreshes `refresh_ahead` before the token expires (LWA and Entra tokens
    /// last an hour; a minute or more ahead keeps in-flight calls from carrying a dying token).
    pub fn new(refresh_ahead: Duration) -> Self {
        TokenCache { refresh_ahead, slot: Mutex::new(None) }
    }

    /// The cached token, or a fresh one from `fetch` when none is cached or it is due.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<SecretValue, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, Failure>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(c) = slot.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.value.clone());
        }
        let issued = fetch().await?;
        let lifetime = issued.expires_in.saturating_sub(self.refresh_ahead).max(issued.expires_in / 2);
        *slot = Some(Cached { value: issued.value.clone(), refresh_at: Instant::now() + lifetime });
        Ok(issued.value)
    }

    /// Drops the cached token (after the remote rejected it), so the next `get` fetches anew.
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}
