//! The input record as a lazy MiniJinja object over the `serde_json::Value`.
//!
//! Converting a whole order (items, addresses, money objects) into MiniJinja values for
//! every record costs more than evaluating its 25 fields; a mapping reads a fraction of
//! the record, so nodes are wrapped on access instead, and scalars are converted then.

use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue};
use serde_json::Value;

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// An object or array inside a shared JSON document.
#[derive(Debug)]
pub(crate) struct JsonNode {
    root: Arc<Value>,
    path: Vec<Seg>,
    /// Object/array children already wrapped: a mapping reads `order.ShippingAddress` once
    /// per address field, and each wrap allocates.
    children: Mutex<Vec<(Box<str>, JValue)>>,
}

impl JsonNode {
    fn node(&self) -> &Value {
        let mut node = self.root.as_ref();
        for seg in &self.path {
            node = match (seg, node) {
                (Seg::Key(k), Value::Object(map)) => map.get(k).unwrap_or(&Value::Null),
                (Seg::Index(i), Value::Array(items)) => items.get(*i).unwrap_or(&Value::Null),
                _ => &Value::Null,
            };
        }
        node
    }

    fn new(root: Arc<Value>, path: Vec<Seg>) -> JsonNode {
        JsonNode { root, path, children: Mutex::new(Vec::new()) }
    }

    /// `name` is the key of an object member (cached), `None` for an array item.
    fn child(self: &Arc<Self>, name: Option<&str>, index: usize, value: &Value) -> JValue {
        match value {
            Value::Object(_) | Value::Array(_) => {
                let mut cache = self.children.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((_, v)) = name.and_then(|n| cache.iter().find(|(k, _)| k.as_ref() == n)) {
                    return v.clone();
                }
                let mut path = self.path.clone();
                path.push(name.map_or(Seg::Index(index), |n| Seg::Key(n.to_owned())));
                let wrapped = JValue::from_object(JsonNode::new(self.root.clone(), path));
                if let Some(n) = name {
                    cache.push((n.into(), wrapped.clone()));
                }
                wrapped
            }
            scalar => scalar_value(scalar),
        }
    }
}

/// The whole document as a value.
pub(crate) fn wrap(root: Arc<Value>) -> JValue {
    match root.as_ref() {
        Value::Object(_) | Value::Array(_) => JValue::from_object(JsonNode::new(root, Vec::new())),
        scalar => scalar_value(scalar),
    }
}

fn scalar_value(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                JValue::from(i)
            } else if let Some(u) = n.as_u64() {
                JValue::from(u)
            } else {
                JValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => JValue::from(s.as_str()),
        Value::Object(_) | Value::Array(_) => JValue::from(minijinja::value::Serde(value)),
    }
}

impl Object for JsonNode {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.node() {
            Value::Array(_) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        match self.node() {
            Value::Object(map) => {
                let k = key.as_str()?;
                map.get(k).map(|v| self.child(Some(k), 0, v))
            }
            Value::Array(items) => {
                let i = usize::try_from(key.as_i64()?).ok()?;
                items.get(i).map(|v| self.child(None, i, v))
            }
            _ => None,
        }
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<JValue> {
        match self.node() {
            Value::Object(map) => map.get(key).map(|v| self.child(Some(key), 0, v)),
            _ => self.get_value(&JValue::from(key)),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.node() {
            Value::Object(map) => Enumerator::Values(map.keys().map(|k| JValue::from(k.as_str())).collect()),
            Value::Array(items) => {
                Enumerator::Values(items.iter().enumerate().map(|(i, v)| self.child(None, i, v)).collect())
            }
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.node() {
            Value::Object(map) => Some(map.len()),
            Value::Array(items) => Some(items.len()),
            _ => Some(0),
        }
    }
}
