//! Orders API v0: confirmShipment, and the reads (getOrders, getOrder, getOrderItems,
//! getOrderAddress, getOrderBuyerInfo) as a fallback for accounts not on 2026-01-01.

use ferry_model::{AmazonMarketplaceId, Timestamp};
use ferry_runtime::failure::Failure;
use serde::de::DeserializeOwned;

use super::{AmazonClient, HttpRequest, decode, encode_component};
use crate::amazon::models::orders_v0::{
    ConfirmShipmentRequest, Order, OrderAddress, OrderBuyerInfo, OrderItem, OrderItemsList, OrdersList, Response,
};
use crate::amazon::rdt::{DataElement, RestrictedResource};

pub const API: &str = "ordersV0";

/// Filters of v0 getOrders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetOrdersRequest {
    pub marketplace_ids: Vec<AmazonMarketplaceId>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub last_updated_after: Option<Timestamp>,
    pub last_updated_before: Option<Timestamp>,
    pub order_statuses: Vec<String>,
    pub max_results_per_page: Option<u32>,
    pub next_token: Option<String>,
}

impl GetOrdersRequest {
    pub fn to_http(&self) -> HttpRequest {
        let ids: Vec<&str> = self.marketplace_ids.iter().map(|m| m.as_str()).collect();
        HttpRequest::get("/orders/v0/orders".into())
            .list("MarketplaceIds", &ids)
            .param("CreatedAfter", self.created_after)
            .param("CreatedBefore", self.created_before)
            .param("LastUpdatedAfter", self.last_updated_after)
            .param("LastUpdatedBefore", self.last_updated_before)
            .list("OrderStatuses", &self.order_statuses)
            .param("MaxResultsPerPage", self.max_results_per_page)
            .param("NextToken", self.next_token.as_deref())
    }
}

/// Path of a single-order v0 read: `/orders/v0/orders/{orderId}{suffix}`.
pub fn order_path(order_id: &str, suffix: &str) -> String {
    format!("/orders/v0/orders/{}{suffix}", encode_component(order_id))
}

/// Request of v0 getOrder.
pub fn get_order_request(order_id: &str) -> HttpRequest {
    HttpRequest::get(order_path(order_id, ""))
}

/// Request of one page of v0 getOrderItems.
pub fn get_order_items_request(order_id: &str, next_token: Option<&str>) -> HttpRequest {
    HttpRequest::get(order_path(order_id, "/orderItems")).param("NextToken", next_token)
}

/// Request of v0 getOrderAddress.
pub fn get_order_address_request(order_id: &str) -> HttpRequest {
    HttpRequest::get(order_path(order_id, "/address"))
}

/// Request of v0 getOrderBuyerInfo.
pub fn get_order_buyer_info_request(order_id: &str) -> HttpRequest {
    HttpRequest::get(order_path(order_id, "/buyerInfo"))
}

/// Request of confirmShipment.
pub fn confirm_shipment_request(order_id: &str, request: &ConfirmShipmentRequest) -> Result<HttpRequest, Failure> {
    let body = serde_json::to_value(request)
        .map_err(|e| Failure::permanent(format!("confirmShipment: cannot encode the request: {e}")))?;
    Ok(HttpRequest {
        method: "POST",
        path: order_path(order_id, "/shipmentConfirmation"),
        query: Vec::new(),
        body: Some(body),
    })
}

/// Request of updateShipmentStatus (`body` is an UpdateShipmentStatusRequest).
pub fn update_shipment_status_request(order_id: &str, body: serde_json::Value) -> HttpRequest {
    HttpRequest { method: "POST", path: order_path(order_id, "/shipment"), query: Vec::new(), body: Some(body) }
}

/// The payload of a v0 response, or a failure naming what is missing.
fn payload<T: DeserializeOwned>(operation: &str, expected: &str, response: &super::ApiResponse) -> Result<T, Failure> {
    decode::<Response<T>>(operation, expected, response)?
        .payload
        .ok_or_else(|| Failure::permanent_with_code("InvalidResponse", format!("{operation}: response has no payload")))
}

impl AmazonClient {
    /// One page of v0 getOrders.
    pub async fn get_orders_v0(&self, request: &GetOrdersRequest) -> Result<OrdersList, Failure> {
        let response = self.execute(API, "getOrders", &request.to_http()).await?;
        payload("getOrders", "GetOrdersResponse", &response)
    }

    /// Every order of v0 getOrders, following `NextToken` to the end.
    pub async fn get_orders_v0_all(&self, request: &GetOrdersRequest) -> Result<Vec<Order>, Failure> {
        let mut request = request.clone();
        let mut orders = Vec::new();
        loop {
            let page = self.get_orders_v0(&request).await?;
            orders.extend(page.orders);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) => request.next_token = Some(token),
                None => return Ok(orders),
            }
        }
    }

    /// v0 getOrder.
    pub async fn get_order_v0(&self, order_id: &str) -> Result<Order, Failure> {
        let response = self.execute(API, "getOrder", &get_order_request(order_id)).await?;
        payload("getOrder", "GetOrderResponse", &response)
    }

    /// All items of an order (follows `NextToken`).
    pub async fn get_order_items(&self, order_id: &str) -> Result<Vec<OrderItem>, Failure> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let request = get_order_items_request(order_id, next.as_deref());
            let response = self.execute(API, "getOrderItems", &request).await?;
            let page: OrderItemsList = payload("getOrderItems", "GetOrderItemsResponse", &response)?;
            items.extend(page.order_items);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(items),
            }
        }
    }

    /// v0 getOrderAddress (restricted: full address only with an RDT or the right role).
    pub async fn get_order_address(&self, order_id: &str) -> Result<OrderAddress, Failure> {
        let response = self.execute(API, "getOrderAddress", &get_order_address_request(order_id)).await?;
        payload("getOrderAddress", "GetOrderAddressResponse", &response)
    }

    /// v0 getOrderBuyerInfo.
    pub async fn get_order_buyer_info(&self, order_id: &str) -> Result<OrderBuyerInfo, Failure> {
        let response = self.execute(API, "getOrderBuyerInfo", &get_order_buyer_info_request(order_id)).await?;
        payload("getOrderBuyerInfo", "GetOrderBuyerInfoResponse", &response)
    }

    /// v0 getOrder with an RDT for exactly this order and `elements` (buyerInfo,
    /// shippingAddress): the order with those restricted fields.
    pub async fn get_order_v0_restricted(&self, order_id: &str, elements: &[DataElement]) -> Result<Order, Failure> {
        let request = get_order_request(order_id);
        let resources = [RestrictedResource::get(request.path.clone(), elements.to_vec())];
        let response = self.execute_restricted(API, "getOrder", &request, &resources).await?;
        payload("getOrder", "GetOrderResponse", &response)
    }

    /// getOrderAddress with an RDT for this order's address path: the full address.
    pub async fn get_order_address_restricted(&self, order_id: &str) -> Result<OrderAddress, Failure> {
        let request = get_order_address_request(order_id);
        let resources = [RestrictedResource::get(request.path.clone(), vec![])];
        let response = self.execute_restricted(API, "getOrderAddress", &request, &resources).await?;
        payload("getOrderAddress", "GetOrderAddressResponse", &response)
    }

    /// getOrderBuyerInfo with an RDT for this order's buyer-info path: name and email.
    pub async fn get_order_buyer_info_restricted(&self, order_id: &str) -> Result<OrderBuyerInfo, Failure> {
        let request = get_order_buyer_info_request(order_id);
        let resources = [RestrictedResource::get(request.path.clone(), vec![])];
        let response = self.execute_restricted(API, "getOrderBuyerInfo", &request, &resources).await?;
        payload("getOrderBuyerInfo", "GetOrderBuyerInfoResponse", &response)
    }

    /// updateShipmentStatus for store-pickup orders: `status` is ReadyForPickup, PickedUp or
    /// RefusedPickup; `items` limits it to some items (`orderItemId`, `quantity`).
    pub async fn update_shipment_status(
        &self,
        order_id: &str,
        marketplace_id: &ferry_model::AmazonMarketplaceId,
        status: &str,
        items: &[(String, u32)],
    ) -> Result<(), Failure> {
        let mut body = serde_json::json!({ "marketplaceId": marketplace_id.as_str(), "shipmentStatus": status });
        if !items.is_empty() {
            body["orderItems"] =
                items.iter().map(|(id, q)| serde_json::json!({ "orderItemId": id, "quantity": q })).collect();
        }
        self.execute(API, "updateShipmentStatus", &update_shipment_status_request(order_id, body)).await.map(|_| ())
    }

    /// Confirms an MFN shipment (204 on success).
    pub async fn confirm_shipment(&self, order_id: &str, request: &ConfirmShipmentRequest) -> Result<(), Failure> {
        let http = confirm_shipment_request(order_id, request)?;
        self.execute(API, "confirmShipment", &http).await.map(|_| ())
    }
}
