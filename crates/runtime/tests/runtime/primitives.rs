//! Failure classification, backoff, token buckets and circuit breakers. Time is simulated through
//! the `*_at(Instant)` methods (or tokio's paused clock), never measured.

use std::time::{Duration, Instant};

use ferry_runtime::backoff::RetryPolicy;
use ferry_runtime::breaker::{BreakerConfig, BreakerState, Breakers, CircuitBreaker};
use ferry_runtime::bucket::{ConcurrencyCaps, LimitError, RateLimiters, TokenBucket};
use ferry_runtime::failure::{Failure, FailureKind, classify_http_status, parse_retry_after};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("test timestamp")
}

// ---- failure -------------------------------------------------------------------------------

#[test]
fn retry_after_delta_seconds() {
    let now = ts("2015-10-21T07:00:00Z");
    assert_eq!(parse_retry_after("120", now), Some(secs(120)));
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    for bad in ["", "-5", "+5", "1.5", "soon", "99999999999999999999999"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
}

#[test]
fn retry_after_http_date() {
    let now = ts("2015-10-21T07:27:00Z");
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    assert_eq!(parse_retry_after(date, now), Some(secs(60)));
    // A date in the past means "retry now".
    let later = ts("2015-10-21T08:00:00Z");
    assert_eq!(parse_retry_after(date, later), Some(Duration::ZERO));
    // The obsolete forms RFC 9110 still requires recipients to accept.
    assert_eq!(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now), Some(secs(60)));
    assert_eq!(parse_retry_after("Wed Oct 21 07:28:00 2015", now), Some(secs(60)));
    assert_eq!(parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", now), None);
}

#[test]
fn http_status_classification() {
    let wait = Some(secs(3));
    assert_eq!(classify_http_status(429, wait, "slow down".into()), Failure::throttled(wait, "slow down"));
    for status in [401, 403] {
        assert_eq!(classify_http_status(status, None, "no".into()).kind(), FailureKind::Auth);
    }
    for status in [408, 500, 502, 503, 504, 599] {
        let failure = classify_http_status(status, wait, "down".into());
        assert_eq!(failure, Failure::transient("down"), "{status}");
    }
    for status in [400, 404, 409, 412, 422] {
        let failure = classify_http_status(status, None, "bad".into());
        assert_eq!(failure, Failure::permanent_with_code(status.to_string(), "bad"));
    }
}

#[test]
fn failure_kinds_and_display() {
    let cases = [
        (Failure::transient("reset"), "transient"),
        (Failure::throttled(None, "429"), "throttled"),
        (Failure::permanent("bad sku"), "permanent"),
        (Failure::auth("expired"), "auth"),
    ];
    for (failure, kind) in cases {
        assert_eq!(failure.kind().as_str(), kind);
        let shown = failure.to_string();
        assert!(shown.starts_with(kind), "{shown}");
        assert!(shown.contains(failure.message()), "{shown}");
    }
    let coded = Failure::permanent_with_code("0x80040237", "duplicate key");
    assert_eq!(coded.to_string(), "permanent (0x80040237): duplicate key");
    let error: Box<dyn std::error::Error> = Box::new(Failure::auth("expired"));
    assert_eq!(error.to_string(), "auth: expired");
    assert_eq!(Failure::throttled(Some(secs(2)), "x").retry_after(), Some(secs(2)));
}

// ---- backoff -------------------------------------------------------------------------------

#[test]
fn backoff_ceiling_doubles_up_to_the_cap() {
    let policy = RetryPolicy::default();
    assert_eq!(policy.ceiling(0), secs(1));
    let mut expected = secs(1);
    for attempt in 1..=10 {
        assert_eq!(policy.ceiling(attempt), expected, "attempt {attempt}");
        expected *= 2;
    }
    assert_eq!(policy.ceiling(10), secs(512));
    assert_eq!(policy.ceiling(11), secs(600));
    for attempt in [12, 33, 64, 1000, u32::MAX] {
        assert_eq!(policy.ceiling(attempt), secs(600));
        assert!(policy.delay(attempt) <= secs(600));
    }
    // Huge durations saturate instead of overflowing.
    let huge = RetryPolicy { max_attempts: 3, base: Duration::MAX, cap: Duration::MAX };
    assert_eq!(huge.ceiling(1000), Duration::MAX);
    assert!(huge.delay_with(1000, &mut fastrand::Rng::with_seed(1)) <= Duration::MAX);
}

#[test]
fn full_jitter_stays_within_the_ceiling_and_spreads() {
    let policy = RetryPolicy::default();
    let mut rng = fastrand::Rng::with_seed(7);
    for attempt in [1, 2, 5, 11, 1000] {
        let ceiling = policy.ceiling(attempt);
        let draws: Vec<Duration> = (0..2000).map(|_| policy.delay_with(attempt, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= ceiling), "attempt {attempt}");
        // Full jitter: the whole range is used, not just the top.
        assert!(draws.iter().any(|d| *d < ceiling / 10), "attempt {attempt}");
        assert!(draws.iter().any(|d| *d > ceiling * 9 / 10), "attempt {attempt}");
    }
    // Same seed, same delays.
    let a = policy.delay_with(4, &mut fastrand::Rng::with_seed(3));
    let b = policy.delay_with(4, &mut fastrand::Rng::with_seed(3));
    assert_eq!(a, b);
}

#[test]
fn retry_policy_exhaustion() {
    let policy = RetryPolicy::default();
    assert_eq!(policy.max_attempts, 8);
    assert!(!policy.is_exhausted(0));
    assert!(!policy.is_exhausted(7));
    assert!(policy.is_exhausted(8));
    assert!(policy.is_exhausted(9));
}

// ---- token bucket --------------------------------------------------------------------------

/// Tries every `step` over `[start, start + length]` and returns the admission times.
fn admissions(bucket: &TokenBucket, start: Instant, length: Duration, step: Duration) -> Vec<Instant> {
    let mut admitted = Vec::new();
    let mut now = start;
    while now <= start + length {
        if bucket.try_acquire_at(now).is_ok() {
            admitted.push(now);
        }
        now += step;
    }
    admitted
}

#[test]
fn bucket_admission_is_exact_over_a_window() {
    let (rate, burst) = (2.0, 5);
    let bucket = TokenBucket::new(rate, burst).expect("valid limits");
    let t0 = Instant::now();
    let window = secs(60);
    let admitted = admissions(&bucket, t0, window, ms(10));
    let bound = rate * window.as_secs_f64() + f64::from(burst);
    let count = admitted.len() as f64;
    assert!(count <= bound, "{count} > {bound}");
    assert!(count >= bound - 1.0, "{count} < {bound} - 1");
    // Every sub-window too, not only the one starting full.
    for w in [ms(500), secs(1), secs(10)] {
        let limit = rate * w.as_secs_f64() + f64::from(burst);
        for (i, start) in admitted.iter().enumerate() {
            let inside = admitted[i..].iter().take_while(|t| **t <= *start + w).count();
            assert!(inside as f64 <= limit, "{inside} in {w:?} > {limit}");
        }
    }
}

#[test]
fn bucket_starts_full_and_says_how_long_to_wait() {
    let bucket = TokenBucket::new(1.0, 3).expect("valid limits");
    let t0 = Instant::now();
    for _ in 0..3 {
        assert_eq!(bucket.try_acquire_at(t0), Ok(()));
    }
    assert_eq!(bucket.try_acquire_at(t0), Err(secs(1)));
    assert_eq!(bucket.try_acquire_at(t0 + ms(400)), Err(ms(600)));
    assert_eq!(bucket.try_acquire_at(t0 + secs(1)), Ok(()));
    assert_eq!(bucket.try_acquire_at(t0 + secs(1)), Err(secs(1)));
}

#[test]
fn bucket_limits_change_at_run_time() {
    let t0 = Instant::now();
    // Raising: an empty slow bucket becomes a fast one.
    let bucket = TokenBucket::new(1.0, 1).expect("valid limits");
    assert_eq!(bucket.try_acquire_at(t0), Ok(()));
    assert!(bucket.try_acquire_at(t0 + ms(100)).is_err());
    bucket.set_limits_at(t0, 10.0, 5).expect("valid limits");
    assert_eq!(bucket.limits(), (10.0, 5));
    assert_eq!(bucket.try_acquire_at(t0 + ms(100)), Ok(()));
    let later = t0 + secs(2);
    let burst: usize = (0..10).filter(|_| bucket.try_acquire_at(later).is_ok()).count();
    assert_eq!(burst, 5);

    // Lowering: held tokens are capped at the new burst and the new rate paces the rest.
    let bucket = TokenBucket::new(10.0, 10).expect("valid limits");
    bucket.set_limits_at(t0, 1.0, 2).expect("valid limits");
    assert_eq!(bucket.try_acquire_at(t0), Ok(()));
    assert_eq!(bucket.try_acquire_at(t0), Ok(()));
    assert_eq!(bucket.try_acquire_at(t0), Err(secs(1)));
    assert_eq!(bucket.try_acquire_at(t0 + secs(1)), Ok(()));

    // A rate-only update keeps the burst.
    bucket.set_rate(0.5).expect("valid rate");
    assert_eq!(bucket.limits(), (0.5, 2));
}

#[test]
fn bucket_penalty_blocks_until_it_passes() {
    let bucket = TokenBucket::new(10.0, 10).expect("valid limits");
    let t0 = Instant::now();
    bucket.penalize_at(t0, secs(5));
    assert_eq!(bucket.try_acquire_at(t0), Err(secs(5)));
    assert_eq!(bucket.try_acquire_at(t0 + ms(4999)), Err(ms(1)));
    assert_eq!(admissions(&bucket, t0, ms(4999), ms(1)).len(), 0);
    // At the deadline: one token, no burst, then the rate.
    let until = t0 + secs(5);
    assert_eq!(bucket.try_acquire_at(until), Ok(()));
    assert_eq!(bucket.try_acquire_at(until), Err(ms(100)));
    assert_eq!(bucket.try_acquire_at(until + ms(100)), Ok(()));

    // A shorter pause never shortens a longer one.
    let bucket = TokenBucket::new(10.0, 10).expect("valid limits");
    bucket.pause_until(t0 + secs(10));
    bucket.pause_until(t0 + secs(1));
    assert_eq!(bucket.try_acquire_at(t0 + secs(2)), Err(secs(8)));
}

#[test]
fn bucket_fractional_rate() {
    // SP-API's one request per minute (0.0167/s), burst 1.
    let rate = 0.0167;
    let bucket = TokenBucket::new(rate, 1).expect("valid limits");
    let t0 = Instant::now();
    assert_eq!(bucket.try_acquire_at(t0), Ok(()));
    let wait = bucket.try_acquire_at(t0).expect_err("empty");
    assert!(wait > secs(59) && wait <= secs(60), "{wait:?}");
    assert!(bucket.try_acquire_at(t0 + secs(59)).is_err());
    assert_eq!(bucket.try_acquire_at(t0 + secs(60)), Ok(()));

    let bucket = TokenBucket::new(rate, 1).expect("valid limits");
    let hour = secs(3600);
    let count = admissions(&bucket, t0, hour, ms(250)).len() as f64;
    let bound = rate * hour.as_secs_f64() + 1.0;
    assert!(count <= bound && count >= bound - 1.0, "{count} vs {bound}");
}

#[test]
fn bucket_rejects_invalid_limits() {
    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(TokenBucket::new(rate, 1), Err(LimitError::InvalidRate(_))), "{rate}");
    }
    assert_eq!(TokenBucket::new(1.0, 0).err(), Some(LimitError::InvalidBurst));
    assert!(matches!(TokenBucket::new(1e-300, 1), Err(LimitError::TooSlow { .. })));
    let error = TokenBucket::new(0.0, 1).expect_err("invalid");
    assert!(error.to_string().contains("rate"), "{error}");

    // A bad update leaves the bucket as it was.
    let bucket = TokenBucket::new(2.0, 5).expect("valid limits");
    assert!(bucket.set_rate(f64::NAN).is_err());
    assert!(bucket.set_limits(1.0, 0).is_err());
    assert_eq!(bucket.limits(), (2.0, 5));
}

#[test]
fn rate_limiters_registry() {
    let limiters = RateLimiters::new();
    assert!(limiters.get("amazon", "getOrder").is_none());
    let a = limiters.get_or_insert("amazon", "getOrder", 0.5, 30).expect("valid limits");
    let again = limiters.get_or_insert("amazon", "getOrder", 99.0, 99).expect("existing bucket");
    assert!(std::sync::Arc::ptr_eq(&a, &again));
    assert_eq!(again.limits(), (0.5, 30));
    let other = limiters.get_or_insert("amazon", "searchOrders", 0.0167, 20).expect("valid limits");
    assert!(!std::sync::Arc::ptr_eq(&a, &other));

    limiters.update("amazon", "getOrder", 2.0, 30).expect("valid limits");
    assert_eq!(a.limits(), (2.0, 30));
    let created = limiters.update("crm", "upsert", 100.0, 10).expect("valid limits");
    assert!(limiters.get("crm", "upsert").is_some_and(|b| std::sync::Arc::ptr_eq(&b, &created)));

    assert!(limiters.get_or_insert("crm", "query", -1.0, 1).is_err());
    assert!(limiters.get("crm", "query").is_none());
    assert!(limiters.update("amazon", "getOrder", 1.0, 0).is_err());
    assert_eq!(a.limits(), (2.0, 30));
}

#[tokio::test(start_paused = true)]
async fn bucket_acquire_sleeps_on_the_runtime_clock() {
    let bucket = TokenBucket::new(2.0, 1).expect("valid limits");
    let start = tokio::time::Instant::now();
    for _ in 0..3 {
        bucket.acquire().await;
    }
    // Admitted at 0, 0.5 s and 1 s of (paused, auto-advanced) tokio time. If the bucket read
    // the wall clock instead, the paused clock would race far ahead of it.
    let elapsed = start.elapsed();
    assert!(elapsed >= secs(1) && elapsed < ms(1100), "{elapsed:?}");

    // A penalty from the runtime clock holds `acquire` for the whole wait.
    bucket.penalize(secs(30));
    let before = tokio::time::Instant::now();
    bucket.acquire().await;
    let waited = before.elapsed();
    assert!(waited >= secs(30) && waited < ms(30_100), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn concurrency_cap_per_connection() {
    let caps = ConcurrencyCaps::new();
    let first = caps.acquire("crm", 2).await;
    let _second = caps.acquire("crm", 2).await;
    assert_eq!(caps.available("crm"), Some(0));
    let third = tokio::time::timeout(secs(1), caps.acquire("crm", 2)).await;
    assert!(third.is_err(), "a third request went over the cap");
    // Another connection has its own cap.
    let _other = caps.acquire("amazon", 1).await;
    drop(first);
    let third = tokio::time::timeout(secs(1), caps.acquire("crm", 2)).await;
    assert!(third.is_ok());
    // A cap of zero would block forever; it means one.
    let _zero = caps.acquire("odd", 0).await;
    assert_eq!(caps.available("odd"), Some(0));
    assert_eq!(caps.available("unknown"), None);
}

// ---- circuit breaker -----------------------------------------------------------------------

/// Makes a "remote call" through the breaker, counting the calls that really happen.
fn call(breaker: &CircuitBreaker, now: Instant, calls: &mut u32, ok: bool) -> Result<(), Duration> {
    breaker.check_at(now)?;
    *calls += 1;
    if ok {
        breaker.record_success();
    } else {
        breaker.record_failure_at(now);
    }
    Ok(())
}

fn config() -> BreakerConfig {
    BreakerConfig { failure_threshold: 3, open_for: secs(30) }
}

#[test]
fn breaker_opens_after_threshold_and_rejects_without_calling() {
    let breaker = CircuitBreaker::new(config());
    let t0 = Instant::now();
    let mut calls = 0;
    for i in 0..3 {
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(call(&breaker, t0 + secs(i), &mut calls, false), Ok(()));
    }
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(calls, 3);
    let opened = t0 + secs(2);
    for i in 0..10 {
        let now = opened + secs(i);
        assert_eq!(call(&breaker, now, &mut calls, true), Err(secs(30 - i)));
    }
    assert_eq!(calls, 3, "an open breaker let a call through");
    assert_eq!(BreakerConfig::default().failure_threshold, 5);
    assert_eq!(BreakerConfig::default().open_for, secs(30));
}

#[test]
fn breaker_half_opens_with_exactly_one_probe_and_closes_on_success() {
    let breaker = CircuitBreaker::new(config());
    let t0 = Instant::now();
    let mut calls = 0;
    for _ in 0..3 {
        let _ = call(&breaker, t0, &mut calls, false);
    }
    assert!(breaker.check_at(t0 + secs(29)).is_err());
    let probe_time = t0 + secs(30);
    assert_eq!(breaker.check_at(probe_time), Ok(()));
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    // While the probe is out, nobody else goes.
    for i in 0..5 {
        assert!(breaker.check_at(probe_time + ms(i * 100)).is_err());
    }
    breaker.record_success();
    assert_eq!(breaker.state(), BreakerState::Closed);
    for _ in 0..5 {
        assert_eq!(breaker.check_at(probe_time + secs(1)), Ok(()));
    }
}

#[test]
fn breaker_reopens_when_the_probe_fails() {
    let breaker = CircuitBreaker::new(config());
    let t0 = Instant::now();
    let mut calls = 0;
    for _ in 0..3 {
        let _ = call(&breaker, t0, &mut calls, false);
    }
    let probe_time = t0 + secs(30);
    assert_eq!(call(&breaker, probe_time, &mut calls, false), Ok(()));
    assert_eq!(calls, 4);
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.check_at(probe_time + secs(29)), Err(secs(1)));
    assert_eq!(breaker.check_at(probe_time + secs(30)), Ok(()));
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
}

#[test]
fn breaker_success_resets_the_failure_streak() {
    let breaker = CircuitBreaker::new(config());
    let t0 = Instant::now();
    let mut calls = 0;
    for ok in [false, false, true, false, false] {
        assert_eq!(call(&breaker, t0, &mut calls, ok), Ok(()));
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(call(&breaker, t0, &mut calls, false), Ok(()));
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn breaker_stragglers_and_lost_probes() {
    let breaker = CircuitBreaker::new(config());
    let t0 = Instant::now();
    for _ in 0..3 {
        breaker.record_failure_at(t0);
    }
    // Calls started before the circuit opened and finishing late change nothing.
    breaker.record_failure_at(t0 + secs(20));
    breaker.record_success();
    assert_eq!(breaker.check_at(t0 + secs(29)), Err(secs(1)));
    // A probe that never reports is presumed lost after `open_for`; then another may go.
    assert_eq!(breaker.check_at(t0 + secs(30)), Ok(()));
    assert_eq!(breaker.check_at(t0 + secs(59)), Err(secs(1)));
    assert_eq!(breaker.check_at(t0 + secs(60)), Ok(()));
    assert_eq!(breaker.check_at(t0 + secs(60)).map_err(|_| ()), Err(()));
}

#[test]
fn breakers_registry_and_snapshot() {
    let breakers = Breakers::new(BreakerConfig { failure_threshold: 1, open_for: secs(30) });
    let api = breakers.get("sellingpartnerapi-eu.amazon.com");
    assert!(std::sync::Arc::ptr_eq(&api, &breakers.get("sellingpartnerapi-eu.amazon.com")));
    let _crm = breakers.get("contoso.crm4.dynamics.com");
    api.record_failure();
    assert_eq!(
        breakers.snapshot(),
        vec![
            ("contoso.crm4.dynamics.com".to_owned(), BreakerState::Closed),
            ("sellingpartnerapi-eu.amazon.com".to_owned(), BreakerState::Open),
        ]
    );
    assert!(api.check().is_err());
    assert_eq!(BreakerState::HalfOpen.as_str(), "half-open");
    assert_eq!(BreakerState::Open.to_string(), "open");
    assert_eq!(BreakerState::Closed.as_str(), "closed");
}
