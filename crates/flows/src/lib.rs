//! Ferry's shipped flows as plug-ins, one folder per integration pair (`amazon_crm/`…), each
//! flow a [`FlowTemplate`]; the connector registry they are built on ([`connectors`]); and the
//! shared plumbing every flow uses: binding files to templates and connections
//! ([`instance`]), the one routing function ([`routing`]), polls ([`polls`]) and a tenant's
//! running engine ([`engine`]). The binary only wires these to the store, the server and the
//! CLI.

pub mod amazon_crm;
pub mod connectors;
pub mod engine;
pub mod error;
pub mod instance;
pub mod plugin;
pub mod polls;
pub mod routing;
pub mod settlement;
pub mod setup;
pub mod support;
pub mod tenants;
pub mod versions;

pub use connectors::{ConnectionConfig, connection_tls};
pub use engine::{TenantEngine, flow_problems, load_flow_texts, load_flows};
pub use error::BuildError;
pub use plugin::{FlowInstance, FlowTemplate};

/// Every flow Ferry ships. A new flow is a module in its pair's folder and one line here.
pub const TEMPLATES: &[&dyn FlowTemplate] = &[&amazon_crm::OrdersToCrm, &amazon_crm::CrmToFba];
