use ferry_model::{Currency, FulfillmentChannel, MoneyError, OrderLine, OrderStatus};

use super::fixtures::{money, order, order_line, sku, usd};

#[test]
fn line_total_is_price_times_quantity_plus_shipping_and_tax_minus_discount() {
    let order = order();
    // 2 × 19.99 + 4.99 shipping + 3.20 tax + 0.40 shipping tax − 1.00 discount
    assert_eq!(order.lines[0].total(), Ok(usd("47.57")));
    assert_eq!(order.lines[1].total(), Ok(usd("8.10")));
}

#[test]
fn order_total_sums_the_lines() {
    let order = order();
    assert_eq!(order.total(), Ok(usd("55.67")));
    assert_eq!(order.total().ok(), order.reported_total);
}

#[test]
fn order_total_fails_on_a_line_in_another_currency() {
    let mut order = order();
    order.lines.push(OrderLine::new("eur-line", sku("MUG-1"), 1, money("3.00", Currency::EUR)));
    let err = order.total().unwrap_err();
    assert_eq!(err.line_id, "eur-line");
    assert_eq!(err.source, MoneyError::CurrencyMismatch { left: Currency::USD, right: Currency::EUR });
    assert!(err.to_string().contains("eur-line"), "{err}");
}

#[test]
fn a_line_mixing_currencies_inside_itself_is_an_error() {
    let mut order = order();
    order.lines[1].item_tax = money("0.60", Currency::CAD);
    let err = order.total().unwrap_err();
    assert_eq!(err.line_id, "52986411826455");
}

#[test]
fn order_in_another_currency_than_its_lines_is_an_error() {
    let mut order = order();
    order.currency = Currency::GBP;
    assert!(order.total().is_err());
    order.lines.clear();
    assert_eq!(order.total(), Ok(money("0", Currency::GBP)));
}

#[test]
fn statuses_keep_amazon_spelling_and_unknown_values() {
    assert_eq!(OrderStatus::from("Shipped"), OrderStatus::Shipped);
    assert_eq!(OrderStatus::from("Canceled"), OrderStatus::Canceled);
    assert_eq!(OrderStatus::from("PendingAvailability"), OrderStatus::PendingAvailability);
    // Not silently mapped: a different spelling is a different value.
    let odd = OrderStatus::from("Cancelled");
    assert_eq!(odd, OrderStatus::Unknown("Cancelled".to_owned()));
    assert!(odd.is_unknown());
    assert_eq!(OrderStatus::from("shipped"), OrderStatus::Unknown("shipped".to_owned()));

    assert_eq!(serde_json::to_string(&OrderStatus::InvoiceUnconfirmed).unwrap(), r#""InvoiceUnconfirmed""#);
    let unknown: OrderStatus = serde_json::from_str(r#""OnHoldForReview""#).unwrap();
    assert_eq!(unknown.as_str(), "OnHoldForReview");
    assert_eq!(serde_json::to_string(&unknown).unwrap(), r#""OnHoldForReview""#);
}

#[test]
fn fulfillment_channel_uses_afn_and_mfn() {
    assert_eq!(serde_json::to_string(&FulfillmentChannel::Amazon).unwrap(), r#""AFN""#);
    assert_eq!(serde_json::to_string(&FulfillmentChannel::Merchant).unwrap(), r#""MFN""#);
    assert_eq!(serde_json::from_str::<FulfillmentChannel>(r#""MFN""#).unwrap(), FulfillmentChannel::Merchant);
    assert!(serde_json::from_str::<FulfillmentChannel>(r#""Amazon""#).is_err());
}

#[test]
fn shipping_progress() {
    let mut order = order();
    assert!(!order.is_fully_shipped());
    assert_eq!(order.lines[0].quantity_unshipped(), 1);
    for line in &mut order.lines {
        line.quantity_shipped = line.quantity_ordered;
    }
    assert!(order.is_fully_shipped());
    let mut over = order_line("x", 1, "1.00");
    over.quantity_shipped = 3;
    assert_eq!(over.quantity_unshipped(), 0);
}
