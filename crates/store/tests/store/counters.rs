//! The hourly counters the console reads (finished jobs per flow and hour, and their latency
//! buckets) agree with the jobs through every way a job finishes, is replayed or is purged,
//! and the migration that adds them counts the jobs finished before it. A record is found by
//! each of its ids.

use std::time::Duration;

use ferry_store::testing::{FLOW_COUNTS_FROM_JOBS, FLOW_COUNTS_STORED};
use ferry_store::{
    Completion, JobId, NewJob, Outcome, PgStore, RunRecord, SqliteStore, Store, TenantId, Xref, XrefKey,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::common::tenant;

const LEASE: Duration = Duration::from_secs(60);

type CountRow = (String, String, i64, String, i64);

/// Raw SQL beside the store: the counters as stored and as counted from the jobs.
trait Raw: Store {
    async fn rows(&self, sql: &str) -> Vec<CountRow>;
    async fn exec(&self, sql: &str);
    async fn recount(&self);
}

impl Raw for SqliteStore {
    async fn rows(&self, sql: &str) -> Vec<CountRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{sql} ORDER BY 1, 2, 3, 4")))
            .fetch_all(self.pool())
            .await
            .expect("read counters")
    }
    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(self.pool()).await.expect("raw statement");
    }
    async fn recount(&self) {
        ferry_store::testing::recount_flow_counts_sqlite(self.pool()).await;
    }
}

impl Raw for PgStore {
    async fn rows(&self, sql: &str) -> Vec<CountRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{sql} ORDER BY 1, 2, 3, 4")))
            .fetch_all(self.pool())
            .await
            .expect("read counters")
    }
    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(self.pool()).await.expect("raw statement");
    }
    async fn recount(&self) {
        ferry_store::testing::recount_flow_counts_pg(self.pool()).await;
    }
}

/// The counters hold exactly what counting the jobs gives, kind by kind and hour by hour.
async fn assert_agree<S: Raw>(store: &S, when: &str) {
    let stored = store.rows(FLOW_COUNTS_STORED).await;
    let counted = store.rows(FLOW_COUNTS_FROM_JOBS).await;
    assert_eq!(stored, counted, "{when}: the hourly counters differ from the jobs");
}

fn other() -> TenantId {
    "other".parse().unwrap()
}

fn done() -> Outcome {
    Outcome::done()
}

fn covering() -> Outcome {
    Outcome::Completed { xrefs: Vec::new(), cursor: None, echoes: Vec::new(), covers_earlier: true }
}

fn outcome(job: JobId, outcome: Outcome) -> Completion {
    Completion { job, outcome, trace: Vec::new() }
}

async fn claim_all<S: Store>(store: &S, n: usize) -> Vec<ferry_store::Job> {
    let mut claimed = Vec::new();
    while claimed.len() < n {
        let got = store.claim("w", 100, LEASE).await.unwrap();
        assert!(!got.is_empty(), "claimed {} of {n} jobs", claimed.len());
        claimed.extend(got);
    }
    claimed
}

/// Completed, covered and dead jobs of the tenant per flow, summed over the hours since `since`.
async fn finished<S: Store>(store: &S, t: &TenantId, flow: &str, since: Timestamp) -> (u64, u64, u64) {
    let rows = store.flow_hourly_counts(t, since).await.unwrap();
    rows.iter().filter(|r| r.flow == flow).fold((0, 0, 0), |(c, v, d), r| (c + r.completed, v + r.covered, d + r.dead))
}

async fn latency_count<S: Store>(store: &S, t: &TenantId, flow: &str, since: Timestamp) -> u64 {
    store.flow_latency(t, since).await.unwrap().iter().filter(|l| l.flow == flow).map(|l| l.count()).sum()
}

async fn counters_agree_with_the_jobs_through_every_outcome<S: Raw>(store: S) {
    let (t, o) = (tenant(), other());
    store.ensure_tenant(&o, "Other").await.unwrap();
    let since = Timestamp::now() - SignedDuration::from_hours(1);

    // Two flows, two tenants: plain completions (one batch statement), a completion with a
    // trace (one by one), a retry, a release and dead letters, in one batch.
    let mut jobs: Vec<NewJob> = (0..7).map(|n| NewJob::new(t.clone(), "orders", json!({ "n": n }))).collect();
    jobs.extend((0..3).map(|n| NewJob::new(t.clone(), "fees", json!({ "n": n }))));
    jobs.extend((0..2).map(|n| NewJob::new(o.clone(), "orders", json!({ "n": n }))));
    store.enqueue(&jobs).await.unwrap();
    let claimed = claim_all(&store, jobs.len()).await;
    let of = |tenant: &TenantId, flow: &str| -> Vec<JobId> {
        let mut ids: Vec<JobId> =
            claimed.iter().filter(|j| &j.tenant == tenant && j.flow == flow).map(|j| j.id).collect();
        ids.sort();
        ids
    };
    let (orders, fees, others) = (of(&t, "orders"), of(&t, "fees"), of(&o, "orders"));
    // Their latencies, from creation to completion, are 6 s and what the test itself takes:
    // in the 5-10 s bucket.
    store.exec("UPDATE jobs SET created_at = created_at - 6000000").await;
    let traced = Completion {
        job: orders[3],
        outcome: done(),
        trace: vec![RunRecord {
            record: "amazon:order:111-0000000-0000001".into(),
            step: "write".into(),
            outcome: "ok".into(),
            message: "written".into(),
            at: Timestamp::now(),
        }],
    };
    let retry = Outcome::Retry {
        run_at: Timestamp::now(),
        refund_attempt: false,
        error_kind: "transient".into(),
        error: "timed out".into(),
    };
    let batch = vec![
        outcome(orders[0], done()),
        outcome(orders[1], done()),
        outcome(orders[2], done()),
        traced,
        outcome(orders[4], retry),
        outcome(orders[5], Outcome::Release),
        Completion::dead(orders[6], "write", "permanent", "refused"),
        outcome(fees[0], done()),
        outcome(fees[1], done()),
        Completion::dead(fees[2], "write", "permanent", "refused"),
        outcome(others[0], done()),
        outcome(others[1], done()),
    ];
    assert!(store.complete("w", &batch).await.unwrap().iter().all(|&a| a));
    assert_agree(&store, "after a batch of every outcome").await;
    let q = store.queue_stats_of(Some(&t)).await.unwrap();
    assert_eq!((q.ready, q.running, q.completed, q.dead), (2, 0, 6, 2), "{q:?}");
    assert_eq!(store.queue_stats_of(Some(&o)).await.unwrap().completed, 2);
    let all = store.queue_stats().await.unwrap();
    assert_eq!((all.completed, all.dead, all.dead_letters_open), (8, 2, 2), "{all:?}");
    assert_eq!(finished(&store, &t, "orders", since).await, (4, 0, 1));
    assert_eq!(finished(&store, &t, "fees", since).await, (2, 0, 1));
    assert_eq!(latency_count(&store, &t, "orders", since).await, 4, "one latency per completed job");

    // The retried and the released job run again and complete, late: their latency is
    // counted from when they were created, moved back by 40 s and 2 h here.
    let again = claim_all(&store, 2).await;
    for (job, ago) in again.iter().zip([40_000_000i64, 7_200_000_000]) {
        store.exec(&format!("UPDATE jobs SET created_at = created_at - {ago} WHERE id = {}", job.id)).await;
    }
    let batch: Vec<Completion> = again.iter().map(|j| outcome(j.id, done())).collect();
    store.complete("w", &batch).await.unwrap();
    assert_agree(&store, "after the retried and released jobs completed").await;
    let latency = store.flow_latency(&t, since).await.unwrap();
    let orders_latency = latency.iter().find(|l| l.flow == "orders").expect("orders latency");
    assert_eq!(orders_latency.count(), 6);
    assert_eq!(orders_latency.buckets.iter().filter(|&&n| n > 0).count(), 3, "{orders_latency:?}");
    assert_eq!(orders_latency.quantile_under_ms(0.5), Some(10_000), "four of six took 6 s: under 10 s");
    assert_eq!(orders_latency.quantile_under_ms(0.8), Some(60_000), "the fifth 46 s: under a minute");
    assert_eq!(orders_latency.quantile_under_ms(0.99), Some(10_800_000), "the slowest two hours: under 3 h");

    // Record coalescing: a run covers its record's earlier jobs, a dead run too.
    let r1: Vec<NewJob> = (0..3).map(|n| NewJob::new(t.clone(), "orders", json!({ "r": n })).record("r1")).collect();
    let r2: Vec<NewJob> = (0..2).map(|n| NewJob::new(t.clone(), "orders", json!({ "r": n })).record("r2")).collect();
    store.enqueue(&r1).await.unwrap();
    store.enqueue(&r2).await.unwrap();
    let runs = store.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(runs.len(), 2, "one job per record");
    let by_record = |r: &str| runs.iter().find(|j| j.record.as_deref() == Some(r)).unwrap().id;
    let dead_covering = Outcome::Dead {
        step: "read".into(),
        error_kind: "permanent".into(),
        error: "gone".into(),
        covers_earlier: true,
    };
    store
        .complete("w", &[outcome(by_record("r1"), covering()), outcome(by_record("r2"), dead_covering)])
        .await
        .unwrap();
    assert_agree(&store, "after covering runs").await;
    assert_eq!(finished(&store, &t, "orders", since).await, (7, 3, 2));
    let q = store.queue_stats_of(Some(&t)).await.unwrap();
    assert_eq!((q.ready, q.completed, q.dead), (0, 12, 3), "covered jobs are completed ones: {q:?}");

    // A replay is a new job; the dead one stays dead.
    let letters = store.dead_letters(&t, true, 10).await.unwrap();
    let orders_letter = letters.iter().find(|d| d.job == orders[6]).expect("the orders dead letter");
    store.replay_dead_letter(&t, orders_letter.id, None, "test").await.unwrap();
    let replayed = claim_all(&store, 1).await;
    store.complete("w", &[outcome(replayed[0].id, done())]).await.unwrap();
    assert_agree(&store, "after a replay").await;
    let q = store.queue_stats_of(Some(&t)).await.unwrap();
    assert_eq!((q.completed, q.dead, q.dead_letters_open), (13, 3, 2), "{q:?}");

    // A purge of everything finished keeps the dead jobs that open dead letters name.
    let fees_letter = letters.iter().find(|d| d.job == fees[2]).expect("the fees dead letter");
    store.discard_dead_letter(&t, fees_letter.id, "test").await.unwrap();
    let purged = store.purge(&t, Timestamp::now() + SignedDuration::from_hours(1)).await.unwrap();
    assert_eq!(purged.jobs, 15, "{purged:?}");
    assert_agree(&store, "after a purge").await;
    let q = store.queue_stats_of(Some(&t)).await.unwrap();
    assert_eq!((q.completed, q.dead, q.dead_letters_open), (0, 1, 1), "{q:?}");
    assert_eq!(finished(&store, &t, "orders", since).await, (0, 0, 1), "r2's open dead letter keeps its job");
    assert_eq!(finished(&store, &t, "fees", since).await, (0, 0, 0));
    assert!(store.flow_latency(&t, since).await.unwrap().iter().all(|l| l.count() == 0));
    assert_eq!(store.queue_stats_of(Some(&o)).await.unwrap().completed, 2, "another tenant's purge left these");

    // A purge by age takes the hours before the cutoff and leaves the later ones.
    let jobs: Vec<NewJob> = (0..3).map(|n| NewJob::new(t.clone(), "fees", json!({ "late": n }))).collect();
    store.enqueue(&jobs).await.unwrap();
    let claimed = claim_all(&store, 3).await;
    let batch: Vec<Completion> = claimed.iter().map(|j| outcome(j.id, done())).collect();
    store.complete("w", &batch).await.unwrap();
    let two_days_ago = (Timestamp::now() - SignedDuration::from_hours(48)).as_microsecond();
    let (first, second) = (claimed[0].id, claimed[1].id);
    store
        .exec(&format!(
            "UPDATE jobs SET created_at = {two_days_ago} - 1000, updated_at = {two_days_ago} WHERE id IN ({first}, {second})"
        ))
        .await;
    store.recount().await;
    let week = Timestamp::now() - SignedDuration::from_hours(7 * 24);
    assert_eq!(finished(&store, &t, "fees", week).await, (3, 0, 0));
    let purged = store.purge(&t, Timestamp::now() - SignedDuration::from_hours(24)).await.unwrap();
    assert_eq!(purged.jobs, 2);
    assert_agree(&store, "after a purge by age").await;
    assert_eq!(finished(&store, &t, "fees", week).await, (1, 0, 0));
    assert_eq!(store.queue_stats_of(Some(&t)).await.unwrap().completed, 1);
}

/// The migration counts what finished before it, as the store would have.
async fn the_migration_counts_jobs_finished_before_it<S: Raw>(store: S) {
    let t = tenant();
    let jobs: Vec<NewJob> = (0..6).map(|n| NewJob::new(t.clone(), "orders", json!({ "n": n }))).collect();
    store.enqueue(&jobs).await.unwrap();
    let twins: Vec<NewJob> = (0..2).map(|n| NewJob::new(t.clone(), "orders", json!({ "r": n })).record("r")).collect();
    store.enqueue(&twins).await.unwrap();
    let claimed = claim_all(&store, 7).await;
    // Latencies across the buckets, from milliseconds to more than a day.
    let ago = [3, 45, 1_200, 7_200, 200_000, 0, 0];
    for (job, secs) in claimed.iter().zip(ago) {
        let created = (Timestamp::now() - SignedDuration::from_secs(secs)).as_microsecond();
        store.exec(&format!("UPDATE jobs SET created_at = {created} WHERE id = {}", job.id)).await;
    }
    let mut batch: Vec<Completion> = claimed[..5].iter().map(|j| outcome(j.id, done())).collect();
    batch.push(Completion::dead(claimed[5].id, "write", "permanent", "refused"));
    let twin = claimed.iter().find(|j| j.record.is_some()).unwrap();
    batch.push(outcome(twin.id, covering()));
    store.complete("w", &batch).await.unwrap();
    let live = store.rows(FLOW_COUNTS_STORED).await;
    assert!(live.iter().any(|r| r.3 == "covered") && live.iter().any(|r| r.3 == "lat20"), "{live:?}");
    assert_agree(&store, "before the migration runs again").await;

    store
        .exec(
            "DROP TABLE flow_counts; DROP INDEX runs_by_record_id; DROP INDEX xref_by_source_id; \
             DROP INDEX xref_by_target_id; DELETE FROM ferry_migrations WHERE version = 13",
        )
        .await;
    store.migrate().await.unwrap();
    assert_eq!(store.rows(FLOW_COUNTS_STORED).await, live, "the migration counted the jobs as the store did");
}

/// Every kind of id a record has finds it: the Amazon order id, the CRM order's id, the
/// fulfilment order id, each key whole; a longer id that ends the same does not, nor
/// another tenant's record.
async fn a_record_is_found_by_each_of_its_ids<S: Store>(store: S) {
    let (t, o) = (tenant(), other());
    store.ensure_tenant(&o, "Other").await.unwrap();
    let order = "113-0000000-7654321";
    let crm = "7f0c6d1e-0000-4000-8000-000000000001";
    let fulfilment = "FBA-113-0000000-7654321";
    let records = [
        ("orders", format!("amazon:order:{order}")),
        ("crm-to-fba", format!("dataverse:salesorder:{crm}")),
        ("fba-status", format!("amazon:fulfillmentorder:{fulfilment}")),
        ("orders", "amazon:order:9113-0000000-7654321".to_owned()),
        ("orders", "plain-key".to_owned()),
    ];
    for (flow, record) in &records {
        store.enqueue(&[NewJob::new(t.clone(), *flow, json!({}))]).await.unwrap();
        let job = claim_all(&store, 1).await.remove(0);
        let trace = vec![RunRecord {
            record: record.clone(),
            step: "write".into(),
            outcome: "ok".into(),
            message: "written".into(),
            at: Timestamp::now(),
        }];
        store.complete("w", &[Completion { job: job.id, outcome: done(), trace }]).await.unwrap();
    }
    // Another tenant's trace of the same order.
    store.enqueue(&[NewJob::new(o.clone(), "orders", json!({}))]).await.unwrap();
    let job = claim_all(&store, 1).await.remove(0);
    let trace = vec![RunRecord {
        record: format!("amazon:order:{order}"),
        step: "write".into(),
        outcome: "ok".into(),
        message: "other".into(),
        at: Timestamp::now(),
    }];
    store.complete("w", &[Completion { job: job.id, outcome: done(), trace }]).await.unwrap();
    let xref =
        |source_system: &str, source_entity: &str, source: &str, target_system: &str, target_entity: &str| Xref {
            key: XrefKey {
                tenant: t.clone(),
                source_system: source_system.into(),
                source_entity: source_entity.into(),
                source_id: source.into(),
                target_system: target_system.into(),
                target_entity: target_entity.into(),
            },
            target_id: String::new(),
        };
    let mut to_crm = xref("amazon", "order", order, "dataverse", "salesorder");
    to_crm.target_id = crm.into();
    let mut to_fba = xref("dataverse", "salesorder", crm, "amazon", "fulfillmentorder");
    to_fba.target_id = fulfilment.into();
    store.put_xref(&to_crm).await.unwrap();
    store.put_xref(&to_fba).await.unwrap();

    let found = |id: &'static str| {
        let store = store.clone();
        let t = t.clone();
        async move {
            let runs = store.record_runs(&t, id, 100).await.unwrap();
            let mut records: Vec<String> = runs.iter().map(|r| r.run.record.clone()).collect();
            records.dedup();
            let links = store.xrefs_of(&t, id).await.unwrap().len();
            (records, links)
        }
    };
    assert_eq!(found(order).await, (vec![format!("amazon:order:{order}")], 1), "by the Amazon order id");
    assert_eq!(found(crm).await, (vec![format!("dataverse:salesorder:{crm}")], 2), "by the CRM order's id");
    assert_eq!(
        found(fulfilment).await,
        (vec![format!("amazon:fulfillmentorder:{fulfilment}")], 1),
        "by the fulfilment order id"
    );
    assert_eq!(found("amazon:order:113-0000000-7654321").await.0.len(), 1, "by the whole key");
    assert_eq!(found("order:113-0000000-7654321").await.0.len(), 1, "by the end of the key");
    assert_eq!(found("plain-key").await.0, vec!["plain-key".to_owned()], "a key without parts");
    assert_eq!(found("0000000-7654321").await, (Vec::new(), 0), "part of an id is not the id");
    assert_eq!(found("7654321").await, (Vec::new(), 0));
    assert_eq!(store.record_runs(&o, order, 100).await.unwrap().len(), 1, "the other tenant's own only");
}

/// The record search reads its index, not every trace row (SQLite's plan; PostgreSQL's
/// depends on its statistics).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_search_is_an_index_lookup_sqlite() {
    let (store, _dir) = super::common::sqlite().await;
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT job_id, flow, record, step, outcome, message, at FROM runs \
         WHERE tenant_id = 'default' AND substr(record, length(rtrim(record, replace(record, ':', ''))) + 1) = 'x' \
         AND (record = 'x' OR substr(record, length(record) - length('x')) = ':' || 'x') ORDER BY id LIMIT 10",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let plan: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
    assert!(plan.iter().any(|p| p.contains("USING INDEX runs_by_record_id")), "{plan:?}");
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT * FROM xref WHERE tenant_id = 'default' AND (source_id = 'x' OR target_id = 'x')",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let plan: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
    assert!(plan.iter().all(|p| !p.starts_with("SCAN xref")), "{plan:?}");
}

crate::both_backends!(
    counters_agree_with_the_jobs_through_every_outcome,
    the_migration_counts_jobs_finished_before_it,
    a_record_is_found_by_each_of_its_ids,
);
