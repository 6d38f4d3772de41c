//! What a server needs to know: the tenant it stores events for, how each webhook source
//! authenticates, which jobs an event starts, and the node's worker pool (for `/metrics`).

use std::fmt;
use std::sync::Arc;

use ferry_connectors::amazon::notifications::Notification;
use ferry_connectors::amazon::webhooks::Freshness;
use ferry_connectors::dataverse::webhooks::{DataverseEvent, WebhookAuth};
use ferry_model::{ConnectionId, TenantId};
use ferry_runtime::PoolStats;
use ferry_store::NewJob;
use ferry_store::secrets::SecretValue;

use crate::listener::ListenerLimits;
use crate::tls::TlsConfig;

/// Decides the jobs enqueued with a new Amazon notification (in the same transaction).
pub type AmazonJobs = Box<dyn Fn(&Notification) -> Vec<NewJob> + Send + Sync>;

/// Decides the jobs enqueued with a new Dataverse webhook event (in the same transaction).
pub type DataverseJobs = Box<dyn Fn(&DataverseEvent) -> Vec<NewJob> + Send + Sync>;

/// The EventBridge API destination's settings (`POST /ingress/amazon/eventbridge`).
pub struct AmazonIngress {
    pub connection: ConnectionId,
    /// The header the API destination's connection sends the key in (e.g. `x-api-key`).
    pub api_key_header: String,
    pub api_key: SecretValue,
    pub jobs: AmazonJobs,
    /// The window an event's time must fall in (default: 5 minutes old, 1 minute ahead).
    pub freshness: Freshness,
}

impl AmazonIngress {
    /// Settings that store events and enqueue nothing; add jobs with [`AmazonIngress::jobs`].
    pub fn new(connection: ConnectionId, api_key_header: impl Into<String>, api_key: SecretValue) -> Self {
        AmazonIngress {
            connection,
            api_key_header: api_key_header.into(),
            api_key,
            jobs: Box::new(|_| Vec::new()),
            freshness: Freshness::default(),
        }
    }

    /// Another freshness window (e.g. as long as the EventBridge retry policy's maximum event age).
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }

    pub fn jobs(mut self, jobs: impl Fn(&Notification) -> Vec<NewJob> + Send + Sync + 'static) -> Self {
        self.jobs = Box::new(jobs);
        self
    }
}

impl fmt::Debug for AmazonIngress {
    // By hand: the key must never reach a log line, and closures have no Debug.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmazonIngress")
            .field("connection", &self.connection)
            .field("api_key_header", &self.api_key_header)
            .field("freshness", &self.freshness)
            .finish_non_exhaustive()
    }
}

/// One Dataverse service endpoint's settings (`POST /ingress/dataverse/{connection}`).
pub struct DataverseWebhook {
    pub connection: ConnectionId,
    /// How the endpoint was registered to authenticate (WebhookKey, HttpHeader, …).
    pub auth: WebhookAuth,
    pub jobs: DataverseJobs,
}

impl DataverseWebhook {
    /// Settings that store events and enqueue nothing; add jobs with [`DataverseWebhook::jobs`].
    pub fn new(connection: ConnectionId, auth: WebhookAuth) -> Self {
        DataverseWebhook { connection, auth, jobs: Box::new(|_| Vec::new()) }
    }

    /// An endpoint registered with a WebhookKey (`?code=<key>`), the most common set-up.
    pub fn with_key(connection: ConnectionId, key: SecretValue) -> Self {
        Self::new(connection, WebhookAuth::WebhookKey(key))
    }

    pub fn jobs(mut self, jobs: impl Fn(&DataverseEvent) -> Vec<NewJob> + Send + Sync + 'static) -> Self {
        self.jobs = Box::new(jobs);
        self
    }
}

impl fmt::Debug for DataverseWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataverseWebhook").field("connection", &self.connection).finish_non_exhaustive()
    }
}

/// Everything a [`crate::Server`] is built from.
#[derive(Debug)]
pub struct ServerConfig {
    /// The server's own tenant: the one `/ingress/…` (without `/t/{tenant}`) stores events for.
    pub tenant: TenantId,
    /// One entry per Amazon connection with an EventBridge destination; an event is taken by
    /// the one whose API key it carries. None: the EventBridge route answers 404. This and
    /// `dataverse` are the own tenant's entry in the server's [`crate::Ingress`] table, which
    /// can change them later.
    pub amazon: Vec<AmazonIngress>,
    /// One entry per Dataverse connection that sends webhooks; others answer 404.
    pub dataverse: Vec<DataverseWebhook>,
    /// The node's worker pool counters, for `ferry_jobs_total`; `None` on an ingress-only node.
    pub pool_stats: Option<Arc<PoolStats>>,
    /// Read deadlines and the connection cap.
    pub limits: ListenerLimits,
    /// `Some`: the listener speaks HTTPS only.
    pub tls: Option<TlsConfig>,
}

impl ServerConfig {
    /// A server for `tenant` with no webhook sources yet.
    pub fn new(tenant: TenantId) -> Self {
        ServerConfig {
            tenant,
            amazon: Vec::new(),
            dataverse: Vec::new(),
            pool_stats: None,
            limits: ListenerLimits::default(),
            tls: None,
        }
    }

    pub fn amazon(mut self, amazon: AmazonIngress) -> Self {
        self.amazon.push(amazon);
        self
    }

    pub fn dataverse(mut self, webhook: DataverseWebhook) -> Self {
        self.dataverse.push(webhook);
        self
    }

    pub fn pool_stats(mut self, stats: Arc<PoolStats>) -> Self {
        self.pool_stats = Some(stats);
        self
    }

    pub fn limits(mut self, limits: ListenerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Terminates TLS on the listener with this certificate and key.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}
