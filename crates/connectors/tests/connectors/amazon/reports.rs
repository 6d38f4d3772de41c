//! Reports: a settlement V2 document built from the sandbox's shipped orders downloads
//! (gzip), parses and ties to its deposit; a requested report survives a restart.

use std::time::Duration;

use ferry_connectors::amazon::client::reports::{Charset, ReportProgress, ReportTracker, ReportsQuery};
use ferry_connectors::amazon::models::reports::CreateReportSpecification;
use ferry_connectors::amazon::settlement::SettlementReader;
use ferry_model::TenantId;
use ferry_runtime::failure::FailureKind;
use ferry_store::testing::TempDir;
use ferry_store::{SqliteStore, Store};

use super::sandbox_and_client;

#[tokio::test]
async fn a_settlement_report_from_shipped_orders_ties_to_its_deposit() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    sandbox.seed_orders(200, 0.0);
    let shipped = sandbox.shipped_order_ids().len();
    assert!(shipped > 0);
    sandbox.close_settlement("23456789012");

    let query = ReportsQuery {
        report_types: vec!["GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2".into()],
        page_size: Some(1),
        ..Default::default()
    };
    sandbox.close_settlement("23456789013");
    let reports = client.get_reports(&query).await.unwrap();
    assert_eq!(reports.len(), 2, "both pages followed");
    let report = reports.iter().find(|r| r.processing_status == "DONE").unwrap();
    let document = client.get_report_document(report.report_document_id.as_deref().unwrap()).await.unwrap();
    assert_eq!(document.compression_algorithm.as_deref(), Some("GZIP"));
    assert!(!format!("{:?}", client.get_report_document("nope").await.unwrap_err()).contains(&document.url));

    let dir = TempDir::new("ferry-amazon-report").unwrap();
    let path = dir.path().join("settlement.tsv");
    let downloaded = client.download_document(&document, std::fs::File::create(&path).unwrap()).await.unwrap();
    assert!(downloaded > 0);
    let totals = SettlementReader::open(std::fs::File::open(&path).unwrap()).unwrap().totals().unwrap();
    assert!(totals.unexplained().is_zero(), "{}", totals.unexplained());
    assert!(totals.lines as usize >= shipped * 4);
    assert!(totals.unknown_types.is_empty());

    // Settlement reports are scheduled by Amazon: asking for one is refused by name.
    let failure = client
        .create_report(&CreateReportSpecification {
            report_type: "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2".into(),
            marketplace_ids: vec!["ATVPDKIKX0DER".into()],
            data_start_time: None,
            data_end_time: None,
            report_options: None,
        })
        .await
        .unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Permanent);
    assert!(failure.message().contains("cannot be requested"), "{failure}");
}

#[tokio::test]
async fn a_requested_report_is_resumed_after_a_restart_not_requested_again() {
    let (sandbox, client) = sandbox_and_client(100.0).await;
    let dir = TempDir::new("ferry-amazon-tracker").unwrap();
    let url = dir.path().join("ferry.db").to_string_lossy().into_owned();
    let tenant = TenantId::new("acme").unwrap();
    let spec = CreateReportSpecification {
        report_type: "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA".into(),
        marketplace_ids: vec!["ATVPDKIKX0DER".into()],
        data_start_time: None,
        data_end_time: None,
        report_options: None,
    };
    let first_id = {
        let store = SqliteStore::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.ensure_tenant(&tenant, "Acme").await.unwrap();
        let tracker = ReportTracker { store: &store, tenant: &tenant };
        match tracker.request_or_resume(&client, "fba-inventory", &spec).await.unwrap() {
            // 100x: queued for 150 ms, done after 600 ms.
            ReportProgress::Pending { report_id, status } => {
                assert!(status == "IN_QUEUE" || status == "IN_PROGRESS", "{status}");
                report_id
            }
            other => panic!("a fresh report is pending, got {other:?}"),
        }
    };
    // "Restart": a new store handle on the same file, a new tracker.
    let store = SqliteStore::open(&url).await.unwrap();
    let tracker = ReportTracker { store: &store, tenant: &tenant };
    let document_id = loop {
        match tracker.request_or_resume(&client, "fba-inventory", &spec).await.unwrap() {
            ReportProgress::Pending { report_id, .. } => assert_eq!(report_id, first_id),
            ReportProgress::Done { report_id, document_id } => {
                assert_eq!(report_id, first_id, "the same report, not a second request");
                break document_id;
            }
            other => panic!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let all = client
        .get_reports(&ReportsQuery { report_types: vec![spec.report_type.clone()], ..Default::default() })
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "requested once");
    let document = client.get_report_document(&document_id).await.unwrap();
    let mut text = Vec::new();
    client.download_document(&document, &mut text).await.unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("sku\tfnsku\tasin"));
    assert_eq!(text.lines().count(), 21, "header and the 20 catalogue SKUs");

    tracker.finish("fba-inventory").await.unwrap();
    match tracker.request_or_resume(&client, "fba-inventory", &spec).await.unwrap() {
        ReportProgress::Pending { report_id, .. } => assert_ne!(report_id, first_id),
        other => panic!("{other:?}"),
    }
    drop(sandbox);
}

#[test]
fn document_charsets_are_read_from_the_content_type() {
    assert_eq!(Charset::from_content_type(Some("text/plain; charset=Cp1252")), Charset::Windows1252);
    assert_eq!(Charset::from_content_type(Some("text/plain;charset=\"ISO-8859-1\"")), Charset::Windows1252);
    assert_eq!(Charset::from_content_type(Some("text/tab-separated-values; charset=UTF-8")), Charset::Utf8);
    assert_eq!(Charset::from_content_type(None), Charset::Utf8);
}

#[tokio::test]
async fn windows_1252_documents_arrive_as_utf8() {
    use ferry_connectors::amazon::models::listings::ListingsItemPutRequest;
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let seller = sandbox.config().seller_id.clone();
    let sku = ferry_model::AmazonSellerSku::new("FERRY-SKU-0004").unwrap();
    let mut attributes = serde_json::Map::new();
    attributes.insert("item_name".into(), serde_json::json!([{ "value": "Café Crème – Größe M €" }]));
    let put = ListingsItemPutRequest { product_type: "PRODUCT".into(), requirements: None, attributes };
    client.put_listings_item(&seller, &sku, &put, false).await.unwrap();
    sandbox.set_documents_windows_1252(true);
    let spec = CreateReportSpecification {
        report_type: "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA".into(),
        marketplace_ids: vec!["ATVPDKIKX0DER".into()],
        data_start_time: None,
        data_end_time: None,
        report_options: None,
    };
    let id = client.create_report(&spec).await.unwrap();
    let report = loop {
        let report = client.get_report(&id).await.unwrap();
        if report.processing_status == "DONE" {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let document = client.get_report_document(report.report_document_id.as_deref().unwrap()).await.unwrap();
    let mut text = Vec::new();
    client.download_document(&document, &mut text).await.unwrap();
    let text = String::from_utf8(text).expect("converted to UTF-8");
    assert!(text.contains("FERRY-SKU-0004\t\t\tCafé Crème – Größe M €\t"), "{}", &text[..300.min(text.len())]);
}

fn sales_and_traffic() -> CreateReportSpecification {
    CreateReportSpecification {
        report_type: "GET_SALES_AND_TRAFFIC_REPORT".into(),
        marketplace_ids: vec!["ATVPDKIKX0DER".into()],
        data_start_time: None,
        data_end_time: None,
        report_options: None,
    }
}

/// Amazon caps GET_SALES_AND_TRAFFIC_REPORT per seller account (4 an hour), over every
/// application and connection together: the sandbox refuses a fifth with a 429, and two
/// connections (two tenants, say) on the seller never send it one, as their cap is one.
#[tokio::test]
async fn a_report_type_capped_per_seller_is_held_by_one_cap_over_every_connection() {
    // At Amazon's pace: the cap refills once every 15 minutes, far beyond this test.
    let (sandbox, bare) = sandbox_and_client(1.0).await;
    for _ in 0..4 {
        bare.create_report(&sales_and_traffic()).await.expect("four an hour");
    }
    let refused = bare.create_report(&sales_and_traffic()).await.unwrap_err();
    assert_eq!(refused.kind(), FailureKind::Throttled, "the sandbox keeps the seller's cap: {refused}");

    drop(sandbox);
    let (sandbox, _) = sandbox_and_client(1.0).await;
    let resilience = std::sync::Arc::new(ferry_runtime::Resilience::default());
    let one = super::client_for(&sandbox, 1.0).with_runtime(resilience.clone(), "seller-a/amazon");
    let two = super::client_for(&sandbox, 1.0).with_runtime(resilience.clone(), "seller-b/amazon-eu");
    for client in [&one, &two, &one, &two] {
        client.create_report(&sales_and_traffic()).await.expect("within the cap");
    }
    let create_reports =
        || sandbox.stats().by_operation().into_iter().find(|(op, _)| op == "createReport").map_or(0, |(_, n)| n);
    assert_eq!(create_reports(), 4);
    for client in [&one, &two] {
        let held = client.create_report(&sales_and_traffic()).await.unwrap_err();
        assert_eq!(held.kind(), FailureKind::Throttled, "{held}");
        assert!(
            held.message().contains("createReport/GET_SALES_AND_TRAFFIC_REPORT") && held.retry_after().is_some(),
            "the cap and its wait are named: {held}"
        );
    }
    assert_eq!(create_reports(), 4, "nothing over the cap reached Amazon");
    // Other report types are not held by it.
    let mut other = sales_and_traffic();
    other.report_type = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA".into();
    one.create_report(&other).await.expect("another report type");
}
