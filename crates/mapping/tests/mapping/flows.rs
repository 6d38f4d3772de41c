//! The shipped templates applied to real-shaped records, and the flow file format.
//!
//! F1 (`flows/amazon-orders-to-crm.yaml`) reads Ferry's canonical order, the serde JSON of
//! `ferry_model::Order` (fixture `canonical-order.json`); F2 (`flows/crm-orders-to-fba.yaml`)
//! reads a Dataverse salesorder row with its `order_details`, each carrying its `product` row.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_mapping::flow::{MissingPolicy, load_flow, parse_flow};
use ferry_mapping::{CompiledMapping, LookupAction, LookupSource, Outcome, TableLookups, json_schema};
use ferry_model::{FulfillmentChannel, Order, OrderStatus};
use serde_json::{Map, Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const ORDER_ID: &str = "902-3159896-1390916";

/// The sample order as Ferry's canonical model serializes it (what F1's source delivers).
fn canonical_order() -> Value {
    let text = std::fs::read_to_string(root().join("crates/mapping/tests/fixtures/samples/canonical-order.json"))
        .expect("sample");
    serde_json::from_str(&text).expect("json")
}

/// `value` is exactly what serde writes for a `ferry_model::Order`: it deserializes, and the
/// order serializes back to the same JSON.
fn assert_canonical(value: &Value) -> Order {
    let order: Order = serde_json::from_value(value.clone()).expect("a ferry_model::Order");
    assert_eq!(&serde_json::to_value(&order).expect("serializes"), value, "not the canonical serialization");
    order
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn f1() -> CompiledMapping {
    let flow = load_flow(&root().join("flows/amazon-orders-to-crm.yaml")).expect("F1 parses");
    CompiledMapping::compile(&flow).expect("F1 compiles")
}

/// F1 as shipped, with one line of the file replaced (e.g. a setting).
fn f1_edited(from: &str, to: &str) -> CompiledMapping {
    let path = root().join("flows/amazon-orders-to-crm.yaml");
    let text = std::fs::read_to_string(&path).expect("F1");
    assert!(text.contains(from), "F1 no longer contains {from:?}");
    let flow = parse_flow(&path, &text.replace(from, to)).expect("edited F1 parses");
    CompiledMapping::compile(&flow).expect("edited F1 compiles")
}

fn f2() -> CompiledMapping {
    let flow = load_flow(&root().join("flows/crm-orders-to-fba.yaml")).expect("F2 parses");
    CompiledMapping::compile(&flow).expect("F2 compiles")
}

fn crm_tables() -> Arc<dyn LookupSource> {
    Arc::new(
        TableLookups::new()
            .with_record("contact", "emailaddress1", "jane.doe.x1@marketplace.amazon.com", json!({"contactid": "c-1"}))
            .with_record("product", "productnumber", "MUG-BLUE-12", json!({"productid": "p-1"})),
    )
}

#[test]
fn the_canonical_fixture_is_a_faithful_ferry_model_order() {
    let order = assert_canonical(&canonical_order());
    assert_eq!(order.id.to_string(), format!("amazon:order:{ORDER_ID}"));
    assert_eq!(order.status, OrderStatus::Unshipped);
    assert_eq!(order.fulfillment_channel, FulfillmentChannel::Amazon);
    assert_eq!(order.lines.len(), 1);
    assert_eq!(order.lines[0].sku.as_str(), "MUG-BLUE-12");
    assert_eq!(order.reported_total.map(|m| m.to_string()), Some("119.99 USD".to_owned()));
    assert_eq!(order.total().map(|m| m.to_string()), Ok("119.99 USD".to_owned()), "lines add up to the total");
}

#[test]
fn f1_maps_a_canonical_amazon_order_to_a_crm_sales_order() {
    let out = f1().apply(&canonical_order(), &crm_tables()).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert_eq!(out.key, object(json!({"ordernumber": ORDER_ID})));
    assert_eq!(
        out.fields,
        object(json!({
            "name": "AMZ-902-3159896-1390916",
            "statuscode": 3,
            "description": "Amazon order 902-3159896-1390916 (AFN)",
            "totalamount": "119.99",
            "new_orderdate": "2026-09-30",
            "new_amazonorderid": ORDER_ID,
            "new_fulfillmentchannel": "AFN",
            "new_marketplaceid": "ATVPDKIKX0DER",
        })),
        "exactly the flow's fields: Unshipped → 3 (Submitted), money as a decimal string, the seller's \
         calendar day in Los Angeles; currency, customer and ship-to are the connector default's"
    );
    assert_eq!(out.lines, vec![object(json!({"new_asin": "B00EXAMPLE", "productdescription": "Blue mug, 12 oz"}))]);
    assert!(out.held_lines.is_empty());
    assert!(out.actions.is_empty(), "customer and product were found: {:?}", out.actions);
}

#[test]
fn f1_maps_an_mfn_order_of_a_guest_without_marketplace_or_asin() {
    let mut order = canonical_order();
    order["fulfillment_channel"] = json!("MFN");
    order["marketplace_id"] = Value::Null;
    order["buyer"] = json!({"source": null, "kind": {"type": "guest"}, "email": "Guest.X1@Marketplace.Amazon.com",
                            "phone": null, "addresses": []});
    order["lines"][0]["asin"] = Value::Null;
    assert_canonical(&order);
    let tables: Arc<dyn LookupSource> = Arc::new(
        TableLookups::new()
            .with_record("contact", "emailaddress1", "guest.x1@marketplace.amazon.com", json!({"contactid": "c-2"}))
            .with_record("product", "productnumber", "MUG-BLUE-12", json!({"productid": "p-1"})),
    );
    let out = f1().apply(&order, &tables).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert!(out.actions.is_empty(), "the customer is matched on the normalized e-mail: {:?}", out.actions);
    assert_eq!(out.fields["description"], json!("Amazon order 902-3159896-1390916 (MFN)"));
    assert_eq!(out.fields["new_fulfillmentchannel"], json!("MFN"));
    assert_eq!(out.fields["new_marketplaceid"], Value::Null);
    assert_eq!(out.lines[0]["new_asin"], Value::Null);
}

#[test]
fn f1_value_map_covers_every_canonical_order_status() {
    // Pending orders are skipped by default; let them through to see their code.
    let mapping = f1_edited("include_pending: false", "include_pending: true");
    let expected = [
        (OrderStatus::Pending, 1),
        (OrderStatus::PendingAvailability, 1),
        (OrderStatus::Unshipped, 3),
        (OrderStatus::PartiallyShipped, 3),
        (OrderStatus::Shipped, 100001),
        (OrderStatus::InvoiceUnconfirmed, 100001),
        (OrderStatus::Canceled, 4),
        (OrderStatus::Unfulfillable, 4),
    ];
    for (status, code) in expected {
        let mut order = canonical_order();
        order["status"] = serde_json::to_value(&status).expect("status");
        let out = mapping.apply(&order, &crm_tables()).unwrap_or_else(|e| panic!("{status:?}: {e:?}"));
        assert_eq!(out.fields["statuscode"], json!(code), "{status:?}");
    }
}

#[test]
fn flow_fields_layer_on_the_connector_default() {
    // What the connector's default transformer writes and F1 no longer does.
    let base = json!({
        "name": "default name",
        "transactioncurrencyid": "cur-usd",
        "customerid_contact": "c-1",
        "shipto_line1": "410 Terry Ave N",
        "statuscode": 1,
    });
    let out = f1().apply_over(&canonical_order(), object(base), &crm_tables()).expect("maps");
    assert_eq!(out.fields["name"], json!("AMZ-902-3159896-1390916"), "the flow overrides the default");
    assert_eq!(out.fields["statuscode"], json!(3), "the flow overrides the default");
    assert_eq!(out.fields["transactioncurrencyid"], json!("cur-usd"), "defaults the flow does not touch stay");
    assert_eq!(out.fields["customerid_contact"], json!("c-1"));
    assert_eq!(out.fields["shipto_line1"], json!("410 Terry Ave N"));
    assert_eq!(out.fields["new_amazonorderid"], json!(ORDER_ID), "custom fields are added");
}

#[test]
fn a_tilde_field_removes_a_connector_default() {
    let flow = parse_flow(
        Path::new("layer.yaml"),
        r#"
name: layer
trigger: { poll: { connection: amazon, operation: searchOrders, every: 5m } }
source: { connection: amazon, operation: getOrder, as: order }
target: { connection: crm, entity: salesorder, key: { ordernumber: "{{ order.id.id }}" } }
map:
  name: "AMZ-{{ order.id.id }}"
  datefulfilled: ~              # Ferry sets it from shipments
"#,
    )
    .expect("parses");
    let mapping = CompiledMapping::compile(&flow).expect("compiles");
    let base = json!({"name": "default name", "datefulfilled": "2026-10-05", "pricelevelid": "pl-1"});
    let out = mapping.apply_over(&canonical_order(), object(base), &crm_tables()).expect("maps");
    assert_eq!(out.fields["name"], json!("AMZ-902-3159896-1390916"));
    assert_eq!(out.fields["pricelevelid"], json!("pl-1"));
    assert!(!out.fields.contains_key("datefulfilled"), "`field: ~` removes a default: {:?}", out.fields);
}

#[test]
fn a_missing_customer_is_created() {
    let tables: Arc<dyn LookupSource> = Arc::new(TableLookups::new().with_record(
        "product",
        "productnumber",
        "MUG-BLUE-12",
        json!({"productid": "p-1"}),
    ));
    let out = f1().apply(&canonical_order(), &tables).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert_eq!(
        out.actions,
        vec![LookupAction { lookup: "customer".into(), line: None, policy: MissingPolicy::Create }]
    );
    assert_eq!(out.lines.len(), 1);
}

#[test]
fn an_unknown_sku_dead_letters_the_whole_order() {
    let tables: Arc<dyn LookupSource> = Arc::new(TableLookups::new().with_record(
        "contact",
        "emailaddress1",
        "jane.doe.x1@marketplace.amazon.com",
        json!({"contactid": "c-1"}),
    ));
    let out = f1().apply(&canonical_order(), &tables).expect("maps");
    assert_eq!(out.outcome, Outcome::DeadLetter("lookup `product` found nothing for line 0".into()));
    assert!(out.held_lines.is_empty(), "F1 fails the record (on_error: fail_record), it holds no lines");

    // A known SKU next to the unknown one does not let the order through with one line.
    let mut order = canonical_order();
    let mut unknown = order["lines"][0].clone();
    unknown["line_id"] = json!("68828574383267");
    unknown["sku"] = json!("MUG-RED-404");
    order["lines"].as_array_mut().expect("lines").push(unknown);
    assert_canonical(&order);
    let out = f1().apply(&order, &crm_tables()).expect("maps");
    assert_eq!(out.outcome, Outcome::DeadLetter("lookup `product` found nothing for line 1".into()));
    assert!(out.held_lines.is_empty());
}

#[test]
fn pending_orders_are_skipped_not_failed() {
    let mut order = canonical_order();
    order["status"] = json!("Pending");
    order["reported_total"] = Value::Null; // Amazon reports no total while an order is Pending
    assert_canonical(&order);
    let out = f1().apply(&order, &crm_tables()).expect("skips");
    assert_eq!(out.outcome, Outcome::Skipped);
    assert!(out.fields.is_empty());
    assert!(out.lines.is_empty());

    // With `include_pending: true` the same order maps, as New and without a total.
    let out = f1_edited("include_pending: false", "include_pending: true").apply(&order, &crm_tables()).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert_eq!(out.fields["statuscode"], json!(1));
    assert_eq!(out.fields["totalamount"], Value::Null);
}

#[test]
fn an_order_without_buyer_still_maps() {
    let mut order = canonical_order();
    order["buyer"] = Value::Null;
    assert_canonical(&order);
    let out = f1().apply(&order, &crm_tables()).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert_eq!(out.fields["name"], json!("AMZ-902-3159896-1390916"));
}

#[test]
fn every_failing_field_is_reported_with_flow_field_and_expression_without_pii() {
    let mut order = canonical_order();
    order["status"] = json!("Teleported"); // an open enum: kept as received
    order["buyer"]["email"] = json!("jane.doe.secret@@nowhere");
    assert_canonical(&order);
    order["purchased_at"] = json!("not-a-date");
    let errors = f1().apply(&order, &crm_tables()).expect_err("fails");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"lookups.customer"), "{fields:?}");
    assert!(fields.contains(&"statuscode"), "{fields:?}");
    assert!(fields.contains(&"new_orderdate"), "{fields:?}");
    let status = errors.iter().find(|e| e.field == "statuscode").expect("statuscode");
    assert_eq!(status.flow, "amazon-orders-to-crm");
    assert_eq!(status.expression, "{{ order.status | value_map('amazon_to_crm_status') }}");
    assert!(status.message.contains("no entry for \"Teleported\""), "{}", status.message);
    for e in &errors {
        assert!(!e.to_string().contains("jane.doe.secret"), "PII in {e}");
    }
}

#[test]
fn a_failing_store_is_a_field_error_not_a_panic() {
    struct Down;
    impl LookupSource for Down {
        fn table(&self, _: &str, _: &str) -> Result<Option<Value>, ferry_mapping::LookupError> {
            Err(ferry_mapping::LookupError("database is locked".into()))
        }
        fn xref(&self, _: &str, _: &str) -> Result<Option<String>, ferry_mapping::LookupError> {
            Err(ferry_mapping::LookupError("database is locked".into()))
        }
        fn rate(
            &self,
            _: ferry_model::Currency,
            _: ferry_model::Currency,
        ) -> Result<Option<rust_decimal::Decimal>, ferry_mapping::LookupError> {
            Err(ferry_mapping::LookupError("database is locked".into()))
        }
        fn find(&self, _: &str, _: &str, _: &str) -> Result<Option<Value>, ferry_mapping::LookupError> {
            Err(ferry_mapping::LookupError("database is locked".into()))
        }
    }
    let tables: Arc<dyn LookupSource> = Arc::new(Down);
    let errors = f1().apply(&canonical_order(), &tables).expect_err("fails");
    let customer = errors.iter().find(|e| e.field == "lookups.customer").expect("customer lookup error");
    assert_eq!(customer.message, "lookup source failed: database is locked");
}

// --- F2 -------------------------------------------------------------------------------------

fn no_lookups() -> Arc<dyn LookupSource> {
    Arc::new(TableLookups::new())
}

/// A Dataverse salesorder row (Submitted, shipped by the seller) with two order products:
/// one whose product is fulfilled by Amazon (FBA) and one the merchant ships.
fn f2_order() -> Value {
    json!({
        "salesorderid": "3f1c0a52-0000-0000-0000-000000000001",
        "ordernumber": "ORD-01001-X5Z7", "statecode": 1, "statuscode": 3, "submitdate": "2026-10-02T15:00:00Z",
        "createdon": "2026-10-02T14:00:00Z", "shippingmethodcode": 2, "new_fulfillmentchannel": "MFN",
        "shipto_name": "Jane Doe", "shipto_line1": "410 Terry Ave N", "shipto_line2": null, "shipto_city": "Seattle",
        "shipto_stateorprovince": "Washington", "shipto_postalcode": "98109", "shipto_country": "United States",
        "order_details": [
            {"salesorderdetailid": "d-1", "productid": "p-1", "quantity": 2.0, "priceperunit": "49.99",
             "product": {"productid": "p-1", "productnumber": "MUG-BLUE-12", "new_fulfillmentchannel": "FBA"}},
            {"salesorderdetailid": "d-2", "productid": "p-2", "quantity": 1.0, "priceperunit": "5.00",
             "product": {"productid": "p-2", "productnumber": "GIFT-WRAP", "new_fulfillmentchannel": "FBM"}}
        ]
    })
}

#[test]
fn f2_sends_only_fba_lines_and_builds_nested_payloads() {
    let out = f2().apply(&f2_order(), &no_lookups()).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert_eq!(out.key, object(json!({"sellerFulfillmentOrderId": "ORD-01001-X5Z7"})));
    assert_eq!(out.fields["displayableOrderId"], json!("ORD-01001-X5Z7"));
    assert_eq!(out.fields["displayableOrderDate"], json!("2026-10-02T15:00:00Z"));
    assert_eq!(out.fields["displayableOrderComment"], json!("Thank you for your order ORD-01001-X5Z7"));
    assert_eq!(out.fields["shippingSpeedCategory"], json!("Expedited"), "option set value 2");
    assert_eq!(out.fields["fulfillmentAction"], json!("Ship"));
    assert_eq!(
        out.fields["destinationAddress"],
        json!({"name": "Jane Doe", "addressLine1": "410 Terry Ave N", "addressLine2": null, "city": "Seattle",
               "stateOrRegion": "WA", "postalCode": "98109", "countryCode": "US"})
    );
    assert_eq!(
        out.lines,
        vec![object(json!({"sellerSku": "MUG-BLUE-12", "sellerFulfillmentOrderItemId": "d-1", "quantity": 2}))],
        "the merchant-shipped line is not sent to FBA"
    );
}

#[test]
fn f2_line_filter_defaults_to_fba_and_drops_lines_without_product() {
    let mut order = f2_order();
    order["shippingmethodcode"] = Value::Null;
    // F2's `default(...)` replaces only an absent column: a null `submitdate` fails the order.
    order.as_object_mut().expect("order").remove("submitdate");
    let details = order["order_details"].as_array_mut().expect("lines");
    // A product without the channel column is taken as FBA; a write-in line has no product.
    details[1]["product"].as_object_mut().expect("product").remove("new_fulfillmentchannel");
    details.push(json!({"salesorderdetailid": "d-3", "productid": null, "quantity": 1.0, "priceperunit": "1.00",
                        "productdescription": "Write-in", "product": null}));
    let out = f2().apply(&order, &no_lookups()).expect("maps");
    let ids: Vec<&Value> = out.lines.iter().map(|l| &l["sellerFulfillmentOrderItemId"]).collect();
    assert_eq!(ids, [&json!("d-1"), &json!("d-2")]);
    assert_eq!(out.lines[1]["sellerSku"], json!("GIFT-WRAP"));
    assert_eq!(out.fields["shippingSpeedCategory"], json!("Standard"), "no shipping method → Standard");
    assert_eq!(out.fields["displayableOrderDate"], json!("2026-10-02T14:00:00Z"), "created on, until submitted");
}

#[test]
fn f2_skips_amazon_fulfilled_and_unsubmitted_orders() {
    let mapping = f2();
    let outcome = |edit: &dyn Fn(&mut Value)| {
        let mut order = f2_order();
        edit(&mut order);
        mapping.apply(&order, &no_lookups()).expect("maps or skips").outcome
    };
    assert_eq!(outcome(&|_| {}), Outcome::Mapped);
    assert_eq!(outcome(&|o| o["statuscode"] = json!(100002)), Outcome::Mapped, "In Progress is sent too");
    assert_eq!(
        outcome(&|o| {
            o.as_object_mut().expect("order").remove("new_fulfillmentchannel");
        }),
        Outcome::Mapped,
        "an order without a channel is the seller's to ship"
    );
    assert_eq!(outcome(&|o| o["new_fulfillmentchannel"] = json!("AFN")), Outcome::Skipped, "Amazon ships AFN orders");
    assert_eq!(outcome(&|o| o["statecode"] = json!(0)), Outcome::Skipped, "a draft (Active) order");
    assert_eq!(outcome(&|o| o["statuscode"] = json!(1)), Outcome::Skipped, "New, not yet submitted");
    assert_eq!(
        outcome(&|o| {
            o["statecode"] = json!(3);
            o["statuscode"] = json!(100001);
        }),
        Outcome::Skipped,
        "fulfilled"
    );
}

#[test]
fn f2_key_sanitises_the_ordernumber() {
    let mapping = f2();
    let key = |ordernumber: &str| {
        let mut order = f2_order();
        order["ordernumber"] = json!(ordernumber);
        let out = mapping.apply(&order, &no_lookups()).expect("maps");
        out.key["sellerFulfillmentOrderId"].as_str().expect("text").to_owned()
    };
    assert_eq!(key("ORD-01001/X5Z7 #2"), "ORD-01001-X5Z7--2");
    assert_eq!(key("ORD_ü.1"), "ORD_--1");
    let long = key(&format!("ORD-{}", "9".repeat(60)));
    assert_eq!(long.len(), 40, "Amazon's limit for sellerFulfillmentOrderId");
    assert!(long.starts_with("ORD-999"));
    assert!(
        ferry_model::AmazonFulfillmentOrderId::new(key("ORD 01001 (gift)")).is_ok(),
        "always a valid sellerFulfillmentOrderId"
    );
}

#[test]
fn f2_a_broken_fba_line_fails_the_whole_record() {
    let mut order = f2_order();
    order["order_details"][0]["product"].as_object_mut().expect("product").remove("productnumber");
    let errors = f2().apply(&order, &no_lookups()).expect_err("fails");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "lines[0].sellerSku");
    assert_eq!(errors[0].flow, "crm-orders-to-fba");
}

#[test]
fn json_schema_describes_the_flow_file() {
    let schema = json_schema();
    let props = &schema["properties"];
    for key in ["name", "trigger", "source", "target", "map", "value_maps", "lookups", "only_if", "custom_fields"] {
        assert!(props.get(key).is_some(), "schema lacks {key}: {schema}");
    }
    let text = schema.to_string();
    assert!(
        text.contains("hold_line") && text.contains("dead_letter") && text.contains("create_placeholder"),
        "enums in schema"
    );
    assert_eq!(schema["additionalProperties"], json!(false), "unknown keys are flagged by editors too");
}

#[test]
fn shipped_schema_file_matches_the_types() {
    let shipped = std::fs::read_to_string(root().join("flows/flow.schema.json")).expect("flows/flow.schema.json");
    let shipped: Value = serde_json::from_str(&shipped).expect("schema is JSON");
    assert!(
        shipped == json_schema(),
        "flows/flow.schema.json is stale: run `cargo run -p ferry-mapping --example flow_schema > flows/flow.schema.json`"
    );
}

#[test]
fn compile_reports_problems_of_a_flow_built_in_code() {
    let flow = ferry_mapping::flow::parse_flow(
        Path::new("inline.yaml"),
        "name: x\ntrigger: { poll: { connection: a, operation: b, every: 1m } }\nsource: { connection: a, operation: g }\ntarget: { connection: c, entity: e, key: { id: \"{{ record.id | nope }}\" } }\n",
    )
    .expect("parses");
    let diagnostics = CompiledMapping::compile(&flow).expect_err("unknown filter");
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].to_string(), "<flow x>:4:64: field `id`: unknown filter `nope`");
}

#[test]
fn duplicate_keys_in_a_flow_file_are_reported() {
    let text = "name: x\nname: y\ntrigger: { poll: { connection: a, operation: b, every: 1m } }\nsource: { connection: a, operation: g }\ntarget: { connection: c, entity: e, key: { id: \"{{ record.id }}\" } }\n";
    let err = ferry_mapping::flow::parse_flow(Path::new("dup.yaml"), text).expect_err("duplicate key");
    assert_eq!(err.pos.line, 2, "{err}");
    assert!(err.message.contains("duplicate"), "{err}");
}

#[test]
fn unknown_settlement_types_hold_those_lines_and_post_the_rest() {
    let dir = ferry_store_free_temp("settlement");
    let path = dir.join("settlement-to-journal.yaml");
    std::fs::write(
        &path,
        r#"name: settlement-to-journal
trigger:
  events: { connection: amazon, types: [REPORT_PROCESSING_FINISHED] }
source: { connection: amazon, operation: getReportDocument, as: settlement }
target:
  connection: fno
  entity: LedgerJournalHeaders
  key: { JournalBatchNumber: "AMZ-{{ settlement.id }}" }
  lines:
    entity: LedgerJournalLines
    from: "{{ settlement.lines }}"
    on_error: hold_line
    map:
      AccountDisplayValue: "{{ line.type | value_map('settlement_accounts') }}"
      CreditAmount: "{{ line.amount | decimal }}"
map:
  Description: "Amazon settlement {{ settlement.id }}"
value_maps:
  settlement_accounts: { Order: "401100", Refund: "401200", ServiceFee: "620300" }
"#,
    )
    .unwrap();
    let flow = load_flow(&path).expect("parses");
    let mapping = CompiledMapping::compile(&flow).expect("compiles");
    let report = json!({
        "id": "12345678901",
        "lines": [
            { "type": "Order", "amount": "19.99" },
            { "type": "BrandNewFeeType", "amount": "-1.00" },
            { "type": "Refund", "amount": "-19.99" },
            { "type": "ServiceFee", "amount": "-39.99" },
        ]
    });
    let out = mapping.apply(&report, &(Arc::new(TableLookups::new()) as Arc<dyn LookupSource>)).expect("posts");
    assert_eq!(out.outcome, Outcome::Mapped, "the report still posts");
    let accounts: Vec<&Value> = out.lines.iter().map(|l| &l["AccountDisplayValue"]).collect();
    assert_eq!(accounts, vec![&json!("401100"), &json!("401200"), &json!("620300")]);
    assert_eq!(out.held_lines.len(), 1, "only the unknown type is held");
    assert_eq!(out.held_lines[0].index, 1);
    assert!(out.held_lines[0].errors[0].message.contains("settlement_accounts"), "{:?}", out.held_lines[0].errors);
    let _ = std::fs::remove_dir_all(dir);
}

fn ferry_store_free_temp(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferry-mapping-{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
