//! Inbox, queue, leases and outcomes.

use std::collections::HashSet;
use std::time::Duration;

use ferry_store::{
    Completion, CursorUpdate, Echo, EchoKey, JobState, NewEvent, NewJob, Outcome, RunRecord, Store, StoreError, Xref,
    XrefKey,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::common::tenant;

fn job(n: u32) -> NewJob {
    NewJob::new(tenant(), "test.flow", json!({ "n": n }))
}

fn done(job: ferry_store::JobId) -> Completion {
    Completion { job, outcome: Outcome::done(), trace: Vec::new() }
}

async fn migrate_twice_is_harmless<S: Store>(store: S) {
    store.migrate().await.expect("second migrate");
    store.enqueue(&[job(1)]).await.expect("enqueue after re-migrate");
}

async fn claim_then_complete<S: Store>(store: S) {
    let ids = store.enqueue(&[job(1), job(2), job(3)]).await.unwrap();
    assert!(ids.iter().all(Option::is_some), "every job without a key is inserted: {ids:?}");
    let claimed = store.claim("w1", 2, Duration::from_secs(30)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].id, ids[0].unwrap(), "oldest first");
    for j in &claimed {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempts, 1, "a claim counts an attempt");
        assert_eq!(j.lease_owner.as_deref(), Some("w1"));
        assert!(j.lease_until.is_some());
    }
    let n: u32 = claimed[1].payload_as::<serde_json::Value>().unwrap()["n"].as_u64().unwrap() as u32;
    assert_eq!(n, 2, "payload survives the round trip");
    let applied = store.complete("w1", &claimed.iter().map(|j| done(j.id)).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(applied, vec![true, true]);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.ready, stats.running, stats.completed), (1, 0, 2));
    assert_eq!(store.job(claimed[0].id).await.unwrap().unwrap().state, JobState::Completed);
}

async fn dedupe_keys_hold_per_tenant<S: Store>(store: S) {
    let first = store.enqueue(&[job(1).dedupe_key("order-1"), job(2).dedupe_key("order-1"), job(3)]).await.unwrap();
    assert!(first[0].is_some());
    assert_eq!(first[1], None, "a second job with the same key in one batch is skipped");
    assert!(first[2].is_some());
    let again = store.enqueue(&[job(4).dedupe_key("order-1")]).await.unwrap();
    assert_eq!(again, vec![None]);
    assert_eq!(store.queue_stats().await.unwrap().ready, 2);
}

async fn events_are_stored_once_with_their_jobs<S: Store>(store: S) {
    let event = NewEvent {
        tenant: tenant(),
        connection: "amazon".parse().unwrap(),
        dedupe_key: "ORDER_CHANGE:123-1234567-1234567:2026-11-23T10:00:00Z".into(),
        event_type: "ORDER_CHANGE".into(),
        payload: json!({ "orderId": "123-1234567-1234567" }),
    };
    let a = store.accept_event(&event, &[job(1)]).await.unwrap();
    let b = store.accept_event(&event, &[job(1)]).await.unwrap();
    assert!(a.new);
    assert!(!b.new, "a redelivered event is recognised");
    assert_eq!(a.event, b.event);
    assert_eq!(store.queue_stats().await.unwrap().ready, 1, "the redelivery enqueued nothing");
}

async fn future_jobs_wait<S: Store>(store: S) {
    let later = Timestamp::now().checked_add(SignedDuration::from_secs(3600)).unwrap();
    store.enqueue(&[job(1).run_at(later)]).await.unwrap();
    assert!(store.claim("w", 10, Duration::from_secs(30)).await.unwrap().is_empty());
    let s = store.queue_stats().await.unwrap();
    assert_eq!((s.ready, s.scheduled), (0, 1));
}

async fn concurrent_claims_never_overlap<S: Store>(store: S) {
    let jobs: Vec<NewJob> = (0..400).map(job).collect();
    store.enqueue(&jobs).await.unwrap();
    let mut handles = Vec::new();
    for w in 0..4 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s.claim(&format!("w{w}"), 25, Duration::from_secs(30)).await.unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    for h in handles {
        for id in h.await.unwrap() {
            assert!(seen.insert(id), "job {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 400);
}

async fn only_the_lease_holder_completes<S: Store>(store: S) {
    store.enqueue(&[job(1)]).await.unwrap();
    let j = store.claim("w1", 1, Duration::from_secs(30)).await.unwrap().remove(0);
    let xref = Xref {
        key: XrefKey {
            tenant: tenant(),
            source_system: "amazon".into(),
            source_entity: "order".into(),
            source_id: "123-1234567-1234567".into(),
            target_system: "dataverse".into(),
            target_entity: "salesorder".into(),
        },
        target_id: "6b3f1a52-0000-0000-0000-000000000001".into(),
    };
    let with_effects = Completion {
        job: j.id,
        outcome: Outcome::Completed {
            xrefs: vec![xref.clone()],
            cursor: None,
            echoes: Vec::new(),
            covers_earlier: false,
        },
        trace: Vec::new(),
    };
    assert_eq!(store.complete("intruder", std::slice::from_ref(&with_effects)).await.unwrap(), vec![false]);
    assert_eq!(store.xref(&xref.key).await.unwrap(), None, "a stale outcome writes no effects");
    assert_eq!(store.job(j.id).await.unwrap().unwrap().state, JobState::Running);
    assert_eq!(store.complete("w1", &[with_effects]).await.unwrap(), vec![true]);
    assert_eq!(store.xref(&xref.key).await.unwrap().as_deref(), Some(xref.target_id.as_str()));
}

async fn expired_leases_return_to_the_queue<S: Store>(store: S) {
    store.enqueue(&[job(1)]).await.unwrap();
    let j = store.claim("crashed", 1, Duration::from_millis(1)).await.unwrap().remove(0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.queue_stats().await.unwrap().expired_leases, 1);
    assert_eq!(store.recover_expired_leases().await.unwrap(), 1);
    let again = store.claim("w2", 1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, j.id);
    assert_eq!(again[0].attempts, 2, "the crashed attempt counted");
    assert!(again[0].last_error.as_deref().unwrap_or("").contains("lease expired"));
    assert_eq!(store.complete("crashed", &[done(j.id)]).await.unwrap(), vec![false], "the old owner lost it");
}

async fn heartbeats_keep_leases<S: Store>(store: S) {
    store.enqueue(&[job(1)]).await.unwrap();
    let j = store.claim("w1", 1, Duration::from_millis(50)).await.unwrap().remove(0);
    assert_eq!(store.heartbeat("w1", &[j.id], Duration::from_secs(30)).await.unwrap(), 1);
    assert_eq!(store.heartbeat("other", &[j.id], Duration::from_secs(30)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(store.recover_expired_leases().await.unwrap(), 0, "a beating lease is not taken");
}

async fn retries_refund_only_when_told<S: Store>(store: S) {
    store.enqueue(&[job(1), job(2)]).await.unwrap();
    let jobs = store.claim("w", 2, Duration::from_secs(30)).await.unwrap();
    let now = Timestamp::now();
    let retry = |refund| Outcome::Retry {
        run_at: now,
        refund_attempt: refund,
        error_kind: "throttled".into(),
        error: "429".into(),
    };
    let out = vec![
        Completion { job: jobs[0].id, outcome: retry(true), trace: Vec::new() },
        Completion { job: jobs[1].id, outcome: retry(false), trace: Vec::new() },
    ];
    assert_eq!(store.complete("w", &out).await.unwrap(), vec![true, true]);
    let a = store.job(jobs[0].id).await.unwrap().unwrap();
    let b = store.job(jobs[1].id).await.unwrap().unwrap();
    assert_eq!((a.state, a.attempts), (JobState::Available, 0), "throttling refunds the attempt");
    assert_eq!((b.state, b.attempts), (JobState::Available, 1));
    assert_eq!(b.last_error.as_deref(), Some("429"));
    assert_eq!(b.last_error_kind.as_deref(), Some("throttled"));
}

async fn release_hands_back_without_cost<S: Store>(store: S) {
    store.enqueue(&[job(1)]).await.unwrap();
    let j = store.claim("w", 1, Duration::from_secs(30)).await.unwrap().remove(0);
    let out = Completion { job: j.id, outcome: Outcome::Release, trace: Vec::new() };
    assert_eq!(store.complete("w", &[out]).await.unwrap(), vec![true]);
    let again = store.claim("w2", 1, Duration::from_secs(30)).await.unwrap().remove(0);
    assert_eq!(again.attempts, 1, "the released attempt was refunded");
}

async fn outcome_commits_cursor_echo_and_trace_together<S: Store>(store: S) {
    store.enqueue(&[job(1)]).await.unwrap();
    let j = store.claim("w", 1, Duration::from_secs(30)).await.unwrap().remove(0);
    let echo_key = EchoKey {
        tenant: tenant(),
        system: "dataverse".into(),
        entity: "contact".into(),
        record_id: "c1".into(),
        direction: "store->crm".into(),
    };
    let out = Completion {
        job: j.id,
        outcome: Outcome::Completed {
            xrefs: Vec::new(),
            cursor: Some(CursorUpdate {
                tenant: tenant(),
                name: "amazon/orders".into(),
                value: "2026-11-23T10:00:00Z".into(),
            }),
            echoes: vec![Echo { key: echo_key.clone(), hash: "abc123".into() }],
            covers_earlier: false,
        },
        trace: vec![RunRecord {
            record: "amazon:order:1".into(),
            step: "write".into(),
            outcome: "ok".into(),
            message: "sales order upserted".into(),
            at: Timestamp::now(),
        }],
    };
    assert_eq!(store.complete("w", &[out]).await.unwrap(), vec![true]);
    assert_eq!(store.cursor(&tenant(), "amazon/orders").await.unwrap().as_deref(), Some("2026-11-23T10:00:00Z"));
    assert_eq!(store.echo_hash(&echo_key).await.unwrap().as_deref(), Some("abc123"));
    let runs = store.runs_for_job(j.id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].message, "sales order upserted");
}

async fn cursor_moves_only_with_its_enqueue<S: Store>(store: S) {
    let cursor = CursorUpdate { tenant: tenant(), name: "poll".into(), value: "page-2".into() };
    store.enqueue_with_cursor(&[job(1), job(2)], &cursor).await.unwrap();
    assert_eq!(store.cursor(&tenant(), "poll").await.unwrap().as_deref(), Some("page-2"));
    assert_eq!(store.queue_stats().await.unwrap().ready, 2);
    // A failing enqueue (unknown tenant violates a foreign key) must not move the cursor.
    let bad_tenant: ferry_store::TenantId = "nobody".parse().unwrap();
    let bad = NewJob::new(bad_tenant, "f", json!({}));
    let next = CursorUpdate { tenant: tenant(), name: "poll".into(), value: "page-3".into() };
    let err = store.enqueue_with_cursor(&[bad], &next).await;
    assert!(err.is_err(), "a job for an unknown tenant is refused");
    assert_eq!(store.cursor(&tenant(), "poll").await.unwrap().as_deref(), Some("page-2"), "cursor did not move");
}

async fn dead_letters_replay_and_discard<S: Store>(store: S) {
    store.enqueue(&[job(1), job(2)]).await.unwrap();
    let jobs = store.claim("w", 2, Duration::from_secs(30)).await.unwrap();
    let dead = |j: &ferry_store::Job| Completion::dead(j.id, "lookup product", "permanent", "unknown SKU `SKU-404`");
    store.complete("w", &[dead(&jobs[0]), dead(&jobs[1])]).await.unwrap();
    let list = store.dead_letters(&tenant(), true, 10).await.unwrap();
    assert_eq!(list.len(), 2);
    let dl = &list[1];
    assert_eq!(dl.job, jobs[0].id);
    assert_eq!(dl.step, "lookup product");
    assert_eq!(dl.error, "unknown SKU `SKU-404`");
    assert_eq!(dl.attempts, 1);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&dl.payload).unwrap(), json!({ "n": 1 }));
    assert_eq!(store.job(jobs[0].id).await.unwrap().unwrap().state, JobState::Dead);
    assert_eq!(store.queue_stats().await.unwrap().dead_letters_open, 2);

    let replayed = store
        .replay_dead_letter(&tenant(), dl.id, Some(&json!({ "n": 1, "sku": "SKU-1" })), "ops@example")
        .await
        .unwrap();
    let new_job = store.job(replayed).await.unwrap().unwrap();
    assert_eq!(new_job.state, JobState::Available);
    assert_eq!(new_job.attempts, 0);
    assert_eq!(new_job.flow, "test.flow");
    assert_eq!(new_job.payload_as::<serde_json::Value>().unwrap()["sku"], "SKU-1");
    let again = store.replay_dead_letter(&tenant(), dl.id, None, "ops").await;
    assert!(matches!(again, Err(StoreError::Conflict { .. })), "a dead letter replays once: {again:?}");

    store.discard_dead_letter(&tenant(), list[0].id, "ops@example").await.unwrap();
    assert!(store.dead_letters(&tenant(), true, 10).await.unwrap().is_empty());
    let all = store.dead_letters(&tenant(), false, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    let replayed_dl = store.dead_letter(&tenant(), dl.id).await.unwrap().unwrap();
    assert_eq!(replayed_dl.replay_job, Some(replayed));
    assert_eq!(replayed_dl.resolved_by.as_deref(), Some("ops@example"));
    let audit = store.audit_log(&tenant(), 10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.entry.action.as_str()).collect();
    assert_eq!(actions, vec!["dlq.discard", "dlq.replay"]);
    let missing = store.discard_dead_letter(&tenant(), ferry_store::DeadLetterId(999_999), "ops").await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

async fn dead_letters_are_seen_and_resolved_only_by_their_tenant<S: Store>(store: S) {
    let other: ferry_store::TenantId = "other".parse().unwrap();
    store.ensure_tenant(&other, "Other").await.unwrap();
    store.enqueue(&[job(1)]).await.unwrap();
    let jobs = store.claim("w", 1, Duration::from_secs(30)).await.unwrap();
    store.complete("w", &[Completion::dead(jobs[0].id, "write", "permanent", "refused")]).await.unwrap();
    let id = store.dead_letters(&tenant(), true, 10).await.unwrap()[0].id;

    assert!(store.dead_letters(&other, false, 10).await.unwrap().is_empty());
    assert_eq!(store.dead_letter(&other, id).await.unwrap(), None, "another tenant's id is not found");
    let replay = store.replay_dead_letter(&other, id, None, "cli:mallory").await;
    assert!(matches!(replay, Err(StoreError::NotFound { .. })), "{replay:?}");
    let discard = store.discard_dead_letter(&other, id, "cli:mallory").await;
    assert!(matches!(discard, Err(StoreError::NotFound { .. })), "{discard:?}");

    let mine = store.dead_letter(&tenant(), id).await.unwrap().expect("the owner sees it");
    assert_eq!(mine.status, ferry_store::DeadLetterStatus::Open, "untouched by the other tenant");
    assert!(store.audit_log(&other, 10).await.unwrap().is_empty());
    assert!(store.audit_log(&tenant(), 10).await.unwrap().is_empty());
    store.discard_dead_letter(&tenant(), id, "cli:ops").await.unwrap();
}

async fn corrupt_payload_names_the_job<S: Store>(store: S) {
    let id = store.enqueue(&[job(1)]).await.unwrap()[0].unwrap();
    let j = store.job(id).await.unwrap().unwrap();
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wanted {
        order_id: String,
    }
    let err = j.payload_as::<Wanted>().unwrap_err().to_string();
    assert!(err.contains(&format!("job {id}")), "{err}");
    assert!(err.contains("order_id"), "{err}");
}

crate::both_backends!(
    migrate_twice_is_harmless,
    claim_then_complete,
    dedupe_keys_hold_per_tenant,
    events_are_stored_once_with_their_jobs,
    future_jobs_wait,
    concurrent_claims_never_overlap,
    only_the_lease_holder_completes,
    expired_leases_return_to_the_queue,
    heartbeats_keep_leases,
    retries_refund_only_when_told,
    release_hands_back_without_cost,
    outcome_commits_cursor_echo_and_trace_together,
    cursor_moves_only_with_its_enqueue,
    dead_letters_replay_and_discard,
    dead_letters_are_seen_and_resolved_only_by_their_tenant,
    corrupt_payload_names_the_job,
);
