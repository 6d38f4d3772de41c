//! Date and time parsing and formatting with IANA time zones (jiff, bundled tz database so
//! results do not depend on the host). Timestamps travel as RFC 3339 strings in UTC.
//!
//! A local time without an offset (`2026-10-01 14:30`, F&O's dates, SL's datetime columns)
//! is read in the `tz` given, UTC by default, never in the server's zone.

use jiff::civil::{Date, DateTime};
use jiff::fmt::strtime;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Zoned};
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::{excerpt, fail, kind_name};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("parse_datetime", parse_datetime);
    env.add_filter("format_datetime", format_datetime);
    env.add_filter("to_date", to_date);
    env.add_filter("to_timezone", to_timezone);
    env.add_filter("add_days", add_days);
}

fn zone(name: Option<&str>, what: &str) -> Result<TimeZone, Error> {
    match name {
        None | Some("UTC") => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|_| fail(format!("{what}: unknown time zone {}", excerpt(name)))),
    }
}

/// Reads an instant: RFC 3339 with an offset, a local date-time or date in `tz`, an
/// epoch-seconds integer, or text in an explicit strptime `format`.
pub(crate) fn instant_of(value: &Value, format: Option<&str>, tz: &TimeZone, what: &str) -> Result<Timestamp, Error> {
    if value.kind() == ValueKind::Number {
        let secs = value.as_i64().ok_or_else(|| fail(format!("{what}: epoch seconds must be an integer")))?;
        return Timestamp::from_second(secs).map_err(|_| fail(format!("{what}: epoch seconds {secs} out of range")));
    }
    let text = value
        .as_str()
        .ok_or_else(|| fail(format!("{what}: expected a date or timestamp, got {}", kind_name(value))))?
        .trim();
    let bad = || fail(format!("{what}: {} is not a valid date/time", excerpt(text)));
    if let Some(format) = format {
        let parsed = strtime::parse(format, text)
            .map_err(|_| fail(format!("{what}: {} does not match the format {}", excerpt(text), excerpt(format))))?;
        if parsed.offset().is_some() {
            return parsed.to_timestamp().map_err(|_| bad());
        }
        let local = match parsed.to_datetime() {
            Ok(dt) => dt,
            Err(_) => parsed.to_date().map_err(|_| bad())?.to_datetime(jiff::civil::Time::midnight()),
        };
        return local.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|_| bad());
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    let local = if let Ok(dt) = text.parse::<DateTime>() {
        dt
    } else if let Ok(date) = text.parse::<Date>() {
        date.to_datetime(jiff::civil::Time::midnight())
    } else {
        return Err(bad());
    };
    local.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|_| bad())
}

fn format_zoned(zoned: &Zoned, format: &str, what: &str) -> Result<Value, Error> {
    strtime::format(format, zoned)
        .map(Value::from)
        .map_err(|_| fail(format!("{what}: invalid format string {}", excerpt(format))))
}

/// `"10/01/2026 14:30" | parse_datetime(format='%m/%d/%Y %H:%M', tz='America/New_York')`
/// → `2026-10-01T18:30:00Z`.
fn parse_datetime(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let format: Option<&str> = kwargs.get("format")?;
    let tz = zone(kwargs.get("tz")?, "parse_datetime")?;
    kwargs.assert_all_used()?;
    Ok(Value::from(instant_of(&value, format, &tz, "parse_datetime")?.to_string()))
}

/// `order.PurchaseDate | format_datetime('%d.%m.%Y %H:%M', tz='Europe/Berlin')`.
fn format_datetime(value: Value, format: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let tz = zone(kwargs.get("tz")?, "format_datetime")?;
    kwargs.assert_all_used()?;
    let ts = instant_of(&value, None, &TimeZone::UTC, "format_datetime")?;
    format_zoned(&ts.to_zoned(tz), format, "format_datetime")
}

/// `order.PurchaseDate | to_date(tz='America/Los_Angeles')` → `2026-09-30`: the calendar
/// date in the seller's zone, which is what ERPs book an order on.
fn to_date(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let tz = zone(kwargs.get("tz")?, "to_date")?;
    kwargs.assert_all_used()?;
    let ts = instant_of(&value, None, &TimeZone::UTC, "to_date")?;
    Ok(Value::from(ts.to_zoned(tz).date().to_string()))
}

/// `order.PurchaseDate | to_timezone('Europe/London')` → `2026-10-01T13:00:00+01:00`.
fn to_timezone(value: Value, tz: &str) -> Result<Value, Error> {
    let tz = zone(Some(tz), "to_timezone")?;
    let ts = instant_of(&value, None, &TimeZone::UTC, "to_timezone")?;
    format_zoned(&ts.to_zoned(tz), "%Y-%m-%dT%H:%M:%S%:z", "to_timezone")
}

/// `order.PurchaseDate | add_days(30, tz='Europe/Berlin')`: calendar days in `tz` (DST-safe).
fn add_days(value: Value, days: i64, kwargs: Kwargs) -> Result<Value, Error> {
    let tz = zone(kwargs.get("tz")?, "add_days")?;
    kwargs.assert_all_used()?;
    if days.abs() > 36_500 {
        return Err(fail("add_days: at most 36500 days"));
    }
    let ts = instant_of(&value, None, &TimeZone::UTC, "add_days")?;
    let moved =
        ts.to_zoned(tz).checked_add(Span::new().days(days)).map_err(|_| fail("add_days: result out of range"))?;
    Ok(Value::from(moved.timestamp().to_string()))
}
