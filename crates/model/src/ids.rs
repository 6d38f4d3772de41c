//! One identifier type per system and entity.
//!
//! Each id is a distinct type, so an Amazon order id cannot be passed where an F&O sales
//! order number is expected, and each is validated where it enters (parse or deserialize),
//! so a malformed id fails with its type and value instead of as a remote 404 later.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::record_ref::{RecordRef, System};

/// A value that is not a valid id of the named type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {reason}")]
pub struct IdError {
    kind: &'static str,
    value: String,
    reason: &'static str,
}

impl IdError {
    pub(crate) fn new(kind: &'static str, value: &str, reason: &'static str) -> Self {
        IdError { kind, value: excerpt(value), reason }
    }

    /// The id type that rejected the value, e.g. `"AmazonOrderId"`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The rejected value (cut after 64 characters).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What was expected.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// Cuts a rejected value so a megabyte of garbage does not end up in an error message.
pub(crate) fn excerpt(value: &str) -> String {
    const MAX: usize = 64;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// An id whose system and entity are fixed by its type, so it can become a [`RecordRef`]
/// (for the xref table) and be read back from one.
pub trait SystemId: AsRef<str> + Sized {
    /// The system that issues this id.
    const SYSTEM: System;
    /// The entity it identifies, as written in [`RecordRef::entity`].
    const ENTITY: &'static str;

    /// This id as a system-neutral reference.
    fn record_ref(&self) -> RecordRef {
        RecordRef::from_trusted(Self::SYSTEM, Self::ENTITY, self.as_ref())
    }
}

/// Defines a validated string newtype; `$check` returns the reason on failure.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $check:path) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps the value.
            pub fn new(value: impl Into<String>) -> Result<Self, $crate::ids::IdError> {
                let value = value.into();
                match $check(&value) {
                    Ok(()) => Ok($name(value)),
                    Err(reason) => Err($crate::ids::IdError::new(stringify!($name), &value, reason)),
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ids::IdError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::ids::IdError;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

pub(crate) use string_id;

/// Ties a fixed-entity id type to its system for [`SystemId`].
macro_rules! system_id {
    ($name:ident, $system:expr, $entity:literal) => {
        impl SystemId for $name {
            const SYSTEM: System = $system;
            const ENTITY: &'static str = $entity;
        }
    };
}

// --- validators: each returns what was expected -------------------------------------------

/// Printable text of `1..=max` characters without surrounding spaces: free-form keys of
/// ERPs and stores, bounded by the target column's length.
fn is_clean_text(value: &str, max: usize) -> bool {
    let count = value.chars().count();
    (1..=max).contains(&count) && value.trim() == value && !value.chars().any(char::is_control)
}

fn is_digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

fn check_amazon_order_id(value: &str) -> Result<(), &'static str> {
    let mut parts = value.split('-');
    let ok = [3, 7, 7].iter().all(|&len| parts.next().is_some_and(|p| p.len() == len && is_digits(p)))
        && parts.next().is_none();
    ok.then_some(()).ok_or("expected 3-7-7 digits like 123-1234567-1234567")
}

fn check_amazon_seller_sku(value: &str) -> Result<(), &'static str> {
    is_clean_text(value, 50)
        .then_some(())
        .ok_or("expected 1 to 50 characters without control characters or surrounding spaces")
}

fn check_sku(value: &str) -> Result<(), &'static str> {
    is_clean_text(value, 100)
        .then_some(())
        .ok_or("expected 1 to 100 characters without control characters or surrounding spaces")
}

fn check_asin(value: &str) -> Result<(), &'static str> {
    (value.len() == 10 && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        .then_some(())
        .ok_or("expected 10 uppercase letters or digits like B000123456")
}

fn check_amazon_fulfillment_order_id(value: &str) -> Result<(), &'static str> {
    ((1..=40).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then_some(())
        .ok_or("expected 1 to 40 characters of A-Z, a-z, 0-9, '-' or '_'")
}

fn check_amazon_marketplace_id(value: &str) -> Result<(), &'static str> {
    ((1..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        .then_some(())
        .ok_or("expected 1 to 32 uppercase letters or digits like ATVPDKIKX0DER")
}

fn check_amazon_settlement_id(value: &str) -> Result<(), &'static str> {
    ((1..=32).contains(&value.len()) && is_digits(value)).then_some(()).ok_or("expected 1 to 32 digits")
}

fn check_fno_key(value: &str) -> Result<(), &'static str> {
    is_clean_text(value, 20)
        .then_some(())
        .ok_or("expected 1 to 20 characters without control characters or surrounding spaces")
}

fn check_sl_order_number(value: &str) -> Result<(), &'static str> {
    is_clean_text(value, 15)
        .then_some(())
        .ok_or("expected 1 to 15 characters without control characters or surrounding spaces")
}

fn check_clarity_id(value: &str) -> Result<(), &'static str> {
    is_clean_text(value, 128)
        .then_some(())
        .ok_or("expected 1 to 128 characters without control characters or surrounding spaces")
}

fn check_slug(value: &str) -> Result<(), &'static str> {
    ((1..=64).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'))
    .then_some(())
    .ok_or("expected 1 to 64 characters of a-z, 0-9, '_' or '-'")
}

// --- Amazon --------------------------------------------------------------------------------

string_id! {
    /// Amazon order id, `3-7-7` digits (`123-1234567-1234567`); sandbox orders use the same
    /// shape. Amazon's static-sandbox placeholders such as `TEST_CASE_200` are rejected.
    AmazonOrderId, check_amazon_order_id
}
system_id!(AmazonOrderId, System::Amazon, "order");

string_id! {
    /// The seller's SKU as Amazon knows it: 1–50 characters (the longest limit in the
    /// SP-API models), no control characters, no surrounding spaces.
    AmazonSellerSku, check_amazon_seller_sku
}
system_id!(AmazonSellerSku, System::Amazon, "sku");

string_id! {
    /// Amazon Standard Identification Number: 10 uppercase letters or digits.
    Asin, check_asin
}
system_id!(Asin, System::Amazon, "asin");

string_id! {
    /// `sellerFulfillmentOrderId` of an FBA multi-channel order, chosen by us; it is the
    /// idempotency key of createFulfillmentOrder. 1–40 of `[A-Za-z0-9_-]`.
    AmazonFulfillmentOrderId, check_amazon_fulfillment_order_id
}
system_id!(AmazonFulfillmentOrderId, System::Amazon, "fulfillment_order");

string_id! {
    /// Amazon marketplace id such as `ATVPDKIKX0DER` (US).
    AmazonMarketplaceId, check_amazon_marketplace_id
}
system_id!(AmazonMarketplaceId, System::Amazon, "marketplace");

string_id! {
    /// `settlement-id` of a settlement report: digits.
    AmazonSettlementId, check_amazon_settlement_id
}
system_id!(AmazonSettlementId, System::Amazon, "settlement");

// --- canonical -----------------------------------------------------------------------------

string_id! {
    /// The seller's own item code, the key that joins a product across systems (Amazon
    /// SellerSKU, F&O ItemNumber, SL InvtID, store SKU). 1–100 characters, no control
    /// characters, no surrounding spaces; each target's own length limit is checked by
    /// its connector.
    Sku, check_sku
}

impl From<AmazonSellerSku> for Sku {
    fn from(value: AmazonSellerSku) -> Self {
        // Every valid Amazon SKU (≤ 50) is a valid canonical SKU (≤ 100).
        Sku(value.0)
    }
}

impl TryFrom<Sku> for AmazonSellerSku {
    type Error = IdError;

    fn try_from(value: Sku) -> Result<Self, Self::Error> {
        AmazonSellerSku::new(value.0)
    }
}

// --- Dynamics 365 Finance & Operations -----------------------------------------------------

string_id! {
    /// F&O `SalesOrderNumber` (SalesId, up to 20 characters). Unique within a legal entity
    /// (`dataAreaId`), which the connection configures.
    FnoSalesOrderNumber, check_fno_key
}
system_id!(FnoSalesOrderNumber, System::FinanceOperations, "sales_order");

string_id! {
    /// F&O `CustomerAccount` (up to 20 characters), within a legal entity.
    FnoCustomerAccount, check_fno_key
}
system_id!(FnoCustomerAccount, System::FinanceOperations, "customer");

// --- Dynamics SL ---------------------------------------------------------------------------

string_id! {
    /// SL `SOHeader.OrdNbr` (char 15), without SQL Server's trailing padding.
    SlOrderNumber, check_sl_order_number
}
system_id!(SlOrderNumber, System::DynamicsSl, "sales_order");

// --- Clarity eCommerce ---------------------------------------------------------------------

string_id! {
    /// A Clarity eCommerce record id or key (1–128 characters). Its entity varies, so build
    /// a [`RecordRef`] with [`RecordRef::clarity`].
    ClarityId, check_clarity_id
}

// --- Ferry's own ---------------------------------------------------------------------------

string_id! {
    /// A tenant (one seller) of a multi-tenant installation: 1–64 of `[a-z0-9_-]`, so it is
    /// safe in URLs, file names and metric labels.
    TenantId, check_slug
}

string_id! {
    /// A configured connection (one account of one system), same rules as [`TenantId`].
    ConnectionId, check_slug
}

// --- Dataverse -----------------------------------------------------------------------------

/// A Dataverse row id (GUID). Its entity varies (contact, account, salesorder…), so build a
/// [`RecordRef`] with [`RecordRef::dataverse`]. The nil GUID is rejected: Dataverse never
/// issues it, and it usually means a missing value defaulted somewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DataverseId(uuid::Uuid);

impl DataverseId {
    /// Wraps a GUID, rejecting nil.
    pub fn new(value: uuid::Uuid) -> Result<Self, IdError> {
        if value.is_nil() {
            return Err(IdError::new("DataverseId", &value.to_string(), "the nil GUID is not a Dataverse id"));
        }
        Ok(DataverseId(value))
    }

    /// The GUID.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl fmt::Display for DataverseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lowercase hyphenated, as the Web API writes it in URLs and bodies.
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for DataverseId {
    type Err = IdError;

    /// Accepts the hyphenated, braced (`{…}`), simple and URN forms.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uuid = uuid::Uuid::parse_str(s).map_err(|_| IdError::new("DataverseId", s, "expected a GUID"))?;
        DataverseId::new(uuid)
    }
}

impl TryFrom<String> for DataverseId {
    type Error = IdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl TryFrom<&str> for DataverseId {
    type Error = IdError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<DataverseId> for String {
    fn from(value: DataverseId) -> Self {
        value.to_string()
    }
}

impl From<DataverseId> for uuid::Uuid {
    fn from(value: DataverseId) -> Self {
        value.0
    }
}

impl AsRef<uuid::Uuid> for DataverseId {
    fn as_ref(&self) -> &uuid::Uuid {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_values_on_a_char_boundary() {
        let long = "é".repeat(100);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), 65);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
    }

    #[test]
    fn order_id_shape() {
        assert!(check_amazon_order_id("123-1234567-1234567").is_ok());
        for bad in [
            "",
            "123-1234567-123456",
            "123-1234567-1234567-1",
            "12a-1234567-1234567",
            "1231234567-1234567",
            "123-1234567-1234567 ",
            "١٢٣-1234567-1234567",
        ] {
            assert!(check_amazon_order_id(bad).is_err(), "{bad:?}");
        }
    }
}
