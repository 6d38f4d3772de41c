//! FBA Inventory v1 (`getInventorySummaries`).

use serde::{Deserialize, Serialize};

use super::Extra;
use crate::amazon::errors::ApiError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetInventorySummariesResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<GetInventorySummariesResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<super::orders::Pagination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ApiError>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetInventorySummariesResult {
    pub granularity: Extra,
    pub inventory_summaries: Vec<InventorySummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventorySummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fn_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_details: Option<InventoryDetails>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillable_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_working_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_shipped_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_receiving_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_quantity: Option<Total>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub researching_quantity: Option<Total>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfulfillable_quantity: Option<Total>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The breakdown objects all carry a `total…Quantity` plus details kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Total {
    #[serde(flatten)]
    pub fields: Extra,
}

impl Total {
    /// The `total…Quantity` field (zero when absent).
    pub fn total(&self) -> i64 {
        self.fields.iter().find(|(k, _)| k.starts_with("total")).and_then(|(_, v)| v.as_i64()).unwrap_or(0)
    }
}
