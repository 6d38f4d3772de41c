//! Orders API 2026-01-01: searchOrders (with its filters and `paginationToken`) and getOrder,
//! with `includedData` chosen per flow.

use ferry_model::{AmazonMarketplaceId, AmazonOrderId, Timestamp};
use ferry_runtime::failure::Failure;

use super::{AmazonClient, HttpRequest, decode, encode_component};
use crate::amazon::models::orders::{GetOrderResponse, Order, SearchOrdersResponse};

pub const API: &str = "orders_2026-01-01";

/// Datasets a response may include (`includedData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncludedData {
    Buyer,
    Recipient,
    Proceeds,
    Expense,
    Promotion,
    Cancellation,
    Fulfillment,
    Packages,
    Tax,
    Payment,
    FulfillmentOrders,
}

impl IncludedData {
    pub const ALL: [IncludedData; 11] = [
        IncludedData::Buyer,
        IncludedData::Recipient,
        IncludedData::Proceeds,
        IncludedData::Expense,
        IncludedData::Promotion,
        IncludedData::Cancellation,
        IncludedData::Fulfillment,
        IncludedData::Packages,
        IncludedData::Tax,
        IncludedData::Payment,
        IncludedData::FulfillmentOrders,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncludedData::Buyer => "BUYER",
            IncludedData::Recipient => "RECIPIENT",
            IncludedData::Proceeds => "PROCEEDS",
            IncludedData::Expense => "EXPENSE",
            IncludedData::Promotion => "PROMOTION",
            IncludedData::Cancellation => "CANCELLATION",
            IncludedData::Fulfillment => "FULFILLMENT",
            IncludedData::Packages => "PACKAGES",
            IncludedData::Tax => "TAX",
            IncludedData::Payment => "PAYMENT",
            IncludedData::FulfillmentOrders => "FULFILLMENT_ORDERS",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        IncludedData::ALL.into_iter().find(|d| d.as_str() == value)
    }

    /// What a flow that builds a canonical order needs: amounts and status always; buyer
    /// and delivery address only when the flow is allowed to hold PII.
    pub fn for_order_flow(buyer: bool, address: bool) -> Vec<IncludedData> {
        let mut data = vec![IncludedData::Proceeds, IncludedData::Fulfillment];
        if buyer {
            data.push(IncludedData::Buyer);
        }
        if address {
            data.push(IncludedData::Recipient);
        }
        data
    }
}

/// Filters of searchOrders. Exactly one of `created_after` / `last_updated_after` is required.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchOrdersRequest {
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub last_updated_after: Option<Timestamp>,
    pub last_updated_before: Option<Timestamp>,
    /// PENDING, UNSHIPPED, … (the model's `FulfillmentStatus`).
    pub fulfillment_statuses: Vec<String>,
    pub marketplace_ids: Vec<AmazonMarketplaceId>,
    /// MERCHANT and/or AMAZON.
    pub fulfilled_by: Vec<String>,
    /// 1–100 (Amazon's default 100).
    pub max_results_per_page: Option<u32>,
    pub pagination_token: Option<String>,
    pub included_data: Vec<IncludedData>,
}

impl SearchOrdersRequest {
    /// Checks what Amazon would refuse, before spending a request (searchOrders allows one
    /// call every three minutes by default).
    pub fn validate(&self) -> Result<(), Failure> {
        let invalid = |m: &str| Err(Failure::permanent_with_code("InvalidInput", format!("searchOrders: {m}")));
        match (self.created_after.is_some(), self.last_updated_after.is_some()) {
            (true, true) | (false, false) => {
                return invalid("exactly one of createdAfter and lastUpdatedAfter is required");
            }
            (true, false) if self.last_updated_before.is_some() => {
                return invalid("lastUpdatedBefore cannot be set with createdAfter");
            }
            (false, true) if self.created_before.is_some() => {
                return invalid("createdBefore cannot be set with lastUpdatedAfter");
            }
            _ => {}
        }
        if self.marketplace_ids.is_empty() {
            return invalid("marketplaceIds is required");
        }
        if let Some(n) = self.max_results_per_page
            && !(1..=100).contains(&n)
        {
            return invalid("maxResultsPerPage must be between 1 and 100");
        }
        Ok(())
    }

    pub fn to_http(&self) -> HttpRequest {
        let ids: Vec<&str> = self.marketplace_ids.iter().map(|m| m.as_str()).collect();
        let included: Vec<&str> = self.included_data.iter().map(|d| d.as_str()).collect();
        HttpRequest::get("/orders/2026-01-01/orders".into())
            .param("createdAfter", self.created_after)
            .param("createdBefore", self.created_before)
            .param("lastUpdatedAfter", self.last_updated_after)
            .param("lastUpdatedBefore", self.last_updated_before)
            .list("fulfillmentStatuses", &self.fulfillment_statuses)
            .list("marketplaceIds", &ids)
            .list("fulfilledBy", &self.fulfilled_by)
            .param("maxResultsPerPage", self.max_results_per_page)
            .param("paginationToken", self.pagination_token.as_deref())
            .list("includedData", &included)
    }
}

/// getOrder of 2026-01-01.
#[derive(Debug, Clone, PartialEq)]
pub struct GetOrderRequest {
    /// Kept as text: Amazon's examples and sandboxes use ids outside the 3-7-7 shape.
    pub order_id: String,
    pub included_data: Vec<IncludedData>,
}

impl GetOrderRequest {
    pub fn new(order_id: &AmazonOrderId, included_data: Vec<IncludedData>) -> Self {
        GetOrderRequest { order_id: order_id.as_str().to_owned(), included_data }
    }

    pub fn to_http(&self) -> HttpRequest {
        let included: Vec<&str> = self.included_data.iter().map(|d| d.as_str()).collect();
        HttpRequest::get(format!("/orders/2026-01-01/orders/{}", encode_component(&self.order_id)))
            .list("includedData", &included)
    }
}

/// Orders of a search, and where it stopped if it stopped early.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    pub orders: Vec<Order>,
    /// The `paginationToken` to resume with; `None` when the search reached the end.
    pub resume_token: Option<String>,
    pub pages: usize,
}

impl AmazonClient {
    /// One page of searchOrders.
    pub async fn search_orders(&self, request: &SearchOrdersRequest) -> Result<SearchOrdersResponse, Failure> {
        request.validate()?;
        let response = self.execute(API, "searchOrders", &request.to_http()).await?;
        decode("searchOrders", "SearchOrdersResponse", &response)
    }

    /// Follows `nextToken` to the end, or stops after `max_pages` and returns the token to
    /// resume from (a poller persists it as its cursor).
    pub async fn search_orders_all(
        &self,
        request: &SearchOrdersRequest,
        max_pages: Option<usize>,
    ) -> Result<SearchOutcome, Failure> {
        let mut request = request.clone();
        let mut outcome = SearchOutcome { orders: Vec::new(), resume_token: None, pages: 0 };
        loop {
            let page = self.search_orders(&request).await?;
            outcome.pages += 1;
            outcome.orders.extend(page.orders);
            let next = page.pagination.and_then(|p| p.next_token).filter(|t| !t.is_empty());
            match next {
                None => return Ok(outcome),
                Some(token) if max_pages.is_some_and(|max| outcome.pages >= max) => {
                    outcome.resume_token = Some(token);
                    return Ok(outcome);
                }
                Some(token) => request.pagination_token = Some(token),
            }
        }
    }

    /// getOrder of 2026-01-01.
    pub async fn get_order(&self, request: &GetOrderRequest) -> Result<Order, Failure> {
        let response = self.execute(API, "getOrder", &request.to_http()).await?;
        decode::<GetOrderResponse>("getOrder", "GetOrderResponse", &response).map(|r| r.order)
    }
}
