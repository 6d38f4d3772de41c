//! Person name splitting: Amazon gives one `BuyerName`, CRMs want `firstname`/`lastname`.
//! Handles `Last, First`, honorifics, suffixes and surname particles (`van der`, `de la`).

use std::collections::BTreeMap;

use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::{fail, text_of};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("split_name", |v: Value| split(&v).map(|n| n.into_value()));
    env.add_filter("first_name", |v: Value| split(&v).map(|n| Value::from(n.first)));
    env.add_filter("last_name", |v: Value| split(&v).map(|n| Value::from(n.last)));
}

const PREFIXES: &[&str] = &["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "herr", "frau", "mme", "mlle", "sr", "sra"];
const SUFFIXES: &[&str] = &["jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"];
const PARTICLES: &[&str] =
    &["van", "von", "der", "den", "de", "del", "della", "la", "le", "da", "di", "du", "dos", "das", "bin", "al"];

/// The parts of a person's name.
pub(crate) struct NameParts {
    prefix: String,
    first: String,
    middle: String,
    last: String,
    suffix: String,
}

impl NameParts {
    fn into_value(self) -> Value {
        let mut map = BTreeMap::new();
        for (k, v) in [
            ("prefix", self.prefix),
            ("first", self.first),
            ("middle", self.middle),
            ("last", self.last),
            ("suffix", self.suffix),
        ] {
            map.insert(k, Value::from(v));
        }
        Value::from(map)
    }
}

fn bare(word: &str) -> String {
    word.trim_end_matches(['.', ',']).to_lowercase()
}

pub(crate) fn split(value: &Value) -> Result<NameParts, Error> {
    let text = text_of(value, "split_name")?;
    let text = text.trim();
    if text.is_empty() {
        return Err(fail("split_name: the name is empty"));
    }
    // "Doe, Jane" → "Jane Doe" (but keep "Jane Doe, Jr." as a suffix form).
    let reordered;
    let text = match text.split_once(',') {
        Some((last, first)) if !SUFFIXES.contains(&bare(first).as_str()) && !first.trim().is_empty() => {
            reordered = format!("{} {}", first.trim(), last.trim());
            reordered.as_str()
        }
        _ => text,
    };
    let mut words: Vec<&str> =
        text.split_whitespace().map(|w| w.trim_end_matches(',')).filter(|w| !w.is_empty()).collect();
    let mut parts = NameParts {
        prefix: String::new(),
        first: String::new(),
        middle: String::new(),
        last: String::new(),
        suffix: String::new(),
    };
    if words.len() > 1 && PREFIXES.contains(&bare(words[0]).as_str()) {
        parts.prefix = words.remove(0).to_owned();
    }
    if words.len() > 1 && words.last().is_some_and(|w| SUFFIXES.contains(&bare(w).as_str())) {
        parts.suffix = words.pop().unwrap_or_default().to_owned();
    }
    match words.len() {
        0 => {}
        1 => parts.last = words[0].to_owned(),
        _ => {
            parts.first = words[0].to_owned();
            // The surname starts at the first particle after the first name, else it is the last word.
            let start = (1..words.len() - 1)
                .find(|&i| PARTICLES.contains(&words[i].to_lowercase().as_str()))
                .unwrap_or(words.len() - 1);
            parts.middle = words[1..start].join(" ");
            parts.last = words[start..].join(" ");
        }
    }
    Ok(parts)
}
