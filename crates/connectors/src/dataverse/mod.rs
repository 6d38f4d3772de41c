//! Dataverse (Dynamics 365 CE) Web API connector: Entra ID auth ([`auth`]), typed operations
//! ([`client`]), `$batch` ([`batch`]), query and key building ([`query`]), error
//! classification ([`errors`]), the tables ([`entities`]), published limits ([`limits`]), change tracking
//! ([`changes`]), the metadata API for keys and custom columns ([`metadata`]), webhook receiving ([`webhooks`]) and canonical transformers
//! ([`transformers`]).

pub mod auth;
pub mod batch;
pub mod changes;
pub mod client;
pub mod config;
pub mod entities;
pub mod errors;
pub mod limits;
pub mod metadata;
pub mod models;
pub mod query;
pub mod transformers;
pub mod webhooks;

pub use batch::{Batch, ChangeSet, Operation, OperationResult, Outcome};
pub use changes::{Change, ChangeBatch, ChangeTrackingSource, DeltaCursor};
pub use client::{Concurrency, DataverseClient};
pub use config::DataverseConfig;
pub use errors::{ServiceProtection, classify, is_conflict, is_not_found};
pub use metadata::{ColumnDefinition, ColumnKind, EntityKey, KeyDefinition, KeyIndexStatus};
pub use models::{Page, Record};
pub use query::{Filter, Literal, Query, RecordKey};
