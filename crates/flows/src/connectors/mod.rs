//! The connector registry: how a connection of each system becomes a client the flows use.
//!
//! A connection is (tenant, id, system, endpoint, options, secret names). A connector
//! registers itself once in [`CONNECTORS`] with its system name, the options its connections
//! take ([`options`]), the event types it can deliver and the polls it offers, and builds its client from a connection's options and the
//! tenant's secrets. Flows never build clients: they ask [`Clients`] for the connection bound
//! to a role, typed ([`Clients::get`]), and every call of every client goes through the
//! runtime's limits (`Resilience::call`), keyed by whom the vendor counts it against.

pub mod amazon;
pub mod dataverse;
pub mod options;

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::Resilience;
use ferry_store::secrets::{MasterKey, SecretValue};
use ferry_store::{AnyStore, Store};
use serde_json::Value;

use crate::error::BuildError;

/// A connection as configured (node config `[[connections]]` or `ferry connections add`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionConfig {
    pub id: ConnectionId,
    pub system: String,
    pub endpoint: String,
    /// Prefix of the names of its secrets (`<prefix>.client_secret`…); its id when unset.
    pub credentials: Option<String>,
    pub limits: Value,
    /// System-specific settings (marketplaces, token URL, queue URL, poll intervals).
    pub options: Value,
}

impl ConnectionConfig {
    /// The prefix of its secrets' names.
    pub fn secret_prefix(&self) -> String {
        self.credentials.clone().unwrap_or_else(|| self.id.to_string())
    }

    pub(crate) fn option_str(&self, name: &str) -> Option<String> {
        self.options.get(name).and_then(Value::as_str).map(str::to_owned)
    }

    /// A number of seconds the config validation has range-checked; never panics on a value
    /// it did not see (a config built in code), which falls back to `default`.
    pub(crate) fn seconds(&self, name: &str, default: std::time::Duration) -> std::time::Duration {
        self.options
            .get(name)
            .and_then(Value::as_f64)
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
            .unwrap_or(default)
    }

    /// `limits.scale`: multiplies the vendor's published rates (a sped-up sandbox).
    pub(crate) fn scale(&self) -> f64 {
        self.limits.get("scale").and_then(Value::as_f64).filter(|s| s.is_finite() && *s > 0.0).unwrap_or(1.0)
    }
}

/// The systems whose connections Ferry dials out to, so a `ca_file` option means something.
const DIALLED: &[&str] = &["amazon", "dataverse", "http"];

/// How a connection verifies its remote's certificates: the public roots plus the PEM file
/// of its `options.ca_file`, if any. `ferry check` and `ferry run` both refuse a `ca_file`
/// that is missing, not PEM or not a usable CA, with a message naming the connection and the
/// file; a relative path is taken from the folder Ferry runs in, like `node.data_dir`.
pub fn connection_tls(conn: &ConnectionConfig) -> Result<ferry_connectors::http::Tls, String> {
    let Some(value) = conn.options.get("ca_file") else {
        return Ok(ferry_connectors::http::Tls::default());
    };
    let path = match value.as_str().map(str::trim) {
        Some(p) if !p.is_empty() => Path::new(p),
        _ => {
            return Err(format!("connection {}: options.ca_file must be the path of a PEM file, got {value}", conn.id));
        }
    };
    if !DIALLED.contains(&conn.system.as_str()) {
        return Err(format!(
            "connection {}: options.ca_file is not used by system `{}` (only {} connections are dialled)",
            conn.id,
            conn.system,
            DIALLED.join(", ")
        ));
    }
    ferry_connectors::http::Tls::from_ca_file(path).map_err(|e| format!("connection {}: options.ca_file: {e}", conn.id))
}

/// What a connector needs to build a client: the tenant's secrets and the node's runtime.
pub struct BuildContext<'a> {
    pub tenant: &'a TenantId,
    pub store: &'a AnyStore,
    pub key: &'a MasterKey,
    pub resilience: &'a Arc<Resilience>,
}

impl BuildContext<'_> {
    /// The connection as metrics and messages name it: `<tenant>/<id>`, so two tenants'
    /// `amazon` connections are two series (the server's metrics split the tenant off).
    pub fn label(&self, conn: &ConnectionConfig) -> String {
        format!("{}/{}", self.tenant, conn.id)
    }

    /// The tenant's secret `name`, opened; missing is an error saying how to set it.
    pub async fn secret(&self, name: &str) -> Result<SecretValue, BuildError> {
        let sealed =
            self.store.secret(self.tenant, name).await?.ok_or_else(|| BuildError::Secret { name: name.to_owned() })?;
        self.key
            .open(&sealed)
            .map_err(|e| BuildError::SecretUnreadable { name: name.to_owned(), message: e.to_string() })
    }
}

/// A built client, typed by its connector; flows take it back with [`Clients::get`].
pub type Client = Arc<dyn Any + Send + Sync>;

/// The future a connector's `build` returns.
pub type BuildFuture<'a> = Pin<Box<dyn Future<Output = Result<Client, BuildError>> + Send + 'a>>;

/// One remote system Ferry can connect to.
pub trait Connector: Send + Sync + 'static {
    /// The `system` of its connections (`amazon`, `dataverse`…).
    fn system(&self) -> &'static str;
    /// The event types its connections can deliver (webhooks, queues), for flow files' checks.
    fn events(&self) -> &'static [&'static str];
    /// The polls it offers (`trigger.poll.operation`), for flow files' checks.
    fn polls(&self) -> &'static [&'static str];
    /// The `options` its connections may hold (checked by [`options::validate`]).
    fn options(&self) -> &'static [options::Spec];
    /// Builds the client of `conn` from its options and the tenant's secrets.
    fn build<'a>(&'a self, ctx: &'a BuildContext<'a>, conn: &'a ConnectionConfig) -> BuildFuture<'a>;
    /// Checks that the remote accepts the client's credentials, spending as little of the
    /// vendor's quota as it can (`ferry connections test`); `Ok` says what was checked.
    fn test<'a>(&'a self, client: &'a Client) -> TestFuture<'a>;
}

/// The future a connector's `test` returns.
pub type TestFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// `client` as the `T` its connector built, for a connector's own `test`.
pub(crate) fn typed<T: Any + Send + Sync>(client: &Client) -> Result<Arc<T>, String> {
    Arc::clone(client).downcast::<T>().map_err(|_| format!("not a {} client", std::any::type_name::<T>()))
}

/// Every connector Ferry ships: a new one is a module and one line here.
pub const CONNECTORS: &[&dyn Connector] = &[&amazon::AmazonConnector, &dataverse::DataverseConnector];

/// Builds `conn`'s client and asks the remote whether it accepts the credentials (`ferry
/// connections test`, the admin API's connection test): `Ok` says what was checked, `Err` what
/// failed (never a secret).
pub async fn test_connection(ctx: &BuildContext<'_>, conn: &ConnectionConfig) -> Result<String, String> {
    let connector = connector(&conn.system)
        .ok_or_else(|| format!("system `{}` has no client in Ferry yet, so there is nothing to test", conn.system))?;
    let client = connector.build(ctx, conn).await.map_err(|e| e.to_string())?;
    connector.test(&client).await
}

/// The connector of `system`, if Ferry has one.
pub fn connector(system: &str) -> Option<&'static dyn Connector> {
    CONNECTORS.iter().copied().find(|c| c.system() == system)
}

/// The clients of a tenant's connections, by connection id.
#[derive(Clone, Default)]
pub struct Clients {
    by_id: BTreeMap<ConnectionId, Client>,
}

impl Clients {
    /// Builds a client for every connection whose system has a connector; `only` limits it
    /// to the connections some flow binds (an unused connection's missing secret is no error).
    pub async fn build(
        ctx: &BuildContext<'_>,
        connections: &[ConnectionConfig],
        only: &[ConnectionId],
    ) -> Result<Clients, BuildError> {
        let mut by_id = BTreeMap::new();
        for conn in connections.iter().filter(|c| only.contains(&c.id)) {
            let Some(connector) = connector(&conn.system) else { continue };
            by_id.insert(conn.id.clone(), connector.build(ctx, conn).await?);
        }
        Ok(Clients { by_id })
    }

    /// The client of connection `id` as a `T` (the type its connector builds).
    pub fn get<T: Any + Send + Sync>(&self, id: &ConnectionId) -> Result<Arc<T>, BuildError> {
        let client = self.by_id.get(id).ok_or_else(|| BuildError::connection(id, "no client was built for it"))?;
        Arc::clone(client)
            .downcast::<T>()
            .map_err(|_| BuildError::connection(id, format!("its client is not a {}", std::any::type_name::<T>())))
    }
}
