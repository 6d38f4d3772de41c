use ferry_model::{Customer, CustomerKind, PersonName, Pii};

use super::fixtures::{
    COMMENT, COMPANY, EMAIL, FIRST, LAST, PHONE, POSTAL, RECIPIENT, STREET, STREET2, address, customer, order,
    return_authorization, shipment,
};

const SECRETS: [&str; 9] = [EMAIL, FIRST, LAST, COMPANY, PHONE, STREET, STREET2, POSTAL, RECIPIENT];

fn assert_redacted(debug: &str) {
    for secret in SECRETS {
        assert!(!debug.contains(secret), "{secret:?} leaked into {debug}");
    }
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn customer_debug_hides_names_email_phone_and_addresses() {
    let debug = format!("{:?}", customer());
    assert_redacted(&debug);
    let pretty = format!("{:#?}", customer());
    assert_redacted(&pretty);
}

#[test]
fn address_debug_keeps_only_city_region_country() {
    let debug = format!("{:?}", address());
    assert_redacted(&debug);
    assert!(debug.contains("Seattle") && debug.contains("WA") && debug.contains("US"), "{debug}");
}

#[test]
fn orders_shipments_and_returns_carrying_pii_are_redacted() {
    assert_redacted(&format!("{:?}", order()));
    assert_redacted(&format!("{:?}", shipment()));
    let rma = format!("{:?}", return_authorization());
    assert!(!rma.contains(COMMENT), "{rma}");
}

#[test]
fn explicit_accessors_give_the_values() {
    let customer = customer();
    assert_eq!(customer.exposed_email(), Some(EMAIL));
    assert_eq!(customer.exposed_display_name(), Some(format!("{FIRST} {LAST}")));
    assert_eq!(customer.company().map(|c| c.expose().as_str()), Some(COMPANY));
    assert_eq!(address().exposed_lines(), [STREET, STREET2]);

    let company = Customer::new(CustomerKind::Company { name: Pii::from("Acme") });
    assert_eq!(company.exposed_display_name(), Some("Acme".to_owned()));
    assert!(company.person().is_none());
    let single = Customer::new(CustomerKind::Person(PersonName { first: None, last: Pii::from("Prince") }));
    assert_eq!(single.exposed_display_name(), Some("Prince".to_owned()));
    assert_eq!(Customer::new(CustomerKind::Guest).exposed_display_name(), None);
}

#[test]
fn serialization_still_carries_the_values_to_targets() {
    let json = serde_json::to_string(&customer()).unwrap();
    assert!(json.contains(EMAIL) && json.contains(LAST), "{json}");
    let pii: Pii<String> = serde_json::from_str(r#""x@y.z""#).unwrap();
    assert_eq!(pii.expose(), "x@y.z");
    assert_eq!(format!("{pii:?}"), "<redacted>");
}
