//! Value maps (declared in the flow), store-kept tables and xref lookups.
//!
//! The flow's value maps and the [`LookupSource`] reach filters through one hidden context
//! object, so the environment stays global and stateless and no filter can do other I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Environment, Error, State};

use super::{fail, kind_name, text_of};
use crate::pii_mask::mask_text;
use crate::source::LookupSource;

/// Context key under which [`Tables`] travels; not a name users write.
pub(crate) const TABLES_KEY: &str = "__ferry_tables";

/// The per-flow value maps plus the engine's lookup source.
pub(crate) struct Tables {
    /// Converted to template values once per flow, not per lookup.
    pub(crate) value_maps: Arc<BTreeMap<String, BTreeMap<String, Value>>>,
    pub(crate) source: Arc<dyn LookupSource>,
}

impl fmt::Debug for Tables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tables")
            .field("value_maps", &self.value_maps.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Object for Tables {}

/// The flow's tables, from the hidden context object set by the mapping engine.
pub(crate) fn tables(state: &State, what: &str) -> Result<Arc<Tables>, Error> {
    state
        .lookup(TABLES_KEY)
        .and_then(|v| v.downcast_object::<Tables>())
        .ok_or_else(|| fail(format!("{what}: lookup tables are not available here")))
}

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("value_map", value_map);
    env.add_filter("lookup", lookup);
    env.add_filter("xref", xref);
}

/// The `default=` argument if one was written; `default=none` is a default too (the value
/// none), which is different from writing no default at all.
fn default_of(kwargs: &Kwargs) -> Result<Option<Value>, Error> {
    if kwargs.has("default") { kwargs.get::<Value>("default").map(Some) } else { Ok(None) }
}

/// `status | value_map('amazon_to_crm_status', default='Draft')`.
fn value_map(state: &State, value: Value, name: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let default = default_of(&kwargs)?;
    kwargs.assert_all_used()?;
    let tables = tables(state, "value_map")?;
    let map = tables
        .value_maps
        .get(name)
        .ok_or_else(|| fail(format!("value_map: no value map named {name:?} in this flow")))?;
    if value.is_none() || value.is_undefined() {
        return default.ok_or_else(|| {
            fail(format!("value_map {name:?}: the value is {} and no default is given", kind_name(&value)))
        });
    }
    let key = text_of(&value, "value_map")?;
    match map.get(&key) {
        Some(found) => Ok(found.clone()),
        None => default.ok_or_else(|| {
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.truncate(12);
            fail(format!("value_map {name:?}: no entry for {} (entries: {})", super::excerpt(&key), keys.join(", ")))
        }),
    }
}

/// `line.SellerSKU | lookup('sku_to_item', default=none)`: a table kept in the store.
fn lookup(state: &State, value: Value, table: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let default = default_of(&kwargs)?;
    kwargs.assert_all_used()?;
    let key = text_of(&value, "lookup")?;
    let found =
        tables(state, "lookup")?.source.table(table, &key).map_err(|e| fail(format!("lookup {table:?}: {e}")))?;
    match found {
        Some(v) => Ok(Value::from(minijinja::value::Serde(&v))),
        None => default.ok_or_else(|| fail(format!("lookup {table:?}: no entry for key {}", mask_text(&key)))),
    }
}

/// `order.AmazonOrderId | xref('salesorder')`: the target id already recorded for a source id.
fn xref(state: &State, value: Value, entity: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let default = default_of(&kwargs)?;
    kwargs.assert_all_used()?;
    let key = text_of(&value, "xref")?;
    let found = tables(state, "xref")?.source.xref(entity, &key).map_err(|e| fail(format!("xref {entity:?}: {e}")))?;
    match found {
        Some(id) => Ok(Value::from(id)),
        None => default.ok_or_else(|| fail(format!("xref {entity:?}: no target id recorded for {}", mask_text(&key)))),
    }
}
