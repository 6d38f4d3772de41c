//! Amazon ⇄ CRM (Dataverse): the shipped flows of this integration pair.
//!
//! - [`OrdersToCrm`], F1 `amazon-orders-to-crm` ([`orders_to_crm`]): Amazon order → CRM sales
//!   order, started by ORDER_CHANGE and a searchOrders poll.
//! - [`CrmToFba`], F2 `crm-orders-to-fba` ([`crm_to_fba`]): submitted CRM order → FBA
//!   fulfilment order, started by Dataverse webhooks and change tracking, and its companion
//!   [`fba_status`]: fulfilment status and tracking → CRM order, started by
//!   FULFILLMENT_ORDER_STATUS and the fulfilment-order list.
//!
//! The flow files carry the mappings and settings; the handlers carry the steps.

pub mod crm;
pub mod crm_schema;
pub mod crm_to_fba;
pub mod fba_status;
pub mod orders_to_crm;
pub mod settings;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferry_connectors::amazon::IncludedData;
use ferry_connectors::amazon::notifications::AmazonEvent;
use ferry_connectors::amazon::poll::OrderPoll;
use ferry_connectors::dataverse::ChangeTrackingSource;
use ferry_mapping::flow::FlowFile;
use ferry_mapping::suggest::TargetField;
use ferry_model::TenantId;
use ferry_runtime::Handler;
use ferry_store::{AnyStore, CursorUpdate, NewJob, Store};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::connectors::amazon::AmazonConnection;
use crate::connectors::dataverse::Crm;
use crate::error::BuildError;
use crate::plugin::{Contract, FlowInstance, FlowTemplate, InstanceContext, Requirement, Role, Scope};
use crate::polls::Polls;
use crate::routing::Event;
use settings::{BuyerPii, FlowSettings};

const ROLES: &[Role] = &[Role { name: "amazon", system: "amazon" }, Role { name: "crm", system: "dataverse" }];

/// Cursor of the searchOrders poll.
pub const ORDERS_CURSOR: &str = "amazon/orders";
/// Cursor of the fulfilment-order poll.
pub const FULFILMENT_CURSOR: &str = "amazon/fulfillment-orders";

/// F1: Amazon orders → CRM sales orders.
pub struct OrdersToCrm;

const F1_CONTRACT: Contract = Contract {
    events: ("amazon", &["ORDER_CHANGE"]),
    poll: ("amazon", "searchOrders", "LastUpdateDate"),
    source: ("amazon", "getOrder"),
    included: &["BUYER", "RECIPIENT"],
    target: ("crm", "salesorder", "salesorderdetail"),
};

impl FlowTemplate for OrdersToCrm {
    fn name(&self) -> &'static str {
        orders_to_crm::FLOW
    }

    fn roles(&self) -> &'static [Role] {
        ROLES
    }

    fn contract(&self) -> &'static Contract {
        &F1_CONTRACT
    }

    fn check_settings(&self, file: &FlowFile) -> Result<(), String> {
        let name = &file.flow.name.value;
        // The binding check puts the file, line and flow before the message.
        FlowSettings::from_flow(name, &file.flow.settings)
            .map(drop)
            .map_err(|e| e.strip_prefix(&format!("flow {name}: ")).map(str::to_owned).unwrap_or(e))
    }

    fn requirements(&self) -> Vec<(&'static str, Requirement)> {
        crm_schema::requirements(crm_schema::Flow::OrdersToCrm)
    }

    fn target_fields(&self) -> Vec<TargetField> {
        crm_schema::salesorder_fields()
    }

    fn instantiate(&self, ctx: InstanceContext<'_>) -> Result<Arc<dyn FlowInstance>, BuildError> {
        let settings = FlowSettings::from_flow(&ctx.file.flow.name.value, &ctx.file.flow.settings)
            .map_err(|e| BuildError::Flows { folder: ctx.file.path.display().to_string(), problems: vec![e] })?;
        let amazon: Arc<AmazonConnection> = ctx.client("amazon")?;
        let crm = crm::CrmReader::new(ctx.client::<Crm>("crm")?);
        let handler = Arc::new(orders_to_crm::AmazonOrdersToCrm {
            scope: ctx.scope.clone(),
            mapping: ctx.mapping.clone(),
            versions: ctx.versions.clone(),
            settings: settings.clone(),
            amazon: amazon.clone(),
            crm,
            store: ctx.store.clone(),
            running: Arc::default(),
        });
        Ok(Arc::new(OrdersToCrmInstance {
            tenant: ctx.tenant.clone(),
            order_events: ctx.event_types.iter().any(|t| t == "ORDER_CHANGE"),
            poll_every: ctx.poll_every,
            scope: ctx.scope,
            amazon,
            settings,
            handler,
        }))
    }
}

struct OrdersToCrmInstance {
    tenant: TenantId,
    scope: Scope,
    amazon: Arc<AmazonConnection>,
    settings: FlowSettings,
    handler: Arc<orders_to_crm::AmazonOrdersToCrm>,
    order_events: bool,
    poll_every: Option<Duration>,
}

impl FlowInstance for OrdersToCrmInstance {
    fn name(&self) -> &str {
        &self.scope.instance
    }

    fn handlers(&self) -> Vec<(String, Arc<dyn Handler>)> {
        vec![(self.scope.instance.clone(), self.handler.clone() as Arc<dyn Handler>)]
    }

    fn route(&self, event: &Event<'_>) -> Vec<NewJob> {
        let Event::Amazon { connection, notification } = event else { return Vec::new() };
        let AmazonEvent::OrderChange { order_id, changed_at, .. } = &notification.event else { return Vec::new() };
        if !self.order_events || *connection != &self.amazon.id {
            return Vec::new();
        }
        let payload = json!({
            "order_id": order_id.as_str(),
            "source": "notification",
            "changed_at": changed_at.map(|t| t.to_string()),
        });
        vec![
            NewJob::new(self.tenant.clone(), self.scope.instance.clone(), payload)
                .connection(self.amazon.id.clone())
                .dedupe_key(self.scope.scoped(&format!(
                    "amazon-order:{}:n:{}",
                    order_id.as_str(),
                    notification.notification_id
                )))
                .record(self.scope.scoped(&format!("amazon:order:{}", order_id.as_str()))),
        ]
    }

    fn spawn_polls(self: Arc<Self>, polls: &mut Polls) {
        let Some(period) = self.poll_every else { return };
        let full = self.settings.buyer_pii == BuyerPii::Full;
        let poll = OrderPoll {
            tenant: self.tenant.clone(),
            connection: self.amazon.id.clone(),
            marketplace_ids: self.amazon.marketplace_ids.clone(),
            cursor: self.scope.scoped(ORDERS_CURSOR),
            flow: self.scope.instance.clone(),
            initial_lookback: polls.initial_lookback,
            // Buyer and recipient need a Restricted Data Token: with the `full` policy the job
            // reads them through getOrder; the page carries the rest.
            included_data: IncludedData::for_order_flow(false, false)
                .into_iter()
                .chain(if full { None } else { Some(IncludedData::Buyer) })
                .collect(),
            page_size: 100,
            key_prefix: self.scope.scoped(""),
        };
        let (store, stats, amazon) = (polls.store.clone(), polls.stats.clone(), self.amazon.clone());
        polls.every(period, move || {
            let (store, stats, amazon, poll) = (store.clone(), stats.clone(), amazon.clone(), poll.clone());
            async move {
                match poll.run(&amazon.client, &store, Timestamp::now()).await {
                    Ok(outcome) => {
                        stats.orders_polled.fetch_add(outcome.jobs_enqueued as u64, Ordering::Relaxed);
                        None
                    }
                    Err(e) => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "searchOrders poll failed; the next poll resumes from the cursor");
                        match &e {
                            ferry_connectors::amazon::poll::PollError::Remote(failure) => failure.retry_after(),
                            _ => None,
                        }
                    }
                }
            }
        });
    }
}

/// F2: submitted CRM orders → FBA fulfilment orders, and their status back.
pub struct CrmToFba;

const F2_CONTRACT: Contract = Contract {
    events: ("crm", &["salesorder.Create", "salesorder.Update", "salesorder.Delete"]),
    poll: ("crm", "salesorders_changed", "modifiedon"),
    source: ("crm", "salesorder_with_details"),
    included: &[],
    target: ("amazon", "createFulfillmentOrder", "items"),
};

impl FlowTemplate for CrmToFba {
    fn name(&self) -> &'static str {
        crm_to_fba::FLOW
    }

    fn roles(&self) -> &'static [Role] {
        ROLES
    }

    fn contract(&self) -> &'static Contract {
        &F2_CONTRACT
    }

    fn requirements(&self) -> Vec<(&'static str, Requirement)> {
        crm_schema::requirements(crm_schema::Flow::CrmToFba)
    }

    fn target_fields(&self) -> Vec<TargetField> {
        crm_schema::fulfillment_order_fields()
    }

    fn instantiate(&self, ctx: InstanceContext<'_>) -> Result<Arc<dyn FlowInstance>, BuildError> {
        let amazon: Arc<AmazonConnection> = ctx.client("amazon")?;
        let crm = crm::CrmReader::new(ctx.client::<Crm>("crm")?);
        let fulfil = Arc::new(crm_to_fba::CrmOrdersToFba {
            scope: ctx.scope.clone(),
            mapping: ctx.mapping.clone(),
            versions: ctx.versions.clone(),
            amazon: amazon.clone(),
            crm: crm.clone(),
            store: ctx.store.clone(),
        });
        let status = Arc::new(fba_status::FbaStatusToCrm {
            scope: ctx.scope.clone(),
            amazon: amazon.clone(),
            crm: crm.clone(),
            store: ctx.store.clone(),
        });
        Ok(Arc::new(CrmToFbaInstance {
            tenant: ctx.tenant.clone(),
            crm_events: ctx.event_types.clone(),
            poll_every: ctx.poll_every,
            scope: ctx.scope,
            amazon,
            crm,
            fulfil,
            status,
        }))
    }
}

struct CrmToFbaInstance {
    tenant: TenantId,
    scope: Scope,
    amazon: Arc<AmazonConnection>,
    crm: Arc<crm::CrmReader>,
    fulfil: Arc<crm_to_fba::CrmOrdersToFba>,
    status: Arc<fba_status::FbaStatusToCrm>,
    /// The Dataverse messages (`salesorder.Update`…) its `trigger.events` starts it on.
    crm_events: Vec<String>,
    poll_every: Option<Duration>,
}

impl CrmToFbaInstance {
    /// The job flow of the status companion: `<instance>.status`.
    fn status_flow(&self) -> String {
        format!("{}.status", self.scope.instance)
    }

    /// A job that brings a fulfilment order's status back; `version` tells changes apart.
    fn status_job(&self, seller_fulfillment_order_id: &str, version: &str) -> NewJob {
        let payload = json!({ "seller_fulfillment_order_id": seller_fulfillment_order_id });
        NewJob::new(self.tenant.clone(), self.status_flow(), payload)
            .connection(self.amazon.id.clone())
            .dedupe_key(self.scope.scoped(&format!("fba-status:{seller_fulfillment_order_id}:{version}")))
            .record(self.scope.scoped(&format!("amazon:fulfillmentorder:{seller_fulfillment_order_id}")))
    }
}

impl FlowInstance for CrmToFbaInstance {
    fn name(&self) -> &str {
        &self.scope.instance
    }

    fn handlers(&self) -> Vec<(String, Arc<dyn Handler>)> {
        vec![
            (self.scope.instance.clone(), self.fulfil.clone() as Arc<dyn Handler>),
            (self.status_flow(), self.status.clone() as Arc<dyn Handler>),
        ]
    }

    fn route(&self, event: &Event<'_>) -> Vec<NewJob> {
        match event {
            Event::Amazon { connection, notification } if *connection == &self.amazon.id => match &notification.event {
                AmazonEvent::FulfillmentOrderStatus { seller_fulfillment_order_id, .. } => {
                    vec![self.status_job(seller_fulfillment_order_id.as_str(), &notification.notification_id)]
                }
                _ => Vec::new(),
            },
            Event::Dataverse { connection, event } if *connection == &self.crm.crm().id => {
                let kind = format!("{}.{}", event.entity, event.message);
                if event.entity != "salesorder" || !self.crm_events.iter().any(|t| t.eq_ignore_ascii_case(&kind)) {
                    return Vec::new();
                }
                let change = if event.message.eq_ignore_ascii_case("delete") { "deleted" } else { "upserted" };
                let payload = json!({ "entity_set": "salesorders", "change": change, "id": event.id.to_string() });
                vec![
                    NewJob::new(self.tenant.clone(), self.scope.instance.clone(), payload)
                        .connection(self.crm.crm().id.clone())
                        .dedupe_key(
                            self.scope.scoped(&format!("dataverse:salesorders:{}:{}", event.id, event.operation_id)),
                        )
                        .record(self.scope.scoped(&format!("dataverse:salesorders:{}", event.id))),
                ]
            }
            _ => Vec::new(),
        }
    }

    fn spawn_polls(self: Arc<Self>, polls: &mut Polls) {
        if let Some(period) = self.poll_every {
            let source = ChangeTrackingSource {
                tenant: self.tenant.clone(),
                connection: self.crm.crm().id.clone(),
                entity_set: "salesorders".into(),
                primary_id: "salesorderid".into(),
                select: vec!["salesorderid".into(), "statecode".into(), "statuscode".into()],
                flow: self.scope.instance.clone(),
                page_size: Some(500),
                key_prefix: self.scope.scoped(""),
            };
            let (store, stats, crm) = (polls.store.clone(), polls.stats.clone(), self.crm.clone());
            polls.every(period, move || {
                let (store, stats, crm, source) = (store.clone(), stats.clone(), crm.clone(), source.clone());
                async move {
                    match source.poll(&store, &crm.crm().client).await {
                        Ok(outcome) => {
                            stats.crm_changes.fetch_add(outcome.enqueued as u64, Ordering::Relaxed);
                            None
                        }
                        Err(e) => {
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(error = %e, "Dataverse change tracking poll failed; retrying next time");
                            e.retry_after()
                        }
                    }
                }
            });
        }
        let (store, stats, this) = (polls.store.clone(), polls.stats.clone(), self.clone());
        polls.every(self.amazon.fulfilment_poll, move || {
            let (store, stats, this) = (store.clone(), stats.clone(), this.clone());
            async move {
                let Err(e) = this.poll_fulfilment_orders(&store).await else { return None };
                stats.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "fulfilment order poll failed; retrying next time");
                match e {
                    FulfilmentPollError::Remote(f) => f.retry_after(),
                    _ => None,
                }
            }
        });
    }
}

/// Why a fulfilment-order poll failed.
#[derive(Debug, thiserror::Error)]
pub enum FulfilmentPollError {
    #[error(transparent)]
    Store(#[from] ferry_store::StoreError),
    #[error("cursor {name} is not a time ({detail}); delete it to start over")]
    BadCursor { name: String, detail: String },
    #[error(transparent)]
    Remote(#[from] ferry_runtime::failure::Failure),
}

impl CrmToFbaInstance {
    /// One fulfilment-order poll: a status job per order changed since the cursor.
    async fn poll_fulfilment_orders(&self, store: &AnyStore) -> Result<usize, FulfilmentPollError> {
        let name = self.scope.scoped(FULFILMENT_CURSOR);
        let since = match store.cursor(&self.tenant, &name).await? {
            Some(text) => Some(
                text.parse::<Timestamp>()
                    .map_err(|e| FulfilmentPollError::BadCursor { name: name.clone(), detail: e.to_string() })?,
            ),
            None => None,
        };
        let started = Timestamp::now();
        let orders = self.amazon.client.list_all_fulfillment_orders(since).await?;
        let jobs: Vec<_> = orders
            .iter()
            .map(|o| {
                self.status_job(
                    &o.seller_fulfillment_order_id,
                    &format!("{}:{}", o.fulfillment_order_status, o.status_updated_date),
                )
            })
            .collect();
        // A minute of overlap: an order updated while the page was read is read again.
        let next = started.saturating_sub(SignedDuration::from_secs(60)).unwrap_or(started);
        let update = CursorUpdate { tenant: self.tenant.clone(), name, value: next.to_string() };
        let ids = store.enqueue_with_cursor(&jobs, &update).await?;
        Ok(ids.iter().flatten().count())
    }
}
