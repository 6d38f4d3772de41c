//! One tenant's flows, built from its connections and flow files: the connector registry
//! builds the clients of the connections the files bind, each file becomes an instance of its
//! template, and the engine registers their handlers, routes events to them and starts their
//! polls. Nothing here is specific to a flow: a template added in its pair's folder and listed
//! in [`crate::TEMPLATES`] runs with no change here or in the binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_mapping::CompiledMapping;
use ferry_mapping::flow::FlowFile;
use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::{Registry, TenantHandlers};

use crate::TEMPLATES;
use crate::connectors::amazon::AmazonConnection;
use crate::connectors::{BuildContext, Clients, ConnectionConfig};
use crate::error::BuildError;
use crate::instance::{Bound, bind};
use crate::plugin::{FlowInstance, InstanceContext, Scope};
use crate::polls::{Polls, poll_interval};
use crate::routing::Router;
use crate::versions::FlowVersions;

/// The flow files of a folder, loaded and checked against the tenant's connections and the
/// templates: the files and every problem (file:line:column), for `ferry check` and `ferry run`.
pub fn load_flows(dir: &Path, connections: &[ConnectionConfig]) -> (Vec<FlowFile>, Vec<String>) {
    match ferry_mapping::check::read_dir_texts(dir) {
        Ok((texts, unread)) => {
            let (files, mut problems) = load_flow_texts(texts, connections);
            problems.splice(0..0, unread.iter().map(ToString::to_string));
            (files, problems)
        }
        Err(d) => (Vec::new(), vec![d.to_string()]),
    }
}

/// [`load_flows`] over texts already read: a folder's files, or the versions the store keeps.
pub fn load_flow_texts(
    texts: Vec<(PathBuf, String)>,
    connections: &[ConnectionConfig],
) -> (Vec<FlowFile>, Vec<String>) {
    // Sections name a connection or one of the templates' roles (checked per template later).
    let known: Vec<&str> = connections.iter().map(|c| c.id.as_ref()).collect();
    let mut roles: Vec<&str> = TEMPLATES.iter().flat_map(|t| t.roles().iter().map(|r| r.name)).collect();
    roles.sort_unstable();
    roles.dedup();
    let (files, diagnostics) = ferry_mapping::check::load_texts(texts, &known, &roles);
    let mut problems: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    problems.extend(flow_problems(&files, connections));
    (files, problems)
}

/// What binding the files to the templates and connections finds wrong (see [`bind`]).
pub fn flow_problems(files: &[FlowFile], connections: &[ConnectionConfig]) -> Vec<String> {
    bind(files, connections, TEMPLATES).1
}

/// A tenant's running flows.
pub struct TenantEngine {
    pub tenant: TenantId,
    pub instances: Vec<Arc<dyn FlowInstance>>,
    pub router: Router,
    /// The connections some instance binds, for the ingress the binary wires.
    pub connections: Vec<ConnectionConfig>,
    /// The instances an operator paused: their jobs wait, their polls and events stop.
    pub paused: BTreeSet<String>,
    clients: Clients,
}

impl TenantEngine {
    /// Builds the tenant's flows from the files in `flows_dir`; the files' problems, a
    /// connection that cannot be built or a missing secret are errors naming what to fix.
    pub async fn build(
        ctx: &BuildContext<'_>,
        connections: &[ConnectionConfig],
        flows_dir: &Path,
    ) -> Result<TenantEngine, BuildError> {
        let folder = || flows_dir.display().to_string();
        let resolved = crate::versions::resolve(ctx.store, ctx.tenant, flows_dir).await?;
        let (files, problems) = load_flow_texts(resolved.texts, connections);
        if !problems.is_empty() {
            return Err(BuildError::Flows { folder: folder(), problems });
        }
        let (bound, _) = bind(&files, connections, TEMPLATES);
        let used: BTreeSet<ConnectionId> = bound.iter().flat_map(|b| b.bindings.values().cloned()).collect();
        let used: Vec<ConnectionId> = used.into_iter().collect();
        let clients = Clients::build(ctx, connections, &used).await?;
        let mut instances = Vec::new();
        let mut paused = BTreeSet::new();
        for Bound { file, template, bindings } in bound {
            let name = &file.flow.name.value;
            let head = resolved.heads.get(name);
            if head.is_some_and(|h| h.paused) {
                paused.insert(name.clone());
            }
            let shadow = resolved.shadows.get(name).and_then(|(version, text)| {
                match crate::versions::compile_version(name, template.name(), *version, text) {
                    Ok(mapping) => Some((*version, mapping)),
                    Err(e) => {
                        tracing::warn!(tenant = %ctx.tenant, flow = %name, error = %e, "the shadow version does not compile; no shadow runs");
                        None
                    }
                }
            });
            let versions = Arc::new(FlowVersions::new(
                ctx.store.clone(),
                ctx.tenant.clone(),
                name.clone(),
                template.name(),
                head.map(|h| h.active),
                shadow,
            ));
            let mapping = CompiledMapping::compile_file(&file.flow, &file.path, None).map(Arc::new).map_err(|d| {
                BuildError::Flows { folder: folder(), problems: d.iter().map(ToString::to_string).collect() }
            })?;
            let instance = template.instantiate(InstanceContext {
                tenant: ctx.tenant.clone(),
                scope: Scope { instance: file.flow.name.value.clone(), template: template.name() },
                file,
                mapping,
                versions,
                bindings,
                clients: &clients,
                store: ctx.store.clone(),
                poll_every: poll_interval(&file.flow),
                event_types: file
                    .flow
                    .trigger
                    .events
                    .iter()
                    .flat_map(|e| e.types.iter().map(|t| t.value.clone()))
                    .collect(),
            })?;
            instances.push(instance);
        }
        let bound = connections.iter().filter(|c| used.contains(&c.id)).cloned().collect();
        let routed = instances.iter().filter(|i| !paused.contains(i.name())).cloned().collect();
        Ok(TenantEngine {
            tenant: ctx.tenant.clone(),
            router: Router::new(routed),
            instances,
            connections: bound,
            paused,
            clients,
        })
    }

    /// Whether any flow runs.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Every job flow its instances run, with its handler.
    /// A paused instance's handlers defer every job until it is resumed (nothing is lost).
    pub fn handlers(&self) -> TenantHandlers {
        self.instances
            .iter()
            .flat_map(|i| {
                let paused = self.paused.contains(i.name());
                i.handlers().into_iter().map(move |(flow, handler)| {
                    let handler: Arc<dyn ferry_runtime::Handler> =
                        if paused { Arc::new(crate::versions::Paused { flow: flow.clone() }) } else { handler };
                    (flow, handler)
                })
            })
            .collect()
    }

    /// Puts its handlers in `registry` (replacing the tenant's earlier ones).
    pub fn register(&self, registry: &Registry) {
        registry.set_tenant(self.tenant.clone(), self.handlers());
    }

    /// The job flows that are running, for messages.
    pub fn flow_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.handlers().into_keys().collect();
        names.sort_unstable();
        names
    }

    /// The Amazon connection `id`, when some instance binds it.
    pub fn amazon(&self, id: &ConnectionId) -> Option<Arc<AmazonConnection>> {
        self.clients.get(id).ok()
    }

    /// The connections of `system` some instance binds.
    pub fn bound_of(&self, system: &str) -> Vec<&ConnectionConfig> {
        self.connections.iter().filter(|c| c.system == system).collect()
    }

    /// Starts every instance's polls and each bound Amazon connection's notification queue.
    pub fn spawn_polls(&self, polls: &mut Polls) {
        for instance in self.instances.iter().filter(|i| !self.paused.contains(i.name())) {
            instance.clone().spawn_polls(polls);
        }
        for conn in self.bound_of("amazon") {
            if let Some(amazon) = self.amazon(&conn.id) {
                polls.notifications(&self.tenant, &amazon, self.router.clone());
            }
        }
    }
}
