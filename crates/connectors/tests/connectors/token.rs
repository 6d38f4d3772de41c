//! The token cache refreshes ahead of expiry and after invalidation, once for many callers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ferry_connectors::token::{IssuedToken, TokenCache};
use ferry_store::secrets::SecretValue;

#[tokio::test]
async fn refreshes_ahead_of_expiry_and_after_invalidation() {
    let cache = Arc::new(TokenCache::new(Duration::from_millis(900)));
    let fetches = Arc::new(AtomicU32::new(0));
    let fetch = |f: Arc<AtomicU32>| async move {
        let n = f.fetch_add(1, Ordering::SeqCst);
        Ok(IssuedToken { value: SecretValue::new(format!("token-{n}")), expires_in: Duration::from_millis(1000) })
    };
    let mut joins = Vec::new();
    for _ in 0..8 {
        let (c, f) = (Arc::clone(&cache), Arc::clone(&fetches));
        joins.push(tokio::spawn(async move { c.get(|| fetch(f)).await.unwrap() }));
    }
    for j in joins {
        assert_eq!(j.await.unwrap().expose(), "token-0", "concurrent callers share one fetch");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // Refresh ahead: at most half the lifetime when the margin is larger than that.
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(cache.get(|| fetch(Arc::clone(&fetches))).await.unwrap().expose(), "token-1");
    cache.invalidate().await;
    assert_eq!(cache.get(|| fetch(Arc::clone(&fetches))).await.unwrap().expose(), "token-2");
}
