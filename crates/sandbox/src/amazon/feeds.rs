//! Feeds 2021-06-30: feed documents uploaded to a pre-signed-style URL, feeds that are
//! processed over (sped-up) time, JSON_LISTINGS_FEED applied to the listings with a
//! processing report (schema v2) as result document, and FEED_PROCESSING_FINISHED.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::Shared;
use super::http::{gate, invalid_input, json_response, not_found};
use super::notify;

const API: &str = "feeds_2021-06-30";
/// Seconds at Amazon's pace a feed is queued, then processed.
const QUEUED_FOR: f64 = 30.0;
const DONE_AFTER: f64 = 120.0;

#[derive(Debug, Clone)]
pub struct Feed {
    pub id: String,
    pub feed_type: String,
    pub marketplace_ids: Vec<String>,
    pub input_document: String,
    pub created: Timestamp,
    pub created_at: Instant,
    pub status: &'static str,
    pub result_document: Option<String>,
}

#[derive(Debug, Default)]
pub struct Feeds {
    pub feeds: BTreeMap<String, Feed>,
    /// Uploaded (input) documents: content, once uploaded.
    pub uploads: BTreeMap<String, Option<Vec<u8>>>,
    next_id: u64,
}

impl Feed {
    fn render(&self) -> Value {
        let mut v = json!({
            "feedId": self.id, "feedType": self.feed_type, "marketplaceIds": self.marketplace_ids,
            "createdTime": self.created.to_string(), "processingStatus": self.status,
        });
        if let Some(doc) = &self.result_document {
            v["resultFeedDocumentId"] = json!(doc);
            v["processingEndTime"] = json!(Timestamp::now().to_string());
        }
        v
    }
}

/// Applies a JSON_LISTINGS_FEED to the listings; returns the processing report.
fn apply_listings_feed(shared: &Shared, feed_id: &str, content: &[u8]) -> Value {
    let mut issues = Vec::new();
    let (mut processed, mut accepted, mut invalid) = (0, 0, 0);
    let feed: Value = serde_json::from_slice(content).unwrap_or(Value::Null);
    let messages = feed.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    if feed.get("header").is_none() || messages.is_empty() {
        issues.push(json!({ "code": "100001", "severity": "ERROR", "message": "The feed is not a JSON_LISTINGS_FEED: it needs a header and messages." }));
    }
    let mut listings = super::lock(&shared.listings);
    for message in &messages {
        processed += 1;
        let id = message.get("messageId").and_then(Value::as_u64).unwrap_or(0);
        let sku = message.get("sku").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut fail = |code: &str, text: String| {
            issues.push(json!({ "messageId": id.max(1), "sku": if sku.is_empty() { "?".to_owned() } else { sku.clone() }, "code": code, "severity": "ERROR", "message": text }));
        };
        match message.get("operationType").and_then(Value::as_str) {
            Some("PATCH" | "PARTIAL_UPDATE") => {
                let Some(listing) = listings.by_sku.get_mut(&sku) else {
                    fail("4000001", format!("The SKU {sku} does not exist."));
                    invalid += 1;
                    continue;
                };
                let patches = message.get("patches").and_then(Value::as_array).cloned().unwrap_or_default();
                let mut changed = listing.attributes.clone();
                let mut ok = true;
                for p in &patches {
                    match (
                        p.get("op").and_then(Value::as_str),
                        p.get("path").and_then(Value::as_str).and_then(|p| p.strip_prefix("/attributes/")),
                        p.get("value"),
                    ) {
                        (Some("delete"), Some(name), _) => {
                            changed.remove(name);
                        }
                        (Some(_), Some(name), Some(value @ Value::Array(_))) => {
                            changed.insert(name.to_owned(), value.clone());
                        }
                        _ => ok = false,
                    }
                }
                if ok {
                    listing.attributes = changed;
                    listing.updated = Timestamp::now();
                    accepted += 1;
                } else {
                    fail("90000", "A patch needs op, a path /attributes/<name> and an array value.".into());
                    invalid += 1;
                }
            }
            Some("UPDATE") => {
                let attributes: Map<String, Value> =
                    message.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
                if !attributes.contains_key("item_name") {
                    fail("90220", "'item_name' is required but not supplied.".into());
                    invalid += 1;
                    continue;
                }
                let now = Timestamp::now();
                let product_type = message.get("productType").and_then(Value::as_str).unwrap_or("PRODUCT").to_owned();
                listings.by_sku.insert(
                    sku.clone(),
                    super::listings::Listing { product_type, attributes, created: now, updated: now },
                );
                accepted += 1;
            }
            Some("DELETE") => {
                listings.by_sku.remove(&sku);
                accepted += 1;
            }
            other => {
                fail("100002", format!("operationType {other:?} is not supported."));
                invalid += 1;
            }
        }
    }
    json!({
        "header": { "sellerId": shared.config.seller_id, "version": "2.0", "feedId": feed_id },
        "issues": issues,
        "summary": { "errors": issues.len(), "warnings": 0, "messagesProcessed": processed, "messagesAccepted": accepted, "messagesInvalid": invalid },
    })
}

impl Shared {
    pub fn feeds(&self) -> std::sync::MutexGuard<'_, Feeds> {
        super::lock(&self.feeds)
    }

    pub fn advance_feeds(&self) {
        let speedup = self.limiter.speedup();
        let due: Vec<Feed> = {
            let mut feeds = self.feeds();
            let mut due = Vec::new();
            for feed in feeds.feeds.values_mut() {
                let age = feed.created_at.elapsed().as_secs_f64() * speedup;
                match feed.status {
                    "IN_QUEUE" if age >= QUEUED_FOR => feed.status = "IN_PROGRESS",
                    "IN_PROGRESS" if age >= DONE_AFTER => due.push(feed.clone()),
                    _ => {}
                }
            }
            due
        };
        for feed in due {
            let content = self.feeds().uploads.get(&feed.input_document).cloned().flatten();
            let (status, report) = match (feed.feed_type.as_str(), content) {
                (_, None) => ("FATAL", None),
                ("JSON_LISTINGS_FEED", Some(content)) => ("DONE", Some(apply_listings_feed(self, &feed.id, &content))),
                // Other feed types are accepted and reported as processed without effect.
                (_, Some(_)) => (
                    "DONE",
                    Some(json!({ "header": { "sellerId": self.config.seller_id, "version": "2.0", "feedId": feed.id },
                    "issues": [], "summary": { "errors": 0, "warnings": 0, "messagesProcessed": 0, "messagesAccepted": 0, "messagesInvalid": 0 } })),
                ),
            };
            let document = report.map(|r| self.reports().add_document(r.to_string().as_bytes()));
            let notification = {
                let mut feeds = self.feeds();
                let Some(stored) = feeds.feeds.get_mut(&feed.id) else { continue };
                stored.status = status;
                stored.result_document = document;
                finished_notification(&self.config.seller_id, stored)
            };
            self.publish(notification);
        }
    }
}

fn finished_notification(seller_id: &str, feed: &Feed) -> Value {
    let mut payload = json!({
        "sellerId": seller_id, "accountId": format!("amzn1.merchant.o.{seller_id}"), "feedId": feed.id,
        "feedType": feed.feed_type, "processingStatus": feed.status,
    });
    if let Some(doc) = &feed.result_document {
        payload["resultFeedDocumentId"] = json!(doc);
    }
    let now = Timestamp::now().to_string();
    json!({
        "notificationVersion": "2020-09-04", "notificationType": "FEED_PROCESSING_FINISHED", "payloadVersion": "2020-09-04",
        "eventTime": now, "payload": { "feedProcessingFinishedNotification": payload },
        "notificationMetadata": { "applicationId": notify::APPLICATION_ID, "subscriptionId": notify::SUBSCRIPTION_ID,
            "publishTime": now, "notificationId": uuid::Uuid::new_v4().to_string() },
    })
}

pub(crate) async fn create_document(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let rate = gate!(shared, API, "createFeedDocument", &headers);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if body.get("contentType").and_then(Value::as_str).is_none_or(str::is_empty) {
        return invalid_input("contentType is required", rate);
    }
    let id = format!("amzn1.tortuga.4.na.{}", uuid::Uuid::new_v4());
    shared.feeds().uploads.insert(id.clone(), None);
    let url = format!("{}/uploads/{id}", shared.base_url());
    json_response(StatusCode::CREATED, &json!({ "feedDocumentId": id, "url": url }), rate)
}

/// The pre-signed-style upload URL (PUT the content; no SP-API token).
pub(crate) async fn upload(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let mut feeds = shared.feeds();
    let status = match feeds.uploads.get_mut(&id) {
        Some(slot) => {
            *slot = Some(body.to_vec());
            StatusCode::OK
        }
        None => StatusCode::FORBIDDEN,
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

pub(crate) async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let rate = gate!(shared, API, "createFeed", &headers);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return invalid_input(format!("request body is not valid JSON: {e}"), rate),
    };
    let (Some(feed_type), Some(document)) = (
        body.get("feedType").and_then(Value::as_str).filter(|s| !s.is_empty()),
        body.get("inputFeedDocumentId").and_then(Value::as_str),
    ) else {
        return invalid_input("feedType and inputFeedDocumentId are required", rate);
    };
    let marketplaces: Vec<String> = body
        .get("marketplaceIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if marketplaces.is_empty() {
        return invalid_input("marketplaceIds is required", rate);
    }
    let mut feeds = shared.feeds();
    if !feeds.uploads.contains_key(document) {
        return invalid_input(format!("inputFeedDocumentId {document} does not exist"), rate);
    }
    feeds.next_id += 1;
    let id = (60_000_000_000 + feeds.next_id).to_string();
    feeds.feeds.insert(
        id.clone(),
        Feed {
            id: id.clone(),
            feed_type: feed_type.into(),
            marketplace_ids: marketplaces,
            input_document: document.into(),
            created: Timestamp::now(),
            created_at: Instant::now(),
            status: "IN_QUEUE",
            result_document: None,
        },
    );
    json_response(StatusCode::ACCEPTED, &json!({ "feedId": id }), rate)
}

pub(crate) async fn get(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let rate = gate!(shared, API, "getFeed", &headers);
    shared.advance_feeds();
    match shared.feeds().feeds.get(&id) {
        Some(feed) => json_response(StatusCode::OK, &feed.render(), rate),
        None => not_found(format!("Feed {id} was not found"), rate),
    }
}

pub(crate) async fn document(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = gate!(shared, API, "getFeedDocument", &headers);
    super::reports::document_reply(&shared, &id, "Feed document", "feedDocumentId", rate)
}
