//! Times are stored as microseconds since the Unix epoch in both backends, so comparisons and
//! arithmetic are the same SQL on each.

use jiff::Timestamp;

/// Microseconds since the epoch for a timestamp.
pub fn to_micros(ts: Timestamp) -> i64 {
    ts.as_microsecond()
}

/// The timestamp for stored microseconds; out-of-range values clamp to the supported range.
pub fn from_micros(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(if micros < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// Now, in stored form.
pub fn now_micros() -> i64 {
    to_micros(Timestamp::now())
}

/// Now plus a duration, in stored form, saturating.
pub(crate) fn micros_after(base: i64, d: std::time::Duration) -> i64 {
    base.saturating_add(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
