//! Filters and functions registered on the expression environment, one file per family.
//!
//! Every filter validates its input and returns a `minijinja::Error` naming what was
//! expected; none panics. Values that may be buyer PII (names, e-mails, phones, streets)
//! are masked in error messages; amounts, dates and codes are shown as excerpts because
//! they are what an engineer needs to fix a mapping.

pub mod address;
pub mod contact;
pub mod dates;
pub mod lookup;
pub mod money;
pub mod names;
pub mod pii;
pub mod text;

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

/// Registers every Ferry filter and function on `env`.
pub fn register(env: &mut Environment<'static>) {
    money::register(env);
    dates::register(env);
    address::register(env);
    names::register(env);
    contact::register(env);
    pii::register(env);
    lookup::register(env);
    text::register(env);
}

/// An invalid-operation error with `message`.
pub(crate) fn fail(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// A short, printable excerpt of a non-personal value (amount, date, code) for messages.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    format!("{out:?}")
}

/// What kind of value was given, for "expected X, got Y" messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "undefined",
        ValueKind::None => "none",
        ValueKind::Bool => "a boolean",
        ValueKind::Number => "a number",
        ValueKind::String => "a string",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => "a list",
        ValueKind::Map => "a mapping",
        ValueKind::Iterable => "an iterable",
        ValueKind::Plain => "an object",
        ValueKind::Invalid => "an invalid value",
        _ => "an unsupported value",
    }
}

/// The text of a string or number value; `what` names the filter for the error.
pub(crate) fn text_of(value: &Value, what: &str) -> Result<String, Error> {
    if let Some(text) = value.as_str() {
        return Ok(text.to_owned());
    }
    match value.kind() {
        ValueKind::Number => Ok(value.to_string()),
        _ => Err(fail(format!("{what}: expected text, got {}", kind_name(value)))),
    }
}

/// Reads `key` of a mapping value, treating a missing key or none as absent.
pub(crate) fn attr(value: &Value, key: &str) -> Option<Value> {
    match value.get_attr(key) {
        Ok(v) if !v.is_undefined() && !v.is_none() => Some(v),
        _ => None,
    }
}

/// The first of several candidate keys present in a mapping, as text.
pub(crate) fn attr_text(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| attr(value, key)).and_then(|v| {
        let text = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
        let text = text.trim().to_owned();
        (!text.is_empty()).then_some(text)
    })
}
