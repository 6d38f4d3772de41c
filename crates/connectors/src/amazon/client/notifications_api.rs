//! Notifications v1: destinations (grantless, `sellingpartnerapi::notifications`) and
//! subscriptions (on the seller's behalf).

use ferry_runtime::failure::Failure;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{AmazonClient, ApiResponse, HttpRequest, decode, encode_component};
use crate::amazon::auth::Grant;
use crate::amazon::models::notifications_api::{Destination, Response, Subscription};

pub const API: &str = "notifications";
pub const SCOPE: &str = "sellingpartnerapi::notifications";

fn grantless() -> Grant {
    Grant::Grantless { scope: SCOPE.into() }
}

fn payload<T: DeserializeOwned>(operation: &str, response: &ApiResponse) -> Result<T, Failure> {
    decode::<Response<T>>(operation, operation, response)?
        .payload
        .ok_or_else(|| Failure::permanent_with_code("InvalidResponse", format!("{operation}: response has no payload")))
}

fn post(path: String, body: Value) -> HttpRequest {
    HttpRequest { method: "POST", path, query: Vec::new(), body: Some(body) }
}

/// Request of createDestination (`body` is a CreateDestinationRequest).
pub fn create_destination_request(body: Value) -> HttpRequest {
    post("/notifications/v1/destinations".into(), body)
}

/// Request of createSubscription (`body` is a CreateSubscriptionRequest).
pub fn create_subscription_request(notification_type: &str, body: Value) -> HttpRequest {
    post(format!("/notifications/v1/subscriptions/{}", encode_component(notification_type)), body)
}

/// Request of getSubscription.
pub fn get_subscription_request(notification_type: &str) -> HttpRequest {
    HttpRequest::get(format!("/notifications/v1/subscriptions/{}", encode_component(notification_type)))
}

impl AmazonClient {
    /// An SQS queue (by ARN) as destination.
    pub async fn create_sqs_destination(&self, name: &str, queue_arn: &str) -> Result<Destination, Failure> {
        let body = json!({ "name": name, "resourceSpecification": { "sqs": { "arn": queue_arn } } });
        let response =
            self.execute_with(API, "createDestination", &create_destination_request(body), &grantless()).await?;
        payload("createDestination", &response)
    }

    /// An EventBridge partner event source in the seller's AWS account as destination.
    pub async fn create_eventbridge_destination(
        &self,
        name: &str,
        region: &str,
        account_id: &str,
    ) -> Result<Destination, Failure> {
        let body = json!({ "name": name, "resourceSpecification": { "eventBridge": { "region": region, "accountId": account_id } } });
        let response =
            self.execute_with(API, "createDestination", &create_destination_request(body), &grantless()).await?;
        payload("createDestination", &response)
    }

    pub async fn get_destinations(&self) -> Result<Vec<Destination>, Failure> {
        let http = HttpRequest::get("/notifications/v1/destinations".into());
        let response = self.execute_with(API, "getDestinations", &http, &grantless()).await?;
        payload("getDestinations", &response)
    }

    /// Subscribes `notification_type` (e.g. ORDER_CHANGE) to a destination.
    pub async fn create_subscription(
        &self,
        notification_type: &str,
        destination_id: &str,
        payload_version: &str,
    ) -> Result<Subscription, Failure> {
        let body = json!({ "payloadVersion": payload_version, "destinationId": destination_id });
        let response =
            self.execute(API, "createSubscription", &create_subscription_request(notification_type, body)).await?;
        payload("createSubscription", &response)
    }

    /// The subscription of `notification_type`, or `None` when there is none.
    pub async fn get_subscription(&self, notification_type: &str) -> Result<Option<Subscription>, Failure> {
        match self.execute(API, "getSubscription", &get_subscription_request(notification_type)).await {
            Ok(response) => payload("getSubscription", &response).map(Some),
            Err(Failure::Permanent { code: Some(code), .. }) if code == "NotFound" || code == "404" => Ok(None),
            Err(other) => Err(other),
        }
    }
}
