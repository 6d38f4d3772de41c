//! Dataverse connector tests, against the Dataverse sandbox over real sockets.

mod batch_codec;
mod client;
mod events;
mod flow;
#[path = "../../../sandbox/tests/sandbox/dataverse/samples.rs"]
mod samples;
mod scale;
mod support;
mod transformers;
