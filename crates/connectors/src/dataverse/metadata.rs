//! The metadata API calls a setup needs: a table's alternate keys (`EntityKeyMetadata`, whose
//! index the platform builds in a system job: `EntityKeyIndexStatus` Pending → InProgress →
//! Active, or Failed when existing rows have duplicate values) and custom columns
//! (`AttributeMetadata`). A stock organisation has neither; `ferry setup` creates what the
//! flows need through these calls.

use ferry_runtime::failure::Failure;
use serde_json::{Map, Value, json};

use super::client::DataverseClient;
use super::errors::is_not_found;

/// `EntityKeyIndexStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyIndexStatus {
    Pending,
    InProgress,
    Active,
    Failed,
    /// A value this client does not know.
    Other(String),
}

impl KeyIndexStatus {
    pub fn parse(text: &str) -> Self {
        match text {
            "Pending" => KeyIndexStatus::Pending,
            "InProgress" => KeyIndexStatus::InProgress,
            "Active" => KeyIndexStatus::Active,
            "Failed" => KeyIndexStatus::Failed,
            other => KeyIndexStatus::Other(other.to_owned()),
        }
    }
}

impl std::fmt::Display for KeyIndexStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyIndexStatus::Pending => f.write_str("Pending"),
            KeyIndexStatus::InProgress => f.write_str("InProgress"),
            KeyIndexStatus::Active => f.write_str("Active"),
            KeyIndexStatus::Failed => f.write_str("Failed"),
            KeyIndexStatus::Other(s) => f.write_str(s),
        }
    }
}

/// An alternate key as the org has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityKey {
    pub logical_name: String,
    pub schema_name: String,
    /// Column logical names.
    pub columns: Vec<String>,
    pub status: KeyIndexStatus,
}

impl EntityKey {
    /// Whether the key is on exactly these columns (in any order).
    pub fn covers(&self, columns: &[&str]) -> bool {
        let mut have: Vec<String> = self.columns.iter().map(|c| c.to_lowercase()).collect();
        let mut want: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
        have.sort();
        want.sort();
        have == want
    }
}

/// An alternate key to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDefinition {
    /// With the publisher's prefix, e.g. `new_ordernumber_key`.
    pub schema_name: String,
    pub label: String,
    pub columns: Vec<String>,
}

/// The type of a custom column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Single line of text (`StringAttributeMetadata`), 1–4000 characters.
    Text { max_length: u32 },
    /// A date without time (`DateTimeAttributeMetadata`, Format and behaviour DateOnly).
    DateOnly,
}

/// A custom column to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDefinition {
    /// With the publisher's prefix, e.g. `new_AmazonOrderId`; the logical name is its lower case.
    pub schema_name: String,
    pub label: String,
    pub description: String,
    pub kind: ColumnKind,
}

impl ColumnDefinition {
    pub fn logical_name(&self) -> String {
        self.schema_name.to_lowercase()
    }

    /// The `AttributeMetadata` body of the create call.
    pub fn to_metadata(&self) -> Map<String, Value> {
        let mut body = json!({
            "SchemaName": self.schema_name,
            "DisplayName": label(&self.label),
            "Description": label(&self.description),
            "RequiredLevel": {
                "Value": "None",
                "CanBeChanged": true,
                "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"
            },
        });
        match self.kind {
            ColumnKind::Text { max_length } => {
                body["@odata.type"] = json!("Microsoft.Dynamics.CRM.StringAttributeMetadata");
                body["MaxLength"] = json!(max_length);
                body["FormatName"] = json!({ "Value": "Text" });
            }
            ColumnKind::DateOnly => {
                body["@odata.type"] = json!("Microsoft.Dynamics.CRM.DateTimeAttributeMetadata");
                body["Format"] = json!("DateOnly");
                body["DateTimeBehavior"] = json!({ "Value": "DateOnly" });
            }
        }
        body.as_object().cloned().unwrap_or_default()
    }
}

/// A `Label` with one English (1033) localized label.
fn label(text: &str) -> Value {
    json!({
        "@odata.type": "Microsoft.Dynamics.CRM.Label",
        "LocalizedLabels": [{
            "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel",
            "Label": text,
            "LanguageCode": 1033
        }]
    })
}

/// A table or column logical name, checked before it goes into a URL.
fn logical(kind: &str, name: &str) -> Result<String, Failure> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        Ok(name.to_owned())
    } else {
        Err(Failure::permanent_with_code(
            "invalid_name",
            format!("'{name}' is not a {kind} logical name (lower-case letters, digits and '_')"),
        ))
    }
}

fn entity_path(entity: &str) -> Result<String, Failure> {
    Ok(format!("EntityDefinitions(LogicalName='{}')", logical("table", entity)?))
}

fn parse_key(value: &Value) -> Option<EntityKey> {
    Some(EntityKey {
        logical_name: value.get("LogicalName")?.as_str()?.to_owned(),
        schema_name: value.get("SchemaName").and_then(Value::as_str).unwrap_or_default().to_owned(),
        columns: value.get("KeyAttributes")?.as_array()?.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect(),
        status: KeyIndexStatus::parse(value.get("EntityKeyIndexStatus").and_then(Value::as_str).unwrap_or("")),
    })
}

impl DataverseClient {
    /// The alternate keys of a table, with their index status.
    pub async fn entity_keys(&self, entity: &str) -> Result<Vec<EntityKey>, Failure> {
        let path = format!("{}/Keys", entity_path(entity)?);
        let body = self.send_json(reqwest::Method::GET, &path, &[], None).await?.json()?;
        let rows = body.get("value").and_then(Value::as_array).cloned().unwrap_or_default();
        rows.iter()
            .map(|row| {
                parse_key(row).ok_or_else(|| {
                    Failure::transient(format!("Dataverse answered an EntityKeyMetadata of {entity} without its names"))
                })
            })
            .collect()
    }

    /// Creates an alternate key; its index is built afterwards (poll [`Self::entity_keys`]).
    pub async fn create_entity_key(&self, entity: &str, key: &KeyDefinition) -> Result<(), Failure> {
        let path = format!("{}/Keys", entity_path(entity)?);
        let columns = key.columns.iter().map(|c| logical("column", c)).collect::<Result<Vec<_>, _>>()?;
        let body = json!({
            "SchemaName": key.schema_name,
            "DisplayName": label(&key.label),
            "KeyAttributes": columns,
        });
        self.send_json(reqwest::Method::POST, &path, &[], body.as_object()).await?;
        Ok(())
    }

    /// A column's `AttributeMetadata`, or `None` when the table has no such column.
    pub async fn column_metadata(&self, entity: &str, column: &str) -> Result<Option<Map<String, Value>>, Failure> {
        let path = format!("{}/Attributes(LogicalName='{}')", entity_path(entity)?, logical("column", column)?);
        match self.send_json(reqwest::Method::GET, &path, &[], None).await {
            Ok(reply) => Ok(Some(reply.json()?)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a custom column.
    pub async fn create_column(&self, entity: &str, column: &ColumnDefinition) -> Result<(), Failure> {
        let path = format!("{}/Attributes", entity_path(entity)?);
        logical("column", &column.logical_name())?;
        self.send_json(reqwest::Method::POST, &path, &[], Some(&column.to_metadata())).await?;
        Ok(())
    }
}
