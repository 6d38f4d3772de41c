//! Listings Items 2021-08-01: get, put (full replace) and patch (JSON-patch-like on
//! attributes) of the seller's listings, with VALIDATION_PREVIEW mode. Every catalogue SKU
//! starts listed; a patch of `fulfillment_availability` changes the offered quantity and
//! of `purchasable_offer` the price.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::Shared;
use super::http::{Query, gate, invalid_input, json_response, not_found};
use super::seed;

const API: &str = "listingsItems_2021-08-01";

#[derive(Debug, Clone)]
pub struct Listing {
    pub product_type: String,
    pub attributes: Map<String, Value>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl Listing {
    /// The quantity offered (`fulfillment_availability[0].quantity`).
    pub fn quantity(&self) -> Option<i64> {
        self.attributes.get("fulfillment_availability")?.get(0)?.get("quantity")?.as_i64()
    }
}

/// The seller's listings by SKU.
#[derive(Debug)]
pub struct Listings {
    pub by_sku: BTreeMap<String, Listing>,
}

impl Listings {
    pub fn seeded(marketplace: &str) -> Self {
        let now = Timestamp::now();
        let by_sku = (0..seed::CATALOG_SIZE)
            .map(|n| {
                let mut attributes = Map::new();
                attributes.insert("item_name".into(), json!([{ "value": format!("Ferry sample product {}", n + 1), "marketplace_id": marketplace }]));
                attributes.insert("fulfillment_availability".into(), json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": 25 }]));
                attributes.insert(
                    "purchasable_offer".into(),
                    json!([{ "marketplace_id": marketplace, "currency": "USD", "our_price": [{ "schedule": [{ "value_with_tax": 19.99 }] }] }]),
                );
                (seed::catalog_sku(n), Listing { product_type: "PRODUCT".into(), attributes, created: now, updated: now })
            })
            .collect();
        Listings { by_sku }
    }
}

fn render(sku: &str, listing: &Listing, marketplace: &str, included: &[String]) -> Value {
    let want = |name: &str| included.is_empty() && name == "summaries" || included.iter().any(|i| i == name);
    let mut item = json!({ "sku": sku });
    if want("summaries") {
        let n = sku.strip_prefix("FERRY-SKU-").and_then(|n| n.parse::<usize>().ok()).unwrap_or(1).saturating_sub(1);
        item["summaries"] = json!([{
            "marketplaceId": marketplace, "asin": seed::catalog_asin(n), "productType": listing.product_type,
            "conditionType": "new_new", "status": ["BUYABLE", "DISCOVERABLE"],
            "itemName": listing.attributes.get("item_name").and_then(|v| v.get(0)).and_then(|v| v.get("value")).cloned().unwrap_or(json!(sku)),
            "createdDate": listing.created.to_string(), "lastUpdatedDate": listing.updated.to_string(),
        }]);
    }
    if want("attributes") {
        item["attributes"] = Value::Object(listing.attributes.clone());
    }
    if want("issues") {
        item["issues"] = json!([]);
    }
    if want("fulfillmentAvailability") {
        item["fulfillmentAvailability"] =
            json!([{ "fulfillmentChannelCode": "DEFAULT", "quantity": listing.quantity().unwrap_or(0) }]);
    }
    item
}

/// The request's marketplace, or the (boxed: it is large) error response.
fn check_seller(shared: &Shared, seller: &str, query: &Query, rate: Option<f64>) -> Result<String, Box<Response>> {
    if seller != shared.config.seller_id {
        return Err(Box::new(super::http::error(
            StatusCode::FORBIDDEN,
            "Unauthorized",
            "Access to requested resource is denied.",
            None,
        )));
    }
    match query.list("marketplaceIds").first() {
        Some(m) => Ok(m.clone()),
        None => Err(Box::new(invalid_input("marketplaceIds is required", rate))),
    }
}

pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path((seller, sku)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let rate = gate!(shared, API, "getListingsItem", &headers);
    let query = Query::parse(raw.as_deref());
    let marketplace = match check_seller(&shared, &seller, &query, rate) {
        Ok(m) => m,
        Err(response) => return *response,
    };
    let listings = super::lock(&shared.listings);
    match listings.by_sku.get(&sku) {
        Some(listing) => {
            json_response(StatusCode::OK, &render(&sku, listing, &marketplace, &query.list("includedData")), rate)
        }
        None => not_found(format!("SKU {sku} is not listed for seller {seller}"), rate),
    }
}

fn submission(sku: &str, status: &str, issues: Vec<Value>) -> Value {
    json!({ "sku": sku, "status": status, "submissionId": uuid::Uuid::new_v4().simple().to_string(), "issues": issues })
}

fn issue(code: &str, message: String, attribute: Option<&str>) -> Value {
    let mut issue =
        json!({ "code": code, "message": message, "severity": "ERROR", "categories": ["INVALID_ATTRIBUTE"] });
    if let Some(attribute) = attribute {
        issue["attributeNames"] = json!([attribute]);
    }
    issue
}

pub(crate) async fn put(
    State(shared): State<Arc<Shared>>,
    Path((seller, sku)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let rate = gate!(shared, API, "putListingsItem", &headers);
    let query = Query::parse(raw.as_deref());
    if let Err(response) = check_seller(&shared, &seller, &query, rate) {
        return *response;
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let (Some(product_type), Some(attributes)) =
        (body.get("productType").and_then(Value::as_str), body.get("attributes").and_then(Value::as_object))
    else {
        return invalid_input("productType and attributes are required", rate);
    };
    if !attributes.contains_key("item_name") {
        let issues = vec![issue("90220", "'item_name' is required but not supplied.".into(), Some("item_name"))];
        return json_response(StatusCode::OK, &submission(&sku, "INVALID", issues), rate);
    }
    if query.get("mode") == Some("VALIDATION_PREVIEW") {
        return json_response(StatusCode::OK, &submission(&sku, "VALID", vec![]), rate);
    }
    let now = Timestamp::now();
    let mut listings = super::lock(&shared.listings);
    let created = listings.by_sku.get(&sku).map_or(now, |l| l.created);
    listings.by_sku.insert(
        sku.clone(),
        Listing { product_type: product_type.into(), attributes: attributes.clone(), created, updated: now },
    );
    json_response(StatusCode::OK, &submission(&sku, "ACCEPTED", vec![]), rate)
}

pub(crate) async fn patch(
    State(shared): State<Arc<Shared>>,
    Path((seller, sku)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let rate = gate!(shared, API, "patchListingsItem", &headers);
    let query = Query::parse(raw.as_deref());
    if let Err(response) = check_seller(&shared, &seller, &query, rate) {
        return *response;
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let (Some(_), Some(patches)) =
        (body.get("productType").and_then(Value::as_str), body.get("patches").and_then(Value::as_array))
    else {
        return invalid_input("productType and patches are required", rate);
    };
    let mut listings = super::lock(&shared.listings);
    let Some(listing) = listings.by_sku.get(&sku) else {
        let issues =
            vec![issue("4000001", format!("The SKU {sku} does not exist; use putListingsItem to create it."), None)];
        return json_response(StatusCode::OK, &submission(&sku, "INVALID", issues), rate);
    };
    let mut attributes = listing.attributes.clone();
    let mut issues = Vec::new();
    for (n, p) in patches.iter().enumerate() {
        let op = p.get("op").and_then(Value::as_str).unwrap_or("");
        let Some(name) = p
            .get("path")
            .and_then(Value::as_str)
            .and_then(|path| path.strip_prefix("/attributes/"))
            .filter(|n| !n.is_empty() && !n.contains('/'))
        else {
            issues.push(issue("90000", format!("patches[{n}].path must be /attributes/<name>"), None));
            continue;
        };
        match (op, p.get("value")) {
            ("add" | "replace" | "merge", Some(value @ Value::Array(_))) => {
                if name == "fulfillment_availability"
                    && value.get(0).and_then(|v| v.get("quantity")).is_some_and(|q| q.as_i64().is_none_or(|q| q < 0))
                {
                    issues.push(issue("90244", "quantity must be a whole number of at least 0".into(), Some(name)));
                    continue;
                }
                attributes.insert(name.to_owned(), value.clone());
            }
            ("delete", _) => {
                attributes.remove(name);
            }
            _ => issues.push(issue("90000", format!("patches[{n}]: op {op:?} needs an array value"), Some(name))),
        }
    }
    if !issues.is_empty() {
        return json_response(StatusCode::OK, &submission(&sku, "INVALID", issues), rate);
    }
    if query.get("mode") == Some("VALIDATION_PREVIEW") {
        return json_response(StatusCode::OK, &submission(&sku, "VALID", vec![]), rate);
    }
    if let Some(listing) = listings.by_sku.get_mut(&sku) {
        listing.attributes = attributes;
        listing.updated = Timestamp::now();
    }
    json_response(StatusCode::OK, &submission(&sku, "ACCEPTED", vec![]), rate)
}
