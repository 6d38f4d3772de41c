//! Finances v0: financial events (a ShipmentEvent per shipped order, with item charges and
//! fees) listed by posted date, by order and by event group.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use super::Shared;
use super::http::{Query, invalid_input, json_response};
use super::state::{Order, Status};

const API: &str = "financesV0";
/// The one open financial event group of the sandbox's seller.
pub const OPEN_GROUP: &str = "FEG-SANDBOX-OPEN";

/// Finances v0 amounts are JSON numbers (`BigDecimal`).
fn currency(code: &str, amount: Decimal) -> Value {
    json!({ "CurrencyCode": code, "CurrencyAmount": amount.to_f64().unwrap_or(0.0) })
}

/// The ShipmentEvent of a shipped order; posted when it was last updated.
pub fn shipment_event(order: &Order) -> Value {
    let items: Vec<Value> = order
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let principal = item.unit_price * Decimal::from(item.quantity);
            let shipping = if index == 0 { order.shipping_price } else { Decimal::ZERO };
            let mut fees = vec![json!({ "FeeType": "Commission", "FeeAmount": currency(&order.currency, -(principal * Decimal::new(15, 2)).round_dp(2)) })];
            if order.fulfilled_by_amazon {
                fees.push(json!({ "FeeType": "FBAPerUnitFulfillmentFee", "FeeAmount": currency(&order.currency, -Decimal::new(322, 2) * Decimal::from(item.quantity)) }));
            }
            json!({
                "SellerSKU": item.sku, "OrderItemId": item.item_id, "QuantityShipped": item.quantity,
                "ItemChargeList": [
                    { "ChargeType": "Principal", "ChargeAmount": currency(&order.currency, principal) },
                    { "ChargeType": "Tax", "ChargeAmount": currency(&order.currency, item.tax) },
                    { "ChargeType": "ShippingCharge", "ChargeAmount": currency(&order.currency, shipping) },
                ],
                "ItemFeeList": fees,
            })
        })
        .collect();
    json!({
        "AmazonOrderId": order.id, "MarketplaceName": "Amazon.com",
        "PostedDate": order.last_updated.to_string(), "ShipmentItemList": items,
    })
}

fn page(shared: &Shared, query: &Query, filter: impl Fn(&Order) -> bool, rate: Option<f64>) -> Response {
    let size = match query.get("MaxResultsPerPage").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return invalid_input("MaxResultsPerPage must be between 1 and 100", rate),
    };
    let parse = |name: &str| {
        query.get(name).map(|v| v.parse::<Timestamp>().map_err(|_| format!("{name} must be an ISO 8601 date-time")))
    };
    let (after, before) = match (parse("PostedAfter").transpose(), parse("PostedBefore").transpose()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(m), _) | (_, Err(m)) => return invalid_input(m, rate),
    };
    let offset = match query.get("NextToken") {
        None => 0,
        Some(t) => match t.strip_prefix("fin-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return invalid_input("NextToken is invalid", rate),
        },
    };
    let orders = shared.orders();
    let mut matching: Vec<&Order> = orders
        .by_id
        .values()
        .filter(|o| o.status == Status::Shipped || o.status == Status::PartiallyShipped)
        .filter(|o| after.is_none_or(|a| o.last_updated >= a) && before.is_none_or(|b| o.last_updated < b))
        .filter(|o| filter(o))
        .collect();
    matching.sort_by_key(|o| (o.last_updated, o.id.clone()));
    let events: Vec<Value> = matching.iter().skip(offset).take(size).map(|o| shipment_event(o)).collect();
    let mut payload =
        json!({ "FinancialEvents": { "ShipmentEventList": events, "RefundEventList": [], "ServiceFeeEventList": [] } });
    if offset + size < matching.len() {
        payload["NextToken"] = json!(format!("fin-{}", offset + size));
    }
    json_response(StatusCode::OK, &json!({ "payload": payload }), rate)
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let rate = match shared.gate(API, "listFinancialEvents", &headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    page(&shared, &Query::parse(raw.as_deref()), |_| true, rate)
}

pub(crate) async fn by_order(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = match shared.gate(API, "listFinancialEventsByOrderId", &headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    page(&shared, &Query::parse(raw.as_deref()), |o| o.id == id, rate)
}

pub(crate) async fn by_group(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = match shared.gate(API, "listFinancialEventsByGroupId", &headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    if group != OPEN_GROUP {
        return super::http::not_found(format!("Financial event group {group} was not found"), rate);
    }
    page(&shared, &Query::parse(raw.as_deref()), |_| true, rate)
}
