//! Stock of one SKU at one place.
//!
//! Quantities are signed integers: ERPs (SL, F&O) allow negative on-hand, and hiding that
//! behind a clamp would hide a real stock problem. Selling channels get the clamped value
//! from [`InventoryLevel::sellable`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{AmazonMarketplaceId, Sku};

/// Where the stock is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InventoryLocation {
    /// Amazon's fulfillment network (FBA pool) for a marketplace.
    AmazonFulfillment {
        /// The marketplace the pool serves, when the source says.
        marketplace_id: Option<AmazonMarketplaceId>,
    },
    /// A seller's warehouse (F&O site + warehouse, SL site).
    Warehouse {
        /// Site, where the ERP has one above warehouses.
        site: Option<String>,
        /// Warehouse id.
        warehouse: String,
    },
}

/// Stock of a SKU at a location at a point in time. The four buckets do not overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryLevel {
    /// The SKU.
    pub sku: Sku,
    /// Where.
    pub location: InventoryLocation,
    /// Can be sold now (Amazon fulfillableQuantity; SL OnHand − Allocated).
    pub available: i64,
    /// Allocated to orders or held for processing.
    pub reserved: i64,
    /// On its way in (inbound shipments, in transit).
    pub inbound: i64,
    /// Damaged, expired or otherwise unsellable.
    pub unfulfillable: i64,
    /// When the source measured it (UTC).
    pub as_of: Timestamp,
}

impl InventoryLevel {
    /// All four buckets together (saturating, so absurd inputs cannot overflow).
    pub fn total(&self) -> i64 {
        self.available.saturating_add(self.reserved).saturating_add(self.inbound).saturating_add(self.unfulfillable)
    }

    /// The quantity to offer on a sales channel: `available`, never below zero.
    pub fn sellable(&self) -> u32 {
        u32::try_from(self.available.max(0)).unwrap_or(u32::MAX)
    }
}
