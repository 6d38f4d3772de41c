//! A sellable product, keyed by the seller's SKU.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{Asin, Sku};
use crate::money::Money;
use crate::record_ref::RecordRef;

/// A product as its master system (usually the ERP) describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The seller's SKU, the cross-system key.
    pub sku: Sku,
    /// The record in the master system.
    pub source: Option<RecordRef>,
    /// Display name.
    pub name: String,
    /// Longer description.
    pub description: Option<String>,
    /// Amazon's product id, once listed.
    pub asin: Option<Asin>,
    /// GTIN / UPC / EAN as printed on the barcode.
    pub barcode: Option<String>,
    /// Unit the quantities count (e.g. `ea`).
    pub unit_of_measure: Option<String>,
    /// Price list price.
    pub list_price: Option<Money>,
    /// False when discontinued or blocked for sale.
    pub active: bool,
    /// When the master last changed it (UTC).
    pub updated_at: Option<Timestamp>,
}

impl Product {
    /// An active product with only a SKU and a name.
    pub fn new(sku: Sku, name: impl Into<String>) -> Self {
        Product {
            sku,
            source: None,
            name: name.into(),
            description: None,
            asin: None,
            barcode: None,
            unit_of_measure: None,
            list_price: None,
            active: true,
            updated_at: None,
        }
    }
}
