//! Canonical model ↔ Dataverse rows: Order ↔ salesorder + salesorderdetail, Customer ↔
//! contact / account (address1_* / address2_* composite address columns), Product ↔ product,
//! Shipment → order shipping columns + a task. Installation-specific columns (an Amazon
//! Order Id column, …) come from [`CustomFields`], never hard-coded. Statuses are mapped
//! explicitly; anything unknown stays as it is (no state change).

use std::collections::HashMap;

use ferry_model::{
    Address, AddressRole, CountryCode, Currency, Customer, CustomerAddress, CustomerKind, DataverseId, Decimal,
    FulfillmentChannel, Money, Order, OrderLine, OrderStatus, PersonName, Pii, Product, RecordRef, Shipment,
    ShipmentStatus, Sku, Timestamp,
};
use serde_json::{Map, Value};
use thiserror::Error;

use super::batch::{Batch, BatchError, Operation};
use super::models::{ActiveOrderStatus, FulfilledStatus, Record, SalesOrderState};
use super::query::{Literal, RecordKey, bind};

/// A record that cannot be transformed; names the record and the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{record}: field '{field}': {reason}")]
pub struct TransformError {
    pub record: String,
    pub field: String,
    pub reason: String,
}

fn err(record: &str, field: &str, reason: impl Into<String>) -> TransformError {
    TransformError { record: record.to_owned(), field: field.to_owned(), reason: reason.into() }
}

/// Custom columns of one installation (publisher-prefixed names such as
/// `new_amazonorderid`). `None` leaves the value out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomFields {
    /// salesorder column for the source order id (Amazon Order Id).
    pub order_source_id: Option<String>,
    /// salesorder column for the Amazon marketplace id.
    pub marketplace_id: Option<String>,
    /// salesorder column for `AFN` / `MFN`.
    pub fulfillment_channel: Option<String>,
    /// salesorderdetail column with a unique line key (`<order id>:<line id>`); make it an
    /// alternate key to upsert lines idempotently.
    pub line_source_id: Option<String>,
    /// salesorderdetail / product column for the ASIN.
    pub asin: Option<String>,
    /// salesorder column for the tracking number.
    pub tracking_number: Option<String>,
    /// salesorder column for the carrier name.
    pub carrier: Option<String>,
}

/// Money as a JSON number. Dataverse money columns are decimals; JSON numbers go through
/// serde_json as f64, so a value that would not survive the round trip exactly is refused.
pub fn money_value(amount: Decimal, record: &str, field: &str) -> Result<Value, TransformError> {
    let text = amount.normalize().to_string();
    let number: f64 = text.parse().map_err(|_| err(record, field, "amount is not a number"))?;
    let back = serde_json::Number::from_f64(number).ok_or_else(|| err(record, field, "amount is not finite"))?;
    if back.to_string().parse::<Decimal>().ok().map(|d| d.normalize()) != Some(amount.normalize()) {
        return Err(err(record, field, format!("amount {text} cannot be sent exactly as a JSON number")));
    }
    Ok(Value::Number(back))
}

/// Columns of salesorder and salesorderdetail that hold money.
pub const MONEY_COLUMNS: &[&str] = &[
    "totalamount",
    "freightamount",
    "discountamount",
    "priceperunit",
    "tax",
    "manualdiscountamount",
    "baseamount",
    "extendedamount",
];

/// Money columns given as decimal text (as mappings produce them) become the exact JSON
/// numbers the Web API expects; text that is not a decimal is refused, naming the column.
pub fn money_text_to_numbers(body: &mut Map<String, Value>, record: &str) -> Result<(), TransformError> {
    for column in MONEY_COLUMNS {
        if let Some(Value::String(text)) = body.get(*column) {
            let amount: Decimal =
                text.parse().map_err(|_| err(record, column, format!("'{text}' is not a decimal amount")))?;
            let number = money_value(amount, record, column)?;
            body.insert((*column).to_owned(), number);
        }
    }
    Ok(())
}

fn read_money(record: &Record, column: &str, currency: Currency) -> Option<Money> {
    let value = record.get(column)?;
    let amount: Decimal = match value {
        Value::Number(n) => n.to_string().parse().ok()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some(Money::new(amount, currency))
}

/// A row to upsert and the key that addresses it.
pub type KeyedRow = (RecordKey, Map<String, Value>);

/// Who the order is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerRef {
    Account(DataverseId),
    Contact(DataverseId),
}

impl CustomerRef {
    /// The customer-type lookup binding (`customerid_account` / `customerid_contact`).
    fn bind(self, attribute: &str) -> (String, Value) {
        match self {
            CustomerRef::Account(id) => {
                (format!("{attribute}_account@odata.bind"), Value::String(bind("accounts", id)))
            }
            CustomerRef::Contact(id) => {
                (format!("{attribute}_contact@odata.bind"), Value::String(bind("contacts", id)))
            }
        }
    }
}

/// Rows an order refers to, resolved by the flow (lookups / xref) before transforming.
#[derive(Debug, Clone, Default)]
pub struct OrderRefs {
    pub customer: Option<CustomerRef>,
    pub currency: Option<DataverseId>,
    pub price_level: Option<DataverseId>,
    /// Product row per SKU; a SKU not here becomes a write-in line.
    pub products: HashMap<Sku, DataverseId>,
    /// Unit for lines with an existing product.
    pub unit: Option<DataverseId>,
}

/// What the order's status asks of the CRM order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAction {
    /// Leave the state alone (unknown or no change needed).
    None,
    Set(SalesOrderState),
    /// `FulfillSalesOrder`.
    Fulfill(FulfilledStatus),
    /// `CancelSalesOrder`.
    Cancel,
}

/// The sales order and its lines, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesOrderWrite {
    /// Alternate key of the order (`ordernumber` = the source order id).
    pub key: RecordKey,
    pub header: Map<String, Value>,
    /// Key (when `line_source_id` is configured) and body of each line, without the order
    /// binding (added when written).
    pub lines: Vec<(Option<RecordKey>, Map<String, Value>)>,
    pub state: StateAction,
}

impl SalesOrderWrite {
    /// Adds the order and its lines to `batch` as one change set: the order upserted by key,
    /// the lines bound to it through its Content-ID (`$n`). Lines without a key are created.
    pub fn add_to_batch(&self, batch: &mut Batch) -> Result<usize, BatchError> {
        let mut change_set = batch.change_set();
        let order = change_set.add(Operation::upsert("salesorders", &self.key, self.header.clone())?);
        for (key, body) in &self.lines {
            let mut body = body.clone();
            body.insert("salesorderid@odata.bind".into(), Value::String(order.clone()));
            let op = match key {
                Some(key) => Operation::upsert("salesorderdetails", key, body)?,
                None => Operation::create("salesorderdetails", body),
            };
            change_set.add(op);
        }
        batch.push_change_set(change_set)
    }
}

/// Order status → CRM state, as the shipped value map harmonises them.
pub fn order_state(status: &OrderStatus) -> StateAction {
    match status {
        OrderStatus::Pending | OrderStatus::PendingAvailability => {
            StateAction::Set(SalesOrderState::Active(ActiveOrderStatus::Pending))
        }
        OrderStatus::Unshipped => StateAction::Set(SalesOrderState::Submitted),
        OrderStatus::PartiallyShipped => StateAction::Set(SalesOrderState::Submitted),
        OrderStatus::Shipped => StateAction::Fulfill(FulfilledStatus::Complete),
        OrderStatus::Canceled => StateAction::Cancel,
        _ => StateAction::None,
    }
}

fn put_str(map: &mut Map<String, Value>, column: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        map.insert(column.to_owned(), Value::String(v.to_owned()));
    }
}

/// Writes an address into `<prefix>_line1..3, _city, _stateorprovince, _postalcode, _country,
/// _telephone` (`shipto`, `billto`, `address1`, `address2`).
fn put_address(map: &mut Map<String, Value>, prefix: &str, address: &Address) {
    let lines = address.exposed_lines();
    for (i, column) in ["line1", "line2", "line3"].iter().enumerate() {
        put_str(map, &format!("{prefix}_{column}"), lines.get(i).map(String::as_str));
    }
    put_str(map, &format!("{prefix}_city"), address.city.as_deref());
    put_str(map, &format!("{prefix}_stateorprovince"), address.state_or_province.as_deref());
    put_str(map, &format!("{prefix}_postalcode"), address.postal_code.as_ref().map(|p| p.expose().as_str()));
    put_str(map, &format!("{prefix}_country"), Some(address.country.as_str()));
    put_str(
        map,
        &format!("{prefix}_telephone{}", if prefix.starts_with("address") { "1" } else { "" }),
        address.phone.as_ref().map(|p| p.expose().as_str()),
    );
    if prefix == "shipto" {
        put_str(map, "shipto_name", address.recipient.as_ref().map(|r| r.expose().as_str()));
    }
}

fn read_address(record: &Record, prefix: &str) -> Option<Address> {
    let country = record.str(&format!("{prefix}_country")).and_then(|c| CountryCode::new(c).ok())?;
    let mut address = Address::new(country);
    let lines: Vec<String> = ["line1", "line2", "line3"]
        .iter()
        .filter_map(|c| record.str(&format!("{prefix}_{c}")).map(str::to_owned))
        .collect();
    address.lines = Pii::new(lines);
    address.city = record.str(&format!("{prefix}_city")).map(str::to_owned);
    address.state_or_province = record.str(&format!("{prefix}_stateorprovince")).map(str::to_owned);
    address.postal_code = record.str(&format!("{prefix}_postalcode")).map(|s| Pii::new(s.to_owned()));
    Some(address)
}

/// Order → salesorder + salesorderdetails.
pub fn order_to_salesorder(
    order: &Order,
    refs: &OrderRefs,
    fields: &CustomFields,
) -> Result<SalesOrderWrite, TransformError> {
    let record = order.id.to_string();
    let source_id = order.id.id();
    let key = RecordKey::Alternate(vec![("ordernumber".into(), Literal::String(source_id.to_owned()))]);
    key.segment().map_err(|e| err(&record, "ordernumber", e.to_string()))?;
    let mut header = Map::new();
    header.insert("name".into(), Value::String(format!("Order {source_id}")));
    if let Some(column) = &fields.order_source_id {
        header.insert(column.clone(), Value::String(source_id.to_owned()));
    }
    if let (Some(column), Some(marketplace)) = (&fields.marketplace_id, &order.marketplace_id) {
        header.insert(column.clone(), Value::String(marketplace.as_str().to_owned()));
    }
    if let Some(column) = &fields.fulfillment_channel {
        let channel = match order.fulfillment_channel {
            FulfillmentChannel::Amazon => "AFN",
            FulfillmentChannel::Merchant => "MFN",
        };
        header.insert(column.clone(), Value::String(channel.into()));
    }
    if let Some(customer) = refs.customer {
        let (k, v) = customer.bind("customerid");
        header.insert(k, v);
    }
    if let Some(currency) = refs.currency {
        header
            .insert("transactioncurrencyid@odata.bind".into(), Value::String(bind("transactioncurrencies", currency)));
    }
    if let Some(price_level) = refs.price_level {
        header.insert("pricelevelid@odata.bind".into(), Value::String(bind("pricelevels", price_level)));
    }
    if let Some(address) = &order.shipping_address {
        put_address(&mut header, "shipto", address);
    }
    let money_sum = |pick: fn(&OrderLine) -> &Money, field: &str| -> Result<Value, TransformError> {
        let total =
            Money::sum(order.currency, order.lines.iter().map(pick)).map_err(|e| err(&record, field, e.to_string()))?;
        money_value(total.amount(), &record, field)
    };
    header.insert("freightamount".into(), money_sum(|l| &l.shipping_price, "freightamount")?);
    header.insert("discountamount".into(), money_sum(|l| &l.discount, "discountamount")?);
    header.insert("submitdate".into(), Value::String(order.purchased_at.strftime("%Y-%m-%d").to_string()));
    let mut lines = Vec::with_capacity(order.lines.len());
    for (i, line) in order.lines.iter().enumerate() {
        let mut body = Map::new();
        let line_record = format!("{record} line {}", line.line_id);
        match refs.products.get(&line.sku) {
            Some(product) => {
                body.insert("productid@odata.bind".into(), Value::String(bind("products", *product)));
                if let Some(unit) = refs.unit {
                    body.insert("uomid@odata.bind".into(), Value::String(bind("uoms", unit)));
                }
            }
            None => {
                body.insert("isproductoverridden".into(), Value::Bool(true));
                let description = line.title.clone().unwrap_or_else(|| line.sku.as_str().to_owned());
                body.insert("productdescription".into(), Value::String(description.chars().take(500).collect()));
            }
        }
        body.insert("quantity".into(), Value::from(line.quantity_ordered));
        body.insert("ispriceoverridden".into(), Value::Bool(true));
        body.insert("priceperunit".into(), money_value(line.unit_price.amount(), &line_record, "priceperunit")?);
        body.insert(
            "manualdiscountamount".into(),
            money_value(line.discount.amount(), &line_record, "manualdiscountamount")?,
        );
        let tax = line.item_tax.checked_add(&line.shipping_tax).map_err(|e| err(&line_record, "tax", e.to_string()))?;
        body.insert("tax".into(), money_value(tax.amount(), &line_record, "tax")?);
        body.insert("lineitemnumber".into(), Value::from(i as u64 + 1));
        body.insert("quantityshipped".into(), Value::from(line.quantity_shipped));
        if let (Some(column), Some(asin)) = (&fields.asin, &line.asin) {
            body.insert(column.clone(), Value::String(asin.as_str().to_owned()));
        }
        let key = match &fields.line_source_id {
            Some(column) => {
                let value = format!("{source_id}.{}", line.line_id);
                body.insert(column.clone(), Value::String(value.clone()));
                let key = RecordKey::Alternate(vec![(column.clone(), Literal::String(value))]);
                key.segment().map_err(|e| err(&line_record, column, e.to_string()))?;
                Some(key)
            }
            None => None,
        };
        lines.push((key, body));
    }
    Ok(SalesOrderWrite { key, header, lines, state: order_state(&order.status) })
}

/// salesorder (+ its salesorderdetails, with `productnumber` from an expanded product or the
/// write-in description as SKU) → Order, for flows that start in the CRM.
pub fn salesorder_to_order(order: &Record, lines: &[Record], currency: Currency) -> Result<Order, TransformError> {
    let id = order.id("salesorderid").ok_or_else(|| err("salesorder", "salesorderid", "missing or not a GUID"))?;
    let record = format!("salesorder {id}");
    let reference = RecordRef::dataverse("salesorder", id).map_err(|e| err(&record, "salesorderid", e.to_string()))?;
    let status = match (order.get("statecode").and_then(Value::as_i64), order.get("statuscode").and_then(Value::as_i64))
    {
        (Some(0), Some(2)) => OrderStatus::Pending,
        (Some(0), _) | (Some(1), _) => OrderStatus::Unshipped,
        (Some(2), _) => OrderStatus::Canceled,
        (Some(3), Some(100002)) => OrderStatus::PartiallyShipped,
        (Some(3), _) | (Some(4), _) => OrderStatus::Shipped,
        (state, status) => OrderStatus::Unknown(format!("statecode {state:?} statuscode {status:?}")),
    };
    let timestamp = |column: &str| order.str(column).and_then(|s| s.parse::<Timestamp>().ok());
    let created = timestamp("createdon").ok_or_else(|| err(&record, "createdon", "missing or not a timestamp"))?;
    let mut order_lines = Vec::with_capacity(lines.len());
    for line in lines {
        let line_id = line.str("salesorderdetailid").unwrap_or_default().to_owned();
        let line_record = format!("{record} line {line_id}");
        let sku_text = line
            .get("productid")
            .and_then(|p| p.get("productnumber"))
            .and_then(Value::as_str)
            .or_else(|| line.str("productdescription"))
            .ok_or_else(|| err(&line_record, "productid", "no product number or write-in description"))?;
        let sku = Sku::new(sku_text).map_err(|e| err(&line_record, "productid", e.to_string()))?;
        let quantity = line
            .get("quantity")
            .and_then(|q| q.as_f64())
            .filter(|q| *q >= 0.0 && q.fract() == 0.0)
            .ok_or_else(|| err(&line_record, "quantity", "missing or not a whole number"))?;
        let price = read_money(line, "priceperunit", currency).unwrap_or(Money::zero(currency));
        let mut canonical = OrderLine::new(line_id, sku, quantity as u32, price);
        canonical.quantity_shipped =
            line.get("quantityshipped").and_then(Value::as_f64).map_or(0, |q| q.max(0.0) as u32);
        canonical.discount = read_money(line, "manualdiscountamount", currency).unwrap_or(Money::zero(currency));
        canonical.item_tax = read_money(line, "tax", currency).unwrap_or(Money::zero(currency));
        order_lines.push(canonical);
    }
    Ok(Order {
        id: reference,
        marketplace_id: None,
        seller_order_id: order.str("ordernumber").map(str::to_owned),
        status,
        fulfillment_channel: FulfillmentChannel::Merchant,
        purchased_at: created,
        last_updated_at: timestamp("modifiedon").unwrap_or(created),
        currency,
        buyer: None,
        shipping_address: read_address(order, "shipto"),
        lines: order_lines,
        reported_total: read_money(order, "totalamount", currency),
    })
}

/// Which table a customer goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerTable {
    Contact,
    Account,
}

impl CustomerTable {
    pub fn entity_set(self) -> &'static str {
        match self {
            CustomerTable::Contact => "contacts",
            CustomerTable::Account => "accounts",
        }
    }
}

/// A customer row to write.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerWrite {
    pub table: CustomerTable,
    /// `emailaddress1` when known (configure it as an alternate key to upsert by it).
    pub key: Option<RecordKey>,
    pub body: Map<String, Value>,
}

/// Name given to a guest (PII-limited Amazon buyer) contact.
pub const GUEST_LAST_NAME: &str = "Amazon Customer";

/// Customer → contact (persons, guests) or account (companies). A person at a company
/// becomes a contact bound to `parent_account` when given.
pub fn customer_to_row(customer: &Customer, parent_account: Option<DataverseId>) -> CustomerWrite {
    let mut body = Map::new();
    let table = match &customer.kind {
        CustomerKind::Company { name } => {
            body.insert("name".into(), Value::String(name.expose().clone()));
            CustomerTable::Account
        }
        CustomerKind::Person(person) | CustomerKind::PersonAtCompany { person, .. } => {
            put_str(&mut body, "firstname", person.first.as_ref().map(|f| f.expose().as_str()));
            body.insert("lastname".into(), Value::String(person.last.expose().clone()));
            CustomerTable::Contact
        }
        CustomerKind::Guest => {
            body.insert("lastname".into(), Value::String(GUEST_LAST_NAME.into()));
            CustomerTable::Contact
        }
    };
    if let (CustomerTable::Contact, Some(account)) = (table, parent_account) {
        body.insert("parentcustomerid_account@odata.bind".into(), Value::String(bind("accounts", account)));
    }
    put_str(&mut body, "emailaddress1", customer.exposed_email());
    put_str(&mut body, "telephone1", customer.phone.as_ref().map(|p| p.expose().as_str()));
    let billing = customer.address(AddressRole::Billing).or_else(|| customer.addresses.first().map(|a| &a.address));
    if let Some(address) = billing {
        put_address(&mut body, "address1", address);
    }
    if let Some(shipping) = customer.address(AddressRole::Shipping) {
        put_address(&mut body, "address2", shipping);
    }
    let key = customer.exposed_email().map(|email| RecordKey::alternate("emailaddress1", email));
    CustomerWrite { table, key, body }
}

/// contact / account row → Customer (address1 = billing, address2 = shipping).
pub fn row_to_customer(table: CustomerTable, record: &Record) -> Result<Customer, TransformError> {
    let (id_column, entity) = match table {
        CustomerTable::Contact => ("contactid", "contact"),
        CustomerTable::Account => ("accountid", "account"),
    };
    let id = record.id(id_column).ok_or_else(|| err(entity, id_column, "missing or not a GUID"))?;
    let record_name = format!("{entity} {id}");
    let kind = match table {
        CustomerTable::Account => {
            let name = record.str("name").ok_or_else(|| err(&record_name, "name", "missing"))?;
            CustomerKind::Company { name: Pii::new(name.to_owned()) }
        }
        CustomerTable::Contact => {
            let last = record.str("lastname").unwrap_or_default();
            if last == GUEST_LAST_NAME && record.str("firstname").is_none() {
                CustomerKind::Guest
            } else {
                CustomerKind::Person(PersonName {
                    first: record.str("firstname").map(|f| Pii::new(f.to_owned())),
                    last: Pii::new(last.to_owned()),
                })
            }
        }
    };
    let mut customer = Customer::new(kind);
    customer.source = Some(RecordRef::dataverse(entity, id).map_err(|e| err(&record_name, id_column, e.to_string()))?);
    customer.email = record.str("emailaddress1").map(|e| Pii::new(e.to_owned()));
    customer.phone = record.str("telephone1").map(|p| Pii::new(p.to_owned()));
    for (prefix, role) in [("address1", AddressRole::Billing), ("address2", AddressRole::Shipping)] {
        if let Some(address) = read_address(record, prefix) {
            customer.addresses.push(CustomerAddress { role, address });
        }
    }
    Ok(customer)
}

/// Units a product row refers to (required on create).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductRefs {
    pub unit: DataverseId,
    pub unit_schedule: DataverseId,
}

/// Product → product row, keyed by `productnumber` = SKU.
pub fn product_to_row(
    product: &Product,
    refs: &ProductRefs,
    fields: &CustomFields,
) -> Result<KeyedRow, TransformError> {
    let record = format!("product {}", product.sku.as_str());
    let key = RecordKey::alternate("productnumber", product.sku.as_str());
    key.segment().map_err(|e| err(&record, "productnumber", e.to_string()))?;
    let mut body = Map::new();
    body.insert("name".into(), Value::String(product.name.chars().take(100).collect()));
    put_str(&mut body, "description", product.description.as_deref());
    if let Some(price) = &product.list_price {
        body.insert("price".into(), money_value(price.amount(), &record, "price")?);
    }
    if let (Some(column), Some(asin)) = (&fields.asin, &product.asin) {
        body.insert(column.clone(), Value::String(asin.as_str().to_owned()));
    }
    body.insert("defaultuomid@odata.bind".into(), Value::String(bind("uoms", refs.unit)));
    body.insert("defaultuomscheduleid@odata.bind".into(), Value::String(bind("uomschedules", refs.unit_schedule)));
    body.insert("quantitydecimal".into(), Value::from(0));
    Ok((key, body))
}

/// product row → Product (inactive unless statecode is Active).
pub fn row_to_product(record: &Record, currency: Currency) -> Result<Product, TransformError> {
    let number = record.str("productnumber").ok_or_else(|| err("product", "productnumber", "missing"))?;
    let sku = Sku::new(number).map_err(|e| err("product", "productnumber", e.to_string()))?;
    let mut product = Product::new(sku, record.str("name").unwrap_or(number));
    if let Some(id) = record.id("productid") {
        product.source = RecordRef::dataverse("product", id).ok();
    }
    product.description = record.str("description").map(str::to_owned);
    product.list_price = read_money(record, "price", currency);
    product.active = record.get("statecode").and_then(Value::as_i64).is_none_or(|s| s == 0);
    product.updated_at = record.str("modifiedon").and_then(|s| s.parse().ok());
    Ok(product)
}

/// What a shipment writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentWrite {
    /// Columns to PATCH on the order (If-Match: *).
    pub order_update: Map<String, Value>,
    /// A task regarding the order, for the activity timeline.
    pub task: Map<String, Value>,
    /// Whether to fulfil the order (all lines shipped).
    pub fulfil: Option<FulfilledStatus>,
}

/// shippingmethodcode for a carrier name (1 Airborne, 2 DHL, 3 FedEx, 4 UPS, 5 Postal Mail).
pub fn shipping_method_code(carrier: &str) -> Option<i64> {
    match carrier.trim().to_ascii_uppercase().as_str() {
        "AIRBORNE" => Some(1),
        "DHL" => Some(2),
        "FEDEX" => Some(3),
        "UPS" => Some(4),
        "USPS" | "POSTAL" | "POSTAL MAIL" | "ROYAL MAIL" => Some(5),
        _ => None,
    }
}

/// Shipment → order shipping columns + task. `fully_shipped` says whether the order has no
/// unshipped units left.
pub fn shipment_to_rows(
    shipment: &Shipment,
    order: DataverseId,
    fully_shipped: bool,
    fields: &CustomFields,
) -> ShipmentWrite {
    let mut order_update = Map::new();
    if let (Some(column), Some(tracking)) = (&fields.tracking_number, &shipment.tracking_number) {
        order_update.insert(column.clone(), Value::String(tracking.clone()));
    }
    if let (Some(column), Some(carrier)) = (&fields.carrier, &shipment.carrier) {
        order_update.insert(column.clone(), Value::String(carrier.clone()));
    }
    if let Some(code) = shipment.carrier.as_deref().and_then(shipping_method_code) {
        order_update.insert("shippingmethodcode".into(), Value::from(code));
    }
    if let Some(address) = &shipment.ship_to {
        put_address(&mut order_update, "shipto", address);
    }
    let mut task = Map::new();
    let carrier = shipment.carrier.as_deref().unwrap_or("carrier");
    let subject = match &shipment.tracking_number {
        Some(tracking) => format!("Shipped via {carrier}, tracking {tracking}"),
        None => format!("Shipped via {carrier}"),
    };
    task.insert("subject".into(), Value::String(subject.chars().take(200).collect()));
    let mut description = format!("Status: {}. Units: {}.", shipment.status, shipment.total_quantity());
    if let Some(at) = shipment.shipped_at {
        description.push_str(&format!(" Shipped at {}.", at.strftime("%Y-%m-%dT%H:%M:%SZ")));
    }
    if let Some(eta) = shipment.estimated_arrival {
        description.push_str(&format!(" Estimated arrival {}.", eta.strftime("%Y-%m-%d")));
    }
    task.insert("description".into(), Value::String(description));
    task.insert("regardingobjectid_salesorder_task@odata.bind".into(), Value::String(bind("salesorders", order)));
    let shipped =
        matches!(shipment.status, ShipmentStatus::Shipped | ShipmentStatus::InTransit | ShipmentStatus::Delivered);
    let fulfil = shipped.then_some(if fully_shipped { FulfilledStatus::Complete } else { FulfilledStatus::Partial });
    // A partial shipment keeps the order open; only a complete one closes it.
    let fulfil = fulfil.filter(|f| *f == FulfilledStatus::Complete);
    ShipmentWrite { order_update, task, fulfil }
}

/// Rows a price list item refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceListRefs {
    pub price_level: DataverseId,
    pub product: DataverseId,
    pub unit: DataverseId,
}

/// A product's list price → productpricelevel (price list item), keyed by the alternate key
/// (price list, product, unit) so the write is an idempotent upsert. `None` when the product
/// has no price.
pub fn price_list_item_to_row(product: &Product, refs: &PriceListRefs) -> Result<Option<KeyedRow>, TransformError> {
    let Some(price) = &product.list_price else { return Ok(None) };
    let record = format!("price of product {}", product.sku.as_str());
    let key = RecordKey::Alternate(vec![
        ("_pricelevelid_value".into(), Literal::Guid(refs.price_level)),
        ("_productid_value".into(), Literal::Guid(refs.product)),
        ("_uomid_value".into(), Literal::Guid(refs.unit)),
    ]);
    let mut body = Map::new();
    body.insert("amount".into(), money_value(price.amount(), &record, "amount")?);
    // 1 = Currency Amount: the amount is the price, not a percentage of another.
    body.insert("pricingmethodcode".into(), Value::from(1));
    body.insert("quantitysellingcode".into(), Value::from(1));
    Ok(Some((key, body)))
}
