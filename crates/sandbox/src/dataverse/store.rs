//! The in-memory rows of every table, their alternate-key indexes and change log. Every write
//! goes through a [`Txn`], so a `$batch` change set can be undone as a whole and its events
//! (change tracking, webhooks) appear only once it commits.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

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

/// The index state of an alternate key (`EntityKeyMetadata.EntityKeyIndexStatus`): the
/// platform builds the index in a system job after the key is created, and the key can be
/// used only once it is `Active`; duplicates in the existing rows make it `Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Pending,
    InProgress,
    Active,
    Failed,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Pending => "Pending",
            KeyStatus::InProgress => "InProgress",
            KeyStatus::Active => "Active",
            KeyStatus::Failed => "Failed",
        }
    }
}

/// An alternate key (`EntityKeyMetadata`).
#[derive(Debug, Clone)]
pub struct EntityKey {
    pub metadata_id: Uuid,
    pub schema_name: String,
    pub logical_name: String,
    pub columns: Vec<String>,
    pub display_name: Value,
    pub status: KeyStatus,
    created: Instant,
}

/// A custom column (`AttributeMetadata`) created through the metadata API.
#[derive(Debug, Clone)]
pub struct CustomColumn {
    pub metadata_id: Uuid,
    pub logical_name: String,
    /// The `AttributeMetadata` as created (with `MetadataId`, `LogicalName` filled in).
    pub metadata: Map<String, Value>,
    /// `MaxLength` of string columns, enforced on writes.
    pub max_length: Option<usize>,
}

/// One table.
#[derive(Debug)]
pub struct Table {
    pub def: &'static EntityDef,
    pub rows: BTreeMap<Uuid, Stored>,
    /// Alternate keys, in creation order; only `Active` ones are indexed and usable.
    pub keys: Vec<EntityKey>,
    index: Vec<HashMap<String, Uuid>>,
    /// (sequence, id, deleted) in commit order.
    pub changes: Vec<(u64, Uuid, bool)>,
    /// Custom columns by logical name.
    pub columns: BTreeMap<String, CustomColumn>,
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

fn sorted(columns: &[String]) -> Vec<String> {
    let mut columns: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
    columns.sort();
    columns
}

impl Table {
    fn new(def: &'static EntityDef) -> Self {
        Table {
            def,
            rows: BTreeMap::new(),
            keys: Vec::new(),
            index: Vec::new(),
            changes: Vec::new(),
            columns: BTreeMap::new(),
        }
    }

    /// The active alternate key matching exactly these columns (in any order).
    pub fn key_index(&self, columns: &[String]) -> Option<usize> {
        let wanted = sorted(columns);
        self.keys.iter().position(|k| k.status == KeyStatus::Active && sorted(&k.columns) == wanted)
    }

    /// The row whose alternate key `index` has these values (as `key_part`s joined in key order).
    pub fn find_by_key(&self, index: usize, values: &Row) -> Option<Uuid> {
        let key = key_of(values, &self.keys[index].columns)?;
        self.index[index].get(&key).copied()
    }

    fn active(&self) -> impl Iterator<Item = (usize, &EntityKey)> {
        self.keys.iter().enumerate().filter(|(_, k)| k.status == KeyStatus::Active)
    }

    fn unindex(&mut self, id: Uuid, row: &Row) {
        let found: Vec<(usize, String)> =
            self.active().filter_map(|(i, key)| key_of(row, &key.columns).map(|k| (i, k))).collect();
        for (i, k) in found {
            if self.index[i].get(&k) == Some(&id) {
                self.index[i].remove(&k);
            }
        }
    }

    fn check_unique(&self, id: Uuid, row: &Row) -> Result<(), ApiError> {
        for (i, key) in self.active() {
            if let Some(k) = key_of(row, &key.columns)
                && let Some(other) = self.index[i].get(&k)
                && *other != id
            {
                return Err(ApiError::new(
                    412,
                    DUPLICATE_RECORD,
                    format!(
                        "A record that has the attribute values {} already exists. The entity key {} requires that this set of attributes contains unique values. Select unique values and try again.",
                        key.columns.join(", "),
                        key.schema_name
                    ),
                ));
            }
        }
        Ok(())
    }

    fn index_row(&mut self, id: Uuid, row: &Row) {
        let found: Vec<(usize, String)> =
            self.active().filter_map(|(i, key)| key_of(row, &key.columns).map(|k| (i, k))).collect();
        for (i, k) in found {
            self.index[i].insert(k, id);
        }
    }

    /// Whether `column` may be written or queried: standard columns always (the sandbox does
    /// not list them all), custom ones once created.
    pub fn has_column(&self, column: &str) -> bool {
        if !super::schema::is_custom_column(column) {
            return true;
        }
        let logical = column.strip_prefix('_').and_then(|c| c.strip_suffix("_value")).unwrap_or(column);
        self.columns.contains_key(&logical.to_lowercase())
    }

    /// Max length of a custom string column.
    pub fn custom_max_length(&self, column: &str) -> Option<usize> {
        self.columns.get(column).and_then(|c| c.max_length)
    }

    /// Adds an alternate key. `active_now` skips the index job (an org set up before start).
    pub fn add_key(
        &mut self,
        schema_name: &str,
        columns: &[String],
        display_name: Value,
        active_now: bool,
    ) -> Result<&EntityKey, ApiError> {
        let entity = self.def.logical;
        if schema_name.trim().is_empty() {
            return Err(ApiError::bad_request("EntityKeyMetadata.SchemaName is required."));
        }
        if columns.is_empty() {
            return Err(ApiError::bad_request("EntityKeyMetadata.KeyAttributes must name at least one column."));
        }
        if columns.len() > MAX_KEY_COLUMNS {
            return Err(ApiError::bad_request(format!(
                "An entity key can have at most {MAX_KEY_COLUMNS} attributes; {} were given.",
                columns.len()
            )));
        }
        for column in columns {
            if !self.has_column(column) {
                return Err(ApiError::bad_request(format!(
                    "The attribute '{column}' does not exist on entity '{entity}'; create the column before the key."
                )));
            }
        }
        let logical_name = schema_name.to_lowercase();
        if self.keys.iter().any(|k| k.logical_name == logical_name) {
            return Err(ApiError::new(
                400,
                DUPLICATE_RECORD,
                format!("An entity key with the name '{logical_name}' already exists on entity '{entity}'."),
            ));
        }
        let wanted = sorted(columns);
        if let Some(existing) = self.keys.iter().find(|k| sorted(&k.columns) == wanted) {
            return Err(ApiError::new(
                400,
                DUPLICATE_RECORD,
                format!(
                    "The entity key '{}' on entity '{entity}' already has the attributes {}.",
                    existing.logical_name,
                    columns.join(", ")
                ),
            ));
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(ApiError::bad_request(format!(
                "Entity '{entity}' already has {MAX_KEYS} keys, the most an entity can have."
            )));
        }
        let key = EntityKey {
            metadata_id: Uuid::new_v4(),
            schema_name: schema_name.to_owned(),
            logical_name,
            columns: columns.iter().map(|c| c.to_lowercase()).collect(),
            display_name,
            status: KeyStatus::Pending,
            created: Instant::now(),
        };
        self.keys.push(key);
        self.index.push(HashMap::new());
        let last = self.keys.len() - 1;
        if active_now {
            self.build_index(last);
        }
        Ok(&self.keys[last])
    }

    /// Builds the index of key `i` over the rows: `Active`, or `Failed` on a duplicate.
    fn build_index(&mut self, i: usize) {
        let mut index = HashMap::new();
        let mut failed = false;
        for (id, stored) in &self.rows {
            if let Some(k) = key_of(&stored.row, &self.keys[i].columns)
                && index.insert(k, *id).is_some()
            {
                failed = true;
                break;
            }
        }
        if failed {
            self.keys[i].status = KeyStatus::Failed;
        } else {
            self.index[i] = index;
            self.keys[i].status = KeyStatus::Active;
        }
    }

    /// Moves keys along Pending → InProgress → Active as their index job runs.
    fn advance_keys(&mut self, now: Instant, build: Duration) {
        for i in 0..self.keys.len() {
            let elapsed = now.saturating_duration_since(self.keys[i].created);
            match self.keys[i].status {
                KeyStatus::Pending | KeyStatus::InProgress if elapsed >= build => self.build_index(i),
                KeyStatus::Pending if elapsed >= build / 2 => self.keys[i].status = KeyStatus::InProgress,
                _ => {}
            }
        }
    }

    /// Adds a custom column.
    pub fn add_column(&mut self, column: CustomColumn) -> Result<&CustomColumn, ApiError> {
        let entity = self.def.logical;
        if !super::schema::is_custom_column(&column.logical_name) {
            return Err(ApiError::bad_request(format!(
                "The schema name of a new attribute must start with a customization prefix such as 'new_'; got '{}'.",
                column.logical_name
            )));
        }
        if self.columns.contains_key(&column.logical_name) {
            return Err(ApiError::new(
                400,
                DUPLICATE_RECORD,
                format!("An attribute with the name '{}' already exists on entity '{entity}'.", column.logical_name),
            ));
        }
        let name = column.logical_name.clone();
        self.columns.insert(name.clone(), column);
        Ok(&self.columns[&name])
    }
}

/// Most keys per table, and columns per key (the platform's limits as far as the sandbox
/// knows them; the reference gives none).
pub const MAX_KEYS: usize = 10;
pub const MAX_KEY_COLUMNS: usize = 16;

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
    /// How long a new alternate key's index job takes (half Pending, half InProgress).
    key_build: Duration,
}

impl Store {
    /// Empty tables of a stock org: no alternate keys, no custom columns. A new key's index
    /// takes `key_build` to become active.
    pub fn new(key_build: Duration) -> Self {
        let tables = ENTITIES.iter().map(|def| (def.set, Table::new(def))).collect();
        // Start high so ETags look like the platform's and never collide with test literals.
        let mut store = Store { tables, version: 1_000_000, key_build };
        store.seed_sdk_messages();
        store
    }

    /// The table of a logical name, to change its metadata.
    pub fn table_by_logical_mut(&mut self, logical: &str) -> Option<&mut Table> {
        let def = super::schema::by_logical(logical)?;
        self.tables.get_mut(def.set)
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
        let (now, build) = (Instant::now(), self.key_build);
        for table in self.tables.values_mut() {
            table.advance_keys(now, build);
        }
        Txn { store: self, undo: Vec::new(), events: Vec::new() }
    }
}

/// The writes of a committed transaction, to undo them.
#[derive(Debug)]
pub struct Revert {
    undo: Vec<(&'static str, Uuid, Option<Stored>)>,
    /// Change-log entries after this sequence number belong to the transaction.
    after: u64,
}

impl Store {
    /// Undoes a committed transaction's writes and forgets its changes (rows written since by
    /// other requests are put back as the transaction found them).
    pub fn revert(&mut self, revert: Revert) {
        let mut ids = std::collections::HashSet::new();
        for (set, id, previous) in revert.undo.into_iter().rev() {
            ids.insert((set, id));
            let Some(table) = self.tables.get_mut(set) else { continue };
            if let Some(current) = table.rows.remove(&id) {
                table.unindex(id, &current.row);
            }
            if let Some(prev) = previous {
                table.index_row(id, &prev.row);
                table.rows.insert(id, prev);
            }
        }
        for (set, table) in &mut self.tables {
            table.changes.retain(|(seq, id, _)| *seq <= revert.after || !ids.contains(&(*set, *id)));
        }
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

    /// The table of a logical name, to change its metadata (not undone with the transaction:
    /// metadata operations are not part of a change set).
    pub fn table_by_logical_mut(&mut self, logical: &str) -> Option<&mut Table> {
        self.store.table_by_logical_mut(logical)
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

    /// Commits, keeping what it takes to undo the writes afterwards ([`Store::revert`]): a
    /// synchronous step that fails after the commit fails the request, as its transaction
    /// would on the platform.
    pub fn commit_revertible(mut self) -> (Vec<Event>, Revert) {
        let undo = std::mem::take(&mut self.undo);
        let after = self.store.version;
        (self.commit(), Revert { undo, after })
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
