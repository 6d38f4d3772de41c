//! What a shipped flow's file may say, so that every key in it is acted on or refused.
//!
//! The order flows' handlers are code: F1 reads orders with getOrder and writes sales orders,
//! F2 reads sales orders and creates fulfilment orders. Their files bind those handlers to the
//! node's connections (the engine uses the connections the files name), choose which event
//! types start them (routing honours the list) and how often they poll (`every`), and carry
//! the mapping. What a handler does not vary (the operations, the cursor, the target entities)
//! must be written as the handler does it, so a file never claims behaviour that does not
//! happen; anything else is refused here, by the one check that `ferry check` and `ferry run`
//! share, naming the file, line and column.

use ferry_mapping::flow::{At, FlowFile, MappingFailure};

use super::{amazon_orders, crm_to_fba};
use crate::config::ConnectionConfig;

/// One side of a flow: the system its connection must be of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Amazon,
    Crm,
}

impl Side {
    fn system(self) -> &'static str {
        match self {
            Side::Amazon => "amazon",
            Side::Crm => "dataverse",
        }
    }
}

/// What one shipped flow's handler does.
struct Contract {
    flow: &'static str,
    /// The side notifications come from, and the event types the handler can be started by.
    events: (Side, &'static [&'static str]),
    /// The side polled, the operation and the cursor field.
    poll: (Side, &'static str, &'static str),
    source: (Side, &'static str),
    /// Values `source.included` may list (the handler asks for them per `settings.buyer_pii`).
    included: &'static [&'static str],
    /// The target side, entity and the entity of its lines.
    target: (Side, &'static str, &'static str),
}

const CONTRACTS: &[Contract] = &[
    Contract {
        flow: amazon_orders::FLOW,
        events: (Side::Amazon, &["ORDER_CHANGE"]),
        poll: (Side::Amazon, "searchOrders", "LastUpdateDate"),
        source: (Side::Amazon, "getOrder"),
        included: &["BUYER", "RECIPIENT"],
        target: (Side::Crm, "salesorder", "salesorderdetail"),
    },
    Contract {
        flow: crm_to_fba::FLOW,
        events: (Side::Crm, &["salesorder.Create", "salesorder.Update", "salesorder.Delete"]),
        poll: (Side::Crm, "salesorders_changed", "modifiedon"),
        source: (Side::Crm, "salesorder_with_details"),
        included: &[],
        target: (Side::Amazon, "createFulfillmentOrder", "items"),
    },
];

/// The connections the shipped flows bind, once their files agree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bindings {
    pub amazon: Option<String>,
    pub crm: Option<String>,
}

/// Checks every flow file against its handler and the config's connections; returns the
/// connections the files bind and the problems, each naming file:line:column.
pub fn check(flows: &[FlowFile], connections: &[ConnectionConfig]) -> (Bindings, Vec<String>) {
    let mut problems = Vec::new();
    let mut bindings = Bindings::default();
    for file in flows {
        let path = file.path.display();
        let flow = &file.flow;
        let Some(contract) = CONTRACTS.iter().find(|c| c.flow == flow.name.value) else {
            let shipped: Vec<&str> = CONTRACTS.iter().map(|c| c.flow).collect();
            problems.push(format!(
                "{path}:{}:{}: flow `{}` has no handler in this version, so it would never run; the flows Ferry runs \
                 are {}",
                flow.name.pos.line,
                flow.name.pos.column,
                flow.name.value,
                shipped.join(", ")
            ));
            continue;
        };
        let mut problem = |at: &ferry_mapping::flow::Pos, text: String| {
            problems.push(format!("{path}:{}:{}: flow {}: {text}", at.line, at.column, contract.flow));
        };
        let mut bind =
            |side: Side, key: &str, conn: &At<String>, problem: &mut dyn FnMut(&ferry_mapping::flow::Pos, String)| {
                let Some(found) = connections.iter().find(|c| c.id.as_ref() == conn.value) else {
                    return; // an unknown connection is reported by the flow loader
                };
                if found.system != side.system() {
                    problem(
                        &conn.pos,
                        format!(
                            "{key} names connection `{}` of system `{}`; this flow needs a `{}` connection there",
                            conn.value,
                            found.system,
                            side.system()
                        ),
                    );
                    return;
                }
                let slot = match side {
                    Side::Amazon => &mut bindings.amazon,
                    Side::Crm => &mut bindings.crm,
                };
                match slot {
                    Some(bound) if *bound != conn.value => problem(
                        &conn.pos,
                        format!(
                            "{key} names connection `{}`, but another key or flow binds the {} side to `{bound}`; \
                         this version runs the order flows over one {} connection",
                            conn.value,
                            side.system(),
                            side.system()
                        ),
                    ),
                    Some(_) => {}
                    None => *slot = Some(conn.value.clone()),
                }
            };
        if let Some(events) = &flow.trigger.events {
            bind(contract.events.0, "trigger.events.connection", &events.connection, &mut problem);
            for t in &events.types {
                if !contract.events.1.contains(&t.value.as_str()) {
                    problem(
                        &t.pos,
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
            bind(contract.poll.0, "trigger.poll.connection", &poll.connection, &mut problem);
            if poll.operation.value != contract.poll.1 {
                problem(
                    &poll.operation.pos,
                    format!("trigger.poll.operation must be `{}` (the operation this flow polls)", contract.poll.1),
                );
            }
            match &poll.cursor {
                Some(cursor) if cursor.value != contract.poll.2 => problem(
                    &cursor.pos,
                    format!("trigger.poll.cursor must be `{}` (the field this flow's poll moves on)", contract.poll.2),
                ),
                _ => {}
            }
        }
        bind(contract.source.0, "source.connection", &flow.source.connection, &mut problem);
        if flow.source.operation.value != contract.source.1 {
            problem(
                &flow.source.operation.pos,
                format!("source.operation must be `{}` (the read this flow makes)", contract.source.1),
            );
        }
        for value in &flow.source.included {
            if !contract.included.contains(&value.as_str()) {
                let allowed =
                    if contract.included.is_empty() { "nothing".to_owned() } else { contract.included.join(", ") };
                problem(
                    &flow.source.operation.pos,
                    format!(
                        "source.included: `{value}` is not something this flow can ask for (it can ask for {allowed})"
                    ),
                );
            }
        }
        bind(contract.target.0, "target.connection", &flow.target.connection, &mut problem);
        if flow.target.entity.value != contract.target.1 {
            problem(
                &flow.target.entity.pos,
                format!("target.entity must be `{}` (what this flow writes)", contract.target.1),
            );
        }
        if let Some(lines) = &flow.target.lines
            && lines.entity.value != contract.target.2
        {
            problem(&lines.entity.pos, format!("target.lines.entity must be `{}`", contract.target.2));
        }
        if flow.on_error.mapping == Some(MappingFailure::HoldForReview) {
            problem(
                &flow.name.pos,
                "on_error.mapping: hold_for_review is not available in this version; a record whose fields do not \
                 map is a dead letter (`dead_letter`), which `ferry dlq replay` runs again once the flow is fixed"
                    .into(),
            );
        }
    }
    (bindings, problems)
}

/// The event types that start F2 from a Dataverse webhook (`salesorder.<Message>`), as its
/// file lists them; no `trigger.events` means none.
pub fn crm_event_types(flows: &[FlowFile]) -> Vec<String> {
    flows
        .iter()
        .filter(|f| f.flow.name.value == crm_to_fba::FLOW)
        .filter_map(|f| f.flow.trigger.events.as_ref())
        .flat_map(|e| e.types.iter().map(|t| t.value.clone()))
        .collect()
}

/// Whether F1's file lets notifications start it.
pub fn amazon_events_start_orders(flows: &[FlowFile]) -> bool {
    flows
        .iter()
        .filter(|f| f.flow.name.value == amazon_orders::FLOW)
        .filter_map(|f| f.flow.trigger.events.as_ref())
        .any(|e| e.types.iter().any(|t| t.value == "ORDER_CHANGE"))
}
