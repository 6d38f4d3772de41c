use ferry_model::{AmazonOrderId, Currency, MoneyError, SettlementAmountType, SettlementTransactionType};

use super::fixtures::{money, settlement, usd};

#[test]
fn lines_explain_the_deposit_to_the_cent() {
    let settlement = settlement();
    assert_eq!(settlement.unexplained_amount(), Ok(usd("0.00")));

    let mut short = settlement.clone();
    short.lines.pop();
    assert_eq!(short.unexplained_amount(), Ok(usd("2.75")));
}

#[test]
fn a_row_in_another_currency_is_an_error() {
    let mut settlement = settlement();
    settlement.lines[0].amount = money("39.98", Currency::CAD);
    assert_eq!(
        settlement.unexplained_amount(),
        Err(MoneyError::CurrencyMismatch { left: Currency::USD, right: Currency::CAD })
    );
}

#[test]
fn transaction_types_keep_amazon_spelling() {
    assert_eq!(SettlementTransactionType::from("other-transaction"), SettlementTransactionType::OtherTransaction);
    assert_eq!(SettlementTransactionType::from("Chargeback Refund"), SettlementTransactionType::ChargebackRefund);
    assert_eq!(SettlementTransactionType::OrderRetrocharge.as_str(), "Order_Retrocharge");
    let unknown = SettlementTransactionType::from("Vine Enrollment Fee");
    assert!(unknown.is_unknown());
    assert_eq!(unknown.to_string(), "Vine Enrollment Fee");
    assert_eq!(settlement().lines[3].transaction_type, unknown);
}

#[test]
fn a_known_transaction_with_an_unknown_amount_type_needs_a_posting_rule() {
    let mut line = settlement().lines[0].clone();
    assert_eq!(line.transaction_type, SettlementTransactionType::Order);
    assert!(!line.needs_posting_rule(), "Order/ItemPrice is known");
    line.amount_type = SettlementAmountType::from("Vine Enrollment Credit");
    assert!(line.amount_type.is_unknown());
    assert!(line.needs_posting_rule(), "an unknown amount type is flagged even under a known transaction type");
    assert_eq!(line.amount_type.as_str(), "Vine Enrollment Credit", "kept verbatim");
    let unknown_type = settlement().lines[3].clone();
    assert!(unknown_type.needs_posting_rule());
}

#[test]
fn order_id_column_may_hold_something_else() {
    let mut line = settlement().lines[0].clone();
    assert_eq!(line.amazon_order_id(), Some(AmazonOrderId::new("114-3941689-8772232").unwrap()));
    line.order_id = Some("FBA15ABCD123".to_owned());
    assert_eq!(line.amazon_order_id(), None);
    line.order_id = None;
    assert_eq!(line.amazon_order_id(), None);
}
