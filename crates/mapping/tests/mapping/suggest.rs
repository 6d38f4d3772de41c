//! Mapping suggestions on the field lists the product literature publishes.

use std::path::Path;

use ferry_mapping::suggest::{FieldKind as K, Suggestion, TargetField, suggest, words};
use serde_json::Value;

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (target field, accepted sources; a source ending in `*` accepts anything under it).
type Expected = (&'static str, &'static [&'static str]);

fn accepted(candidate: &str, accept: &[&str]) -> bool {
    accept.iter().any(|a| match a.strip_suffix('*') {
        Some(prefix) => candidate.starts_with(prefix),
        None => candidate == *a,
    })
}

/// (top-1 hits, top-3 hits, total), printing misses and fields that abstained.
fn accuracy(list: &str, suggestions: &[Suggestion], expected: &[Expected]) -> (usize, usize, usize) {
    let (mut top1, mut top3, mut abstained) = (0, 0, 0);
    for (target, accept) in expected {
        let s =
            suggestions.iter().find(|s| s.target == *target).unwrap_or_else(|| panic!("no suggestion for {target}"));
        let ranked: Vec<&str> = s.candidates.iter().map(|c| c.source.as_str()).collect();
        if ranked.first().is_some_and(|c| accepted(c, accept)) {
            top1 += 1;
        } else {
            println!("{list}: {target}: top-1 {:?}, expected {accept:?}", s.candidates.first());
        }
        if ranked.iter().take(3).any(|c| accepted(c, accept)) {
            top3 += 1;
        }
        if s.abstained {
            abstained += 1;
            println!("{list}: {target}: abstained ({:?})", s.note);
        }
    }
    println!("{list}: abstained on {abstained}/{} fields that have a source", expected.len());
    (top1, top3, expected.len())
}

fn amazon_to_crm_salesorder() -> (Vec<TargetField>, Vec<Expected>) {
    let targets = vec![
        TargetField::new("ordernumber", Some("Order Number"), K::Text),
        TargetField::new("name", Some("Name"), K::Text),
        TargetField::new("submitdate", Some("Order Date"), K::Date),
        TargetField::new("statuscode", Some("Status Reason"), K::Choice),
        TargetField::new("customerid", Some("Customer"), K::Reference),
        TargetField::new("shipto_name", Some("Ship To Name"), K::Text),
        TargetField::new("shipto_line1", Some("Ship To Street 1"), K::Text),
        TargetField::new("shipto_line2", Some("Ship To Street 2"), K::Text),
        TargetField::new("shipto_city", Some("Ship To City"), K::Text),
        TargetField::new("shipto_stateorprovince", Some("Ship To State/Province"), K::State),
        TargetField::new("shipto_postalcode", Some("Ship To ZIP/Postal Code"), K::PostalCode),
        TargetField::new("shipto_country", Some("Ship To Country/Region"), K::Country),
        TargetField::new("shipto_telephone", Some("Ship To Phone"), K::Phone),
        TargetField::new("totalamount", Some("Total Amount"), K::Money),
        TargetField::new("transactioncurrencyid", Some("Currency"), K::Currency),
        TargetField::new("description", Some("Description"), K::Text),
    ];
    let expected: Vec<Expected> = vec![
        ("ordernumber", &["AmazonOrderId"]),
        ("submitdate", &["PurchaseDate"]),
        ("statuscode", &["OrderStatus"]),
        ("customerid", &["BuyerInfo*"]),
        ("shipto_name", &["ShippingAddress.Name"]),
        ("shipto_line1", &["ShippingAddress.AddressLine1"]),
        ("shipto_line2", &["ShippingAddress.AddressLine2"]),
        ("shipto_city", &["ShippingAddress.City"]),
        ("shipto_stateorprovince", &["ShippingAddress.StateOrRegion"]),
        ("shipto_postalcode", &["ShippingAddress.PostalCode"]),
        ("shipto_country", &["ShippingAddress.CountryCode"]),
        ("shipto_telephone", &["ShippingAddress.Phone"]),
        ("totalamount", &["OrderTotal", "OrderTotal.Amount"]),
        ("transactioncurrencyid", &["OrderTotal.CurrencyCode"]),
    ];
    (targets, expected)
}

fn store_customer_to_crm_contact() -> (Vec<TargetField>, Vec<Expected>) {
    let targets = vec![
        TargetField::new("firstname", Some("First Name"), K::Text),
        TargetField::new("lastname", Some("Last Name"), K::Text),
        TargetField::new("fullname", Some("Full Name"), K::Text),
        TargetField::new("emailaddress1", Some("Email"), K::Email),
        TargetField::new("telephone1", Some("Business Phone"), K::Phone),
        TargetField::new("mobilephone", Some("Mobile Phone"), K::Phone),
        TargetField::new("address1_line1", Some("Address 1: Street 1"), K::Text),
        TargetField::new("address1_line2", Some("Address 1: Street 2"), K::Text),
        TargetField::new("address1_city", Some("Address 1: City"), K::Text),
        TargetField::new("address1_stateorprovince", Some("Address 1: State/Province"), K::State),
        TargetField::new("address1_postalcode", Some("Address 1: ZIP/Postal Code"), K::PostalCode),
        TargetField::new("address1_country", Some("Address 1: Country/Region"), K::Country),
        TargetField::new("jobtitle", Some("Job Title"), K::Text),
        TargetField::new("birthdate", Some("Birthday"), K::Date),
    ];
    let expected: Vec<Expected> = vec![
        ("firstname", &["firstName"]),
        ("lastname", &["lastName"]),
        ("emailaddress1", &["email"]),
        ("telephone1", &["phone"]),
        ("address1_line1", &["addresses[].street1"]),
        ("address1_line2", &["addresses[].street2"]),
        ("address1_city", &["addresses[].city"]),
        ("address1_stateorprovince", &["addresses[].regionCode"]),
        ("address1_postalcode", &["addresses[].postalCode"]),
        ("address1_country", &["addresses[].countryCode"]),
    ];
    (targets, expected)
}

fn amazon_to_fo_salesorder_header() -> (Vec<TargetField>, Vec<Expected>) {
    let fields = sample("fo-salesorderheadersv2-fields.json");
    let mut targets: Vec<TargetField> = fields["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| TargetField::from_edm(p["name"].as_str().unwrap_or_default(), p["type"].as_str().unwrap_or_default()))
        .collect();
    // The lines are a navigation to SalesOrderLines, not a property of the header entity.
    targets.push(TargetField::new("SalesOrderLines", None, K::Lines));
    let expected: Vec<Expected> = vec![
        ("CustomerRequisitionNumber", &["AmazonOrderId"]),
        ("CustomersOrderReference", &["AmazonOrderId"]),
        ("OrderCreationDateTime", &["PurchaseDate"]),
        ("SalesOrderStatus", &["OrderStatus"]),
        ("CurrencyCode", &["OrderTotal.CurrencyCode"]),
        ("OrderTotalAmount", &["OrderTotal", "OrderTotal.Amount"]),
        ("Email", &["BuyerInfo.BuyerEmail"]),
        ("DeliveryAddressName", &["ShippingAddress.Name"]),
        ("DeliveryAddressStreet", &["ShippingAddress.AddressLine1"]),
        ("DeliveryAddressCity", &["ShippingAddress.City"]),
        ("DeliveryAddressStateId", &["ShippingAddress.StateOrRegion"]),
        ("DeliveryAddressZipCode", &["ShippingAddress.PostalCode"]),
        ("DeliveryAddressCountryRegionISOCode", &["ShippingAddress.CountryCode"]),
        ("RequestedShippingDate", &["EarliestShipDate", "LatestShipDate"]),
        ("SalesOrderLines", &["OrderItems"]),
    ];
    (targets, expected)
}

#[test]
fn suggestions_reach_80_percent_top1_on_the_published_lists() {
    let cases = [
        ("Amazon order → CRM salesorder", "amazon-order.json", amazon_to_crm_salesorder()),
        ("store customer → CRM contact", "store-customer.json", store_customer_to_crm_contact()),
        ("Amazon order → F&O SalesOrderHeadersV2", "amazon-order.json", amazon_to_fo_salesorder_header()),
    ];
    let (mut all1, mut all3, mut all) = (0, 0, 0);
    for (list, source, (targets, expected)) in cases {
        let suggestions = suggest(&sample(source), &targets);
        let (top1, top3, n) = accuracy(list, &suggestions, &expected);
        println!("{list}: top-1 {top1}/{n}, top-3 {top3}/{n}");
        assert!(top1 * 100 >= n * 80, "{list}: top-1 {top1}/{n} is below 80%");
        (all1, all3, all) = (all1 + top1, all3 + top3, all + n);
    }
    println!(
        "overall: top-1 {all1}/{all} ({:.0}%), top-3 {all3}/{all} ({:.0}%)",
        all1 as f64 * 100.0 / all as f64,
        all3 as f64 * 100.0 / all as f64
    );
}

#[test]
fn suggestions_are_deterministic_and_explained() {
    let (targets, _) = amazon_to_crm_salesorder();
    let a = suggest(&sample("amazon-order.json"), &targets);
    let b = suggest(&sample("amazon-order.json"), &targets);
    assert_eq!(a, b);
    let date = a.iter().find(|s| s.target == "submitdate").expect("submitdate");
    let top = &date.candidates[0];
    assert_eq!(top.source, "PurchaseDate");
    assert!(top.reason.contains("order") && top.reason.contains("timestamp"), "{}", top.reason);
    assert!(date.candidates.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn value_shape_beats_a_misleading_name() {
    // `emailaddress1` is an e-mail: the e-mail-shaped value wins over a field named "address".
    let source = serde_json::json!({"address": "410 Terry Ave N", "contact": "jane@example.com"});
    let out = suggest(&source, &[TargetField::new("emailaddress1", Some("Email"), K::Email)]);
    assert_eq!(out[0].candidates[0].source, "contact", "{:?}", out[0].candidates);
}

#[test]
fn names_split_into_words() {
    assert_eq!(words("ordernumber"), ["order", "number"]);
    assert_eq!(words("totalamount"), ["total", "amount"]);
    assert_eq!(words("emailaddress1"), ["emailaddress"]);
    assert_eq!(words("AmazonOrderId"), ["amazon", "order", "id"]);
    assert_eq!(
        words("DeliveryAddressCountryRegionISOCode"),
        // F&O says "country/region" for country.
        ["delivery", "address", "country", "iso", "code"]
    );
    assert_eq!(words("shipto_line1"), ["shipto", "line"]);
}

/// A list the synonym table was NOT tuned on (written after the three lists above passed):
/// an Amazon order item → F&O `SalesOrderLines`. Reported, with a lower floor, as a check
/// against over-fitting.
#[test]
fn held_out_list_amazon_order_item_to_fo_sales_order_lines() {
    let fields: Value =
        serde_json::from_str(include_str!("../fixtures/samples/fo-salesorderlines-fields.json")).expect("json");
    let targets: Vec<TargetField> = fields["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| TargetField::from_edm(p["name"].as_str().unwrap_or_default(), p["type"].as_str().unwrap_or_default()))
        .collect();
    let item = sample("amazon-order.json")["OrderItems"][0].clone();
    let expected: Vec<Expected> = vec![
        ("ItemNumber", &["SellerSKU"]),
        ("OrderedSalesQuantity", &["QuantityOrdered"]),
        ("SalesPrice", &["ItemPrice", "ItemPrice.Amount"]),
        ("LineAmount", &["ItemPrice", "ItemPrice.Amount"]),
        ("LineDescription", &["Title"]),
        ("CurrencyCode", &["ItemPrice.CurrencyCode"]),
        ("ExternalItemNumber", &["ASIN", "SellerSKU"]),
    ];
    let (top1, top3, n) = accuracy("held-out Amazon item → F&O SalesOrderLines", &suggest(&item, &targets), &expected);
    println!("held-out Amazon item → F&O SalesOrderLines: top-1 {top1}/{n}, top-3 {top3}/{n}");
    assert!(top3 * 2 >= n, "held-out top-3 {top3}/{n} below 50%");
}

#[test]
fn a_json_schema_works_as_the_source() {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "orderRef": {"type": "string"},
            "placedAt": {"type": "string", "format": "date-time"},
            "contactMail": {"type": ["string", "null"], "format": "email"},
            "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}}}
        }
    });
    let targets = [
        TargetField::new("OrderCreationDateTime", None, K::DateTime),
        TargetField::new("Email", None, K::Email),
        TargetField::new("SalesOrderLines", None, K::Lines),
    ];
    let out = ferry_mapping::suggest::suggest_from_schema(&schema, &targets);
    let top: Vec<&str> = out.iter().map(|s| s.candidates[0].source.as_str()).collect();
    assert_eq!(top, ["placedAt", "contactMail", "lines"]);
}

fn best_source<'a>(out: &'a [Suggestion], target: &str) -> Option<&'a str> {
    out.iter().find(|s| s.target == target).and_then(|s| s.best()).map(|c| c.source.as_str())
}

#[test]
fn erp_abbreviations_are_expanded() {
    assert_eq!(words("CuryTotOrd"), ["currency", "total", "order"]);
    assert_eq!(words("InvtID"), ["item", "id"]);
    assert_eq!(words("Descr"), ["description"]);
    assert_eq!(words("QtyAlloc"), ["qty", "allocated"]);
    assert_eq!(words("ShipAddr2"), ["ship", "addr", "street"]);
    assert_eq!(words("ExtPrc"), ["extended", "price"]);
    assert_eq!(words("SlsperID"), ["salesperson", "id"]);
    // A source with spelled-out names, targets with SQL column abbreviations.
    let source = serde_json::json!({
        "quantityAvailable": 7, "quantityAllocated": 2, "productDescription": "Blue mug",
        "totalDiscount": {"amount": "3.00", "currency": "EUR"}, "currencyCode": "EUR"
    });
    let targets = [
        TargetField::from_sql("QtyAvail", "float"),
        TargetField::from_sql("QtyAlloc", "float"),
        TargetField::from_sql("Descr", "char(60)"),
        TargetField::from_sql("TotDisc", "float"),
        TargetField::from_sql("CuryID", "char(4)"),
    ];
    let out = suggest(&source, &targets);
    assert_eq!(best_source(&out, "QtyAvail"), Some("quantityAvailable"), "{out:#?}");
    assert_eq!(best_source(&out, "QtyAlloc"), Some("quantityAllocated"));
    assert_eq!(best_source(&out, "Descr"), Some("productDescription"), "{out:#?}");
    assert_eq!(best_source(&out, "TotDisc"), Some("totalDiscount"));
    assert_eq!(best_source(&out, "CuryID"), Some("currencyCode"));
    assert_eq!(targets[3].kind, K::Money, "a total discount column holds money");
    assert_eq!(targets[4].max_len, Some(4));
}

#[test]
fn glued_lower_case_names_are_split() {
    assert_eq!(words("quantityonhand"), ["quantity", "onhand"]);
    assert_eq!(words("custordnbr"), ["customer", "order", "nbr"]);
    assert_eq!(words("shiptoname"), ["shipto", "name"]);
    assert_eq!(words("qtyintransit"), ["qty", "intransit"]);
    // Lower-case SQL columns as the source, a camel-case API as the target.
    let source = serde_json::json!({"qtyonhand": 12, "qtyonorder": 3, "lastupdatedate": "2026-05-01T10:00:00Z"});
    let out = suggest(
        &source,
        &[TargetField::new("onHandQuantity", None, K::Decimal), TargetField::new("onOrderQuantity", None, K::Decimal)],
    );
    assert_eq!(best_source(&out, "onHandQuantity"), Some("qtyonhand"), "{out:#?}");
    assert_eq!(best_source(&out, "onOrderQuantity"), Some("qtyonorder"));
}

#[test]
fn plurals_and_past_tenses_are_stemmed() {
    assert_eq!(words("Quantities"), ["quantity"]);
    assert_eq!(words("ShippedDate"), ["ship", "date"]);
    assert_eq!(words("pricing"), ["price"]);
    assert_eq!(words("totalAmounts"), ["total", "amount"]);
    // A word the dictionary does not know is left alone rather than cut.
    assert_eq!(words("gizmos"), ["gizmos"]);
    let source = serde_json::json!({"unitsShipped": 4, "shippedOn": "2026-05-02", "discounts": {"amount": "1.00", "currency": "USD"}});
    let out = suggest(
        &source,
        &[
            TargetField::new("ShipDate", None, K::Date),
            TargetField::new("DiscountAmount", None, K::Money),
            TargetField::new("UnitsToShip", None, K::Decimal),
        ],
    );
    assert_eq!(best_source(&out, "ShipDate"), Some("shippedOn"), "{out:#?}");
    let discount = best_source(&out, "DiscountAmount").unwrap_or_default();
    assert!(discount.starts_with("discounts"), "{discount}");
}

#[test]
fn nested_paths_match_on_both_sides() {
    // The target is a document (a storefront order), its fields are paths.
    let target_sample = serde_json::json!({
        "number": "W-1001",
        "billing": {"address": {"line1": "1 Main St", "city": "Springfield", "postcode": "12345"}},
        "shipping": {"address": {"line1": "1 Main St", "city": "Springfield", "postcode": "12345"}, "method": "ground"},
        "total": {"amount": 10.5, "currency": "USD"},
        "lines": [{"sku": "A-1", "qty": 1, "unitPrice": 10.5}]
    });
    let targets = ferry_mapping::suggest::target_fields_from_sample(&target_sample);
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"shipping.address.city") && names.contains(&"lines[].qty"), "{names:?}");
    assert!(!names.contains(&"total.amount"), "a money object is one field: {names:?}");
    let lines = targets.iter().find(|t| t.name == "lines").expect("lines");
    assert_eq!(lines.kind, K::Lines);
    let source = serde_json::json!({
        "OrderRef": "X-1",
        "BillTo": {"Street": "9 Elm Rd", "Town": "Shelbyville", "Zip": "54321"},
        "ShipTo": {"Street": "1 Main St", "Town": "Springfield", "Zip": "12345"},
        "ItemCount": 1,
        "Items": [{"Sku": "A-1", "Quantity": 1, "Price": "10.50"}]
    });
    let out = suggest(&source, &targets);
    assert_eq!(best_source(&out, "shipping.address.city"), Some("ShipTo.Town"), "{out:#?}");
    assert_eq!(best_source(&out, "billing.address.city"), Some("BillTo.Town"));
    assert_eq!(best_source(&out, "shipping.address.postcode"), Some("ShipTo.Zip"));
    assert_eq!(best_source(&out, "lines"), Some("Items"));
    assert_eq!(best_source(&out, "lines[].qty"), Some("Items[].Quantity"), "a line field prefers a line field");
    assert_eq!(best_source(&out, "lines[].sku"), Some("Items[].Sku"));
}

#[test]
fn a_field_with_no_fitting_source_abstains() {
    let source = sample("amazon-order.json");
    let targets = [
        TargetField::from_sql("S4Future03", "char(30)"),
        TargetField::from_sql("Crtd_DateTime", "smalldatetime"),
        TargetField::from_sql("LUpd_User", "char(10)"),
        TargetField::from_sql("User7", "float"),
        TargetField::from_edm("dataAreaId", "Edm.String"),
        TargetField::from_edm("LoyaltyTierName", "Edm.String"),
        TargetField::from_edm("WarrantyDurationMonths", "Edm.Int32"),
        TargetField::from_edm("PurchaseDate", "Edm.DateTimeOffset"),
    ];
    let out = suggest(&source, &targets);
    for s in &out[..7] {
        assert!(s.abstained && s.best().is_none(), "{} should abstain: {:?}", s.target, s.candidates.first());
        assert!(s.candidates.iter().all(|c| c.confidence == ferry_mapping::suggest::Confidence::Low));
        assert!(s.note.is_some());
    }
    assert!(out[0].candidates.is_empty() && out[0].note.as_deref().unwrap_or_default().contains("system column"));
    // The control: a field that has a source gets a confident suggestion.
    assert_eq!(
        out[7].best().map(|c| (c.source.as_str(), c.confidence)),
        Some(("PurchaseDate", ferry_mapping::suggest::Confidence::High))
    );
}

#[test]
fn a_value_longer_than_the_column_does_not_fit() {
    let source = serde_json::json!({"ExternalDocumentNumber": "2026-000000012345678", "DocumentNumber": "D-1"});
    let out = suggest(&source, &[TargetField::from_sql("DocNbr", "char(10)")]);
    assert_eq!(out[0].candidates[0].source, "DocumentNumber", "{:?}", out[0].candidates);
    let long = out[0].candidates.iter().find(|c| c.source == "ExternalDocumentNumber").expect("still listed");
    assert!(long.reason.contains("20 characters") && long.reason.contains("holds 10"), "{}", long.reason);
}
