//! Wire types of F&O's `/data/`: rows as JSON objects with their ETag, pages, typed ids
//! (`DataAreaId`, `SalesOrderNumber`, …) and typed structs with the fields flows need for
//! each entity (DYNAMICS.md §B.4). Amounts and quantities are [`Decimal`]s, read from JSON
//! numbers through their text and written as JSON numbers only when exact (never through a
//! float rounding); enums are their member names, as F&O's JSON carries them.

use ferry_model::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A row as returned by `/data/` (`@odata.etag` split off).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    pub etag: Option<String>,
    pub fields: Map<String, Value>,
}

impl Record {
    pub fn from_json(mut fields: Map<String, Value>) -> Self {
        let etag = fields.remove("@odata.etag").and_then(|v| v.as_str().map(str::to_owned));
        fields.remove("@odata.context");
        Record { etag, fields }
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    pub fn str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }

    /// A decimal field, exactly.
    pub fn decimal(&self, field: &str) -> Option<Decimal> {
        decimal_of(self.get(field)?)
    }

    /// The typed view of this row.
    pub fn typed<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.fields.clone()))
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub records: Vec<Record>,
    pub next_link: Option<String>,
    pub count: Option<u64>,
}

/// A JSON number or numeric text as a decimal, through its text.
pub fn decimal_of(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            text.parse().ok().or_else(|| Decimal::from_scientific(&text).ok())
        }
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A decimal as a JSON number, refused when the number would not carry it exactly.
pub fn decimal_value(amount: Decimal) -> Result<Value, String> {
    let text = amount.normalize().to_string();
    let number: serde_json::Number = text.parse().map_err(|_| format!("{text} is not a JSON number"))?;
    if decimal_of(&Value::Number(number.clone())).map(|d| d.normalize()) != Some(amount.normalize()) {
        return Err(format!("{text} cannot be sent exactly as a JSON number"));
    }
    Ok(Value::Number(number))
}

/// Serde for `Decimal` fields as JSON numbers.
pub mod decimal {
    use super::*;

    pub fn serialize<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        decimal_value(*value).map_err(serde::ser::Error::custom)?.serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let value = Value::deserialize(d)?;
        match value {
            Value::Null => Ok(Decimal::ZERO),
            other => decimal_of(&other).ok_or_else(|| serde::de::Error::custom(format!("{other} is not a decimal"))),
        }
    }

    /// For `Option<Decimal>` fields of create bodies (absent: the entity defaults it).
    pub mod option {
        use super::*;

        pub fn serialize<S: serde::Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            let value = Value::deserialize(d)?;
            match value {
                Value::Null => Ok(None),
                other => decimal_of(&other)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom(format!("{other} is not a decimal"))),
            }
        }
    }
}

/// Why an id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{value}': {reason}")]
pub struct IdError {
    pub kind: &'static str,
    pub value: String,
    pub reason: &'static str,
}

macro_rules! fno_id {
    ($(#[$meta:meta])* $name:ident, $max:expr, $lower:expr, $alnum:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value: String = value.into();
                let value = if $lower { value.to_lowercase() } else { value };
                let reason = if value.trim().is_empty() {
                    Some("it is empty")
                } else if value.chars().count() > $max {
                    Some(concat!("it is longer than ", stringify!($max), " characters"))
                } else if value.chars().any(char::is_control) {
                    Some("it contains control characters")
                } else if $alnum && !value.chars().all(|c| c.is_ascii_alphanumeric()) {
                    Some("it may hold only letters and digits")
                } else {
                    None
                };
                match reason {
                    Some(reason) => {
                        let shown: String = value.chars().take(40).collect();
                        Err(IdError { kind: stringify!($name), value: shown, reason })
                    }
                    None => Ok($name(value)),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl From<&$name> for super::query::Literal {
            fn from(value: &$name) -> Self {
                super::query::Literal::Text(value.0.clone())
            }
        }
    };
}

fno_id!(
    /// A legal entity (company) id, e.g. `usmf`; F&O compares them case-insensitively and
    /// answers in lower case.
    DataAreaId, 4, true, true
);
fno_id!(SalesOrderNumber, 20, false, false);
fno_id!(ReturnOrderNumber, 20, false, false);
fno_id!(JournalBatchNumber, 20, false, false);
fno_id!(CustomerAccount, 20, false, false);
fno_id!(ItemNumber, 20, false, false);

/// `SalesStatus` (DYNAMICS.md §B.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SalesStatus {
    #[default]
    None,
    Backorder,
    Delivered,
    Invoiced,
    Canceled,
    /// A member this connector does not know (kept pending, never guessed).
    #[serde(other)]
    Unknown,
}

/// `ReturnStatusLine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReturnStatusLine {
    #[default]
    None,
    Awaiting,
    Registered,
    Quarantine,
    Received,
    Invoiced,
    Canceled,
    #[serde(other)]
    Unknown,
}

/// `LedgerJournalACType` (values Ledger 0, Cust 1, Vend 2, Project 3, FixedAssets 5, Bank 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LedgerJournalAcType {
    #[default]
    Ledger,
    Cust,
    Vend,
    Project,
    FixedAssets,
    Bank,
}

impl LedgerJournalAcType {
    /// The enum's name in `$filter` literals.
    pub const TYPE_NAME: &'static str = "LedgerJournalACType";
}

/// An entity the client can read typed: its set, the fields it selects and its key.
pub trait Entity: serde::de::DeserializeOwned {
    const SET: &'static str;
    const FIELDS: &'static [&'static str];
}

macro_rules! entity {
    ($ty:ident, $set:expr, [$($field:expr),* $(,)?]) => {
        impl Entity for $ty {
            const SET: &'static str = $set;
            const FIELDS: &'static [&'static str] = &[$($field),*];
        }
    };
}

/// A sales order header (SalesOrderHeadersV2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SalesOrderHeader {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub sales_order_number: SalesOrderNumber,
    pub ordering_customer_account_number: CustomerAccount,
    pub invoice_customer_account_number: String,
    pub customer_requisition_number: String,
    pub customers_order_reference: String,
    pub currency_code: String,
    pub sales_order_name: String,
    pub sales_order_status: SalesStatus,
    pub delivery_mode_code: String,
    pub default_shipping_site_id: String,
    pub default_shipping_warehouse_id: String,
    pub requested_shipping_date: String,
    pub delivery_address_name: String,
    pub delivery_address_street: String,
    pub delivery_address_city: String,
    pub delivery_address_state_id: String,
    pub delivery_address_zip_code: String,
    pub delivery_address_country_region_id: String,
    pub email: String,
    pub modified_date_time: String,
}
entity!(
    SalesOrderHeader,
    "SalesOrderHeadersV2",
    [
        "dataAreaId",
        "SalesOrderNumber",
        "OrderingCustomerAccountNumber",
        "InvoiceCustomerAccountNumber",
        "CustomerRequisitionNumber",
        "CustomersOrderReference",
        "CurrencyCode",
        "SalesOrderName",
        "SalesOrderStatus",
        "DeliveryModeCode",
        "DefaultShippingSiteId",
        "DefaultShippingWarehouseId",
        "RequestedShippingDate",
        "DeliveryAddressName",
        "DeliveryAddressStreet",
        "DeliveryAddressCity",
        "DeliveryAddressStateId",
        "DeliveryAddressZipCode",
        "DeliveryAddressCountryRegionId",
        "Email",
        "ModifiedDateTime",
    ]
);

/// A new sales order: what is absent, the entity defaults (number, currency, site, …).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NewSalesOrder {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: Option<DataAreaId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_order_number: Option<SalesOrderNumber>,
    pub ordering_customer_account_number: Option<CustomerAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_requisition_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers_order_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_mode_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_shipping_site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_shipping_warehouse_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address_street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address_city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address_state_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address_zip_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address_country_region_id: Option<String>,
}

/// A sales order line (SalesOrderLines; key dataAreaId + InventoryLotId).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SalesOrderLine {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub inventory_lot_id: String,
    pub sales_order_number: SalesOrderNumber,
    #[serde(with = "decimal")]
    pub line_number: Decimal,
    pub item_number: ItemNumber,
    #[serde(with = "decimal")]
    pub ordered_sales_quantity: Decimal,
    #[serde(with = "decimal")]
    pub sales_price: Decimal,
    #[serde(with = "decimal")]
    pub line_discount_amount: Decimal,
    #[serde(with = "decimal")]
    pub line_amount: Decimal,
    pub currency_code: String,
    pub sales_unit_symbol: String,
    pub shipping_site_id: String,
    pub shipping_warehouse_id: String,
    pub sales_order_line_status: SalesStatus,
    pub line_description: String,
}
entity!(
    SalesOrderLine,
    "SalesOrderLines",
    [
        "dataAreaId",
        "InventoryLotId",
        "SalesOrderNumber",
        "LineNumber",
        "ItemNumber",
        "OrderedSalesQuantity",
        "SalesPrice",
        "LineDiscountAmount",
        "LineAmount",
        "CurrencyCode",
        "SalesUnitSymbol",
        "ShippingSiteId",
        "ShippingWarehouseId",
        "SalesOrderLineStatus",
        "LineDescription",
    ]
);

/// A new sales order line; absent price, unit, site and warehouse come from the header and
/// the released product.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NewSalesOrderLine {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: Option<DataAreaId>,
    pub sales_order_number: Option<SalesOrderNumber>,
    pub item_number: Option<ItemNumber>,
    #[serde(with = "decimal::option", skip_serializing_if = "Option::is_none")]
    pub ordered_sales_quantity: Option<Decimal>,
    #[serde(with = "decimal::option", skip_serializing_if = "Option::is_none")]
    pub sales_price: Option<Decimal>,
    #[serde(with = "decimal::option", skip_serializing_if = "Option::is_none")]
    pub line_discount_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_warehouse_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_item_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_description: Option<String>,
}

/// A customer (CustomersV3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Customer {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub customer_account: CustomerAccount,
    pub organization_name: String,
    pub customer_group_id: String,
    pub sales_currency_code: String,
    pub primary_contact_email: String,
    pub address_country_region_id: String,
}
entity!(
    Customer,
    "CustomersV3",
    [
        "dataAreaId",
        "CustomerAccount",
        "OrganizationName",
        "CustomerGroupId",
        "SalesCurrencyCode",
        "PrimaryContactEmail",
        "AddressCountryRegionId",
    ]
);

/// A new customer; the account comes from the number sequence when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NewCustomer {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: Option<DataAreaId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_account: Option<CustomerAccount>,
    pub organization_name: String,
    pub customer_group_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_currency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_contact_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_country_region_id: Option<String>,
}

/// A released product (ReleasedProductsV2; it has no `ProductName`, DYNAMICS.md §B.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReleasedProduct {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub item_number: ItemNumber,
    pub product_number: String,
    pub search_name: String,
    #[serde(with = "decimal")]
    pub sales_price: Decimal,
    pub sales_unit_symbol: String,
    pub inventory_unit_symbol: String,
    pub modified_date_time: String,
}
entity!(
    ReleasedProduct,
    "ReleasedProductsV2",
    [
        "dataAreaId",
        "ItemNumber",
        "ProductNumber",
        "SearchName",
        "SalesPrice",
        "SalesUnitSymbol",
        "InventoryUnitSymbol",
        "ModifiedDateTime",
    ]
);

/// On-hand per warehouse (WarehousesOnHandV2; several rows per item and warehouse when
/// products have dimensions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WarehouseOnHand {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub item_number: ItemNumber,
    pub product_color_id: String,
    pub product_configuration_id: String,
    pub product_size_id: String,
    pub product_style_id: String,
    pub product_version_id: String,
    pub inventory_site_id: String,
    pub inventory_warehouse_id: String,
    #[serde(with = "decimal")]
    pub on_hand_quantity: Decimal,
    #[serde(with = "decimal")]
    pub available_on_hand_quantity: Decimal,
    #[serde(with = "decimal")]
    pub reserved_on_hand_quantity: Decimal,
    #[serde(with = "decimal")]
    pub total_available_quantity: Decimal,
}
entity!(
    WarehouseOnHand,
    "WarehousesOnHandV2",
    [
        "dataAreaId",
        "ItemNumber",
        "ProductColorId",
        "ProductConfigurationId",
        "ProductSizeId",
        "ProductStyleId",
        "ProductVersionId",
        "InventorySiteId",
        "InventoryWarehouseId",
        "OnHandQuantity",
        "AvailableOnHandQuantity",
        "ReservedOnHandQuantity",
        "TotalAvailableQuantity",
    ]
);

/// On-hand per site (InventorySitesOnHandV2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SiteOnHand {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub item_number: ItemNumber,
    pub inventory_site_id: String,
    #[serde(with = "decimal")]
    pub on_hand_quantity: Decimal,
    #[serde(with = "decimal")]
    pub available_on_hand_quantity: Decimal,
}
entity!(
    SiteOnHand,
    "InventorySitesOnHandV2",
    ["dataAreaId", "ItemNumber", "InventorySiteId", "OnHandQuantity", "AvailableOnHandQuantity",]
);

/// A return order (ReturnOrderHeaders).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReturnOrderHeader {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub return_order_number: ReturnOrderNumber,
    #[serde(rename = "RMANumber")]
    pub rma_number: String,
    pub customer_account_number: CustomerAccount,
    pub customer_return_reason_code: String,
    pub customers_order_reference: String,
    pub customer_requisition_number: String,
    pub currency_code: String,
    pub return_order_status: SalesStatus,
    pub default_return_site_id: String,
    pub default_return_warehouse_id: String,
    pub modified_date_time: String,
}
entity!(
    ReturnOrderHeader,
    "ReturnOrderHeaders",
    [
        "dataAreaId",
        "ReturnOrderNumber",
        "RMANumber",
        "CustomerAccountNumber",
        "CustomerReturnReasonCode",
        "CustomersOrderReference",
        "CustomerRequisitionNumber",
        "CurrencyCode",
        "ReturnOrderStatus",
        "DefaultReturnSiteId",
        "DefaultReturnWarehouseId",
        "ModifiedDateTime",
    ]
);

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NewReturnOrder {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: Option<DataAreaId>,
    pub customer_account_number: Option<CustomerAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_return_reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers_order_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_requisition_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_return_site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_return_warehouse_id: Option<String>,
}

/// A return order line (ReturnOrderLines; quantities are negative, as on F&O returns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReturnOrderLine {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub return_order_number: ReturnOrderNumber,
    pub return_inventory_lot_id: String,
    pub item_number: ItemNumber,
    #[serde(with = "decimal")]
    pub return_sales_quantity: Decimal,
    #[serde(with = "decimal")]
    pub sales_price: Decimal,
    #[serde(with = "decimal")]
    pub line_amount: Decimal,
    pub return_status: ReturnStatusLine,
    pub return_disposition_code: String,
    pub return_site_id: String,
    pub return_warehouse_id: String,
}
entity!(
    ReturnOrderLine,
    "ReturnOrderLines",
    [
        "dataAreaId",
        "ReturnOrderNumber",
        "ReturnInventoryLotId",
        "ItemNumber",
        "ReturnSalesQuantity",
        "SalesPrice",
        "LineAmount",
        "ReturnStatus",
        "ReturnDispositionCode",
        "ReturnSiteId",
        "ReturnWarehouseId",
    ]
);

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NewReturnOrderLine {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: Option<DataAreaId>,
    pub return_order_number: Option<ReturnOrderNumber>,
    pub item_number: Option<ItemNumber>,
    #[serde(with = "decimal::option")]
    pub return_sales_quantity: Option<Decimal>,
    #[serde(with = "decimal::option", skip_serializing_if = "Option::is_none")]
    pub sales_price: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_disposition_code: Option<String>,
}

/// A general journal (LedgerJournalHeaders).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LedgerJournalHeader {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub journal_batch_number: JournalBatchNumber,
    pub journal_name: String,
    pub description: String,
    pub accounting_currency: String,
    pub integration_key: String,
    pub is_posted: String,
    #[serde(with = "decimal")]
    pub journal_total_debit: Decimal,
    #[serde(with = "decimal")]
    pub journal_total_credit: Decimal,
}
entity!(
    LedgerJournalHeader,
    "LedgerJournalHeaders",
    [
        "dataAreaId",
        "JournalBatchNumber",
        "JournalName",
        "Description",
        "AccountingCurrency",
        "IntegrationKey",
        "IsPosted",
        "JournalTotalDebit",
        "JournalTotalCredit",
    ]
);

/// A new journal; `IntegrationKey` is where a settlement id goes for idempotent lookups.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NewLedgerJournal {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: Option<DataAreaId>,
    pub journal_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_key: Option<String>,
}

/// A general journal line (LedgerJournalLines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LedgerJournalLine {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: DataAreaId,
    pub journal_batch_number: JournalBatchNumber,
    #[serde(with = "decimal")]
    pub line_number: Decimal,
    pub account_type: LedgerJournalAcType,
    pub account_display_value: String,
    pub offset_account_type: LedgerJournalAcType,
    pub offset_account_display_value: String,
    #[serde(with = "decimal")]
    pub debit_amount: Decimal,
    #[serde(with = "decimal")]
    pub credit_amount: Decimal,
    pub currency_code: String,
    pub trans_date: String,
    pub text: String,
    pub document: String,
}
entity!(
    LedgerJournalLine,
    "LedgerJournalLines",
    [
        "dataAreaId",
        "JournalBatchNumber",
        "LineNumber",
        "AccountType",
        "AccountDisplayValue",
        "OffsetAccountType",
        "OffsetAccountDisplayValue",
        "DebitAmount",
        "CreditAmount",
        "CurrencyCode",
        "TransDate",
        "Text",
        "Document",
    ]
);

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NewLedgerJournalLine {
    #[serde(rename = "dataAreaId")]
    pub data_area_id: Option<DataAreaId>,
    pub journal_batch_number: Option<JournalBatchNumber>,
    #[serde(with = "decimal::option", skip_serializing_if = "Option::is_none")]
    pub line_number: Option<Decimal>,
    pub account_type: LedgerJournalAcType,
    pub account_display_value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_account_type: Option<LedgerJournalAcType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_account_display_value: Option<String>,
    #[serde(with = "decimal::option", skip_serializing_if = "Option::is_none")]
    pub debit_amount: Option<Decimal>,
    #[serde(with = "decimal::option", skip_serializing_if = "Option::is_none")]
    pub credit_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trans_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

/// A value serialised to a JSON object body (a create or update).
pub fn body_of<T: Serialize>(value: &T) -> Result<Map<String, Value>, String> {
    match serde_json::to_value(value) {
        Ok(Value::Object(mut map)) => {
            // `None` company: the connection's company is filled in by the client.
            map.retain(|_, v| !v.is_null());
            Ok(map)
        }
        Ok(_) => Err("the body is not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}
