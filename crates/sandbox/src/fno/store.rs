//! The F&O sandbox's data: one ordered table per entity set, keyed by the entity key's
//! values (`dataAreaId` lower-cased, as F&O compares companies), number sequences per
//! company, and an undo log so a failed request or change set leaves nothing behind.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::schema::EntityDef;

pub type Row = Map<String, Value>;

/// The key of a row: its key fields' values as text, in key order.
pub type RowKey = Vec<String>;

/// A stored row and its version (the ETag).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub row: Row,
    pub version: u64,
}

/// What a committed write changed (for business events).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub set: String,
    pub created: bool,
    pub row: Row,
}

#[derive(Debug)]
enum Undo {
    Put { set: String, key: RowKey, old: Option<Stored> },
}

#[derive(Debug, Default)]
pub struct Store {
    tables: HashMap<String, BTreeMap<RowKey, Stored>>,
    sequences: HashMap<(String, &'static str), u64>,
    version: u64,
    undo: Vec<Undo>,
    changes: Vec<Change>,
}

/// A key value as text (`LineNumber` 1 and 1.0 are the same key).
pub fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => {
            Some(n.to_string().parse::<rust_decimal::Decimal>().map_or(n.to_string(), |d| d.normalize().to_string()))
        }
        _ => None,
    }
}

/// The key of `row` under `def`, or the name of the first key field it lacks.
pub fn key_of(def: &EntityDef, row: &Row) -> Result<RowKey, String> {
    def.keys
        .iter()
        .map(|k| {
            let text = row.get(k).and_then(key_text).ok_or_else(|| k.clone())?;
            Ok(if k == "dataAreaId" { text.to_lowercase() } else { text })
        })
        .collect()
}

impl Store {
    pub fn table(&self, set: &str) -> Option<&BTreeMap<RowKey, Stored>> {
        self.tables.get(set)
    }

    pub fn get(&self, set: &str, key: &RowKey) -> Option<&Stored> {
        self.tables.get(set)?.get(key)
    }

    pub fn rows(&self, set: &str) -> impl Iterator<Item = &Stored> {
        self.tables.get(set).into_iter().flat_map(|t| t.values())
    }

    /// Writes a row (insert or replace), remembering the old one for a rollback.
    pub fn put(&mut self, set: &str, key: RowKey, row: Row, created: bool) {
        self.version += 1;
        let stored = Stored { row: row.clone(), version: self.version };
        let old = self.tables.entry(set.to_owned()).or_default().insert(key.clone(), stored);
        self.undo.push(Undo::Put { set: set.to_owned(), key, old });
        self.changes.push(Change { set: set.to_owned(), created, row });
    }

    pub fn remove(&mut self, set: &str, key: &RowKey) -> Option<Stored> {
        let old = self.tables.get_mut(set)?.remove(key)?;
        self.undo.push(Undo::Put { set: set.to_owned(), key: key.clone(), old: Some(old.clone()) });
        Some(old)
    }

    /// The next number of a sequence (per company). Sequences are not continuous: a rolled
    /// back write leaves a gap, as F&O's non-continuous sequences do.
    pub fn next_number(&mut self, company: &str, sequence: &'static str) -> u64 {
        let n = self.sequences.entry((company.to_lowercase(), sequence)).or_insert(0);
        *n += 1;
        *n
    }

    /// Marks the start of a unit of work (a request or a change set).
    pub fn mark(&self) -> (usize, usize) {
        (self.undo.len(), self.changes.len())
    }

    /// Undoes everything after `mark`.
    pub fn rollback(&mut self, mark: (usize, usize)) {
        while self.undo.len() > mark.0 {
            let Some(Undo::Put { set, key, old }) = self.undo.pop() else { break };
            let table = self.tables.entry(set).or_default();
            match old {
                Some(old) => {
                    table.insert(key, old);
                }
                None => {
                    table.remove(&key);
                }
            }
        }
        self.changes.truncate(mark.1);
    }

    /// Forgets the undo log and hands over the changes since the last commit.
    pub fn commit(&mut self) -> Vec<Change> {
        self.undo.clear();
        std::mem::take(&mut self.changes)
    }
}
