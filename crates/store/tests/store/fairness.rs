//! Tenants share the workers fairly: one tenant's backlog does not hold back another
//! tenant's new job, and with one tenant a claim is what it always was (oldest first).

use std::time::Duration;

use ferry_store::{NewJob, Store, TenantId};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::common::tenant;

async fn a_backlog_of_one_tenant_does_not_hold_back_another<S: Store>(store: S) {
    let busy = tenant();
    let quiet: TenantId = "quiet-seller".parse().unwrap();
    store.ensure_tenant(&quiet, "Quiet").await.unwrap();
    // 2,000 jobs of the busy tenant, all due since an hour ago: older than anything new.
    let hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    let backlog: Vec<NewJob> = (0..2000)
        .map(|n| NewJob { run_at: Some(hour_ago), ..NewJob::new(busy.clone(), "amazon.orders", json!({ "n": n })) })
        .collect();
    for chunk in backlog.chunks(500) {
        store.enqueue(chunk).await.unwrap();
    }
    let first = store.claim("w1", 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(first.len(), 10);
    assert!(first.iter().all(|j| j.tenant == busy), "one tenant due: its oldest jobs, as always");
    let first_n: Vec<u64> =
        first.iter().map(|j| j.payload_as::<serde_json::Value>().unwrap()["n"].as_u64().unwrap()).collect();
    assert_eq!(first_n, (0..10).collect::<Vec<_>>(), "oldest first");

    // The quiet tenant's new order arrives behind 1,990 older jobs: the next claim takes it.
    let new = store.enqueue(&[NewJob::new(quiet.clone(), "amazon.orders", json!({ "order": "new" }))]).await.unwrap();
    let next = store.claim("w1", 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(next.len(), 10, "the claim is still full");
    assert!(next.iter().any(|j| Some(j.id) == new[0]), "the quiet tenant's new job is in the next claim");
    assert_eq!(next.iter().filter(|j| j.tenant == busy).count(), 9, "the busy tenant gets the rest");
}

crate::both_backends!(a_backlog_of_one_tenant_does_not_hold_back_another);
