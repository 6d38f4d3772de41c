//! Anomaly flags: robust statistics on each flow's volume and failure rate, and on the money
//! fields a flow marks, explained in words.
//!
//! # The method
//!
//! A value is judged against the values of the same series in a trailing window (by default
//! 28 days for flows, 30 for money) that fall in the same seasonality bucket. The baseline is
//! their **median**; the spread is their **MAD** (median absolute deviation), and the value's
//! robust z-score is `0.6745 · (x − median) / MAD` (Iglewicz and Hoaglin's modified z-score).
//! A value whose score reaches the threshold (3.5 by default) either way is unusual.
//!
//! The score is computed as `(x − median) / σ`, where `σ = MAD / 0.6745` is the spread in the
//! units of the data, so that two rules can hold it up:
//!
//! * **MAD = 0** (more than half the history identical, e.g. a fee that is always 2.10): σ is
//!   the mean absolute deviation × 1.2533 instead (its estimate of σ for normal data), and
//! * **a floor**: σ is never less than [`Rules::min_spread`] nor [`Rules::min_relative_spread`]
//!   × |median|. A series that never moved does not flag a change of one cent or one record;
//!   with the money defaults a fee must move by at least 17.5% of its median to flag, with the
//!   volume defaults an hour must differ from its usual figure by at least 7 records and 35%.
//!
//! Nothing is flagged on too little history: a bucket needs [`Rules::min_history`]
//! observations in the window (otherwise [`Verdict::NotEnoughHistory`]), and a failure rate
//! needs [`FlowRules::min_failures`] failed jobs in the hour, so that one failure out of two
//! jobs at 3 a.m. is not a 50% failure rate.
//!
//! All arithmetic is on [`Decimal`]: money is never a float, and the same input gives the same
//! flags on every machine.
//!
//! # Seasonality
//!
//! Flow volumes follow the clock, so by default each hour is compared with the same hour of the
//! same weekday ([`Seasonality::HourOfWeek`], in UTC unless [`Rules::time_zone`] says
//! otherwise; a tenant's own zone keeps business hours in place across daylight saving
//! changes). Over the default 28-day window that is the same hour on each of the last 4 weeks,
//! and 4 such hours are required: the store keeps finished jobs 30 days by default
//! (`store.retention_days`), so a longer window would never fill up. Failure rates and money
//! fields have no seasonality: an hour's failure rate is compared with every hour of the window
//! that ran jobs, a fee with every earlier fee of its key.
//!
//! # What feeds it
//!
//! [`scan_flows`] reads [`Store::flow_hourly_counts`] (finished jobs per flow and hour) and
//! judges the last complete hour of each flow. [`scan_money`] is pure: whoever knows which
//! fields a flow marks as money hands it one series per [`MoneyKey`]. [`assess`] is the
//! single-value judgement both use, for anyone with another series.

use std::collections::BTreeMap;
use std::fmt;

use ferry_store::{FlowHourCount, Store, StoreError, TenantId};
use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
pub use rust_decimal::Decimal;
use rust_decimal::RoundingStrategy;
use serde::Serialize;

/// One observation of a series: a count, a rate or an amount at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub at: Timestamp,
    pub value: Decimal,
}

impl Observation {
    pub fn new(at: Timestamp, value: Decimal) -> Self {
        Observation { at, value }
    }

    /// A count (records in an hour).
    pub fn count(at: Timestamp, n: u64) -> Self {
        Observation { at, value: Decimal::from(n) }
    }
}

/// Which earlier values a value is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seasonality {
    /// Every value in the window.
    None,
    /// Values at the same hour of the day.
    HourOfDay,
    /// Values at the same hour of the same weekday (the default for flow volumes).
    HourOfWeek,
}

impl Seasonality {
    /// The bucket an instant falls in, read in `tz`: 0 for [`None`](Self::None), the hour
    /// (0–23), or the weekday (Monday 0) × 24 + the hour.
    pub fn bucket(self, at: Timestamp, tz: &TimeZone) -> u16 {
        match self {
            Seasonality::None => 0,
            Seasonality::HourOfDay => u16::try_from(at.to_zoned(tz.clone()).hour()).unwrap_or(0),
            Seasonality::HourOfWeek => {
                let z = at.to_zoned(tz.clone());
                u16::from(z.weekday().to_monday_zero_offset().unsigned_abs()) * 24
                    + u16::try_from(z.hour()).unwrap_or(0)
            }
        }
    }
}

/// How a series is judged. [`Rules::volume`], [`Rules::failure_rate`] and [`Rules::money`] are
/// the defaults for each kind of series.
#[derive(Debug, Clone)]
pub struct Rules {
    pub seasonality: Seasonality,
    /// The zone hours and weekdays are read in (for buckets and for the words).
    pub time_zone: TimeZone,
    /// How far back the history reaches from the value judged.
    pub window: SignedDuration,
    /// Observations the value's bucket must have in the window before anything is flagged.
    pub min_history: usize,
    /// The robust z-score from which a value is unusual (either way).
    pub threshold: Decimal,
    /// The least spread σ, in the series' units (records, a rate, a currency amount).
    pub min_spread: Decimal,
    /// The least spread σ as a fraction of the median.
    pub min_relative_spread: Decimal,
}

impl Rules {
    /// Records per hour: hour of week in UTC, 28 days (4 weeks, each needed), σ at least 2
    /// records and 10% of the usual figure.
    pub fn volume() -> Self {
        Rules {
            seasonality: Seasonality::HourOfWeek,
            time_zone: TimeZone::UTC,
            window: SignedDuration::from_hours(28 * 24),
            min_history: 4,
            threshold: Decimal::new(35, 1),
            min_spread: Decimal::TWO,
            min_relative_spread: Decimal::new(1, 1),
        }
    }

    /// An hour's share of failed jobs: against every hour of the last 28 days that ran jobs
    /// (at least 5 of them), σ at least 2 percentage points.
    pub fn failure_rate() -> Self {
        Rules {
            seasonality: Seasonality::None,
            time_zone: TimeZone::UTC,
            window: SignedDuration::from_hours(28 * 24),
            min_history: 5,
            threshold: Decimal::new(35, 1),
            min_spread: Decimal::new(2, 2),
            min_relative_spread: Decimal::ZERO,
        }
    }

    /// Money amounts: against every earlier amount of the key in 30 days (at least 5), σ at
    /// least one hundredth of the currency unit and 5% of the median.
    pub fn money() -> Self {
        Rules {
            seasonality: Seasonality::None,
            time_zone: TimeZone::UTC,
            window: SignedDuration::from_hours(30 * 24),
            min_history: 5,
            threshold: Decimal::new(35, 1),
            min_spread: Decimal::new(1, 2),
            min_relative_spread: Decimal::new(5, 2),
        }
    }

    /// The window in whole days, for the words.
    fn window_days(&self) -> i64 {
        self.window.as_hours() / 24
    }
}

/// Above or below the usual figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Above,
    Below,
}

/// How far out a flag is: `Warning` from the threshold, `Critical` from twice the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// One value measured against its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub observed: Decimal,
    pub median: Decimal,
    /// The median absolute deviation of the history.
    pub mad: Decimal,
    /// The spread σ the score divides by, after the MAD = 0 fallback and the floors.
    pub spread: Decimal,
    /// The robust z-score, (observed − median) / σ, to two places.
    pub score: Decimal,
    /// observed / median, to two places; `None` when the median is 0.
    pub ratio: Option<Decimal>,
    pub direction: Direction,
    /// How many observations the median was taken over.
    pub history: usize,
}

impl Assessment {
    fn severity(&self, rules: &Rules) -> Severity {
        if self.score.abs() >= rules.threshold.saturating_mul(Decimal::TWO) {
            Severity::Critical
        } else {
            Severity::Warning
        }
    }
}

/// The judgement on one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Too few earlier values in the value's bucket to say anything.
    NotEnoughHistory { have: usize, need: usize },
    /// Within the threshold.
    Usual(Assessment),
    /// At or beyond the threshold.
    Unusual(Assessment),
}

/// The median of `values` (sorted in place); `None` when empty.
pub fn median(values: &mut [Decimal]) -> Option<Decimal> {
    values.sort_unstable();
    let n = values.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        return Some(values[n / 2]);
    }
    let (a, b) = (values[n / 2 - 1], values[n / 2]);
    Some(a.checked_add(b).and_then(|s| s.checked_div(Decimal::TWO)).unwrap_or(a / Decimal::TWO + b / Decimal::TWO))
}

/// The median absolute deviation of `values` from `center`; `None` when empty.
pub fn mad(values: &[Decimal], center: Decimal) -> Option<Decimal> {
    let mut dev: Vec<Decimal> = values.iter().map(|v| v.saturating_sub(center).abs()).collect();
    median(&mut dev)
}

/// Judges `candidate` against the observations of `history` that are earlier than it, no more
/// than [`Rules::window`] earlier, and in its seasonality bucket. `history` may hold anything
/// else (later values, other buckets, the candidate itself): it is left out.
pub fn assess(history: &[Observation], candidate: Observation, rules: &Rules) -> Verdict {
    let bucket = rules.seasonality.bucket(candidate.at, &rules.time_zone);
    let from = candidate.at.checked_sub(rules.window).unwrap_or(Timestamp::MIN);
    let mut values: Vec<Decimal> = history
        .iter()
        .filter(|o| o.at >= from && o.at < candidate.at)
        .filter(|o| rules.seasonality.bucket(o.at, &rules.time_zone) == bucket)
        .map(|o| o.value)
        .collect();
    let need = rules.min_history.max(1);
    let Some(med) = median(&mut values).filter(|_| values.len() >= need) else {
        return Verdict::NotEnoughHistory { have: values.len(), need };
    };
    let mad = mad(&values, med).unwrap_or_default();
    let estimate = if mad > Decimal::ZERO {
        mad.checked_div(Decimal::new(6745, 4)).unwrap_or(Decimal::MAX)
    } else {
        let total = values.iter().fold(Decimal::ZERO, |acc, v| acc.saturating_add(v.saturating_sub(med).abs()));
        let mean = total.checked_div(Decimal::from(values.len())).unwrap_or_default();
        mean.saturating_mul(Decimal::new(1_253_314, 6))
    };
    let floor = rules.min_spread.max(rules.min_relative_spread.saturating_mul(med.abs()));
    let spread = estimate.max(floor);
    let deviation = candidate.value.saturating_sub(med);
    let score = if deviation.is_zero() {
        Decimal::ZERO
    } else {
        deviation.checked_div(spread).unwrap_or(if deviation > Decimal::ZERO { Decimal::MAX } else { Decimal::MIN })
    };
    let ratio = if med.is_zero() { None } else { candidate.value.checked_div(med).map(two_places) };
    let assessment = Assessment {
        observed: candidate.value,
        median: med,
        mad,
        spread,
        score: two_places(score),
        ratio,
        direction: if deviation >= Decimal::ZERO { Direction::Above } else { Direction::Below },
        history: values.len(),
    };
    if score.abs() >= rules.threshold { Verdict::Unusual(assessment) } else { Verdict::Usual(assessment) }
}

fn two_places(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A money field a flow marks, and the key its amounts are grouped by. The key is a SKU, a fee
/// or settlement type, a marketplace: never buyer data, since it goes into the words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MoneyKey {
    /// What the amount is, in words: "FBA fee", "order total".
    pub field: String,
    /// What the key is, in words: "SKU", "settlement type".
    pub per: String,
    /// The key itself: `B07-MUG-12`, `FBAPerUnitFulfillmentFee`.
    pub key: String,
    /// The currency of every amount in the series (ISO 4217).
    pub currency: String,
}

/// What a flag is about. Together with [`Flag::at`] it names a flag (see [`Flag::dedupe_key`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// Records a flow finished in an hour (jobs completed or dead-lettered).
    FlowVolume { flow: String },
    /// The share of a flow's finished jobs in an hour that were dead-lettered.
    FailureRate { flow: String },
    /// An amount of a marked money field.
    Money(MoneyKey),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::FlowVolume { flow } => write!(f, "volume of flow {flow}"),
            Subject::FailureRate { flow } => write!(f, "failure rate of flow {flow}"),
            Subject::Money(k) => write!(f, "{} for {} {} ({})", k.field, k.per, k.key, k.currency),
        }
    }
}

/// The hour a flow flag is about, as read in the rules' time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalHour {
    pub start: DateTime,
    pub end: DateTime,
    /// The zone's name ("UTC", "Europe/Berlin") or its offset ("UTC+05:30").
    pub zone: String,
}

/// What the usual figure was taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Baseline {
    pub seasonality: Seasonality,
    pub window_days: i64,
    /// Observations the median was taken over.
    pub observations: usize,
}

/// A failure-rate flag's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    /// Jobs finished in the hour (completed or dead).
    pub finished: u64,
    /// Of those, dead-lettered.
    pub dead: u64,
}

/// An anomaly: a value well away from its usual figure, with what it takes to say so in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub subject: Subject,
    /// When: the start of the hour for flows, the amount's time for money.
    pub at: Timestamp,
    /// For flows, the hour in the rules' time zone.
    pub hour: Option<LocalHour>,
    /// The value judged: records, a rate from 0 to 1, or an amount.
    pub observed: Decimal,
    /// The usual figure (for money, to the series' number of decimal places).
    pub median: Decimal,
    /// observed / median, to two places; `None` when the median is 0.
    pub ratio: Option<Decimal>,
    /// The robust z-score.
    pub score: Decimal,
    pub direction: Direction,
    pub severity: Severity,
    pub baseline: Baseline,
    /// For failure rates, the hour's jobs.
    pub jobs: Option<JobCounts>,
}

impl Flag {
    /// A stable name for this flag (the same anomaly found by two scans has the same key), for
    /// alerts to fire once per anomaly.
    pub fn dedupe_key(&self) -> String {
        let what = match &self.subject {
            Subject::FlowVolume { flow } => format!("volume:{flow}"),
            Subject::FailureRate { flow } => format!("failure_rate:{flow}"),
            Subject::Money(k) => format!("money:{}:{}:{}:{}", k.field, k.per, k.key, k.currency),
        };
        format!("{what}@{}", self.at)
    }

    /// The flag in plain words, e.g. "FBA fee for SKU B07-MUG-12 is 3.4× its 30-day median
    /// (median 2.10 USD, now 7.14 USD)".
    pub fn explain(&self) -> String {
        match &self.subject {
            Subject::FlowVolume { flow } => {
                let records = if self.observed == Decimal::ONE { "record" } else { "records" };
                let times = match (self.direction, self.ratio) {
                    (Direction::Above, Some(r)) => format!(" ({}× the usual)", one_place(r)),
                    _ => String::new(),
                };
                let (usually, median_of) = self.usual_words();
                format!(
                    "flow {flow} had {} {records}{times}{}; {usually} it usually has {} ({median_of})",
                    plain(self.observed),
                    self.when_words(),
                    plain(self.median),
                )
            }
            Subject::FailureRate { flow } => {
                let counts = self
                    .jobs
                    .map(|j| format!(" ({} of {} jobs dead-lettered)", j.dead, j.finished))
                    .unwrap_or_default();
                format!(
                    "failure rate of flow {flow} was {}{}{counts} against a usual {} (median of {} hours with jobs in {} days)",
                    percent(self.observed),
                    self.when_words(),
                    percent(self.median),
                    self.baseline.observations,
                    self.baseline.window_days,
                )
            }
            Subject::Money(k) => {
                let (field, per, key, cur) = (&k.field, &k.per, &k.key, &k.currency);
                let days = self.baseline.window_days;
                match self.ratio {
                    Some(r) => format!(
                        "{field} for {per} {key} is {}× its {days}-day median (median {} {cur}, now {} {cur})",
                        one_place(r),
                        self.median,
                        self.observed,
                    ),
                    None => format!(
                        "{field} for {per} {key} is {} {cur} against a {days}-day median of {} {cur}",
                        self.observed, self.median,
                    ),
                }
            }
        }
    }

    /// " on Monday 2026-03-09 between 10:00 and 11:00 UTC".
    fn when_words(&self) -> String {
        match &self.hour {
            Some(h) => format!(
                " on {} {} between {} and {} {}",
                weekday_name(h.start.weekday()),
                h.start.date(),
                h.start.strftime("%H:%M"),
                h.end.strftime("%H:%M"),
                h.zone
            ),
            None => format!(" at {}", self.at),
        }
    }

    /// ("on Mondays at that hour", "median of 4 weeks") and the like.
    fn usual_words(&self) -> (String, String) {
        let n = self.baseline.observations;
        match (self.baseline.seasonality, &self.hour) {
            (Seasonality::HourOfWeek, Some(h)) => {
                (format!("on {}s at that hour", weekday_name(h.start.weekday())), format!("median of {n} weeks"))
            }
            (Seasonality::HourOfDay, _) => ("at that hour".into(), format!("median of {n} days")),
            _ => ("in an hour".into(), format!("median of {n} hours")),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain())
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// A count or median of counts: "42", "42.5".
fn plain(d: Decimal) -> String {
    d.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero).normalize().to_string()
}

/// "3.4".
fn one_place(d: Decimal) -> String {
    let mut r = d.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(1);
    r.to_string()
}

/// A rate from 0 to 1 as a percentage: "35%", "0.5%".
fn percent(rate: Decimal) -> String {
    let p = rate.saturating_mul(Decimal::ONE_HUNDRED);
    let places = if p.abs() >= Decimal::ONE || p.is_zero() { 0 } else { 1 };
    format!("{}%", p.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero).normalize())
}

// Flows.

/// How flows are judged: [`Rules::volume`] and [`Rules::failure_rate`] by default, and an
/// hour's failure rate is judged only when it has at least 3 dead jobs.
#[derive(Debug, Clone)]
pub struct FlowRules {
    pub volume: Rules,
    pub failure_rate: Rules,
    /// Dead jobs an hour needs before its failure rate is judged.
    pub min_failures: u64,
}

impl Default for FlowRules {
    fn default() -> Self {
        FlowRules { volume: Rules::volume(), failure_rate: Rules::failure_rate(), min_failures: 3 }
    }
}

const HOUR: SignedDuration = SignedDuration::from_hours(1);

/// The start of the last hour that has ended by `now` (UTC hours).
pub fn last_complete_hour(now: Timestamp) -> Timestamp {
    let start = now.as_second().div_euclid(3600).saturating_mul(3600);
    Timestamp::from_second(start).unwrap_or(now).checked_sub(HOUR).unwrap_or(Timestamp::MIN)
}

/// Flags the last complete hour of each flow of a tenant with the default [`FlowRules`]:
/// its volume (either way) and its failure rate (upwards).
pub async fn scan_flows<S: Store>(store: &S, tenant: &TenantId, now: Timestamp) -> Result<Vec<Flag>, StoreError> {
    scan_flows_with(store, tenant, now, &FlowRules::default()).await
}

/// [`scan_flows`] with other rules.
pub async fn scan_flows_with<S: Store>(
    store: &S,
    tenant: &TenantId,
    now: Timestamp,
    rules: &FlowRules,
) -> Result<Vec<Flag>, StoreError> {
    let counts = store.flow_hourly_counts(tenant, history_since(now, rules)).await?;
    let mut flags = flag_flows(&counts, now, rules);
    flags.extend(scan_money(&money_series(store, tenant, now).await?, now));
    Ok(flags)
}

/// The tenant's amounts of the money fields its flows mark, one series per [`MoneyKey`], over
/// the money rules' window. An amount that is not a decimal is skipped.
pub async fn money_series<S: Store>(
    store: &S,
    tenant: &TenantId,
    now: Timestamp,
) -> Result<BTreeMap<MoneyKey, Vec<Observation>>, StoreError> {
    let since = now.checked_sub(Rules::money().window).unwrap_or(Timestamp::MIN);
    let mut series: BTreeMap<MoneyKey, Vec<Observation>> = BTreeMap::new();
    for o in store.money_observations(tenant, since).await? {
        let Ok(amount) = o.amount.parse::<Decimal>() else { continue };
        let key = MoneyKey { field: o.field, per: o.per, key: o.key, currency: o.currency };
        series.entry(key).or_default().push(Observation::new(o.at, amount));
    }
    Ok(series)
}

/// Where the hourly counts that `rules` judge the last complete hour by begin.
pub fn history_since(now: Timestamp, rules: &FlowRules) -> Timestamp {
    let window = rules.volume.window.max(rules.failure_rate.window);
    last_complete_hour(now).checked_sub(window).unwrap_or(Timestamp::MIN)
}

/// The pure half of [`scan_flows`]: flags from a tenant's hourly counts (as
/// [`Store::flow_hourly_counts`] returns them, in any order). Each flow's hours are counted
/// from the first hour it finished anything: an hour with no row is an hour with 0 records,
/// and the weeks before a flow first ran are not history. Rows after the last complete hour
/// are ignored. Flags come by flow name, volume before failure rate.
pub fn flag_flows(counts: &[FlowHourCount], now: Timestamp, rules: &FlowRules) -> Vec<Flag> {
    let target = last_complete_hour(now);
    // flow → hour → (finished, dead); covered jobs ran no work of their own and count in neither.
    let mut by_flow: BTreeMap<&str, BTreeMap<Timestamp, (u64, u64)>> = BTreeMap::new();
    for c in counts.iter().filter(|c| c.hour <= target) {
        let e = by_flow.entry(c.flow.as_str()).or_default().entry(c.hour).or_default();
        e.0 = e.0.saturating_add(c.completed).saturating_add(c.dead);
        e.1 = e.1.saturating_add(c.dead);
    }
    let mut flags = Vec::new();
    for (flow, hours) in &by_flow {
        let Some(first) = hours.keys().next().copied() else { continue };
        let (finished, dead) = hours.get(&target).copied().unwrap_or((0, 0));

        // Volume: every hour from the first (or the window's start), zeros included.
        let from = first.max(target.checked_sub(rules.volume.window).unwrap_or(Timestamp::MIN));
        let mut history = Vec::new();
        let mut h = from;
        while h < target {
            history.push(Observation::count(h, hours.get(&h).map_or(0, |c| c.0)));
            h = match h.checked_add(HOUR) {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        if let Verdict::Unusual(a) = assess(&history, Observation::count(target, finished), &rules.volume) {
            flags.push(flow_flag(Subject::FlowVolume { flow: flow.to_string() }, target, a, &rules.volume, None));
        }

        // Failure rate: the hours that finished jobs, only upwards, only with enough failures.
        if dead >= rules.min_failures.max(1) {
            let rates: Vec<Observation> = hours
                .range(..target)
                .filter(|(_, c)| c.0 > 0)
                .map(|(at, &(n, d))| Observation::new(*at, rate(d, n)))
                .collect();
            let now_rate = Observation::new(target, rate(dead, finished));
            if let Verdict::Unusual(a) = assess(&rates, now_rate, &rules.failure_rate)
                && a.direction == Direction::Above
            {
                let jobs = Some(JobCounts { finished, dead });
                flags.push(flow_flag(
                    Subject::FailureRate { flow: flow.to_string() },
                    target,
                    a,
                    &rules.failure_rate,
                    jobs,
                ));
            }
        }
    }
    flags
}

fn rate(dead: u64, finished: u64) -> Decimal {
    Decimal::from(dead).checked_div(Decimal::from(finished)).unwrap_or_default()
}

fn flow_flag(subject: Subject, at: Timestamp, a: Assessment, rules: &Rules, jobs: Option<JobCounts>) -> Flag {
    let start = at.to_zoned(rules.time_zone.clone());
    let end = at.checked_add(HOUR).unwrap_or(at).to_zoned(rules.time_zone.clone());
    let zone =
        rules.time_zone.iana_name().map(str::to_string).unwrap_or_else(|| format!("UTC{}", start.strftime("%:z")));
    Flag {
        subject,
        at,
        hour: Some(LocalHour { start: start.datetime(), end: end.datetime(), zone }),
        observed: a.observed,
        median: a.median,
        ratio: a.ratio,
        score: a.score,
        direction: a.direction,
        severity: a.severity(rules),
        baseline: Baseline {
            seasonality: rules.seasonality,
            window_days: rules.window_days(),
            observations: a.history,
        },
        jobs,
    }
}

// Money.

/// How money series are judged: [`Rules::money`], on the amounts of the last 24 hours.
#[derive(Debug, Clone)]
pub struct MoneyRules {
    pub rules: Rules,
    /// Amounts at most this old (and not after `now`) are judged; older ones are history.
    pub recent: SignedDuration,
}

impl Default for MoneyRules {
    fn default() -> Self {
        MoneyRules { rules: Rules::money(), recent: SignedDuration::from_hours(24) }
    }
}

/// Flags unusual amounts of marked money fields with the default [`MoneyRules`].
///
/// The input is one series per key: every amount of one field for one key, in the key's
/// currency, with the time it belongs to (an order's purchase date, a settlement line's posted
/// date), in any order, reaching back at least the window (30 days) before the amounts to
/// judge. A flow that marks `fees[].amount` per `fees[].type` as "FBA fee" per "SKU" hands in,
/// for SKU `B07-MUG-12` in USD, the key `{field: "FBA fee", per: "SKU", key: "B07-MUG-12",
/// currency: "USD"}` and its amounts. Each amount of the last 24 hours is judged against the
/// key's amounts strictly before it; a key gives at most one flag, its most unusual amount.
pub fn scan_money(series: &BTreeMap<MoneyKey, Vec<Observation>>, now: Timestamp) -> Vec<Flag> {
    scan_money_with(series, now, &MoneyRules::default())
}

/// [`scan_money`] with other rules.
pub fn scan_money_with(series: &BTreeMap<MoneyKey, Vec<Observation>>, now: Timestamp, rules: &MoneyRules) -> Vec<Flag> {
    let from = now.checked_sub(rules.recent).unwrap_or(Timestamp::MIN);
    let mut flags = Vec::new();
    for (key, amounts) in series {
        let scale = amounts.iter().map(|o| o.value.scale()).max().unwrap_or(0);
        let mut worst: Option<(Timestamp, Assessment)> = None;
        for o in amounts.iter().filter(|o| o.at > from && o.at <= now) {
            if let Verdict::Unusual(a) = assess(amounts, *o, &rules.rules) {
                let worse = worst.as_ref().is_none_or(|(at, w)| {
                    a.score.abs() > w.score.abs() || (a.score.abs() == w.score.abs() && o.at > *at)
                });
                if worse {
                    worst = Some((o.at, a));
                }
            }
        }
        if let Some((at, a)) = worst {
            // Both shown to the series' decimal places: "median 2.10 USD, now 7.14 USD".
            let mut observed = a.observed;
            observed.rescale(scale);
            let mut median = a.median.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
            median.rescale(scale);
            flags.push(Flag {
                subject: Subject::Money(key.clone()),
                at,
                hour: None,
                observed,
                median,
                ratio: a.ratio,
                score: a.score,
                direction: a.direction,
                severity: a.severity(&rules.rules),
                baseline: Baseline {
                    seasonality: rules.rules.seasonality,
                    window_days: rules.rules.window_days(),
                    observations: a.history,
                },
                jobs: None,
            });
        }
    }
    flags
}
