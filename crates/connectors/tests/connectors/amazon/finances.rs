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
    let shipped: Vec<String> = sandbox.with_orders(|o| {
        o.by_id
            .values()
            .filter(|o| o.status == ferry_sandbox::amazon::state::Status::Shipped)
            .map(|o| o.id.clone())
            .collect()
    });
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
