//! Anomaly flags: a flow that stops at a busy hour, a failure-rate spike and a fee far above
//! its usual amount are flagged in words; quiet hours, single failures, steady fees and
//! series with too little history are not. The store-backed half runs on SQLite and
//! PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_console::anomaly::{
    self, Direction, FlowRules, MoneyKey, Observation, Rules, Severity, Subject, Verdict, assess, flag_flows,
    scan_money,
};
use ferry_store::testing::TempDir;
use ferry_store::{Completion, FlowHourCount, NewJob, Outcome, PgStore, SqliteStore, Store, TenantId};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use serde_json::json;

fn at(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

/// A Monday: the last complete hour at 11:20 is 10:00–11:00.
const NOW: &str = "2026-03-09T11:20:00Z";
const TARGET: &str = "2026-03-09T10:00:00Z";

/// A flow's hourly rows from `first` to `last` inclusive, as the store returns them (hours that
/// finished nothing have no row).
fn flow_rows(flow: &str, first: Timestamp, last: Timestamp, f: impl Fn(Timestamp) -> (u64, u64)) -> Vec<FlowHourCount> {
    let mut rows = Vec::new();
    let mut h = first;
    while h <= last {
        let (completed, dead) = f(h);
        if completed + dead > 0 {
            rows.push(FlowHourCount { flow: flow.into(), hour: h, completed, covered: 0, dead });
        }
        h = h.checked_add(hours(1)).unwrap();
    }
    rows
}

/// Orders by day (08:00–18:00): 40, 42, 44 or 42 an hour depending on the week; a few in the
/// evening; 0 or 1 at night.
fn orders_pattern(h: Timestamp) -> u64 {
    let week = h.as_second().div_euclid(7 * 86_400).rem_euclid(4) as usize;
    match h.to_zoned(TimeZone::UTC).hour() {
        8..18 => [40, 42, 44, 42][week],
        18..22 => 5,
        _ => (week % 2) as u64,
    }
}

/// Five weeks of the orders flow up to the hour before `target`, then `now_count` at `target`.
fn orders_flow(target: Timestamp, now_count: u64) -> Vec<FlowHourCount> {
    let first = target.checked_sub(hours(5 * 7 * 24)).unwrap();
    flow_rows(
        "amazon-orders-to-crm",
        first,
        target,
        |h| {
            if h == target { (now_count, 0) } else { (orders_pattern(h), 0) }
        },
    )
}

#[test]
fn a_flow_that_stops_at_a_busy_hour_is_flagged_in_words() {
    let flags = flag_flows(&orders_flow(at(TARGET), 0), at(NOW), &FlowRules::default());
    assert_eq!(flags.len(), 1, "{flags:#?}");
    let f = &flags[0];
    assert_eq!(f.subject, Subject::FlowVolume { flow: "amazon-orders-to-crm".into() });
    assert_eq!(f.at, at(TARGET), "the last complete hour is judged");
    assert_eq!((f.observed, f.median, f.direction), (Decimal::ZERO, Decimal::from(42), Direction::Below));
    assert_eq!(f.severity, Severity::Critical, "0 against 42 ± 4 is far out: {f:?}");
    assert_eq!(f.baseline.observations, 4, "the same hour on each of the last 4 weeks");
    assert_eq!(
        f.explain(),
        "flow amazon-orders-to-crm had 0 records on Monday 2026-03-09 between 10:00 and 11:00 UTC; \
         on Mondays at that hour it usually has 42 (median of 4 weeks)"
    );
    assert_eq!(f.dedupe_key(), "volume:amazon-orders-to-crm@2026-03-09T10:00:00Z");
    // What the dashboard and alerts receive.
    let v = serde_json::to_value(f).unwrap();
    assert_eq!(v["subject"], json!({ "kind": "flow_volume", "flow": "amazon-orders-to-crm" }));
    assert_eq!((&v["observed"], &v["median"], &v["direction"]), (&json!("0"), &json!("42"), &json!("below")));

    // The same hour at its usual figure, and a little low, is not an anomaly.
    for usual in [42, 40, 36] {
        let flags = flag_flows(&orders_flow(at(TARGET), usual), at(NOW), &FlowRules::default());
        assert!(flags.is_empty(), "{usual} records at a usual 42: {flags:#?}");
    }
    // Ten times the usual is, upwards.
    let flags = flag_flows(&orders_flow(at(TARGET), 420), at(NOW), &FlowRules::default());
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].direction, Direction::Above);
    assert!(flags[0].explain().starts_with("flow amazon-orders-to-crm had 420 records (10.0× the usual) on Monday"));
}

#[test]
fn hours_are_read_in_the_rules_time_zone() {
    let zone = TimeZone::fixed(Offset::constant(1));
    let rules = FlowRules { volume: Rules { time_zone: zone, ..Rules::volume() }, ..FlowRules::default() };
    let flags = flag_flows(&orders_flow(at(TARGET), 0), at(NOW), &rules);
    assert_eq!(flags.len(), 1, "{flags:#?}");
    assert_eq!(
        flags[0].explain(),
        "flow amazon-orders-to-crm had 0 records on Monday 2026-03-09 between 11:00 and 12:00 UTC+01:00; \
         on Mondays at that hour it usually has 42 (median of 4 weeks)"
    );
}

#[test]
fn a_quiet_hour_that_is_usually_quiet_is_not_flagged() {
    // Monday 03:00: 0 or 1 record on each of the last 4 Mondays.
    let target = at("2026-03-09T03:00:00Z");
    let now = at("2026-03-09T04:05:00Z");
    for n in [0, 1, 2] {
        let flags = flag_flows(&orders_flow(target, n), now, &FlowRules::default());
        assert!(flags.is_empty(), "{n} records at a usually quiet hour: {flags:#?}");
    }
    // A burst at that hour is flagged upwards (no ratio against a median of 0.5).
    let flags = flag_flows(&orders_flow(target, 60), now, &FlowRules::default());
    assert_eq!(flags.len(), 1, "{flags:#?}");
    assert_eq!(flags[0].direction, Direction::Above);
    assert_eq!(
        flags[0].explain(),
        "flow amazon-orders-to-crm had 60 records (120.0× the usual) on Monday 2026-03-09 between 03:00 and 04:00 UTC; \
         on Mondays at that hour it usually has 0.5 (median of 4 weeks)"
    );
}

/// 100 jobs an hour around the clock, 0–2 of them dead (a usual 1%), for four weeks.
fn fba_flow(target: Timestamp, finished: u64, dead: u64) -> Vec<FlowHourCount> {
    let first = target.checked_sub(hours(29 * 24)).unwrap();
    flow_rows("crm-orders-to-fba", first, target, |h| {
        if h == target {
            (finished - dead, dead)
        } else {
            let d = [1, 1, 0, 2, 1][(h.as_second() / 3600).rem_euclid(5) as usize];
            (100 - d, d)
        }
    })
}

#[test]
fn a_failure_rate_spike_is_flagged_in_words() {
    let flags = flag_flows(&fba_flow(at(TARGET), 100, 35), at(NOW), &FlowRules::default());
    assert_eq!(flags.len(), 1, "the volume is as usual, only the failures are not: {flags:#?}");
    let f = &flags[0];
    assert_eq!(f.subject, Subject::FailureRate { flow: "crm-orders-to-fba".into() });
    assert_eq!((f.observed, f.median), (dec("0.35"), dec("0.01")));
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.explain(),
        "failure rate of flow crm-orders-to-fba was 35% on Monday 2026-03-09 between 10:00 and 11:00 UTC \
         (35 of 100 jobs dead-lettered) against a usual 1% (median of 672 hours with jobs in 28 days)"
    );
    // A few more failures than usual are not.
    assert!(flag_flows(&fba_flow(at(TARGET), 100, 3), at(NOW), &FlowRules::default()).is_empty());
}

#[test]
fn a_single_failure_at_a_low_volume_hour_is_not_flagged() {
    // A flow that runs a couple of jobs an hour and never fails.
    let target = at("2026-03-09T03:00:00Z");
    let now = at("2026-03-09T04:05:00Z");
    let quiet = |dead: u64| {
        flow_rows("crm-orders-to-fba", target.checked_sub(hours(29 * 24)).unwrap(), target, |h| {
            if h == target { (2 - dead, dead) } else { (2, 0) }
        })
    };
    for dead in [1, 2] {
        let flags = flag_flows(&quiet(dead), now, &FlowRules::default());
        assert!(flags.is_empty(), "{dead} of 2 jobs failing at 3 a.m.: {flags:#?}");
    }
    // It is the minimum count of failures that holds it back: without it, 1 of 2 flags.
    let eager = FlowRules { min_failures: 1, ..FlowRules::default() };
    let flags = flag_flows(&quiet(1), now, &eager);
    assert_eq!(flags.len(), 1);
    assert!(flags[0].explain().starts_with("failure rate of flow crm-orders-to-fba was 50%"), "{}", flags[0]);
    // Three failures among a few jobs are worth a flag.
    let three = flow_rows("crm-orders-to-fba", target.checked_sub(hours(29 * 24)).unwrap(), target, |h| {
        if h == target { (1, 3) } else { (4, 0) }
    });
    let flags = flag_flows(&three, now, &FlowRules::default());
    assert_eq!(flags.len(), 1, "{flags:#?}");
    assert!(flags[0].explain().contains("75% on Monday"), "{}", flags[0]);
    assert!(flags[0].explain().contains("(3 of 4 jobs dead-lettered) against a usual 0%"), "{}", flags[0]);
}

#[test]
fn a_new_flow_has_not_enough_history_to_be_flagged() {
    // Ten days of the orders flow: one earlier Monday at 10:00, where four are needed.
    let target = at(TARGET);
    let rows = flow_rows("amazon-orders-to-crm", target.checked_sub(hours(10 * 24)).unwrap(), target, |h| {
        if h == target { (0, 0) } else { (orders_pattern(h), 0) }
    });
    assert!(flag_flows(&rows, at(NOW), &FlowRules::default()).is_empty());
    let history: Vec<Observation> = rows.iter().map(|r| Observation::count(r.hour, r.completed)).collect();
    assert_eq!(
        assess(&history, Observation::count(target, 0), &Rules::volume()),
        Verdict::NotEnoughHistory { have: 1, need: 4 }
    );
}

fn fba_fee(sku: &str) -> MoneyKey {
    MoneyKey { field: "FBA fee".into(), per: "SKU".into(), key: sku.into(), currency: "USD".into() }
}

/// `amounts` one every two days, the last two days before `now`.
fn every_other_day(now: Timestamp, amounts: &[&str]) -> Vec<Observation> {
    let n = amounts.len() as i64;
    amounts
        .iter()
        .enumerate()
        .map(|(i, a)| Observation::new(now.checked_sub(hours(48 * (n - i as i64))).unwrap(), dec(a)))
        .collect()
}

#[test]
fn a_fee_far_above_its_median_is_flagged_with_the_ratio() {
    let now = at(NOW);
    let mut series = BTreeMap::new();
    let mut mug =
        every_other_day(now, &["2.10", "2.05", "2.15", "2.10", "2.10", "2.05", "2.15", "2.10", "2.10", "2.05"]);
    mug.push(Observation::new(now.checked_sub(hours(2)).unwrap(), dec("7.14")));
    series.insert(fba_fee("B07-MUG-12"), mug);
    let mut steady = every_other_day(now, &["2.40", "2.45", "2.40", "2.35", "2.40", "2.40", "2.45"]);
    steady.push(Observation::new(now.checked_sub(hours(3)).unwrap(), dec("2.45")));
    series.insert(fba_fee("B07-MUG-24"), steady);

    let flags = scan_money(&series, now);
    assert_eq!(flags.len(), 1, "{flags:#?}");
    let f = &flags[0];
    assert_eq!(f.subject, Subject::Money(fba_fee("B07-MUG-12")));
    assert_eq!((f.ratio, f.direction, f.severity), (Some(dec("3.40")), Direction::Above, Severity::Critical));
    assert_eq!(f.explain(), "FBA fee for SKU B07-MUG-12 is 3.4× its 30-day median (median 2.10 USD, now 7.14 USD)");
    assert_eq!(serde_json::to_value(f).unwrap()["subject"]["key"], "B07-MUG-12");

    // A day later the 7.14 is no longer new: it is history, and nothing is flagged.
    assert!(scan_money(&series, now.checked_add(hours(24)).unwrap()).is_empty());
    // A fee far below its median is flagged too.
    let mut low = every_other_day(now, &["2.10", "2.05", "2.15", "2.10", "2.10", "2.05"]);
    low.push(Observation::new(now.checked_sub(hours(1)).unwrap(), dec("0.42")));
    let flags = scan_money(&BTreeMap::from([(fba_fee("B07-MUG-12"), low)]), now);
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].direction, Direction::Below);
    assert_eq!(
        flags[0].explain(),
        "FBA fee for SKU B07-MUG-12 is 0.2× its 30-day median (median 2.10 USD, now 0.42 USD)"
    );
}

#[test]
fn too_little_history_flags_nothing() {
    let now = at(NOW);
    let mut fee = every_other_day(now, &["2.10", "2.10", "2.15", "2.05"]);
    fee.push(Observation::new(now.checked_sub(hours(1)).unwrap(), dec("7.14")));
    assert!(scan_money(&BTreeMap::from([(fba_fee("B07-MUG-12"), fee.clone())]), now).is_empty());
    assert_eq!(assess(&fee, fee[4], &Rules::money()), Verdict::NotEnoughHistory { have: 4, need: 5 });
    // Amounts older than the window do not count as history.
    let mut old = every_other_day(now.checked_sub(hours(40 * 24)).unwrap(), &["2.10"; 10]);
    old.push(Observation::new(now.checked_sub(hours(1)).unwrap(), dec("7.14")));
    assert!(scan_money(&BTreeMap::from([(fba_fee("B07-MUG-12"), old)]), now).is_empty());
    // No history at all.
    let alone = vec![Observation::new(now, dec("7.14"))];
    assert!(scan_money(&BTreeMap::from([(fba_fee("B07-MUG-12"), alone)]), now).is_empty());
}

#[test]
fn a_series_with_no_spread_flags_real_changes_only() {
    let now = at(NOW);
    let key = fba_fee("B07-MUG-12");
    let with = |history: &[&str], latest: &str| {
        let mut s = every_other_day(now, history);
        s.push(Observation::new(now.checked_sub(hours(1)).unwrap(), dec(latest)));
        scan_money(&BTreeMap::from([(key.clone(), s)]), now)
    };
    let flat = ["2.10"; 10];
    // MAD = 0: a cent or five off the one amount ever charged is not an anomaly…
    assert!(with(&flat, "2.10").is_empty());
    assert!(with(&flat, "2.15").is_empty());
    assert!(with(&flat, "2.30").is_empty(), "+9.5% is inside the 5%-of-median floor × 3.5");
    // …a real change is.
    let flags = with(&flat, "2.60");
    assert_eq!(flags.len(), 1, "{flags:#?}");
    assert_eq!(
        flags[0].explain(),
        "FBA fee for SKU B07-MUG-12 is 1.2× its 30-day median (median 2.10 USD, now 2.60 USD)"
    );
    assert_eq!(flags[0].severity, Severity::Warning);
    // A fee that was always 0 and is now charged: no ratio, the amounts in words.
    let flags = with(&["0.00"; 8], "0.50");
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].explain(), "FBA fee for SKU B07-MUG-12 is 0.50 USD against a 30-day median of 0.00 USD");
    // MAD = 0 with one outlier in the history: the mean absolute deviation takes over.
    let mostly = ["2.10", "2.10", "2.10", "2.10", "9.99", "2.10", "2.10", "2.10", "2.10", "2.10"];
    assert!(with(&mostly, "2.90").is_empty(), "the history has moved this far before");
    assert_eq!(with(&mostly, "7.14").len(), 1);
    // A count series that never moved.
    let history: Vec<Observation> =
        (1..=4).map(|w| Observation::count(now.checked_sub(hours(168 * w)).unwrap(), 42)).collect();
    match assess(&history, Observation::count(now, 42), &Rules::volume()) {
        Verdict::Usual(a) => assert_eq!((a.mad, a.score), (Decimal::ZERO, Decimal::ZERO)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(assess(&history, Observation::count(now, 20), &Rules::volume()), Verdict::Unusual(_)));
}

// The store: finished jobs per flow and hour, and a scan over them, on both backends.

fn tenant() -> TenantId {
    "shop".parse().unwrap()
}

fn other() -> TenantId {
    "other-shop".parse().unwrap()
}

const LEASE: Duration = Duration::from_secs(60);

/// Sets when jobs `first..=last` last changed: the store writes its own clock, and a scan needs
/// weeks of history. The hourly counters are then counted afresh from the jobs.
trait Backdate: Store {
    async fn backdate(&self, first: i64, last: i64, at: Timestamp);
}

const BACKDATE: &str = "UPDATE jobs SET updated_at = $1 WHERE id >= $2 AND id <= $3";

impl Backdate for SqliteStore {
    async fn backdate(&self, first: i64, last: i64, at: Timestamp) {
        let q = sqlx::query(BACKDATE).bind(at.as_microsecond()).bind(first).bind(last);
        q.execute(self.pool()).await.expect("backdate jobs");
        ferry_store::testing::recount_flow_counts_sqlite(self.pool()).await;
    }
}

impl Backdate for PgStore {
    async fn backdate(&self, first: i64, last: i64, at: Timestamp) {
        let q = sqlx::query(BACKDATE).bind(at.as_microsecond()).bind(first).bind(last);
        q.execute(self.pool()).await.expect("backdate jobs");
        ferry_store::testing::recount_flow_counts_pg(self.pool()).await;
    }
}

/// Runs `completed + dead` jobs of `flow` through the public API (enqueue, claim, complete or
/// dead-letter) and returns their id range.
async fn finish<S: Store>(store: &S, tenant: &TenantId, flow: &str, completed: usize, dead: usize) -> (i64, i64) {
    let jobs: Vec<NewJob> =
        (0..completed + dead).map(|n| NewJob::new(tenant.clone(), flow, json!({ "n": n }))).collect();
    let ids: Vec<i64> = store.enqueue(&jobs).await.unwrap().into_iter().map(|id| id.unwrap().0).collect();
    let mut claimed = Vec::new();
    while claimed.len() < ids.len() {
        let got = store.claim("w", 500, LEASE).await.unwrap();
        assert!(!got.is_empty(), "claimed {} of {} jobs", claimed.len(), ids.len());
        claimed.extend(got.into_iter().map(|j| j.id));
    }
    claimed.sort();
    let outcomes: Vec<Completion> = claimed
        .iter()
        .enumerate()
        .map(|(i, id)| {
            if i < completed {
                Completion { job: *id, outcome: Outcome::done(), trace: Vec::new() }
            } else {
                Completion::dead(*id, "create order", "permanent", "the product is unknown")
            }
        })
        .collect();
    assert!(store.complete("w", &outcomes).await.unwrap().iter().all(|&applied| applied));
    (ids[0], ids[ids.len() - 1])
}

async fn finish_at<S: Backdate>(
    store: &S,
    tenant: &TenantId,
    flow: &str,
    completed: usize,
    dead: usize,
    at: Timestamp,
) {
    let (first, last) = finish(store, tenant, flow, completed, dead).await;
    store.backdate(first, last, at).await;
}

fn on_the_hour(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(3600) * 3600).unwrap()
}

/// Counted in real time: completed, dead and covered jobs per flow, one tenant only, running
/// jobs not at all.
async fn counts_finished_jobs_per_flow_and_hour<S: Store>(store: S) {
    let started = Timestamp::now();
    finish(&store, &tenant(), "amazon-orders-to-crm", 3, 1).await;
    finish(&store, &other(), "amazon-orders-to-crm", 5, 0).await;
    // Two jobs of one record: the run of the first covers the second.
    let twins = [0, 1].map(|n| NewJob::new(tenant(), "fees-to-crm", json!({ "n": n })).record("settlement-1"));
    store.enqueue(&twins).await.unwrap();
    let run = store.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(run.len(), 1);
    let covering = Outcome::Completed { xrefs: Vec::new(), cursor: None, echoes: Vec::new(), covers_earlier: true };
    store.complete("w", &[Completion { job: run[0].id, outcome: covering, trace: Vec::new() }]).await.unwrap();
    // Still running: not finished, not counted.
    store.enqueue(&[NewJob::new(tenant(), "fees-to-crm", json!({}))]).await.unwrap();
    assert_eq!(store.claim("w", 10, LEASE).await.unwrap().len(), 1);
    let ended = Timestamp::now();

    let rows = store.flow_hourly_counts(&tenant(), started).await.unwrap();
    let test_hours = [on_the_hour(started), on_the_hour(ended)];
    assert!(rows.iter().all(|r| test_hours.contains(&r.hour)), "rows fall in the hours of the test: {rows:#?}");
    let sum = |flow: &str| {
        rows.iter()
            .filter(|r| r.flow == flow)
            .fold((0, 0, 0), |(c, v, d), r| (c + r.completed, v + r.covered, d + r.dead))
    };
    assert_eq!(sum("amazon-orders-to-crm"), (3, 0, 1), "the other tenant's 5 are not counted: {rows:#?}");
    assert_eq!(sum("fees-to-crm"), (1, 1, 0), "{rows:#?}");
    assert_eq!(rows.iter().map(|r| r.flow.as_str()).collect::<Vec<_>>()[0], "amazon-orders-to-crm", "flows by name");
    // `since` is rounded down to its hour; a later hour has nothing yet.
    let later = ended.checked_add(hours(2)).unwrap();
    assert!(store.flow_hourly_counts(&tenant(), later).await.unwrap().is_empty());
}

/// Four weeks of finished jobs written through the API and dated back: the orders flow stops
/// at its busy Monday hour, the FBA flow fails; the other tenant's busy hour does not hide
/// either.
async fn scans_the_last_complete_hour_of_each_flow<S: Backdate>(store: S) {
    let target = at(TARGET);
    for (weeks, n) in [(4, 40), (3, 42), (2, 44), (1, 42)] {
        let when = target.checked_sub(hours(168 * weeks)).unwrap().checked_add(SignedDuration::from_mins(7)).unwrap();
        finish_at(&store, &tenant(), "amazon-orders-to-crm", n, 0, when).await;
    }
    finish_at(&store, &other(), "amazon-orders-to-crm", 42, 0, target).await;
    for h in 1..=6 {
        finish_at(&store, &tenant(), "crm-orders-to-fba", 20, 0, target.checked_sub(hours(h)).unwrap()).await;
    }
    finish_at(
        &store,
        &tenant(),
        "crm-orders-to-fba",
        13,
        7,
        target.checked_add(SignedDuration::from_mins(30)).unwrap(),
    )
    .await;
    // In the current hour, not yet judged.
    finish_at(&store, &tenant(), "amazon-orders-to-crm", 2, 0, at(NOW)).await;

    let flags = anomaly::scan_flows(&store, &tenant(), at(NOW)).await.expect("scan");
    let words: Vec<String> = flags.iter().map(|f| f.explain()).collect();
    assert_eq!(
        words,
        vec![
            "flow amazon-orders-to-crm had 0 records on Monday 2026-03-09 between 10:00 and 11:00 UTC; \
             on Mondays at that hour it usually has 42 (median of 4 weeks)"
                .to_string(),
            "failure rate of flow crm-orders-to-fba was 35% on Monday 2026-03-09 between 10:00 and 11:00 UTC \
             (7 of 20 jobs dead-lettered) against a usual 0% (median of 6 hours with jobs in 28 days)"
                .to_string(),
        ],
        "the FBA flow is 6 hours old: too new for its volume to be judged"
    );
    // The other tenant's hour was as usual for it: no history, no flags.
    assert!(anomaly::scan_flows(&store, &other(), at(NOW)).await.unwrap().is_empty());
}

/// The same hour as [`scans_the_last_complete_hour_of_each_flow`], seen by alert rules: a
/// "flow silent" rule alerts once for the orders flow that stopped, an "anomaly" rule once for
/// each of its two flags, and checking again in the same hour sends nothing more.
async fn alert_rules_fire_on_the_flags(store: ferry_store::AnyStore) {
    use ferry_console::alerts::{Condition, Rule, add_rule, check_tenant};
    let got: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move { sink.lock().unwrap().push(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    for condition in [Condition::FlowSilent, Condition::Anomaly] {
        let rule = Rule { condition, webhook: Some(webhook.clone()), email: Vec::new() };
        add_rule(&store, &tenant(), &rule, "test", false).await.unwrap();
    }
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
    let sent = check_tenant(&store, &http, &tenant(), "https://ferry.example.com", at(NOW)).await.unwrap();
    assert_eq!(sent, 3, "one silent flow, two flags: {:?}", got.lock().unwrap());
    let later = at(NOW).checked_add(SignedDuration::from_mins(20)).unwrap();
    assert_eq!(check_tenant(&store, &http, &tenant(), "https://ferry.example.com", later).await.unwrap(), 0);
    let texts = got.lock().unwrap().clone();
    assert_eq!(texts.iter().filter(|t| t.contains("amazon-orders-to-crm had 0 records")).count(), 2, "{texts:?}");
    assert_eq!(texts.iter().filter(|t| t.contains("failure rate of flow crm-orders-to-fba")).count(), 1, "{texts:?}");
    assert!(texts.iter().all(|t| t.contains("https://ferry.example.com/api/v1/anomalies")), "{texts:?}");
}

/// F1 marks each line's unit price per SKU; the scan reads the kept amounts: a price 3.3× its
/// median is flagged in words, a replaced amount counts once, and another tenant's amounts and
/// another SKU's usual ones flag nothing.
async fn flags_a_marked_money_field_far_from_its_median<S: Store>(store: S) {
    let now = at(NOW);
    let observe = |key: &str, record: String, amount: &str, hours_ago: i64| ferry_store::MoneyObservation {
        flow: "amazon-orders-to-crm".into(),
        field: "unit price".into(),
        per: "SKU".into(),
        key: key.into(),
        currency: "USD".into(),
        record,
        amount: amount.into(),
        at: now.checked_sub(hours(hours_ago)).unwrap(),
    };
    let mut usual = Vec::new();
    for day in 1..=20i64 {
        let amount = format!("10.{:02}", (day * 7) % 40);
        usual.push(observe("MUG-01", format!("amazon:order:{day}#1"), &amount, day * 24));
        usual.push(observe("TEA-02", format!("amazon:order:{day}#2"), "4.00", day * 24));
    }
    store.put_money_observations(&tenant(), &usual).await.expect("usual prices");
    store.put_money_observations(&other(), &usual).await.expect("the other tenant's");
    // A price typed with a slipped decimal, first wrong, then replaced by a re-run.
    store
        .put_money_observations(&tenant(), &[observe("MUG-01", "amazon:order:99#1".into(), "99.99", 2)])
        .await
        .unwrap();
    store
        .put_money_observations(&tenant(), &[observe("MUG-01", "amazon:order:99#1".into(), "34.00", 2)])
        .await
        .unwrap();
    store.put_money_observations(&other(), &[observe("MUG-01", "amazon:order:7#1".into(), "10.20", 2)]).await.unwrap();

    let flags = anomaly::scan_flows(&store, &tenant(), now).await.expect("scan");
    let words: Vec<String> = flags.iter().map(|f| f.explain()).collect();
    assert_eq!(words.len(), 1, "{words:?}");
    assert!(words[0].starts_with("unit price for SKU MUG-01 is 3.3× its 30-day median"), "{words:?}");
    assert!(words[0].contains("now 34.00 USD"), "the re-run's amount, not the replaced one: {words:?}");
    assert!(anomaly::scan_flows(&store, &other(), now).await.unwrap().is_empty(), "the other tenant's are usual");
}

/// F7's fee observations: a settlement whose commission per row is 3.4× the usual is flagged
/// in words per settlement type, and an FBA fee per unit of a SKU likewise; usual ones are not.
#[tokio::test]
async fn settlement_fees_far_from_their_median_are_flagged_per_settlement_type_and_sku() {
    use ferry_connectors::amazon::settlement::SettlementSummary;
    use ferry_flows::settlement::{Aggregate, fee_observations};
    use ferry_model::{Money, SettlementLine};

    let (store, _dir) = sqlite().await;
    let now = at(NOW);
    let usd = |s: &str| Money::parse(s, "USD").unwrap();
    let settlement = |n: i64, commission: &str, fba: &str| {
        let deposit = now.checked_sub(hours(if n == 0 { 2 } else { 48 * n })).unwrap();
        let id = format!("{}", 11_796_400_000i64 + n);
        let mut a = Aggregate::new(SettlementSummary {
            settlement_id: id.parse().unwrap(),
            start: deposit.checked_sub(hours(14 * 24)).unwrap(),
            end: deposit.checked_sub(hours(48)).unwrap(),
            deposit_date: Some(deposit),
            total: usd("0"),
        });
        let row = |d: &str, amount: &str| SettlementLine {
            settlement_id: id.parse().unwrap(),
            transaction_type: "Order".into(),
            amount_type: "ItemFees".into(),
            amount_description: d.into(),
            order_id: None,
            merchant_order_id: None,
            adjustment_id: None,
            shipment_id: None,
            marketplace_name: None,
            fulfillment_id: None,
            order_item_code: None,
            sku: Some("MUG-01".parse().unwrap()),
            quantity: Some(2),
            amount: usd(amount),
            posted_at: deposit,
        };
        for _ in 0..3 {
            a.add(&row("Commission", commission)).unwrap();
            a.add(&row("FBAPerUnitFulfillmentFee", fba)).unwrap();
        }
        fee_observations(&a, "settlement-to-ledger")
    };
    let usual = [("-1.50", "-6.40"), ("-1.48", "-6.42"), ("-1.52", "-6.40"), ("-1.50", "-6.38"), ("-1.49", "-6.40")];
    for (n, (commission, fba)) in usual.iter().cycle().take(10).enumerate() {
        store.put_money_observations(&tenant(), &settlement(n as i64 + 1, commission, fba)).await.unwrap();
    }
    store.put_money_observations(&tenant(), &settlement(0, "-5.10", "-6.40")).await.unwrap();
    let words: Vec<String> =
        anomaly::scan_flows(&store, &tenant(), now).await.expect("scan").iter().map(|f| f.explain()).collect();
    assert_eq!(words.len(), 2, "{words:?}");
    assert!(
        words
            .iter()
            .any(|w| w
                .starts_with("fee per row for settlement type Order/ItemFees/Commission is 3.4× its 30-day median")),
        "{words:?}"
    );
    assert!(
        words.iter().any(|w| w.starts_with("Commission per unit for SKU MUG-01 is 3.4× its 30-day median")),
        "{words:?}"
    );
    assert!(!words.iter().any(|w| w.contains("FBAPerUnitFulfillmentFee")), "a usual fee is not flagged: {words:?}");
}

async fn sqlite() -> (SqliteStore, TempDir) {
    let dir = TempDir::new("console-anomaly").expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    prepare(&store).await;
    (store, dir)
}

async fn postgres() -> Option<PgStore> {
    let url = ferry_store::testing::fresh_pg_schema("console_anomaly").await.unwrap_or_else(|e| panic!("{e}"))?;
    let store = PgStore::open(&url, 4).await.expect("open pg");
    prepare(&store).await;
    Some(store)
}

async fn prepare<S: Store>(store: &S) {
    store.migrate().await.expect("migrate");
    store.ensure_tenant(&tenant(), "Shop").await.expect("tenant");
    store.ensure_tenant(&other(), "Other shop").await.expect("tenant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_rules_fire_once_on_a_silent_flow_and_on_anomalies() {
    let (store, _dir) = sqlite().await;
    scans_the_last_complete_hour_of_each_flow(store.clone()).await;
    alert_rules_fire_on_the_flags(ferry_store::AnyStore::Sqlite(store)).await;
}

mod sqlite_backend {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_finished_jobs_per_flow_and_hour() {
        let (store, _dir) = super::sqlite().await;
        super::counts_finished_jobs_per_flow_and_hour(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scans_the_last_complete_hour_of_each_flow() {
        let (store, _dir) = super::sqlite().await;
        super::scans_the_last_complete_hour_of_each_flow(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flags_a_marked_money_field_far_from_its_median() {
        let (store, _dir) = super::sqlite().await;
        super::flags_a_marked_money_field_far_from_its_median(store).await;
    }
}

mod postgres_backend {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_finished_jobs_per_flow_and_hour() {
        if let Some(store) = super::postgres().await {
            super::counts_finished_jobs_per_flow_and_hour(store).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scans_the_last_complete_hour_of_each_flow() {
        if let Some(store) = super::postgres().await {
            super::scans_the_last_complete_hour_of_each_flow(store).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flags_a_marked_money_field_far_from_its_median() {
        if let Some(store) = super::postgres().await {
            super::flags_a_marked_money_field_far_from_its_median(store).await;
        }
    }
}
