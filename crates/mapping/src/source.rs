//! What expressions may read from outside the record: lookup tables, the xref table,
//! exchange rates and target records. The runtime backs this with the store; tests and the
//! preview back it with [`TableLookups`]. Expressions have no other way to reach I/O.

use std::collections::HashMap;

use ferry_model::Currency;
use rust_decimal::Decimal;
use serde_json::Value;

/// A lookup the backing store could not answer (as opposed to "not found", which is `Ok(None)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lookup source failed: {0}")]
pub struct LookupError(pub String);

/// Read-only data the engine hands to expressions and flow lookups.
pub trait LookupSource: Send + Sync {
    /// A value from a named table kept in the store (`lookup('warehouses')`).
    fn table(&self, table: &str, key: &str) -> Result<Option<Value>, LookupError>;
    /// The target id recorded for a source id of `entity` in the xref table.
    fn xref(&self, entity: &str, source_id: &str) -> Result<Option<String>, LookupError>;
    /// How many units of `to` one unit of `from` buys.
    fn rate(&self, from: Currency, to: Currency) -> Result<Option<Decimal>, LookupError>;
    /// A target record of `entity` whose field `by` equals `key` (flow `lookups:`).
    fn find(&self, entity: &str, by: &str, key: &str) -> Result<Option<Value>, LookupError>;
}

/// A source that knows nothing: every lookup is "not found".
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLookups;

impl LookupSource for NoLookups {
    fn table(&self, _: &str, _: &str) -> Result<Option<Value>, LookupError> {
        Ok(None)
    }
    fn xref(&self, _: &str, _: &str) -> Result<Option<String>, LookupError> {
        Ok(None)
    }
    fn rate(&self, _: Currency, _: Currency) -> Result<Option<Decimal>, LookupError> {
        Ok(None)
    }
    fn find(&self, _: &str, _: &str, _: &str) -> Result<Option<Value>, LookupError> {
        Ok(None)
    }
}

/// In-memory tables: for tests, the preview and small deployments.
#[derive(Debug, Default, Clone)]
pub struct TableLookups {
    tables: HashMap<(String, String), Value>,
    xrefs: HashMap<(String, String), String>,
    rates: HashMap<(Currency, Currency), Decimal>,
    records: HashMap<(String, String, String), Value>,
}

impl TableLookups {
    /// An empty set of tables.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds `key → value` to `table`.
    pub fn with_table_entry(mut self, table: &str, key: &str, value: Value) -> Self {
        self.tables.insert((table.to_owned(), key.to_owned()), value);
        self
    }
    /// Records that source id `source_id` of `entity` is `target_id` in the target.
    pub fn with_xref(mut self, entity: &str, source_id: &str, target_id: &str) -> Self {
        self.xrefs.insert((entity.to_owned(), source_id.to_owned()), target_id.to_owned());
        self
    }
    /// Sets the rate `from → to` (and its inverse unless already given).
    pub fn with_rate(mut self, from: Currency, to: Currency, rate: Decimal) -> Self {
        self.rates.insert((from, to), rate);
        self
    }
    /// Adds a target record found by `entity.by == key`.
    pub fn with_record(mut self, entity: &str, by: &str, key: &str, record: Value) -> Self {
        self.records.insert((entity.to_owned(), by.to_owned(), key.to_owned()), record);
        self
    }
}

impl LookupSource for TableLookups {
    fn table(&self, table: &str, key: &str) -> Result<Option<Value>, LookupError> {
        Ok(self.tables.get(&(table.to_owned(), key.to_owned())).cloned())
    }
    fn xref(&self, entity: &str, source_id: &str) -> Result<Option<String>, LookupError> {
        Ok(self.xrefs.get(&(entity.to_owned(), source_id.to_owned())).cloned())
    }
    fn rate(&self, from: Currency, to: Currency) -> Result<Option<Decimal>, LookupError> {
        if let Some(rate) = self.rates.get(&(from, to)) {
            return Ok(Some(*rate));
        }
        // Only the inverse is kept: 1 / rate, exact enough at 28 digits for money rounding.
        Ok(self.rates.get(&(to, from)).and_then(|r| Decimal::ONE.checked_div(*r)))
    }
    fn find(&self, entity: &str, by: &str, key: &str) -> Result<Option<Value>, LookupError> {
        Ok(self.records.get(&(entity.to_owned(), by.to_owned(), key.to_owned())).cloned())
    }
}
