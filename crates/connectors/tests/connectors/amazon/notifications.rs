//! Amazon's sample notifications parse into events with dedupe keys.

use ferry_connectors::amazon::notifications::{
    AmazonEvent, NotificationError, parse_envelope, parse_eventbridge, parse_notification,
};
use ferry_model::{ConnectionId, TenantId};
use serde_json::Value;

use super::spapi_reference;

fn samples() -> Vec<(String, Value)> {
    let dir = spapi_reference().join("samples");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".example.json") {
            continue;
        }
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        match value {
            Value::Array(items) => out.extend(items.into_iter().enumerate().map(|(n, v)| (format!("{name}[{n}]"), v))),
            single => out.push((name, single)),
        }
    }
    out
}

#[test]
fn every_sample_notification_parses_into_an_event_with_a_dedupe_key() {
    let samples = samples();
    assert!(samples.len() >= 9, "{}", samples.len());
    let mut kinds = std::collections::BTreeSet::new();
    for (name, sample) in samples {
        let n = parse_notification(&sample.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(n.dedupe_key().starts_with(&format!("amazon:{}:", n.notification_type)), "{name}");
        assert!(n.event_time.is_some(), "{name}: EventTime");
        let event = n.to_event(TenantId::new("acme").unwrap(), ConnectionId::new("amazon").unwrap());
        assert_eq!(event.payload, sample, "{name}: the inbox keeps the envelope as received");
        assert!(!format!("{n:?}").contains("48110"), "{name}: no postal code in Debug");
        match (&n.notification_type[..], &n.event) {
            ("ORDER_CHANGE", AmazonEvent::OrderChange { order_id, order_status, changed_at, .. }) => {
                assert_eq!(order_id.as_str(), "903-8868176-2219830");
                assert_eq!(order_status.as_deref(), Some("Unshipped"));
                let when = changed_at.map(|t| t.to_string());
                assert_eq!(when.as_deref(), Some("2022-11-29T19:42:04.284Z"), "{name}: TimeOfOrderChange");
            }
            (
                "FULFILLMENT_ORDER_STATUS",
                AmazonEvent::FulfillmentOrderStatus { seller_fulfillment_order_id, tracking_numbers, .. },
            ) => {
                assert_eq!(seller_fulfillment_order_id.as_str(), "SFOID2345");
                assert!(!tracking_numbers.is_empty());
            }
            ("FBA_OUTBOUND_SHIPMENT_STATUS", AmazonEvent::FbaOutboundShipmentStatus { status, .. }) => {
                assert_eq!(status, "Created")
            }
            ("REPORT_PROCESSING_FINISHED", AmazonEvent::ReportProcessingFinished { report_id, .. }) => {
                assert!(!report_id.is_empty())
            }
            ("FEED_PROCESSING_FINISHED", AmazonEvent::FeedProcessingFinished { feed_id, .. }) => {
                assert!(!feed_id.is_empty())
            }
            ("ANY_OFFER_CHANGED" | "LISTINGS_ITEM_STATUS_CHANGE", AmazonEvent::Other) => {}
            (kind, event) => panic!("{name}: {kind} parsed as {event:?}"),
        }
        kinds.insert(n.notification_type.clone());
    }
    for kind in [
        "ORDER_CHANGE",
        "FULFILLMENT_ORDER_STATUS",
        "FBA_OUTBOUND_SHIPMENT_STATUS",
        "REPORT_PROCESSING_FINISHED",
        "FEED_PROCESSING_FINISHED",
    ] {
        assert!(kinds.contains(kind), "no sample of {kind}");
    }
}

#[test]
fn the_schema_examples_of_inventory_changes_parse_too() {
    // FBA_INVENTORY_AVAILABILITY_CHANGES has no sample file; its schema carries the payload example.
    let path = spapi_reference().join("notifications/FBAInventoryAvailabilityChangeNotification.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let payload = schema["properties"]["Payload"]["examples"][0].clone();
    let envelope = serde_json::json!({
        "NotificationVersion": "1.0", "NotificationType": "FBA_INVENTORY_AVAILABILITY_CHANGES", "PayloadVersion": "1.0",
        "EventTime": "2020-07-13T19:42:04.284Z", "Payload": payload,
        "NotificationMetadata": { "ApplicationId": "a", "SubscriptionId": "s", "PublishTime": "2020-07-13T19:42:04.284Z", "NotificationId": "n-1" }
    });
    let n = parse_envelope(envelope.clone()).unwrap();
    assert_eq!(
        n.event,
        AmazonEvent::FbaInventoryAvailabilityChange {
            sku: "SELLERSKU-1".into(),
            asin: Some("B00001ABCD".into()),
            fnsku: Some("X001ABCDEF".into())
        }
    );
    // The same notification through EventBridge (an API destination posts the event) has the same key.
    let bridged = serde_json::json!({ "version": "0", "id": "e-1", "detail-type": "FBA_INVENTORY_AVAILABILITY_CHANGES", "source": "aws.partner/sellingpartnerapi.amazon", "detail": envelope });
    assert_eq!(parse_eventbridge(&bridged.to_string()).unwrap().dedupe_key(), n.dedupe_key());
}

#[test]
fn malformed_notifications_are_refused_with_a_clear_reason_and_no_values() {
    assert!(matches!(parse_notification("{not json"), Err(NotificationError::NotJson(_))));
    let no_id = r#"{"NotificationType":"ORDER_CHANGE","NotificationMetadata":{},"Payload":{}}"#;
    assert_eq!(
        parse_notification(no_id).unwrap_err().to_string(),
        "notification NotificationMetadata.NotificationId is missing or not a string"
    );
    let bad_order = r#"{"NotificationType":"ORDER_CHANGE","NotificationMetadata":{"NotificationId":"x"},"Payload":{"OrderChangeNotification":{"AmazonOrderId":"48110 secret street"}}}"#;
    let error = parse_notification(bad_order).unwrap_err().to_string();
    assert!(error.contains("ORDER_CHANGE AmazonOrderId"), "{error}");
    assert!(!error.contains("secret street"), "{error}");
}
