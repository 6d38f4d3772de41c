//! Finances v0 (`listFinancialEvents`, by order, by group). Amounts are JSON numbers in this
//! API (`BigDecimal`); they are kept as [`serde_json::Number`] and read as decimals from
//! their shortest text form, never through arithmetic on floats.

use serde::{Deserialize, Serialize};

use super::Extra;
use crate::amazon::errors::ApiError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFinancialEventsResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<ListFinancialEventsPayload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ApiError>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFinancialEventsPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financial_events: Option<FinancialEvents>,
}

/// The event lists Ferry posts; every other list is kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FinancialEvents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_event_list: Option<Vec<ShipmentEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_event_list: Option<Vec<ShipmentEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_fee_event_list: Option<Vec<ServiceFeeEvent>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShipmentEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_item_list: Option<Vec<ShipmentItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_item_adjustment_list: Option<Vec<ShipmentItem>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShipmentItem {
    #[serde(rename = "SellerSKU", default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_adjustment_item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_shipped: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_charge_list: Option<Vec<ChargeComponent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_charge_adjustment_list: Option<Vec<ChargeComponent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_fee_list: Option<Vec<FeeComponent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_fee_adjustment_list: Option<Vec<FeeComponent>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChargeComponent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_amount: Option<Currency>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FeeComponent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_amount: Option<Currency>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Currency {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_amount: Option<serde_json::Number>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceFeeEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_list: Option<Vec<FeeComponent>>,
    #[serde(rename = "SellerSKU", default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
