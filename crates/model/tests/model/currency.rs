use ferry_model::{Currency, CurrencyError};

#[test]
fn minor_units_follow_iso_4217() {
    let cases =
        [("USD", 2), ("EUR", 2), ("JPY", 0), ("GBP", 2), ("KWD", 3), ("BHD", 3), ("CLP", 0), ("KRW", 0), ("CLF", 4)];
    for (code, minor) in cases {
        let currency: Currency = code.parse().expect(code);
        assert_eq!(currency.code(), code);
        assert_eq!(currency.minor_units(), minor, "{code}");
    }
}

#[test]
fn every_amazon_marketplace_currency_is_known() {
    for code in [
        "USD", "CAD", "MXN", "BRL", "GBP", "EUR", "SEK", "PLN", "TRY", "EGP", "AED", "SAR", "INR", "JPY", "AUD", "SGD",
        "CNY", "ZAR",
    ] {
        assert!(Currency::from_code(code).is_ok(), "{code}");
    }
}

#[test]
fn unknown_code_is_an_error_naming_the_code() {
    let err = Currency::from_code("XYZ").unwrap_err();
    assert_eq!(err, CurrencyError::Unknown("XYZ".to_owned()));
    assert!(err.to_string().contains("XYZ"), "{err}");
}

#[test]
fn malformed_codes_are_rejected_with_the_value() {
    for bad in ["usd", "US", "USDD", "", "U$D", "ÜSD"] {
        let err = Currency::from_code(bad).unwrap_err();
        assert!(matches!(err, CurrencyError::Malformed(_)), "{bad:?}: {err:?}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn serde_is_the_code_and_validates() {
    assert_eq!(serde_json::to_string(&Currency::JPY).unwrap(), r#""JPY""#);
    let eur: Currency = serde_json::from_str(r#""EUR""#).unwrap();
    assert_eq!(eur, Currency::EUR);
    let err = serde_json::from_str::<Currency>(r#""ABC""#).unwrap_err();
    assert!(err.to_string().contains("ABC"), "{err}");
}

#[test]
fn constants_match_parsed_values() {
    assert_eq!(Currency::from_code("KWD"), Ok(Currency::KWD));
    assert_eq!(Currency::USD.to_string(), "USD");
    assert_eq!(format!("{:?}", Currency::GBP), "GBP");
}
