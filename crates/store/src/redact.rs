//! Redaction of buyer PII and credentials before anything is shown, logged or traced.

use serde_json::Value;

/// The replacement text.
pub const REDACTED: &str = "<redacted>";

/// Whether a JSON key names PII or a credential. Matching ignores case, `_` and `-`, so
/// `BuyerEmail`, `buyer_email` and `emailaddress1` all match.
pub fn is_sensitive_key(key: &str) -> bool {
    let k: String = key.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect();
    const EXACT: &[&str] = &[
        "name",
        "firstname",
        "lastname",
        "middlename",
        "fullname",
        "buyername",
        "recipientname",
        "contactname",
        "companyname",
        "street",
        "postalcode",
        "zip",
        "zipcode",
        "taxid",
        "vatnumber",
        "birthdate",
        "ssn",
    ];
    const CONTAINS: &[&str] = &[
        "email",
        "phone",
        "telephone",
        "mobile",
        "fax",
        "addressline",
        "street",
        "password",
        "secret",
        "token",
        "authorization",
        "apikey",
        "credential",
        "privatekey",
    ];
    EXACT.contains(&k.as_str())
        || CONTAINS.iter().any(|c| k.contains(c))
        || (k.starts_with("address") && (k.ends_with("line1") || k.ends_with("line2") || k.ends_with("line3")))
        || (k.starts_with("line") && k.len() == 5)
}

/// A copy of `value` with every sensitive field's value replaced by [`REDACTED`].
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive_key(k) && !v.is_null() { Value::String(REDACTED.into()) } else { json(v) };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        other => other.clone(),
    }
}

/// Redacts a stored JSON text; text that is not JSON is withheld entirely.
pub fn json_text(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&json(&v)).unwrap_or_else(|_| REDACTED.into()),
        Err(_) => format!("{REDACTED} ({} bytes, not JSON)", text.len()),
    }
}

/// A connection URL with any password replaced, for error messages.
pub fn url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.find('@') else { return url.to_string() };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!("{}://{}:{}@{}", &url[..scheme_end], &userinfo[..colon], REDACTED, &rest[at + 1..]),
        None => url.to_string(),
    }
}
