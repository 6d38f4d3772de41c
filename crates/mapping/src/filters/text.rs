//! Text helpers: `coalesce`, `regex_replace`, `digits`, `left`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use minijinja::value::{Rest, Value};
use minijinja::{Environment, Error};
use regex::Regex;

use super::{excerpt, fail, text_of};
use crate::env::MAX_FIELD_BYTES;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("coalesce", coalesce);
    env.add_filter("coalesce", |first: Value, rest: Rest<Value>| {
        coalesce(Rest(std::iter::once(first).chain(rest.0).collect()))
    });
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("digits", |v: Value| {
        Ok::<_, Error>(Value::from(text_of(&v, "digits")?.chars().filter(char::is_ascii_digit).collect::<String>()))
    });
    env.add_filter("left", |v: Value, n: usize| {
        Ok::<_, Error>(Value::from(text_of(&v, "left")?.chars().take(n).collect::<String>()))
    });
}

/// The first argument that is defined, not none and not an empty string.
fn coalesce(values: Rest<Value>) -> Result<Value, Error> {
    Ok(values
        .0
        .into_iter()
        .find(|v| !v.is_undefined() && !v.is_none() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
        .unwrap_or(Value::from(())))
}

/// Compiled patterns are cached: a flow uses a handful, applied to every record.
fn compiled(pattern: &str) -> Result<Arc<Regex>, Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut guard = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(re) = guard.get(pattern) {
        return Ok(re.clone());
    }
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| fail(format!("regex_replace: invalid pattern {}: {e}", excerpt(pattern))))?;
    let re = Arc::new(re);
    if guard.len() < 256 {
        guard.insert(pattern.to_owned(), re.clone());
    }
    Ok(re)
}

/// `sku | regex_replace('-FBA$', '')`; `$1` refers to groups. The result is built piece by
/// piece and refused before it would exceed [`MAX_FIELD_BYTES`]: an empty pattern with a
/// long replacement multiplies the text's length, and must not allocate gigabytes first.
fn regex_replace(value: Value, pattern: &str, replacement: &str) -> Result<Value, Error> {
    let text = text_of(&value, "regex_replace")?;
    let re = compiled(pattern)?;
    // A `$name` expands to a group of the match, so to at most the match's length.
    let references = replacement.matches('$').count();
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(&text) {
        let Some(whole) = caps.get(0) else { continue };
        let most = (whole.start() - last)
            .saturating_add(replacement.len())
            .saturating_add(references.saturating_mul(whole.len()));
        if out.len().saturating_add(most) > MAX_FIELD_BYTES {
            return Err(too_long("regex_replace"));
        }
        out.push_str(&text[last..whole.start()]);
        caps.expand(replacement, &mut out);
        last = whole.end();
    }
    if out.len().saturating_add(text.len() - last) > MAX_FIELD_BYTES {
        return Err(too_long("regex_replace"));
    }
    out.push_str(&text[last..]);
    Ok(Value::from(out))
}

/// The error of a filter whose result would exceed [`MAX_FIELD_BYTES`].
pub(crate) fn too_long(filter: &str) -> Error {
    fail(format!("{filter}: the result would be longer than {MAX_FIELD_BYTES} bytes (the most a field may hold)"))
}
