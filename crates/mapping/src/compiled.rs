//! A flow's mapping compiled once, applied to every record.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use minijinja::value::Value as JValue;
use minijinja::{ErrorKind, Expression};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::env::{self, FUEL_PER_FIELD, MAX_FIELD_BYTES};
use crate::expr::{self, FieldSource, NameKind};
use crate::filters::lookup::{TABLES_KEY, Tables};
use crate::flow::{Expr, Flow, LineErrorPolicy, MissingPolicy, Pos};
use crate::source::LookupSource;

/// A field that could not be mapped. The message never carries buyer data: filters mask
/// personal values, and a missing field is named by its path, not its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Flow name.
    pub flow: String,
    /// Target field (`statuscode`, `lines[2].productid`, `only_if`, `lookups.customer`).
    pub field: String,
    /// The expression as written.
    pub expression: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flow {}, field {} (`{}`): {}", self.flow, self.field, self.expression, self.message)
    }
}

/// What happened to a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
pub enum Outcome {
    /// Mapped: write `key`, `fields` and `lines`.
    Mapped,
    /// `only_if` was false: nothing to write, not a failure.
    Skipped,
    /// A lookup with `missing: hold_for_review` found nothing.
    HoldForReview(String),
    /// A lookup with `missing: dead_letter` found nothing.
    DeadLetter(String),
}

/// A lookup that found nothing and whose policy asks the runtime to act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookupAction {
    /// Lookup name.
    pub lookup: String,
    /// Line index for per-line lookups.
    pub line: Option<usize>,
    /// The policy to carry out (`create`, `create_placeholder`).
    pub policy: MissingPolicy,
}

/// A line held back under `on_error: hold_line`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldLine {
    /// Index in the source lines.
    pub index: usize,
    /// Why.
    pub errors: Vec<FieldError>,
}

/// The result of mapping one record.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedRecord {
    /// What happened.
    pub outcome: Outcome,
    /// Idempotency key fields.
    pub key: Map<String, Value>,
    /// Header fields (connector defaults, overridden and extended by the flow).
    pub fields: Map<String, Value>,
    /// Mapped lines.
    pub lines: Vec<Map<String, Value>>,
    /// Lines held for a mapping fix.
    pub held_lines: Vec<HeldLine>,
    /// Create / placeholder actions for lookups that found nothing.
    pub actions: Vec<LookupAction>,
}

/// `{"outcome": …, "reason"?: …, "key": …, "fields": …, "lines": …, "held_lines": …,
/// "actions": …}`, written by hand because `#[serde(flatten)]` buffers the whole record.
impl Serialize for MappedRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let (outcome, reason) = match &self.outcome {
            Outcome::Mapped => ("mapped", None),
            Outcome::Skipped => ("skipped", None),
            Outcome::HoldForReview(r) => ("hold_for_review", Some(r)),
            Outcome::DeadLetter(r) => ("dead_letter", Some(r)),
        };
        map.serialize_entry("outcome", outcome)?;
        if let Some(reason) = reason {
            map.serialize_entry("reason", reason)?;
        }
        map.serialize_entry("key", &self.key)?;
        map.serialize_entry("fields", &self.fields)?;
        map.serialize_entry("lines", &self.lines)?;
        map.serialize_entry("held_lines", &self.held_lines)?;
        map.serialize_entry("actions", &self.actions)?;
        map.end()
    }
}

enum Program {
    Literal(JValue),
    Expr(Expression<'static, 'static>),
    /// `field: ~` removes a field the default transformer set.
    Remove,
}

struct Field {
    name: String,
    written: String,
    /// The expression source, for [`Batch`].
    source: String,
    program: Program,
}

/// All expression fields of one level (header or line) compiled into one dict expression,
/// so a record costs one VM run instead of one per field. A record on which the batch fails
/// is evaluated field by field to attribute every error to its field.
struct Batch {
    expr: Expression<'static, 'static>,
}

impl Batch {
    fn compile(fields: &[&Field]) -> Option<Batch> {
        let entries: Vec<&str> =
            fields.iter().filter(|f| matches!(f.program, Program::Expr(_))).map(|f| f.source.as_str()).collect();
        if entries.len() < 2 {
            return None;
        }
        let list = entries.iter().map(|e| format!("({e})")).collect::<Vec<_>>().join(", ");
        env::environment().compile_expression_owned(format!("[{list}]")).ok().map(|expr| Batch { expr })
    }

    /// Values in `fields` order, or `None` when any field failed or was undefined.
    fn run(&self, fields: &[&Field], ctx: &Ctx) -> Option<Vec<JValue>> {
        let list = self.expr.eval(ctx.value.clone()).ok()?;
        let mut computed = list.try_iter().ok()?;
        fields
            .iter()
            .map(|f| match &f.program {
                Program::Literal(v) => Some(v.clone()),
                Program::Remove => Some(JValue::UNDEFINED),
                Program::Expr(_) => computed.next().filter(|v| !v.is_undefined()),
            })
            .collect()
    }
}

struct CompiledLookup {
    name: String,
    entity: String,
    by: String,
    value: Field,
    missing: MissingPolicy,
    per_line: bool,
}

struct CompiledLines {
    batch: Option<Batch>,
    from: Field,
    only_if: Option<Field>,
    fields: Vec<Field>,
    on_error: LineErrorPolicy,
}

/// A flow's mapping, compiled once.
pub struct CompiledMapping {
    flow: String,
    record: String,
    settings: JValue,
    value_maps: Arc<BTreeMap<String, BTreeMap<String, JValue>>>,
    only_if: Option<Field>,
    lookups: Vec<CompiledLookup>,
    key: Vec<Field>,
    fields: Vec<Field>,
    lines: Option<CompiledLines>,
    header_batch: Option<Batch>,
    /// No nested (`a.b`) names, no removals: the output can be collected directly.
    flat_fields: bool,
}

impl fmt::Debug for CompiledMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledMapping")
            .field("flow", &self.flow)
            .field("fields", &self.fields.len())
            .finish_non_exhaustive()
    }
}

/// Compiles expressions of one flow and collects every problem.
struct Compiler<'a> {
    path: &'a Path,
    source_text: Option<&'a str>,
    value_maps: HashSet<&'a str>,
    lookups: std::collections::BTreeSet<&'a str>,
    settings: std::collections::BTreeSet<&'a str>,
    diagnostics: Vec<Diagnostic>,
}

impl Compiler<'_> {
    /// Column of character `offset` inside the value written at `pos` (skips an opening quote).
    fn pos_in(&self, pos: Pos, offset: usize) -> Pos {
        let quoted = self
            .source_text
            .and_then(|t| t.lines().nth(pos.line.saturating_sub(1) as usize))
            .and_then(|line| line.chars().nth(pos.column.saturating_sub(1) as usize))
            .is_some_and(|c| c == '"' || c == '\'');
        let shift = u32::try_from(offset).unwrap_or(0) + u32::from(quoted);
        Pos { line: pos.line, column: pos.column + shift }
    }

    fn error(&mut self, pos: Pos, message: String) {
        self.diagnostics.push(Diagnostic::new(self.path, pos, message));
    }

    fn field(&mut self, name: &str, expr: &Expr, roots: &[&str]) -> Option<Field> {
        let written = expr.value.clone();
        let source = match expr::parse_field(&written) {
            Ok(source) => source,
            Err(e) => {
                let pos = self.pos_in(expr.pos, e.offset);
                self.error(pos, format!("field `{name}`: {}", e.message));
                return None;
            }
        };
        let (source, offset) = match source {
            FieldSource::Literal(text) => {
                return Some(Field {
                    name: name.to_owned(),
                    written,
                    source: String::new(),
                    program: Program::Literal(JValue::from(text)),
                });
            }
            FieldSource::Expr { source, offset } => (source, offset),
        };
        let mut ok = true;
        for name_ref in expr::referenced_names(&written) {
            let known = match name_ref.kind {
                NameKind::Filter => env::has_filter(&name_ref.name),
                NameKind::Test => env::has_test(&name_ref.name),
                NameKind::Function => env::has_function(&name_ref.name),
                NameKind::ValueMap => self.value_maps.contains(name_ref.name.as_str()),
            };
            if !known {
                ok = false;
                let what = match name_ref.kind {
                    NameKind::Filter => "unknown filter",
                    NameKind::Test => "unknown test",
                    NameKind::Function => "unknown function",
                    NameKind::ValueMap => "unknown value map",
                };
                let pos = self.pos_in(expr.pos, name_ref.offset);
                self.error(pos, format!("field `{name}`: {what} `{}`", name_ref.name));
            }
        }
        let compiled = match env::environment().compile_expression_owned(source.clone()) {
            Ok(compiled) => compiled,
            Err(e) => {
                let pos = self.pos_in(expr.pos, offset);
                self.error(
                    pos,
                    format!("field `{name}`: syntax error: {}", e.detail().unwrap_or("invalid expression")),
                );
                return None;
            }
        };
        for var in compiled.undeclared_variables(false) {
            if !roots.contains(&var.as_str()) && !env::has_function(&var) {
                ok = false;
                let at = written.find(var.as_str()).map(|b| written[..b].chars().count()).unwrap_or(offset);
                let pos = self.pos_in(expr.pos, at);
                self.error(pos, format!("field `{name}`: unknown variable `{var}` (known here: {})", roots.join(", ")));
            }
        }
        for path in expr::dotted_paths(&source) {
            if path.len() >= 2 && path[0] == "settings" && !self.settings.contains(path[1].as_str()) {
                ok = false;
                let needle = format!("settings.{}", path[1]);
                let at = written.find(&needle).map(|b| written[..b].chars().count()).unwrap_or(offset);
                let pos = self.pos_in(expr.pos, at);
                self.error(pos, format!("field `{name}`: unknown setting `{}` (add it under `settings:`)", path[1]));
            }
        }
        // `lookups.<name>` must name a declared lookup; strict undefined would only say so
        // at run time, on the first record.
        for path in expr::dotted_paths(&source) {
            if path.len() >= 2
                && path[0] == "lookups"
                && roots.contains(&"lookups")
                && !self.lookups.contains(path[1].as_str())
            {
                ok = false;
                let needle = format!("lookups.{}", path[1]);
                let at = written.find(&needle).map(|b| written[..b].chars().count()).unwrap_or(offset);
                let pos = self.pos_in(expr.pos, at);
                let declared: Vec<&str> = self.lookups.iter().copied().collect();
                let declared = if declared.is_empty() { "none".to_owned() } else { declared.join(", ") };
                self.error(pos, format!("field `{name}`: unknown lookup `{}` (declared: {declared})", path[1]));
            }
        }
        ok.then(|| Field { name: name.to_owned(), written, source, program: Program::Expr(compiled) })
    }
}

impl CompiledMapping {
    /// Compiles a flow built in code or already parsed (diagnostics name the flow, not a file).
    pub fn compile(flow: &Flow) -> Result<Self, Vec<Diagnostic>> {
        let label = format!("<flow {}>", flow.name.value);
        Self::compile_file(flow, Path::new(&label), flow.source_text.as_deref())
    }

    /// Compiles a flow read from `path`; `source_text` (the file's text) sharpens columns.
    pub fn compile_file(flow: &Flow, path: &Path, source_text: Option<&str>) -> Result<Self, Vec<Diagnostic>> {
        let mut c = Compiler {
            path,
            source_text,
            value_maps: flow.value_maps.keys().map(String::as_str).collect(),
            lookups: flow.lookups.keys().map(String::as_str).collect(),
            settings: flow.settings.keys().map(String::as_str).collect(),
            diagnostics: Vec::new(),
        };
        let record = flow.source.record_name().to_owned();
        let roots: Vec<&str> = vec![record.as_str(), "settings"];
        let mut with_lookups = roots.clone();
        with_lookups.push("lookups");
        let mut line_roots = with_lookups.clone();
        line_roots.push("line");

        let only_if = flow.only_if.as_ref().and_then(|e| c.field("only_if", e, &roots));
        let mut lookups = Vec::new();
        for (name, lookup) in &flow.lookups {
            // A lookup that reads `line` runs once per line (product by SKU), otherwise once
            // per record (customer by e-mail).
            let per_line = expr::dotted_paths(&lookup.value.value).iter().any(|p| p[0] == "line");
            if per_line && flow.target.lines.is_none() {
                c.error(lookup.value.pos, format!("lookup `{name}` uses `line` but the target has no `lines`"));
            }
            let scope = if per_line { &line_roots } else { &roots };
            if let Some(value) = c.field(&format!("lookups.{name}"), &lookup.value, scope) {
                lookups.push(CompiledLookup {
                    name: name.clone(),
                    entity: lookup.entity.value.clone(),
                    by: lookup.by.value.clone(),
                    value,
                    missing: lookup.missing,
                    per_line,
                });
            }
        }
        let key: Vec<Field> = flow.target.key.iter().filter_map(|(n, e)| c.field(n, e, &with_lookups)).collect();
        let mut fields = Vec::new();
        for (name, expr) in &flow.map {
            match expr {
                Some(expr) => fields.extend(c.field(name, expr, &with_lookups)),
                None => fields.push(Field {
                    name: name.clone(),
                    written: "~".into(),
                    source: String::new(),
                    program: Program::Remove,
                }),
            }
        }
        fields.extend(flow.custom_fields.iter().filter_map(|(n, e)| c.field(n, e, &with_lookups)));
        let mut lines = flow.target.lines.as_ref().map(|l| CompiledLines {
            batch: None,
            from: c.field("lines.from", &l.from, &with_lookups).unwrap_or_else(|| Field::placeholder("lines.from")),
            only_if: l.only_if.as_ref().and_then(|e| c.field("lines.only_if", e, &line_roots)),
            fields: l.map.iter().filter_map(|(n, e)| c.field(&format!("lines.{n}"), e, &line_roots)).collect(),
            on_error: l.on_error,
        });
        if !c.diagnostics.is_empty() {
            c.diagnostics.sort();
            return Err(c.diagnostics);
        }
        if let Some(lines) = lines.as_mut() {
            lines.batch = Batch::compile(&lines.fields.iter().collect::<Vec<_>>());
        }
        let header_batch = Batch::compile(&key.iter().chain(&fields).collect::<Vec<_>>());
        let flat_fields = fields.iter().all(|f| !f.name.contains('.') && !matches!(f.program, Program::Remove));
        Ok(CompiledMapping {
            flat_fields,
            header_batch,
            flow: flow.name.value.clone(),
            record,
            settings: JValue::from(minijinja::value::Serde(&flow.settings)),
            value_maps: Arc::new(
                flow.value_maps
                    .iter()
                    .map(|(name, map)| {
                        (
                            name.clone(),
                            map.iter().map(|(k, v)| (k.clone(), JValue::from(minijinja::value::Serde(v)))).collect(),
                        )
                    })
                    .collect(),
            ),
            only_if,
            lookups,
            key,
            fields,
            lines,
        })
    }

    /// The flow's name.
    pub fn flow_name(&self) -> &str {
        &self.flow
    }

    /// Maps one record. `lookups` backs the flow's lookups, `lookup`, `xref` and rates.
    pub fn apply(&self, input: &Value, lookups: &Arc<dyn LookupSource>) -> Result<MappedRecord, Vec<FieldError>> {
        self.apply_over(input, Map::new(), lookups)
    }

    /// Maps one record on top of `base`, the connector's default transformer output: the
    /// flow's fields override or add to it, and `field: ~` removes one.
    pub fn apply_over(
        &self,
        input: &Value,
        base: Map<String, Value>,
        lookups: &Arc<dyn LookupSource>,
    ) -> Result<MappedRecord, Vec<FieldError>> {
        self.apply_shared(Arc::new(input.clone()), base, lookups)
    }

    /// [`apply_over`](Self::apply_over) without copying a record the caller already shares.
    pub fn apply_shared(
        &self,
        input: Arc<Value>,
        base: Map<String, Value>,
        lookups: &Arc<dyn LookupSource>,
    ) -> Result<MappedRecord, Vec<FieldError>> {
        let tables = JValue::from_object(Tables { value_maps: self.value_maps.clone(), source: lookups.clone() });
        let record = crate::json_value::wrap(input);
        let mut ctx = Ctx::new([
            (self.record.clone(), record),
            ("settings".into(), self.settings.clone()),
            (TABLES_KEY.into(), tables),
            ("lookups".into(), JValue::from(BTreeMap::<String, JValue>::new())),
        ]);
        let mut out = MappedRecord {
            outcome: Outcome::Mapped,
            key: Map::new(),
            fields: base,
            lines: Vec::new(),
            held_lines: Vec::new(),
            actions: Vec::new(),
        };
        let mut errors = Vec::new();

        if let Some(cond) = &self.only_if {
            match self.eval(cond, "only_if", &ctx) {
                Ok(v) if !v.is_true() => {
                    out.outcome = Outcome::Skipped;
                    out.fields.clear();
                    return Ok(out);
                }
                Ok(_) => {}
                Err(e) => return Err(vec![e]),
            }
        }

        let mut found: BTreeMap<String, JValue> = BTreeMap::new();
        for lookup in self.lookups.iter().filter(|l| !l.per_line) {
            match self.run_lookup(lookup, &ctx, lookups.as_ref(), None) {
                Ok(LookupResult::Found(v)) => {
                    found.insert(lookup.name.clone(), v);
                }
                Ok(LookupResult::Missing(action)) => {
                    found.insert(lookup.name.clone(), JValue::from(()));
                    if let Some(stop) = stop_outcome(&action) {
                        out.outcome = stop;
                        return Ok(out);
                    }
                    out.actions.push(action);
                }
                Err(e) => errors.push(e),
            }
        }
        if !found.is_empty() {
            ctx.set("lookups", JValue::from(found.clone()));
        }

        let header: Vec<&Field> = self.key.iter().chain(&self.fields).collect();
        if let Some(values) = self.header_batch.as_ref().and_then(|b| b.run(&header, &ctx)) {
            // Flat fields onto an empty base: build the map in one go from the (already
            // sorted) field order rather than by 25 separate inserts.
            if self.flat_fields && out.fields.is_empty() {
                let mut values = values.into_iter();
                for (field, value) in self.key.iter().zip(values.by_ref()) {
                    out.key.insert(field.name.clone(), to_json(&value));
                }
                out.fields = self.fields.iter().zip(values).map(|(f, v)| (f.name.clone(), to_json(&v))).collect();
                if let Some(lines) = &self.lines {
                    self.map_lines(lines, &mut ctx, &found, lookups.as_ref(), &mut out, &mut errors);
                }
                return if errors.is_empty() { Ok(out) } else { Err(errors) };
            }
            for (i, (field, value)) in header.iter().zip(values).enumerate() {
                if i < self.key.len() {
                    out.key.insert(field.name.clone(), to_json(&value));
                } else if matches!(field.program, Program::Remove) {
                    out.fields.remove(&field.name);
                } else {
                    insert_path(&mut out.fields, &field.name, to_json(&value));
                }
            }
            if let Some(lines) = &self.lines {
                self.map_lines(lines, &mut ctx, &found, lookups.as_ref(), &mut out, &mut errors);
            }
            return if errors.is_empty() { Ok(out) } else { Err(errors) };
        }
        for field in &self.key {
            match self.eval(field, &field.name, &ctx) {
                Ok(v) => {
                    out.key.insert(field.name.clone(), to_json(&v));
                }
                Err(e) => errors.push(e),
            }
        }
        for field in &self.fields {
            if matches!(field.program, Program::Remove) {
                out.fields.remove(&field.name);
                continue;
            }
            match self.eval(field, &field.name, &ctx) {
                Ok(v) => insert_path(&mut out.fields, &field.name, to_json(&v)),
                Err(e) => errors.push(e),
            }
        }
        if let Some(lines) = &self.lines {
            self.map_lines(lines, &mut ctx, &found, lookups.as_ref(), &mut out, &mut errors);
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }

    fn map_lines(
        &self,
        lines: &CompiledLines,
        ctx: &mut Ctx,
        found: &BTreeMap<String, JValue>,
        source: &dyn LookupSource,
        out: &mut MappedRecord,
        errors: &mut Vec<FieldError>,
    ) {
        let items = match self.eval(&lines.from, "lines.from", ctx) {
            Ok(v) => v,
            Err(e) => return errors.push(e),
        };
        let Ok(iter) = items.try_iter() else {
            return errors.push(self.field_error(&lines.from, "lines.from", "expected a list of lines".into()));
        };
        for (index, item) in iter.enumerate() {
            ctx.set("line", item);
            if let Some(cond) = &lines.only_if {
                match self.eval(cond, &format!("lines[{index}].only_if"), ctx) {
                    Ok(v) if !v.is_true() => continue,
                    Ok(_) => {}
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                }
            }
            let mut line_errors = Vec::new();
            let mut line_found = found.clone();
            let mut stop = None;
            for lookup in self.lookups.iter().filter(|l| l.per_line) {
                match self.run_lookup(lookup, ctx, source, Some(index)) {
                    Ok(LookupResult::Found(v)) => {
                        line_found.insert(lookup.name.clone(), v);
                    }
                    Ok(LookupResult::Missing(action)) => {
                        line_found.insert(lookup.name.clone(), JValue::from(()));
                        match stop_outcome(&action) {
                            Some(outcome) => stop = Some(outcome),
                            None => out.actions.push(action),
                        }
                    }
                    Err(e) => line_errors.push(e),
                }
            }
            if let Some(outcome) = stop {
                if lines.on_error == LineErrorPolicy::HoldLine {
                    let message = match &outcome {
                        Outcome::DeadLetter(r) | Outcome::HoldForReview(r) => r.clone(),
                        _ => String::new(),
                    };
                    out.held_lines.push(HeldLine {
                        index,
                        errors: vec![FieldError {
                            flow: self.flow.clone(),
                            field: format!("lines[{index}]"),
                            expression: String::new(),
                            message,
                        }],
                    });
                    continue;
                }
                out.outcome = outcome;
                continue;
            }
            ctx.set("lookups", JValue::from(line_found));
            let mut mapped = Map::new();
            let line_fields: Vec<&Field> = lines.fields.iter().collect();
            if let Some(values) = lines.batch.as_ref().and_then(|b| b.run(&line_fields, ctx)) {
                for (field, value) in line_fields.iter().zip(values) {
                    insert_path(&mut mapped, field.name.trim_start_matches("lines."), to_json(&value));
                }
                out.lines.push(mapped);
                continue;
            }
            for field in &lines.fields {
                let label = format!("lines[{index}].{}", field.name.trim_start_matches("lines."));
                match self.eval(field, &label, ctx) {
                    Ok(v) => insert_path(&mut mapped, field.name.trim_start_matches("lines."), to_json(&v)),
                    Err(e) => line_errors.push(e),
                }
            }
            if line_errors.is_empty() {
                out.lines.push(mapped);
            } else if lines.on_error == LineErrorPolicy::HoldLine {
                out.held_lines.push(HeldLine { index, errors: line_errors });
            } else {
                errors.extend(line_errors);
            }
        }
        ctx.remove("line");
        ctx.set("lookups", JValue::from(found.clone()));
    }

    fn run_lookup(
        &self,
        lookup: &CompiledLookup,
        ctx: &Ctx,
        source: &dyn LookupSource,
        line: Option<usize>,
    ) -> Result<LookupResult, FieldError> {
        let label = match line {
            Some(i) => format!("lines[{i}].lookups.{}", lookup.name),
            None => format!("lookups.{}", lookup.name),
        };
        let key = self.eval(&lookup.value, &label, ctx)?;
        let key_text = key.as_str().map(str::to_owned).unwrap_or_else(|| key.to_string());
        let found = source
            .find(&lookup.entity, &lookup.by, &key_text)
            .map_err(|e| self.field_error(&lookup.value, &label, e.to_string()))?;
        Ok(match found {
            Some(v) => LookupResult::Found(JValue::from(minijinja::value::Serde(&v))),
            None => LookupResult::Missing(LookupAction { lookup: lookup.name.clone(), line, policy: lookup.missing }),
        })
    }

    fn eval(&self, field: &Field, label: &str, ctx: &Ctx) -> Result<JValue, FieldError> {
        match &field.program {
            Program::Literal(v) => Ok(v.clone()),
            Program::Remove => Ok(JValue::from(())),
            Program::Expr(expr) => {
                let value = expr.eval(ctx.value.clone()).map_err(|e| {
                    let undefined_input = e.detail().is_some_and(|d| d.ends_with("got undefined"));
                    let message = match e.kind() {
                        ErrorKind::UndefinedError => missing_message(&field.written, ctx)
                            .unwrap_or_else(|| "a referenced value is missing in the input".into()),
                        // Strict undefined lets filters see an undefined argument; say which field.
                        _ if undefined_input => match missing_message(&field.written, ctx) {
                            Some(missing) => missing,
                            None => e.detail().unwrap_or_default().to_owned(),
                        },
                        ErrorKind::OutOfFuel => {
                            format!(
                                "the expression ran more than {FUEL_PER_FIELD} steps or built too much data \
                                 (MiniJinja charges the text it builds) and was stopped"
                            )
                        }
                        kind => e.detail().map(str::to_owned).unwrap_or_else(|| kind.to_string()),
                    };
                    self.field_error(field, label, message)
                })?;
                // Strict undefined fails on use, but a bare `{{ record.Missing }}` is not a use.
                if value.is_undefined() {
                    let message =
                        missing_message(&field.written, ctx).unwrap_or_else(|| "the expression has no value".into());
                    return Err(self.field_error(field, label, message));
                }
                if let Some(text) = value.as_str()
                    && text.len() > MAX_FIELD_BYTES
                {
                    let message =
                        format!("the value is {} bytes, more than the {MAX_FIELD_BYTES} a field may hold", text.len());
                    return Err(self.field_error(field, label, message));
                }
                Ok(value)
            }
        }
    }

    fn field_error(&self, field: &Field, label: &str, message: String) -> FieldError {
        FieldError { flow: self.flow.clone(), field: label.to_owned(), expression: field.written.clone(), message }
    }
}

impl Field {
    fn placeholder(name: &str) -> Field {
        Field { name: name.to_owned(), written: String::new(), source: String::new(), program: Program::Remove }
    }
}

enum LookupResult {
    Found(JValue),
    Missing(LookupAction),
}

fn stop_outcome(action: &LookupAction) -> Option<Outcome> {
    let reason = match action.line {
        Some(i) => format!("lookup `{}` found nothing for line {i}", action.lookup),
        None => format!("lookup `{}` found nothing", action.lookup),
    };
    match action.policy {
        MissingPolicy::DeadLetter => Some(Outcome::DeadLetter(reason)),
        MissingPolicy::HoldForReview => Some(Outcome::HoldForReview(reason)),
        MissingPolicy::Create | MissingPolicy::CreatePlaceholder | MissingPolicy::Ignore => None,
    }
}

/// Names the first dotted path of the expression that does not exist in the record.
fn missing_message(written: &str, ctx: &Ctx) -> Option<String> {
    for path in expr::dotted_paths(written) {
        let Some(root) = ctx.vars.get(&path[0]) else { continue };
        let mut current = root.clone();
        for (depth, key) in path.iter().enumerate().skip(1) {
            let next = current.get_attr(key).unwrap_or(JValue::UNDEFINED);
            if next.is_undefined() {
                return Some(format!(
                    "`{}` is missing in the input (add `| default(...)` if it is optional)",
                    path[..=depth].join(".")
                ));
            }
            current = next;
        }
    }
    None
}

/// Template value → JSON, directly for the common kinds: going through serde costs more
/// than evaluating a simple field.
fn to_json(value: &JValue) -> Value {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(value.is_true()),
        ValueKind::String => Value::String(value.as_str().unwrap_or_default().to_owned()),
        ValueKind::Number => match value.as_i64() {
            Some(i) => Value::from(i),
            None => f64::try_from(value.clone())
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
        },
        ValueKind::Seq => {
            value.try_iter().map_or(Value::Null, |items| Value::Array(items.map(|v| to_json(&v)).collect()))
        }
        ValueKind::Map => match value.try_iter() {
            Ok(keys) => Value::Object(
                keys.map(|k| {
                    let item = value.get_item(&k).unwrap_or(JValue::UNDEFINED);
                    let key = k.as_str().map_or_else(|| k.to_string(), str::to_owned);
                    (key, to_json(&item))
                })
                .collect(),
            ),
            Err(_) => Value::Null,
        },
        _ => serde_json::to_value(value).unwrap_or(Value::Null),
    }
}

/// `destinationAddress.city` builds nested objects, as SP-API and F&O payloads need.
fn insert_path(map: &mut Map<String, Value>, name: &str, value: Value) {
    match name.split_once('.') {
        Some((head, rest)) if !head.is_empty() && !rest.is_empty() => {
            let child = map.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                insert_path(child, rest, value);
            }
        }
        _ => {
            map.insert(name.to_owned(), value);
        }
    }
}

/// The evaluation context: the variables, and the same as one MiniJinja value built once
/// per change rather than once per field (25 fields would otherwise copy the map 25 times).
struct Ctx {
    vars: BTreeMap<String, JValue>,
    value: JValue,
}

impl Ctx {
    fn new<const N: usize>(vars: [(String, JValue); N]) -> Self {
        let vars: BTreeMap<String, JValue> = vars.into_iter().collect();
        let value = JValue::from(vars.clone());
        Ctx { vars, value }
    }

    fn set(&mut self, key: impl Into<String>, value: JValue) {
        self.vars.insert(key.into(), value);
        self.value = JValue::from(self.vars.clone());
    }

    fn remove(&mut self, key: &str) {
        self.vars.remove(key);
        self.value = JValue::from(self.vars.clone());
    }
}
