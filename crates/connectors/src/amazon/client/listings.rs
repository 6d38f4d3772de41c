//! Listings Items 2021-08-01: get, put and patch a listing; patches for the two things
//! flows change (offered quantity, price). A submission Amazon finds INVALID is a permanent
//! failure carrying its issues.

use ferry_model::{AmazonMarketplaceId, AmazonSellerSku, Money};
use ferry_runtime::failure::Failure;
use serde_json::json;

use super::{AmazonClient, HttpRequest, decode, encode_component};
use crate::amazon::models::listings::{
    Item, ListingsItemPatchRequest, ListingsItemPutRequest, ListingsItemSubmissionResponse, PatchOperation,
};

pub const API: &str = "listingsItems_2021-08-01";

/// Path of one listing.
pub fn listing_path(seller_id: &str, sku: &str) -> String {
    format!("/listings/2021-08-01/items/{}/{}", encode_component(seller_id), encode_component(sku))
}

/// Request of getListingsItem.
pub fn get_listings_item_request(seller_id: &str, sku: &str, marketplaces: &[&str], included: &[&str]) -> HttpRequest {
    HttpRequest::get(listing_path(seller_id, sku)).list("marketplaceIds", marketplaces).list("includedData", included)
}

/// Request of putListingsItem or patchListingsItem (`validate_only` = VALIDATION_PREVIEW).
pub fn write_request(
    method: &'static str,
    seller_id: &str,
    sku: &str,
    marketplaces: &[&str],
    validate_only: bool,
    body: serde_json::Value,
) -> HttpRequest {
    let mut request = HttpRequest { method, path: listing_path(seller_id, sku), query: Vec::new(), body: Some(body) }
        .list("marketplaceIds", marketplaces);
    if validate_only {
        request = request.param("mode", Some("VALIDATION_PREVIEW"));
    }
    request
}

/// Sets the quantity offered for merchant fulfilment.
pub fn quantity_patch(quantity: u32) -> PatchOperation {
    PatchOperation {
        op: "replace".into(),
        path: "/attributes/fulfillment_availability".into(),
        value: Some(vec![json!({ "fulfillment_channel_code": "DEFAULT", "quantity": quantity })]),
    }
}

/// Sets the price (`our_price`, tax as the marketplace applies it).
pub fn price_patch(marketplace: &AmazonMarketplaceId, price: &Money) -> PatchOperation {
    // Amazon's listings schema takes a JSON number. A price has at most 15 significant
    // digits, so the shortest text of the nearest double is the decimal's own text.
    let amount = price.round_to_minor_units().amount().to_string();
    let number: serde_json::Value = serde_json::from_str(&amount).unwrap_or(serde_json::Value::Null);
    PatchOperation {
        op: "replace".into(),
        path: "/attributes/purchasable_offer".into(),
        value: Some(vec![json!({
            "marketplace_id": marketplace.as_str(),
            "currency": price.currency().code(),
            "our_price": [{ "schedule": [{ "value_with_tax": number }] }],
        })]),
    }
}

fn submission(operation: &str, response: &super::ApiResponse) -> Result<ListingsItemSubmissionResponse, Failure> {
    let submission: ListingsItemSubmissionResponse = decode(operation, "ListingsItemSubmissionResponse", response)?;
    if submission.status == "INVALID" {
        let issues = submission.issues.clone().unwrap_or_default();
        let text = issues
            .iter()
            .map(|i| match &i.attribute_names {
                Some(names) => format!("{} ({}): {}", i.code, names.join(", "), i.message),
                None => format!("{}: {}", i.code, i.message),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let code = issues.first().map_or_else(|| "INVALID".to_owned(), |i| i.code.clone());
        return Err(Failure::permanent_with_code(code, format!("{operation} {}: INVALID: {text}", submission.sku)));
    }
    Ok(submission)
}

impl AmazonClient {
    pub async fn get_listings_item(
        &self,
        seller_id: &str,
        sku: &AmazonSellerSku,
        included: &[&str],
    ) -> Result<Item, Failure> {
        let marketplace = self.default_marketplace()?.as_str().to_owned();
        let http = get_listings_item_request(seller_id, sku.as_str(), &[&marketplace], included);
        let response = self.execute(API, "getListingsItem", &http).await?;
        decode("getListingsItem", "Item", &response)
    }

    pub async fn put_listings_item(
        &self,
        seller_id: &str,
        sku: &AmazonSellerSku,
        body: &ListingsItemPutRequest,
        validate_only: bool,
    ) -> Result<ListingsItemSubmissionResponse, Failure> {
        let marketplace = self.default_marketplace()?.as_str().to_owned();
        let body = serde_json::to_value(body).map_err(|e| Failure::permanent(format!("putListingsItem: {e}")))?;
        let http = write_request("PUT", seller_id, sku.as_str(), &[&marketplace], validate_only, body);
        let response = self.execute(API, "putListingsItem", &http).await?;
        submission("putListingsItem", &response)
    }

    pub async fn patch_listings_item(
        &self,
        seller_id: &str,
        sku: &AmazonSellerSku,
        body: &ListingsItemPatchRequest,
        validate_only: bool,
    ) -> Result<ListingsItemSubmissionResponse, Failure> {
        let marketplace = self.default_marketplace()?.as_str().to_owned();
        let body = serde_json::to_value(body).map_err(|e| Failure::permanent(format!("patchListingsItem: {e}")))?;
        let http = write_request("PATCH", seller_id, sku.as_str(), &[&marketplace], validate_only, body);
        let response = self.execute(API, "patchListingsItem", &http).await?;
        submission("patchListingsItem", &response)
    }
}
