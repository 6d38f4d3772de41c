//! What the shipped flows need in a Dataverse org beyond a stock one: the custom columns they
//! write and read, and the alternate keys their writes are keyed by. `ferry setup` creates them
//! through the metadata API. The buyer's contact needs no key: F1 creates it with a
//! deterministic id (see `amazon_orders::contact_id`), because real orgs often hold several
//! contacts with one email, on which a key on `emailaddress1` could never be built.

use ferry_connectors::dataverse::{ColumnDefinition, ColumnKind, KeyDefinition};

use super::fba_status::{SHIP_DATE_COLUMN, STATUS_COLUMN};

/// A column on a table.
#[derive(Debug, Clone)]
pub struct RequiredColumn {
    pub entity: &'static str,
    pub column: ColumnDefinition,
}

/// A key on a table.
#[derive(Debug, Clone)]
pub struct RequiredKey {
    pub entity: &'static str,
    pub key: KeyDefinition,
}

fn text(entity: &'static str, schema: &str, label: &str, description: &str, max_length: u32) -> RequiredColumn {
    RequiredColumn {
        entity,
        column: ColumnDefinition {
            schema_name: schema.to_owned(),
            label: label.to_owned(),
            description: description.to_owned(),
            kind: ColumnKind::Text { max_length },
        },
    }
}

fn date(entity: &'static str, schema: &str, label: &str, description: &str) -> RequiredColumn {
    RequiredColumn {
        entity,
        column: ColumnDefinition {
            schema_name: schema.to_owned(),
            label: label.to_owned(),
            description: description.to_owned(),
            kind: ColumnKind::DateOnly,
        },
    }
}

fn key(entity: &'static str, schema: &str, label: &str, columns: &[&str]) -> RequiredKey {
    RequiredKey {
        entity,
        key: KeyDefinition {
            schema_name: schema.to_owned(),
            label: label.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        },
    }
}

/// The custom columns of F1 (Amazon orders → CRM) and F2 (CRM orders → FBA, status back).
pub fn columns() -> Vec<RequiredColumn> {
    let columns = vec![
        text("salesorder", "new_AmazonOrderId", "Amazon Order Id", "The Amazon order this order came from.", 50),
        text("salesorder", "new_MarketplaceId", "Amazon Marketplace", "The Amazon marketplace of the order.", 20),
        text("salesorder", "new_FulfillmentChannel", "Fulfillment Channel", "AFN (Amazon) or MFN (merchant).", 10),
        date("salesorder", "new_OrderDate", "Amazon Order Date", "When the buyer placed the Amazon order."),
        text("salesorder", "new_TrackingNumber", "Tracking Number", "The shipment's tracking number.", 100),
        text("salesorder", "new_Carrier", "Carrier", "The carrier of the shipment.", 100),
        text(
            "salesorder",
            "new_FulfillmentStatus",
            "FBA Fulfillment Status",
            "Status of the FBA fulfilment order.",
            50,
        ),
        date("salesorder", "new_ShipDate", "Ship Date", "When the fulfilment order shipped."),
        text("salesorderdetail", "new_SourceLineId", "Source Line Id", "The Amazon order item of this line.", 100),
        text("salesorderdetail", "new_Asin", "ASIN", "The Amazon product of this line.", 20),
        text("product", "new_FulfillmentChannel", "Fulfillment Channel", "FBA or MFN: who ships this product.", 10),
    ];
    debug_assert!(columns.iter().any(|c| c.column.logical_name() == STATUS_COLUMN));
    debug_assert!(columns.iter().any(|c| c.column.logical_name() == SHIP_DATE_COLUMN));
    columns
}

/// The alternate keys the flows' writes are keyed by.
pub fn keys() -> Vec<RequiredKey> {
    vec![
        key("salesorder", "new_ordernumber_key", "Order Number", &["ordernumber"]),
        key("salesorderdetail", "new_sourcelineid_key", "Source Line Id", &["new_sourcelineid"]),
        key("product", "new_productnumber_key", "Product Number", &["productnumber"]),
    ]
}

/// Which flow of the pair asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    OrdersToCrm,
    CrmToFba,
}

/// What F2 (and its status companion) writes and reads; the rest of [`columns`] is F1's.
const F2_COLUMNS: &[&str] = &["new_trackingnumber", "new_carrier", "new_fulfillmentstatus", "new_shipdate"];

/// The customisations one flow needs on its `crm` connection: F1 writes the Amazon columns and
/// upserts by every key; F2 writes the shipment columns and reads the products' channel.
pub fn requirements(flow: Flow) -> Vec<(&'static str, crate::plugin::Requirement)> {
    use crate::plugin::Requirement;
    let f2 = |c: &RequiredColumn| {
        F2_COLUMNS.contains(&c.column.logical_name().as_str())
            || (c.entity == "product" && c.column.logical_name() == "new_fulfillmentchannel")
    };
    let f1 = |c: &RequiredColumn| !F2_COLUMNS.contains(&c.column.logical_name().as_str());
    let columns = columns()
        .into_iter()
        .filter(|c| match flow {
            Flow::OrdersToCrm => f1(c),
            Flow::CrmToFba => f2(c),
        })
        .map(|c| ("crm", Requirement::Column { entity: c.entity, column: c.column }));
    let keys = keys()
        .into_iter()
        .filter(|_| flow == Flow::OrdersToCrm)
        .map(|k| ("crm", Requirement::Key { entity: k.entity, key: k.key }));
    columns.chain(keys).collect()
}

/// The salesorder columns F1's mapping may set (DYNAMICS.md, salesorder), with their types, for
/// the designer's suggestions. Calculated and read-only columns are left out.
pub fn salesorder_fields() -> Vec<ferry_mapping::suggest::TargetField> {
    use ferry_mapping::suggest::{FieldKind as K, TargetField as F};
    let mut fields = vec![
        F::new("name", Some("Name"), K::Text).with_max_len(300),
        F::new("ordernumber", Some("Order ID"), K::Text).with_max_len(100),
        F::new("customerid", Some("Customer"), K::Reference),
        F::new("pricelevelid", Some("Price List"), K::Reference),
        F::new("transactioncurrencyid", Some("Currency"), K::Currency),
        F::new("freightamount", Some("Freight Amount"), K::Money),
        F::new("discountamount", Some("Order Discount Amount"), K::Money),
        F::new("discountpercentage", Some("Order Discount (%)"), K::Decimal),
        F::new("requestdeliveryby", Some("Requested Delivery Date"), K::Date),
        F::new("datefulfilled", Some("Date Fulfilled"), K::Date),
        F::new("submitdate", Some("Date Submitted"), K::Date),
        F::new("description", Some("Description"), K::Text).with_max_len(2000),
        F::new("shippingmethodcode", Some("Shipping Method"), K::Choice),
        F::new("statuscode", Some("Status Reason"), K::Choice),
    ];
    for (prefix, label) in [("shipto", "Ship To"), ("billto", "Bill To")] {
        for (column, what, kind, len) in [
            ("name", "Name", K::Text, 200),
            ("line1", "Street 1", K::Text, 250),
            ("line2", "Street 2", K::Text, 250),
            ("line3", "Street 3", K::Text, 250),
            ("city", "City", K::Text, 80),
            ("stateorprovince", "State/Province", K::State, 50),
            ("postalcode", "ZIP/Postal Code", K::PostalCode, 20),
            ("country", "Country/Region", K::Country, 80),
            ("telephone", "Phone", K::Phone, 50),
            ("contactname", "Contact Name", K::Text, 150),
        ] {
            fields
                .push(F::new(&format!("{prefix}_{column}"), Some(&format!("{label} {what}")), kind).with_max_len(len));
        }
    }
    fields
}

/// The createFulfillmentOrder request fields F2's mapping may set (the SP-API Fulfillment
/// Outbound model), for the designer's suggestions.
pub fn fulfillment_order_fields() -> Vec<ferry_mapping::suggest::TargetField> {
    use ferry_mapping::suggest::{FieldKind as K, TargetField as F};
    vec![
        F::new("sellerFulfillmentOrderId", Some("Seller fulfillment order id"), K::Text).with_max_len(40),
        F::new("displayableOrderId", Some("Displayable order id"), K::Text).with_max_len(40),
        F::new("displayableOrderDate", Some("Displayable order date"), K::DateTime),
        F::new("displayableOrderComment", Some("Displayable order comment"), K::Text).with_max_len(750),
        F::new("shippingSpeedCategory", Some("Shipping speed"), K::Choice),
        F::new("destinationAddress.name", Some("Recipient name"), K::Text).with_max_len(50),
        F::new("destinationAddress.addressLine1", Some("Address line 1"), K::Text).with_max_len(60),
        F::new("destinationAddress.addressLine2", Some("Address line 2"), K::Text).with_max_len(60),
        F::new("destinationAddress.city", Some("City"), K::Text).with_max_len(50),
        F::new("destinationAddress.stateOrRegion", Some("State or region"), K::State).with_max_len(150),
        F::new("destinationAddress.postalCode", Some("Postal code"), K::PostalCode).with_max_len(20),
        F::new("destinationAddress.countryCode", Some("Country code"), K::Country).with_max_len(2),
        F::new("destinationAddress.phone", Some("Phone"), K::Phone).with_max_len(20),
        F::new("notificationEmails", Some("Notification e-mails"), K::Email),
        F::new("fulfillmentAction", Some("Fulfillment action"), K::Choice),
        F::new("items", Some("Items"), K::Lines),
    ]
}
