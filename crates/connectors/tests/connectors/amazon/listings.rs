//! Listings: quantity and price changes reach the listing; Amazon's INVALID submissions
//! become permanent failures carrying the issues.

use ferry_connectors::amazon::client::listings::{price_patch, quantity_patch};
use ferry_connectors::amazon::models::listings::{ListingsItemPatchRequest, ListingsItemPutRequest};
use ferry_model::{AmazonMarketplaceId, AmazonSellerSku, Money};
use ferry_runtime::failure::FailureKind;
use serde_json::json;

use super::sandbox_and_client;

#[tokio::test]
async fn quantity_and_price_patches_change_the_listing() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let seller = sandbox.config().seller_id.clone();
    let sku = AmazonSellerSku::new("FERRY-SKU-0005").unwrap();
    let item = client.get_listings_item(&seller, &sku, &["summaries", "fulfillmentAvailability"]).await.unwrap();
    assert_eq!(item.fulfillment_availability.unwrap()[0].quantity, Some(25));

    let marketplace = AmazonMarketplaceId::new("ATVPDKIKX0DER").unwrap();
    let patch = ListingsItemPatchRequest {
        product_type: "PRODUCT".into(),
        patches: vec![quantity_patch(7), price_patch(&marketplace, &Money::parse("24.50", "USD").unwrap())],
    };
    // A validation preview changes nothing.
    assert_eq!(client.patch_listings_item(&seller, &sku, &patch, true).await.unwrap().status, "VALID");
    assert_eq!(sandbox.with_listings(|l| l.by_sku["FERRY-SKU-0005"].quantity()), Some(25));
    assert_eq!(client.patch_listings_item(&seller, &sku, &patch, false).await.unwrap().status, "ACCEPTED");
    let item = client.get_listings_item(&seller, &sku, &["attributes", "fulfillmentAvailability"]).await.unwrap();
    assert_eq!(item.fulfillment_availability.unwrap()[0].quantity, Some(7));
    let price = &item.attributes.unwrap()["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"];
    assert_eq!(price.to_string(), "24.5");

    // A negative quantity is refused with Amazon's issue code and the attribute's name.
    let bad = ListingsItemPatchRequest {
        product_type: "PRODUCT".into(),
        patches: vec![ferry_connectors::amazon::models::listings::PatchOperation {
            op: "replace".into(),
            path: "/attributes/fulfillment_availability".into(),
            value: Some(vec![json!({ "fulfillment_channel_code": "DEFAULT", "quantity": -1 })]),
        }],
    };
    let failure = client.patch_listings_item(&seller, &sku, &bad, false).await.unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Permanent);
    assert!(failure.message().contains("90244 (fulfillment_availability)"), "{failure}");

    // A new listing by put; a put without the required item name is INVALID.
    let new_sku = AmazonSellerSku::new("NEW-SKU-1").unwrap();
    let mut attributes = serde_json::Map::new();
    attributes.insert("item_name".into(), json!([{ "value": "New thing" }]));
    let put = ListingsItemPutRequest { product_type: "PRODUCT".into(), requirements: None, attributes };
    assert_eq!(client.put_listings_item(&seller, &new_sku, &put, false).await.unwrap().status, "ACCEPTED");
    assert_eq!(client.get_listings_item(&seller, &new_sku, &[]).await.unwrap().sku, "NEW-SKU-1");
    let empty = ListingsItemPutRequest { attributes: serde_json::Map::new(), ..put };
    assert!(
        client.put_listings_item(&seller, &new_sku, &empty, false).await.unwrap_err().message().contains("item_name")
    );
    let missing = client.get_listings_item(&seller, &AmazonSellerSku::new("NOPE").unwrap(), &[]).await.unwrap_err();
    assert!(missing.message().contains("NotFound"), "{missing}");
}

#[tokio::test]
async fn a_json_listings_feed_updates_listings_in_bulk_and_reports_bad_messages() {
    use ferry_connectors::amazon::client::feeds::ListingsPatchMessage;
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let seller = sandbox.config().seller_id.clone();
    let mut messages: Vec<ListingsPatchMessage> = (1..=10)
        .map(|n| ListingsPatchMessage {
            sku: format!("FERRY-SKU-{n:04}"),
            product_type: "PRODUCT".into(),
            patches: vec![quantity_patch(n)],
        })
        .collect();
    messages.push(ListingsPatchMessage {
        sku: "NOT-LISTED".into(),
        product_type: "PRODUCT".into(),
        patches: vec![quantity_patch(1)],
    });
    let feed_id = client.submit_listings_feed(&seller, &messages).await.unwrap();
    let feed = loop {
        let feed = client.get_feed(&feed_id).await.unwrap();
        if feed.processing_status == "DONE" {
            break feed;
        }
        assert!(["IN_QUEUE", "IN_PROGRESS"].contains(&feed.processing_status.as_str()), "{feed:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let report = client.feed_result(&feed).await.unwrap();
    assert_eq!(report["summary"]["messagesProcessed"], 11);
    assert_eq!(report["summary"]["messagesAccepted"], 10);
    assert_eq!(report["issues"][0]["messageId"], 11);
    assert_eq!(report["issues"][0]["sku"], "NOT-LISTED");
    assert_eq!(sandbox.with_listings(|l| l.by_sku["FERRY-SKU-0007"].quantity()), Some(7));
    let bodies = sandbox.queued_notifications();
    assert!(bodies.iter().any(|b| b.contains("FEED_PROCESSING_FINISHED") && b.contains(&feed_id)));
}
