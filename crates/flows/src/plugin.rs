//! The one trait every shipped flow implements, and what an instance of it is given.
//!
//! A flow template declares its name, the connection roles it needs (`amazon`, `crm`, `erp`,
//! `store`…), what its file's keys may say (its triggers: events by type, polls with their
//! cursor; its source and target), the target-side customisations it needs, and how it builds
//! an instance: the handlers it runs, the jobs an event starts, and its polls. A flow file
//! binds the roles to the tenant's connections; several files may instantiate one template.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_mapping::CompiledMapping;
use ferry_mapping::flow::FlowFile;
use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::Handler;
use ferry_store::{AnyStore, NewJob};

use crate::connectors::Clients;
use crate::error::BuildError;
use crate::polls::Polls;
use crate::routing::Event;

/// A connection a flow needs: its role name in flow files and the system it must be of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub name: &'static str,
    pub system: &'static str,
}

/// What a template's file may say, so every key in it is acted on or refused: each part
/// names the role it happens on.
#[derive(Debug, Clone, Copy)]
pub struct Contract {
    /// The role whose events start it, and the event types its handler acts on.
    pub events: (&'static str, &'static [&'static str]),
    /// The role polled, the poll's operation and its cursor field.
    pub poll: (&'static str, &'static str, &'static str),
    /// The role read and the read it makes.
    pub source: (&'static str, &'static str),
    /// Values `source.included` may list.
    pub included: &'static [&'static str],
    /// The role written, the entity and the entity of its lines.
    pub target: (&'static str, &'static str, &'static str),
}

/// A customisation a flow needs in its target (a Dataverse column or alternate key), which
/// `ferry setup` creates and `ferry check --online` looks for.
#[derive(Debug, Clone)]
pub enum Requirement {
    Column { entity: &'static str, column: ferry_connectors::dataverse::ColumnDefinition },
    Key { entity: &'static str, key: ferry_connectors::dataverse::KeyDefinition },
}

/// A flow template: one module in this crate, one line in [`crate::TEMPLATES`].
pub trait FlowTemplate: Send + Sync + 'static {
    /// Its name: the `template:` (or, by default, the `name:`) of its files.
    fn name(&self) -> &'static str;
    /// The roles its files bind.
    fn roles(&self) -> &'static [Role];
    /// What its file's keys may say.
    fn contract(&self) -> &'static Contract;
    /// Checks the file's `settings:`; `Err` names the setting.
    fn check_settings(&self, _file: &FlowFile) -> Result<(), String> {
        Ok(())
    }
    /// The customisations it needs on the connection bound to each role.
    fn requirements(&self) -> Vec<(&'static str, Requirement)> {
        Vec::new()
    }
    /// The target's fields its mapping may set, for the designer's suggestions (empty: none).
    fn target_fields(&self) -> Vec<ferry_mapping::suggest::TargetField> {
        Vec::new()
    }
    /// Builds one instance from its checked file and bound connections.
    fn instantiate(&self, ctx: InstanceContext<'_>) -> Result<Arc<dyn FlowInstance>, BuildError>;
}

/// A running instance of a template: what the engine registers, routes and polls.
pub trait FlowInstance: Send + Sync + 'static {
    /// The instance's name (its file's `name:`).
    fn name(&self) -> &str;
    /// The job flows it runs, each with its handler.
    fn handlers(&self) -> Vec<(String, Arc<dyn Handler>)>;
    /// The jobs one event starts (none when the instance does not subscribe to it).
    fn route(&self, event: &Event<'_>) -> Vec<NewJob>;
    /// Starts its polls.
    fn spawn_polls(self: Arc<Self>, polls: &mut Polls);
}

/// Names an instance keeps apart from the other instances of its template: job flows,
/// dedupe keys, records, cursors and remembered outcomes. The instance named like its
/// template keeps the plain names (what a single-instance tenant has always used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub instance: String,
    pub template: &'static str,
}

impl Scope {
    /// `name` inside this instance's namespace.
    pub fn scoped(&self, name: &str) -> String {
        if self.instance == self.template { name.to_owned() } else { format!("{}/{name}", self.instance) }
    }
}

/// What [`FlowTemplate::instantiate`] is given.
pub struct InstanceContext<'a> {
    pub tenant: TenantId,
    pub scope: Scope,
    pub file: &'a FlowFile,
    pub mapping: Arc<CompiledMapping>,
    /// Its versions: the mapping a replay chose, the shadow, samples for the designer.
    pub versions: Arc<crate::versions::FlowVersions>,
    /// The connection bound to each role.
    pub bindings: BTreeMap<&'static str, ConnectionId>,
    pub clients: &'a Clients,
    pub store: AnyStore,
    /// The file's `trigger.poll.every`; `None` without `trigger.poll`.
    pub poll_every: Option<Duration>,
    /// The event types of its `trigger.events`.
    pub event_types: Vec<String>,
}

impl InstanceContext<'_> {
    /// The connection bound to `role` (the binding check guarantees every role is bound).
    pub fn connection(&self, role: &str) -> Result<&ConnectionId, BuildError> {
        self.bindings.get(role).ok_or_else(|| BuildError::Flows {
            folder: self.file.path.display().to_string(),
            problems: vec![format!("role `{role}` is not bound")],
        })
    }

    /// The client of the connection bound to `role`, as its connector built it.
    pub fn client<T: std::any::Any + Send + Sync>(&self, role: &str) -> Result<Arc<T>, BuildError> {
        self.clients.get(self.connection(role)?)
    }
}
