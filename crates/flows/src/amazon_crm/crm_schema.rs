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
