//! Decimal and money arithmetic. Amounts are `rust_decimal` from end to end: an amount
//! arrives as a decimal string (Amazon `Money.Amount`), is computed exactly and leaves as a
//! decimal string, because MiniJinja's numbers are f64/i64 and would lose cents.
//!
//! Money values are read in two shapes: Amazon's `{CurrencyCode, Amount}` and the canonical
//! `{amount, currency}`; money filters return the canonical shape.

use std::str::FromStr;

use ferry_model::{Currency, Money};
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, State};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{attr, excerpt, fail, kind_name};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("decimal", decimal);
    env.add_filter("decimal_add", |a: Value, b: Value| binary("decimal_add", a, b, Decimal::checked_add));
    env.add_filter("decimal_sub", |a: Value, b: Value| binary("decimal_sub", a, b, Decimal::checked_sub));
    env.add_filter("decimal_mul", |a: Value, b: Value| binary("decimal_mul", a, b, Decimal::checked_mul));
    env.add_filter("decimal_div", decimal_div);
    env.add_filter("round_decimal", round_decimal);
    env.add_filter("sum_decimal", sum_decimal);
    env.add_filter("money", money);
    env.add_filter("money_amount", |v: Value| {
        Ok::<_, Error>(Value::from(money_of(&v, "money_amount")?.amount().to_string()))
    });
    env.add_filter("money_currency", |v: Value| {
        Ok::<_, Error>(Value::from(money_of(&v, "money_currency")?.currency().code().to_owned()))
    });
    env.add_filter("money_round", |v: Value| {
        Ok::<_, Error>(money_value(&money_of(&v, "money_round")?.round_to_minor_units()))
    });
    env.add_filter("money_add", |a: Value, b: Value| money_binary("money_add", a, b, Money::checked_add));
    env.add_filter("money_sub", |a: Value, b: Value| money_binary("money_sub", a, b, Money::checked_sub));
    env.add_filter("convert_currency", convert_currency);
}

/// Parses a decimal from a string, an integer, or the amount of a money value.
pub(crate) fn decimal_of(value: &Value, what: &str) -> Result<Decimal, Error> {
    match value.kind() {
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default().trim();
            parse_decimal(text).ok_or_else(|| fail(format!("{what}: {} is not a decimal number", excerpt(text))))
        }
        ValueKind::Number => {
            if let Some(int) = value.as_i64() {
                return Ok(Decimal::from(int));
            }
            // A float literal written in the expression: its shortest text form is what the
            // author typed, so parsing that text is exact for every literal they can write.
            let text = value.to_string();
            Decimal::from_str(&text).map_err(|_| fail(format!("{what}: {} is not a finite decimal", excerpt(&text))))
        }
        ValueKind::Map => Ok(money_of(value, what)?.amount()),
        _ => Err(fail(format!("{what}: expected a decimal number, got {}", kind_name(value)))),
    }
}

/// Accepts `-12.50`, `12`, `+3.1`, `1e3` is refused: amounts never come in exponent form,
/// so an `e` means the field holds something else.
fn parse_decimal(text: &str) -> Option<Decimal> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let ok =
        !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()) && fraction.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    Decimal::from_str(text.strip_prefix('+').unwrap_or(text)).ok()
}

/// Reads a money value (Amazon or canonical shape).
pub(crate) fn money_of(value: &Value, what: &str) -> Result<Money, Error> {
    if value.kind() != ValueKind::Map {
        return Err(fail(format!(
            "{what}: expected money ({{CurrencyCode, Amount}} or {{amount, currency}}), got {}",
            kind_name(value)
        )));
    }
    let (amount, currency) = match (attr(value, "Amount"), attr(value, "CurrencyCode")) {
        (Some(a), Some(c)) => (a, c),
        _ => match (attr(value, "amount"), attr(value, "currency")) {
            (Some(a), Some(c)) => (a, c),
            _ => return Err(fail(format!("{what}: money needs both an amount and a currency code"))),
        },
    };
    let amount = decimal_of(&amount, what)?;
    let currency = currency_of(&currency, what)?;
    Ok(Money::new(amount, currency))
}

/// Reads an ISO 4217 currency code.
pub(crate) fn currency_of(value: &Value, what: &str) -> Result<Currency, Error> {
    let code =
        value.as_str().ok_or_else(|| fail(format!("{what}: expected a currency code, got {}", kind_name(value))))?;
    Currency::from_code(code.trim()).map_err(|e| fail(format!("{what}: {e}")))
}

pub(crate) fn money_value(money: &Money) -> Value {
    let mut map = std::collections::BTreeMap::new();
    map.insert("amount", Value::from(money.amount().to_string()));
    map.insert("currency", Value::from(money.currency().code().to_owned()));
    Value::from(map)
}

fn decimal(value: Value) -> Result<Value, Error> {
    Ok(Value::from(decimal_of(&value, "decimal")?.to_string()))
}

fn binary(what: &str, a: Value, b: Value, op: fn(Decimal, Decimal) -> Option<Decimal>) -> Result<Value, Error> {
    let (a, b) = (decimal_of(&a, what)?, decimal_of(&b, what)?);
    op(a, b).map(|d| Value::from(d.to_string())).ok_or_else(|| fail(format!("{what}: result out of range")))
}

fn decimal_div(a: Value, b: Value) -> Result<Value, Error> {
    let (a, b) = (decimal_of(&a, "decimal_div")?, decimal_of(&b, "decimal_div")?);
    if b.is_zero() {
        return Err(fail("decimal_div: division by zero"));
    }
    a.checked_div(b)
        .map(|d| Value::from(d.normalize().to_string()))
        .ok_or_else(|| fail("decimal_div: result out of range"))
}

fn rounding(mode: &str) -> Result<RoundingStrategy, Error> {
    Ok(match mode {
        "half_even" | "bankers" => RoundingStrategy::MidpointNearestEven,
        "half_up" => RoundingStrategy::MidpointAwayFromZero,
        "half_down" => RoundingStrategy::MidpointTowardZero,
        "up" => RoundingStrategy::AwayFromZero,
        "down" | "truncate" => RoundingStrategy::ToZero,
        "ceiling" => RoundingStrategy::ToPositiveInfinity,
        "floor" => RoundingStrategy::ToNegativeInfinity,
        other => {
            return Err(fail(format!(
                "round_decimal: unknown mode {}; use half_even, half_up, half_down, up, down, ceiling or floor",
                excerpt(other)
            )));
        }
    })
}

/// `amount | round_decimal(2, mode='half_up')`: rounds and pads to exactly `places` digits.
fn round_decimal(value: Value, places: Option<u32>, kwargs: Kwargs) -> Result<Value, Error> {
    let mode: Option<&str> = kwargs.get("mode")?;
    kwargs.assert_all_used()?;
    let places = places.unwrap_or(2);
    if places > 12 {
        return Err(fail("round_decimal: at most 12 decimal places"));
    }
    let mut d =
        decimal_of(&value, "round_decimal")?.round_dp_with_strategy(places, rounding(mode.unwrap_or("half_even"))?);
    d.rescale(places);
    Ok(Value::from(d.to_string()))
}

/// `lines | sum_decimal(attribute='ItemPrice')`: exact sum of amounts in a list.
fn sum_decimal(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let attribute: Option<&str> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    let mut total = Decimal::ZERO;
    for item in
        value.try_iter().map_err(|_| fail(format!("sum_decimal: expected a list, got {}", kind_name(&value))))?
    {
        let item = match attribute {
            Some(path) => path.split('.').try_fold(item, |v, key| v.get_attr(key))?,
            None => item,
        };
        if item.is_undefined() || item.is_none() {
            return Err(fail("sum_decimal: an item has no value for the attribute"));
        }
        total = total
            .checked_add(decimal_of(&item, "sum_decimal")?)
            .ok_or_else(|| fail("sum_decimal: result out of range"))?;
    }
    Ok(Value::from(total.to_string()))
}

/// `"19.99" | money("USD")` or `order.OrderTotal | money`: canonical money value.
fn money(value: Value, currency: Option<Value>) -> Result<Value, Error> {
    let money = match currency {
        Some(code) => Money::new(decimal_of(&value, "money")?, currency_of(&code, "money")?),
        None => money_of(&value, "money")?,
    };
    Ok(money_value(&money))
}

fn money_binary(
    what: &str,
    a: Value,
    b: Value,
    op: fn(&Money, &Money) -> Result<Money, ferry_model::MoneyError>,
) -> Result<Value, Error> {
    let (a, b) = (money_of(&a, what)?, money_of(&b, what)?);
    op(&a, &b).map(|m| money_value(&m)).map_err(|e| fail(format!("{what}: {e}")))
}

/// `order.OrderTotal | convert_currency('EUR')`: converts with the rate kept in the store
/// (through the flow's lookup source) and rounds to the target currency's minor units.
fn convert_currency(state: &State, value: Value, to: Value) -> Result<Value, Error> {
    let money = money_of(&value, "convert_currency")?;
    let to = currency_of(&to, "convert_currency")?;
    if money.currency() == to {
        return Ok(money_value(&money));
    }
    let tables = super::lookup::tables(state, "convert_currency")?;
    let rate =
        tables.source.rate(money.currency(), to).map_err(|e| fail(format!("convert_currency: {e}")))?.ok_or_else(
            || fail(format!("convert_currency: no exchange rate from {} to {to} in the rates table", money.currency())),
        )?;
    let amount = money.amount().checked_mul(rate).ok_or_else(|| fail("convert_currency: result out of range"))?;
    Ok(money_value(&Money::new(amount, to).round_to_minor_units()))
}
