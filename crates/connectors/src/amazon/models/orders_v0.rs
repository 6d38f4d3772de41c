//! Orders API v0: shipment confirmation, and the reads kept as a fallback for accounts not
//! yet on 2026-01-01 (the current model marks them deprecated).

use serde::{Deserialize, Serialize};

use super::{Extra, Pii};
use crate::amazon::errors::ApiError;

/// v0 `Money`: both fields optional in the model; `Amount` is a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    #[serde(rename = "CurrencyCode", default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(rename = "Amount", default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

/// `{payload, errors}` wrapper of every v0 response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response<T> {
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub payload: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ApiError>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrdersList {
    pub orders: Vec<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Order {
    pub amazon_order_id: String,
    pub purchase_date: String,
    pub last_update_date: String,
    pub order_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_total: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    /// Restricted: only with an RDT for data element `shippingAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    /// Restricted: only with an RDT for data element `buyerInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_info: Option<BuyerInfo>,
    #[serde(flatten)]
    pub extra: Pii<Extra>,
}

/// `BuyerInfo` of a v0 order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuyerInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<Pii<String>>,
    #[serde(flatten)]
    pub extra: Pii<Extra>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderItemsList {
    pub order_items: Vec<OrderItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub amazon_order_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderItem {
    #[serde(rename = "ASIN")]
    pub asin: String,
    #[serde(rename = "SellerSKU", default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    pub order_item_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub quantity_ordered: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_shipped: Option<u32>,
    /// Selling price × quantity ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_tax: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_tax: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_discount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_discount: Option<Money>,
    /// Holds BuyerInfo (restricted) among others.
    #[serde(flatten)]
    pub extra: Pii<Extra>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderAddress {
    pub amazon_order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(flatten)]
    pub extra: Pii<Extra>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Pii<String>>,
    #[serde(flatten)]
    pub extra: Pii<Extra>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderBuyerInfo {
    pub amazon_order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<Pii<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<Pii<String>>,
    #[serde(flatten)]
    pub extra: Pii<Extra>,
}

/// Body of confirmShipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmShipmentRequest {
    pub marketplace_id: String,
    pub package_detail: PackageDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_collection_method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageDetail {
    /// Positive number chosen by the seller.
    pub package_reference_id: String,
    pub carrier_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    pub tracking_number: String,
    /// ISO 8601.
    pub ship_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_supply_source_id: Option<String>,
    pub order_items: Vec<ConfirmShipmentOrderItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmShipmentOrderItem {
    pub order_item_id: String,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency_codes: Option<Vec<String>>,
}
