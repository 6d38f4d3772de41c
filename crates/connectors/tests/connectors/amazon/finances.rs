//! Finances: financial events of shipped orders become settlement lines that tie to the
//! settlement report of the same orders.

use ferry_connectors::amazon::client::finances::EventsQuery;
use ferry_connectors::amazon::settlement::SettlementReader;
use ferry_connectors::amazon::transformers::settlement_lines_from_events;
use ferry_model::{AmazonSettlementId, Money, SettlementTransactionType, Timestamp};

use super::sandbox_and_client;

#[tokio::test]
async fn financial_events_tie_to_the_settlement_report_of_the_same_orders() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    sandbox.seed_orders(700, 0.0);
    let shipped = sandbox.shipped_order_ids();
    assert!(shipped.len() > 100, "enough for several pages: {}", shipped.len());

    let events = client.list_financial_events(&EventsQuery::Posted { after: None, before: None }).await.unwrap();
    assert_eq!(events.shipment_event_list.as_ref().map(Vec::len), Some(shipped.len()), "every page merged");
    let settlement = AmazonSettlementId::new("34567890123").unwrap();
    let lines = settlement_lines_from_events(&events, &settlement, Timestamp::now()).unwrap();
    assert!(lines.iter().all(|l| l.transaction_type == SettlementTransactionType::Order));
    let usd = lines[0].amount.currency();
    let events_total = Money::sum(usd, lines.iter().map(|l| &l.amount)).unwrap();

    let report_id = sandbox.close_settlement("34567890123");
    let report = client.get_report(&report_id).await.unwrap();
    let document = client.get_report_document(report.report_document_id.as_deref().unwrap()).await.unwrap();
    let mut text = Vec::new();
    client.download_document(&document, &mut text).await.unwrap();
    let totals = SettlementReader::open(&text[..]).unwrap().totals().unwrap();
    assert_eq!(totals.summary.total, events_total, "events and report agree to the cent");
    assert_eq!(totals.lines as usize, lines.len());

    let one = client.list_financial_events(&EventsQuery::Order(shipped[0].clone())).await.unwrap();
    assert_eq!(one.shipment_event_list.unwrap()[0].amazon_order_id.as_deref(), Some(shipped[0].as_str()));
    let group = client
        .list_financial_events(&EventsQuery::Group { group_id: "FEG-SANDBOX-OPEN".into(), after: None, before: None })
        .await
        .unwrap();
    assert_eq!(group.shipment_event_list.map(|l| l.len()), Some(shipped.len()));
    let missing = client
        .list_financial_events(&EventsQuery::Group { group_id: "nope".into(), after: None, before: None })
        .await
        .unwrap_err();
    assert!(missing.message().contains("NotFound"), "{missing}");
}

#[tokio::test]
async fn refunds_and_service_fees_become_settlement_lines_that_net_out() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    sandbox.seed_orders(60, 0.0);
    let shipped = sandbox.shipped_order_ids();
    let refunded = shipped[0].clone();
    sandbox.refund_order(&refunded).unwrap();
    assert!(sandbox.refund_order(&refunded).unwrap_err().contains("already refunded"));
    assert!(sandbox.refund_order("999-0000000-0000000").unwrap_err().contains("does not exist"));
    sandbox.charge_service_fee("Subscription", "Professional selling plan", "39.99".parse().unwrap(), "USD");

    let all = client.list_financial_events(&EventsQuery::Posted { after: None, before: None }).await.unwrap();
    assert_eq!(all.refund_event_list.as_ref().map(Vec::len), Some(1));
    assert_eq!(all.service_fee_event_list.as_ref().map(Vec::len), Some(1));
    assert_eq!(all.shipment_event_list.as_ref().map(Vec::len), Some(shipped.len()));

    let one = client.list_financial_events(&EventsQuery::Order(refunded.clone())).await.unwrap();
    assert_eq!(one.service_fee_event_list.as_ref().map_or(0, Vec::len), 0, "account fees are not an order's");
    let settlement = AmazonSettlementId::new("34567890124").unwrap();
    let lines = settlement_lines_from_events(&one, &settlement, Timestamp::now()).unwrap();
    let principal = |kind: SettlementTransactionType| {
        let amounts: Vec<&Money> = lines
            .iter()
            .filter(|l| l.transaction_type == kind && l.amount_description == "Principal")
            .map(|l| &l.amount)
            .collect();
        Money::sum(amounts[0].currency(), amounts.into_iter()).unwrap()
    };
    let sold = principal(SettlementTransactionType::Order);
    let returned = principal(SettlementTransactionType::Refund);
    assert!(sold.amount() > ferry_model::Decimal::ZERO);
    assert_eq!(
        sold.checked_add(&returned).unwrap().amount(),
        ferry_model::Decimal::ZERO,
        "the refund reverses the sale"
    );
    let commission: Vec<&Money> =
        lines.iter().filter(|l| l.amount_description == "Commission").map(|l| &l.amount).collect();
    let net_commission = Money::sum(commission[0].currency(), commission.into_iter()).unwrap();
    assert!(net_commission.amount() < ferry_model::Decimal::ZERO, "the refund administration fee stays charged");

    let fee_lines = settlement_lines_from_events(&all, &settlement, Timestamp::now()).unwrap();
    let fee = fee_lines.iter().find(|l| l.transaction_type == SettlementTransactionType::ServiceFee).unwrap();
    assert_eq!(fee.amount.to_string(), "-39.99 USD");
    assert_eq!(fee.amount_description, "Subscription");
}
