//! Finances v0: financial events (a ShipmentEvent per shipped order, with item charges and
//! fees; a RefundEvent per refunded order; ServiceFeeEvents for account-level fees) listed
//! by posted date, by order and by event group.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use super::Shared;
use super::http::{Query, gate, invalid_input, json_response};
use super::state::{Order, ServiceFee, Status};

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

/// The commission of `principal` and, when it is refunded, the part Amazon keeps as a refund
/// administration fee: 20% of the commission, at most $5 per item.
pub fn refund_commission_parts(principal: Decimal) -> (Decimal, Decimal) {
    let commission = (principal * Decimal::new(15, 2)).round_dp(2);
    let admin_fee = (commission * Decimal::new(20, 2)).round_dp(2).min(Decimal::new(500, 2));
    (commission, admin_fee)
}

/// What comes back to the seller of a refunded item's commission.
fn refunded_commission(principal: Decimal) -> Decimal {
    let (commission, admin_fee) = refund_commission_parts(principal);
    commission - admin_fee
}

/// The RefundEvent of a fully refunded order: every charge reversed, the commission
/// refunded less the administration fee. Same schema as ShipmentEvent, with adjustment lists.
pub fn refund_event(order: &Order, posted: Timestamp) -> Value {
    let items: Vec<Value> = order
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let principal = item.unit_price * Decimal::from(item.quantity);
            let shipping = if index == 0 { order.shipping_price } else { Decimal::ZERO };
            json!({
                "SellerSKU": item.sku, "OrderAdjustmentItemId": format!("{}-R", item.item_id),
                "QuantityShipped": item.quantity,
                "ItemChargeAdjustmentList": [
                    { "ChargeType": "Principal", "ChargeAmount": currency(&order.currency, -principal) },
                    { "ChargeType": "Tax", "ChargeAmount": currency(&order.currency, -item.tax) },
                    { "ChargeType": "ShippingCharge", "ChargeAmount": currency(&order.currency, -shipping) },
                ],
                "ItemFeeAdjustmentList": [
                    { "FeeType": "Commission", "FeeAmount": currency(&order.currency, refunded_commission(principal)) },
                ],
            })
        })
        .collect();
    json!({
        "AmazonOrderId": order.id, "MarketplaceName": "Amazon.com",
        "PostedDate": posted.to_string(), "ShipmentItemAdjustmentList": items,
    })
}

/// A ServiceFeeEvent for an account-level fee.
pub fn service_fee_event(fee: &ServiceFee) -> Value {
    json!({
        "FeeReason": fee.reason,
        "FeeDescription": fee.reason,
        "FeeList": [{ "FeeType": fee.fee_type, "FeeAmount": currency(&fee.currency, -fee.amount) }],
    })
}

/// One financial event, for paging the three lists as one stream in posted-date order.
enum Event<'a> {
    Shipment(&'a Order),
    Refund(&'a Order, Timestamp),
    Fee(&'a ServiceFee),
}

/// One page of events; `account_level` includes fees not tied to an order (not for by-order).
fn page(
    shared: &Shared,
    query: &Query,
    filter: impl Fn(&Order) -> bool,
    account_level: bool,
    rate: Option<f64>,
) -> Response {
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
    let in_window = |t: Timestamp| after.is_none_or(|a| t >= a) && before.is_none_or(|b| t < b);
    let mut events: Vec<(Timestamp, String, Event)> = Vec::new();
    for o in orders.by_id.values().filter(|o| filter(o)) {
        if matches!(o.status, Status::Shipped | Status::PartiallyShipped) && in_window(o.last_updated) {
            events.push((o.last_updated, o.id.clone(), Event::Shipment(o)));
        }
        if let Some(&posted) = orders.refunds.get(&o.id)
            && in_window(posted)
        {
            events.push((posted, o.id.clone(), Event::Refund(o, posted)));
        }
    }
    if account_level {
        for fee in orders.service_fees.iter().filter(|f| in_window(f.posted)) {
            events.push((fee.posted, String::new(), Event::Fee(fee)));
        }
    }
    events.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let (mut shipments, mut refunds, mut fees) = (Vec::new(), Vec::new(), Vec::new());
    for (_, _, event) in events.iter().skip(offset).take(size) {
        match event {
            Event::Shipment(o) => shipments.push(shipment_event(o)),
            Event::Refund(o, posted) => refunds.push(refund_event(o, *posted)),
            Event::Fee(f) => fees.push(service_fee_event(f)),
        }
    }
    let mut payload = json!({
        "FinancialEvents": { "ShipmentEventList": shipments, "RefundEventList": refunds, "ServiceFeeEventList": fees }
    });
    if offset + size < events.len() {
        payload["NextToken"] = json!(format!("fin-{}", offset + size));
    }
    json_response(StatusCode::OK, &json!({ "payload": payload }), rate)
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let rate = gate!(shared, API, "listFinancialEvents", &headers);
    page(&shared, &Query::parse(raw.as_deref()), |_| true, true, rate)
}

pub(crate) async fn by_order(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = gate!(shared, API, "listFinancialEventsByOrderId", &headers);
    page(&shared, &Query::parse(raw.as_deref()), |o| o.id == id, false, rate)
}

pub(crate) async fn by_group(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = gate!(shared, API, "listFinancialEventsByGroupId", &headers);
    if group != OPEN_GROUP {
        return super::http::not_found(format!("Financial event group {group} was not found"), rate);
    }
    page(&shared, &Query::parse(raw.as_deref()), |_| true, true, rate)
}
