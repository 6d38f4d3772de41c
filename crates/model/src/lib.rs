//! Ferry's canonical commerce model.
//!
//! Connectors translate each system's wire types to and from these types, and mappings
//! read them, so the rules that matter everywhere live here once: money is a decimal with
//! an ISO 4217 currency (never a float), ids are typed per system and validated where they
//! enter, timestamps are UTC, buyer PII is redacted from `Debug`, and unknown source values
//! are kept verbatim instead of being guessed.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod open_enum;

pub mod address;
pub mod currency;
pub mod customer;
pub mod ids;
pub mod inventory;
pub mod journal;
pub mod money;
pub mod order;
pub mod pii;
pub mod product;
pub mod record_ref;
pub mod returns;
pub mod settlement;
pub mod shipment;

pub use address::{Address, CountryCode};
pub use currency::{Currency, CurrencyError};
pub use customer::{AddressRole, Customer, CustomerAddress, CustomerKind, PersonName};
pub use ids::{
    AmazonFulfillmentOrderId, AmazonMarketplaceId, AmazonOrderId, AmazonSellerSku, AmazonSettlementId, Asin, ClarityId,
    ConnectionId, DataverseId, FnoCustomerAccount, FnoSalesOrderNumber, IdError, Sku, SlOrderNumber, SystemId,
    TenantId,
};
pub use inventory::{InventoryLevel, InventoryLocation};
pub use journal::{JournalEntry, JournalError, JournalLine, Side};
pub use money::{Money, MoneyError};
pub use order::{FulfillmentChannel, Order, OrderError, OrderLine, OrderStatus};
pub use pii::Pii;
pub use product::Product;
pub use record_ref::{RecordRef, System};
pub use returns::{ReturnAuthorization, ReturnLine, ReturnStatus};
pub use settlement::{Settlement, SettlementAmountType, SettlementLine, SettlementTransactionType};
pub use shipment::{Shipment, ShipmentLine, ShipmentStatus};

/// Timestamps are UTC instants everywhere in the model.
pub use jiff::Timestamp;
/// Amounts are exact decimals.
pub use rust_decimal::Decimal;
