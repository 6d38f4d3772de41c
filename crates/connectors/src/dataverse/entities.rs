//! The tables the flows use: entity set (URL) name, logical name and primary id column, so
//! flows and transformers name them one way.

/// One table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    pub logical: &'static str,
    pub set: &'static str,
    pub primary_id: &'static str,
}

const fn e(logical: &'static str, set: &'static str, primary_id: &'static str) -> Entity {
    Entity { logical, set, primary_id }
}

pub const SALES_ORDER: Entity = e("salesorder", "salesorders", "salesorderid");
pub const SALES_ORDER_DETAIL: Entity = e("salesorderdetail", "salesorderdetails", "salesorderdetailid");
pub const CONTACT: Entity = e("contact", "contacts", "contactid");
pub const ACCOUNT: Entity = e("account", "accounts", "accountid");
pub const PRODUCT: Entity = e("product", "products", "productid");
pub const TRANSACTION_CURRENCY: Entity = e("transactioncurrency", "transactioncurrencies", "transactioncurrencyid");
pub const UOM: Entity = e("uom", "uoms", "uomid");
pub const UOM_SCHEDULE: Entity = e("uomschedule", "uomschedules", "uomscheduleid");
pub const PRICE_LEVEL: Entity = e("pricelevel", "pricelevels", "pricelevelid");
pub const PRODUCT_PRICE_LEVEL: Entity = e("productpricelevel", "productpricelevels", "productpricelevelid");
pub const INCIDENT: Entity = e("incident", "incidents", "incidentid");
/// Activities share the `activityid` key.
pub const TASK: Entity = e("task", "tasks", "activityid");

/// Every table above.
pub const ALL: [Entity; 12] = [
    SALES_ORDER,
    SALES_ORDER_DETAIL,
    CONTACT,
    ACCOUNT,
    PRODUCT,
    TRANSACTION_CURRENCY,
    UOM,
    UOM_SCHEDULE,
    PRICE_LEVEL,
    PRODUCT_PRICE_LEVEL,
    INCIDENT,
    TASK,
];

/// The table with this logical or entity set name.
pub fn find(name: &str) -> Option<Entity> {
    ALL.into_iter().find(|e| e.logical == name || e.set == name)
}
