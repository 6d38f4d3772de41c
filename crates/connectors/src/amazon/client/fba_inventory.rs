//! FBA Inventory v1: `getInventorySummaries`, following `nextToken` to the end.

use ferry_model::{AmazonMarketplaceId, Timestamp};
use ferry_runtime::failure::Failure;

use super::{AmazonClient, HttpRequest, decode};
use crate::amazon::models::fba_inventory::{GetInventorySummariesResponse, InventorySummary};

pub const API: &str = "fbaInventory";

/// Filters of getInventorySummaries (granularity is the marketplace).
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryRequest {
    pub marketplace_id: AmazonMarketplaceId,
    pub details: bool,
    /// Only summaries changed since (Amazon ignores inbound changes here).
    pub start_date_time: Option<Timestamp>,
    /// At most 50.
    pub seller_skus: Vec<String>,
}

impl InventoryRequest {
    pub fn to_http(&self, next_token: Option<&str>) -> HttpRequest {
        HttpRequest::get("/fba/inventory/v1/summaries".into())
            .param("details", Some(self.details))
            .param("granularityType", Some("Marketplace"))
            .param("granularityId", Some(self.marketplace_id.as_str()))
            .param("startDateTime", self.start_date_time)
            .list("sellerSkus", &self.seller_skus)
            .param("nextToken", next_token)
            .list("marketplaceIds", &[self.marketplace_id.as_str()])
    }
}

impl AmazonClient {
    /// Every summary matching `request`. Amazon's nextToken lives 30 seconds, so pages are
    /// fetched back to back.
    pub async fn get_inventory_summaries(&self, request: &InventoryRequest) -> Result<Vec<InventorySummary>, Failure> {
        if request.seller_skus.len() > 50 {
            return Err(Failure::permanent_with_code("InvalidInput", "getInventorySummaries: at most 50 sellerSkus"));
        }
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let response = self.execute(API, "getInventorySummaries", &request.to_http(next.as_deref())).await?;
            let page: GetInventorySummariesResponse =
                decode("getInventorySummaries", "GetInventorySummariesResponse", &response)?;
            out.extend(page.payload.map(|p| p.inventory_summaries).unwrap_or_default());
            match page.pagination.and_then(|p| p.next_token).filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(out),
            }
        }
    }
}
