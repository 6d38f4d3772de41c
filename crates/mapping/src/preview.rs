//! `ferry map preview` and the dashboard's live preview: maps one sample record with a
//! flow and returns the output, or every field error.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::check::load_dir;
use crate::compiled::{CompiledMapping, FieldError};
use crate::diagnostic::Diagnostic;
use crate::flow::{At, Flow};
use crate::source::{LookupSource, NoLookups};

/// What the preview may read: lookup tables (a test table or the store) and the connector's
/// default transformer output to layer the flow's fields on.
#[derive(Clone)]
pub struct PreviewContext {
    /// Lookups, xref and rates.
    pub lookups: Arc<dyn LookupSource>,
    /// Fields the connector's default transformer produced for this input.
    pub base: Map<String, Value>,
}

impl Default for PreviewContext {
    fn default() -> Self {
        PreviewContext { lookups: Arc::new(NoLookups), base: Map::new() }
    }
}

/// Maps `input` with `flow`. Compile problems come back as field errors too, so the caller
/// has one error list to show.
pub fn preview(flow: &Flow, input: &Value, ctx: &PreviewContext) -> Result<Value, Vec<FieldError>> {
    let compiled = CompiledMapping::compile(flow).map_err(|diagnostics| {
        diagnostics
            .into_iter()
            .map(|d| FieldError {
                flow: flow.name.value.clone(),
                field: "(compile)".into(),
                expression: String::new(),
                message: d.to_string(),
            })
            .collect::<Vec<_>>()
    })?;
    let record = compiled.apply_over(input, ctx.base.clone(), &ctx.lookups)?;
    Ok(serde_json::to_value(record).unwrap_or(Value::Null))
}

/// Why a named preview could not run.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The flows folder has errors.
    #[error("the flows folder has {} error(s); run `ferry check`", .0.len())]
    Invalid(Vec<Diagnostic>),
    /// No flow has that name.
    #[error("no flow named {0:?} in the flows folder")]
    NotFound(String),
    /// The mapping failed.
    #[error("{} field(s) failed to map", .0.len())]
    Mapping(Vec<FieldError>),
}

/// Finds flow `name` in `dir` and previews it (the CLI entry point).
pub fn preview_named(
    dir: &Path,
    name: &str,
    known_connections: &[&str],
    input: &Value,
    ctx: &PreviewContext,
) -> Result<Value, PreviewError> {
    let (flows, diagnostics) = load_dir(dir, known_connections);
    let Some(file) = flows.into_iter().find(|f| f.flow.name.value == name) else {
        let relevant: Vec<Diagnostic> = diagnostics;
        return Err(if relevant.is_empty() {
            PreviewError::NotFound(name.to_owned())
        } else {
            PreviewError::Invalid(relevant)
        });
    };
    preview(&file.flow, input, ctx).map_err(PreviewError::Mapping)
}

/// Evaluates one field value (literal, `{{ expr }}` or text with `{{ }}`) against a record
/// bound as `record`, with `value_maps` for `value_map(...)`: the mapping designer's
/// expression box, and the filters' golden tests.
pub fn preview_expression(
    written: &str,
    record: &Value,
    value_maps: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, Value>>,
    ctx: &PreviewContext,
) -> Result<Value, FieldError> {
    let flow = Flow {
        name: At::new("preview".into()),
        template: None,
        enabled: true,
        connections: Default::default(),
        description: None,
        trigger: Default::default(),
        source: crate::flow::Source {
            connection: At::new(String::new()),
            operation: At::new(String::new()),
            included: vec![],
            alias: None,
        },
        target: crate::flow::Target {
            connection: At::new(String::new()),
            entity: At::new(String::new()),
            key: Default::default(),
            lines: None,
        },
        map: [("value".to_owned(), Some(At::new(written.to_owned())))].into_iter().collect(),
        custom_fields: Default::default(),
        value_maps: value_maps.clone(),
        lookups: Default::default(),
        only_if: None,
        settings: Default::default(),
        on_error: Default::default(),
        source_text: None,
    };
    let compiled = CompiledMapping::compile(&flow).map_err(|d| FieldError {
        flow: "preview".into(),
        field: "value".into(),
        expression: written.to_owned(),
        message: d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "),
    })?;
    let mut record = compiled.apply(record, &ctx.lookups).map_err(|mut e| e.remove(0))?;
    Ok(record.fields.remove("value").unwrap_or(Value::Null))
}
