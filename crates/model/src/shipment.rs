//! A shipment of (part of) an order.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::ids::Sku;
use crate::open_enum::open_enum;
use crate::record_ref::RecordRef;

open_enum! {
    /// Where a shipment is. Sources' own values map onto these in their transformers; any
    /// other value stays `Unknown` as received.
    ShipmentStatus {
        /// Created, not handed to a carrier.
        Pending = "Pending",
        /// Handed to the carrier.
        Shipped = "Shipped",
        /// Moving through the carrier's network.
        InTransit = "InTransit",
        /// Delivered.
        Delivered = "Delivered",
        /// The carrier could not deliver.
        Undeliverable = "Undeliverable",
        /// Sent back to the seller.
        Returned = "Returned",
        /// Canceled before shipping.
        Canceled = "Canceled",
    }
}

/// Units of one order line in a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    /// The order line shipped (Amazon OrderItemId), when known.
    pub order_line_id: Option<String>,
    /// The SKU.
    pub sku: Sku,
    /// Units in this shipment.
    pub quantity: u32,
}

/// A shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The shipment in its source (FBA shipment id, SL shipper), if it has its own id.
    pub id: Option<RecordRef>,
    /// The order it ships.
    pub order: RecordRef,
    /// Status.
    pub status: ShipmentStatus,
    /// Carrier code or name as the source gives it (e.g. `UPS`, `USPS`).
    pub carrier: Option<String>,
    /// Carrier service (e.g. `Ground`).
    pub service: Option<String>,
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// When it left the warehouse (UTC).
    pub shipped_at: Option<Timestamp>,
    /// Carrier's estimated arrival (UTC).
    pub estimated_arrival: Option<Timestamp>,
    /// Destination.
    pub ship_to: Option<Address>,
    /// What is in it.
    pub lines: Vec<ShipmentLine>,
}

impl Shipment {
    /// Total units in the shipment (saturating).
    pub fn total_quantity(&self) -> u32 {
        self.lines.iter().fold(0u32, |sum, line| sum.saturating_add(line.quantity))
    }
}
