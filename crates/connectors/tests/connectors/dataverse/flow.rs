//! The connector's pieces together, as flow F1/F2 use them: an Amazon order with its buyer
//! becomes a contact and a sales order with lines, is submitted, then shipped and fulfilled;
//! redelivering the order changes nothing.

use std::collections::HashMap;

use ferry_connectors::dataverse::batch::Batch;
use ferry_connectors::dataverse::transformers::{
    CustomFields, CustomerRef, OrderRefs, ProductRefs, StateAction, customer_to_row, order_to_salesorder,
    product_to_row, shipment_to_rows,
};
use ferry_connectors::dataverse::{Concurrency, Query, RecordKey};
use ferry_model::{
    Address, CountryCode, Currency, Customer, CustomerKind, DataverseId, FulfillmentChannel, Money, Order, OrderLine,
    OrderStatus, PersonName, Pii, Product, RecordRef, Shipment, ShipmentStatus, Sku, System,
};
use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig};

use super::support::{client_for, customised};

fn id(uuid: uuid::Uuid) -> DataverseId {
    DataverseId::new(uuid).expect("not nil")
}

fn amazon_order() -> Order {
    let usd = Currency::from_code("USD").expect("USD");
    let mut buyer = Customer::new(CustomerKind::Person(PersonName {
        first: Some(Pii::new("Sam".into())),
        last: Pii::new("Shopper".into()),
    }));
    buyer.email = Some(Pii::new("x7yz@marketplace.amazon.com".into()));
    let mut ship_to = Address::new(CountryCode::new("US").expect("US"));
    ship_to.city = Some("Austin".into());
    Order {
        id: RecordRef::new(System::Amazon, "order", "111-2223334-4445556").expect("ref"),
        marketplace_id: None,
        seller_order_id: None,
        status: OrderStatus::Unshipped,
        fulfillment_channel: FulfillmentChannel::Amazon,
        purchased_at: "2026-11-22T09:00:00Z".parse().expect("ts"),
        last_updated_at: "2026-11-22T09:05:00Z".parse().expect("ts"),
        currency: usd,
        buyer: Some(buyer),
        shipping_address: Some(ship_to),
        lines: vec![
            OrderLine::new("1", Sku::new("SKU-1").expect("sku"), 2, Money::parse("10.00", "USD").expect("money")),
            OrderLine::new("2", Sku::new("SKU-2").expect("sku"), 1, Money::parse("3.50", "USD").expect("money")),
        ],
        reported_total: None,
    }
}

#[tokio::test]
async fn an_amazon_order_flows_into_the_crm_and_a_redelivery_changes_nothing() {
    let mut config = customised(DataverseSandboxConfig::default());
    config.alternate_keys.push(("salesorder".into(), vec!["new_amazonorderid".into()]));
    let sandbox = DataverseSandbox::start(config).await.expect("sandbox");
    let reference = sandbox.seed_reference_data().expect("reference data");
    assert_eq!(sandbox.seed_reference_data().expect("again"), reference, "seeding is idempotent");
    let client = client_for(&sandbox);
    let fields = CustomFields {
        order_source_id: Some("new_amazonorderid".into()),
        line_source_id: Some("new_sourcelineid".into()),
        tracking_number: Some("new_trackingnumber".into()),
        ..CustomFields::default()
    };
    let product_refs = ProductRefs { unit: id(reference.unit), unit_schedule: id(reference.unit_schedule) };
    let (key, body) =
        product_to_row(&Product::new(Sku::new("SKU-1").expect("sku"), "Widget"), &product_refs, &fields).expect("row");
    let product = client.upsert("products", &key, &body).await.expect("product");

    let order = amazon_order();
    let mut order_id = None;
    for _delivery in 0..2 {
        let buyer = customer_to_row(order.buyer.as_ref().expect("buyer"), None);
        let contact =
            client.upsert("contacts", buyer.key.as_ref().expect("email key"), &buyer.body).await.expect("contact");
        let refs = OrderRefs {
            customer: Some(CustomerRef::Contact(contact)),
            currency: Some(id(reference.currency)),
            price_level: Some(id(reference.price_level)),
            products: HashMap::from([(Sku::new("SKU-1").expect("sku"), product)]),
            unit: Some(id(reference.unit)),
        };
        let write = order_to_salesorder(&order, &refs, &fields).expect("transform");
        let mut batch = Batch::new();
        write.add_to_batch(&mut batch).expect("batch");
        let results = client.execute_batch(&batch, false).await.expect("written");
        assert!(results.iter().all(|r| r.outcome.is_success()), "{results:?}");
        let written = match &results[0].outcome {
            ferry_connectors::dataverse::Outcome::Succeeded { id: Some(id), .. } => *id,
            other => panic!("{other:?}"),
        };
        if let StateAction::Set(state) = write.state {
            client.set_sales_order_state(written, state).await.expect("state");
        }
        order_id = Some(written);
    }
    let order_id = order_id.expect("written");
    assert_eq!(
        (sandbox.row_count("contacts"), sandbox.row_count("salesorders"), sandbox.row_count("salesorderdetails")),
        (1, 1, 2)
    );

    let shipment = Shipment {
        id: None,
        order: RecordRef::dataverse("salesorder", order_id).expect("ref"),
        status: ShipmentStatus::Shipped,
        carrier: Some("UPS".into()),
        service: None,
        tracking_number: Some("1ZFERRY".into()),
        shipped_at: None,
        estimated_arrival: None,
        ship_to: None,
        lines: Vec::new(),
    };
    let write = shipment_to_rows(&shipment, order_id, true, &fields);
    client
        .update("salesorders", &RecordKey::Id(order_id), &write.order_update, Concurrency::Exists)
        .await
        .expect("ship");
    client.create("tasks", &write.task).await.expect("activity");
    if let Some(status) = write.fulfil {
        client.fulfill_sales_order(order_id, status, "Shipped by Amazon").await.expect("fulfil");
    }
    let row = client
        .retrieve(
            "salesorders",
            &RecordKey::alternate("new_amazonorderid", "111-2223334-4445556"),
            &Query::new().select(&["statecode", "new_trackingnumber", "_customerid_value", "_pricelevelid_value"]),
        )
        .await
        .expect("order by its Amazon Order Id");
    assert_eq!(row.get("statecode").and_then(|v| v.as_i64()), Some(3));
    assert_eq!(row.str("new_trackingnumber"), Some("1ZFERRY"));
    assert_eq!(row.str("_pricelevelid_value"), Some(reference.price_level.to_string().as_str()));
}
