//! FBA Inventory v1 `getInventorySummaries`, from the same stock fulfilment orders draw on,
//! and the FBA_INVENTORY_AVAILABILITY_CHANGES notification when it changes.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Shared;
use super::fulfillment::{FoStatus, Fulfillment};
use super::http::{Query, gate, invalid_input, json_response};
use super::{notify, seed};

const API: &str = "fbaInventory";
const PAGE: usize = 50;

/// Stock of one SKU as Amazon breaks it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock {
    pub fulfillable: i64,
    /// Planned into fulfilment orders not shipped yet.
    pub reserved: i64,
    pub inbound: i64,
    pub unfulfillable: i64,
}

/// Catalogue index of a catalogue SKU (`FERRY-SKU-0007` → 6).
fn catalog_index(sku: &str) -> Option<usize> {
    sku.strip_prefix("FERRY-SKU-")?.parse::<usize>().ok()?.checked_sub(1)
}

impl Fulfillment {
    pub fn stock(&self, sku: &str) -> Option<Stock> {
        let fulfillable = *self.inventory.get(sku)?;
        let reserved = self
            .orders
            .values()
            .filter(|o| matches!(o.status, FoStatus::Planning | FoStatus::Processing))
            .flat_map(|o| &o.items)
            .filter(|i| i.sku == sku)
            .map(|i| i64::from(i.quantity - i.unfulfillable - i.cancelled))
            .sum();
        let n = catalog_index(sku).unwrap_or(0) as i64;
        Some(Stock { fulfillable, reserved, inbound: (n % 7) * 5, unfulfillable: n % 3 })
    }
}

fn fnsku(sku: &str) -> String {
    format!("X00{:07}", catalog_index(sku).unwrap_or(0) + 1)
}

/// FBA_INVENTORY_AVAILABILITY_CHANGES for `sku`.
pub fn availability_change(seller_id: &str, marketplace_id: &str, sku: &str, stock: Stock) -> Value {
    let n = catalog_index(sku).unwrap_or(0);
    let payload = json!({
        "SellerId": seller_id, "FNSKU": fnsku(sku), "ASIN": seed::catalog_asin(n), "SKU": sku,
        "FulfillmentInventoryByMarketplace": [{
            "MarketplaceId": marketplace_id,
            "ItemName": format!("Ferry sample product {}", n + 1),
            "FulfillmentInventory": {
                "InboundQuantityBreakdown": { "Working": 0, "Shipped": stock.inbound, "Receiving": 0 },
                "Fulfillable": stock.fulfillable,
                "Unfulfillable": stock.unfulfillable,
                "Researching": 0,
                "ReservedQuantityBreakdown": { "WarehouseProcessing": stock.reserved, "WarehouseTransfer": 0, "PendingCustomerOrder": 0 },
                "FutureSupplyBuyable": 0,
                "PendingCustomerOrderInTransit": 0,
            },
        }],
    });
    notify::envelope("FBA_INVENTORY_AVAILABILITY_CHANGES", payload, Timestamp::now())
}

fn summary(fulfillment: &Fulfillment, sku: &str, details: bool) -> Option<Value> {
    let stock = fulfillment.stock(sku)?;
    let n = catalog_index(sku).unwrap_or(0);
    let mut value = json!({
        "asin": seed::catalog_asin(n), "fnSku": fnsku(sku), "sellerSku": sku, "condition": "NewItem",
        "lastUpdatedTime": Timestamp::now().to_string(), "productName": format!("Ferry sample product {}", n + 1),
        "totalQuantity": stock.fulfillable + stock.reserved + stock.inbound + stock.unfulfillable,
    });
    if details {
        value["inventoryDetails"] = json!({
            "fulfillableQuantity": stock.fulfillable,
            "inboundWorkingQuantity": 0,
            "inboundShippedQuantity": stock.inbound,
            "inboundReceivingQuantity": 0,
            "reservedQuantity": { "totalReservedQuantity": stock.reserved, "pendingCustomerOrderQuantity": 0,
                "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": stock.reserved },
            "researchingQuantity": { "totalResearchingQuantity": 0, "researchingQuantityBreakdown": [] },
            "unfulfillableQuantity": { "totalUnfulfillableQuantity": stock.unfulfillable, "customerDamagedQuantity": stock.unfulfillable,
                "warehouseDamagedQuantity": 0, "distributorDamagedQuantity": 0, "carrierDamagedQuantity": 0,
                "defectiveQuantity": 0, "expiredQuantity": 0 },
        });
    }
    Some(value)
}

pub(crate) async fn summaries(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = gate!(shared, API, "getInventorySummaries", &headers);
    let query = Query::parse(raw.as_deref());
    if query.get("granularityType") != Some("Marketplace") {
        return invalid_input("granularityType is required and must be Marketplace", rate);
    }
    let Some(granularity_id) = query.get("granularityId").map(str::to_owned) else {
        return invalid_input("granularityId is required", rate);
    };
    let marketplaces = query.list("marketplaceIds");
    if marketplaces.len() != 1 {
        return invalid_input("marketplaceIds must hold exactly one marketplace", rate);
    }
    let skus = query.list("sellerSkus");
    if skus.len() > 50 {
        return invalid_input("sellerSkus holds at most 50 SKUs", rate);
    }
    let details = query.get("details") == Some("true");
    let offset = match query.get("nextToken") {
        None => 0,
        Some(t) => match t.strip_prefix("inv-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return invalid_input("nextToken is invalid or expired", rate),
        },
    };
    let fulfillment = shared.fulfillment();
    let selected: Vec<String> = if skus.is_empty() {
        match query.get("sellerSku") {
            Some(one) => vec![one.to_owned()],
            None => fulfillment.inventory.keys().cloned().collect(),
        }
    } else {
        skus
    };
    let rows: Vec<Value> = selected.iter().filter_map(|sku| summary(&fulfillment, sku, details)).collect();
    let page: Vec<Value> = rows.iter().skip(offset).take(PAGE).cloned().collect();
    let mut body = json!({ "payload": {
        "granularity": { "granularityType": "Marketplace", "granularityId": granularity_id },
        "inventorySummaries": page,
    }});
    if offset + PAGE < rows.len() {
        body["pagination"] = json!({ "nextToken": format!("inv-{}", offset + PAGE) });
    }
    json_response(StatusCode::OK, &body, rate)
}
