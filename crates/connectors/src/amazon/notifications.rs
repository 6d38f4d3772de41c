//! SP-API notifications: the envelope (NotificationVersion 1.0 in PascalCase, and the
//! camelCase 2020-09-04 envelope of REPORT/FEED_PROCESSING_FINISHED), as delivered in an SQS
//! message body or inside an EventBridge event's `detail`, parsed into an event with a dedupe
//! key for the inbox.

use ferry_model::{AmazonFulfillmentOrderId, AmazonOrderId, ConnectionId, Pii, TenantId, Timestamp};
use ferry_store::NewEvent;
use serde_json::{Map, Value};

use crate::ingress::check_event_id;

/// A notification that cannot be read; names what is wrong, never the payload's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("notification is not JSON ({0})")]
    NotJson(String),
    #[error("notification {field} is missing or not {expected}")]
    Field { field: &'static str, expected: &'static str },
    #[error("notification {notification_type} {field}: {problem}")]
    Payload { notification_type: String, field: String, problem: String },
    /// An identifier the inbox could not index (see [`crate::ingress::check_event_id`]).
    #[error("notification {0}")]
    Id(String),
}

/// What happened, for the notification types Ferry acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum AmazonEvent {
    /// ORDER_CHANGE: fetch the order (the payload has no prices or address). `changed_at` is
    /// `OrderChangeTrigger.TimeOfOrderChange`: a copy of the order updated at or after it
    /// already holds this change.
    OrderChange {
        order_id: AmazonOrderId,
        order_status: Option<String>,
        change_type: Option<String>,
        changed_at: Option<Timestamp>,
    },
    /// FULFILLMENT_ORDER_STATUS: an MCF order moved.
    FulfillmentOrderStatus {
        seller_fulfillment_order_id: AmazonFulfillmentOrderId,
        status: Option<String>,
        shipment_status: Option<String>,
        tracking_numbers: Vec<String>,
    },
    /// FBA_OUTBOUND_SHIPMENT_STATUS.
    FbaOutboundShipmentStatus { order_id: String, amazon_shipment_id: String, status: String },
    /// FBA_INVENTORY_AVAILABILITY_CHANGES.
    FbaInventoryAvailabilityChange { sku: String, asin: Option<String>, fnsku: Option<String> },
    /// REPORT_PROCESSING_FINISHED.
    ReportProcessingFinished {
        report_id: String,
        report_type: String,
        processing_status: String,
        report_document_id: Option<String>,
    },
    /// FEED_PROCESSING_FINISHED.
    FeedProcessingFinished {
        feed_id: String,
        feed_type: String,
        processing_status: String,
        result_feed_document_id: Option<String>,
    },
    /// Any other type: kept, so a flow can still subscribe to it.
    Other,
}

/// One parsed notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub notification_type: String,
    /// `NotificationMetadata.NotificationId`: the same for every redelivery.
    pub notification_id: String,
    pub payload_version: Option<String>,
    pub event_time: Option<Timestamp>,
    pub publish_time: Option<Timestamp>,
    pub subscription_id: Option<String>,
    pub event: AmazonEvent,
    /// The envelope as received. ORDER_CHANGE carries the destination postal code, so it is
    /// [`Pii`]: `Debug` does not print it.
    pub raw: Pii<Value>,
}

impl Notification {
    /// The inbox dedupe key: one event per notification, however often it is delivered.
    pub fn dedupe_key(&self) -> String {
        format!("amazon:{}:{}", self.notification_type, self.notification_id)
    }

    /// The inbox event for this notification.
    pub fn to_event(&self, tenant: TenantId, connection: ConnectionId) -> NewEvent {
        NewEvent {
            tenant,
            connection,
            dedupe_key: self.dedupe_key(),
            event_type: self.notification_type.clone(),
            payload: self.raw.expose().clone(),
        }
    }
}

/// A key of `object`, whatever the case of its first letter (the two envelope styles).
fn get_ci<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn str_ci<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    get_ci(object, key).and_then(Value::as_str)
}

fn time_ci(object: &Map<String, Value>, key: &str) -> Option<Timestamp> {
    str_ci(object, key).and_then(|t| t.parse().ok())
}

/// Parses an SQS message body (or an HTTP body) holding one notification envelope.
pub fn parse_notification(body: &str) -> Result<Notification, NotificationError> {
    let value: Value = serde_json::from_str(body).map_err(|e| {
        NotificationError::NotJson(format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()))
    })?;
    parse_envelope(value)
}

/// Parses an EventBridge event whose `detail` is the notification (API destinations deliver
/// this shape); a bare envelope is accepted too.
pub fn parse_eventbridge(body: &str) -> Result<Notification, NotificationError> {
    let value: Value = serde_json::from_str(body).map_err(|e| {
        NotificationError::NotJson(format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()))
    })?;
    match value.get("detail") {
        Some(detail) if detail.is_object() => parse_envelope(detail.clone()),
        _ => parse_envelope(value),
    }
}

/// Parses an envelope already decoded as JSON.
pub fn parse_envelope(raw: Value) -> Result<Notification, NotificationError> {
    let envelope = raw.as_object().ok_or(NotificationError::Field { field: "envelope", expected: "an object" })?;
    let notification_type = str_ci(envelope, "NotificationType")
        .ok_or(NotificationError::Field { field: "NotificationType", expected: "a string" })?
        .to_owned();
    let metadata = get_ci(envelope, "NotificationMetadata")
        .and_then(Value::as_object)
        .ok_or(NotificationError::Field { field: "NotificationMetadata", expected: "an object" })?;
    let notification_id = str_ci(metadata, "NotificationId")
        .filter(|id| !id.is_empty())
        .ok_or(NotificationError::Field { field: "NotificationMetadata.NotificationId", expected: "a string" })?
        .to_owned();
    // Both go into the inbox's dedupe key: refuse what the store could never index.
    check_event_id("NotificationType", &notification_type).map_err(NotificationError::Id)?;
    check_event_id("NotificationMetadata.NotificationId", &notification_id).map_err(NotificationError::Id)?;
    let payload = get_ci(envelope, "Payload")
        .and_then(Value::as_object)
        .ok_or(NotificationError::Field { field: "Payload", expected: "an object" })?;
    let event = event(&notification_type, payload)?;
    Ok(Notification {
        payload_version: str_ci(envelope, "PayloadVersion").map(str::to_owned),
        event_time: time_ci(envelope, "EventTime"),
        publish_time: time_ci(metadata, "PublishTime"),
        subscription_id: str_ci(metadata, "SubscriptionId").map(str::to_owned),
        notification_type,
        notification_id,
        event,
        raw: Pii::new(raw.clone()),
    })
}

fn event(kind: &str, payload: &Map<String, Value>) -> Result<AmazonEvent, NotificationError> {
    let missing = |field: &str| NotificationError::Payload {
        notification_type: kind.to_owned(),
        field: field.to_owned(),
        problem: "missing or not a string".into(),
    };
    // Most types wrap their fields in an object named after the type.
    let inner = |wrapper: &str| -> Result<&Map<String, Value>, NotificationError> {
        get_ci(payload, wrapper).and_then(Value::as_object).ok_or_else(|| missing(wrapper))
    };
    let text = |object: &Map<String, Value>, field: &str| -> Result<String, NotificationError> {
        str_ci(object, field).map(str::to_owned).ok_or_else(|| missing(field))
    };
    let opt = |object: &Map<String, Value>, field: &str| str_ci(object, field).map(str::to_owned);
    Ok(match kind {
        "ORDER_CHANGE" => {
            let n = inner("OrderChangeNotification")?;
            let id = text(n, "AmazonOrderId")?;
            let order_id = AmazonOrderId::new(&id).map_err(|e| NotificationError::Payload {
                notification_type: kind.to_owned(),
                field: "AmazonOrderId".into(),
                problem: e.reason().into(),
            })?;
            let summary = get_ci(n, "Summary").and_then(Value::as_object);
            AmazonEvent::OrderChange {
                order_id,
                order_status: summary.and_then(|s| opt(s, "OrderStatus")),
                change_type: opt(n, "OrderChangeType"),
                changed_at: get_ci(n, "OrderChangeTrigger")
                    .and_then(Value::as_object)
                    .and_then(|t| time_ci(t, "TimeOfOrderChange")),
            }
        }
        "FULFILLMENT_ORDER_STATUS" => {
            let n = inner("FulfillmentOrderStatusNotification")?;
            let id = text(n, "SellerFulfillmentOrderId")?;
            let seller_fulfillment_order_id =
                AmazonFulfillmentOrderId::new(&id).map_err(|e| NotificationError::Payload {
                    notification_type: kind.to_owned(),
                    field: "SellerFulfillmentOrderId".into(),
                    problem: e.reason().into(),
                })?;
            let shipment = get_ci(n, "FulfillmentShipment").and_then(Value::as_object);
            let tracking_numbers = shipment
                .and_then(|s| get_ci(s, "FulfillmentShipmentPackages"))
                .and_then(Value::as_array)
                .map(|packages| {
                    packages.iter().filter_map(|p| p.as_object().and_then(|p| opt(p, "TrackingNumber"))).collect()
                })
                .unwrap_or_default();
            AmazonEvent::FulfillmentOrderStatus {
                seller_fulfillment_order_id,
                status: opt(n, "FulfillmentOrderStatus"),
                shipment_status: shipment.and_then(|s| opt(s, "FulfillmentShipmentStatus")),
                tracking_numbers,
            }
        }
        "FBA_OUTBOUND_SHIPMENT_STATUS" => {
            let n = inner("FBAOutboundShipmentStatusNotification")?;
            AmazonEvent::FbaOutboundShipmentStatus {
                order_id: text(n, "AmazonOrderId")?,
                amazon_shipment_id: text(n, "AmazonShipmentId")?,
                status: text(n, "ShipmentStatus")?,
            }
        }
        "FBA_INVENTORY_AVAILABILITY_CHANGES" => AmazonEvent::FbaInventoryAvailabilityChange {
            sku: text(payload, "SKU")?,
            asin: opt(payload, "ASIN"),
            fnsku: opt(payload, "FNSKU"),
        },
        "REPORT_PROCESSING_FINISHED" => {
            let n = inner("reportProcessingFinishedNotification")?;
            AmazonEvent::ReportProcessingFinished {
                report_id: text(n, "reportId")?,
                report_type: text(n, "reportType")?,
                processing_status: text(n, "processingStatus")?,
                report_document_id: opt(n, "reportDocumentId"),
            }
        }
        "FEED_PROCESSING_FINISHED" => {
            let n = inner("feedProcessingFinishedNotification")?;
            AmazonEvent::FeedProcessingFinished {
                feed_id: text(n, "feedId")?,
                feed_type: text(n, "feedType")?,
                processing_status: text(n, "processingStatus")?,
                result_feed_document_id: opt(n, "resultFeedDocumentId"),
            }
        }
        _ => AmazonEvent::Other,
    })
}
