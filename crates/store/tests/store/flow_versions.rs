//! Flow versions kept per tenant: a file's text imported once, designer saves, drafts,
//! rollback, pause and shadow, each change audited; shadow results and samples; a paused
//! flow's waiting jobs woken when it resumes.

use std::time::Duration;

use ferry_store::{
    Activate, Completion, FlowHeadChange, FlowSample, JobState, NewJob, Outcome, ShadowResult, Store, StoreError,
    TenantId,
};
use serde_json::json;

use super::common::tenant;

const F1: &str = "amazon-orders-to-crm";

fn seller(id: &str) -> TenantId {
    id.parse().unwrap()
}

async fn versions_are_numbered_kept_once_and_heads_change_with_an_audit_row<S: Store>(store: S) {
    let t = tenant();
    let (v1, new) = store
        .add_flow_version(&t, F1, "name: a\n", "imported from a.yaml", Activate::IfNew, "flows folder")
        .await
        .unwrap();
    assert_eq!((v1, new), (1, true));
    let heads = store.flow_heads(&t).await.unwrap();
    assert_eq!((heads.len(), heads[0].active, heads[0].paused, heads[0].shadow), (1, 1, false, None));

    // The same text again (the file at every start): nothing new, nothing moves.
    let again = store
        .add_flow_version(&t, F1, "name: a\n", "imported from a.yaml", Activate::IfNew, "flows folder")
        .await
        .unwrap();
    assert_eq!(again, (1, false));
    // A draft is kept, not run; a designer save runs.
    assert_eq!(
        store.add_flow_version(&t, F1, "name: b\n", "draft", Activate::Never, "token:x").await.unwrap(),
        (2, true)
    );
    assert_eq!(store.flow_heads(&t).await.unwrap()[0].active, 1);
    assert_eq!(
        store.add_flow_version(&t, F1, "name: c\n", "saved", Activate::Always, "token:x").await.unwrap(),
        (3, true)
    );
    assert_eq!(store.flow_heads(&t).await.unwrap()[0].active, 3);
    // The file's unchanged text at the next start does not undo the save.
    store.add_flow_version(&t, F1, "name: a\n", "imported from a.yaml", Activate::IfNew, "flows folder").await.unwrap();
    assert_eq!(store.flow_heads(&t).await.unwrap()[0].active, 3, "a kept text does not move the head");

    let versions = store.flow_versions(&t, Some(F1)).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3, 2, 1], "newest first");
    assert_eq!(versions[2].text, "name: a\n");
    assert_eq!(versions[0].created_by, "token:x");

    // Shadow with the draft; the running version cannot shadow itself.
    let head = store.set_flow_head(&t, F1, FlowHeadChange::Shadow(Some(2)), "token:x").await.unwrap();
    assert_eq!(head.shadow, Some(2));
    let refused = store.set_flow_head(&t, F1, FlowHeadChange::Shadow(Some(3)), "token:x").await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict { .. }), "{refused:?}");
    // Rollback to 1; then running the shadow ends the shadow.
    assert_eq!(store.set_flow_head(&t, F1, FlowHeadChange::Activate(1), "token:x").await.unwrap().active, 1);
    let head = store.set_flow_head(&t, F1, FlowHeadChange::Activate(2), "token:x").await.unwrap();
    assert_eq!((head.active, head.shadow), (2, None), "the version that runs shadows nothing");
    assert!(store.set_flow_head(&t, F1, FlowHeadChange::Pause(true), "token:y").await.unwrap().paused);
    assert!(!store.set_flow_head(&t, F1, FlowHeadChange::Pause(false), "token:y").await.unwrap().paused);
    let missing = store.set_flow_head(&t, F1, FlowHeadChange::Activate(9), "token:x").await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing:?}");

    let audit = store.audit_log(&t, 50).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.entry.action.as_str()).collect();
    for action in ["flow.version", "flow.activate", "flow.shadow", "flow.pause", "flow.resume"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    let rollback = audit.iter().find(|a| a.entry.detail == "runs version 3 → version 1").expect("before and after");
    assert_eq!(rollback.entry.actor, "token:x");

    // Another tenant sees none of it, and cannot change it.
    let b = seller("seller-b");
    store.add_tenant(&b, "Seller B", None, "cli:ops").await.unwrap();
    assert!(store.flow_heads(&b).await.unwrap().is_empty());
    assert!(store.flow_versions(&b, None).await.unwrap().is_empty());
    let other = store.set_flow_head(&b, F1, FlowHeadChange::Pause(true), "token:b").await.unwrap_err();
    assert!(matches!(other, StoreError::NotFound { .. }), "{other:?}");
}

/// Nodes starting together each import the flows folder: one version per text, no error.
async fn nodes_importing_the_same_file_at_once_keep_one_version_and_none_fails<S: Store>(store: S) {
    let t = tenant();
    let mut imports = tokio::task::JoinSet::new();
    for node in 0..6 {
        let (store, t) = (store.clone(), t.clone());
        imports.spawn(async move {
            let text = if node % 2 == 0 { "name: a\n" } else { "name: a\nmap: {}\n" };
            store.add_flow_version(&t, F1, text, "imported from a.yaml", Activate::IfNew, "flows folder").await
        });
    }
    let mut added = Vec::new();
    while let Some(done) = imports.join_next().await {
        let (version, new) = done.unwrap().expect("every node's import succeeds");
        if new {
            added.push(version);
        }
    }
    added.sort();
    assert_eq!(added, vec![1, 2], "each text once, numbered without a gap");
    let kept = store.flow_versions(&t, Some(F1)).await.unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
}

async fn shadow_results_and_samples_are_kept_per_record<S: Store>(store: S) {
    let t = tenant();
    store.add_flow_version(&t, F1, "name: a\n", "file", Activate::IfNew, "flows folder").await.unwrap();
    let at = ferry_model::Timestamp::now();
    for (record, differing) in [("r1", 0u32), ("r2", 2), ("r1", 1), ("r3", 0)] {
        let diff = json!([{ "field": "fields.name", "current": "a", "shadow": record }]).to_string();
        let result = ShadowResult { record: record.into(), differing, diff, at };
        store.put_shadow_result(&t, F1, 2, &result).await.unwrap();
    }
    let report = store.shadow_report(&t, F1, 2, 10).await.unwrap();
    assert_eq!((report.records, report.differing_records), (3, 2), "r1's latest run counts once");
    assert!(report.results[..2].iter().all(|r| r.differing > 0), "differing first: {:?}", report.results);
    assert!(report.results[0].diff.contains("fields.name"));
    assert_eq!(store.shadow_report(&t, F1, 3, 10).await.unwrap().records, 0, "another version's are apart");

    for n in 0..(ferry_store::FLOW_SAMPLES + 3) {
        let sample = FlowSample {
            record: format!("amazon:order:{n}"),
            sample: json!({ "n": n }).to_string(),
            at: at + jiff::SignedDuration::from_secs(n),
        };
        store.put_flow_sample(&t, F1, &sample).await.unwrap();
    }
    let samples = store.flow_samples(&t, F1).await.unwrap();
    assert_eq!(samples.len() as i64, ferry_store::FLOW_SAMPLES, "only the newest are kept");
    assert_eq!(samples[0].record, format!("amazon:order:{}", ferry_store::FLOW_SAMPLES + 2), "newest first");
    assert!(store.flow_samples(&seller("nobody"), F1).await.unwrap().is_empty());
}

async fn a_resumed_flows_waiting_jobs_are_woken_and_others_are_not<S: Store>(store: S) {
    let t = tenant();
    let ids: Vec<_> = store
        .enqueue(&[
            NewJob::new(t.clone(), F1, json!({ "order_id": "1" })),
            NewJob::new(t.clone(), F1, json!({ "order_id": "2" })),
            NewJob::new(t.clone(), "other-flow", json!({ "id": "3" })),
        ])
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let claimed = store.claim("w1", 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let later = ferry_model::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let deferred = |job, why: &str| Completion {
        job,
        outcome: Outcome::Retry {
            run_at: later,
            refund_attempt: true,
            error_kind: "deferred".into(),
            error: why.into(),
        },
        trace: vec![],
    };
    let paused = format!("flow {F1} is paused; its jobs wait until it is resumed");
    store
        .complete(
            "w1",
            &[
                deferred(ids[0], &paused),
                deferred(ids[1], "another job is syncing order 2"),
                deferred(ids[2], "flow other-flow is paused; its jobs wait until it is resumed"),
            ],
        )
        .await
        .unwrap();
    assert!(store.claim("w1", 10, Duration::from_secs(30)).await.unwrap().is_empty(), "all wait an hour");
    assert_eq!(store.wake_paused_jobs(&t, &[F1.to_owned()]).await.unwrap(), 1, "only the paused flow's");
    assert_eq!(store.wake_paused_jobs(&seller("seller-b"), &[F1.to_owned()]).await.unwrap(), 0, "not another tenant's");
    let claimed = store.claim("w1", 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[0]]);
    let twin = store.job(ids[1]).await.unwrap().unwrap();
    assert_eq!(twin.state, JobState::Available, "the twin wait keeps its own time");
}

crate::both_backends!(
    versions_are_numbered_kept_once_and_heads_change_with_an_audit_row,
    nodes_importing_the_same_file_at_once_keep_one_version_and_none_fails,
    shadow_results_and_samples_are_kept_per_record,
    a_resumed_flows_waiting_jobs_are_woken_and_others_are_not,
);
