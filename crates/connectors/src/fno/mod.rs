//! Dynamics 365 Finance & Operations connector (OData v4 at `/data/`, DYNAMICS.md §B):
//! Entra ID client credentials in the v2 `scope` or v1 `resource` form ([`auth`]), typed
//! operations with company scoping ([`client`]), `$batch` with atomic change sets
//! ([`batch`]), a `$filter` builder in F&O's dialect and composite keys with `dataAreaId`
//! ([`query`]), error classification that keeps F&O's `innererror` text ([`errors`]), the
//! entities' typed fields and ids ([`models`]), limits ([`limits`]) and business events
//! ([`webhooks`]).

pub mod auth;
pub mod batch;
pub mod client;
pub mod config;
pub mod errors;
pub mod limits;
pub mod models;
pub mod query;
pub mod webhooks;

pub use batch::{Batch, Operation, OperationResult, Outcome};
pub use client::FnoClient;
pub use config::{FnoConfig, TokenForm};
pub use errors::{classify, is_conflict, is_not_found};
pub use models::{DataAreaId, Page, Record};
pub use query::{EntityKey, Filter, Literal, Query};
