//! Feeds 2021-06-30: createFeedDocument, the upload to its pre-signed URL, createFeed,
//! getFeed, getFeedDocument (result download through the report-document path), and a
//! JSON_LISTINGS_FEED builder for bulk listing changes.

use ferry_runtime::failure::Failure;
use serde_json::{Value, json};

use super::{AmazonClient, HttpRequest, decode, encode_component};
use crate::amazon::models::feeds::{
    CreateFeedDocumentResponse, CreateFeedDocumentSpecification, CreateFeedResponse, CreateFeedSpecification, Feed,
    FeedDocument,
};
use crate::amazon::models::listings::PatchOperation;

pub const API: &str = "feeds_2021-06-30";
const BASE: &str = "/feeds/2021-06-30";
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

fn json_request(path: String, body: &impl serde::Serialize, operation: &str) -> Result<HttpRequest, Failure> {
    let body = serde_json::to_value(body).map_err(|e| Failure::permanent(format!("{operation}: {e}")))?;
    Ok(HttpRequest { method: "POST", path, query: Vec::new(), body: Some(body) })
}

/// Request of createFeedDocument.
pub fn create_feed_document_request(spec: &CreateFeedDocumentSpecification) -> Result<HttpRequest, Failure> {
    json_request(format!("{BASE}/documents"), spec, "createFeedDocument")
}

/// Request of createFeed.
pub fn create_feed_request(spec: &CreateFeedSpecification) -> Result<HttpRequest, Failure> {
    json_request(format!("{BASE}/feeds"), spec, "createFeed")
}

/// Request of getFeed.
pub fn get_feed_request(feed_id: &str) -> HttpRequest {
    HttpRequest::get(format!("{BASE}/feeds/{}", encode_component(feed_id)))
}

/// Request of getFeedDocument.
pub fn get_feed_document_request(document_id: &str) -> HttpRequest {
    HttpRequest::get(format!("{BASE}/documents/{}", encode_component(document_id)))
}

/// One PATCH message of a JSON_LISTINGS_FEED.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingsPatchMessage {
    pub sku: String,
    pub product_type: String,
    pub patches: Vec<PatchOperation>,
}

/// A JSON_LISTINGS_FEED (schema v2) of PATCH messages, numbered from 1.
pub fn listings_feed(seller_id: &str, messages: &[ListingsPatchMessage]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(n, m)| {
            json!({ "messageId": n + 1, "sku": m.sku, "operationType": "PATCH", "productType": m.product_type,
                    "patches": m.patches })
        })
        .collect();
    json!({ "header": { "sellerId": seller_id, "version": "2.0", "issueLocale": "en_US" }, "messages": messages })
}

impl AmazonClient {
    pub async fn create_feed_document(&self, content_type: &str) -> Result<CreateFeedDocumentResponse, Failure> {
        let http =
            create_feed_document_request(&CreateFeedDocumentSpecification { content_type: content_type.into() })?;
        let response = self.execute(API, "createFeedDocument", &http).await?;
        decode("createFeedDocument", "CreateFeedDocumentResponse", &response)
    }

    /// Uploads the content to the document's pre-signed URL (no SP-API token; the
    /// content type must be the one the document was created with).
    pub async fn upload_feed_document(
        &self,
        document: &CreateFeedDocumentResponse,
        content_type: &str,
        content: Vec<u8>,
    ) -> Result<(), Failure> {
        let response =
            self.http.put(&document.url).header("content-type", content_type).body(content).send().await.map_err(
                |e| {
                    Failure::transient(format!(
                        "feed document {}: upload failed: {}",
                        document.feed_document_id,
                        crate::http::describe(e)
                    ))
                },
            )?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let message = format!("feed document {}: upload answered {status}", document.feed_document_id);
        Err(ferry_runtime::failure::classify_http_status(status, None, message))
    }

    pub async fn create_feed(&self, spec: &CreateFeedSpecification) -> Result<String, Failure> {
        let response = self.execute(API, "createFeed", &create_feed_request(spec)?).await?;
        decode::<CreateFeedResponse>("createFeed", "CreateFeedResponse", &response).map(|r| r.feed_id)
    }

    pub async fn get_feed(&self, feed_id: &str) -> Result<Feed, Failure> {
        let response = self.execute(API, "getFeed", &get_feed_request(feed_id)).await?;
        decode("getFeed", "Feed", &response)
    }

    pub async fn get_feed_document(&self, document_id: &str) -> Result<FeedDocument, Failure> {
        let response = self.execute(API, "getFeedDocument", &get_feed_document_request(document_id)).await?;
        decode("getFeedDocument", "FeedDocument", &response)
    }

    /// Uploads a JSON_LISTINGS_FEED of `messages` and submits it; returns the feed id.
    pub async fn submit_listings_feed(
        &self,
        seller_id: &str,
        messages: &[ListingsPatchMessage],
    ) -> Result<String, Failure> {
        let document = self.create_feed_document(JSON_CONTENT_TYPE).await?;
        let content = serde_json::to_vec(&listings_feed(seller_id, messages))
            .map_err(|e| Failure::permanent(format!("JSON_LISTINGS_FEED: {e}")))?;
        self.upload_feed_document(&document, JSON_CONTENT_TYPE, content).await?;
        let marketplace = self.default_marketplace()?.as_str().to_owned();
        self.create_feed(&CreateFeedSpecification {
            feed_type: "JSON_LISTINGS_FEED".into(),
            marketplace_ids: vec![marketplace],
            input_feed_document_id: document.feed_document_id,
            feed_options: None,
        })
        .await
    }

    /// The processing report of a finished feed, as JSON.
    pub async fn feed_result(&self, feed: &Feed) -> Result<Value, Failure> {
        let id = feed.result_feed_document_id.as_deref().ok_or_else(|| {
            Failure::permanent(format!("feed {} ({}) has no result document", feed.feed_id, feed.processing_status))
        })?;
        let document = self.get_feed_document(id).await?;
        let mut bytes = Vec::new();
        self.download(&document.feed_document_id, &document.url, document.compression_algorithm.as_deref(), &mut bytes)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Failure::permanent(format!(
                "feed {} result is not JSON: line {} column {}",
                feed.feed_id,
                e.line(),
                e.column()
            ))
        })
    }
}
