//! What a connection's `options` and `limits` may hold: each connector declares its options
//! beside its client ([`ferry_flows::connectors::options`]); the node adds the systems it
//! knows of (those with a connector and those to come). `ferry check` and `ferry run` run
//! these checks on the config's connections (from [`super::parse`]) and `ferry connections
//! add` on a connection kept in the store ([`validate`]).

use super::ConnectionConfig;
pub use ferry_flows::connectors::options::{check_endpoint, check_settings};

/// A system the node knows.
pub fn check_system(system: &str) -> Result<(), String> {
    ferry_flows::connectors::options::check_system(system, super::SYSTEMS)
}

/// Every problem with a connection, one message each.
pub fn validate(conn: &ConnectionConfig) -> Vec<String> {
    ferry_flows::connectors::options::validate(conn, super::SYSTEMS)
}
