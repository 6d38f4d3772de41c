use std::fmt::Debug;

use ferry_model::{
    Customer, CustomerKind, InventoryLevel, JournalEntry, Order, OrderStatus, PersonName, Pii, Product,
    ReturnAuthorization, Settlement, Shipment, ShipmentStatus, Timestamp,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::fixtures::{
    customer, inventory_levels, journal, order, product, return_authorization, settlement, shipment, ts,
};

/// serialize → deserialize → equal, and serializing again gives the same JSON (so scale,
/// unknown values and optional fields all survive).
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> serde_json::Value {
    let json = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    let text = serde_json::to_string(value).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), value);
    json
}

#[test]
fn order_round_trips_with_its_wire_shape() {
    let json = round_trip(&order());
    assert_eq!(json["id"], json!({"system": "amazon", "entity": "order", "id": "114-3941689-8772232"}));
    assert_eq!(json["status"], "PartiallyShipped");
    assert_eq!(json["fulfillment_channel"], "AFN");
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["purchased_at"], "2024-05-01T16:00:00Z");
    assert_eq!(json["last_updated_at"], "2024-05-02T08:30:15.123Z");
    assert_eq!(json["lines"][0]["unit_price"], json!({"amount": "19.99", "currency": "USD"}));
    assert_eq!(json["lines"][0]["asin"], "B07XJ8C8F5");
    assert_eq!(json["buyer"]["kind"]["type"], "person_at_company");
    assert_eq!(json["shipping_address"]["country"], "US");
}

#[test]
fn order_with_unknown_status_and_no_buyer_round_trips() {
    let mut order = order();
    order.status = OrderStatus::from("SomethingAmazonAddedLater");
    order.buyer = None;
    order.shipping_address = None;
    order.marketplace_id = None;
    order.reported_total = None;
    let json = round_trip(&order);
    assert_eq!(json["status"], "SomethingAmazonAddedLater");
}

#[test]
fn shipment_round_trips() {
    let json = round_trip(&shipment());
    assert_eq!(json["status"], "InTransit");
    assert_eq!(json["tracking_number"], "1Z999AA10123456784");
    let mut other = shipment();
    other.status = ShipmentStatus::from("OutForDelivery");
    round_trip(&other);
    assert_eq!(shipment().total_quantity(), 2);
}

#[test]
fn settlement_round_trips() {
    let json = round_trip(&settlement());
    assert_eq!(json["lines"][1]["amount"], json!({"amount": "-6.00", "currency": "USD"}));
    assert_eq!(json["lines"][3]["transaction_type"], "Vine Enrollment Fee");
    assert_eq!(json["settlement_id"], "11796400482");
}

#[test]
fn journal_round_trips() {
    let json = round_trip(&journal());
    assert_eq!(json["date"], "2024-05-06");
    assert_eq!(json["lines"][0]["side"], "debit");
    assert_eq!(json["lines"][3]["side"], "credit");
    let _: JournalEntry = serde_json::from_value(json).unwrap();
}

#[test]
fn every_other_type_round_trips() {
    round_trip(&customer());
    for kind in [
        CustomerKind::Guest,
        CustomerKind::Company { name: Pii::from("Acme") },
        CustomerKind::Person(PersonName { first: None, last: Pii::from("Prince") }),
    ] {
        round_trip(&Customer::new(kind));
    }
    round_trip::<Product>(&product());
    round_trip::<Vec<InventoryLevel>>(&inventory_levels());
    round_trip::<ReturnAuthorization>(&return_authorization());
    round_trip::<Settlement>(&settlement());
    round_trip::<Shipment>(&shipment());
    round_trip::<Order>(&order());
}

#[test]
fn timestamps_with_offsets_are_read_as_utc() {
    let at: Timestamp = serde_json::from_str(r#""2003-10-03T16:00:00-07:00""#).unwrap();
    assert_eq!(at, ts("2003-10-03T23:00:00Z"));
    assert_eq!(serde_json::to_string(&at).unwrap(), r#""2003-10-03T23:00:00Z""#);
}

#[test]
fn invalid_nested_values_fail_the_whole_document() {
    let mut json = serde_json::to_value(order()).unwrap();
    json["lines"][0]["asin"] = json!("not-an-asin");
    let err = serde_json::from_value::<Order>(json).unwrap_err();
    assert!(err.to_string().contains("Asin"), "{err}");

    let mut json = serde_json::to_value(order()).unwrap();
    json["lines"][0]["unit_price"]["amount"] = json!(19.99);
    assert!(serde_json::from_value::<Order>(json).is_err());

    let mut json = serde_json::to_value(order()).unwrap();
    json["shipping_address"]["country"] = json!("usa");
    assert!(serde_json::from_value::<Order>(json).is_err());
}
