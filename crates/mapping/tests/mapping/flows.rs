//! The shipped templates applied to real-shaped records, and the flow file format.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_mapping::flow::{MissingPolicy, load_flow};
use ferry_mapping::{CompiledMapping, LookupSource, Outcome, TableLookups, json_schema};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn amazon_order() -> Value {
    let text = std::fs::read_to_string(root().join("crates/mapping/tests/fixtures/samples/amazon-order.json"))
        .expect("sample");
    serde_json::from_str(&text).expect("json")
}

fn f1() -> CompiledMapping {
    let flow = load_flow(&root().join("flows/amazon-orders-to-crm.yaml")).expect("F1 parses");
    CompiledMapping::compile(&flow).expect("F1 compiles")
}

fn crm_tables() -> Arc<dyn LookupSource> {
    Arc::new(
        TableLookups::new()
            .with_record("contact", "emailaddress1", "jane.doe.x1@marketplace.amazon.com", json!({"contactid": "c-1"}))
            .with_record("product", "productnumber", "MUG-BLUE-12", json!({"productid": "p-1"}))
            .with_table_entry("currencies", "USD", json!("cur-usd")),
    )
}

#[test]
fn f1_maps_an_amazon_order_to_a_crm_sales_order() {
    let out = f1().apply(&amazon_order(), &crm_tables()).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert_eq!(out.key, json!({"ordernumber": "902-3159896-1390916"}).as_object().cloned().unwrap_or_default());
    let f = &out.fields;
    assert_eq!(f["name"], json!("AMZ-902-3159896-1390916"));
    assert_eq!(f["statuscode"], json!(2), "Unshipped → Active/Pending via the value map");
    assert_eq!(f["totalamount"], json!("119.99"), "money stays a decimal string");
    assert_eq!(f["transactioncurrencyid"], json!("cur-usd"));
    assert_eq!(f["new_orderdate"], json!("2026-09-30"), "the seller's calendar day in Los Angeles");
    assert_eq!(f["customerid_contact"], json!("c-1"));
    assert_eq!(f["shipto_line1"], json!("410 Terry Ave N"));
    assert_eq!(f["shipto_country"], json!("US"));
    assert_eq!(f["new_amazonorderid"], json!("902-3159896-1390916"), "custom field is one line");
    assert_eq!(f["description"], json!("Amazon Amazon.com order 902-3159896-1390916"));
    assert_eq!(out.lines.len(), 1);
    assert_eq!(out.lines[0]["productid"], json!("p-1"));
    assert_eq!(out.lines[0]["priceperunit"], json!("49.99"));
    assert_eq!(out.lines[0]["tax"], json!("8.00"));
    assert!(out.actions.is_empty());
}

#[test]
fn flow_fields_layer_on_the_connector_default_and_can_remove_one() {
    let base = json!({"name": "default name", "datefulfilled": "2026-10-05", "pricelevelid": "pl-1"});
    let out =
        f1().apply_over(&amazon_order(), base.as_object().cloned().unwrap_or_default(), &crm_tables()).expect("maps");
    assert_eq!(out.fields["name"], json!("AMZ-902-3159896-1390916"), "the flow overrides the default");
    assert_eq!(out.fields["pricelevelid"], json!("pl-1"), "defaults the flow does not touch stay");
    assert!(!out.fields.contains_key("datefulfilled"), "`field: ~` removes a default");
}

#[test]
fn missing_customer_is_created_and_unknown_sku_holds_only_that_line() {
    let tables: Arc<dyn LookupSource> =
        Arc::new(TableLookups::new().with_table_entry("currencies", "USD", json!("cur-usd")));
    let out = f1().apply(&amazon_order(), &tables).expect("maps");
    assert_eq!(out.outcome, Outcome::Mapped);
    assert_eq!(out.actions.len(), 1);
    assert_eq!(out.actions[0].lookup, "customer");
    assert_eq!(out.actions[0].policy, MissingPolicy::Create);
    assert_eq!(out.fields["customerid_contact"], Value::Null);
    assert!(out.lines.is_empty());
    assert_eq!(out.held_lines.len(), 1, "F1 holds lines (on_error: hold_line)");
    assert!(out.held_lines[0].errors[0].message.contains("lookup `product` found nothing for line 0"));
}

#[test]
fn pending_orders_are_skipped_not_failed() {
    let mut order = amazon_order();
    order["OrderStatus"] = json!("Pending");
    let out = f1().apply(&order, &crm_tables()).expect("skips");
    assert_eq!(out.outcome, Outcome::Skipped);
    assert!(out.fields.is_empty());
}

#[test]
fn every_failing_field_is_reported_with_flow_field_and_expression_without_pii() {
    let mut order = amazon_order();
    order["OrderStatus"] = json!("Teleported");
    order["BuyerInfo"]["BuyerEmail"] = json!("jane.doe.secret@@nowhere");
    order["PurchaseDate"] = json!("not-a-date");
    let errors = f1().apply(&order, &crm_tables()).expect_err("fails");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"lookups.customer"), "{fields:?}");
    assert!(fields.contains(&"statuscode"), "{fields:?}");
    assert!(fields.contains(&"new_orderdate"), "{fields:?}");
    let status = errors.iter().find(|e| e.field == "statuscode").expect("statuscode");
    assert_eq!(status.flow, "amazon-orders-to-crm");
    assert_eq!(status.expression, "{{ order.OrderStatus | value_map('amazon_to_crm_status') }}");
    assert!(status.message.contains("no entry for \"Teleported\""), "{}", status.message);
    for e in &errors {
        assert!(!e.to_string().contains("jane.doe.secret"), "PII in {e}");
    }
}

#[test]
fn f2_sends_only_fba_lines_and_builds_nested_payloads() {
    let flow = load_flow(&root().join("flows/crm-orders-to-fba.yaml")).expect("F2 parses");
    let mapping = CompiledMapping::compile(&flow).expect("F2 compiles");
    let order = json!({
        "ordernumber": "ORD-01001-X5Z7", "statecode": 1, "statuscode": 3, "submitdate": "2026-10-02T15:00:00Z",
        "createdon": "2026-10-02T14:00:00Z", "shippingmethodcode": 2, "currency_code": "USD",
        "shipto_name": "Jane Doe", "shipto_line1": "410 Terry Ave N", "shipto_city": "Seattle",
        "shipto_stateorprovince": "Washington", "shipto_postalcode": "98109", "shipto_country": "United States",
        "emailaddress": "Jane@Example.com",
        "order_details": [
            {"salesorderdetailid": "d-1", "productid": "p-1", "quantity": 2.0, "priceperunit": "49.99", "new_fulfillmentchannel": "FBA"},
            {"salesorderdetailid": "d-2", "productid": "p-2", "quantity": 1.0, "priceperunit": "5.00", "new_fulfillmentchannel": "Merchant"}
        ]
    });
    let tables: Arc<dyn LookupSource> = Arc::new(TableLookups::new().with_record(
        "product",
        "productid",
        "p-1",
        json!({"new_sellersku": "MUG-BLUE-12"}),
    ));
    let out = mapping.apply(&order, &tables).expect("maps");
    assert_eq!(out.key["sellerFulfillmentOrderId"], json!("ORD-01001-X5Z7"));
    assert_eq!(out.fields["shippingSpeedCategory"], json!("Expedited"));
    assert_eq!(out.fields["destinationAddress"]["stateOrRegion"], json!("WA"));
    assert_eq!(out.fields["destinationAddress"]["countryCode"], json!("US"));
    assert_eq!(out.fields["notificationEmails"], json!(["jane@example.com"]));
    assert_eq!(out.lines.len(), 1, "the Merchant line is not sent to FBA");
    assert_eq!(out.lines[0]["sellerSku"], json!("MUG-BLUE-12"));
    assert_eq!(out.lines[0]["perUnitDeclaredValue"], json!({"amount": "49.99", "currency": "USD"}));

    let mut draft = order.clone();
    draft["statecode"] = json!(0);
    assert_eq!(mapping.apply(&draft, &tables).expect("skips").outcome, Outcome::Skipped);
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

fn f2_order() -> Value {
    json!({
        "ordernumber": "ORD-1", "statecode": 1, "statuscode": 3, "createdon": "2026-10-02T14:00:00Z", "currency_code": "USD",
        "shipto_name": "Jane Doe", "shipto_line1": "410 Terry Ave N", "shipto_city": "Seattle",
        "shipto_stateorprovince": "WA", "shipto_postalcode": "98109", "shipto_country": "US",
        "order_details": [{"salesorderdetailid": "d-1", "productid": "p-404", "quantity": 1, "priceperunit": "5.00"}]
    })
}

#[test]
fn unknown_sku_dead_letters_the_record_when_lines_fail_the_record() {
    let flow = load_flow(&root().join("flows/crm-orders-to-fba.yaml")).expect("F2 parses");
    let mapping = CompiledMapping::compile(&flow).expect("F2 compiles");
    let tables: Arc<dyn LookupSource> = Arc::new(TableLookups::new());
    let out = mapping.apply(&f2_order(), &tables).expect("maps");
    assert_eq!(out.outcome, Outcome::DeadLetter("lookup `sku` found nothing for line 0".into()));
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
    let errors = f1().apply(&amazon_order(), &tables).expect_err("fails");
    let customer = errors.iter().find(|e| e.field == "lookups.customer").expect("customer lookup error");
    assert_eq!(customer.message, "lookup source failed: database is locked");
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
