//! E-mail and phone normalisation for matching customers across systems (dedupe keys).

use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::{fail, text_of};
use crate::pii_mask::{mask_email, mask_phone};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("normalize_email", normalize_email);
    env.add_filter("email_domain", |v: Value| {
        let email = text_of(&normalize_email(v)?, "email_domain")?;
        Ok::<_, Error>(Value::from(email.rsplit_once('@').map(|(_, d)| d.to_owned()).unwrap_or_default()))
    });
    env.add_filter("normalize_phone", normalize_phone);
}

/// Trims and lower-cases; refuses anything that is not `local@domain.tld`.
fn normalize_email(value: Value) -> Result<Value, Error> {
    let text = text_of(&value, "normalize_email")?;
    let email = text.trim().trim_start_matches("mailto:").to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        }
        None => false,
    };
    if !valid {
        return Err(fail(format!("normalize_email: {} is not an e-mail address", mask_email(text.trim()))));
    }
    Ok(Value::from(email))
}

/// Country calling codes for `normalize_phone`'s `country` (numbers written nationally).
#[rustfmt::skip]
const CALLING_CODES: &[(&str, &str)] = &[
    ("US","1"),("CA","1"),("PR","1"),("MX","52"),("BR","55"),("GB","44"),("DE","49"),("FR","33"),("IT","39"),
    ("ES","34"),("NL","31"),("SE","46"),("PL","48"),("BE","32"),("IE","353"),("TR","90"),("AE","971"),
    ("SA","966"),("EG","20"),("IN","91"),("JP","81"),("AU","61"),("SG","65"),("CH","41"),("AT","43"),
    ("DK","45"),("NO","47"),("FI","358"),("PT","351"),("NZ","64"),("CN","86"),("KR","82"),("ZA","27"),
    ("SM","378"),("VA","39"),
];

/// Countries with no trunk prefix whose national numbers keep their leading 0 in E.164
/// (Italy `06 1234 5678` → `+390612345678`; San Marino and the Vatican dial the same way).
const KEEP_LEADING_ZERO: &[&str] = &["IT", "SM", "VA"];

/// `"(206) 555-0100" | normalize_phone('US')` → `+12065550100` (E.164). Extensions
/// (`x123`, `ext. 123`) are dropped, a leading `00` or `+` means the number is international.
fn normalize_phone(value: Value, country: Option<&str>) -> Result<Value, Error> {
    let raw = text_of(&value, "normalize_phone")?;
    let lower = raw.to_lowercase();
    let main = lower.split(['x', '#']).next().unwrap_or_default();
    let main = main.split("ext").next().unwrap_or_default().trim();
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    let international = main.starts_with('+') || main.starts_with("00");
    let e164 = if international {
        digits.strip_prefix("00").map(str::to_owned).unwrap_or(digits)
    } else {
        let country = country.unwrap_or("US");
        let code = CALLING_CODES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(country))
            .map(|(_, code)| *code)
            .ok_or_else(|| fail(format!("normalize_phone: no calling code known for country {country:?}")))?;
        let national = if code == "1" {
            digits.strip_prefix('1').filter(|d| d.len() == 10).unwrap_or(&digits).to_owned()
        } else if KEEP_LEADING_ZERO.iter().any(|c| c.eq_ignore_ascii_case(country)) {
            digits
        } else {
            digits.strip_prefix('0').unwrap_or(&digits).to_owned() // one trunk prefix 0 (UK 020…, DE 030…)
        };
        if code == "1" && national.len() != 10 {
            return Err(fail(format!("normalize_phone: {} is not a 10-digit NANP number", mask_phone(&raw))));
        }
        format!("{code}{national}")
    };
    if !(8..=15).contains(&e164.len()) {
        return Err(fail(format!(
            "normalize_phone: {} has {} digits; E.164 numbers have 8 to 15",
            mask_phone(&raw),
            e164.len()
        )));
    }
    Ok(Value::from(format!("+{e164}")))
}
