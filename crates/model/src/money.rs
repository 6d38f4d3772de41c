//! An amount of one currency.
//!
//! Amounts are `rust_decimal::Decimal`, never floats, and arithmetic across currencies is an
//! error value rather than a panic or a silent sum: a settlement mixing EUR and GBP must
//! stop at the mixing, not post a wrong journal.

use std::fmt;
use std::ops::Neg;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::currency::{Currency, CurrencyError};
use crate::ids::excerpt;

/// Why a money operation or parse failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Two amounts of different currencies were combined.
    #[error("currency mismatch: cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// Currency of the left operand (or the expected one).
        left: Currency,
        /// Currency of the right operand (or the one found).
        right: Currency,
    },
    /// The result does not fit a `Decimal` (about 7.9 × 10²⁸).
    #[error("amount overflow in {operation}")]
    Overflow {
        /// The operation that overflowed.
        operation: &'static str,
    },
    /// The currency code is malformed or unknown.
    #[error(transparent)]
    Currency(#[from] CurrencyError),
    /// The amount text is not a decimal number.
    #[error("invalid amount {0:?}: expected a decimal number such as 19.99")]
    InvalidAmount(String),
    /// A JSON value is not Amazon's `Money` shape.
    #[error("invalid Amazon Money: {0}")]
    AmazonShape(&'static str),
}

/// Parses `-?digits(.digits)?` only: `Decimal`'s own parser also takes `1_000` and `1e5`,
/// which in a price column mean a broken export, not a number.
fn parse_amount(text: &str) -> Result<Decimal, MoneyError> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !fraction.is_none_or(digits) {
        return Err(MoneyError::InvalidAmount(excerpt(text)));
    }
    text.parse::<Decimal>().map_err(|_| MoneyError::InvalidAmount(excerpt(text)))
}

/// Serde for the amount: a JSON string both ways, parsed as strictly as [`Money::parse`].
mod amount_text {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(amount: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(amount)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_amount(&text).map_err(serde::de::Error::custom)
    }
}

/// An amount and its currency. Serializes as `{"amount":"19.99","currency":"USD"}` (the amount
/// is a string so no JSON parser turns it into a float); a JSON number is rejected on
/// deserialize. Equality is numeric: `19.9 USD == 19.90 USD`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "amount_text")]
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount of `currency`, kept at the scale given (no rounding).
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Zero in `currency`: the start of a sum.
    pub fn zero(currency: Currency) -> Self {
        Money::new(Decimal::ZERO, currency)
    }

    /// Parses text such as `"19.99"` or `"-3.22"` and a code such as `"USD"`. Signs other
    /// than a leading `-`, exponents, separators and spaces are rejected.
    pub fn parse(amount: &str, currency: &str) -> Result<Self, MoneyError> {
        let currency = Currency::from_code(currency)?;
        Ok(Money::new(parse_amount(amount)?, currency))
    }

    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when the amount is zero (at any scale).
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// True when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// The absolute value.
    pub fn abs(&self) -> Self {
        Money::new(self.amount.abs(), self.currency)
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }

    /// `self + other`; an error if the currencies differ or the sum overflows.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow { operation: "add" })
    }

    /// `self - other`; an error if the currencies differ or the difference overflows.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_sub(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow { operation: "subtract" })
    }

    /// `self × quantity`, e.g. a unit price times the quantity ordered.
    pub fn checked_mul(&self, quantity: u32) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(Decimal::from(quantity))
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow { operation: "multiply" })
    }

    /// Sums amounts that must all be in `currency`; an empty input is zero.
    pub fn sum<'a>(currency: Currency, items: impl IntoIterator<Item = &'a Money>) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), |total, item| total.checked_add(item))
    }

    /// Rounds to the currency's minor units (JPY 0, USD 2, KWD 3), **half away from zero**
    /// (2.345 → 2.35, −2.345 → −2.35): the rule of invoices and of Dynamics' currency
    /// rounding, where banker's rounding would surprise an accountant comparing totals.
    pub fn round_to_minor_units(&self) -> Money {
        Money::new(
            self.amount.round_dp_with_strategy(self.currency.minor_units(), RoundingStrategy::MidpointAwayFromZero),
            self.currency,
        )
    }

    /// True when the amount has no more decimals than the currency's minor units allow, i.e.
    /// it can be posted to a ledger as is (trailing zeros do not count).
    pub fn is_in_minor_units(&self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_units()
    }

    /// Reads Amazon's Orders API `Money` shape, `{"CurrencyCode":"USD","Amount":"19.99"}`.
    /// A JSON-number `Amount` is refused: it would have passed through a float already.
    pub fn from_amazon_json(value: &serde_json::Value) -> Result<Money, MoneyError> {
        let object =
            value.as_object().ok_or(MoneyError::AmazonShape("expected an object with CurrencyCode and Amount"))?;
        let code = match object.get("CurrencyCode") {
            Some(serde_json::Value::String(code)) => code,
            Some(_) => return Err(MoneyError::AmazonShape("CurrencyCode is not a string")),
            None => return Err(MoneyError::AmazonShape("CurrencyCode is missing")),
        };
        let amount = match object.get("Amount") {
            Some(serde_json::Value::String(amount)) => amount,
            Some(serde_json::Value::Number(_)) => {
                return Err(MoneyError::AmazonShape("Amount is a JSON number; Amazon sends a decimal string"));
            }
            Some(_) => return Err(MoneyError::AmazonShape("Amount is not a string")),
            None => return Err(MoneyError::AmazonShape("Amount is missing")),
        };
        Money::parse(amount, code)
    }

    /// Writes Amazon's Orders API `Money` shape.
    pub fn to_amazon_json(&self) -> serde_json::Value {
        serde_json::json!({
            "CurrencyCode": self.currency.code(),
            "Amount": self.amount.to_string(),
        })
    }
}

impl Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        Money::new(-self.amount, self.currency)
    }
}

impl Neg for &Money {
    type Output = Money;

    fn neg(self) -> Money {
        -*self
    }
}

impl fmt::Display for Money {
    /// `19.99 USD`. Amounts with fewer decimals than the currency's minor units are padded
    /// (`5 USD` → `5.00 USD`); extra decimals are shown, never rounded away.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minor = self.currency.minor_units();
        if self.amount.scale() < minor {
            write!(f, "{:.*} {}", minor as usize, self.amount, self.currency)
        } else {
            write!(f, "{} {}", self.amount, self.currency)
        }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
