use ferry_model::{Currency, CurrencyError, Decimal, Money, MoneyError};
use serde_json::json;

use super::fixtures::{money, usd};

#[test]
fn adds_and_subtracts_in_one_currency() {
    assert_eq!(usd("19.99").checked_add(&usd("0.01")), Ok(usd("20.00")));
    assert_eq!(usd("10.00").checked_sub(&usd("12.50")), Ok(usd("-2.50")));
    assert_eq!(Money::zero(Currency::EUR).checked_add(&money("1.5", Currency::EUR)), Ok(money("1.5", Currency::EUR)));
}

#[test]
fn mixing_currencies_is_an_error_not_a_sum() {
    let eur = money("5.00", Currency::EUR);
    let expected = MoneyError::CurrencyMismatch { left: Currency::USD, right: Currency::EUR };
    assert_eq!(usd("1.00").checked_add(&eur), Err(expected.clone()));
    assert_eq!(usd("1.00").checked_sub(&eur), Err(expected.clone()));
    assert_eq!(Money::sum(Currency::USD, &[usd("1.00"), eur, usd("2.00")]), Err(expected.clone()));
    let text = expected.to_string();
    assert!(text.contains("USD") && text.contains("EUR"), "{text}");
}

#[test]
fn sum_of_nothing_is_zero_in_the_currency() {
    let total = Money::sum(Currency::JPY, []).unwrap();
    assert!(total.is_zero());
    assert_eq!(total.currency(), Currency::JPY);
    assert_eq!(Money::sum(Currency::USD, &[usd("1.10"), usd("2.20"), usd("-0.30")]), Ok(usd("3.00")));
}

#[test]
fn negation_and_multiplication() {
    assert_eq!(-usd("19.99"), usd("-19.99"));
    assert_eq!(-&usd("-3.22"), usd("3.22"));
    assert!(usd("-0.01").is_negative());
    assert!(!usd("0.00").is_negative());
    assert_eq!(usd("19.99").checked_mul(3), Ok(usd("59.97")));
    assert_eq!(usd("19.99").checked_mul(0), Ok(usd("0")));
}

#[test]
fn overflow_is_an_error() {
    let max = Money::new(Decimal::MAX, Currency::USD);
    assert!(matches!(max.checked_add(&usd("1")), Err(MoneyError::Overflow { .. })));
    assert!(matches!(max.checked_mul(2), Err(MoneyError::Overflow { .. })));
    assert!(matches!((-max).checked_sub(&usd("1")), Err(MoneyError::Overflow { .. })));
}

#[test]
fn rounds_half_away_from_zero_to_minor_units() {
    let cases = [
        ("2.345", Currency::USD, "2.35"),
        ("2.344", Currency::USD, "2.34"),
        ("-2.345", Currency::USD, "-2.35"),
        ("2.5", Currency::JPY, "3"),
        ("1234.5", Currency::JPY, "1235"),
        ("-1234.5", Currency::JPY, "-1235"),
        ("1234.49", Currency::JPY, "1234"),
        ("1.2345", Currency::KWD, "1.235"),
        ("1.2344", Currency::KWD, "1.234"),
        ("0.0005", Currency::BHD, "0.001"),
        ("7", Currency::USD, "7"),
    ];
    for (amount, currency, expected) in cases {
        let rounded = money(amount, currency).round_to_minor_units();
        assert_eq!(rounded.amount().to_string(), expected, "{amount} {currency}");
        assert_eq!(rounded.currency(), currency);
    }
}

#[test]
fn knows_whether_an_amount_fits_the_minor_units() {
    assert!(usd("19.99").is_in_minor_units());
    assert!(usd("19.9900").is_in_minor_units());
    assert!(!usd("19.995").is_in_minor_units());
    assert!(money("1500", Currency::JPY).is_in_minor_units());
    assert!(!money("1500.5", Currency::JPY).is_in_minor_units());
    assert!(money("1.234", Currency::KWD).is_in_minor_units());
}

#[test]
fn displays_amount_and_code() {
    assert_eq!(usd("19.99").to_string(), "19.99 USD");
    assert_eq!(usd("5").to_string(), "5.00 USD");
    assert_eq!(usd("-3.2").to_string(), "-3.20 USD");
    assert_eq!(usd("19.995").to_string(), "19.995 USD");
    assert_eq!(money("1500", Currency::JPY).to_string(), "1500 JPY");
    assert_eq!(money("1.5", Currency::KWD).to_string(), "1.500 KWD");
    assert_eq!(format!("{:?}", usd("19.99")), "19.99 USD");
}

#[test]
fn serializes_amount_as_a_string() {
    let value = serde_json::to_value(usd("19.99")).unwrap();
    assert_eq!(value, json!({"amount": "19.99", "currency": "USD"}));
    let back: Money = serde_json::from_value(value).unwrap();
    assert_eq!(back, usd("19.99"));
    // Scale survives the trip: 19.90 stays "19.90".
    assert_eq!(serde_json::to_string(&usd("19.90")).unwrap(), r#"{"amount":"19.90","currency":"USD"}"#);
}

#[test]
fn deserialize_rejects_numbers_odd_text_and_bad_currencies() {
    for bad in [
        json!({"amount": 19.99, "currency": "USD"}),
        json!({"amount": "1e5", "currency": "USD"}),
        json!({"amount": "1_000", "currency": "USD"}),
        json!({"amount": " 1.00", "currency": "USD"}),
        json!({"amount": "1,00", "currency": "EUR"}),
        json!({"amount": "1.00", "currency": "usd"}),
        json!({"amount": "1.00", "currency": "QQQ"}),
        json!({"amount": "1.00"}),
    ] {
        assert!(serde_json::from_value::<Money>(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn parse_checks_amount_and_currency() {
    assert_eq!(Money::parse("-3.22", "GBP"), Ok(money("-3.22", Currency::GBP)));
    assert_eq!(Money::parse("0", "JPY"), Ok(money("0", Currency::JPY)));
    assert_eq!(Money::parse("12.", "USD"), Err(MoneyError::InvalidAmount("12.".to_owned())));
    assert_eq!(Money::parse("+1", "USD"), Err(MoneyError::InvalidAmount("+1".to_owned())));
    assert_eq!(Money::parse("1.00", "EURO"), Err(MoneyError::Currency(CurrencyError::Malformed("EURO".to_owned()))));
    let err = Money::parse("abc", "USD").unwrap_err();
    assert!(err.to_string().contains("abc"), "{err}");
}

#[test]
fn reads_amazon_money() {
    let money = Money::from_amazon_json(&json!({"CurrencyCode": "USD", "Amount": "19.99"})).unwrap();
    assert_eq!(money, usd("19.99"));
    let yen = Money::from_amazon_json(&json!({"CurrencyCode": "JPY", "Amount": "1500"})).unwrap();
    assert_eq!(yen.currency().minor_units(), 0);
    assert_eq!(Money::from_amazon_json(&money.to_amazon_json()), Ok(money));
    assert_eq!(money.to_amazon_json(), json!({"CurrencyCode": "USD", "Amount": "19.99"}));
}

#[test]
fn rejects_malformed_amazon_money() {
    let shape = |value: serde_json::Value| match Money::from_amazon_json(&value) {
        Err(MoneyError::AmazonShape(reason)) => reason,
        other => panic!("{value}: expected a shape error, got {other:?}"),
    };
    assert!(shape(json!({"CurrencyCode": "USD", "Amount": 19.99})).contains("number"));
    assert!(shape(json!({"CurrencyCode": "USD"})).contains("Amount"));
    assert!(shape(json!({"Amount": "1.00"})).contains("CurrencyCode"));
    assert!(shape(json!("19.99 USD")).contains("object"));
    // The serde shape of our own Money is not Amazon's.
    assert!(shape(json!({"amount": "1.00", "currency": "USD"})).contains("CurrencyCode"));
    assert_eq!(
        Money::from_amazon_json(&json!({"CurrencyCode": "XXY", "Amount": "1.00"})),
        Err(MoneyError::Currency(CurrencyError::Unknown("XXY".to_owned())))
    );
}
