//! SP-API wire types, one file per API. Fields Ferry reads are typed; every other field is
//! kept in `extra`, so a response deserialises and re-serialises without losing anything
//! (Amazon adds fields without notice). Buyer data is held in [`Pii`] so `Debug` redacts it.

pub mod fba_inventory;
pub mod feeds;
pub mod finances;
pub mod fulfillment_outbound;
pub mod listings;
pub mod notifications_api;
pub mod orders;
pub mod orders_v0;
pub mod reports;
pub mod tokens;

use serde_json::{Map, Value};

pub use ferry_model::Pii;

/// Fields of a wire object that Ferry does not read, kept verbatim.
pub type Extra = Map<String, Value>;
