//! Flows built into every node, independent of any connector: a no-op (benchmarks), the
//! runtime self-check, and an idempotent HTTP call.

mod http_call;
mod noop;
mod selfcheck;

use ferry_runtime::Registry;

pub use http_call::HttpCall;
pub use noop::Noop;
pub use selfcheck::Behaviour;

/// Flow names.
pub const NOOP: &str = "builtin.noop";
pub const SELFCHECK: &str = "builtin.selfcheck";
pub const HTTP_CALL: &str = "builtin.http_call";

/// Registers the built-in flows; `http_call` verifies servers against `tls`.
pub fn register(registry: &mut Registry, tls: &ferry_connectors::http::Tls) -> anyhow::Result<()> {
    registry.register(NOOP, noop::Noop);
    registry.register(SELFCHECK, selfcheck::SelfCheck);
    registry.register(HTTP_CALL, HttpCall::new(tls)?);
    Ok(())
}
