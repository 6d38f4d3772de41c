//! Jobs about the same record: one at a time across claimers, covered by a run that read the
//! record after they were enqueued, and one dead letter per record.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_store::{Completion, JobId, JobState, NewJob, Outcome, Store};
use serde_json::json;

use super::common::tenant;

fn twin(record: &str, n: u32) -> NewJob {
    NewJob::new(tenant(), "test.flow", json!({ "record": record, "n": n })).record(record)
}

fn covering(job: JobId) -> Completion {
    Completion {
        job,
        outcome: Outcome::Completed { xrefs: Vec::new(), cursor: None, echoes: Vec::new(), covers_earlier: true },
        trace: Vec::new(),
    }
}

fn dead(job: JobId, error: &str, covers_earlier: bool) -> Completion {
    Completion {
        job,
        outcome: Outcome::Dead {
            step: "lookup product".into(),
            error_kind: "permanent".into(),
            error: error.into(),
            covers_earlier,
        },
        trace: Vec::new(),
    }
}

const LEASE: Duration = Duration::from_secs(30);

async fn one_job_per_record_runs_at_a_time<S: Store>(store: S) {
    let ids = store
        .enqueue(&[
            twin("order-1", 1),
            twin("order-1", 2),
            twin("order-2", 1),
            NewJob::new(tenant(), "test.flow", json!({})),
            twin("order-1", 3),
        ])
        .await
        .unwrap();
    let claimed = store.claim("w1", 10, LEASE).await.unwrap();
    let got: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(got, vec![ids[0].unwrap(), ids[2].unwrap(), ids[3].unwrap()], "one job of each record, oldest first");
    assert_eq!(claimed[0].record.as_deref(), Some("order-1"), "the record survives the round trip");
    assert!(store.claim("w2", 10, LEASE).await.unwrap().is_empty(), "order-1's twins wait while it runs");
    // A plain completion covers nothing: the next twin runs, and only it.
    store.complete("w1", &[Completion { job: got[0], outcome: Outcome::done(), trace: Vec::new() }]).await.unwrap();
    let next = store.claim("w2", 10, LEASE).await.unwrap();
    assert_eq!(next.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[1].unwrap()]);
}

async fn a_run_covers_what_was_enqueued_before_its_claim<S: Store>(store: S) {
    let before: Vec<JobId> = store
        .enqueue(&(0..50).map(|n| twin("order-1", n)).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let running = store.claim("w1", 10, LEASE).await.unwrap();
    assert_eq!(running.len(), 1);
    // Arrives while the run reads the record: it may carry a newer change.
    let after = store.enqueue(&[twin("order-1", 99)]).await.unwrap()[0].unwrap();
    assert_eq!(store.complete("w1", &[covering(running[0].id)]).await.unwrap(), vec![true]);
    for id in &before[1..] {
        let j = store.job(*id).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Completed, "job {id} enqueued before the claim is covered");
        assert_eq!(j.last_error_kind.as_deref(), Some("covered"));
        assert!(j.last_error.as_deref().unwrap_or_default().contains(&running[0].id.to_string()), "{j:?}");
    }
    let trace = store.runs_for_job(running[0].id).await.unwrap();
    assert_eq!(trace.len(), 1, "one trace line for the covered jobs, not one each: {trace:?}");
    assert!(trace[0].message.starts_with("49 earlier job(s)"), "{}", trace[0].message);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.completed, stats.ready), (50, 1), "{stats:?}");
    let last = store.claim("w1", 10, LEASE).await.unwrap();
    assert_eq!(last.iter().map(|j| j.id).collect::<Vec<_>>(), vec![after], "the later job still runs, once");
    store.complete("w1", &[covering(after)]).await.unwrap();
    assert!(store.claim("w1", 10, LEASE).await.unwrap().is_empty());
}

async fn a_record_has_one_dead_letter<S: Store>(store: S) {
    // A run that read the record and gave up covers its waiting twins.
    store.enqueue(&(0..5).map(|n| twin("order-1", n)).collect::<Vec<_>>()).await.unwrap();
    let first = store.claim("w1", 10, LEASE).await.unwrap().remove(0);
    store.complete("w1", &[dead(first.id, "unknown SKU 'X-1'", true)]).await.unwrap();
    assert!(store.claim("w1", 10, LEASE).await.unwrap().is_empty(), "the covered twins do not run");
    // A run that did not cover (it used a copy its job carried): the twins run, and one that
    // gives up too updates the record's dead letter, which then replays the newest payload.
    store.enqueue(&(0..3).map(|n| twin("order-2", n)).collect::<Vec<_>>()).await.unwrap();
    for n in 0..3 {
        let j = store.claim("w1", 10, LEASE).await.unwrap().remove(0);
        store.complete("w1", &[dead(j.id, &format!("unknown SKU 'Y-{n}'"), false)]).await.unwrap();
    }
    let letters = store.dead_letters(&tenant(), true, 10).await.unwrap();
    assert_eq!(letters.len(), 2, "one dead letter per record: {letters:?}");
    let two = letters.iter().find(|d| d.payload.contains("order-2")).expect("order-2's dead letter");
    assert_eq!(two.error, "unknown SKU 'Y-2'", "the newest failure");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&two.payload).unwrap()["n"], 2);
    let replay = store.replay_dead_letter(&tenant(), two.id, None, "ops").await.unwrap();
    assert_eq!(
        store.job(replay).await.unwrap().unwrap().record.as_deref(),
        Some("order-2"),
        "a replay keeps the record"
    );
    // Once replayed, the record's next failure is a new dead letter.
    let j = store.claim("w1", 10, LEASE).await.unwrap().remove(0);
    assert_eq!(j.id, replay);
    store.complete("w1", &[dead(j.id, "still unknown", false)]).await.unwrap();
    assert_eq!(store.dead_letters(&tenant(), true, 10).await.unwrap().len(), 2);
    assert_eq!(store.dead_letters(&tenant(), false, 10).await.unwrap().len(), 3);
}

/// Claimers racing over twins of a few records never hold two jobs of one record at once.
async fn racing_claimers_never_run_twins_together<S: Store>(store: S) {
    let jobs: Vec<NewJob> = (0..10).flat_map(|r| (0..20).map(move |n| twin(&format!("order-{r}"), n))).collect();
    store.enqueue(&jobs).await.unwrap();
    let running: Arc<Mutex<HashMap<String, JobId>>> = Arc::default();
    let mut handles = Vec::new();
    for w in 0..6 {
        let (s, running) = (store.clone(), running.clone());
        handles.push(tokio::spawn(async move {
            let owner = format!("w{w}");
            let mut ran = Vec::new();
            let mut idle = 0;
            while idle < 20 {
                let got = s.claim(&owner, 3, LEASE).await.unwrap();
                if got.is_empty() {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                idle = 0;
                for j in &got {
                    let record = j.record.clone().unwrap();
                    let other = running.lock().unwrap().insert(record.clone(), j.id);
                    assert_eq!(other, None, "{record}: job {} claimed while another ran", j.id);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
                for j in &got {
                    running.lock().unwrap().remove(j.record.as_deref().unwrap());
                }
                // Plain completions: every twin must run (serially).
                let done: Vec<Completion> =
                    got.iter().map(|j| Completion { job: j.id, outcome: Outcome::done(), trace: Vec::new() }).collect();
                assert!(s.complete(&owner, &done).await.unwrap().iter().all(|a| *a));
                ran.extend(got.into_iter().map(|j| j.id));
            }
            ran
        }));
    }
    let mut seen = HashSet::new();
    for h in handles {
        for id in h.await.unwrap() {
            assert!(seen.insert(id), "job {id} ran twice");
        }
    }
    assert_eq!(seen.len(), 200, "every twin ran once");
}

crate::both_backends!(
    one_job_per_record_runs_at_a_time,
    a_run_covers_what_was_enqueued_before_its_claim,
    a_record_has_one_dead_letter,
    racing_claimers_never_run_twins_together,
);
