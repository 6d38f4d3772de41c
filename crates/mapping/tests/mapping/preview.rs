//! The preview library call behind `ferry map preview` and the dashboard.

use std::path::Path;
use std::sync::Arc;

use ferry_mapping::TableLookups;
use ferry_mapping::flow::parse_flow;
use ferry_mapping::preview::{PreviewContext, PreviewError, preview, preview_named};
use serde_json::json;

const FLOW: &str = r#"
name: preview-demo
trigger: { poll: { connection: amazon, operation: searchOrders, every: 5m } }
source: { connection: amazon, operation: getOrder, as: order }
target: { connection: crm, entity: salesorder, key: { ordernumber: "{{ order.AmazonOrderId }}" } }
map:
  statuscode: "{{ order.OrderStatus | value_map('status') }}"
  total: "{{ order.OrderTotal | money_amount }}"
  day: "{{ order.PurchaseDate | to_date }}"
value_maps:
  status: { Shipped: 100001 }
"#;

#[test]
fn preview_prints_the_mapped_record() {
    let flow = parse_flow(Path::new("demo.yaml"), FLOW).expect("parses");
    let input = json!({"AmazonOrderId": "1", "OrderStatus": "Shipped", "OrderTotal": {"CurrencyCode": "EUR", "Amount": "5.00"}, "PurchaseDate": "2026-10-01T00:00:00Z"});
    let out = preview(&flow, &input, &PreviewContext::default()).expect("maps");
    assert_eq!(
        out,
        json!({"outcome": "mapped", "key": {"ordernumber": "1"}, "fields": {"statuscode": 100001, "total": "5.00", "day": "2026-10-01"},
               "lines": [], "held_lines": [], "actions": []})
    );
}

#[test]
fn preview_returns_each_error_with_field_and_expression() {
    let flow = parse_flow(Path::new("demo.yaml"), FLOW).expect("parses");
    let input = json!({"AmazonOrderId": "1", "OrderStatus": "Lost", "OrderTotal": {"CurrencyCode": "EUR", "Amount": "five"}, "PurchaseDate": "2026-02-30"});
    let errors = preview(&flow, &input, &PreviewContext::default()).expect_err("fails");
    let mut got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.expression.as_str())).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("day", "{{ order.PurchaseDate | to_date }}"),
            ("statuscode", "{{ order.OrderStatus | value_map('status') }}"),
            ("total", "{{ order.OrderTotal | money_amount }}"),
        ]
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| e.message.contains("\"five\" is not a decimal number")));
    assert!(errors.iter().any(|e| e.message.contains("\"2026-02-30\" is not a valid date/time")));
}

#[test]
fn preview_named_finds_the_flow_in_the_folder() {
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    // F1 reads Ferry's canonical order, not Amazon's wire shape.
    let input: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples/canonical-order.json"),
        )
        .expect("sample"),
    )
    .expect("json");
    let ctx = PreviewContext {
        lookups: Arc::new(
            TableLookups::new()
                .with_record(
                    "contact",
                    "emailaddress1",
                    "jane.doe.x1@marketplace.amazon.com",
                    json!({"contactid": "c-1"}),
                )
                .with_record("product", "productnumber", "MUG-BLUE-12", json!({"productid": "p-1"})),
        ),
        base: json!({"transactioncurrencyid": "cur-usd"}).as_object().cloned().unwrap_or_default(),
    };
    let out = preview_named(&flows, "amazon-orders-to-crm", &["amazon", "crm"], &input, &ctx).expect("maps");
    assert_eq!(out["outcome"], json!("mapped"));
    assert_eq!(out["key"], json!({"ordernumber": "902-3159896-1390916"}));
    assert_eq!(out["fields"]["name"], json!("AMZ-902-3159896-1390916"));
    assert_eq!(out["fields"]["statuscode"], json!(3));
    assert_eq!(out["fields"]["transactioncurrencyid"], json!("cur-usd"), "the preview layers on the default");
    assert_eq!(out["lines"], json!([{"new_asin": "B00EXAMPLE", "productdescription": "Blue mug, 12 oz"}]));
    assert_eq!(out["actions"], json!([]));

    // Without the product in the CRM the preview shows the dead letter the run would make.
    let ctx = PreviewContext { lookups: Arc::new(TableLookups::new()), base: Default::default() };
    let out = preview_named(&flows, "amazon-orders-to-crm", &["amazon", "crm"], &input, &ctx).expect("maps");
    assert_eq!(out["outcome"], json!("dead_letter"));
    assert_eq!(out["reason"], json!("lookup `product` found nothing for line 0"));
    assert_eq!(out["actions"], json!([{"lookup": "customer", "line": null, "policy": "create"}]));
    assert!(matches!(preview_named(&flows, "nope", &["amazon", "crm"], &input, &ctx), Err(PreviewError::NotFound(_))));
}
