//! Fulfillment Outbound 2020-07-01 (multi-channel fulfilment): orders that move through
//! New → Received → Planning → Processing → Complete over (sped-up) time, draw on the FBA
//! inventory, ship with a carrier and tracking number, and emit FULFILLMENT_ORDER_STATUS.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::Shared;
use super::http::{Query, gate, invalid_input, json_response, not_found};
use super::notify;

const API: &str = "fulfillmentOutbound_2020-07-01";

/// Seconds at Amazon's pace from receipt to each status (divided by the speed-up).
const RECEIVED_AFTER: f64 = 30.0;
const PLANNING_AFTER: f64 = 120.0;
const PROCESSING_AFTER: f64 = 600.0;
const SHIPPED_AFTER: f64 = 1800.0;
/// From shipping to delivery.
const DELIVERED_AFTER: f64 = 2.0 * 86_400.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FoStatus {
    New,
    Received,
    Planning,
    Processing,
    Complete,
    Cancelled,
    Unfulfillable,
}

impl FoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FoStatus::New => "New",
            FoStatus::Received => "Received",
            FoStatus::Planning => "Planning",
            FoStatus::Processing => "Processing",
            FoStatus::Complete => "Complete",
            FoStatus::Cancelled => "Cancelled",
            FoStatus::Unfulfillable => "Unfulfillable",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FoItem {
    pub sku: String,
    pub item_id: String,
    pub quantity: u32,
    pub cancelled: u32,
    pub unfulfillable: u32,
}

#[derive(Debug, Clone)]
pub struct FoPackage {
    pub number: i32,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped: Timestamp,
    pub shipped_at: Instant,
    pub estimated_arrival: Timestamp,
}

#[derive(Debug, Clone)]
pub struct FulfillmentOrder {
    pub id: String,
    /// The request as sent, minus items (echoed back in getFulfillmentOrder).
    pub request: Value,
    pub items: Vec<FoItem>,
    pub hold: bool,
    pub received: Timestamp,
    pub received_at: Instant,
    pub status: FoStatus,
    pub status_updated: Timestamp,
    pub shipment_id: Option<String>,
    pub package: Option<FoPackage>,
}

/// Fulfilment orders, FBA inventory (fulfillable units per SKU) and package numbers.
#[derive(Debug, Default)]
pub struct Fulfillment {
    pub orders: BTreeMap<String, FulfillmentOrder>,
    pub inventory: BTreeMap<String, i64>,
    pub next_package: i32,
}

fn rfc(value: &Value, field: &str) -> Result<String, String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{field} is required"))
}

fn validate_request(body: &Value, inventory: &BTreeMap<String, i64>) -> Result<Vec<FoItem>, String> {
    let id = rfc(body, "sellerFulfillmentOrderId")?;
    if id.len() > 40 {
        return Err("sellerFulfillmentOrderId is longer than 40 characters".into());
    }
    rfc(body, "displayableOrderId")?;
    rfc(body, "displayableOrderComment")?;
    rfc(body, "displayableOrderDate")?
        .parse::<Timestamp>()
        .map_err(|_| "displayableOrderDate must be an ISO 8601 date-time".to_owned())?;
    let speed = rfc(body, "shippingSpeedCategory")?;
    if !["Standard", "Expedited", "Priority", "ScheduledDelivery"].contains(&speed.as_str()) {
        return Err(format!("shippingSpeedCategory {speed} is not valid"));
    }
    let address = body.get("destinationAddress").ok_or("destinationAddress is required")?;
    for field in ["name", "addressLine1", "countryCode", "postalCode"] {
        rfc(address, field).map_err(|e| format!("destinationAddress.{e}"))?;
    }
    let items = body.get("items").and_then(Value::as_array).filter(|i| !i.is_empty()).ok_or("items is required")?;
    if items.len() > 100 {
        return Err("items has more than 100 lines".into());
    }
    let mut units = 0u64;
    let mut out = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let sku = rfc(item, "sellerSku").map_err(|e| format!("items[{n}].{e}"))?;
        let item_id = rfc(item, "sellerFulfillmentOrderItemId").map_err(|e| format!("items[{n}].{e}"))?;
        let quantity = item
            .get("quantity")
            .and_then(Value::as_u64)
            .and_then(|q| u32::try_from(q).ok())
            .filter(|q| *q > 0)
            .ok_or_else(|| format!("items[{n}].quantity must be a positive integer"))?;
        if !inventory.contains_key(&sku) {
            return Err(format!("items[{n}].sellerSku {sku} is not in the seller's FBA inventory"));
        }
        units += u64::from(quantity);
        out.push(FoItem { sku, item_id, quantity, cancelled: 0, unfulfillable: 0 });
    }
    if units > 250 {
        return Err("an order may hold at most 250 units".into());
    }
    Ok(out)
}

impl FulfillmentOrder {
    fn render(&self) -> Value {
        let mut order = self.request.clone();
        if let Some(o) = order.as_object_mut() {
            o.remove("items");
            o.remove("paymentInformation");
            o.entry("marketplaceId").or_insert(json!("ATVPDKIKX0DER"));
            o.insert("receivedDate".into(), json!(self.received.to_string()));
            o.insert("fulfillmentOrderStatus".into(), json!(self.status.as_str()));
            o.insert("statusUpdatedDate".into(), json!(self.status_updated.to_string()));
        }
        order
    }

    fn render_items(&self) -> Vec<Value> {
        self.items
            .iter()
            .map(|i| {
                json!({ "sellerSku": i.sku, "sellerFulfillmentOrderItemId": i.item_id, "quantity": i.quantity,
                        "cancelledQuantity": i.cancelled, "unfulfillableQuantity": i.unfulfillable })
            })
            .collect()
    }

    fn render_shipments(&self) -> Vec<Value> {
        let Some(id) = &self.shipment_id else { return Vec::new() };
        let shipped = self.status == FoStatus::Complete;
        let mut shipment = json!({
            "amazonShipmentId": id,
            "fulfillmentCenterId": "SEA8",
            "fulfillmentShipmentStatus": if shipped { "SHIPPED" } else { "PENDING" },
            "fulfillmentShipmentItem": self.items.iter().filter(|i| i.quantity > i.cancelled + i.unfulfillable).map(|i| {
                let mut item = json!({
                    "sellerSku": i.sku, "sellerFulfillmentOrderItemId": i.item_id,
                    "quantity": i.quantity - i.cancelled - i.unfulfillable,
                });
                if let Some(p) = &self.package {
                    item["packageNumber"] = json!(p.number);
                }
                item
            }).collect::<Vec<_>>(),
        });
        if let Some(p) = &self.package {
            shipment["shippingDate"] = json!(p.shipped.to_string());
            shipment["estimatedArrivalDate"] = json!(p.estimated_arrival.to_string());
            shipment["fulfillmentShipmentPackage"] = json!([{
                "packageNumber": p.number, "carrierCode": p.carrier, "trackingNumber": p.tracking_number,
                "estimatedArrivalDate": p.estimated_arrival.to_string(),
            }]);
        }
        vec![shipment]
    }

    /// FULFILLMENT_ORDER_STATUS for the current state.
    fn notification(&self, seller_id: &str) -> Value {
        let package = self.package.as_ref();
        let packages: Vec<Value> = package
            .map(
                |p| json!({ "PackageNumber": p.number, "CarrierCode": p.carrier, "TrackingNumber": p.tracking_number }),
            )
            .into_iter()
            .collect();
        let first = self.items.first();
        let payload = json!({ "FulfillmentOrderStatusNotification": {
            "SellerId": seller_id,
            "EventType": "Order",
            "StatusUpdatedDateTime": self.status_updated.to_string(),
            "SellerFulfillmentOrderId": self.id,
            "FulfillmentOrderStatus": self.status.as_str(),
            "FulfillmentShipment": {
                "FulfillmentShipmentStatus": if self.status == FoStatus::Complete { "SHIPPED" } else { "PENDING" },
                "AmazonShipmentId": self.shipment_id.clone().unwrap_or_default(),
                "EstimatedArrivalDateTime": package.map(|p| p.estimated_arrival.to_string()).unwrap_or_else(|| self.status_updated.to_string()),
                "info": packages.first().cloned().unwrap_or_else(|| json!({})),
                "FulfillmentShipmentPackages": packages,
            },
            "FulfillmentReturnItem": {
                "ReceivedDateTime": self.status_updated.to_string(),
                "ReturnedQuantity": 0,
                "SellerSKU": first.map(|i| i.sku.clone()).unwrap_or_default(),
            },
        }});
        notify::envelope("FULFILLMENT_ORDER_STATUS", payload, self.status_updated)
    }
}

impl Fulfillment {
    /// Moves every order to the status its age calls for; returns the notifications to emit.
    pub fn advance(
        &mut self,
        speedup: f64,
        seller_id: &str,
        marketplace_id: &str,
        rng: &mut fastrand::Rng,
    ) -> Vec<Value> {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut changed_skus = Vec::new();
        let Fulfillment { orders, inventory, next_package } = self;
        for order in orders.values_mut() {
            loop {
                let age = now.saturating_duration_since(order.received_at).as_secs_f64() * speedup;
                let next = match order.status {
                    FoStatus::New if age >= RECEIVED_AFTER => FoStatus::Received,
                    FoStatus::Received if age >= PLANNING_AFTER && !order.hold => FoStatus::Planning,
                    FoStatus::Planning if age >= PROCESSING_AFTER => FoStatus::Processing,
                    FoStatus::Processing if age >= SHIPPED_AFTER => FoStatus::Complete,
                    _ => break,
                };
                let next = match next {
                    // Planning reserves the stock; what is missing is unfulfillable.
                    FoStatus::Planning => {
                        for item in &mut order.items {
                            let stock = inventory.entry(item.sku.clone()).or_insert(0);
                            let take = (*stock).clamp(0, i64::from(item.quantity)) as u32;
                            *stock -= i64::from(take);
                            item.unfulfillable = item.quantity - take;
                            if take > 0 {
                                changed_skus.push(item.sku.clone());
                            }
                        }
                        if order.items.iter().all(|i| i.unfulfillable == i.quantity) {
                            FoStatus::Unfulfillable
                        } else {
                            order.shipment_id = Some(format!("D{:08}", rng.u32(0..99_999_999)));
                            FoStatus::Planning
                        }
                    }
                    FoStatus::Complete => {
                        *next_package += 1;
                        let shipped = Timestamp::now();
                        order.package = Some(FoPackage {
                            number: *next_package,
                            carrier: "UPS".into(),
                            tracking_number: format!("1Z{:016}", rng.u64(0..10_000_000_000_000_000)),
                            shipped,
                            shipped_at: now,
                            estimated_arrival: shipped + SignedDuration::from_hours(72),
                        });
                        FoStatus::Complete
                    }
                    other => other,
                };
                order.status = next;
                order.status_updated = Timestamp::now();
                out.push(order.notification(seller_id));
            }
        }
        changed_skus.sort();
        changed_skus.dedup();
        for sku in changed_skus {
            if let Some(stock) = self.stock(&sku) {
                out.push(super::inventory::availability_change(seller_id, marketplace_id, &sku, stock));
            }
        }
        out
    }
}

pub(crate) async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let rate = gate!(shared, API, "createFulfillmentOrder", &headers);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let mut fulfillment = shared.fulfillment();
    let items = match validate_request(&body, &fulfillment.inventory) {
        Ok(items) => items,
        Err(message) => return invalid_input(message, rate),
    };
    let id = rfc(&body, "sellerFulfillmentOrderId").unwrap_or_default();
    if fulfillment.orders.contains_key(&id) {
        return invalid_input(format!("A fulfillment order with sellerFulfillmentOrderId {id} already exists"), rate);
    }
    let now = Timestamp::now();
    let hold = body.get("fulfillmentAction").and_then(Value::as_str) == Some("Hold");
    fulfillment.orders.insert(
        id.clone(),
        FulfillmentOrder {
            id,
            request: body,
            items,
            hold,
            received: now,
            received_at: Instant::now(),
            status: FoStatus::New,
            status_updated: now,
            shipment_id: None,
            package: None,
        },
    );
    json_response(StatusCode::OK, &json!({}), rate)
}

pub(crate) async fn get(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let rate = gate!(shared, API, "getFulfillmentOrder", &headers);
    shared.advance_fulfillment();
    let fulfillment = shared.fulfillment();
    match fulfillment.orders.get(&id) {
        None => not_found(format!("Fulfillment order {id} was not found"), rate),
        Some(order) => json_response(
            StatusCode::OK,
            &json!({ "payload": {
                "fulfillmentOrder": order.render(),
                "fulfillmentOrderItems": order.render_items(),
                "fulfillmentShipments": order.render_shipments(),
                "returnItems": [],
                "returnAuthorizations": [],
            }}),
            rate,
        ),
    }
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let rate = gate!(shared, API, "listAllFulfillmentOrders", &headers);
    shared.advance_fulfillment();
    let query = Query::parse(raw.as_deref());
    let since = match query.get("queryStartDate").map(str::parse::<Timestamp>) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => return invalid_input("queryStartDate must be an ISO 8601 date-time", rate),
    };
    let offset = match query.get("nextToken") {
        None => 0,
        Some(t) => match t.strip_prefix("fo-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return invalid_input("nextToken is invalid", rate),
        },
    };
    const PAGE: usize = 50;
    let fulfillment = shared.fulfillment();
    let matching: Vec<&FulfillmentOrder> =
        fulfillment.orders.values().filter(|o| since.is_none_or(|s| o.status_updated >= s)).collect();
    let page: Vec<Value> = matching.iter().skip(offset).take(PAGE).map(|o| o.render()).collect();
    let mut payload = json!({ "fulfillmentOrders": page });
    if offset + PAGE < matching.len() {
        payload["nextToken"] = json!(format!("fo-{}", offset + PAGE));
    }
    json_response(StatusCode::OK, &json!({ "payload": payload }), rate)
}

pub(crate) async fn cancel(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let rate = gate!(shared, API, "cancelFulfillmentOrder", &headers);
    shared.advance_fulfillment();
    let notification = {
        let mut fulfillment = shared.fulfillment();
        let Fulfillment { orders, inventory, .. } = &mut *fulfillment;
        let Some(order) = orders.get_mut(&id) else {
            return not_found(format!("Fulfillment order {id} was not found"), rate);
        };
        if order.status >= FoStatus::Processing {
            return invalid_input(
                format!("Fulfillment order {id} is {} and can no longer be cancelled", order.status.as_str()),
                rate,
            );
        }
        if order.status == FoStatus::Planning {
            // Give back what Planning reserved.
            for item in &order.items {
                *inventory.entry(item.sku.clone()).or_insert(0) += i64::from(item.quantity - item.unfulfillable);
            }
        }
        for item in &mut order.items {
            item.cancelled = item.quantity - item.unfulfillable;
        }
        order.status = FoStatus::Cancelled;
        order.status_updated = Timestamp::now();
        order.notification(&shared.config.seller_id)
    };
    shared.publish(notification);
    json_response(StatusCode::OK, &json!({}), rate)
}

pub(crate) async fn tracking(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = gate!(shared, API, "getPackageTrackingDetails", &headers);
    shared.advance_fulfillment();
    let query = Query::parse(raw.as_deref());
    let Some(number) = query.get("packageNumber").and_then(|n| n.parse::<i32>().ok()) else {
        return invalid_input("packageNumber is required and must be an integer", rate);
    };
    let speedup = shared.limiter.speedup();
    let fulfillment = shared.fulfillment();
    let Some(order) = fulfillment.orders.values().find(|o| o.package.as_ref().is_some_and(|p| p.number == number))
    else {
        return not_found(format!("Package {number} was not found"), rate);
    };
    let Some(package) = &order.package else { return not_found(format!("Package {number} was not found"), rate) };
    let address = order.request.get("destinationAddress").cloned().unwrap_or_default();
    let place = json!({
        "city": address.get("city").and_then(Value::as_str).unwrap_or(""),
        "state": address.get("stateOrRegion").and_then(Value::as_str).unwrap_or(""),
        "country": address.get("countryCode").and_then(Value::as_str).unwrap_or(""),
    });
    let in_transit = package.shipped_at.elapsed().as_secs_f64() * speedup;
    let delivered = in_transit >= DELIVERED_AFTER;
    let mut events = vec![json!({ "eventDate": package.shipped.to_string(), "eventAddress": place,
        "eventCode": "EVENT_101", "eventDescription": "Carrier picked up the package." })];
    if delivered {
        let at = package.shipped + SignedDuration::from_secs_f64(DELIVERED_AFTER);
        events.push(json!({ "eventDate": at.to_string(), "eventAddress": place,
            "eventCode": "EVENT_301", "eventDescription": "Delivered." }));
    }
    let payload = json!({
        "packageNumber": number,
        "trackingNumber": package.tracking_number,
        "carrierCode": package.carrier,
        "shipDate": package.shipped.to_string(),
        "estimatedArrivalDate": package.estimated_arrival.to_string(),
        "shipToAddress": place,
        "currentStatus": if delivered { "DELIVERED" } else { "IN_TRANSIT" },
        "trackingEvents": events,
    });
    json_response(StatusCode::OK, &json!({ "payload": payload }), rate)
}

pub(crate) async fn preview(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let rate = gate!(shared, API, "getFulfillmentPreview", &headers);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let Some(items) = body.get("items").and_then(Value::as_array) else {
        return invalid_input("items is required", rate);
    };
    if body.get("address").is_none() {
        return invalid_input("address is required", rate);
    }
    let fulfillment = shared.fulfillment();
    let mut preview_items = Vec::new();
    let mut unfulfillable = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let (Ok(sku), Ok(id)) = (rfc(item, "sellerSku"), rfc(item, "sellerFulfillmentOrderItemId")) else {
            return invalid_input(format!("items[{n}] needs sellerSku and sellerFulfillmentOrderItemId"), rate);
        };
        let quantity = item.get("quantity").and_then(Value::as_i64).unwrap_or(0);
        let stock = fulfillment.inventory.get(&sku).copied();
        if stock.is_none_or(|s| s < quantity) {
            unfulfillable.push(json!({ "sellerSku": sku, "quantity": quantity, "sellerFulfillmentOrderItemId": id,
                "itemUnfulfillableReasons": [if stock.is_none() { "InvalidSKU" } else { "InventoryUnavailable" }] }));
        } else {
            preview_items.push(json!({ "sellerSku": sku, "quantity": quantity, "sellerFulfillmentOrderItemId": id }));
        }
    }
    let marketplace = body.get("marketplaceId").and_then(Value::as_str).unwrap_or("ATVPDKIKX0DER");
    let now = Timestamp::now();
    let previews: Vec<Value> = [("Standard", 5), ("Expedited", 2), ("Priority", 1)]
        .iter()
        .map(|(speed, days)| {
            json!({
                "shippingSpeedCategory": speed,
                "isFulfillable": unfulfillable.is_empty(),
                "isCODCapable": false,
                "marketplaceId": marketplace,
                "estimatedFees": [{ "name": "FBAPerUnitFulfillmentFee", "amount": { "currencyCode": "USD", "value": "3.22" } }],
                "fulfillmentPreviewShipments": [{
                    "earliestShipDate": now.to_string(),
                    "latestArrivalDate": (now + SignedDuration::from_hours(24 * days)).to_string(),
                    "fulfillmentPreviewItems": preview_items,
                }],
                "unfulfillablePreviewItems": unfulfillable,
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "payload": { "fulfillmentPreviews": previews } }), rate)
}

/// How often the background ticker advances fulfilment orders.
pub const TICK: Duration = Duration::from_millis(20);
