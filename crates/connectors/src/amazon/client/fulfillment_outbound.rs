//! Fulfillment Outbound 2020-07-01: preview, create (idempotent by
//! `sellerFulfillmentOrderId`), get, list (paginated), cancel, package tracking.

use ferry_model::{AmazonFulfillmentOrderId, Timestamp};
use ferry_runtime::failure::Failure;
use serde::de::DeserializeOwned;

use super::{AmazonClient, ApiResponse, HttpRequest, decode, encode_component};
use crate::amazon::models::fulfillment_outbound::{
    CreateFulfillmentOrderRequest, FulfillmentOrder, GetFulfillmentOrderResult, GetFulfillmentPreviewRequest,
    GetFulfillmentPreviewResult, ListAllFulfillmentOrdersResult, PackageTrackingDetails, Response,
};

pub const API: &str = "fulfillmentOutbound_2020-07-01";
const BASE: &str = "/fba/outbound/2020-07-01";

/// What a create came to, once a refusal was checked with [`AmazonClient::fulfillment_order_exists`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    /// An order with this id already existed (a retry after a lost response): nothing new.
    AlreadyExists,
}

fn payload<T: DeserializeOwned>(operation: &str, expected: &str, response: &ApiResponse) -> Result<T, Failure> {
    decode::<Response<T>>(operation, expected, response)?
        .payload
        .ok_or_else(|| Failure::permanent_with_code("InvalidResponse", format!("{operation}: response has no payload")))
}

fn json_request(
    method: &'static str,
    path: String,
    body: &impl serde::Serialize,
    operation: &str,
) -> Result<HttpRequest, Failure> {
    let body = serde_json::to_value(body)
        .map_err(|e| Failure::permanent(format!("{operation}: cannot encode the request: {e}")))?;
    Ok(HttpRequest { method, path, query: Vec::new(), body: Some(body) })
}

impl AmazonClient {
    pub async fn get_fulfillment_preview(
        &self,
        request: &GetFulfillmentPreviewRequest,
    ) -> Result<GetFulfillmentPreviewResult, Failure> {
        let http = json_request("POST", format!("{BASE}/fulfillmentOrders/preview"), request, "getFulfillmentPreview")?;
        let response = self.execute(API, "getFulfillmentPreview", &http).await?;
        payload("getFulfillmentPreview", "GetFulfillmentPreviewResponse", &response)
    }

    /// Creates the order: one request. Amazon refuses a second order with the same id, so a
    /// retry whose first response was lost comes back refused (permanent); the caller then asks
    /// [`AmazonClient::fulfillment_order_exists`] as a call of its own, through the rate limiter
    /// (getFulfillmentOrder has its own limit), before it takes the refusal as final.
    pub async fn create_fulfillment_order(&self, request: &CreateFulfillmentOrderRequest) -> Result<(), Failure> {
        let http = json_request("POST", format!("{BASE}/fulfillmentOrders"), request, "createFulfillmentOrder")?;
        self.execute(API, "createFulfillmentOrder", &http).await.map(|_| ())
    }

    /// Whether an order with this id exists (getFulfillmentOrder). Amazon's "not found"
    /// (NotFound, or InvalidInput naming the id) is `false`; anything else, a 429, a 5xx, a
    /// transport error or an unreadable answer, is returned as it is classified, so the caller
    /// retries (or reports it) instead of concluding anything.
    pub async fn fulfillment_order_exists(&self, id: &AmazonFulfillmentOrderId) -> Result<bool, Failure> {
        match self.get_fulfillment_order(id).await {
            Ok(_) => Ok(true),
            Err(Failure::Permanent { code: Some(code), .. })
                if matches!(code.as_str(), "NotFound" | "InvalidInput" | "404" | "400") =>
            {
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }

    pub async fn get_fulfillment_order(
        &self,
        id: &AmazonFulfillmentOrderId,
    ) -> Result<GetFulfillmentOrderResult, Failure> {
        let http = HttpRequest::get(format!("{BASE}/fulfillmentOrders/{}", encode_component(id.as_str())));
        let response = self.execute(API, "getFulfillmentOrder", &http).await?;
        payload("getFulfillmentOrder", "GetFulfillmentOrderResponse", &response)
    }

    /// Every order updated at or after `since`, following `nextToken` to the end; each page
    /// within the runtime's limits ([`AmazonClient::within_limits`]: the fulfilment poll
    /// calls this outside any job).
    pub async fn list_all_fulfillment_orders(
        &self,
        since: Option<Timestamp>,
    ) -> Result<Vec<FulfillmentOrder>, Failure> {
        let mut orders = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let http = HttpRequest::get(format!("{BASE}/fulfillmentOrders"))
                .param("queryStartDate", since)
                .param("nextToken", next.as_deref());
            let response = self
                .within_limits(API, "listAllFulfillmentOrders", self.execute(API, "listAllFulfillmentOrders", &http))
                .await?;
            let page: ListAllFulfillmentOrdersResult =
                payload("listAllFulfillmentOrders", "ListAllFulfillmentOrdersResponse", &response)?;
            orders.extend(page.fulfillment_orders);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(orders),
            }
        }
    }

    pub async fn cancel_fulfillment_order(&self, id: &AmazonFulfillmentOrderId) -> Result<(), Failure> {
        let http = HttpRequest {
            method: "PUT",
            path: format!("{BASE}/fulfillmentOrders/{}/cancel", encode_component(id.as_str())),
            query: Vec::new(),
            body: None,
        };
        self.execute(API, "cancelFulfillmentOrder", &http).await.map(|_| ())
    }

    pub async fn get_package_tracking_details(&self, package_number: i32) -> Result<PackageTrackingDetails, Failure> {
        let http = HttpRequest::get(format!("{BASE}/tracking")).param("packageNumber", Some(package_number));
        let response = self.execute(API, "getPackageTrackingDetails", &http).await?;
        payload("getPackageTrackingDetails", "GetPackageTrackingDetailsResponse", &response)
    }
}
