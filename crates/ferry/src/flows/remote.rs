//! The node's two remote systems as the flows use them: every call goes through the runtime's
//! rate limiter, concurrency cap and circuit breaker (`Resilience::call`), so no flow can
//! reach Amazon or Dataverse around them.

use std::future::Future;
use std::sync::Arc;

use ferry_connectors::amazon::AmazonClient;
use ferry_connectors::dataverse::DataverseClient;
use ferry_runtime::failure::Failure;
use ferry_runtime::{CallSpec, JobContext, JobError};

/// An Amazon seller account.
pub struct Amazon {
    pub client: AmazonClient,
    pub connection: String,
}

impl Amazon {
    /// Runs `call`, which sends `api`/`operation`, within that operation's published limits.
    pub async fn call<T>(
        &self,
        ctx: &JobContext,
        api: &str,
        operation: &str,
        call: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, JobError> {
        let spec = self.client.call_spec(&self.connection, api, operation).ok_or_else(|| {
            JobError::failed(operation, Failure::permanent(format!("{api}/{operation} has no published limit")))
        })?;
        ctx.resilience.call(operation, &spec, call).await
    }
}

/// A Dataverse environment. Its service protection limits count every request of the
/// identity together, so all operations share one bucket (`webapi`).
pub struct Crm {
    pub client: DataverseClient,
    pub connection: String,
    host: String,
    /// Requests per second the bucket allows (20 = 6000 per 5 minutes, scaled by config).
    rate_per_sec: f64,
    burst: u32,
}

impl Crm {
    pub fn new(client: DataverseClient, connection: impl Into<String>, scale: f64) -> Arc<Self> {
        let host = reqwest::Url::parse(&client.config().org_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        Arc::new(Crm {
            client,
            connection: connection.into(),
            host,
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
            operation: "webapi",
            host: &self.host,
            rate_per_sec: self.rate_per_sec,
            burst: self.burst,
            max_concurrency: ferry_connectors::dataverse::limits::CONCURRENT_REQUESTS,
        };
        ctx.resilience.call(step, &spec, call).await
    }
}
