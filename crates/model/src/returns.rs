//! A return merchandise authorization (RMA).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::Sku;
use crate::money::Money;
use crate::open_enum::open_enum;
use crate::pii::Pii;
use crate::record_ref::RecordRef;

open_enum! {
    /// Where a return is; other values stay `Unknown` as received.
    ReturnStatus {
        /// The buyer asked to return.
        Requested = "Requested",
        /// The seller (or Amazon) accepted the return.
        Authorized = "Authorized",
        /// The goods arrived back.
        Received = "Received",
        /// Refunded or replaced; nothing left to do.
        Completed = "Completed",
        /// Refused.
        Rejected = "Rejected",
        /// Withdrawn.
        Canceled = "Canceled",
    }
}

/// Units of one SKU being returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    /// The SKU.
    pub sku: Sku,
    /// The order line the units came from, when known.
    pub order_line_id: Option<String>,
    /// Units returned.
    pub quantity: u32,
    /// Return reason as the source gives it (e.g. Amazon's `DEFECTIVE`).
    pub reason: Option<String>,
    /// Condition on arrival (e.g. `SELLABLE`, `CUSTOMER_DAMAGED`).
    pub disposition: Option<String>,
    /// When the units arrived (UTC).
    pub received_at: Option<Timestamp>,
    /// Amount refunded for the line, once known.
    pub refund: Option<Money>,
}

/// A return of goods from an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnAuthorization {
    /// The return in its source.
    pub id: RecordRef,
    /// RMA number shown to the buyer and the warehouse.
    pub rma_number: Option<String>,
    /// The original order.
    pub order: RecordRef,
    /// Status.
    pub status: ReturnStatus,
    /// When it was requested (UTC).
    pub created_at: Timestamp,
    /// What comes back.
    pub lines: Vec<ReturnLine>,
    /// Buyer's free-text comment: personal data.
    pub customer_comments: Option<Pii<String>>,
}
