//! The in-memory rows of every table, their alternate-key indexes and change log. Every write
//! goes through a [`Txn`], so a `$batch` change set can be undone as a whole and its events
//! (change tracking, webhooks) appear only once it commits.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use uuid::Uuid;

use super::errors::{ApiError, DUPLICATE_RECORD};
use super::schema::{ENTITIES, EntityDef};

pub type Row = Map<String, Value>;

/// A row with its version (the number in its `W/"n"` ETag).
#[derive(Debug, Clone)]
pub struct Stored {
    pub row: Row,
    pub version: u64,
}

impl Stored {
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
}

impl ChangeKind {
    pub fn message_name(self) -> &'static str {
        match self {
            ChangeKind::Create => "Create",
            ChangeKind::Update => "Update",
            ChangeKind::Delete => "Delete",
        }
    }
}

/// A committed change, for webhooks.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: ChangeKind,
    pub entity: &'static EntityDef,
    pub id: Uuid,
    /// The columns written (the webhook's `Target`).
    pub target: Row,
    /// The row after the change (absent after a delete).
    pub image: Option<Row>,
}

/// One table.
#[derive(Debug)]
pub struct Table {
    pub def: &'static EntityDef,
    pub rows: BTreeMap<Uuid, Stored>,
    /// Alternate keys (column lists), defaults plus configured ones.
    pub keys: Vec<Vec<String>>,
    index: Vec<HashMap<String, Uuid>>,
    /// (sequence, id, deleted) in commit order.
    pub changes: Vec<(u64, Uuid, bool)>,
}

/// The normalized value of a key column, or `None` when it is empty (such rows are not
/// indexed).
pub fn key_part(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.to_lowercase()),
        other => Some(other.to_string()),
    }
}

fn key_of(row: &Row, key: &[String]) -> Option<String> {
    let parts: Option<Vec<String>> = key.iter().map(|c| row.get(c).and_then(key_part)).collect();
    parts.map(|p| p.join("\u{1f}"))
}

impl Table {
    fn new(def: &'static EntityDef, extra_keys: &[Vec<String>]) -> Self {
        let mut keys: Vec<Vec<String>> =
            def.default_keys.iter().map(|k| k.iter().map(|c| (*c).to_owned()).collect()).collect();
        for key in extra_keys {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        let index = keys.iter().map(|_| HashMap::new()).collect();
        Table { def, rows: BTreeMap::new(), keys, index, changes: Vec::new() }
    }

    /// The alternate key matching exactly these columns (in any order).
    pub fn key_index(&self, columns: &[String]) -> Option<usize> {
        let mut wanted: Vec<&String> = columns.iter().collect();
        wanted.sort();
        self.keys.iter().position(|k| {
            let mut have: Vec<&String> = k.iter().collect();
            have.sort();
            have == wanted
        })
    }

    /// The row whose alternate key `index` has these values (as `key_part`s joined in key order).
    pub fn find_by_key(&self, index: usize, values: &Row) -> Option<Uuid> {
        let key = key_of(values, &self.keys[index])?;
        self.index[index].get(&key).copied()
    }

    fn unindex(&mut self, id: Uuid, row: &Row) {
        for (i, key) in self.keys.iter().enumerate() {
            if let Some(k) = key_of(row, key)
                && self.index[i].get(&k) == Some(&id)
            {
                self.index[i].remove(&k);
            }
        }
    }

    fn check_unique(&self, id: Uuid, row: &Row) -> Result<(), ApiError> {
        for (i, key) in self.keys.iter().enumerate() {
            if let Some(k) = key_of(row, key)
                && let Some(other) = self.index[i].get(&k)
                && *other != id
            {
                return Err(ApiError::new(
                    412,
                    DUPLICATE_RECORD,
                    format!(
                        "A record that has the attribute values {} already exists. The entity key requires that this set of attributes contains unique values. Select unique values and try again.",
                        key.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn index_row(&mut self, id: Uuid, row: &Row) {
        for (i, key) in self.keys.iter().enumerate() {
            if let Some(k) = key_of(row, key) {
                self.index[i].insert(k, id);
            }
        }
    }
}

/// A stable id from a parent id and a name.
fn derived_id(parent: Uuid, name: &str) -> Uuid {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest([parent.as_bytes().as_slice(), name.as_bytes()].concat());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Every table, plus the version counter shared by ETags and change-tracking tokens.
#[derive(Debug)]
pub struct Store {
    tables: HashMap<&'static str, Table>,
    version: u64,
}

impl Store {
    /// Empty tables; `extra_keys` are (logical name, columns) alternate keys to add.
    pub fn new(extra_keys: &[(String, Vec<String>)]) -> Self {
        let tables = ENTITIES
            .iter()
            .map(|def| {
                let extra: Vec<Vec<String>> =
                    extra_keys.iter().filter(|(e, _)| e == def.logical).map(|(_, k)| k.clone()).collect();
                (def.set, Table::new(def, &extra))
            })
            .collect();
        // Start high so ETags look like the platform's and never collide with test literals.
        let mut store = Store { tables, version: 1_000_000 };
        store.seed_sdk_messages();
        store
    }

    /// The sdkmessage and sdkmessagefilter rows WebHook steps refer to.
    fn seed_sdk_messages(&mut self) {
        use super::schema::{SDK_MESSAGES, webhook_tables};
        let tables: Vec<&'static str> = webhook_tables().map(|d| d.logical).collect();
        for (name, id) in SDK_MESSAGES {
            let message = Uuid::from_u128(id);
            let mut row = Row::new();
            row.insert("sdkmessageid".into(), Value::String(message.to_string()));
            row.insert("name".into(), Value::String(name.into()));
            self.seed("sdkmessages", message, row);
            for logical in &tables {
                // Stable ids derived from the message and table, so restarts agree.
                let filter = derived_id(message, logical);
                let mut row = Row::new();
                row.insert("sdkmessagefilterid".into(), Value::String(filter.to_string()));
                row.insert("name".into(), Value::String(format!("{name} {logical}")));
                row.insert("primaryobjecttypecode".into(), Value::String((*logical).to_owned()));
                row.insert("_sdkmessageid_value".into(), Value::String(message.to_string()));
                row.insert(
                    "_sdkmessageid_value@Microsoft.Dynamics.CRM.lookuplogicalname".into(),
                    Value::String("sdkmessage".into()),
                );
                self.seed("sdkmessagefilters", filter, row);
            }
        }
    }

    fn seed(&mut self, set: &str, id: Uuid, row: Row) {
        self.version += 1;
        let version = self.version;
        if let Some(table) = self.tables.get_mut(set) {
            table.index_row(id, &row);
            table.rows.insert(id, Stored { row, version });
        }
    }

    pub fn table(&self, set: &str) -> Option<&Table> {
        self.tables.get(set)
    }

    /// The current change-tracking position.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn begin(&mut self) -> Txn<'_> {
        Txn { store: self, undo: Vec::new(), events: Vec::new() }
    }
}

/// A unit of work: commit applies its events, drop without commit undoes its writes.
pub struct Txn<'a> {
    store: &'a mut Store,
    undo: Vec<(&'static str, Uuid, Option<Stored>)>,
    events: Vec<Event>,
}

impl Txn<'_> {
    pub fn table(&self, set: &str) -> Option<&Table> {
        self.store.tables.get(set)
    }

    /// The change-tracking position (changes committed later have higher sequence numbers).
    pub fn store_version(&self) -> u64 {
        self.store.version
    }

    pub fn get(&self, set: &str, id: Uuid) -> Option<&Stored> {
        self.store.tables.get(set)?.rows.get(&id)
    }

    /// Writes a whole row (create or replace). `target` is what the caller sent.
    pub fn put(&mut self, def: &'static EntityDef, id: Uuid, row: Row, target: Row) -> Result<u64, ApiError> {
        self.store.version += 1;
        let version = self.store.version;
        let table = self.store.tables.get_mut(def.set).ok_or_else(|| ApiError::resource_not_found(def.set))?;
        table.check_unique(id, &row)?;
        let previous = table.rows.remove(&id);
        if let Some(prev) = &previous {
            table.unindex(id, &prev.row);
        }
        table.index_row(id, &row);
        let kind = if previous.is_some() { ChangeKind::Update } else { ChangeKind::Create };
        table.rows.insert(id, Stored { row: row.clone(), version });
        self.undo.push((def.set, id, previous));
        self.events.push(Event { kind, entity: def, id, target, image: Some(row) });
        Ok(version)
    }

    pub fn remove(&mut self, def: &'static EntityDef, id: Uuid) -> Option<Stored> {
        let table = self.store.tables.get_mut(def.set)?;
        let previous = table.rows.remove(&id)?;
        table.unindex(id, &previous.row);
        self.undo.push((def.set, id, Some(previous.clone())));
        let mut target = Row::new();
        target.insert(def.primary_id.to_owned(), Value::String(id.to_string()));
        self.events.push(Event { kind: ChangeKind::Delete, entity: def, id, target, image: None });
        Some(previous)
    }

    /// Makes the writes permanent and returns their events.
    pub fn commit(mut self) -> Vec<Event> {
        self.undo.clear();
        let events = std::mem::take(&mut self.events);
        for event in &events {
            self.store.version += 1;
            let seq = self.store.version;
            if let Some(table) = self.store.tables.get_mut(event.entity.set) {
                table.changes.push((seq, event.id, event.kind == ChangeKind::Delete));
            }
        }
        events
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        // Undo in reverse order; after commit the list is empty.
        while let Some((set, id, previous)) = self.undo.pop() {
            let Some(table) = self.store.tables.get_mut(set) else { continue };
            if let Some(current) = table.rows.remove(&id) {
                table.unindex(id, &current.row);
            }
            if let Some(prev) = previous {
                table.index_row(id, &prev.row);
                table.rows.insert(id, prev);
            }
        }
    }
}
