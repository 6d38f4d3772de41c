//! Fulfillment Outbound through the connector: a canonical order becomes an FBA order that
//! moves through its statuses over (sped-up) time and ships with tracking.

use std::time::Duration;

use ferry_connectors::amazon::models::fulfillment_outbound::GetFulfillmentPreviewRequest;
use ferry_connectors::amazon::transformers::{fulfillment_request, order_from_2026, shipments_from_fulfillment};
use ferry_connectors::amazon::{GetOrderRequest, IncludedData};
use ferry_model::{AmazonFulfillmentOrderId, AmazonOrderId, ShipmentStatus};
use ferry_runtime::failure::FailureKind;

use super::sandbox_and_client;

async fn canonical_order(
    sandbox: &ferry_sandbox::amazon::AmazonSandbox,
    client: &ferry_connectors::amazon::AmazonClient,
) -> ferry_model::Order {
    let ids = sandbox.seed_orders(30, 0.0);
    let id = sandbox
        .with_orders(|o| {
            ids.iter().find(|id| o.by_id[*id].status == ferry_sandbox::amazon::state::Status::Unshipped).cloned()
        })
        .unwrap();
    let wire = client
        .get_order(&GetOrderRequest::new(&AmazonOrderId::new(&id).unwrap(), IncludedData::for_order_flow(true, true)))
        .await
        .unwrap();
    order_from_2026(&wire).unwrap()
}

#[tokio::test]
async fn a_fulfilment_order_progresses_ships_and_is_tracked() {
    // 3600x: Amazon's half hour to shipment takes half a second.
    let (sandbox, client) = sandbox_and_client(3600.0).await;
    let order = canonical_order(&sandbox, &client).await;
    let id = AmazonFulfillmentOrderId::new(format!("FERRY-{}", order.id.id())).unwrap();
    let request = fulfillment_request(&order, &id, "Standard").unwrap();
    assert_eq!(request.items.len(), order.lines.len());
    assert!(!format!("{request:?}").contains("Main St"), "address redacted in Debug");

    let preview = client
        .get_fulfillment_preview(&GetFulfillmentPreviewRequest {
            marketplace_id: request.marketplace_id.clone(),
            address: request.destination_address.clone(),
            items: request.items.clone(),
            shipping_speed_categories: None,
        })
        .await
        .unwrap();
    assert!(preview.fulfillment_previews.iter().all(|p| p.is_fulfillable));

    client.create_fulfillment_order(&request).await.unwrap();
    // A retry (say the first response was lost) creates nothing new: Amazon refuses it, and
    // the order it names exists.
    let again = client.create_fulfillment_order(&request).await.unwrap_err();
    assert_eq!(again.kind(), FailureKind::Permanent, "{again}");
    assert!(client.fulfillment_order_exists(&id).await.unwrap());
    let unknown = AmazonFulfillmentOrderId::new("FERRY-NEVER-MADE").unwrap();
    assert!(!client.fulfillment_order_exists(&unknown).await.unwrap());
    // The check is one call of its own: a 429 stays a 429 (the caller waits and asks again),
    // never an answer that the order is missing.
    sandbox.faults().set(ferry_sandbox::faults::FaultConfig { throttle_rate: 1.0, ..Default::default() });
    let throttled = client.fulfillment_order_exists(&id).await.unwrap_err();
    assert_eq!(throttled.kind(), FailureKind::Throttled, "{throttled}");
    sandbox.faults().set(ferry_sandbox::faults::FaultConfig::default());

    let mut statuses = Vec::new();
    let shipment = loop {
        let result = client.get_fulfillment_order(&id).await.unwrap();
        let status = result.fulfillment_order.fulfillment_order_status.clone();
        if statuses.last() != Some(&status) {
            statuses.push(status.clone());
        }
        let shipments = shipments_from_fulfillment(&result).unwrap();
        if status == "Complete" {
            break shipments.into_iter().next().expect("a shipment");
        }
        assert!(statuses.len() < 10);
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert!(statuses.first().is_some_and(|s| s == "New" || s == "Received"), "{statuses:?}");
    assert_eq!(shipment.status, ShipmentStatus::Shipped);
    assert_eq!(shipment.carrier.as_deref(), Some("UPS"));
    let tracking = shipment.tracking_number.clone().expect("tracking number");
    assert_eq!(shipment.total_quantity(), order.lines.iter().map(|l| l.quantity_ordered).sum::<u32>());
    assert!(shipment.shipped_at.is_some() && shipment.estimated_arrival.is_some());

    let result = client.get_fulfillment_order(&id).await.unwrap();
    let package =
        result.fulfillment_shipments.unwrap()[0].fulfillment_shipment_package.clone().unwrap()[0].package_number;
    let details = client.get_package_tracking_details(package).await.unwrap();
    assert_eq!(details.tracking_number.as_deref(), Some(tracking.as_str()));
    assert_eq!(details.current_status.as_deref(), Some("IN_TRANSIT"));

    let listed = client.list_all_fulfillment_orders(None).await.unwrap();
    assert_eq!(listed.len(), 1);
    // Too late to cancel once shipped: Amazon's reason comes back.
    let failure = client.cancel_fulfillment_order(&id).await.unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Permanent);
    assert!(failure.message().contains("can no longer be cancelled"), "{failure}");
}

#[tokio::test]
async fn cancelling_early_stops_the_order_and_unknown_skus_are_refused_by_name() {
    let (sandbox, client) = sandbox_and_client(1.0).await;
    let order = canonical_order(&sandbox, &client).await;
    let id = AmazonFulfillmentOrderId::new("FERRY-CANCEL-1").unwrap();
    let request = fulfillment_request(&order, &id, "Expedited").unwrap();
    client.create_fulfillment_order(&request).await.unwrap();
    client.cancel_fulfillment_order(&id).await.unwrap();
    let result = client.get_fulfillment_order(&id).await.unwrap();
    assert_eq!(result.fulfillment_order.fulfillment_order_status, "Cancelled");
    assert!(result.fulfillment_order_items.iter().all(|i| i.cancelled_quantity == i.quantity));

    let mut bad =
        fulfillment_request(&order, &AmazonFulfillmentOrderId::new("FERRY-BAD-1").unwrap(), "Standard").unwrap();
    bad.items[0].seller_sku = "UNMAPPED-00001".into();
    let failure = client.create_fulfillment_order(&bad).await.unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Permanent);
    assert!(failure.message().contains("items[0].sellerSku UNMAPPED-00001"), "{failure}");
}

#[tokio::test]
async fn fba_inventory_reflects_what_fulfilment_orders_reserve() {
    use ferry_connectors::amazon::client::fba_inventory::InventoryRequest;
    use ferry_connectors::amazon::transformers::inventory_level;
    use ferry_model::{AmazonMarketplaceId, InventoryLocation, Timestamp};

    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let marketplace = AmazonMarketplaceId::new("ATVPDKIKX0DER").unwrap();
    let request = InventoryRequest {
        marketplace_id: marketplace.clone(),
        details: true,
        start_date_time: None,
        seller_skus: vec![],
    };
    let before = client.get_inventory_summaries(&request).await.unwrap();
    assert_eq!(before.len(), 20, "the whole catalogue");
    let level = |summaries: &[ferry_connectors::amazon::models::fba_inventory::InventorySummary], sku: &str| {
        let s = summaries.iter().find(|s| s.seller_sku.as_deref() == Some(sku)).unwrap();
        inventory_level(s, &marketplace, Timestamp::now()).unwrap()
    };
    let start = level(&before, "FERRY-SKU-0003");
    assert_eq!(start.available, 100);
    assert_eq!(start.location, InventoryLocation::AmazonFulfillment { marketplace_id: Some(marketplace.clone()) });

    let order = canonical_order(&sandbox, &client).await;
    let mut request_fo =
        fulfillment_request(&order, &AmazonFulfillmentOrderId::new("FERRY-INV-1").unwrap(), "Standard").unwrap();
    request_fo.items.truncate(1);
    request_fo.items[0].seller_sku = "FERRY-SKU-0003".into();
    request_fo.items[0].quantity = 4;
    client.create_fulfillment_order(&request_fo).await.unwrap();
    // Sped up, Planning (two minutes at Amazon's pace) comes within milliseconds.
    let mut after = start.clone();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let only = InventoryRequest { seller_skus: vec!["FERRY-SKU-0003".into()], ..request.clone() };
        after = level(&client.get_inventory_summaries(&only).await.unwrap(), "FERRY-SKU-0003");
        if after.available < start.available {
            break;
        }
    }
    assert_eq!(after.available, 96);
    assert!(
        after.reserved == start.reserved + 4 || after.reserved == start.reserved,
        "reserved while planned/processing"
    );
    assert_eq!(after.inbound, start.inbound);
}
