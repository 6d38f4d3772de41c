//! Ferry's job runtime: a worker pool over the durable store that claims jobs under a lease,
//! runs flows, classifies failures, retries with backoff, honours rate limits and circuit
//! breakers, and dead-letters what cannot succeed.

pub mod backoff;
pub mod breaker;
pub mod bucket;
mod clock;
mod decide;
pub mod failure;
mod handler;
pub mod limits_view;
mod pool;
mod resilience;
pub mod shared_buckets;

pub use decide::{decide, human};
pub use handler::{Effects, Handler, HandlerFuture, JobContext, JobError, Registry, TenantHandlers};
pub use limits_view::LimitsSnapshot;
pub use pool::{Pool, PoolConfig, PoolStats, default_node_id};
pub use resilience::{CallObserver, CallSpec, Cap, Resilience};
