//! Dataverse sandbox tests: a real server on 127.0.0.1:0, spoken to over HTTP.

mod batch;
mod crud;
mod events;
mod limits;
mod metadata;
mod query;
pub mod samples;
pub mod support;
