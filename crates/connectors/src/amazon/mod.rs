//! Amazon Selling Partner API connector: LWA auth ([`auth`]), typed operations ([`client`]),
//! wire types ([`models`]), wire ↔ canonical ([`transformers`]), published limits
//! ([`limits`]), error classification ([`errors`]), notifications ([`notifications`]) and the
//! settlement V2 flat-file parser ([`settlement`]).

pub mod auth;
pub mod client;
pub mod errors;
pub mod limits;
pub mod models;
pub mod notifications;
pub mod poll;
pub mod rdt;
pub mod settlement;
pub mod sigv4;
pub mod sqs;
pub mod transformers;
pub mod webhooks;

pub use auth::{Grant, LwaAuth, LwaCredentials};
pub use client::orders::{GetOrderRequest, IncludedData, SearchOrdersRequest};
pub use client::{AmazonClient, AmazonConfig, HttpRequest, Region};
pub use limits::{AmazonLimits, OPERATION_LIMITS, OperationLimit, operation_limit};
