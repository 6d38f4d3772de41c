//! Fulfillment Outbound 2020-07-01 (multi-channel fulfilment).

use serde::{Deserialize, Serialize};

use super::{Extra, Pii};
use crate::amazon::errors::ApiError;

/// `{payload, errors}` wrapper of every response of this API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response<T> {
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub payload: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ApiError>>,
}

/// Money of this API: `value` is a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub currency_code: String,
    pub value: String,
}

/// A destination address: everything that locates the recipient is [`Pii`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub name: Pii<String>,
    pub address_line1: Pii<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district_or_county: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    pub postal_code: Pii<String>,
    pub country_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Pii<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFulfillmentOrderItem {
    pub seller_sku: String,
    pub seller_fulfillment_order_item_id: String,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_unit_declared_value: Option<Money>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of createFulfillmentOrder. `seller_fulfillment_order_id` is our idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFulfillmentOrderRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    pub seller_fulfillment_order_id: String,
    pub displayable_order_id: String,
    /// ISO 8601.
    pub displayable_order_date: String,
    pub displayable_order_comment: String,
    /// Standard, Expedited, Priority, ScheduledDelivery.
    pub shipping_speed_category: String,
    pub destination_address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_policy: Option<String>,
    pub items: Vec<CreateFulfillmentOrderItem>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrder {
    pub seller_fulfillment_order_id: String,
    pub displayable_order_id: String,
    pub fulfillment_order_status: String,
    pub status_updated_date: String,
    pub destination_address: Address,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderItem {
    pub seller_sku: String,
    pub seller_fulfillment_order_item_id: String,
    pub quantity: i64,
    pub cancelled_quantity: i64,
    pub unfulfillable_quantity: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentShipment {
    pub amazon_shipment_id: String,
    pub fulfillment_center_id: String,
    /// PENDING, SHIPPED, CANCELLED_BY_FULFILLER, CANCELLED_BY_SELLER.
    pub fulfillment_shipment_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_arrival_date: Option<String>,
    pub fulfillment_shipment_item: Vec<FulfillmentShipmentItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_shipment_package: Option<Vec<FulfillmentShipmentPackage>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentShipmentItem {
    pub seller_sku: String,
    pub seller_fulfillment_order_item_id: String,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_number: Option<i32>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentShipmentPackage {
    pub package_number: i32,
    pub carrier_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_arrival_date: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFulfillmentOrderResult {
    pub fulfillment_order: FulfillmentOrder,
    pub fulfillment_order_items: Vec<FulfillmentOrderItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_shipments: Option<Vec<FulfillmentShipment>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAllFulfillmentOrdersResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default)]
    pub fulfillment_orders: Vec<FulfillmentOrder>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageTrackingDetails {
    pub package_number: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_arrival_date: Option<String>,
    /// IN_TRANSIT, DELIVERED, RETURNED, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    #[serde(flatten)]
    pub extra: Pii<Extra>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFulfillmentPreviewRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    pub address: Address,
    pub items: Vec<CreateFulfillmentOrderItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_speed_categories: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentPreview {
    pub shipping_speed_category: String,
    pub is_fulfillable: bool,
    #[serde(rename = "isCODCapable")]
    pub is_cod_capable: bool,
    pub marketplace_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFulfillmentPreviewResult {
    #[serde(default)]
    pub fulfillment_previews: Vec<FulfillmentPreview>,
    #[serde(flatten)]
    pub extra: Extra,
}
