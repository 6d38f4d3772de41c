//! The Dataverse connector: one environment (org URL) reached as one application user
//! (Entra client id and secret). Its service protection limits count every request of that
//! user in that environment together, so all operations share one bucket (`webapi`) under the
//! scope `dataverse/<host>/<client id>`, whichever tenant or connection sends them.

use std::future::Future;
use std::sync::Arc;

use ferry_connectors::dataverse::{DataverseClient, DataverseConfig};
use ferry_model::ConnectionId;
use ferry_runtime::failure::Failure;
use ferry_runtime::{CallSpec, JobContext, JobError};

use super::options::{Kind, Spec, opt, required};
use super::{BuildContext, BuildFuture, Client, ConnectionConfig, Connector, connection_tls};
use crate::error::BuildError;

/// The Dataverse connector.
pub struct DataverseConnector;

/// A built Dataverse connection.
pub struct Crm {
    pub id: ConnectionId,
    pub client: DataverseClient,
    /// The connection id as a label (metrics, messages).
    pub connection: String,
    host: String,
    scope: String,
    /// Requests per second the bucket allows (20 = 6000 per 5 minutes, scaled by config).
    rate_per_sec: f64,
    burst: u32,
}

impl Crm {
    /// `label` names the connection in metrics (`<tenant>/<id>`).
    pub fn new(client: DataverseClient, id: ConnectionId, label: String, scale: f64) -> Arc<Self> {
        let host = reqwest::Url::parse(&client.config().org_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        let scope = format!("dataverse/{host}/{}", client.config().client_id);
        Arc::new(Crm {
            client,
            connection: label,
            id,
            host,
            scope,
            rate_per_sec: ferry_connectors::dataverse::limits::rate_per_sec() * scale,
            // The platform counts over five minutes; a burst of a tenth of the window keeps
            // the average honest without starving a cold start.
            burst: (f64::from(ferry_connectors::dataverse::limits::REQUESTS_PER_WINDOW) * scale / 10.0).max(10.0)
                as u32,
        })
    }

    /// Runs one Web API call (`step` names it in errors) within the environment's limits.
    pub async fn call<T>(
        &self,
        ctx: &JobContext,
        step: &str,
        call: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, JobError> {
        let spec = CallSpec {
            connection: &self.connection,
            scope: &self.scope,
            operation: "webapi",
            host: &self.host,
            rate_per_sec: self.rate_per_sec,
            burst: self.burst,
            max_concurrency: ferry_connectors::dataverse::limits::CONCURRENT_REQUESTS,
            caps: Vec::new(),
        };
        ctx.resilience.call(step, &spec, call).await
    }
}

impl Connector for DataverseConnector {
    fn system(&self) -> &'static str {
        "dataverse"
    }

    fn events(&self) -> &'static [&'static str] {
        &["salesorder.Create", "salesorder.Update", "salesorder.Delete"]
    }

    fn polls(&self) -> &'static [&'static str] {
        &["salesorders_changed"]
    }

    fn options(&self) -> &'static [Spec] {
        const OPTIONS: &[Spec] = &[
            required("client_id", Kind::Text),
            required("tenant", Kind::Text),
            opt("authority", Kind::Url),
            opt("ca_file", Kind::CaFile),
        ];
        OPTIONS
    }

    fn build<'a>(&'a self, ctx: &'a BuildContext<'a>, conn: &'a ConnectionConfig) -> BuildFuture<'a> {
        Box::pin(async move {
            let client = client(ctx, conn).await?;
            Ok(Crm::new(client, conn.id.clone(), ctx.label(conn), conn.scale()) as Client)
        })
    }

    /// A token from Entra and a one-row read of sales orders: proves the application user
    /// exists in the environment and may read what the flows read.
    fn test<'a>(&'a self, client: &'a Client) -> super::TestFuture<'a> {
        Box::pin(async move {
            let crm = super::typed::<Crm>(client)?;
            let query = ferry_connectors::dataverse::Query::new().select(&["salesorderid"]).top(1);
            crm.client
                .query("salesorders", &query, None)
                .await
                .map_err(|e| format!("reading one sales order failed: {e}"))?;
            Ok("Entra issued a token and the environment answered a one-row read of sales orders".into())
        })
    }
}

/// A client for a Dataverse connection, with its secret from the tenant's store (also what
/// `ferry setup` uses).
pub async fn client(ctx: &BuildContext<'_>, conn: &ConnectionConfig) -> Result<DataverseClient, BuildError> {
    let fail = |message: String| BuildError::connection(&conn.id, message);
    let client_id = conn.option_str("client_id").ok_or_else(|| fail("options.client_id is required".into()))?;
    let entra_tenant =
        conn.option_str("tenant").ok_or_else(|| fail("options.tenant (the Entra tenant) is required".into()))?;
    let client_secret = ctx.secret(&format!("{}.client_secret", conn.secret_prefix())).await?;
    let tls = connection_tls(conn).map_err(fail)?;
    let mut config = DataverseConfig::new(&conn.endpoint, entra_tenant, client_id, client_secret).with_tls(tls);
    if let Some(authority) = conn.option_str("authority") {
        config = config.with_authority(authority);
    }
    DataverseClient::new(config).map_err(|e| fail(e.to_string()))
}
