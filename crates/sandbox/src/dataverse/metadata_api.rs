//! The metadata API a customisation tool needs: read a table's definition, create and read
//! alternate keys (`EntityDefinitions(LogicalName='x')/Keys`, `EntityKeyMetadata`, whose index
//! builds asynchronously: `EntityKeyIndexStatus` Pending → InProgress → Active, or Failed on
//! duplicate values) and custom columns (`EntityDefinitions(LogicalName='x')/Attributes`,
//! `AttributeMetadata`). A stock org starts with neither.
//!
//! The reference (DYNAMICS.md) documents none of these calls; their shapes follow the
//! platform's published metadata types (`EntityKeyMetadata`, `StringAttributeMetadata`, …),
//! and the error codes and messages of refusals are the sandbox's own where the platform's
//! are not known.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::DataverseSandboxConfig;
use super::api::{ApiRequest, ApiResponse, Ctx};
use super::errors::{ApiError, NOT_FOUND};
use super::schema::{self, EntityDef};
use super::store::{CustomColumn, EntityKey, Store, Table, Txn};

type Result<T> = std::result::Result<T, ApiError>;

/// A store with the customisations of `config` (columns first, then keys, already active).
pub fn customised_store(config: &DataverseSandboxConfig) -> Result<Store> {
    let mut store = Store::new(config.key_build);
    for (entity, column) in &config.custom_columns {
        let table = table_mut(&mut store, entity)?;
        let attribute = json!({
            "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
            "SchemaName": column,
            "MaxLength": 4000,
        });
        let column = parse_attribute(table.def, attribute.as_object().cloned().unwrap_or_default())?;
        table.add_column(column)?;
    }
    for (entity, columns) in &config.alternate_keys {
        let table = table_mut(&mut store, entity)?;
        let name = format!("ferry_{}_{}", entity, columns.join("_"));
        table.add_key(&name, columns, Value::Null, true)?;
    }
    Ok(store)
}

fn table_mut<'s>(store: &'s mut Store, entity: &str) -> Result<&'s mut Table> {
    store.table_by_logical_mut(entity).ok_or_else(|| entity_not_found(entity))
}

fn entity_not_found(entity: &str) -> ApiError {
    ApiError::new(404, NOT_FOUND, format!("Could not find an entity with the logical name '{entity}'."))
}

/// A stable `MetadataId` for a table.
fn entity_metadata_id(def: &EntityDef) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("ferry-sandbox/entity/{}", def.logical).as_bytes())
}

/// The text of `Name='value'` (quotes optional).
fn named(segment: &str, what: &str) -> Result<String> {
    let inner = segment
        .strip_prefix(what)
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| ApiError::bad_request(format!("Bad Request - Error in query syntax: '{segment}'")))?;
    let value = inner.strip_prefix("LogicalName=").ok_or_else(|| {
        ApiError::bad_request(format!(
            "Address metadata by LogicalName, e.g. {what}(LogicalName='contact'); got '{segment}'."
        ))
    })?;
    Ok(value.trim_matches('\'').to_owned())
}

/// Runs one metadata request (`path` decoded, starting with `EntityDefinitions`).
pub fn execute(ctx: &Ctx<'_>, txn: &mut Txn<'_>, req: &ApiRequest, path: &str) -> Result<ApiResponse> {
    let path = path.trim_matches('/');
    let mut segments = path.splitn(2, '/');
    let first = segments.next().unwrap_or_default();
    let rest = segments.next().unwrap_or_default();
    if first == "EntityDefinitions" {
        return Err(ApiError::new(
            400,
            "0x80060888",
            "The sandbox serves one table's definition at a time: EntityDefinitions(LogicalName='<table>').",
        ));
    }
    let logical = named(first, "EntityDefinitions")?;
    let def = schema::by_logical(&logical).ok_or_else(|| entity_not_found(&logical))?;
    let method = req.method.to_ascii_uppercase();
    let base = format!("{}/EntityDefinitions({})", ctx.base, entity_metadata_id(def));
    let context = |tail: &str| format!("{}/$metadata#EntityDefinitions('{}'){tail}", ctx.base, def.logical);
    let table = txn.table(def.set).ok_or_else(|| ApiError::resource_not_found(def.set))?;
    match (method.as_str(), rest) {
        ("GET", "") => {
            let mut body = entity_json(def);
            body.insert("@odata.context".into(), Value::String(context("/$entity")));
            Ok(json_reply(200, body))
        }
        ("GET", "Keys") => {
            let value: Vec<Value> = table.keys.iter().map(|k| Value::Object(key_json(def, k))).collect();
            Ok(json_reply(200, collection(context("/Keys"), value)))
        }
        ("GET", key) if key.starts_with("Keys(") => {
            let name = named(key, "Keys")?;
            let found = table.keys.iter().find(|k| k.logical_name == name.to_lowercase()).ok_or_else(|| {
                ApiError::new(
                    404,
                    NOT_FOUND,
                    format!("Could not find an entity key named '{name}' on entity '{logical}'."),
                )
            })?;
            let mut body = key_json(def, found);
            body.insert("@odata.context".into(), Value::String(context("/Keys/$entity")));
            Ok(json_reply(200, body))
        }
        ("POST", "Keys") => {
            let body = parse_object(req)?;
            let schema_name = body.get("SchemaName").and_then(Value::as_str).unwrap_or_default().to_owned();
            let columns: Vec<String> = match body.get("KeyAttributes") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_owned).ok_or_else(|| {
                            ApiError::bad_request(
                                "EntityKeyMetadata.KeyAttributes must be a list of column logical names.",
                            )
                        })
                    })
                    .collect::<Result<_>>()?,
                _ => {
                    return Err(ApiError::bad_request(
                        "EntityKeyMetadata.KeyAttributes must be a list of column logical names.",
                    ));
                }
            };
            let display = body.get("DisplayName").cloned().unwrap_or(Value::Null);
            let table = txn.table_by_logical_mut(def.logical).ok_or_else(|| entity_not_found(def.logical))?;
            let key = table.add_key(&schema_name, &columns, display, false)?;
            let url = format!("{base}/Keys({})", key.metadata_id);
            Ok(created(url))
        }
        ("GET", "Attributes") => {
            let value: Vec<Value> = table.columns.values().map(|c| Value::Object(c.metadata.clone())).collect();
            Ok(json_reply(200, collection(context("/Attributes"), value)))
        }
        ("GET", attribute) if attribute.starts_with("Attributes(") => {
            let name = named(attribute, "Attributes")?.to_lowercase();
            let mut body = match table.columns.get(&name) {
                Some(column) => column.metadata.clone(),
                None => standard_attribute(def, &name).ok_or_else(|| {
                    ApiError::new(
                        404,
                        NOT_FOUND,
                        format!("Could not find an attribute with the logical name '{name}' on entity '{logical}'."),
                    )
                })?,
            };
            body.insert("@odata.context".into(), Value::String(context("/Attributes/$entity")));
            Ok(json_reply(200, body))
        }
        ("POST", "Attributes") => {
            let column = parse_attribute(def, parse_object(req)?)?;
            let table = txn.table_by_logical_mut(def.logical).ok_or_else(|| entity_not_found(def.logical))?;
            let column = table.add_column(column)?;
            Ok(created(format!("{base}/Attributes({})", column.metadata_id)))
        }
        (m, _) => Err(ApiError::new(
            405,
            "0x80060888",
            format!("{m} EntityDefinitions(LogicalName='{logical}')/{rest} is not supported by the sandbox."),
        )),
    }
}

fn parse_object(req: &ApiRequest) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(ApiError::bad_request(format!("Invalid JSON in the request body: {e}"))),
    }
}

fn json_reply(status: u16, body: Map<String, Value>) -> ApiResponse {
    ApiResponse {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json; odata.metadata=minimal".into()),
            ("OData-Version".into(), "4.0".into()),
        ],
        body: Value::Object(body).to_string().into_bytes(),
    }
}

fn created(url: String) -> ApiResponse {
    ApiResponse {
        status: 204,
        headers: vec![("OData-Version".into(), "4.0".into()), ("OData-EntityId".into(), url)],
        body: Vec::new(),
    }
}

fn collection(context: String, value: Vec<Value>) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    body.insert("value".into(), Value::Array(value));
    body
}

fn entity_json(def: &EntityDef) -> Map<String, Value> {
    json!({
        "MetadataId": entity_metadata_id(def),
        "LogicalName": def.logical,
        "SchemaName": def.schema,
        "EntitySetName": def.set,
        "PrimaryIdAttribute": def.primary_id,
        "PrimaryNameAttribute": def.primary_name,
        "IsCustomEntity": false,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn key_json(def: &EntityDef, key: &EntityKey) -> Map<String, Value> {
    json!({
        "MetadataId": key.metadata_id,
        "LogicalName": key.logical_name,
        "SchemaName": key.schema_name,
        "EntityLogicalName": def.logical,
        "KeyAttributes": key.columns,
        "EntityKeyIndexStatus": key.status.as_str(),
        "DisplayName": key.display_name,
        "IsManaged": false,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// The definition of a standard column the sandbox knows (primary id and name, columns with
/// a length, lookups, state and status).
fn standard_attribute(def: &EntityDef, name: &str) -> Option<Map<String, Value>> {
    let kind = if name == def.primary_id {
        "Uniqueidentifier"
    } else if def.primary_name == name || def.max_length(name).is_some() || def.required.contains(&name) {
        "String"
    } else if def.lookup_by_attribute(name).is_some() {
        "Lookup"
    } else if !def.states.is_empty() && name == "statecode" {
        "State"
    } else if !def.states.is_empty() && name == "statuscode" {
        "Status"
    } else {
        return None;
    };
    let mut out = json!({
        "@odata.type": format!("#Microsoft.Dynamics.CRM.{kind}AttributeMetadata"),
        "LogicalName": name,
        "EntityLogicalName": def.logical,
        "AttributeType": kind,
        "IsCustomAttribute": false,
    });
    if let Some(max) = def.max_length(name) {
        out["MaxLength"] = json!(max);
    }
    out.as_object().cloned()
}

/// Checks an `AttributeMetadata` body and makes the column it describes.
fn parse_attribute(def: &EntityDef, mut body: Map<String, Value>) -> Result<CustomColumn> {
    let odata_type = body.get("@odata.type").and_then(Value::as_str).unwrap_or_default();
    let kind = odata_type
        .trim_start_matches('#')
        .strip_prefix("Microsoft.Dynamics.CRM.")
        .and_then(|t| t.strip_suffix("AttributeMetadata"))
        .unwrap_or_default()
        .to_owned();
    let schema_name = body.get("SchemaName").and_then(Value::as_str).unwrap_or_default().to_owned();
    if schema_name.is_empty() {
        return Err(ApiError::bad_request("AttributeMetadata.SchemaName is required."));
    }
    let max_length = |limit: u64| -> Result<Option<usize>> {
        match body.get("MaxLength").and_then(Value::as_u64) {
            Some(n) if (1..=limit).contains(&n) => Ok(Some(n as usize)),
            _ => Err(ApiError::bad_request(format!(
                "{kind}AttributeMetadata.MaxLength of '{schema_name}' must be between 1 and {limit}."
            ))),
        }
    };
    let max_length = match kind.as_str() {
        "String" => max_length(4000)?,
        "Memo" => max_length(1_048_576)?,
        "DateTime" => {
            let format = body.get("Format").and_then(Value::as_str).unwrap_or("DateAndTime");
            if !matches!(format, "DateOnly" | "DateAndTime") {
                return Err(ApiError::bad_request(format!(
                    "DateTimeAttributeMetadata.Format of '{schema_name}' must be DateOnly or DateAndTime, got '{format}'."
                )));
            }
            None
        }
        "Integer" | "Decimal" => None,
        _ => {
            return Err(ApiError::bad_request(format!(
                "'@odata.type' must be Microsoft.Dynamics.CRM.String-, Memo-, DateTime-, Integer- or DecimalAttributeMetadata; got '{odata_type}'."
            )));
        }
    };
    let logical_name = schema_name.to_lowercase();
    let metadata_id = Uuid::new_v4();
    body.insert("MetadataId".into(), json!(metadata_id));
    body.insert("LogicalName".into(), json!(logical_name));
    body.insert("EntityLogicalName".into(), json!(def.logical));
    body.insert("AttributeType".into(), json!(kind));
    body.insert("IsCustomAttribute".into(), json!(true));
    Ok(CustomColumn { metadata_id, logical_name, metadata: body, max_length })
}
