//! Binding flow files to templates and connections, so every key in a file is acted on or
//! refused, by the one check `ferry check` and `ferry run` share (each problem names the
//! file, line and column).
//!
//! A file instantiates its `template:` (by default its `name:`). Its `connections:` binds
//! the template's roles to the tenant's connections; a role left out is bound to the tenant's
//! only connection of the role's system, or to the connection the file's sections name (files
//! written before roles existed). `trigger`, `source` and `target` name roles (or, in such
//! older files, connections), and must be on the side the template acts on. What a handler does
//! not vary (operations, cursors, target entities) must be written as the handler does it.

use std::collections::BTreeMap;

use ferry_mapping::flow::{At, FlowFile, MappingFailure, Pos};
use ferry_model::ConnectionId;

use crate::connectors::ConnectionConfig;
use crate::plugin::{FlowTemplate, Role};

/// One flow file bound to its template and connections.
pub struct Bound<'a> {
    pub file: &'a FlowFile,
    pub template: &'static dyn FlowTemplate,
    pub bindings: BTreeMap<&'static str, ConnectionId>,
}

/// Checks every file against its template and the tenant's connections; returns the enabled
/// instances whose files are sound and every problem found.
pub fn bind<'a>(
    files: &'a [FlowFile],
    connections: &[ConnectionConfig],
    templates: &[&'static dyn FlowTemplate],
) -> (Vec<Bound<'a>>, Vec<String>) {
    let mut problems = Vec::new();
    let mut bound: Vec<Bound<'a>> = Vec::new();
    for file in files {
        let before = problems.len();
        let mut problem = |at: Pos, text: String| {
            problems.push(format!(
                "{}:{}:{}: flow {}: {text}",
                file.path.display(),
                at.line,
                at.column,
                file.flow.name.value
            ));
        };
        let flow = &file.flow;
        let template_name = flow.template_name();
        let Some(template) = templates.iter().copied().find(|t| t.name() == template_name.value) else {
            let shipped: Vec<&str> = templates.iter().map(|t| t.name()).collect();
            let key = if flow.template.is_some() { "template" } else { "name" };
            problem(
                template_name.pos,
                format!(
                    "{key} `{}` is no flow Ferry ships, so it would never run (set `template:` to one of {})",
                    template_name.value,
                    shipped.join(", ")
                ),
            );
            continue;
        };
        let bindings = bind_roles(flow, template, connections, &mut problem);
        check_sections(flow, template, &mut problem);
        if let Err(e) = template.check_settings(file) {
            problem(flow.name.pos, e);
        }
        if problems.len() > before || !flow.enabled {
            continue;
        }
        if let Some(twin) = bound.iter().find(|b| b.template.name() == template.name() && b.bindings == bindings) {
            problems.push(format!(
                "{}:{}:{}: flow {}: runs {} over the same connections as flow {} ({}): every record would be \
                 handled twice; bind other connections or set `enabled: false`",
                file.path.display(),
                flow.name.pos.line,
                flow.name.pos.column,
                flow.name.value,
                template.name(),
                twin.file.flow.name.value,
                twin.file.path.display()
            ));
            continue;
        }
        bound.push(Bound { file, template, bindings });
    }
    (bound, problems)
}

/// The section keys that name a connection (or role), with the role the template acts on there.
fn sections<'f>(
    flow: &'f ferry_mapping::Flow,
    template: &dyn FlowTemplate,
) -> Vec<(&'static str, &'f At<String>, &'static str)> {
    let c = template.contract();
    let mut out = Vec::new();
    if let Some(events) = &flow.trigger.events {
        out.push(("trigger.events.connection", &events.connection, c.events.0));
    }
    if let Some(poll) = &flow.trigger.poll {
        out.push(("trigger.poll.connection", &poll.connection, c.poll.0));
    }
    out.push(("source.connection", &flow.source.connection, c.source.0));
    out.push(("target.connection", &flow.target.connection, c.target.0));
    out
}

fn role_of(template: &dyn FlowTemplate, name: &str) -> Option<Role> {
    template.roles().iter().copied().find(|r| r.name == name)
}

fn bind_roles(
    flow: &ferry_mapping::Flow,
    template: &dyn FlowTemplate,
    connections: &[ConnectionConfig],
    problem: &mut dyn FnMut(Pos, String),
) -> BTreeMap<&'static str, ConnectionId> {
    let names: Vec<&str> = template.roles().iter().map(|r| r.name).collect();
    for (key, conn) in &flow.connections {
        if role_of(template, key).is_none() {
            problem(
                conn.pos,
                format!(
                    "connections.{key}: `{key}` is not a role of {} (its roles: {})",
                    template.name(),
                    names.join(", ")
                ),
            );
        }
    }
    let mut bindings = BTreeMap::new();
    for role in template.roles() {
        // Explicit, else what older files' sections name, else the only one of its system.
        let explicit = flow.connections.get(role.name).map(|c| (format!("connections.{}", role.name), c.clone()));
        let named = || {
            sections(flow, template)
                .into_iter()
                .find(|(_, conn, on)| *on == role.name && role_of(template, &conn.value).is_none())
                .map(|(key, conn, _)| (key.to_owned(), conn.clone()))
        };
        let (key, conn) = match explicit.or_else(named) {
            Some(found) => found,
            None => {
                let of_system: Vec<&ConnectionConfig> =
                    connections.iter().filter(|c| c.system == role.system).collect();
                match of_system.as_slice() {
                    [only] => {
                        bindings.insert(role.name, only.id.clone());
                        continue;
                    }
                    [] => problem(
                        flow.name.pos,
                        format!(
                            "role `{}` needs a `{}` connection and the tenant has none (ferry connections add)",
                            role.name, role.system
                        ),
                    ),
                    several => problem(
                        flow.name.pos,
                        format!(
                            "role `{}` is not bound and the tenant has {} `{}` connections ({}): add `connections: {{ {}: <id> }}`",
                            role.name,
                            several.len(),
                            role.system,
                            several.iter().map(|c| c.id.as_ref()).collect::<Vec<_>>().join(", "),
                            role.name
                        ),
                    ),
                }
                continue;
            }
        };
        let Some(found) = connections.iter().find(|c| c.id.as_ref() == conn.value) else {
            continue; // the flow loader reports an unknown connection
        };
        if found.system != role.system {
            problem(
                conn.pos,
                format!(
                    "{key} names connection `{}` of system `{}`; role `{}` needs a `{}` connection",
                    conn.value, found.system, role.name, role.system
                ),
            );
            continue;
        }
        bindings.insert(role.name, found.id.clone());
    }
    // Older files name connections in their sections: each must be the role's connection.
    for (key, conn, on) in sections(flow, template) {
        match role_of(template, &conn.value) {
            Some(role) if role.name != on => problem(
                conn.pos,
                format!("{key} names role `{}`, but {} acts on role `{on}` there", role.name, template.name()),
            ),
            Some(_) => {}
            None => {
                if let Some(bound) = bindings.get(on)
                    && bound.as_ref() != conn.value
                    && connections.iter().any(|c| c.id.as_ref() == conn.value)
                {
                    problem(
                        conn.pos,
                        format!("{key} names connection `{}`, but role `{on}` is bound to `{bound}`", conn.value),
                    );
                }
            }
        }
    }
    bindings
}

/// What the template's handler does not vary must be written as it does it.
fn check_sections(flow: &ferry_mapping::Flow, template: &dyn FlowTemplate, problem: &mut dyn FnMut(Pos, String)) {
    let contract = template.contract();
    if let Some(events) = &flow.trigger.events {
        for t in &events.types {
            if !contract.events.1.contains(&t.value.as_str()) {
                problem(
                    t.pos,
                    format!(
                        "trigger.events.types: `{}` cannot start this flow (it handles {})",
                        t.value,
                        contract.events.1.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(poll) = &flow.trigger.poll {
        if poll.operation.value != contract.poll.1 {
            problem(
                poll.operation.pos,
                format!("trigger.poll.operation must be `{}` (the operation this flow polls)", contract.poll.1),
            );
        }
        if let Some(cursor) = poll.cursor.as_ref().filter(|c| c.value != contract.poll.2) {
            problem(
                cursor.pos,
                format!("trigger.poll.cursor must be `{}` (the field this flow's poll moves on)", contract.poll.2),
            );
        }
    }
    if flow.source.operation.value != contract.source.1 {
        problem(
            flow.source.operation.pos,
            format!("source.operation must be `{}` (the read this flow makes)", contract.source.1),
        );
    }
    for value in &flow.source.included {
        if !contract.included.contains(&value.as_str()) {
            let allowed =
                if contract.included.is_empty() { "nothing".to_owned() } else { contract.included.join(", ") };
            problem(
                flow.source.operation.pos,
                format!("source.included: `{value}` is not something this flow can ask for (it can ask for {allowed})"),
            );
        }
    }
    if flow.target.entity.value != contract.target.1 {
        problem(
            flow.target.entity.pos,
            format!("target.entity must be `{}` (what this flow writes)", contract.target.1),
        );
    }
    if let Some(lines) = flow.target.lines.as_ref().filter(|l| l.entity.value != contract.target.2) {
        problem(lines.entity.pos, format!("target.lines.entity must be `{}`", contract.target.2));
    }
    if flow.on_error.mapping == Some(MappingFailure::HoldForReview) {
        problem(
            flow.name.pos,
            "on_error.mapping: hold_for_review is not available in this version; a record whose fields do not \
             map is a dead letter (`dead_letter`), which `ferry dlq replay` runs again once the flow is fixed"
                .into(),
        );
    }
}
