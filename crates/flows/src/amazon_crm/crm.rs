//! What the flows read from the CRM before they write: reference rows (currency, price list,
//! unit), products by SKU or id, contacts by email and the current state of a sales order.
//! Products and reference rows are cached for the node's lifetime once found; a product that
//! is *not* found is never cached, so adding it in the CRM and replaying the dead letter works.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferry_connectors::dataverse::{Filter, Query, Record, RecordKey};
use ferry_model::DataverseId;
use ferry_runtime::{JobContext, JobError};
use serde_json::Value;

use crate::connectors::dataverse::Crm;

/// Columns of a product row the flows use.
pub const PRODUCT_COLUMNS: &[&str] = &["productid", "productnumber", "name", "new_fulfillmentchannel"];

/// Products asked for in one query (keeps the URL well under Dataverse's limit).
const PRODUCTS_PER_QUERY: usize = 25;

/// A sales order as the CRM has it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderState {
    pub id: DataverseId,
    pub statecode: i64,
    pub statuscode: i64,
}

impl OrderState {
    /// Fulfilled, canceled and invoiced orders are read-only in Dataverse.
    pub fn is_closed(&self) -> bool {
        matches!(self.statecode, 2..=4)
    }
}

/// Reads with caches, shared by every job of a node.
pub struct CrmReader {
    crm: Arc<Crm>,
    products_by_sku: Mutex<HashMap<String, Record>>,
    products_by_id: Mutex<HashMap<DataverseId, Record>>,
    reference: Mutex<HashMap<String, DataverseId>>,
    /// Held while a cache miss is read from the CRM, so the jobs of a cold start that all miss
    /// the same rows wait for one read instead of each sending its own.
    filling: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn missing(step: &str, what: String) -> JobError {
    crate::support::permanent(step, "missing_reference", what)
}

impl CrmReader {
    pub fn new(crm: Arc<Crm>) -> Arc<Self> {
        Arc::new(CrmReader {
            crm,
            products_by_sku: Mutex::default(),
            products_by_id: Mutex::default(),
            reference: Mutex::default(),
            filling: tokio::sync::Mutex::default(),
        })
    }

    pub fn crm(&self) -> &Arc<Crm> {
        &self.crm
    }

    /// The id of the one row of `entity_set` whose `column` is `value` (a currency, a price
    /// list, a unit), cached once found. Missing is a permanent failure naming the row.
    pub async fn reference(
        &self,
        ctx: &JobContext,
        entity_set: &str,
        id_column: &str,
        column: &str,
        value: &str,
    ) -> Result<DataverseId, JobError> {
        let cache_key = format!("{entity_set}/{column}={value}");
        let cached = || lock(&self.reference).get(&cache_key).copied();
        if let Some(id) = cached() {
            return Ok(id);
        }
        let _filling = self.filling.lock().await;
        if let Some(id) = cached() {
            return Ok(id);
        }
        let step = format!("lookup {entity_set}");
        let query = Query::new().select(&[id_column]).filter(Filter::eq(column, value)).top(1);
        let page = self.crm.call(ctx, &step, self.crm.client.query(entity_set, &query, None)).await?;
        let id = page
            .records
            .first()
            .and_then(|r| r.id(id_column))
            .ok_or_else(|| missing(&step, format!("the CRM has no {entity_set} row with {column} = '{value}'")))?;
        lock(&self.reference).insert(cache_key, id);
        Ok(id)
    }

    /// Product rows by SKU (`productnumber`); SKUs the CRM does not have are absent.
    pub async fn products_by_sku(&self, ctx: &JobContext, skus: &[&str]) -> Result<HashMap<String, Record>, JobError> {
        let mut found = HashMap::new();
        let mut wanted = self.cached_products(skus, &mut found);
        if wanted.is_empty() {
            return Ok(found);
        }
        let _filling = self.filling.lock().await;
        wanted = self.cached_products(&wanted, &mut found);
        for chunk in wanted.chunks(PRODUCTS_PER_QUERY) {
            let filter = chunk
                .iter()
                .map(|sku| Filter::eq("productnumber", *sku))
                .reduce(Filter::or)
                .unwrap_or_else(|| Filter::is_null("productnumber"));
            let query = Query::new().select(PRODUCT_COLUMNS).filter(filter);
            let page = self.crm.call(ctx, "lookup product", self.crm.client.query("products", &query, None)).await?;
            for row in page.records {
                self.remember(&row);
                if let Some(sku) = row.str("productnumber") {
                    found.insert(sku.to_owned(), row.clone());
                }
            }
        }
        Ok(found)
    }

    /// Moves the cached products of `skus` into `found`; returns the SKUs still wanted.
    fn cached_products<'s>(&self, skus: &[&'s str], found: &mut HashMap<String, Record>) -> Vec<&'s str> {
        let cache = lock(&self.products_by_sku);
        let mut wanted: Vec<&str> = Vec::new();
        for sku in skus {
            match cache.get(*sku) {
                Some(row) => {
                    found.insert((*sku).to_owned(), row.clone());
                }
                None if !wanted.contains(sku) => wanted.push(sku),
                None => {}
            }
        }
        wanted
    }

    /// One row, or `None` when the CRM does not have it (404).
    pub async fn retrieve(
        &self,
        ctx: &JobContext,
        step: &str,
        entity_set: &str,
        key: &RecordKey,
        query: &Query,
    ) -> Result<Option<Record>, JobError> {
        self.crm
            .call(ctx, step, async {
                match self.crm.client.retrieve(entity_set, key, query).await {
                    Ok(row) => Ok(Some(row)),
                    Err(e) if ferry_connectors::dataverse::is_not_found(&e) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// A product row by id.
    pub async fn product(&self, ctx: &JobContext, id: DataverseId) -> Result<Option<Record>, JobError> {
        if let Some(row) = lock(&self.products_by_id).get(&id) {
            return Ok(Some(row.clone()));
        }
        let query = Query::new().select(PRODUCT_COLUMNS);
        let found = self.retrieve(ctx, "lookup product", "products", &RecordKey::Id(id), &query).await?;
        if let Some(row) = &found {
            self.remember(row);
        }
        Ok(found)
    }

    fn remember(&self, row: &Record) {
        if let Some(sku) = row.str("productnumber") {
            lock(&self.products_by_sku).insert(sku.to_owned(), row.clone());
        }
        if let Some(id) = row.id("productid") {
            lock(&self.products_by_id).insert(id, row.clone());
        }
    }

    /// The contact whose `emailaddress1` is `email` (case-insensitive, as Dataverse compares).
    pub async fn contact_by_email(&self, ctx: &JobContext, email: &str) -> Result<Option<DataverseId>, JobError> {
        let query = Query::new().select(&["contactid"]).filter(Filter::eq("emailaddress1", email)).top(1);
        let page = self.crm.call(ctx, "lookup customer", self.crm.client.query("contacts", &query, None)).await?;
        Ok(page.records.first().and_then(|r| r.id("contactid")))
    }

    /// The sales order with `ordernumber`, if the CRM has it.
    pub async fn order_state(&self, ctx: &JobContext, ordernumber: &str) -> Result<Option<OrderState>, JobError> {
        let key = RecordKey::alternate("ordernumber", ordernumber);
        let query = Query::new().select(&["salesorderid", "statecode", "statuscode"]);
        let row = self.retrieve(ctx, "read order", "salesorders", &key, &query).await?;
        Ok(row.and_then(|r| order_state_of(&r)))
    }
}

/// The state columns of a salesorder row.
pub fn order_state_of(row: &Record) -> Option<OrderState> {
    Some(OrderState {
        id: row.id("salesorderid")?,
        statecode: row.get("statecode").and_then(Value::as_i64).unwrap_or(0),
        statuscode: row.get("statuscode").and_then(Value::as_i64).unwrap_or(1),
    })
}
