//! Notifications the sandbox emits (ORDER_CHANGE, FULFILLMENT_ORDER_STATUS), in Amazon's
//! NotificationVersion 1.0 envelope, onto its SQS-compatible queue.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::state::Order;

pub const APPLICATION_ID: &str = "amzn1.sellerapps.app.ferry-sandbox";
pub const SUBSCRIPTION_ID: &str = "subscription-ferry-sandbox";

/// The envelope around a payload.
pub fn envelope(kind: &str, payload: Value, event_time: Timestamp) -> Value {
    let now = Timestamp::now().to_string();
    json!({
        "NotificationVersion": "1.0",
        "NotificationType": kind,
        "PayloadVersion": "1.0",
        "EventTime": event_time.to_string(),
        "Payload": payload,
        "NotificationMetadata": {
            "ApplicationId": APPLICATION_ID,
            "SubscriptionId": SUBSCRIPTION_ID,
            "PublishTime": now,
            "NotificationId": uuid::Uuid::new_v4().to_string(),
        }
    })
}

/// ORDER_CHANGE for a status change of `order`.
pub fn order_change(seller_id: &str, order: &Order, reason: &str) -> Value {
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|i| {
            json!({
                "OrderItemId": i.item_id, "SellerSKU": i.sku, "SupplySourceId": null, "Quantity": i.quantity,
                "QuantityShipped": i.quantity_shipped,
                "OrderItemStatus": if i.quantity_shipped >= i.quantity { "Shipped" } else { "Unshipped" },
            })
        })
        .collect();
    let shipped: u32 = order.items.iter().map(|i| i.quantity_shipped).sum();
    let ordered: u32 = order.items.iter().map(|i| i.quantity).sum();
    let payload = json!({ "OrderChangeNotification": {
        "NotificationLevel": "OrderLevel",
        "SellerId": seller_id,
        "AmazonOrderId": order.id,
        "OrderChangeType": "OrderStatusChange",
        "OrderChangeTrigger": { "TimeOfOrderChange": order.last_updated.to_string(), "ChangeReason": reason },
        "Summary": {
            "MarketplaceId": order.marketplace_id,
            "OrderStatus": order.status.v0(),
            "PurchaseDate": order.created.to_string(),
            "DestinationPostalCode": if order.status.shares_address() { Value::from(order.address.postal_code.clone()) } else { Value::Null },
            "FulfillmentType": if order.fulfilled_by_amazon { "AFN" } else { "MFN" },
            "OrderType": "StandardOrder",
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": ordered.saturating_sub(shipped),
            "OrderItems": items,
        }
    }});
    envelope("ORDER_CHANGE", payload, order.last_updated)
}
