//! The Amazon connector: a seller's SP-API account (LWA credentials from the tenant's secrets,
//! marketplaces from the options) and, when `options.queue_url` is set, its SQS notification
//! queue. Every call goes through the runtime's limits under the seller × application scope.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferry_connectors::amazon::sqs::{SqsConfig, SqsConsumer};
use ferry_connectors::amazon::{AmazonClient, AmazonConfig, LwaCredentials};
use ferry_model::{AmazonMarketplaceId, ConnectionId};
use ferry_runtime::failure::Failure;
use ferry_runtime::{JobContext, JobError};
use serde_json::Value;

use super::options::{Kind, MAX_POLL_SECONDS, MAX_QUEUE_WAIT_SECONDS, Spec, opt, required};
use super::{BuildContext, BuildFuture, Client, ConnectionConfig, Connector, connection_tls};
use crate::error::BuildError;

/// The Amazon connector.
pub struct AmazonConnector;

/// A built Amazon connection.
pub struct AmazonConnection {
    pub id: ConnectionId,
    pub client: AmazonClient,
    /// The connection id as a label (metrics, messages).
    pub connection: String,
    pub marketplace_ids: Vec<AmazonMarketplaceId>,
    /// The notification queue, when `options.queue_url` is set.
    pub sqs: Option<Arc<SqsConsumer>>,
    /// Long-poll wait of one SQS receive (`options.queue_wait_seconds`, at most 20 s).
    pub queue_wait: Duration,
    /// How often the fulfilment-order list is polled (`options.fulfilment_poll_seconds`).
    pub fulfilment_poll: Duration,
}

impl AmazonConnection {
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

impl Connector for AmazonConnector {
    fn system(&self) -> &'static str {
        "amazon"
    }

    fn events(&self) -> &'static [&'static str] {
        &["ORDER_CHANGE", "FULFILLMENT_ORDER_STATUS"]
    }

    fn polls(&self) -> &'static [&'static str] {
        &["searchOrders", "listAllFulfillmentOrders"]
    }

    fn options(&self) -> &'static [Spec] {
        const OPTIONS: &[Spec] = &[
            required("marketplace_ids", Kind::Marketplaces),
            opt("token_url", Kind::Url),
            opt("queue_url", Kind::Url),
            opt("sqs_endpoint", Kind::Url),
            opt("aws_region", Kind::Text),
            opt("queue_wait_seconds", Kind::WholeSeconds(0, MAX_QUEUE_WAIT_SECONDS)),
            opt("fulfilment_poll_seconds", Kind::Seconds(1.0, MAX_POLL_SECONDS)),
            opt("ca_file", Kind::CaFile),
        ];
        OPTIONS
    }

    fn build<'a>(&'a self, ctx: &'a BuildContext<'a>, conn: &'a ConnectionConfig) -> BuildFuture<'a> {
        Box::pin(async move { Ok(Arc::new(build(ctx, conn).await?) as Client) })
    }

    /// An LWA access token for the seller's refresh token: proves the app's credentials and
    /// the seller's authorisation without spending an SP-API operation's quota.
    fn test<'a>(&'a self, client: &'a Client) -> super::TestFuture<'a> {
        Box::pin(async move {
            let amazon = super::typed::<AmazonConnection>(client)?;
            amazon
                .client
                .auth()
                .access_token(&ferry_connectors::amazon::Grant::RefreshToken)
                .await
                .map_err(|e| format!("Login with Amazon refused the credentials: {e}"))?;
            Ok("Login with Amazon issued an access token for the seller's refresh token".into())
        })
    }
}

async fn build(ctx: &BuildContext<'_>, conn: &ConnectionConfig) -> Result<AmazonConnection, BuildError> {
    let fail = |message: String| BuildError::connection(&conn.id, message);
    let prefix = conn.secret_prefix();
    let credentials = LwaCredentials::from_store(ctx.store, ctx.key, ctx.tenant, &prefix)
        .await
        .map_err(|e| fail(format!("LWA credentials: {e}")))?;
    let marketplace_ids: Vec<AmazonMarketplaceId> = match conn.options.get("marketplace_ids") {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(Value::as_str)
            .map(|s| AmazonMarketplaceId::new(s).map_err(|e| fail(e.to_string())))
            .collect::<Result<_, _>>()?,
        _ => return Err(fail("options.marketplace_ids is required (e.g. [\"ATVPDKIKX0DER\"])".into())),
    };
    let mut config =
        AmazonConfig::production(ferry_connectors::amazon::Region::NorthAmerica, credentials, marketplace_ids.clone());
    config.endpoint = conn.endpoint.trim_end_matches('/').to_owned();
    if let Some(url) = conn.option_str("token_url") {
        config.token_url = url;
    }
    config.seller_id = conn.option_str("seller_id");
    config.limits_scale = conn.scale();
    let tls = connection_tls(conn).map_err(&fail)?;
    config.tls = tls.clone();
    let client = AmazonClient::new(config)
        .map_err(|e| fail(e.to_string()))?
        .with_runtime(ctx.resilience.clone(), ctx.label(conn));
    let sqs = match conn.option_str("queue_url") {
        Some(queue_url) => {
            let access_key_id = ctx.secret(&format!("{prefix}.aws_access_key_id")).await?;
            let secret_access_key = ctx.secret(&format!("{prefix}.aws_secret_access_key")).await?;
            Some(Arc::new(
                SqsConsumer::new(SqsConfig {
                    endpoint: conn
                        .option_str("sqs_endpoint")
                        .unwrap_or_else(|| queue_url.split("/000000000000").next().unwrap_or(&queue_url).to_owned()),
                    queue_url,
                    region: conn.option_str("aws_region").unwrap_or_else(|| "us-east-1".into()),
                    credentials: ferry_connectors::amazon::sigv4::AwsCredentials {
                        access_key_id: access_key_id.expose().to_owned(),
                        secret_access_key,
                        session_token: None,
                    },
                    tls,
                })
                .map_err(|e| fail(e.to_string()))?,
            ))
        }
        None => None,
    };
    Ok(AmazonConnection {
        id: conn.id.clone(),
        client,
        connection: ctx.label(conn),
        marketplace_ids,
        sqs,
        queue_wait: conn.seconds("queue_wait_seconds", Duration::from_secs(1)),
        fulfilment_poll: conn.seconds("fulfilment_poll_seconds", Duration::from_secs(600)),
    })
}
