//! Helpers shared by the mapping tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_mapping::preview::{PreviewContext, preview_expression};
use ferry_mapping::{LookupSource, TableLookups};
use serde_json::{Value, json};

/// Evaluates `written` against `record` with the standard test tables.
pub fn eval(written: &str, record: Value) -> Result<Value, String> {
    eval_with(written, record, Arc::new(test_tables()))
}

pub fn eval_with(written: &str, record: Value, lookups: Arc<dyn LookupSource>) -> Result<Value, String> {
    let mut maps = BTreeMap::new();
    maps.insert(
        "status".to_owned(),
        [("Shipped".to_owned(), json!(100001)), ("Pending".to_owned(), json!("Draft"))]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
    );
    let ctx = PreviewContext { lookups, base: Default::default() };
    preview_expression(written, &record, &maps, &ctx).map_err(|e| e.message)
}

/// Evaluates and expects success.
pub fn ok(written: &str, record: Value) -> Value {
    match eval(written, record) {
        Ok(v) => v,
        Err(e) => panic!("{written}: unexpected error: {e}"),
    }
}

/// Evaluates and expects an error containing `needle`.
pub fn err(written: &str, record: Value, needle: &str) -> String {
    match eval(written, record) {
        Ok(v) => panic!("{written}: expected an error containing {needle:?}, got {v}"),
        Err(e) => {
            assert!(e.contains(needle), "{written}: error {e:?} does not contain {needle:?}");
            e
        }
    }
}

pub fn test_tables() -> TableLookups {
    use ferry_model::Currency;
    use rust_decimal::Decimal;
    TableLookups::new()
        .with_table_entry("warehouses", "SEA8", json!("WH-WEST"))
        .with_xref("salesorder", "902-3159896-1390916", "3f1c0a52-0000-0000-0000-000000000001")
        .with_rate(Currency::USD, Currency::EUR, Decimal::new(92, 2))
}
