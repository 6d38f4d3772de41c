//! A sales order and its lines.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::currency::Currency;
use crate::customer::Customer;
use crate::ids::{AmazonMarketplaceId, Asin, Sku};
use crate::money::{Money, MoneyError};
use crate::open_enum::open_enum;
use crate::record_ref::RecordRef;

open_enum! {
    /// Order status, in Amazon's spelling (the richest of our sources); other sources map
    /// onto it in their transformers. A value not listed stays `Unknown` as received.
    OrderStatus {
        /// Placed, payment not yet authorized.
        Pending = "Pending",
        /// Payment authorized, nothing shipped.
        Unshipped = "Unshipped",
        /// Some items shipped.
        PartiallyShipped = "PartiallyShipped",
        /// All items shipped.
        Shipped = "Shipped",
        /// Canceled.
        Canceled = "Canceled",
        /// Cannot be fulfilled (Amazon: multi-channel orders).
        Unfulfillable = "Unfulfillable",
        /// Shipped, invoice not yet confirmed (Amazon Brazil).
        InvoiceUnconfirmed = "InvoiceUnconfirmed",
        /// Pre-order waiting for the release date.
        PendingAvailability = "PendingAvailability",
    }
}

/// Who ships the order. Serialized as Amazon's `AFN` / `MFN`, the values flow files test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FulfillmentChannel {
    /// Fulfilled by Amazon (FBA).
    #[serde(rename = "AFN")]
    Amazon,
    /// Fulfilled by the merchant (FBM, or any web-store order).
    #[serde(rename = "MFN")]
    Merchant,
}

/// An amount on an order is not in the order's currency, or a sum overflowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order line {line_id}: {source}")]
pub struct OrderError {
    /// The line at fault.
    pub line_id: String,
    /// What went wrong.
    pub source: MoneyError,
}

/// One line of an order. Prices are tax-exclusive: taxes are separate amounts, so
/// transformers for tax-inclusive marketplaces split them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The source's line id (Amazon OrderItemId).
    pub line_id: String,
    /// The seller's SKU.
    pub sku: Sku,
    /// Amazon's product id, when known.
    pub asin: Option<Asin>,
    /// Product title as shown to the buyer.
    pub title: Option<String>,
    /// Units ordered.
    pub quantity_ordered: u32,
    /// Units shipped so far.
    pub quantity_shipped: u32,
    /// Price of one unit.
    pub unit_price: Money,
    /// Tax on the items (all units).
    pub item_tax: Money,
    /// Shipping charged for this line.
    pub shipping_price: Money,
    /// Tax on the shipping.
    pub shipping_tax: Money,
    /// Promotions and discounts, as a positive amount that is subtracted.
    pub discount: Money,
}

impl OrderLine {
    /// A line with no tax, shipping or discount, all in `unit_price`'s currency.
    pub fn new(line_id: impl Into<String>, sku: Sku, quantity: u32, unit_price: Money) -> Self {
        let zero = Money::zero(unit_price.currency());
        OrderLine {
            line_id: line_id.into(),
            sku,
            asin: None,
            title: None,
            quantity_ordered: quantity,
            quantity_shipped: 0,
            unit_price,
            item_tax: zero,
            shipping_price: zero,
            shipping_tax: zero,
            discount: zero,
        }
    }

    /// `unit_price × quantity_ordered + shipping + taxes − discount`, unrounded.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.unit_price
            .checked_mul(self.quantity_ordered)?
            .checked_add(&self.shipping_price)?
            .checked_add(&self.item_tax)?
            .checked_add(&self.shipping_tax)?
            .checked_sub(&self.discount)
    }

    /// Units still to ship (zero if the source reports more shipped than ordered).
    pub fn quantity_unshipped(&self) -> u32 {
        self.quantity_ordered.saturating_sub(self.quantity_shipped)
    }
}

/// A sales order from any source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order in its source system (e.g. `amazon:order:123-1234567-1234567`).
    pub id: RecordRef,
    /// Amazon marketplace; `None` for orders from other sources.
    pub marketplace_id: Option<AmazonMarketplaceId>,
    /// The seller's own order number, if the source has one.
    pub seller_order_id: Option<String>,
    /// Status in the source.
    pub status: OrderStatus,
    /// Who ships it.
    pub fulfillment_channel: FulfillmentChannel,
    /// When the buyer placed it (UTC).
    pub purchased_at: Timestamp,
    /// When the source last changed it (UTC); the sync cursor compares this.
    pub last_updated_at: Timestamp,
    /// The order's currency; every amount on it must be in this currency.
    pub currency: Currency,
    /// The buyer, when the source shares who it is.
    pub buyer: Option<Customer>,
    /// Where the goods go (Amazon: only once the order is Unshipped or later).
    pub shipping_address: Option<Address>,
    /// The lines.
    pub lines: Vec<OrderLine>,
    /// The total as the source reports it (Amazon OrderTotal), kept to compare with
    /// [`Order::total`]; absent while Amazon orders are Pending.
    pub reported_total: Option<Money>,
}

impl Order {
    /// Sum of the lines' totals in the order's currency; an error names the first line in
    /// another currency. An order without lines totals zero.
    pub fn total(&self) -> Result<Money, OrderError> {
        self.lines.iter().try_fold(Money::zero(self.currency), |sum, line| {
            line.total()
                .and_then(|line_total| sum.checked_add(&line_total))
                .map_err(|source| OrderError { line_id: line.line_id.clone(), source })
        })
    }

    /// True when every line has shipped in full.
    pub fn is_fully_shipped(&self) -> bool {
        self.lines.iter().all(|line| line.quantity_unshipped() == 0)
    }
}
