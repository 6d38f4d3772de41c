//! Amazon settlement (V2 flat file) lines and the settlement they belong to.
//!
//! Kept close to the report: the transaction type, amount type and amount description are
//! the keys of the posting rules (Order/ItemPrice/Principal → revenue…), so they stay as
//! Amazon spells them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{AmazonOrderId, AmazonSettlementId, Sku};
use crate::money::{Money, MoneyError};
use crate::open_enum::open_enum;

open_enum! {
    /// `transaction-type` of a settlement row. Amazon publishes no full list; a type not
    /// listed here stays `Unknown` and is held for a posting rule, not guessed.
    SettlementTransactionType {
        /// A sale.
        Order = "Order",
        /// A refund to the buyer.
        Refund = "Refund",
        /// Fees, reimbursements, reserves.
        OtherTransaction = "other-transaction",
        /// Subscription and service fees.
        ServiceFee = "ServiceFee",
        /// A chargeback reversed.
        ChargebackRefund = "Chargeback Refund",
        /// Coupon redemption fee.
        CouponRedemptionFee = "CouponRedemptionFee",
        /// Liquidation proceeds.
        Liquidations = "Liquidations",
        /// Retroactive charge on an order.
        OrderRetrocharge = "Order_Retrocharge",
        /// Retroactive charge on a refund.
        RefundRetrocharge = "Refund_Retrocharge",
    }
}

open_enum! {
    /// `amount-type` of a settlement row (V1's price/fee type columns condensed). Amazon
    /// publishes no full list either; an amount type not listed here stays `Unknown` and the
    /// row is held for a posting rule even when its transaction type is known.
    SettlementAmountType {
        /// The item's price components (Principal, Shipping, Tax…).
        ItemPrice = "ItemPrice",
        /// Fees on an item (Commission, FBAPerUnitFulfillmentFee…).
        ItemFees = "ItemFees",
        /// Tax withheld by Amazon as marketplace facilitator.
        ItemWithheldTax = "ItemWithheldTax",
        /// Promotions (negative).
        Promotion = "Promotion",
        /// Shipment fees.
        ShipmentFees = "ShipmentFees",
        /// Reserves, reimbursements and other account-level amounts.
        OtherTransaction = "other-transaction",
        /// FBA inventory reimbursements.
        FbaInventoryReimbursement = "FBA Inventory Reimbursement",
        /// Sponsored-products advertising.
        CostOfAdvertising = "Cost of Advertising",
        /// Coupon redemption fee.
        CouponRedemptionFee = "CouponRedemptionFee",
        /// Lightning deal fee.
        LightningDealFee = "LightningDealFee",
        /// Subscription and service fees (Finances API service fee events).
        ServiceFee = "ServiceFee",
    }
}

/// One row of a settlement report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementLine {
    /// `settlement-id`.
    pub settlement_id: AmazonSettlementId,
    /// `transaction-type`.
    pub transaction_type: SettlementTransactionType,
    /// `amount-type`, e.g. `ItemPrice`, `ItemFees`.
    pub amount_type: SettlementAmountType,
    /// `amount-description`, e.g. `Principal`, `Commission`.
    pub amount_description: String,
    /// `order-id` as written: usually an Amazon order id, but fee rows can carry an FBA
    /// shipment id, so it is not validated here (see [`SettlementLine::amazon_order_id`]).
    pub order_id: Option<String>,
    /// `merchant-order-id`.
    pub merchant_order_id: Option<String>,
    /// `adjustment-id`.
    pub adjustment_id: Option<String>,
    /// `shipment-id`.
    pub shipment_id: Option<String>,
    /// `marketplace-name`, e.g. `Amazon.com`.
    pub marketplace_name: Option<String>,
    /// `fulfillment-id` (`AFN` / `MFN`).
    pub fulfillment_id: Option<String>,
    /// `order-item-code`.
    pub order_item_code: Option<String>,
    /// `sku`.
    pub sku: Option<Sku>,
    /// `quantity-purchased`; signed because adjustment rows may count units back.
    pub quantity: Option<i64>,
    /// `amount` in the settlement's `currency`; signed (fees are negative).
    pub amount: Money,
    /// `posted-date-time` (or `posted-date` at midnight UTC when only the date is given).
    pub posted_at: Timestamp,
}

impl SettlementLine {
    /// True when this version has no posting rule for the row: its transaction type or its
    /// amount type is unknown. Such rows are kept and held for a mapping, never guessed.
    pub fn needs_posting_rule(&self) -> bool {
        self.transaction_type.is_unknown() || self.amount_type.is_unknown()
    }

    /// The order id, if `order_id` holds a valid Amazon order id (not a shipment id).
    pub fn amazon_order_id(&self) -> Option<AmazonOrderId> {
        self.order_id.as_deref().and_then(|id| id.parse().ok())
    }
}

/// A settlement: the summary row plus its transaction rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// `settlement-id`.
    pub settlement_id: AmazonSettlementId,
    /// `settlement-start-date` (UTC).
    pub start: Timestamp,
    /// `settlement-end-date` (UTC).
    pub end: Timestamp,
    /// `deposit-date` (UTC): when the money reaches the bank.
    pub deposit_date: Option<Timestamp>,
    /// `total-amount` of the summary row: the deposit.
    pub total: Money,
    /// The transaction rows.
    pub lines: Vec<SettlementLine>,
}

impl Settlement {
    /// `total − Σ lines`: zero when the rows explain the deposit to the cent. An error if a
    /// row is in another currency.
    pub fn unexplained_amount(&self) -> Result<Money, MoneyError> {
        let sum = Money::sum(self.total.currency(), self.lines.iter().map(|l| &l.amount))?;
        self.total.checked_sub(&sum)
    }
}
