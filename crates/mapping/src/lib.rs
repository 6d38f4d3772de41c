//! Ferry's mapping engine and flow definitions.
//!
//! - [`flow`]: the flow file format (YAML with positions, JSON Schema).
//! - [`CompiledMapping`]: a flow compiled once and applied per record.
//! - [`check::check_dir`]: `ferry check`, every problem with file:line:column.
//! - [`preview::preview`]: `ferry map preview` and the dashboard's live preview.
//! - [`suggest::suggest`]: ranked source-field candidates for target fields.
//! - [`filters`]: money, dates, addresses, names, contacts, PII, lookups, text.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod compiled;
pub mod diagnostic;
pub mod env;
pub mod expr;
pub mod filters;
pub mod flow;
mod json_value;
pub mod pii_mask;
pub mod preview;
pub mod source;
pub mod suggest;

pub use compiled::{CompiledMapping, FieldError, HeldLine, LookupAction, MappedRecord, Outcome};
pub use diagnostic::Diagnostic;
pub use flow::{Flow, json_schema};
pub use source::{LookupError, LookupSource, NoLookups, TableLookups};
