//! F1: an Amazon order becomes a CRM sales order with its order products.
//!
//! One job per order change. The job reads the order (the poll page's copy when it carries
//! everything the flow needs, else getOrder, through a Restricted Data Token when buyer data is
//! allowed), turns it into the canonical order, reads what it refers to in the CRM (products by
//! SKU, the buyer's contact, currency, price list, unit, the CRM order's current state), maps it
//! with the flow file on top of the connector's default transformer, and writes the order and
//! its lines in one `$batch` change set, upserted by alternate keys: running it twice, or after
//! a crash half-way, leaves exactly one CRM order with exactly its lines.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ferry_connectors::amazon::client::orders::{self as orders_api, GetOrderRequest, IncludedData};
use ferry_connectors::amazon::models::orders::{GetOrderResponse, Order as WireOrder};
use ferry_connectors::amazon::rdt::{DataElement, RestrictedResource};
use ferry_connectors::amazon::{errors as amazon_errors, transformers};
use ferry_connectors::dataverse::transformers::{
    CustomFields, CustomerRef, OrderRefs, customer_to_row, money_text_to_numbers, order_to_salesorder,
};
use ferry_connectors::dataverse::{Batch, Literal, Outcome as BatchOutcome, RecordKey, is_conflict};
use ferry_mapping::{CompiledMapping, LookupError, LookupSource};
use ferry_model::{AmazonOrderId, Currency, DataverseId, Order, Sku};
use ferry_runtime::failure::Failure;
use ferry_runtime::{Effects, Handler, HandlerFuture, JobContext, JobError};
use ferry_store::{AnyStore, Echo, EchoKey, Job, Store, Xref, XrefKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::crm::{CrmReader, OrderState};
use super::settings::{BuyerPii, FlowSettings};
use crate::connectors::amazon::AmazonConnection as Amazon;
use crate::plugin::Scope;
use crate::support::{mapped, note, permanent};

/// The flow's name (its file in `flows/`).
pub const FLOW: &str = "amazon-orders-to-crm";

/// What a job of this flow carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderJob {
    pub order_id: String,
    /// `poll` or `notification`.
    #[serde(default)]
    pub source: Option<String>,
    /// The order as a searchOrders page returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<WireOrder>,
    /// When the notified change happened (ORDER_CHANGE's TimeOfOrderChange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
}

impl OrderJob {
    /// The moment of Amazon's order this job is about: the page copy's last update, or the
    /// notified change. A CRM order written from a copy at least this recent already holds it.
    fn version(&self) -> Option<Timestamp> {
        let text = self.order.as_ref().map(|o| o.last_updated_time.as_str()).or(self.changed_at.as_deref())?;
        text.parse().ok()
    }
}

/// The echo row that remembers which copy of an Amazon order the CRM order was last written
/// from (its LastUpdateDate), so the twin of a job (the notification and the poll both carry
/// each change) costs no request once the other has written it.
fn written_version_key(scope: &Scope, tenant: &ferry_model::TenantId, order_id: &str) -> EchoKey {
    EchoKey {
        tenant: tenant.clone(),
        system: "amazon".into(),
        entity: "order".into(),
        record_id: order_id.to_owned(),
        direction: scope.scoped("amazon->crm"),
    }
}

/// The custom columns Ferry's CRM solution adds (DESIGN §2: Amazon Order Id, ASIN, …).
pub fn custom_fields() -> CustomFields {
    CustomFields {
        order_source_id: Some("new_amazonorderid".into()),
        marketplace_id: Some("new_marketplaceid".into()),
        fulfillment_channel: Some("new_fulfillmentchannel".into()),
        line_source_id: Some("new_sourcelineid".into()),
        asin: Some("new_asin".into()),
        tracking_number: Some("new_trackingnumber".into()),
        carrier: Some("new_carrier".into()),
    }
}

/// Namespace of the ids F1 gives the contacts it creates.
const CONTACT_ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f3c_2a1e_9d4b_4c8e_b7a5_0e1f_f3e2_c901);

/// The `contactid` of the buyer with `email` in `tenant`: a UUIDv5 of the tenant and the
/// normalised (trimmed, lower-case) email, so every job that creates this buyer's contact
/// creates the same row.
pub fn contact_id(tenant: &ferry_model::TenantId, email: &str) -> Result<DataverseId, ferry_model::IdError> {
    let name = format!("{tenant}\u{1f}{}", email.trim().to_lowercase());
    DataverseId::new(uuid::Uuid::new_v5(&CONTACT_ID_NAMESPACE, name.as_bytes()))
}

pub struct AmazonOrdersToCrm {
    /// Keeps what it remembers apart from other instances of the template.
    pub scope: Scope,
    pub mapping: Arc<CompiledMapping>,
    pub versions: Arc<crate::versions::FlowVersions>,
    pub settings: FlowSettings,
    pub amazon: Arc<Amazon>,
    pub crm: Arc<CrmReader>,
    pub store: AnyStore,
    /// Orders a job of this node is syncing now: a twin job (the same change by notification
    /// and by poll) waits for it and then finds the change written, instead of reading the
    /// order from Amazon a second time.
    pub running: Arc<Mutex<HashSet<String>>>,
}

/// How long a twin job waits for the job syncing the same order.
const TWIN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Marks an order as being synced until dropped.
struct Syncing {
    running: Arc<Mutex<HashSet<String>>>,
    order_id: String,
}

impl Syncing {
    fn start(running: &Arc<Mutex<HashSet<String>>>, order_id: &str) -> Option<Syncing> {
        let mut set = running.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(order_id.to_owned()).then(|| Syncing { running: running.clone(), order_id: order_id.to_owned() })
    }
}

impl Drop for Syncing {
    fn drop(&mut self) {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.order_id);
    }
}

impl Handler for AmazonOrdersToCrm {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(self.sync(ctx, job))
    }

    /// A run that gives up has read the order from Amazon unless its job carried a complete
    /// page copy (then its twins may carry a newer copy and run on their own).
    fn failure_covers_earlier(&self, job: &Job) -> bool {
        job.payload_as::<OrderJob>().is_ok_and(|p| p.order.is_none_or(|o| !self.page_copy_is_complete(&o)))
    }
}

/// What the CRM has of the things an order refers to, for the mapping's lookups.
struct Prefetched {
    contact: Option<(String, DataverseId)>,
    products: HashMap<String, ferry_connectors::dataverse::Record>,
}

impl LookupSource for Prefetched {
    fn table(&self, _: &str, _: &str) -> Result<Option<Value>, LookupError> {
        Ok(None)
    }
    fn xref(&self, _: &str, _: &str) -> Result<Option<String>, LookupError> {
        Ok(None)
    }
    fn rate(&self, _: Currency, _: Currency) -> Result<Option<ferry_model::Decimal>, LookupError> {
        Ok(None)
    }
    fn find(&self, entity: &str, by: &str, key: &str) -> Result<Option<Value>, LookupError> {
        match (entity, by) {
            ("contact", "emailaddress1") => Ok(self
                .contact
                .as_ref()
                .filter(|(email, _)| email.eq_ignore_ascii_case(key.trim()))
                .map(|(_, id)| json!({ "contactid": id.to_string() }))),
            ("product", "productnumber") => Ok(self.products.get(key).map(|r| Value::Object(r.fields.clone()))),
            _ => Err(LookupError(format!(
                "flow {FLOW} reads {entity} by {by} only through its built-in lookups (contact by emailaddress1, product by productnumber)"
            ))),
        }
    }
}

/// Maps the CRM status code the flow chose to its state (DYNAMICS.md §A.5 pairs).
pub fn state_of_status(status: i64) -> Option<i64> {
    match status {
        1 | 2 | 690970000 => Some(0),
        3 => Some(1),
        4 => Some(2),
        100001 | 100002 => Some(3),
        100003 => Some(4),
        _ => None,
    }
}

impl AmazonOrdersToCrm {
    async fn fetch(&self, ctx: &JobContext, order_id: &AmazonOrderId) -> Result<WireOrder, JobError> {
        let full = self.settings.buyer_pii == BuyerPii::Full;
        let request = GetOrderRequest::new(order_id, IncludedData::for_order_flow(full, full));
        let client = &self.amazon.client;
        self.amazon
            .call(ctx, orders_api::API, "getOrder", async {
                let http = request.to_http();
                let response = if full {
                    // One generic-path RDT serves every order for its hour.
                    let resources = [RestrictedResource::get(
                        "/orders/2026-01-01/orders/{orderId}",
                        vec![DataElement::BuyerInfo, DataElement::ShippingAddress],
                    )];
                    client.execute_restricted(orders_api::API, "getOrder", &http, &resources).await?
                } else {
                    client.execute(orders_api::API, "getOrder", &http).await?
                };
                serde_json::from_slice::<GetOrderResponse>(&response.body)
                    .map(|r| r.order)
                    .map_err(|e| amazon_errors::bad_response("getOrder", "GetOrderResponse", &e))
            })
            .await
    }

    /// A poll page's copy is enough unless the flow wants buyer data the page lacks.
    fn page_copy_is_complete(&self, order: &WireOrder) -> bool {
        self.settings.buyer_pii == BuyerPii::Guest || (order.buyer.is_some() && order.recipient.is_some())
    }

    /// The last update of the Amazon order copy the CRM order was written from, if any.
    async fn written_version(&self, job: &Job, order_id: &str) -> Result<Option<Timestamp>, JobError> {
        let hash =
            self.store.echo_hash(&written_version_key(&self.scope, &job.tenant, order_id)).await.map_err(|e| {
                JobError::failed(
                    "read store",
                    Failure::transient(format!("reading order {order_id}'s last write: {e}")),
                )
            })?;
        Ok(hash.and_then(|h| h.parse().ok()))
    }

    async fn sync(&self, ctx: &JobContext, job: &Job) -> Result<Effects, JobError> {
        let payload: OrderJob = job.payload_as().map_err(|e| JobError::bad_payload(job, e))?;
        let order_id = AmazonOrderId::new(&payload.order_id)
            .map_err(|e| permanent("decode", "bad_order_id", format!("job {}: {e}", job.id)))?;
        let Some(_syncing) = Syncing::start(&self.running, order_id.as_str()) else {
            return Err(JobError::Deferred {
                step: "wait for twin".into(),
                wait: TWIN_WAIT,
                reason: format!("another job is syncing order {order_id}"),
            });
        };
        if let Some(version) = payload.version()
            && let Some(written) = self.written_version(job, order_id.as_str()).await?
            && written >= version
        {
            let record = format!("amazon:order:{order_id}");
            let message = format!("the CRM order holds this change already (written from Amazon's copy of {written})");
            return Ok(note(&record, "read store", message));
        }
        // A job that reads the order now covers its twins enqueued before it was claimed; one
        // that writes the copy its poll page carried does not (they may be newer).
        let (wire, fetched) = match payload.order {
            Some(order) if self.page_copy_is_complete(&order) => (order, false),
            _ => (self.fetch(ctx, &order_id).await?, true),
        };
        // Whatever the write did (or left alone on purpose), this copy of the order is handled.
        let version = Echo {
            key: written_version_key(&self.scope, &job.tenant, order_id.as_str()),
            hash: wire.last_updated_time.clone(),
        };
        let mut effects = self.write_order(ctx, job, &order_id, &wire).await?;
        effects.echoes.push(version);
        effects.covers_earlier = fetched;
        Ok(effects)
    }

    /// Maps one Amazon order and writes it to the CRM.
    async fn write_order(
        &self,
        ctx: &JobContext,
        job: &Job,
        order_id: &AmazonOrderId,
        wire: &WireOrder,
    ) -> Result<Effects, JobError> {
        let mut order = transformers::order_from_2026(wire)
            .map_err(|e| permanent("transform", "bad_order", format!("order {order_id}: {e}")))?;
        if self.settings.buyer_pii == BuyerPii::Guest
            && let Some(buyer) = order.buyer.as_mut()
        {
            // Guest policy: only the relay email reaches the CRM.
            buyer.kind = ferry_model::CustomerKind::Guest;
            buyer.phone = None;
            buyer.addresses.clear();
        }
        let record = order.id.to_string();
        let ordernumber = order.id.id().to_owned();

        // What the order refers to in the CRM.
        let skus: Vec<&str> = order.lines.iter().map(|l| l.sku.as_str()).collect();
        let products = self.crm.products_by_sku(ctx, &skus).await?;
        if let Some((n, line)) = order.lines.iter().enumerate().find(|(_, l)| !products.contains_key(l.sku.as_str())) {
            return Err(permanent(
                "lookup product",
                "unknown_sku",
                format!(
                    "order {ordernumber} line {}: unknown SKU '{}': no CRM product has productnumber '{}'; add the product, then replay",
                    n + 1,
                    line.sku,
                    line.sku
                ),
            ));
        }
        let existing = self.crm.order_state(ctx, &ordernumber).await?;
        let email = order.buyer.as_ref().and_then(|b| b.exposed_email()).map(|e| e.trim().to_ascii_lowercase());
        let contact = match &email {
            Some(email) if !email.is_empty() => {
                self.crm.contact_by_email(ctx, email).await?.map(|id| (email.clone(), id))
            }
            _ => None,
        };
        let refs = self.refs(ctx, &order, &products, contact.as_ref().map(|c| c.1)).await?;
        let default = order_to_salesorder(&order, &refs, &custom_fields())
            .map_err(|e| permanent("transform", "bad_order", e.to_string()))?;

        // The flow's mapping on top of the default.
        let lookups: Arc<dyn LookupSource> = Arc::new(Prefetched { contact, products });
        let input = serde_json::to_value(&order)
            .map_err(|e| permanent("map", "bad_order", format!("order {ordernumber}: {e}")))?;
        let result = self.versions.map(job, &self.mapping, &record, Arc::new(input), default.header, &lookups).await?;
        let Some(mapped) = mapped(result)? else {
            return Ok(note(&record, "map", "only_if is false: nothing written".into()));
        };
        let mut header = mapped.fields;
        let key = match mapped.key.get("ordernumber").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => RecordKey::Alternate(vec![("ordernumber".into(), Literal::String(n.into()))]),
            _ => return Err(permanent("map", "mapping", format!("flow {FLOW}: the key ordernumber is empty"))),
        };
        if mapped.actions.iter().any(|a| a.lookup == "customer")
            && header_customer_missing(&header)
            && let Some(email) = email.as_deref().filter(|e| !e.is_empty())
        {
            let id = self.create_contact(ctx, &job.tenant, &order, email).await?;
            header.insert("customerid_contact@odata.bind".into(), Value::String(format!("/contacts({id})")));
        }
        let lines = merge_lines(&ordernumber, default.lines, mapped.lines)?;
        let status = header.remove("statuscode").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
        let state = status.and_then(state_of_status);
        money_to_numbers(&mut header, &record)?;

        if let Some(current) = existing
            && current.is_closed()
        {
            // Dataverse keeps closed orders read-only; a person or an earlier run closed it.
            let message = if Some(current.statecode) == state {
                "already in its final state".to_owned()
            } else {
                format!("closed in the CRM (state {}); Amazon status {} not applied", current.statecode, order.status)
            };
            return Ok(with_xref(note(&record, "write", message), &job.tenant, &ordernumber, current.id));
        }
        // The state is written only when it changes: a re-run never reopens an order that
        // another flow (F2's tracking) moved on meanwhile.
        let unchanged = existing.is_some_and(|c| Some(c.statecode) == state && Some(c.statuscode) == status);
        match (state, status) {
            (Some(0), Some(s)) | (Some(1), Some(s)) if !unchanged => {
                header.insert("statecode".into(), json!(state));
                header.insert("statuscode".into(), json!(s));
            }
            _ => {}
        }
        let id = match self.write(ctx, &key, &ordernumber, header, lines).await {
            Ok(id) => id,
            // Dataverse refuses writes to a closed order: F2's fulfilment (or a person) may have
            // closed it since it was read above. Then there is nothing left to write.
            Err(refused @ JobError::Failed { failure: Failure::Permanent { .. }, .. }) => {
                match self.crm.order_state(ctx, &ordernumber).await? {
                    Some(current) if current.is_closed() => {
                        let message = format!("closed in the CRM meanwhile (state {}); not written", current.statecode);
                        return Ok(with_xref(note(&record, "write", message), &job.tenant, &ordernumber, current.id));
                    }
                    _ => return Err(refused),
                }
            }
            Err(other) => return Err(other),
        };
        crate::support::delivered(ctx, job);
        let subject = format!("Amazon order {ordernumber}");
        match (state, status) {
            (Some(3), Some(s)) => {
                let status = if s == 100002 {
                    ferry_connectors::dataverse::models::FulfilledStatus::Partial
                } else {
                    ferry_connectors::dataverse::models::FulfilledStatus::Complete
                };
                let client = &self.crm.crm().client;
                let closed = self.crm.crm().call(ctx, "fulfil order", client.fulfill_sales_order(id, status, &subject));
                self.closed_or_closed_meanwhile(ctx, &ordernumber, closed.await).await?;
            }
            (Some(2), _) => {
                let client = &self.crm.crm().client;
                let closed = self.crm.crm().call(ctx, "cancel order", client.cancel_sales_order(id, &subject));
                self.closed_or_closed_meanwhile(ctx, &ordernumber, closed.await).await?;
            }
            _ => {}
        }
        self.versions.observe_money(unit_prices(&self.versions.flow, &record, &order)).await;
        let message = format!("salesorder {id} written with {} line(s)", order.lines.len());
        Ok(with_xref(note(&record, "write", message), &job.tenant, &ordernumber, id))
    }

    /// A closure (FulfillSalesOrder/CancelSalesOrder) has no key: Dataverse refuses a second
    /// one. A refusal is fine when the order turns out closed (F2's fulfilment or a person got
    /// there first); otherwise it stands.
    async fn closed_or_closed_meanwhile(
        &self,
        ctx: &JobContext,
        ordernumber: &str,
        result: Result<(), JobError>,
    ) -> Result<(), JobError> {
        match result {
            Err(refused @ JobError::Failed { failure: Failure::Permanent { .. }, .. }) => {
                match self.crm.order_state(ctx, ordernumber).await? {
                    Some(current) if current.is_closed() => Ok(()),
                    _ => Err(refused),
                }
            }
            other => other,
        }
    }

    async fn refs(
        &self,
        ctx: &JobContext,
        order: &Order,
        products: &HashMap<String, ferry_connectors::dataverse::Record>,
        contact: Option<DataverseId>,
    ) -> Result<OrderRefs, JobError> {
        let currency = self
            .crm
            .reference(ctx, "transactioncurrencies", "transactioncurrencyid", "isocurrencycode", order.currency.code())
            .await?;
        let price_level =
            self.crm.reference(ctx, "pricelevels", "pricelevelid", "name", &self.settings.price_list).await?;
        let unit = self.crm.reference(ctx, "uoms", "uomid", "name", &self.settings.unit).await?;
        let products =
            products.iter().filter_map(|(sku, row)| Some((Sku::new(sku).ok()?, row.id("productid")?))).collect();
        Ok(OrderRefs {
            customer: contact.map(CustomerRef::Contact),
            currency: Some(currency),
            price_level: Some(price_level),
            products,
            unit: Some(unit),
        })
    }

    /// Creates the buyer's contact with the id [`contact_id`] gives it, so two orders of one
    /// buyer racing each other end with one contact without any alternate key (a stock org
    /// has none, and one on `emailaddress1` fails wherever two contacts share an email): the
    /// loser's create-only write conflicts on the primary key, and the id is the winner's.
    async fn create_contact(
        &self,
        ctx: &JobContext,
        tenant: &ferry_model::TenantId,
        order: &Order,
        email: &str,
    ) -> Result<DataverseId, JobError> {
        let crm = self.crm.crm();
        let mut body = match &order.buyer {
            Some(buyer) => customer_to_row(buyer, None).body,
            None => Map::new(),
        };
        body.insert("emailaddress1".into(), Value::String(email.to_owned()));
        body.entry("lastname")
            .or_insert_with(|| Value::String(ferry_connectors::dataverse::transformers::GUEST_LAST_NAME.into()));
        let id = contact_id(tenant, email).map_err(|e| permanent("create customer", "bad_id", e.to_string()))?;
        let key = RecordKey::Id(id);
        crm.call(ctx, "create customer", async {
            match crm.client.create_only("contacts", &key, &body).await {
                Ok(_) => Ok(()),
                // Another job created this buyer's contact first: it has this very id.
                Err(e) if is_conflict(&e) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(id)
    }

    /// The order and its lines in one change set: all of it is written or none.
    async fn write(
        &self,
        ctx: &JobContext,
        key: &RecordKey,
        ordernumber: &str,
        header: Map<String, Value>,
        lines: Vec<LineRow>,
    ) -> Result<DataverseId, JobError> {
        let write = ferry_connectors::dataverse::transformers::SalesOrderWrite {
            key: key.clone(),
            header,
            lines,
            state: ferry_connectors::dataverse::transformers::StateAction::None,
        };
        let mut batch = Batch::new();
        write.add_to_batch(&mut batch).map_err(|e| permanent("write", "batch", e.to_string()))?;
        let crm = self.crm.crm();
        let results = crm.call(ctx, "write order", crm.client.execute_batch(&batch, false)).await?;
        let mut order_id = None;
        for result in &results {
            match &result.outcome {
                BatchOutcome::Succeeded { id, .. } if result.index == 0 => order_id = *id,
                BatchOutcome::Succeeded { .. } => {}
                BatchOutcome::Failed(failure) => return Err(JobError::failed("write order", failure.clone())),
                BatchOutcome::RolledBack | BatchOutcome::NotExecuted => {}
            }
        }
        match order_id {
            Some(id) => Ok(id),
            None => match self.crm.order_state(ctx, ordernumber).await? {
                Some(OrderState { id, .. }) => Ok(id),
                None => Err(JobError::failed("write order", Failure::transient("the $batch answer named no order id"))),
            },
        }
    }
}

fn header_customer_missing(header: &Map<String, Value>) -> bool {
    !header.keys().any(|k| k.starts_with("customerid_"))
}

/// An order line ready to write: its key (when lines have one) and its columns.
type LineRow = (Option<RecordKey>, Map<String, Value>);

/// The flow's line fields over the default's line of the same position.
fn merge_lines(
    ordernumber: &str,
    default: Vec<LineRow>,
    mapped: Vec<Map<String, Value>>,
) -> Result<Vec<LineRow>, JobError> {
    if mapped.len() != default.len() {
        return Err(permanent(
            "map",
            "mapping",
            format!(
                "flow {FLOW}, order {ordernumber}: the flow mapped {} of {} lines; every order line must be written",
                mapped.len(),
                default.len()
            ),
        ));
    }
    default
        .into_iter()
        .zip(mapped)
        .map(|((key, mut body), extra)| {
            for (column, value) in extra {
                if value.is_null() {
                    continue;
                }
                body.insert(column, value);
            }
            money_to_numbers(&mut body, ordernumber)?;
            Ok((key, body))
        })
        .collect()
}

/// The money F1 marks for the anomaly flags: each line's unit price per SKU (a price that
/// jumps or collapses is worth a look; a line total would move with the quantity).
fn unit_prices(flow: &str, record: &str, order: &ferry_model::Order) -> Vec<ferry_store::MoneyObservation> {
    order
        .lines
        .iter()
        .filter(|l| l.quantity_ordered > 0)
        .map(|l| ferry_store::MoneyObservation {
            flow: flow.to_owned(),
            field: "unit price".into(),
            per: "SKU".into(),
            key: l.sku.as_str().to_owned(),
            currency: l.unit_price.currency().to_string(),
            record: format!("{record}#{}", l.line_id),
            amount: l.unit_price.amount().to_string(),
            at: order.purchased_at,
        })
        .collect()
}

/// Money the mapping left as decimal text becomes the exact JSON number Dataverse expects.
fn money_to_numbers(body: &mut Map<String, Value>, record: &str) -> Result<(), JobError> {
    money_text_to_numbers(body, record).map_err(|e| permanent("map", "mapping", e.to_string()))
}

fn with_xref(mut effects: Effects, tenant: &ferry_model::TenantId, ordernumber: &str, id: DataverseId) -> Effects {
    effects.xrefs.push(Xref {
        key: XrefKey {
            tenant: tenant.clone(),
            source_system: "amazon".into(),
            source_entity: "order".into(),
            source_id: ordernumber.to_owned(),
            target_system: "dataverse".into(),
            target_entity: "salesorder".into(),
        },
        target_id: id.to_string(),
    });
    effects
}
