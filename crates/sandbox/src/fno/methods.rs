//! What F&O's entity methods do on create and update (DYNAMICS.md §B.2: InitValue,
//! SetValue per field, ValidateField, DefaultRow, ValidateWrite, Write): property types
//! checked, every property present with its default, number sequences for the document
//! numbers, fields defaulted from the header, the customer and the released product,
//! required fields and references validated, company isolation, and derived amounts.
//!
//! Choices where the reference is silent (documented in the sandbox's README notes):
//! number formats `SO-000001`, `RET-000001` (with `RMA-000001`), `GJ-000001`, customer
//! accounts `C-000001` in each company; a return order line's quantity must be negative (as
//! F&O return lines are); a sales order line copies price, unit and description from the
//! released product and site, warehouse, currency and dates from its header.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::errors::FnoError;
use super::schema::{self, EntityDef, Kind};
use super::seed::Setup;
use super::store::{Row, RowKey, Store, key_of};

/// The sets that are read-only views (on-hand).
pub const READ_ONLY: &[&str] = &["WarehousesOnHandV2", "InventorySitesOnHandV2"];

/// The calling context: the caller's default company and the time.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub company: String,
    pub now: String,
}

impl Ctx {
    pub fn new(company: &str) -> Self {
        Ctx { company: company.to_lowercase(), now: now_text() }
    }
}

/// Now, as F&O writes DateTimeOffset values.
pub fn now_text() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// F&O's "no date".
pub const NO_DATE: &str = "1900-01-01T00:00:00Z";

pub fn dec(value: Option<&Value>) -> Decimal {
    match value {
        Some(Value::Number(n)) => n.to_string().parse().unwrap_or_default(),
        Some(Value::String(s)) => s.parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// A decimal as a JSON number (F&O's JSON carries decimals as numbers).
pub fn num(d: Decimal) -> Value {
    d.normalize().to_string().parse::<serde_json::Number>().map_or(Value::Null, Value::Number)
}

fn text<'a>(row: &'a Row, field: &str) -> &'a str {
    row.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn default_of(kind: &Kind) -> Value {
    match kind {
        Kind::String => Value::String(String::new()),
        Kind::Decimal | Kind::Int32 | Kind::Int64 => Value::from(0),
        Kind::DateTimeOffset => Value::String(NO_DATE.into()),
        Kind::Guid => Value::String(uuid::Uuid::nil().to_string()),
        Kind::Enum(name) => schema::enum_members(name).map_or(Value::Null, |m| Value::String(m[0].0.to_owned())),
    }
}

/// A new row with every property at its default.
pub fn defaults(def: &EntityDef) -> Row {
    def.properties.iter().map(|p| (p.name.clone(), default_of(&p.kind))).collect()
}

fn convert_error(def: &EntityDef, name: &str, value: &Value, kind: &Kind) -> FnoError {
    FnoError::bad_request(format!(
        "Cannot convert the literal '{}' to the expected type '{}' of the property '{name}' on '{}'.",
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        kind.csdl(),
        def.qualified_type()
    ))
}

fn coerce(def: &EntityDef, name: &str, value: Value, kind: &Kind) -> Result<Value, FnoError> {
    let bad = |v: &Value| convert_error(def, name, v, kind);
    Ok(match (kind, value) {
        (_, Value::Null) => default_of(kind),
        (Kind::String, Value::String(s)) => Value::String(s),
        // Canonical form (249.00 and 249 are one value).
        (Kind::Decimal, Value::Number(n)) => match n.to_string().parse::<Decimal>() {
            Ok(d) => num(d),
            Err(_) => Value::Number(n),
        },
        (Kind::Decimal, Value::String(s)) => match s.parse::<Decimal>() {
            Ok(d) => num(d),
            Err(_) => return Err(bad(&Value::String(s))),
        },
        (Kind::Int32 | Kind::Int64, Value::Number(n)) if n.is_i64() => Value::Number(n),
        (Kind::DateTimeOffset, Value::String(s)) => match crate::dataverse::filter::parse_date(&s) {
            Some(ts) => Value::String(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
            None => return Err(bad(&Value::String(s))),
        },
        (Kind::Guid, Value::String(s)) => match uuid::Uuid::parse_str(&s) {
            Ok(g) => Value::String(g.to_string()),
            Err(_) => return Err(bad(&Value::String(s))),
        },
        (Kind::Enum(type_name), Value::String(s)) => match schema::enum_members(type_name) {
            None => Value::String(s),
            Some(members) => match members.iter().find(|(m, _)| m.eq_ignore_ascii_case(&s)) {
                Some((m, _)) => Value::String((*m).to_owned()),
                None => {
                    return Err(FnoError::bad_request(format!(
                        "The value '{s}' of the property '{name}' is not a member of the enum '{}.{type_name}' (members: {}).",
                        schema::NAMESPACE,
                        members.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", ")
                    )));
                }
            },
        },
        (_, other) => return Err(bad(&other)),
    })
}

/// The body's properties, type-checked; annotations dropped.
pub fn normalise(def: &EntityDef, body: Map<String, Value>) -> Result<Row, FnoError> {
    let mut out = Row::new();
    for (name, value) in body {
        if name.starts_with('@') || name.contains("@odata.") {
            continue;
        }
        let Some(property) = def.property(&name) else {
            return Err(FnoError::bad_request(format!(
                "The property '{name}' does not exist on type '{}'. Make sure to only use property names that are defined by the type.",
                def.qualified_type()
            )));
        };
        if name == schema::MODIFIED {
            return Err(FnoError::validation(format!("The field {name} is read-only and cannot be written.")));
        }
        let value = coerce(def, &name, value, &property.kind)?;
        out.insert(name, value);
    }
    Ok(out)
}

fn find<'a>(store: &'a Store, set: &str, company: &str, pairs: &[(&str, &str)]) -> Option<&'a Row> {
    let def = schema::by_set(set)?;
    let mut row = Row::new();
    row.insert("dataAreaId".into(), Value::String(company.to_owned()));
    for (k, v) in pairs {
        row.insert((*k).to_owned(), Value::String((*v).to_owned()));
    }
    let key = key_of(def, &row).ok()?;
    store.get(set, &key).map(|s| &s.row)
}

fn required(row: &Row, field: &str, what: &str) -> Result<String, FnoError> {
    let value = text(row, field).trim().to_owned();
    if value.is_empty() {
        return Err(FnoError::validation(format!("Field '{what}' ({field}) must be filled in.")));
    }
    Ok(value)
}

fn copy_if_empty(row: &mut Row, field: &str, value: Option<&Value>) {
    let empty = match row.get(field) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if empty && let Some(v) = value.filter(|v| !v.is_null() && v.as_str() != Some("")) {
        row.insert(field.to_owned(), v.clone());
    }
}

/// Creates a row of `def` from `body`; returns the stored row.
pub fn create(
    store: &mut Store,
    setup: &Setup,
    def: &EntityDef,
    body: Map<String, Value>,
    ctx: &Ctx,
) -> Result<Row, FnoError> {
    if READ_ONLY.contains(&def.set.as_str()) {
        return Err(read_only(def));
    }
    let given = normalise(def, body)?;
    let company = match given.get("dataAreaId").and_then(Value::as_str) {
        Some(c) if !c.is_empty() => c.to_lowercase(),
        _ => ctx.company.clone(),
    };
    if setup.company(&company).is_none() {
        return Err(FnoError::validation(format!("Company '{company}' does not exist.")));
    }
    let mut row = defaults(def);
    row.extend(given.clone());
    row.insert("dataAreaId".into(), Value::String(company.clone()));
    match def.set.as_str() {
        "SalesOrderHeadersV2" => init_sales_header(store, setup, &mut row, &given, &company, ctx)?,
        "SalesOrderLines" => init_sales_line(store, setup, &mut row, &given, &company)?,
        "CustomersV3" => init_customer(store, setup, &mut row, &company)?,
        "ReleasedProductsV2" => {
            required(&row, "ItemNumber", "Item number")?;
            copy_if_empty(&mut row, "ProductNumber", given.get("ItemNumber"));
            copy_if_empty(&mut row, "ProductType", Some(&Value::String("Item".into())));
        }
        "ReturnOrderHeaders" => init_return_header(store, setup, &mut row, &company, ctx)?,
        "ReturnOrderLines" => init_return_line(store, setup, &mut row, &given, &company)?,
        "LedgerJournalHeaders" => init_journal_header(store, setup, &mut row, &company)?,
        "LedgerJournalLines" => init_journal_line(store, setup, &mut row, &given, &company, ctx)?,
        _ => {}
    }
    let key = key_of(def, &row).map_err(|field| FnoError::validation(format!("Field '{field}' must be filled in.")))?;
    if store.get(&def.set, &key).is_some() {
        return Err(FnoError::validation(format!(
            "Cannot create a record in {}. The record already exists: {}.",
            def.set,
            describe_key(def, &key)
        )));
    }
    row.insert(schema::MODIFIED.into(), Value::String(ctx.now.clone()));
    store.put(&def.set, key, row.clone(), true);
    after_write(store, def, &row);
    Ok(row)
}

fn describe_key(def: &EntityDef, key: &RowKey) -> String {
    def.keys.iter().zip(key).map(|(k, v)| format!("{k}='{v}'")).collect::<Vec<_>>().join(", ")
}

fn read_only(def: &EntityDef) -> FnoError {
    FnoError::new(405, super::errors::ODATA_EXCEPTION, format!("The entity {} is read-only.", def.set))
}

fn init_sales_header(
    store: &mut Store,
    setup: &Setup,
    row: &mut Row,
    given: &Row,
    company: &str,
    ctx: &Ctx,
) -> Result<(), FnoError> {
    let account = required(row, "OrderingCustomerAccountNumber", "Customer account")?;
    let customer = find(store, "CustomersV3", company, &[("CustomerAccount", &account)]).cloned().ok_or_else(|| {
        FnoError::validation(format!("Customer account {account} does not exist in company {company}."))
    })?;
    if text(row, "SalesOrderNumber").is_empty() {
        let n = store.next_number(company, "SalesOrderNumber");
        row.insert("SalesOrderNumber".into(), Value::String(format!("SO-{n:06}")));
    }
    copy_if_empty(row, "InvoiceCustomerAccountNumber", Some(&Value::String(account)));
    copy_if_empty(row, "CurrencyCode", customer.get("SalesCurrencyCode"));
    copy_if_empty(row, "SalesOrderName", customer.get("OrganizationName"));
    copy_if_empty(row, "LanguageId", customer.get("LanguageId"));
    copy_if_empty(row, "DeliveryModeCode", customer.get("DeliveryMode"));
    copy_if_empty(row, "DefaultShippingWarehouseId", customer.get("WarehouseId"));
    let warehouse = text(row, "DefaultShippingWarehouseId").to_owned();
    if !warehouse.is_empty() {
        let site = setup.site_of(company, &warehouse).ok_or_else(|| {
            FnoError::validation(format!("Warehouse {warehouse} does not exist in company {company}."))
        })?;
        copy_if_empty(row, "DefaultShippingSiteId", Some(&Value::String(site.to_owned())));
    }
    if !given.contains_key("SalesOrderStatus") {
        row.insert("SalesOrderStatus".into(), Value::String("Backorder".into()));
    }
    if !given.contains_key("SalesOrderProcessingStatus") {
        row.insert("SalesOrderProcessingStatus".into(), Value::String("Active".into()));
    }
    if text(row, "OrderCreationDateTime") == NO_DATE {
        row.insert("OrderCreationDateTime".into(), Value::String(ctx.now.clone()));
    }
    for date in ["RequestedShippingDate", "RequestedReceiptDate"] {
        if text(row, date) == NO_DATE {
            row.insert(date.into(), Value::String(ctx.now.clone()));
        }
    }
    Ok(())
}

fn next_line_number(store: &Store, set: &str, company: &str, field: &str, number: &str) -> Decimal {
    store
        .rows(set)
        .filter(|s| text(&s.row, "dataAreaId") == company && text(&s.row, field) == number)
        .map(|s| dec(s.row.get("LineNumber")))
        .max()
        .unwrap_or_default()
        + Decimal::ONE
}

fn product(store: &Store, company: &str, item: &str) -> Result<Row, FnoError> {
    find(store, "ReleasedProductsV2", company, &[("ItemNumber", item)])
        .cloned()
        .ok_or_else(|| FnoError::validation(format!("Item number {item} does not exist in company {company}.")))
}

fn line_amount(row: &mut Row, quantity: &str, price: &str) {
    let amount = (dec(row.get(quantity)) * dec(row.get(price)) - dec(row.get("LineDiscountAmount"))).round_dp(2);
    row.insert("LineAmount".into(), num(amount));
}

fn init_sales_line(
    store: &mut Store,
    setup: &Setup,
    row: &mut Row,
    given: &Row,
    company: &str,
) -> Result<(), FnoError> {
    let order = required(row, "SalesOrderNumber", "Sales order")?;
    let header = find(store, "SalesOrderHeadersV2", company, &[("SalesOrderNumber", &order)])
        .cloned()
        .ok_or_else(|| FnoError::validation(format!("Sales order {order} does not exist in company {company}.")))?;
    let item = required(row, "ItemNumber", "Item number")?;
    let product = product(store, company, &item)?;
    if !given.contains_key("OrderedSalesQuantity") {
        row.insert("OrderedSalesQuantity".into(), Value::from(1));
    }
    if dec(row.get("OrderedSalesQuantity")) <= Decimal::ZERO {
        return Err(FnoError::validation("The quantity of a sales order line must be greater than zero."));
    }
    if !given.contains_key("SalesPrice") {
        row.insert("SalesPrice".into(), product.get("SalesPrice").cloned().unwrap_or(Value::from(0)));
    }
    if !given.contains_key("SalesPriceQuantity") {
        row.insert("SalesPriceQuantity".into(), Value::from(1));
    }
    copy_if_empty(row, "SalesUnitSymbol", product.get("SalesUnitSymbol"));
    copy_if_empty(row, "LineDescription", product.get("SearchName"));
    for (line, head) in [
        ("CurrencyCode", "CurrencyCode"),
        ("ShippingSiteId", "DefaultShippingSiteId"),
        ("ShippingWarehouseId", "DefaultShippingWarehouseId"),
        ("CustomerRequisitionNumber", "CustomerRequisitionNumber"),
        ("DeliveryModeCode", "DeliveryModeCode"),
        ("RequestedShippingDate", "RequestedShippingDate"),
        ("RequestedReceiptDate", "RequestedReceiptDate"),
    ] {
        if text(row, line) == NO_DATE {
            row.insert(line.into(), Value::String(String::new()));
        }
        copy_if_empty(row, line, header.get(head));
    }
    check_site_warehouse(setup, company, text(row, "ShippingSiteId"), text(row, "ShippingWarehouseId"))?;
    if !given.contains_key("LineAmount") {
        line_amount(row, "OrderedSalesQuantity", "SalesPrice");
    }
    if !given.contains_key("LineNumber") {
        let n = next_line_number(store, "SalesOrderLines", company, "SalesOrderNumber", &order);
        row.insert("LineNumber".into(), num(n));
    }
    if text(row, "InventoryLotId").is_empty() {
        let n = store.next_number(company, "InventoryLotId");
        row.insert("InventoryLotId".into(), Value::String(format!("{}-{n:09}", company.to_uppercase())));
    }
    if !given.contains_key("SalesOrderLineStatus") {
        row.insert("SalesOrderLineStatus".into(), Value::String("Backorder".into()));
    }
    Ok(())
}

fn check_site_warehouse(setup: &Setup, company: &str, site: &str, warehouse: &str) -> Result<(), FnoError> {
    if !warehouse.is_empty() {
        match setup.site_of(company, warehouse) {
            None => {
                return Err(FnoError::validation(format!(
                    "Warehouse {warehouse} does not exist in company {company}."
                )));
            }
            Some(s) if !site.is_empty() && !s.eq_ignore_ascii_case(site) => {
                return Err(FnoError::validation(format!("Warehouse {warehouse} is not in site {site}.")));
            }
            _ => {}
        }
    }
    if !site.is_empty() && !setup.has_site(company, site) {
        return Err(FnoError::validation(format!("Site {site} does not exist in company {company}.")));
    }
    Ok(())
}

fn init_customer(store: &mut Store, setup: &Setup, row: &mut Row, company: &str) -> Result<(), FnoError> {
    let group = required(row, "CustomerGroupId", "Customer group")?;
    if !setup.has_customer_group(company, &group) {
        return Err(FnoError::validation(format!("Customer group {group} does not exist in company {company}.")));
    }
    if text(row, "CustomerAccount").is_empty() {
        let n = store.next_number(company, "CustomerAccount");
        row.insert("CustomerAccount".into(), Value::String(format!("C-{n:06}")));
    }
    let currency = setup.company(company).map(|c| c.currency.clone()).unwrap_or_default();
    copy_if_empty(row, "SalesCurrencyCode", Some(&Value::String(currency)));
    copy_if_empty(row, "PartyType", Some(&Value::String("Organization".into())));
    let account = text(row, "CustomerAccount").to_owned();
    copy_if_empty(row, "InvoiceAccount", Some(&Value::String(account)));
    Ok(())
}

fn init_return_header(
    store: &mut Store,
    setup: &Setup,
    row: &mut Row,
    company: &str,
    ctx: &Ctx,
) -> Result<(), FnoError> {
    let account = required(row, "CustomerAccountNumber", "Customer account")?;
    let customer = find(store, "CustomersV3", company, &[("CustomerAccount", &account)]).cloned().ok_or_else(|| {
        FnoError::validation(format!("Customer account {account} does not exist in company {company}."))
    })?;
    let n = store.next_number(company, "ReturnOrderNumber");
    if text(row, "ReturnOrderNumber").is_empty() {
        row.insert("ReturnOrderNumber".into(), Value::String(format!("RET-{n:06}")));
    }
    copy_if_empty(row, "RMANumber", Some(&Value::String(format!("RMA-{n:06}"))));
    copy_if_empty(row, "CurrencyCode", customer.get("SalesCurrencyCode"));
    copy_if_empty(row, "DefaultReturnWarehouseId", customer.get("WarehouseId"));
    let warehouse = text(row, "DefaultReturnWarehouseId").to_owned();
    if let Some(site) = setup.site_of(company, &warehouse) {
        copy_if_empty(row, "DefaultReturnSiteId", Some(&Value::String(site.to_owned())));
    }
    check_site_warehouse(setup, company, text(row, "DefaultReturnSiteId"), text(row, "DefaultReturnWarehouseId"))?;
    if text(row, "ReturnOrderStatus") == "None" {
        row.insert("ReturnOrderStatus".into(), Value::String("Backorder".into()));
    }
    if text(row, "ReturnDeadline") == NO_DATE {
        let deadline = Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(24 * 30))
            .map_or(ctx.now.clone(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        row.insert("ReturnDeadline".into(), Value::String(deadline));
    }
    Ok(())
}

fn init_return_line(
    store: &mut Store,
    setup: &Setup,
    row: &mut Row,
    given: &Row,
    company: &str,
) -> Result<(), FnoError> {
    let number = required(row, "ReturnOrderNumber", "Return order")?;
    let header = find(store, "ReturnOrderHeaders", company, &[("ReturnOrderNumber", &number)])
        .cloned()
        .ok_or_else(|| FnoError::validation(format!("Return order {number} does not exist in company {company}.")))?;
    let item = required(row, "ItemNumber", "Item number")?;
    let product = product(store, company, &item)?;
    if dec(row.get("ReturnSalesQuantity")) >= Decimal::ZERO {
        return Err(FnoError::validation(
            "The quantity of a return order line (ReturnSalesQuantity) must be negative.",
        ));
    }
    if !given.contains_key("SalesPrice") {
        row.insert("SalesPrice".into(), product.get("SalesPrice").cloned().unwrap_or(Value::from(0)));
    }
    copy_if_empty(row, "SalesUnitSymbol", product.get("SalesUnitSymbol"));
    copy_if_empty(row, "LineDescription", product.get("SearchName"));
    for (line, head) in [
        ("RMANumber", "RMANumber"),
        ("CustomerAccountNumber", "CustomerAccountNumber"),
        ("InvoiceCustomerAccountNumber", "CustomerAccountNumber"),
        ("ReturnSiteId", "DefaultReturnSiteId"),
        ("ReturnWarehouseId", "DefaultReturnWarehouseId"),
    ] {
        copy_if_empty(row, line, header.get(head));
    }
    check_site_warehouse(setup, company, text(row, "ReturnSiteId"), text(row, "ReturnWarehouseId"))?;
    if !given.contains_key("LineAmount") {
        line_amount(row, "ReturnSalesQuantity", "SalesPrice");
    }
    if text(row, "ReturnStatus") == "None" {
        row.insert("ReturnStatus".into(), Value::String("Awaiting".into()));
    }
    if text(row, "ReturnInventoryLotId").is_empty() {
        let n = store.next_number(company, "InventoryLotId");
        row.insert("ReturnInventoryLotId".into(), Value::String(format!("{}-{n:09}", company.to_uppercase())));
    }
    Ok(())
}

fn init_journal_header(store: &mut Store, setup: &Setup, row: &mut Row, company: &str) -> Result<(), FnoError> {
    let name = required(row, "JournalName", "Name")?;
    if !setup.has_journal_name(company, &name) {
        return Err(FnoError::validation(format!("Journal name {name} does not exist in company {company}.")));
    }
    if text(row, "JournalBatchNumber").is_empty() {
        let n = store.next_number(company, "JournalBatchNumber");
        row.insert("JournalBatchNumber".into(), Value::String(format!("GJ-{n:06}")));
    }
    copy_if_empty(row, "Description", Some(&Value::String(name)));
    let currency = setup.company(company).map(|c| c.currency.clone()).unwrap_or_default();
    copy_if_empty(row, "AccountingCurrency", Some(&Value::String(currency)));
    row.insert("JournalTotalDebit".into(), Value::from(0));
    row.insert("JournalTotalCredit".into(), Value::from(0));
    Ok(())
}

/// Checks an account of a journal line against its type.
fn check_account(
    store: &Store,
    setup: &Setup,
    company: &str,
    kind: &str,
    account: &str,
    field: &str,
) -> Result<(), FnoError> {
    let ok = match kind {
        // A ledger account's display value starts with its main account (`401100-001-…`).
        "Ledger" => setup.has_main_account(company, account.split('-').next().unwrap_or_default()),
        "Cust" => find(store, "CustomersV3", company, &[("CustomerAccount", account)]).is_some(),
        "Bank" => setup.has_bank_account(company, account),
        _ => !account.is_empty(),
    };
    if !ok {
        let what = match kind {
            "Ledger" => "Main account",
            "Cust" => "Customer account",
            "Bank" => "Bank account",
            _ => "Account",
        };
        return Err(FnoError::validation(format!(
            "{what} {account} ({field}, account type {kind}) does not exist in company {company}."
        )));
    }
    Ok(())
}

fn init_journal_line(
    store: &mut Store,
    setup: &Setup,
    row: &mut Row,
    given: &Row,
    company: &str,
    ctx: &Ctx,
) -> Result<(), FnoError> {
    let batch = required(row, "JournalBatchNumber", "Journal batch number")?;
    let header = find(store, "LedgerJournalHeaders", company, &[("JournalBatchNumber", &batch)])
        .cloned()
        .ok_or_else(|| FnoError::validation(format!("Journal {batch} does not exist in company {company}.")))?;
    if text(&header, "IsPosted") == "Yes" {
        return Err(FnoError::validation(format!("Journal {batch} is posted; its lines cannot be changed.")));
    }
    if !given.contains_key("LineNumber") {
        let n = next_line_number(store, "LedgerJournalLines", company, "JournalBatchNumber", &batch);
        row.insert("LineNumber".into(), num(n));
    }
    copy_if_empty(row, "CurrencyCode", header.get("AccountingCurrency"));
    if text(row, "TransDate") == NO_DATE {
        row.insert("TransDate".into(), Value::String(ctx.now.clone()));
    }
    copy_if_empty(row, "Company", Some(&Value::String(company.to_owned())));
    validate_journal_line(store, setup, row, company)
}

fn validate_journal_line(store: &Store, setup: &Setup, row: &Row, company: &str) -> Result<(), FnoError> {
    let account = required(row, "AccountDisplayValue", "Account")?;
    check_account(store, setup, company, text(row, "AccountType"), &account, "AccountDisplayValue")?;
    let offset = text(row, "OffsetAccountDisplayValue");
    if !offset.is_empty() {
        check_account(store, setup, company, text(row, "OffsetAccountType"), offset, "OffsetAccountDisplayValue")?;
    }
    let (debit, credit) = (dec(row.get("DebitAmount")), dec(row.get("CreditAmount")));
    if !debit.is_zero() && !credit.is_zero() {
        return Err(FnoError::validation("A journal line has either a debit or a credit amount, not both."));
    }
    if debit.is_zero() && credit.is_zero() {
        return Err(FnoError::validation("A journal line must have a debit or a credit amount."));
    }
    if debit.is_sign_negative() || credit.is_sign_negative() {
        return Err(FnoError::validation("Debit and credit amounts of a journal line cannot be negative."));
    }
    Ok(())
}

/// Keeps derived data in step after a write: journal totals.
fn after_write(store: &mut Store, def: &EntityDef, row: &Row) {
    if def.set == "LedgerJournalLines" {
        let company = text(row, "dataAreaId").to_owned();
        let batch = text(row, "JournalBatchNumber").to_owned();
        journal_totals(store, &company, &batch);
    }
}

fn journal_totals(store: &mut Store, company: &str, batch: &str) {
    let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    for s in store.rows("LedgerJournalLines") {
        if text(&s.row, "dataAreaId") == company && text(&s.row, "JournalBatchNumber") == batch {
            debit += dec(s.row.get("DebitAmount"));
            credit += dec(s.row.get("CreditAmount"));
        }
    }
    let Some(def) = schema::by_set("LedgerJournalHeaders") else { return };
    let key = vec![company.to_owned(), batch.to_owned()];
    if let Some(stored) = store.get(&def.set, &key) {
        let mut header = stored.row.clone();
        header.insert("JournalTotalDebit".into(), num(debit));
        header.insert("JournalTotalCredit".into(), num(credit));
        store.put(&def.set, key, header, false);
    }
}

/// Applies a PATCH to the row at `key`; returns the stored row.
pub fn update(
    store: &mut Store,
    setup: &Setup,
    def: &EntityDef,
    key: &RowKey,
    body: Map<String, Value>,
    ctx: &Ctx,
) -> Result<Row, FnoError> {
    if READ_ONLY.contains(&def.set.as_str()) {
        return Err(read_only(def));
    }
    let current = store.get(&def.set, key).map(|s| s.row.clone()).ok_or_else(|| not_found(def, key))?;
    let given = normalise(def, body)?;
    for k in &def.keys {
        if let Some(value) = given.get(k)
            && super::store::key_text(value).map(|v| if k == "dataAreaId" { v.to_lowercase() } else { v })
                != current.get(k).and_then(super::store::key_text)
        {
            return Err(FnoError::validation(format!("The key field {k} cannot be changed.")));
        }
    }
    let company = text(&current, "dataAreaId").to_owned();
    let mut row = current;
    row.extend(given.clone());
    match def.set.as_str() {
        "SalesOrderLines" => {
            if given.contains_key("ItemNumber") {
                product(store, &company, text(&row, "ItemNumber"))?;
            }
            check_site_warehouse(setup, &company, text(&row, "ShippingSiteId"), text(&row, "ShippingWarehouseId"))?;
            if !given.contains_key("LineAmount") {
                line_amount(&mut row, "OrderedSalesQuantity", "SalesPrice");
            }
        }
        "SalesOrderHeadersV2" => {
            check_site_warehouse(
                setup,
                &company,
                text(&row, "DefaultShippingSiteId"),
                text(&row, "DefaultShippingWarehouseId"),
            )?;
        }
        "ReturnOrderLines" if !given.contains_key("LineAmount") => {
            line_amount(&mut row, "ReturnSalesQuantity", "SalesPrice");
        }
        "LedgerJournalLines" => {
            let batch = text(&row, "JournalBatchNumber").to_owned();
            if find(store, "LedgerJournalHeaders", &company, &[("JournalBatchNumber", &batch)])
                .is_some_and(|h| text(h, "IsPosted") == "Yes")
            {
                return Err(FnoError::validation(format!("Journal {batch} is posted; its lines cannot be changed.")));
            }
            validate_journal_line(store, setup, &row, &company)?;
        }
        "LedgerJournalHeaders"
            if given.contains_key("JournalTotalDebit") || given.contains_key("JournalTotalCredit") =>
        {
            return Err(FnoError::validation("The journal totals are computed from its lines and are read-only."));
        }
        _ => {}
    }
    row.insert(schema::MODIFIED.into(), Value::String(ctx.now.clone()));
    store.put(&def.set, key.clone(), row.clone(), false);
    after_write(store, def, &row);
    Ok(row)
}

pub fn not_found(def: &EntityDef, key: &RowKey) -> FnoError {
    FnoError::not_found(format!("No {} record was found with the key {}.", def.set, describe_key(def, key)))
}

/// Deletes the row at `key` (a header takes its lines with it).
pub fn delete(store: &mut Store, def: &EntityDef, key: &RowKey) -> Result<(), FnoError> {
    if READ_ONLY.contains(&def.set.as_str()) {
        return Err(read_only(def));
    }
    let row = store.get(&def.set, key).map(|s| s.row.clone()).ok_or_else(|| not_found(def, key))?;
    let company = text(&row, "dataAreaId").to_owned();
    let lines = match def.set.as_str() {
        "SalesOrderHeadersV2" => Some(("SalesOrderLines", "SalesOrderNumber")),
        "ReturnOrderHeaders" => Some(("ReturnOrderLines", "ReturnOrderNumber")),
        "LedgerJournalHeaders" => {
            if text(&row, "IsPosted") == "Yes" {
                return Err(FnoError::validation("A posted journal cannot be deleted."));
            }
            Some(("LedgerJournalLines", "JournalBatchNumber"))
        }
        "LedgerJournalLines" => {
            let batch = text(&row, "JournalBatchNumber").to_owned();
            if find(store, "LedgerJournalHeaders", &company, &[("JournalBatchNumber", &batch)])
                .is_some_and(|h| text(h, "IsPosted") == "Yes")
            {
                return Err(FnoError::validation(format!("Journal {batch} is posted; its lines cannot be changed.")));
            }
            None
        }
        _ => None,
    };
    store.remove(&def.set, key);
    if let Some((line_set, field)) = lines
        && let Some(line_def) = schema::by_set(line_set)
    {
        let number = text(&row, field).to_owned();
        let doomed: Vec<RowKey> = store
            .rows(line_set)
            .filter(|s| text(&s.row, "dataAreaId") == company && text(&s.row, field) == number)
            .filter_map(|s| key_of(line_def, &s.row).ok())
            .collect();
        for k in doomed {
            store.remove(line_set, &k);
        }
    }
    if def.set == "LedgerJournalLines" {
        let batch = text(&row, "JournalBatchNumber").to_owned();
        journal_totals(store, &company, &batch);
    }
    Ok(())
}
