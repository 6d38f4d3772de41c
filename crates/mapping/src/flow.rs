//! Flow files: one YAML file per flow in the flows folder.
//!
//! The types here are the file format. They deserialize with positions (every name and
//! expression keeps its line and column, so `ferry check` can point at it) and generate the
//! JSON Schema that editors use for completion ([`json_schema`]). Unknown keys are errors:
//! a misspelt `value_map` must not be silently ignored.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

use crate::diagnostic::Diagnostic;

/// A 1-based line and column in a flow file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

/// A value with the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub pos: Pos,
}

impl<T> At<T> {
    /// A value not read from a file (built in code).
    pub fn new(value: T) -> Self {
        At { value, pos: Pos::default() }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        let pos = Pos {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        };
        Ok(At { value: spanned.value, pos })
    }
}

impl<T: JsonSchema> JsonSchema for At<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A field value: literal text, `{{ expression }}`, or text with `{{ }}` parts.
pub type Expr = At<String>;

/// One flow.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Unique name of the flow instance (used by `ferry map preview --flow NAME`).
    pub name: At<String>,
    /// The shipped flow this file is an instance of; by default its `name`. Several files
    /// may instantiate one template (two marketplaces into one CRM).
    #[serde(default)]
    pub template: Option<At<String>>,
    /// `false` keeps the file checked but not run.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The tenant's connection each of the template's roles uses (`amazon: amazon-eu`,
    /// `crm: crm-prod`). `trigger`, `source` and `target` then name roles.
    #[serde(default)]
    pub connections: BTreeMap<String, At<String>>,
    /// What the flow does, for the dashboard.
    #[serde(default)]
    pub description: Option<String>,
    /// What starts a run.
    pub trigger: Trigger,
    /// Where records come from.
    pub source: Source,
    /// Where records go.
    pub target: Target,
    /// Target field → value, on top of the connector's default transformer.
    #[serde(default)]
    pub map: BTreeMap<String, Option<Expr>>,
    /// Custom fields of the target (e.g. `new_amazonorderid`), written like `map` entries.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Expr>,
    /// Named value maps for `value_map('name')` (status harmonisation and the like).
    #[serde(default)]
    pub value_maps: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Records looked up in the target before mapping; results are `lookups.<name>`.
    #[serde(default)]
    pub lookups: BTreeMap<String, Lookup>,
    /// Only records for which this is true are mapped; the rest are skipped (not failed).
    #[serde(default)]
    pub only_if: Option<Expr>,
    /// Constants available to expressions as `settings.<name>`.
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// What to do when a record cannot be mapped or written.
    #[serde(default)]
    pub on_error: ErrorPolicy,
    /// The file's text, kept by [`parse_flow`] so later diagnostics get exact columns.
    #[serde(skip)]
    #[schemars(skip)]
    pub source_text: Option<std::sync::Arc<str>>,
}

/// What starts a run: events, a poll, or both (the poll as a safety net).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Event notifications from a connection.
    #[serde(default)]
    pub events: Option<EventTrigger>,
    /// A schedule with a cursor kept by Ferry.
    #[serde(default)]
    pub poll: Option<PollTrigger>,
}

/// Event-driven trigger.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTrigger {
    /// Connection name.
    pub connection: At<String>,
    /// Event types, e.g. `ORDER_CHANGE`.
    pub types: Vec<At<String>>,
}

/// Polling trigger.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollTrigger {
    /// Connection name.
    pub connection: At<String>,
    /// Operation that lists changed records, e.g. `searchOrders`.
    pub operation: At<String>,
    /// Interval: `30s`, `5m`, `1h`.
    pub every: At<String>,
    /// Source field the cursor follows, e.g. `LastUpdateDate`.
    #[serde(default)]
    pub cursor: Option<At<String>>,
}

/// The source operation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Connection name.
    pub connection: At<String>,
    /// Operation that reads one record, e.g. `getOrder`.
    pub operation: At<String>,
    /// Extra data to include (SP-API `includedData`: BUYER, RECIPIENT…).
    #[serde(default)]
    pub included: Vec<String>,
    /// Name of the record in expressions (`order.AmazonOrderId`); default `record`.
    #[serde(default, rename = "as")]
    pub alias: Option<At<String>>,
}

impl Source {
    /// The variable the record is bound to.
    pub fn record_name(&self) -> &str {
        self.alias.as_ref().map_or("record", |a| a.value.as_str())
    }
}

/// The target operation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Connection name.
    pub connection: At<String>,
    /// Entity or operation, e.g. `salesorder`, `createFulfillmentOrder`.
    pub entity: At<String>,
    /// Idempotency key: target field → value. The write is an upsert on it.
    pub key: BTreeMap<String, Expr>,
    /// Child lines (order products, fulfillment items).
    #[serde(default)]
    pub lines: Option<Lines>,
}

/// Child lines of the target record.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lines {
    /// Entity of the lines, e.g. `salesorderdetail`.
    pub entity: At<String>,
    /// Expression giving the source lines, e.g. `{{ order.OrderItems }}`; each is `line`.
    pub from: Expr,
    /// Only lines for which this is true (e.g. only FBA lines).
    #[serde(default)]
    pub only_if: Option<Expr>,
    /// Line field → value.
    #[serde(default)]
    pub map: BTreeMap<String, Expr>,
    /// A line that fails to map: fail the record, or hold that line and post the rest.
    #[serde(default)]
    pub on_error: LineErrorPolicy,
}

/// What a failing line does to its record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineErrorPolicy {
    /// The whole record fails (default).
    #[default]
    FailRecord,
    /// The line is held for a mapping fix; the other lines are posted.
    HoldLine,
}

/// A lookup of a target record before mapping.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Target entity, e.g. `contact`.
    pub entity: At<String>,
    /// Field to match, e.g. `emailaddress1`.
    pub by: At<String>,
    /// Value to match; may use `line` for a per-line lookup.
    pub value: Expr,
    /// What to do when nothing matches.
    pub missing: MissingPolicy,
}

/// What to do when a lookup finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    /// Create the record (e.g. a guest contact), then continue.
    Create,
    /// Hold the source record for review.
    HoldForReview,
    /// Dead-letter the record and alert (e.g. unknown SKU).
    DeadLetter,
    /// Create a placeholder (e.g. an item) and continue.
    CreatePlaceholder,
    /// Continue with `none`.
    Ignore,
}

/// Record-level error handling.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorPolicy {
    /// Mapping failures: dead-letter (default) or hold for review.
    #[serde(default)]
    pub mapping: Option<MappingFailure>,
}

/// What a mapping failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingFailure {
    /// Dead-letter with the field errors.
    DeadLetter,
    /// Hold for review.
    HoldForReview,
}

/// JSON Schema (2020-12) of the flow file format, for editors and the YAML language server.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Flow)).unwrap_or(serde_json::Value::Null)
}

/// A flow with the file it came from.
#[derive(Debug, Clone)]
pub struct FlowFile {
    /// Path of the file.
    pub path: PathBuf,
    /// The flow.
    pub flow: Flow,
}

/// Parses one flow from YAML text. `path` is used in diagnostics only.
pub fn parse_flow(path: &Path, text: &str) -> Result<Flow, Diagnostic> {
    let mut flow = serde_saphyr::from_str::<Flow>(text).map_err(|err| {
        let pos = err
            .location()
            .map(|l| Pos { line: l.line() as u32, column: l.column() as u32 })
            .unwrap_or(Pos { line: 1, column: 1 });
        Diagnostic::new(path, pos, yaml_message(&err))
    })?;
    flow.source_text = Some(text.into());
    Ok(flow)
}

/// The error text without serde-saphyr's own location prefix and snippet (we print ours).
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let mut message = text.lines().next().unwrap_or("invalid YAML").trim();
    // The position is printed by `Diagnostic`; drop serde-saphyr's copies of it:
    // a leading "error: line 3 column 5: " and a trailing " at line 3, column 5".
    if let Some(rest) = message.strip_prefix("error: ") {
        message = rest;
    }
    if message.starts_with("line ")
        && let Some((_, rest)) = message.split_once(": ")
    {
        message = rest;
    }
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    };
    unknown_key(message).unwrap_or_else(|| message.to_owned())
}

/// serde's "unknown field `x`, expected one of a, b" as a flow file's reader says it, with a
/// word on keys that were removed because nothing acted on them.
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let known = rest
        .strip_prefix(", expected one of ")
        .or_else(|| rest.strip_prefix(", expected "))
        .map(|k| k.replace('`', ""))
        .unwrap_or_else(|| "none".into());
    let removed = match key {
        "steps" => {
            " (`steps:` was removed: nothing ran it; a flow runs its lookups, `only_if`, the mapping and the \
             write, in that order)"
        }
        _ => "",
    };
    Some(format!("unknown key `{key}`{removed}; the keys allowed here are: {known}"))
}

/// Reads and parses a flow file.
pub fn load_flow(path: &Path) -> Result<Flow, Diagnostic> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(path, Pos { line: 1, column: 1 }, format!("cannot read the file: {e}")))?;
    parse_flow(path, &text)
}

fn enabled_by_default() -> bool {
    true
}

impl Flow {
    /// The template this file instantiates: `template:`, else its name.
    pub fn template_name(&self) -> &At<String> {
        self.template.as_ref().unwrap_or(&self.name)
    }
}
