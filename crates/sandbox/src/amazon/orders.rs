//! Orders 2026-01-01 (searchOrders, getOrder) and Orders v0 (getOrders, getOrder,
//! getOrderItems, getOrderAddress, getOrderBuyerInfo, confirmShipment).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::Shared;
use super::http::{Query, empty_response, gate, invalid_input, json_response, not_found};
use super::state::{Order, Package, Status};

const V2026: &str = "orders_2026-01-01";
const V0: &str = "ordersV0";

const INCLUDED_DATA: &[&str] = &[
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
];

const FULFILLMENT_STATUSES: &[&str] =
    &["PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE"];

fn parse_time(query: &Query, name: &str) -> Result<Option<Timestamp>, String> {
    query
        .get(name)
        .map(|v| v.parse::<Timestamp>().map_err(|_| format!("{name} must be an ISO 8601 date-time, got {v:?}")))
        .transpose()
}

/// A page token is the offset into the filtered, sorted result, encoded so clients treat it
/// as opaque.
fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("ferry:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("ferry:")?.parse().ok()
}

/// Time filter shared by searchOrders and v0 getOrders.
struct Window {
    by_update: bool,
    after: Timestamp,
    before: Timestamp,
}

impl Window {
    fn contains(&self, order: &Order) -> bool {
        let at = if self.by_update { order.last_updated } else { order.created };
        at >= self.after && at <= self.before
    }
}

fn window(query: &Query, names: [&str; 4]) -> Result<Window, String> {
    let [created_after, created_before, updated_after, updated_before] = names;
    let ca = parse_time(query, created_after)?;
    let cb = parse_time(query, created_before)?;
    let ua = parse_time(query, updated_after)?;
    let ub = parse_time(query, updated_before)?;
    let latest = Timestamp::now() - SignedDuration::from_secs(120);
    // Amazon: a `…Before` bound "must be equal to or after the `…After` date and at least two
    // minutes before the time of the request".
    for (name, before, after_name, after) in
        [(created_before, cb, created_after, ca), (updated_before, ub, updated_after, ua)]
    {
        if let Some(before) = before {
            if before > latest {
                return Err(format!(
                    "{name} must be at least two minutes before the time of the request ({before:.0} is later than {latest:.0})"
                ));
            }
            if after.is_some_and(|after| before < after) {
                return Err(format!("{name} must be equal to or after {after_name}"));
            }
        }
    }
    match (ca, ua) {
        (Some(_), Some(_)) | (None, None) => {
            Err(format!("exactly one of {created_after} and {updated_after} must be provided"))
        }
        (Some(after), None) => {
            if ua.is_some() || ub.is_some() {
                return Err(format!("{updated_after} and {updated_before} cannot be set with {created_after}"));
            }
            Ok(Window { by_update: false, after, before: cb.unwrap_or(latest) })
        }
        (None, Some(after)) => {
            if cb.is_some() {
                return Err(format!("{created_before} cannot be set with {updated_after}"));
            }
            Ok(Window { by_update: true, after, before: ub.unwrap_or(latest) })
        }
    }
}

fn page_size(query: &Query, name: &str) -> Result<usize, String> {
    match query.get(name) {
        None => Ok(100),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(format!("{name} must be between 1 and 100, got {v:?}")),
        },
    }
}

pub async fn search_orders(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let rate = gate!(shared, V2026, "searchOrders", &headers);
    let query = Query::parse(raw.as_deref());
    let marketplaces = query.list("marketplaceIds");
    if marketplaces.is_empty() {
        return invalid_input("marketplaceIds is required", rate);
    }
    let window = match window(&query, ["createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"]) {
        Ok(window) => window,
        Err(message) => return invalid_input(message, rate),
    };
    let size = match page_size(&query, "maxResultsPerPage") {
        Ok(size) => size,
        Err(message) => return invalid_input(message, rate),
    };
    let statuses = query.list("fulfillmentStatuses");
    if let Some(bad) = statuses.iter().find(|s| !FULFILLMENT_STATUSES.contains(&s.as_str())) {
        return invalid_input(format!("fulfillmentStatuses has an unknown value {bad:?}"), rate);
    }
    let fulfilled_by = query.list("fulfilledBy");
    if let Some(bad) = fulfilled_by.iter().find(|s| !["MERCHANT", "AMAZON"].contains(&s.as_str())) {
        return invalid_input(format!("fulfilledBy has an unknown value {bad:?}"), rate);
    }
    let included = query.list("includedData");
    if let Some(bad) = included.iter().find(|s| !INCLUDED_DATA.contains(&s.as_str())) {
        return invalid_input(format!("includedData has an unknown value {bad:?}"), rate);
    }
    let offset = match query.get("paginationToken") {
        None => 0,
        Some(token) => match decode_token(token) {
            Some(offset) => offset,
            None => return invalid_input("paginationToken is invalid or expired", rate),
        },
    };
    let orders = shared.orders();
    let mut matching: Vec<&Order> = orders
        .by_id
        .values()
        .filter(|o| marketplaces.contains(&o.marketplace_id))
        .filter(|o| window.contains(o))
        .filter(|o| statuses.is_empty() || statuses.iter().any(|s| s == o.status.v2026()))
        .filter(|o| fulfilled_by.is_empty() || fulfilled_by.iter().any(|f| (f == "AMAZON") == o.fulfilled_by_amazon))
        .collect();
    matching.sort_by_key(|o| (if window.by_update { o.last_updated } else { o.created }, o.id.clone()));
    let page: Vec<Value> = matching.iter().skip(offset).take(size).map(|o| o.render_2026(&included)).collect();
    let mut body = json!({ "orders": page });
    if offset + size < matching.len() {
        body["pagination"] = json!({ "nextToken": encode_token(offset + size) });
    }
    let bound = if window.by_update { "lastUpdatedBefore" } else { "createdBefore" };
    body[bound] = json!(window.before.to_string());
    json_response(StatusCode::OK, &body, rate)
}

pub async fn get_order(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = gate!(shared, V2026, "getOrder", &headers);
    let included = Query::parse(raw.as_deref()).list("includedData");
    if let Some(bad) = included.iter().find(|s| !INCLUDED_DATA.contains(&s.as_str())) {
        return invalid_input(format!("includedData has an unknown value {bad:?}"), rate);
    }
    match shared.orders().by_id.get(&order_id) {
        Some(order) => json_response(StatusCode::OK, &json!({ "order": order.render_2026(&included) }), rate),
        None => not_found(format!("Order {order_id} was not found"), rate),
    }
}

/// v0 getOrders: the fallback for accounts not yet on 2026-01-01.
pub async fn get_orders_v0(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let rate = gate!(shared, V0, "getOrders", &headers);
    let query = Query::parse(raw.as_deref());
    let marketplaces = query.list("MarketplaceIds");
    if marketplaces.is_empty() {
        return invalid_input("MarketplaceIds is required", rate);
    }
    let window = match window(&query, ["CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"]) {
        Ok(window) => window,
        Err(message) => return invalid_input(message, rate),
    };
    let size = match page_size(&query, "MaxResultsPerPage") {
        Ok(size) => size,
        Err(message) => return invalid_input(message, rate),
    };
    let statuses = query.list("OrderStatuses");
    let offset = match query.get("NextToken") {
        None => 0,
        Some(token) => match decode_token(token) {
            Some(offset) => offset,
            None => return invalid_input("We could not decode your NextToken", rate),
        },
    };
    let orders = shared.orders();
    let mut matching: Vec<&Order> = orders
        .by_id
        .values()
        .filter(|o| marketplaces.contains(&o.marketplace_id))
        .filter(|o| window.contains(o))
        .filter(|o| statuses.is_empty() || statuses.iter().any(|s| s == o.status.v0()))
        .collect();
    matching.sort_by_key(|o| (if window.by_update { o.last_updated } else { o.created }, o.id.clone()));
    let page: Vec<Value> = matching.iter().skip(offset).take(size).map(|o| o.render_v0()).collect();
    let mut payload = json!({ "Orders": page });
    if offset + size < matching.len() {
        payload["NextToken"] = json!(encode_token(offset + size));
    }
    let bound = if window.by_update { "LastUpdatedBefore" } else { "CreatedBefore" };
    payload[bound] = json!(window.before.to_string());
    json_response(StatusCode::OK, &json!({ "payload": payload }), rate)
}

/// Shared body of the v0 single-order reads. `render` gets whether the request carries an
/// RDT for this path (restricted data is only returned then).
async fn v0_read(
    shared: &Shared,
    operation: &str,
    order_id: &str,
    suffix: &str,
    headers: &HeaderMap,
    render: impl FnOnce(&Order, bool) -> Value,
) -> Response {
    let rate = gate!(shared, V0, operation, headers);
    let path = format!("/orders/v0/orders/{order_id}{suffix}");
    let restricted = shared.rdt_covers(headers, "GET", &path, None);
    match shared.orders().by_id.get(order_id) {
        Some(order) => json_response(StatusCode::OK, &json!({ "payload": render(order, restricted) }), rate),
        None => not_found(format!("Order {order_id} was not found"), rate),
    }
}

pub async fn get_order_v0(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/orders/v0/orders/{order_id}");
    let buyer = shared.rdt_covers(&headers, "GET", &path, Some("buyerInfo"));
    let address = shared.rdt_covers(&headers, "GET", &path, Some("shippingAddress"));
    v0_read(&shared, "getOrder", &order_id, "", &headers, |o, _| o.render_v0_with(buyer, address)).await
}

pub async fn get_order_items(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    v0_read(
        &shared,
        "getOrderItems",
        &order_id,
        "/orderItems",
        &headers,
        |o, _| json!({ "AmazonOrderId": o.id, "OrderItems": o.render_v0_items() }),
    )
    .await
}

pub async fn get_order_address(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    v0_read(&shared, "getOrderAddress", &order_id, "/address", &headers, Order::render_v0_address).await
}

pub async fn get_order_buyer_info(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    v0_read(&shared, "getOrderBuyerInfo", &order_id, "/buyerInfo", &headers, Order::render_v0_buyer).await
}

/// Checks a ConfirmShipmentRequest against the order and applies it. `Err` is the message of
/// a 400 naming the field at fault.
fn apply_confirmation(order: &mut Order, body: &Value) -> Result<(), String> {
    let text = |v: &Value, field: &str| -> Result<String, String> {
        v.get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("{field} is required"))
    };
    let marketplace = text(body, "marketplaceId")?;
    if marketplace != order.marketplace_id {
        return Err(format!("marketplaceId {marketplace} does not match the order's marketplace"));
    }
    let package = body.get("packageDetail").ok_or("packageDetail is required")?;
    let reference = text(package, "packageReferenceId")?;
    if !reference.bytes().all(|b| b.is_ascii_digit()) || reference.bytes().all(|b| b == b'0') {
        return Err("packageDetail.packageReferenceId must be a positive number".into());
    }
    let carrier = text(package, "carrierCode")?;
    if carrier == "Other" && package.get("carrierName").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err("packageDetail.carrierName is required when carrierCode is Other".into());
    }
    let tracking = text(package, "trackingNumber")?;
    let ship_date: Timestamp = text(package, "shipDate")?
        .parse()
        .map_err(|_| "packageDetail.shipDate must be an ISO 8601 date-time".to_owned())?;
    let items = package.get("orderItems").and_then(Value::as_array).ok_or("packageDetail.orderItems is required")?;
    if order.fulfilled_by_amazon {
        return Err("shipments of Amazon-fulfilled orders cannot be confirmed".into());
    }
    if !matches!(order.status, Status::Unshipped | Status::PartiallyShipped) {
        return Err(format!("order status {} does not allow a shipment confirmation", order.status.v0()));
    }
    let mut shipped = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let id = text(item, "orderItemId").map_err(|e| format!("packageDetail.orderItems[{index}].{e}"))?;
        let quantity = item
            .get("quantity")
            .and_then(Value::as_u64)
            .and_then(|q| u32::try_from(q).ok())
            .filter(|q| *q > 0)
            .ok_or_else(|| format!("packageDetail.orderItems[{index}].quantity must be a positive integer"))?;
        let line = order
            .items
            .iter()
            .find(|i| i.item_id == id)
            .ok_or_else(|| format!("packageDetail.orderItems[{index}].orderItemId {id} is not on the order"))?;
        if quantity > line.quantity - line.quantity_shipped {
            return Err(format!("packageDetail.orderItems[{index}].quantity exceeds the unshipped quantity"));
        }
        shipped.push((id, quantity));
    }
    for (id, quantity) in &shipped {
        if let Some(line) = order.items.iter_mut().find(|i| &i.item_id == id) {
            line.quantity_shipped += quantity;
        }
    }
    order.status = if order.items.iter().all(|i| i.quantity_shipped >= i.quantity) {
        Status::Shipped
    } else {
        Status::PartiallyShipped
    };
    order.last_updated = Timestamp::now();
    order.changed_at = std::time::Instant::now();
    order.packages.push(Package {
        reference_id: reference,
        carrier,
        tracking_number: tracking,
        ship_time: ship_date,
        items: shipped,
    });
    Ok(())
}

pub async fn confirm_shipment(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rate = gate!(shared, V0, "confirmShipment", &headers);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let mut orders = shared.orders();
    let Some(order) = orders.by_id.get_mut(&order_id) else {
        return not_found(format!("Order {order_id} was not found"), rate);
    };
    match apply_confirmation(order, &body) {
        Ok(()) => {
            let notification = super::notify::order_change(&shared.config.seller_id, order, "ShipmentConfirmed");
            drop(orders);
            shared.publish(notification);
            empty_response(StatusCode::NO_CONTENT, rate)
        }
        Err(message) => invalid_input(message, rate),
    }
}

/// v0 updateShipmentStatus (store pickup orders): validated and acknowledged with 204.
pub async fn update_shipment_status(
    State(shared): State<Arc<Shared>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rate = gate!(shared, V0, "updateShipmentStatus", &headers);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let orders = shared.orders();
    let Some(order) = orders.by_id.get(&order_id) else {
        return not_found(format!("Order {order_id} was not found"), rate);
    };
    if body.get("marketplaceId").and_then(Value::as_str) != Some(order.marketplace_id.as_str()) {
        return invalid_input("marketplaceId is required and must be the order's marketplace", rate);
    }
    match body.get("shipmentStatus").and_then(Value::as_str) {
        Some("ReadyForPickup" | "PickedUp" | "RefusedPickup") => empty_response(StatusCode::NO_CONTENT, rate),
        _ => invalid_input("shipmentStatus must be ReadyForPickup, PickedUp or RefusedPickup", rate),
    }
}
