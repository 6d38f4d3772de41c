//! `ferry check`: validates every flow file in a folder without running anything and
//! reports all problems at once, each as `file:line:column: message`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compiled::CompiledMapping;
use crate::diagnostic::Diagnostic;
use crate::flow::{At, Flow, FlowFile, Pos, parse_flow};

/// Checks every `*.yaml` / `*.yml` flow in `dir` against the connections that exist.
pub fn check_dir(dir: &Path, known_connections: &[&str]) -> Vec<Diagnostic> {
    let (_, diagnostics) = load_dir(dir, known_connections);
    diagnostics
}

/// Loads and checks every flow in `dir`: the flows that passed, and every diagnostic.
pub fn load_dir(dir: &Path, known_connections: &[&str]) -> (Vec<FlowFile>, Vec<Diagnostic>) {
    load_dir_with_roles(dir, known_connections, &[])
}

/// [`load_dir`] where `trigger`, `source` and `target` may also name one of `roles` (the
/// connection roles of the flow templates, bound by the flows crate).
pub fn load_dir_with_roles(dir: &Path, known_connections: &[&str], roles: &[&str]) -> (Vec<FlowFile>, Vec<Diagnostic>) {
    match read_dir_texts(dir) {
        Ok((texts, mut diagnostics)) => {
            let (flows, more) = load_texts(texts, known_connections, roles);
            diagnostics.extend(more);
            diagnostics.sort();
            (flows, diagnostics)
        }
        Err(d) => (Vec::new(), vec![d]),
    }
}

/// A flow file's path and text.
pub type FlowText = (PathBuf, String);

/// The text of every `*.yaml` / `*.yml` file in `dir`, by path, and a diagnostic for each
/// file that cannot be read; `Err` when the folder itself cannot be read.
pub fn read_dir_texts(dir: &Path) -> Result<(Vec<FlowText>, Vec<Diagnostic>), Diagnostic> {
    let paths = flow_paths(dir)
        .map_err(|e| Diagnostic::new(dir, Pos { line: 1, column: 1 }, format!("cannot read the flows folder: {e}")))?;
    let mut texts = Vec::new();
    let mut diagnostics = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push((path, text)),
            Err(e) => diagnostics.push(Diagnostic::new(
                &path,
                Pos { line: 1, column: 1 },
                format!("cannot read the file: {e}"),
            )),
        }
    }
    Ok((texts, diagnostics))
}

/// [`load_dir_with_roles`] over texts already read (a folder's files, or the versions the
/// store keeps of them), each with the path its diagnostics name.
pub fn load_texts(
    texts: Vec<(PathBuf, String)>,
    known_connections: &[&str],
    roles: &[&str],
) -> (Vec<FlowFile>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut flows = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (path, text) in texts {
        let flow = match parse_flow(&path, &text) {
            Ok(flow) => flow,
            Err(d) => {
                diagnostics.push(d);
                continue;
            }
        };
        let before = diagnostics.len();
        check_flow(&path, &text, &flow, (known_connections, roles), &mut diagnostics);
        if let Some(first) = names.get(&flow.name.value) {
            let other = first.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            diagnostics.push(Diagnostic::new(
                &path,
                flow.name.pos,
                format!("duplicate flow name `{}` (also in {other})", flow.name.value),
            ));
        } else {
            names.insert(flow.name.value.clone(), path.clone());
        }
        if diagnostics.len() == before {
            flows.push(FlowFile { path, flow });
        }
    }
    diagnostics.sort();
    (flows, diagnostics)
}

fn flow_paths(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Semantic checks of one parsed flow, then compilation of every expression.
pub fn check_flow(
    path: &Path,
    text: &str,
    flow: &Flow,
    (known_connections, roles): (&[&str], &[&str]),
    out: &mut Vec<Diagnostic>,
) {
    // A section names a role bound in `connections:` or, without one, a connection.
    for conn in flow.connections.values() {
        if !known_connections.contains(&conn.value.as_str()) {
            out.push(Diagnostic::new(
                path,
                conn.pos,
                format!("unknown connection `{}` (known: {})", conn.value, known_connections.join(", ")),
            ));
        }
    }
    let mut connection = |c: &At<String>| {
        if flow.connections.contains_key(&c.value) || roles.contains(&c.value.as_str()) {
            return;
        }
        if !known_connections.contains(&c.value.as_str()) {
            out.push(Diagnostic::new(
                path,
                c.pos,
                format!("unknown connection `{}` (known: {})", c.value, known_connections.join(", ")),
            ));
        }
    };
    if let Some(events) = &flow.trigger.events {
        connection(&events.connection);
    }
    if let Some(poll) = &flow.trigger.poll {
        connection(&poll.connection);
    }
    connection(&flow.source.connection);
    connection(&flow.target.connection);
    if flow.trigger.events.is_none() && flow.trigger.poll.is_none() {
        out.push(Diagnostic::new(path, flow.name.pos, "the trigger needs `events`, `poll` or both"));
    }
    if let Some(poll) = flow.trigger.poll.as_ref().filter(|p| parse_interval(&p.every.value).is_none()) {
        out.push(Diagnostic::new(
            path,
            poll.every.pos,
            format!(
                "trigger.poll.every: invalid interval `{}`: use a number and s, m, h or d from 1s to 1d, e.g. 5m",
                poll.every.value
            ),
        ));
    }
    if flow.target.key.is_empty() {
        out.push(Diagnostic::new(
            path,
            flow.target.entity.pos,
            "target.key is empty: every write needs an idempotency key",
        ));
    }
    // A constant key makes every record upsert the same target record.
    for (field, value) in &flow.target.key {
        if matches!(crate::expr::parse_field(&value.value), Ok(crate::expr::FieldSource::Literal(_))) {
            out.push(Diagnostic::new(
                path,
                value.pos,
                format!("target.key `{field}` is constant: every record would overwrite the same target record"),
            ));
        }
    }
    // Conditions and line sources must be computed: a literal `only_if: false` is a string,
    // which is always true, so it is almost certainly a mistake.
    let mut computed = vec![("only_if", flow.only_if.as_ref())];
    if let Some(lines) = &flow.target.lines {
        computed.push(("lines.from", Some(&lines.from)));
        computed.push(("lines.only_if", lines.only_if.as_ref()));
    }
    for (name, expr) in computed.into_iter().filter_map(|(n, e)| e.map(|e| (n, e))) {
        if matches!(crate::expr::parse_field(&expr.value), Ok(crate::expr::FieldSource::Literal(_))) {
            out.push(Diagnostic::new(
                path,
                expr.pos,
                format!("`{name}` must be an expression in {{{{ }}}}, not literal text"),
            ));
        }
    }
    if let Err(diagnostics) = CompiledMapping::compile_file(flow, path, Some(text)) {
        out.extend(diagnostics);
    }
}

/// The longest poll interval: a day.
pub const MAX_INTERVAL_SECONDS: u64 = 86_400;

/// `30s`, `5m`, `1h`, `1d` → seconds, from 1 s to [`MAX_INTERVAL_SECONDS`].
pub fn parse_interval(text: &str) -> Option<u64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number: u64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    number.checked_mul(factor).filter(|s| (1..=MAX_INTERVAL_SECONDS).contains(s))
}
