//! F&O business events as they reach Ferry's ingress (an HTTPS endpoint). The reference is
//! silent on their body; Ferry reads the common header of F&O business-event contracts
//! (`BusinessEventId`, `BusinessEventLegalEntity`, `ControlNumber`, `EventId`,
//! `EventTimeIso8601`) and the document number the sandbox adds (`SalesOrderNumber` or
//! `ReturnOrderNumber`). An event only says "look at this document": the flow reads the
//! document itself, and the poll on `ModifiedDateTime` catches events that never arrived.

use serde::Deserialize;

use super::models::DataAreaId;

/// Which document an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    SalesOrder(String),
    ReturnOrder(String),
    /// An event of a kind Ferry does not act on (kept, not guessed).
    Other,
}

/// A parsed business event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessEvent {
    pub business_event_id: String,
    pub event_id: String,
    pub company: Option<DataAreaId>,
    pub control_number: u64,
    pub event_time: String,
    pub document: Document,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    business_event_id: String,
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    business_event_legal_entity: String,
    #[serde(default)]
    control_number: u64,
    #[serde(default, rename = "EventTimeIso8601")]
    event_time: String,
    #[serde(default)]
    sales_order_number: Option<String>,
    #[serde(default)]
    return_order_number: Option<String>,
}

/// Parses a POSTed business event; the error says what is wrong (never echoes the body).
pub fn parse_business_event(body: &[u8]) -> Result<BusinessEvent, String> {
    let wire: Wire = serde_json::from_slice(body).map_err(|e| format!("not an F&O business event: {e}"))?;
    let document = match (wire.sales_order_number, wire.return_order_number) {
        (Some(n), _) if wire.business_event_id.starts_with("SalesOrder") && !n.is_empty() => Document::SalesOrder(n),
        (_, Some(n)) if wire.business_event_id.starts_with("ReturnOrder") && !n.is_empty() => Document::ReturnOrder(n),
        _ => Document::Other,
    };
    Ok(BusinessEvent {
        business_event_id: wire.business_event_id,
        event_id: wire.event_id,
        company: DataAreaId::new(wire.business_event_legal_entity).ok(),
        control_number: wire.control_number,
        event_time: wire.event_time,
        document,
    })
}
