//! Ferry's operator console: what the operations and finance staff who never open a terminal
//! use. The admin API under `/api/v1` (bearer tokens with roles, every change audited), the
//! server-rendered dashboard, alert rules and their delivery, and anomaly flags on each flow's
//! volume, failures and marked money fields. The CLI's state-changing commands call the same
//! service functions as the API, so the two cannot disagree.

pub mod alerts;
pub mod anomaly;
pub mod api;
pub mod auth;
pub mod dashboard;
pub mod email;
pub mod flow_stats;
pub mod flows;
pub mod limits;
pub mod live;
pub mod service;

pub use service::ServiceError;
