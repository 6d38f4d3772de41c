//! F2, back: a fulfilment order's status, carrier, tracking number and ship date go onto its
//! CRM order, each shipment also as a task on the order's timeline. A complete fulfilment
//! fulfils the CRM order; a cancelled or unfulfillable one is a dead letter for a person to
//! look at (the CRM order stays as it is). The order update and the tasks are keyed (the order
//! by its id, a task by an id derived from the shipment), so a repeat changes nothing. The
//! closure (FulfillSalesOrder) has no key: the jobs of one fulfilment order run one at a time
//! (their record), the closure is recorded as an xref committed with the job and consulted by
//! every later run, the order's state is read again just before closing, and a close that
//! Dataverse refuses because the order closed meanwhile counts as done.

use std::sync::Arc;

use ferry_connectors::amazon::client::fulfillment_outbound as fba_api;
use ferry_connectors::amazon::transformers::shipments_from_fulfillment;
use ferry_connectors::dataverse::models::FulfilledStatus;
use ferry_connectors::dataverse::transformers::shipment_to_rows;
use ferry_connectors::dataverse::{Concurrency, RecordKey};
use ferry_model::AmazonFulfillmentOrderId;
use ferry_runtime::failure::Failure;
use ferry_runtime::{Effects, Handler, HandlerFuture, JobContext, JobError};
use ferry_store::{AnyStore, Job, Store, Xref, XrefKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::crm::CrmReader;
use super::orders_to_crm::custom_fields;
use crate::connectors::amazon::AmazonConnection as Amazon;
use crate::plugin::Scope;
use crate::support::{note, permanent};

/// The built-in companion flow of `crm-orders-to-fba`.
pub const FLOW: &str = "crm-orders-to-fba.status";

/// Column with the fulfilment order's status on the CRM order.
pub const STATUS_COLUMN: &str = "new_fulfillmentstatus";
/// Column with the ship date.
pub const SHIP_DATE_COLUMN: &str = "new_shipdate";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusJob {
    pub seller_fulfillment_order_id: String,
}

pub struct FbaStatusToCrm {
    /// Keeps what it remembers apart from other instances of the template.
    pub scope: Scope,
    pub amazon: Arc<Amazon>,
    pub crm: Arc<CrmReader>,
    pub store: AnyStore,
}

impl Handler for FbaStatusToCrm {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(self.sync(ctx, job))
    }

    /// Every run reads the fulfilment order from Amazon first.
    fn failure_covers_earlier(&self, _job: &Job) -> bool {
        true
    }
}

/// The recorded outcome "the CRM order this fulfilment order fulfils is closed": the target id
/// is the CRM order's id. Written with the job that closed it (or found it closed).
pub fn closure_key(scope: &Scope, tenant: &ferry_model::TenantId, seller_fulfillment_order_id: &str) -> XrefKey {
    XrefKey {
        tenant: tenant.clone(),
        source_system: "amazon".into(),
        source_entity: "fulfillmentorder".into(),
        source_id: seller_fulfillment_order_id.to_owned(),
        target_system: "dataverse".into(),
        target_entity: scope.scoped("salesorder.closure"),
    }
}

/// A task id that is the same for the same shipment, so its upsert never makes a second task.
fn task_id(fulfilment_order: &str, shipment: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("ferry:fba-shipment:{fulfilment_order}:{shipment}").as_bytes(),
    )
}

impl FbaStatusToCrm {
    /// Whether the CRM order is closed as of now (a fresh read).
    async fn closed_now(&self, ctx: &JobContext, ordernumber: &str) -> Result<bool, JobError> {
        Ok(self.crm.order_state(ctx, ordernumber).await?.is_some_and(|o| o.is_closed()))
    }

    async fn sync(&self, ctx: &JobContext, job: &Job) -> Result<Effects, JobError> {
        let payload: StatusJob = job.payload_as().map_err(|e| JobError::bad_payload(job, e))?;
        let id = AmazonFulfillmentOrderId::new(&payload.seller_fulfillment_order_id)
            .map_err(|e| permanent("decode", "bad_id", format!("job {}: {e}", job.id)))?;
        let record = format!("amazon:fulfillmentorder:{id}");
        let closure = closure_key(&self.scope, &job.tenant, id.as_str());
        if let Some(order) = self.store.xref(&closure).await.map_err(|e| {
            JobError::failed("read xref", Failure::transient(format!("reading the closure of {record}: {e}")))
        })? {
            let message = format!("CRM order {order} was closed for this fulfilment order already; nothing written");
            return Ok(note(&record, "read xref", message).covering());
        }
        let client = &self.amazon.client;
        let result =
            self.amazon.call(ctx, fba_api::API, "getFulfillmentOrder", client.get_fulfillment_order(&id)).await?;
        let status = result.fulfillment_order.fulfillment_order_status.clone();
        let ordernumber = result.fulfillment_order.displayable_order_id.clone();
        let Some(order) = self.crm.order_state(ctx, &ordernumber).await? else {
            return Err(permanent(
                "read order",
                "missing_order",
                format!("fulfilment order {id} names CRM order {ordernumber}, which the CRM does not have"),
            ));
        };
        let shipments = shipments_from_fulfillment(&result)
            .map_err(|e| permanent("transform", "bad_fulfillment", e.to_string()))?;
        let crm = self.crm.crm();
        let mut fulfil = None;
        let mut trace = Vec::new();
        let unshipped: i64 = result
            .fulfillment_order_items
            .iter()
            .map(|i| i.quantity - i.cancelled_quantity - i.unfulfillable_quantity)
            .sum::<i64>()
            - shipments.iter().map(|s| i64::from(s.total_quantity())).sum::<i64>();
        let fields = custom_fields();
        if !order.is_closed() {
            let mut update = serde_json::Map::new();
            update.insert(STATUS_COLUMN.into(), Value::String(status.clone()));
            for (n, shipment) in shipments.iter().enumerate() {
                let write = shipment_to_rows(shipment, order.id, unshipped <= 0, &fields);
                update.extend(write.order_update);
                if let Some(at) = shipment.shipped_at {
                    update.insert(SHIP_DATE_COLUMN.into(), Value::String(at.strftime("%Y-%m-%d").to_string()));
                }
                let shipment_key = shipment.id.as_ref().map(|r| r.id().to_owned()).unwrap_or_else(|| n.to_string());
                let task = ferry_model::DataverseId::new(task_id(id.as_str(), &shipment_key))
                    .map_err(|e| permanent("write task", "bad_id", e.to_string()))?;
                crm.call(ctx, "write task", crm.client.upsert("tasks", &RecordKey::Id(task), &write.task)).await?;
                fulfil = fulfil.or(write.fulfil);
            }
            // Shipping address columns come from the CRM; Amazon's copy is not written back.
            update.retain(|k, _| !k.starts_with("shipto_"));
            crm.call(
                ctx,
                "write order",
                crm.client.update("salesorders", &RecordKey::Id(order.id), &update, Concurrency::Exists),
            )
            .await?;
            crate::support::delivered(ctx, job);
            trace.push(format!("CRM order {ordernumber}: status {status}, {} shipment(s)", shipments.len()));
        }
        // Amazon's FulfillmentOrderStatus values: New, Received, Planning, Processing,
        // Cancelled, Complete, CompletePartialled, Unfulfillable, Invalid.
        match status.to_ascii_lowercase().as_str() {
            "cancelled" | "unfulfillable" | "invalid" => {
                return Err(permanent(
                    "fulfilment",
                    "needs_attention",
                    format!(
                        "fulfilment order {id} of CRM order {ordernumber} is {status}: a person must decide (refund, other warehouse, cancel)"
                    ),
                ));
            }
            "complete" | "completepartialled" => {
                // Closing is not idempotent: read the state again right before, and take a
                // refusal as done when the order turns out closed (by a person, by F1).
                if order.is_closed() || self.closed_now(ctx, &ordernumber).await? {
                    trace.push("the CRM order is closed already".into());
                } else {
                    let subject = format!("Fulfilled by Amazon ({id})");
                    let status = fulfil.unwrap_or(FulfilledStatus::Complete);
                    match crm
                        .call(ctx, "fulfil order", crm.client.fulfill_sales_order(order.id, status, &subject))
                        .await
                    {
                        Ok(()) => trace.push("fulfilled".into()),
                        Err(e @ JobError::Failed { failure: Failure::Permanent { .. }, .. }) => {
                            if !self.closed_now(ctx, &ordernumber).await? {
                                return Err(e);
                            }
                            trace.push("closed meanwhile; Dataverse refused a second closure".into());
                        }
                        Err(e) => return Err(e),
                    }
                }
                let mut effects = note(&record, "write order", trace.join("; "));
                effects.xrefs.push(Xref { key: closure, target_id: order.id.to_string() });
                return Ok(effects.covering());
            }
            _ => {}
        }
        let message =
            if trace.is_empty() { "CRM order closed already; nothing written".into() } else { trace.join("; ") };
        Ok(note(&record, "write order", message).covering())
    }
}
