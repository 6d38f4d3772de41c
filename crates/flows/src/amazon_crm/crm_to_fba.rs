//! F2, outbound: a CRM sales order that becomes Submitted becomes an FBA multi-channel
//! fulfilment order. The `sellerFulfillmentOrderId` is derived from the CRM order (the flow's
//! key), and Amazon refuses a second order with the same id, so no repeat, replay or crash can
//! ship twice; the xref row written with the job also spares later changes of the same order
//! a second call.

use std::sync::Arc;

use ferry_connectors::amazon::client::fulfillment_outbound::{self as fba_api, Created};
use ferry_connectors::amazon::models::fulfillment_outbound::CreateFulfillmentOrderRequest;
use ferry_connectors::dataverse::{Query, RecordKey};
use ferry_mapping::{CompiledMapping, LookupSource, NoLookups};
use ferry_model::{AmazonFulfillmentOrderId, DataverseId};
use ferry_runtime::failure::Failure;
use ferry_runtime::{Effects, Handler, HandlerFuture, JobContext, JobError};
use ferry_store::{AnyStore, Job, Store, Xref, XrefKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::crm::CrmReader;
use crate::connectors::amazon::AmazonConnection as Amazon;
use crate::plugin::Scope;
use crate::support::{mapped, note, permanent};

/// The flow's name (its file in `flows/`).
pub const FLOW: &str = "crm-orders-to-fba";

/// A change of a salesorder row (change tracking or the webhook).
#[derive(Debug, Deserialize)]
pub struct OrderChangeJob {
    pub id: String,
    #[serde(default)]
    pub change: Option<String>,
}

pub struct CrmOrdersToFba {
    /// Keeps what it remembers apart from other instances of the template.
    pub scope: Scope,
    pub mapping: Arc<CompiledMapping>,
    pub versions: Arc<crate::versions::FlowVersions>,
    pub amazon: Arc<Amazon>,
    pub crm: Arc<CrmReader>,
    pub store: AnyStore,
}

impl Handler for CrmOrdersToFba {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(self.fulfil(ctx, job))
    }

    /// Every run but a deletion's reads the CRM order (or its recorded fulfilment order) now.
    fn failure_covers_earlier(&self, job: &Job) -> bool {
        job.payload_as::<OrderChangeJob>().is_ok_and(|p| p.change.as_deref() != Some("deleted"))
    }
}

/// The xref that says a CRM order already has its fulfilment order.
pub fn xref_key(scope: &Scope, tenant: &ferry_model::TenantId, salesorder: &str) -> XrefKey {
    XrefKey {
        tenant: tenant.clone(),
        source_system: "dataverse".into(),
        source_entity: "salesorder".into(),
        source_id: salesorder.to_owned(),
        target_system: "amazon".into(),
        target_entity: scope.scoped("fulfillmentorder"),
    }
}

impl CrmOrdersToFba {
    async fn fulfil(&self, ctx: &JobContext, job: &Job) -> Result<Effects, JobError> {
        let payload: OrderChangeJob = job.payload_as().map_err(|e| JobError::bad_payload(job, e))?;
        let id: DataverseId = payload
            .id
            .parse()
            .map_err(|_| permanent("decode", "bad_id", format!("job {}: '{}' is not a row id", job.id, payload.id)))?;
        let record = format!("dataverse:salesorder:{id}");
        if payload.change.as_deref() == Some("deleted") {
            return Ok(note(&record, "read order", "deleted in the CRM: nothing to fulfil".into()));
        }
        let key = xref_key(&self.scope, &job.tenant, &id.to_string());
        if let Some(existing) = self.store.xref(&key).await.map_err(|e| {
            JobError::failed("read xref", Failure::transient(format!("reading the xref of {record}: {e}")))
        })? {
            return Ok(note(&record, "read xref", format!("fulfilment order {existing} exists already")).covering());
        }
        let Some(mut order) = self.read_order(ctx, id).await? else {
            return Ok(note(&record, "read order", "not in the CRM any more: nothing to fulfil".into()).covering());
        };
        self.attach_products(ctx, &mut order).await?;
        let lookups: Arc<dyn LookupSource> = Arc::new(NoLookups);
        let input = Arc::new(Value::Object(order));
        let result = self.versions.map(job, &self.mapping, &record, input, Map::new(), &lookups).await?;
        let Some(mapped) = mapped(result)? else {
            return Ok(note(&record, "map", "not a submitted order the seller ships: skipped".into()).covering());
        };
        if mapped.lines.is_empty() {
            return Ok(note(&record, "map", "no line is fulfilled by Amazon: nothing to send".into()).covering());
        }
        let mut body = mapped.fields;
        body.extend(mapped.key);
        body.insert("items".into(), Value::Array(mapped.lines.into_iter().map(Value::Object).collect()));
        drop_nulls(&mut body);
        let request: CreateFulfillmentOrderRequest = serde_json::from_value(Value::Object(body)).map_err(|e| {
            permanent("map", "mapping", format!("flow {FLOW}, {record}: not a createFulfillmentOrder request: {e}"))
        })?;
        let created = self.create(ctx, &request).await?;
        crate::support::delivered(ctx, job);
        let what = match created {
            Created::Created => "created",
            Created::AlreadyExists => "existed already",
        };
        let mut effects = note(
            &record,
            "createFulfillmentOrder",
            format!(
                "fulfilment order {} {what} with {} item(s)",
                request.seller_fulfillment_order_id,
                request.items.len()
            ),
        );
        effects.xrefs.push(Xref { key, target_id: request.seller_fulfillment_order_id });
        Ok(effects.covering())
    }

    /// Creates the fulfilment order. Amazon refuses a second order with the same id, so a
    /// refusal is checked with a getFulfillmentOrder of its own, through the rate limiter: an
    /// order that exists was created by an earlier try whose answer was lost; a 429 or an
    /// outage of that check is retried like any other, never taken as the create failing.
    async fn create(&self, ctx: &JobContext, request: &CreateFulfillmentOrderRequest) -> Result<Created, JobError> {
        let client = &self.amazon.client;
        let refused = match self
            .amazon
            .call(ctx, fba_api::API, "createFulfillmentOrder", client.create_fulfillment_order(request))
            .await
        {
            Ok(()) => return Ok(Created::Created),
            Err(refused @ JobError::Failed { failure: Failure::Permanent { .. }, .. }) => refused,
            Err(other) => return Err(other),
        };
        let id = AmazonFulfillmentOrderId::new(&request.seller_fulfillment_order_id)
            .map_err(|e| permanent("createFulfillmentOrder", "bad_id", e.to_string()))?;
        let exists =
            self.amazon.call(ctx, fba_api::API, "getFulfillmentOrder", client.fulfillment_order_exists(&id)).await?;
        if exists { Ok(Created::AlreadyExists) } else { Err(refused) }
    }

    async fn read_order(&self, ctx: &JobContext, id: DataverseId) -> Result<Option<Map<String, Value>>, JobError> {
        let query = Query::new().expand(
            "order_details",
            &["salesorderdetailid", "_productid_value", "quantity", "priceperunit", "productdescription"],
        );
        let row = self.crm.retrieve(ctx, "read order", "salesorders", &RecordKey::Id(id), &query).await?;
        Ok(row.map(|r| r.fields))
    }

    /// Puts each line's product row (SKU, fulfilment channel) on the line as `product`.
    async fn attach_products(&self, ctx: &JobContext, order: &mut Map<String, Value>) -> Result<(), JobError> {
        let Some(Value::Array(lines)) = order.get_mut("order_details") else { return Ok(()) };
        for line in lines.iter_mut() {
            let Some(line) = line.as_object_mut() else { continue };
            let product = match line.get("_productid_value").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
                Some(id) => self.crm.product(ctx, id).await?,
                None => None,
            };
            line.insert("product".into(), product.map(|p| Value::Object(p.fields)).unwrap_or(Value::Null));
        }
        Ok(())
    }
}

/// `field: none` in a flow means "leave it out" for Amazon's optional fields.
fn drop_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for value in map.values_mut() {
        match value {
            Value::Object(inner) => drop_nulls(inner),
            Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(drop_nulls),
            _ => {}
        }
    }
}
