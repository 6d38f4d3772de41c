//! Canonical ↔ Dataverse transformers, written to and read from the sandbox.

use std::collections::HashMap;

use ferry_connectors::dataverse::batch::Batch;
use ferry_connectors::dataverse::models::FulfilledStatus;
use ferry_connectors::dataverse::transformers::{
    CustomFields, CustomerRef, CustomerTable, OrderRefs, ProductRefs, StateAction, customer_to_row, money_value,
    order_to_salesorder, product_to_row, row_to_customer, row_to_product, salesorder_to_order, shipment_to_rows,
};
use ferry_connectors::dataverse::{Query, RecordKey};
use ferry_model::{
    Address, AddressRole, AmazonMarketplaceId, Asin, CountryCode, Currency, Customer, CustomerAddress, CustomerKind,
    Decimal, FulfillmentChannel, Money, Order, OrderLine, OrderStatus, PersonName, Pii, Product, RecordRef, Shipment,
    ShipmentStatus, Sku, System, Timestamp,
};
use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig};
use serde_json::json;

use super::support::{client_for, obj};

fn usd() -> Currency {
    Currency::from_code("USD").expect("USD")
}

fn money(amount: &str) -> Money {
    Money::parse(amount, "USD").expect("money")
}

fn address() -> Address {
    let mut a = Address::new(CountryCode::new("US").expect("US"));
    a.recipient = Some(Pii::new("Jane Buyer".into()));
    a.lines = Pii::new(vec!["1 Main St".into(), "Apt 2".into()]);
    a.city = Some("Seattle".into());
    a.state_or_province = Some("WA".into());
    a.postal_code = Some(Pii::new("98101".into()));
    a
}

fn order() -> Order {
    let mut line = OrderLine::new("li-1", Sku::new("SKU-1").expect("sku"), 2, money("19.99"));
    line.asin = Some(Asin::new("B000000001").expect("asin"));
    line.item_tax = money("3.20");
    line.shipping_price = money("4.99");
    line.discount = money("1.00");
    let write_in = OrderLine::new("li-2", Sku::new("SKU-NEW").expect("sku"), 1, money("5.00"));
    Order {
        id: RecordRef::new(System::Amazon, "order", "113-1234567-1234567").expect("ref"),
        marketplace_id: Some(AmazonMarketplaceId::new("ATVPDKIKX0DER").expect("marketplace")),
        seller_order_id: None,
        status: OrderStatus::Unshipped,
        fulfillment_channel: FulfillmentChannel::Amazon,
        purchased_at: "2026-11-20T10:00:00Z".parse::<Timestamp>().expect("ts"),
        last_updated_at: "2026-11-20T11:00:00Z".parse::<Timestamp>().expect("ts"),
        currency: usd(),
        buyer: None,
        shipping_address: Some(address()),
        lines: vec![line, write_in],
        reported_total: None,
    }
}

fn fields() -> CustomFields {
    CustomFields {
        order_source_id: Some("new_amazonorderid".into()),
        marketplace_id: Some("new_marketplaceid".into()),
        fulfillment_channel: Some("new_fulfillmentchannel".into()),
        line_source_id: Some("new_sourcelineid".into()),
        asin: Some("new_asin".into()),
        tracking_number: Some("new_trackingnumber".into()),
        carrier: Some("new_carrier".into()),
    }
}

async fn sandbox() -> DataverseSandbox {
    super::support::sandbox(DataverseSandboxConfig::default()).await
}

#[tokio::test]
async fn an_order_becomes_a_sales_order_with_lines_in_one_change_set_idempotently_and_reads_back() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let contact = client.create("contacts", &obj(json!({"lastname": "Buyer"}))).await.expect("contact");
    let currency = client
        .create("transactioncurrencies", &obj(json!({"isocurrencycode": "USD", "currencyname": "US Dollar"})))
        .await
        .expect("currency");
    let product =
        client.create("products", &obj(json!({"productnumber": "SKU-1", "name": "Widget"}))).await.expect("product");
    let refs = OrderRefs {
        customer: Some(CustomerRef::Contact(contact)),
        currency: Some(currency),
        products: HashMap::from([(Sku::new("SKU-1").expect("sku"), product)]),
        ..OrderRefs::default()
    };
    let write = order_to_salesorder(&order(), &refs, &fields()).expect("transforms");
    assert_eq!(write.state, StateAction::Set(ferry_connectors::dataverse::models::SalesOrderState::Submitted));
    assert_eq!(write.header["customerid_contact@odata.bind"], format!("/contacts({contact})"));
    assert_eq!(write.header["freightamount"], json!(4.99));
    for _ in 0..2 {
        let mut batch = Batch::new();
        write.add_to_batch(&mut batch).expect("fits");
        let results = client.execute_batch(&batch, false).await.expect("batch");
        assert!(results.iter().all(|r| r.outcome.is_success()), "{results:?}");
    }
    assert_eq!(
        (sandbox.row_count("salesorders"), sandbox.row_count("salesorderdetails")),
        (1, 2),
        "written twice, stored once"
    );

    let header = client
        .retrieve("salesorders", &RecordKey::alternate("ordernumber", "113-1234567-1234567"), &Query::new())
        .await
        .expect("order");
    assert_eq!(header.str("new_amazonorderid"), Some("113-1234567-1234567"));
    assert_eq!(header.str("shipto_city"), Some("Seattle"));
    assert_eq!(header.str("_customerid_value"), Some(contact.to_string().as_str()));
    let order_id = header.id("salesorderid").expect("id");
    let lines = client
        .query_all(
            "salesorderdetails",
            &Query::new()
                .filter(ferry_connectors::dataverse::Filter::eq("_salesorderid_value", order_id))
                .expand("productid", &["productnumber"])
                .order_by("lineitemnumber", false),
            None,
        )
        .await
        .expect("lines");
    assert_eq!(lines[0].str("new_asin"), Some("B000000001"));
    assert_eq!(lines[1].get("isproductoverridden"), Some(&json!(true)));
    let back = salesorder_to_order(&header, &lines, usd()).expect("reads back");
    assert_eq!(back.lines.len(), 2);
    assert_eq!(back.lines[0].sku.as_str(), "SKU-1");
    assert_eq!(back.lines[0].unit_price, money("19.99"));
    assert_eq!(back.lines[1].sku.as_str(), "SKU-NEW");
    assert_eq!(back.status, OrderStatus::Unshipped);
    assert_eq!(back.shipping_address.as_ref().and_then(|a| a.city.clone()).as_deref(), Some("Seattle"));
    assert_eq!(back.id.entity(), "salesorder");
}

#[test]
fn statuses_map_to_the_state_actions_dataverse_requires() {
    use ferry_connectors::dataverse::transformers::order_state;
    assert_eq!(order_state(&OrderStatus::Shipped), StateAction::Fulfill(FulfilledStatus::Complete));
    assert_eq!(order_state(&OrderStatus::Canceled), StateAction::Cancel);
    assert_eq!(order_state(&OrderStatus::Unknown("Weird".into())), StateAction::None, "unknown stays as it is");
    assert!(money_value(Decimal::new(1999, 2), "r", "f").is_ok());
    let err = money_value("12345678901234567.891".parse().expect("decimal"), "order 1", "totalamount").unwrap_err();
    assert!(err.to_string().contains("order 1: field 'totalamount'"), "{err}");
}

#[tokio::test]
async fn customers_become_contacts_or_accounts_with_composite_addresses_and_read_back() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let mut person = Customer::new(CustomerKind::Person(PersonName {
        first: Some(Pii::new("Ada".into())),
        last: Pii::new("Lovelace".into()),
    }));
    person.email = Some(Pii::new("ada@example.com".into()));
    person.addresses = vec![
        CustomerAddress { role: AddressRole::Shipping, address: address() },
        CustomerAddress { role: AddressRole::Billing, address: address() },
    ];
    let write = customer_to_row(&person, None);
    assert_eq!(write.table, CustomerTable::Contact);
    let id = client.upsert("contacts", write.key.as_ref().expect("email key"), &write.body).await.expect("upsert");
    client.upsert("contacts", write.key.as_ref().expect("email key"), &write.body).await.expect("again");
    assert_eq!(sandbox.row_count("contacts"), 1);
    let row = client.retrieve("contacts", &RecordKey::Id(id), &Query::new()).await.expect("row");
    assert_eq!(row.str("address1_composite"), Some("1 Main St\r\nApt 2\r\nSeattle WA 98101\r\nUS"));
    let back = row_to_customer(CustomerTable::Contact, &row).expect("back");
    assert_eq!(back.person().map(|p| p.last.expose().as_str()), Some("Lovelace"));
    assert_eq!(back.address(AddressRole::Shipping).and_then(|a| a.city.as_deref()), Some("Seattle"));
    let company = customer_to_row(&Customer::new(CustomerKind::Company { name: Pii::new("Contoso".into()) }), None);
    assert_eq!((company.table, company.body["name"].as_str()), (CustomerTable::Account, Some("Contoso")));
    let guest = customer_to_row(&Customer::new(CustomerKind::Guest), None);
    assert_eq!(guest.key, None);
    assert!(format!("{person:?}").contains("redacted") && !format!("{person:?}").contains("Lovelace"));
}

#[tokio::test]
async fn products_and_shipments_write_their_rows() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let schedule = client.create("uomschedules", &obj(json!({"name": "Default Unit"}))).await.expect("schedule");
    let unit = client
        .create(
            "uoms",
            &obj(json!({"name": "Primary Unit", "uomscheduleid@odata.bind": format!("/uomschedules({schedule})")})),
        )
        .await
        .expect("unit");
    let mut product = Product::new(Sku::new("SKU-9").expect("sku"), "Gadget");
    product.list_price = Some(money("12.50"));
    let (key, body) = product_to_row(&product, &ProductRefs { unit, unit_schedule: schedule }, &fields()).expect("row");
    let id = client.upsert("products", &key, &body).await.expect("upsert");
    let row = client.retrieve("products", &RecordKey::Id(id), &Query::new()).await.expect("row");
    let back = row_to_product(&row, usd()).expect("product");
    assert_eq!((back.sku.as_str(), back.list_price), ("SKU-9", Some(money("12.50"))));

    let order = client.create("salesorders", &obj(json!({"name": "SO"}))).await.expect("order");
    let shipment = Shipment {
        id: None,
        order: RecordRef::dataverse("salesorder", order).expect("ref"),
        status: ShipmentStatus::Shipped,
        carrier: Some("UPS".into()),
        service: None,
        tracking_number: Some("1Z999".into()),
        shipped_at: Some("2026-11-21T08:00:00Z".parse().expect("ts")),
        estimated_arrival: None,
        ship_to: None,
        lines: Vec::new(),
    };
    let write = shipment_to_rows(&shipment, order, true, &fields());
    assert_eq!(write.fulfil, Some(FulfilledStatus::Complete));
    client
        .update(
            "salesorders",
            &RecordKey::Id(order),
            &write.order_update,
            ferry_connectors::dataverse::Concurrency::Exists,
        )
        .await
        .expect("update");
    client.create("tasks", &write.task).await.expect("task");
    client.fulfill_sales_order(order, FulfilledStatus::Complete, "Shipped").await.expect("fulfil");
    let row = client.retrieve("salesorders", &RecordKey::Id(order), &Query::new()).await.expect("row");
    assert_eq!((row.str("new_trackingnumber"), row.get("shippingmethodcode")), (Some("1Z999"), Some(&json!(4))));
    let tasks = client
        .query_all(
            "tasks",
            &Query::new().filter(ferry_connectors::dataverse::Filter::eq("_regardingobjectid_value", order)),
            None,
        )
        .await
        .expect("tasks");
    assert_eq!(tasks[0].str("subject"), Some("Shipped via UPS, tracking 1Z999"));
}

#[tokio::test]
async fn price_list_items_upsert_by_price_list_product_and_unit() {
    use ferry_connectors::dataverse::transformers::{PriceListRefs, price_list_item_to_row};
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let price_level = client.create("pricelevels", &obj(json!({"name": "Amazon US"}))).await.expect("price list");
    let schedule = client.create("uomschedules", &obj(json!({"name": "Unit"}))).await.expect("schedule");
    let unit = client
        .create("uoms", &obj(json!({"name": "Each", "uomscheduleid@odata.bind": format!("/uomschedules({schedule})")})))
        .await
        .expect("unit");
    let product_id =
        client.create("products", &obj(json!({"productnumber": "SKU-7", "name": "Thing"}))).await.expect("product");
    let mut product = Product::new(Sku::new("SKU-7").expect("sku"), "Thing");
    let refs = PriceListRefs { price_level, product: product_id, unit };
    assert_eq!(price_list_item_to_row(&product, &refs).expect("no price"), None);
    for price in ["9.99", "8.49"] {
        product.list_price = Some(money(price));
        let (key, body) = price_list_item_to_row(&product, &refs).expect("row").expect("priced");
        client.upsert("productpricelevels", &key, &body).await.expect("upsert");
    }
    let rows = sandbox.rows("productpricelevels");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["amount"], json!(8.49));
    assert_eq!(rows[0]["_productid_value"], product_id.to_string());
}

#[tokio::test]
async fn batched_writes_hand_each_outcome_back_to_its_record() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let items: Vec<(String, ferry_connectors::dataverse::Operation)> = (0..25)
        .map(|i| {
            let subject = if i == 7 { "x".repeat(201) } else { format!("task {i}") };
            (
                format!("record-{i}"),
                ferry_connectors::dataverse::Operation::create("tasks", obj(json!({ "subject": subject }))),
            )
        })
        .collect();
    let before = sandbox.request_count();
    let outcomes = client.execute_in_batches(items, 10).await.expect("batches");
    assert_eq!(sandbox.request_count() - before, 3, "25 writes in 3 requests");
    assert_eq!(outcomes.len(), 25);
    for (tag, outcome) in &outcomes {
        assert_eq!(outcome.is_success(), tag != "record-7", "{tag}: {outcome:?}");
    }
    assert_eq!(sandbox.row_count("tasks"), 24);
}

#[test]
fn money_given_as_text_becomes_an_exact_number_and_bad_text_names_the_column() {
    use ferry_connectors::dataverse::transformers::money_text_to_numbers;
    let mut body = serde_json::json!({ "totalamount": "119.99", "name": "12.50", "tax": 8 });
    let body = body.as_object_mut().expect("object");
    money_text_to_numbers(body, "order 1").expect("converts");
    assert_eq!(body["totalamount"], serde_json::json!(119.99));
    assert_eq!(body["name"], serde_json::json!("12.50"), "only money columns change");
    assert_eq!(body["tax"], serde_json::json!(8));
    let mut bad = serde_json::json!({ "priceperunit": "12,50" });
    let err = money_text_to_numbers(bad.as_object_mut().expect("object"), "order 2").expect_err("refused");
    assert!(err.to_string().contains("order 2") && err.to_string().contains("priceperunit"), "{err}");
}
