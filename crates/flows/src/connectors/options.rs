//! What a connection's `options` and `limits` may hold, and the range of every number in
//! them: each connector declares its options ([`super::Connector::options`]); this checks a
//! connection against them. `ferry check` and `ferry run` run these checks on the config's
//! connections (with the line of each setting) and `ferry connections add` on a connection
//! kept in the store ([`validate`]), so the engine never meets an option it would refuse or
//! ignore at start.

use serde_json::Value;

use super::{ConnectionConfig, connector};

/// The longest wait one SQS receive may ask for (Amazon SQS long polling allows 20 s).
pub const MAX_QUEUE_WAIT_SECONDS: u64 = 20;
/// The longest a poll interval may be: a day.
pub const MAX_POLL_SECONDS: f64 = 86_400.0;
/// `limits.scale` multiplies the vendors' published rates (above 1 only against a sandbox).
pub const SCALE_RANGE: (f64, f64) = (0.01, 1_000_000.0);

/// How one option is checked.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Non-empty text.
    Text,
    /// An http:// or https:// URL.
    Url,
    /// A list of Amazon marketplace ids, at least one.
    Marketplaces,
    /// A whole number of seconds in the range.
    WholeSeconds(u64, u64),
    /// A number of seconds in the range (fractions allowed).
    Seconds(f64, f64),
    /// Checked by [`super::connection_tls`] (path, PEM, system).
    CaFile,
}

/// One option a system reads: its name, kind and whether it must be given.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

/// An option that may be given.
pub const fn opt(name: &'static str, kind: Kind) -> Spec {
    Spec { name, kind, required: false }
}

/// An option that must be given.
pub const fn required(name: &'static str, kind: Kind) -> Spec {
    Spec { name, kind, required: true }
}

/// The options a system reads: its connector's, or, for a system Ferry has no client for,
/// only `ca_file` (whose own check names the systems that dial out).
fn specs(system: &str) -> &'static [Spec] {
    const CA_ONLY: &[Spec] = &[opt("ca_file", Kind::CaFile)];
    connector(system).map_or(CA_ONLY, |c| c.options())
}

/// The systems whose clients Ferry builds from the connection's secrets and limits.
fn clients() -> Vec<&'static str> {
    super::CONNECTORS.iter().map(|c| c.system()).collect()
}

/// Options that were read once and are refused now, with where their setting lives.
fn moved(name: &str) -> Option<&'static str> {
    match name {
        "poll_seconds" => Some(
            "the poll interval is the flow file's `trigger.poll.every` (e.g. `every: 5m`); remove options.poll_seconds",
        ),
        _ => None,
    }
}

/// Every problem with a connection, one message each: its system, endpoint, options, limits,
/// credentials and CA file. What `ferry connections add` runs; the config runs the same checks
/// with the line of each setting.
pub fn validate(conn: &ConnectionConfig, known_systems: &[&str]) -> Vec<String> {
    if let Err(m) = check_system(&conn.system, known_systems) {
        // The options of an unknown system cannot be judged.
        return vec![format!("connection {}: system: {m}", conn.id)];
    }
    let mut problems = Vec::new();
    if let Err(m) = check_endpoint(&conn.endpoint) {
        problems.push(format!("connection {}: endpoint: {m}", conn.id));
    }
    problems.extend(check_settings(conn));
    problems
}

/// A system the node knows (`known`: the config's list, connectors and systems to come).
pub fn check_system(system: &str, known: &[&str]) -> Result<(), String> {
    if known.contains(&system) {
        Ok(())
    } else {
        Err(format!("unknown system `{system}` (known: {})", known.join(", ")))
    }
}

/// An endpoint is an http:// or https:// URL.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("`{endpoint}` must start with http:// or https://"))
    }
}

/// Every problem with a connection's CA file, options, limits and credentials.
pub fn check_settings(conn: &ConnectionConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(m) = super::connection_tls(conn) {
        problems.push(m);
    }
    problems.extend(check(conn));
    problems
}

/// Every problem with a connection's options, limits and credentials, one message each.
fn check(conn: &ConnectionConfig) -> Vec<String> {
    let mut problems = Vec::new();
    let id = &conn.id;
    let specs = specs(&conn.system);
    let options = match &conn.options {
        Value::Object(map) => Some(map),
        Value::Null => None,
        other => {
            problems.push(format!("connection {id}: options must be a table, got {other}"));
            None
        }
    };
    for (name, value) in options.into_iter().flatten() {
        let Some(spec) = specs.iter().find(|s| s.name == name) else {
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            problems.push(match moved(name) {
                Some(hint) => format!("connection {id}: options.{name} is not read: {hint}"),
                None => format!(
                    "connection {id}: unknown option `{name}` for system `{}` (known: {})",
                    conn.system,
                    known.join(", ")
                ),
            });
            continue;
        };
        if let Err(m) = check_value(spec.kind, value) {
            problems.push(format!("connection {id}: options.{name} {m}"));
        }
    }
    for spec in specs.iter().filter(|s| s.required) {
        if options.is_none_or(|o| !o.contains_key(spec.name)) {
            let example = match spec.kind {
                Kind::Marketplaces => " (e.g. [\"ATVPDKIKX0DER\"])",
                _ => "",
            };
            problems.push(format!(
                "connection {id}: options.{} is required for system `{}`{example}",
                spec.name, conn.system
            ));
        }
    }
    let clients = clients();
    let client = clients.contains(&conn.system.as_str());
    match &conn.limits {
        Value::Null => {}
        Value::Object(map) => {
            for (name, value) in map {
                if name != "scale" {
                    problems.push(format!("connection {id}: unknown limit `{name}` (known: scale)"));
                } else if !client {
                    problems.push(format!(
                        "connection {id}: limits.scale is not used by system `{}` (only {} clients are rate-limited)",
                        conn.system,
                        clients.join(", ")
                    ));
                } else if let Err(m) = number_in(value, SCALE_RANGE.0, SCALE_RANGE.1) {
                    problems.push(format!("connection {id}: limits.scale {m}"));
                }
            }
        }
        other => problems.push(format!("connection {id}: limits must be a table, got {other}")),
    }
    if conn.credentials.is_some() && !client {
        problems.push(format!(
            "connection {id}: credentials is not used by system `{}` (only {} connections read secrets)",
            conn.system,
            clients.join(", ")
        ));
    }
    problems
}

fn check_value(kind: Kind, value: &Value) -> Result<(), String> {
    match kind {
        Kind::Text => match value.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(()),
            _ => Err(format!("must be a non-empty text, got {value}")),
        },
        Kind::Url => match value.as_str() {
            Some(s) if s.starts_with("https://") || s.starts_with("http://") => Ok(()),
            _ => Err(format!("must be a URL starting with https:// or http://, got {value}")),
        },
        Kind::Marketplaces => {
            let ids = value.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
                format!("must be a list of at least one marketplace id (e.g. [\"ATVPDKIKX0DER\"]), got {value}")
            })?;
            for id in ids {
                let text = id.as_str().ok_or_else(|| format!("must hold marketplace ids as text, got {id}"))?;
                ferry_model::AmazonMarketplaceId::new(text).map_err(|e| format!("holds an invalid id: {e}"))?;
            }
            Ok(())
        }
        Kind::WholeSeconds(min, max) => match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => Err(format!("must be a whole number of seconds from {min} to {max}, got {value}")),
        },
        Kind::Seconds(min, max) => number_in(value, min, max).map_err(|m| format!("(seconds) {m}")),
        Kind::CaFile => Ok(()),
    }
}

fn number_in(value: &Value, min: f64, max: f64) -> Result<(), String> {
    match value.as_f64() {
        Some(n) if n.is_finite() && n >= min && n <= max => Ok(()),
        _ => Err(format!("must be a number from {min} to {max}, got {value}")),
    }
}
