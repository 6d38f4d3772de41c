//! Entity methods, paging, `$batch`, throttling, business events and faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_sandbox::faults::FaultConfig;
use ferry_sandbox::fno::{DEFAULT_CLIENT_ID, FnoSandboxConfig, Priority, Throttle};
use serde_json::{Value, json};

use super::support::{Api, Item, batch_body};

#[tokio::test]
async fn fno_sales_order_numbers_and_line_defaults_come_from_header_and_product() {
    let api = Api::start().await;
    let so = api
        .create(
            "SalesOrderHeadersV2",
            json!({"OrderingCustomerAccountNumber": "US-003", "CustomerRequisitionNumber": "114-1234567-1234567"}),
        )
        .await;
    assert_eq!(so["SalesOrderNumber"], "SO-000001");
    assert_eq!(so["InvoiceCustomerAccountNumber"], "US-003");
    assert_eq!(so["CurrencyCode"], "USD");
    assert_eq!(
        (so["DefaultShippingWarehouseId"].as_str(), so["DefaultShippingSiteId"].as_str()),
        (Some("13"), Some("1"))
    );
    assert_eq!(so["SalesOrderName"], "Forest Wholesales");
    let second = api.create("SalesOrderHeadersV2", json!({"OrderingCustomerAccountNumber": "US-003"})).await;
    assert_eq!(second["SalesOrderNumber"], "SO-000002");
    let line = api
        .create(
            "SalesOrderLines",
            json!({"SalesOrderNumber": "SO-000001", "ItemNumber": "D0001", "OrderedSalesQuantity": 3}),
        )
        .await;
    assert_eq!(line["SalesPrice"], 249, "price from the released product");
    assert_eq!(line["LineAmount"], 747);
    assert_eq!(
        (line["CurrencyCode"].as_str(), line["ShippingSiteId"].as_str(), line["ShippingWarehouseId"].as_str()),
        (Some("USD"), Some("1"), Some("13"))
    );
    assert_eq!(line["CustomerRequisitionNumber"], "114-1234567-1234567");
    assert_eq!((line["LineNumber"].as_f64(), line["SalesUnitSymbol"].as_str()), (Some(1.0), Some("ea")));
    assert!(line["InventoryLotId"].as_str().is_some_and(|s| !s.is_empty()), "the line key is assigned");
    let line2 = api
        .create("SalesOrderLines", json!({"SalesOrderNumber": "SO-000001", "ItemNumber": "A0001", "SalesPrice": 10.25, "OrderedSalesQuantity": 2, "LineDiscountAmount": 0.5}))
        .await;
    assert_eq!((line2["LineNumber"].as_f64(), line2["LineAmount"].as_f64()), (Some(2.0), Some(20.0)));
    // The header with its lines, first level.
    let r = api.get("SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='SO-000001')?$expand=SalesOrderLines($select=ItemNumber,LineAmount)&$select=SalesOrderNumber").await;
    let lines = r.json()["SalesOrderLines"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        lines.iter().map(|l| l["ItemNumber"].as_str().unwrap_or_default()).collect::<Vec<_>>(),
        ["D0001", "A0001"]
    );
    // PATCH recomputes the amount; the key cannot move.
    let key = format!(
        "SalesOrderLines(dataAreaId='usmf',InventoryLotId='{}')",
        line["InventoryLotId"].as_str().unwrap_or_default()
    );
    assert_eq!(api.patch(&key, &json!({"OrderedSalesQuantity": 4})).await.status, 204);
    assert_eq!(api.get(&key).await.json()["LineAmount"], 996);
    let r = api.patch(&key, &json!({"dataAreaId": "demf"})).await;
    assert!(r.inner_error().contains("cannot be changed"));
    // Required fields and references, with F&O's messages.
    for (set, body, expected) in [
        ("SalesOrderHeadersV2", json!({}), "OrderingCustomerAccountNumber"),
        (
            "SalesOrderHeadersV2",
            json!({"OrderingCustomerAccountNumber": "NOPE"}),
            "Customer account NOPE does not exist",
        ),
        (
            "SalesOrderLines",
            json!({"SalesOrderNumber": "SO-000001", "ItemNumber": "ZZZ"}),
            "Item number ZZZ does not exist",
        ),
        (
            "SalesOrderLines",
            json!({"SalesOrderNumber": "SO-999", "ItemNumber": "A0001"}),
            "Sales order SO-999 does not exist",
        ),
        (
            "SalesOrderLines",
            json!({"SalesOrderNumber": "SO-000001", "ItemNumber": "A0001", "ShippingWarehouseId": "99"}),
            "Warehouse 99 does not exist",
        ),
        (
            "SalesOrderLines",
            json!({"SalesOrderNumber": "SO-000001", "ItemNumber": "A0001", "OrderedSalesQuantity": "lots"}),
            "Cannot convert the literal 'lots'",
        ),
        (
            "SalesOrderHeadersV2",
            json!({"OrderingCustomerAccountNumber": "US-001", "SalesOrderStatus": "Shipped"}),
            "not a member of the enum",
        ),
    ] {
        let r = api.post(set, &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let message = r.inner_error();
        assert!(message.contains(expected), "{body}: '{message}' should say '{expected}'");
    }
    // Deleting the header takes its lines.
    assert_eq!(
        api.send("DELETE", "SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='SO-000001')", &[], None)
            .await
            .status,
        204
    );
    assert_eq!(api.get(&key).await.status, 404);
}

#[tokio::test]
async fn fno_return_orders_and_journals_follow_their_entity_methods() {
    let api = Api::start().await;
    let ret = api
        .create("ReturnOrderHeaders", json!({"CustomerAccountNumber": "US-001", "CustomerReturnReasonCode": "Damaged"}))
        .await;
    assert_eq!(
        (ret["ReturnOrderNumber"].as_str(), ret["RMANumber"].as_str()),
        (Some("RET-000001"), Some("RMA-000001"))
    );
    assert_eq!(ret["ReturnOrderStatus"], "Backorder");
    let r = api
        .post(
            "ReturnOrderLines",
            &json!({"ReturnOrderNumber": "RET-000001", "ItemNumber": "A0001", "ReturnSalesQuantity": 1}),
        )
        .await;
    assert!(r.inner_error().contains("must be negative"));
    let line = api
        .create("ReturnOrderLines", json!({"ReturnOrderNumber": "RET-000001", "ItemNumber": "A0001", "ReturnSalesQuantity": -2, "ReturnDispositionCode": "Scrap"}))
        .await;
    assert_eq!(
        (line["LineAmount"].as_f64(), line["RMANumber"].as_str(), line["ReturnStatus"].as_str()),
        (Some(-25.98), Some("RMA-000001"), Some("Awaiting"))
    );

    let journal = api
        .create("LedgerJournalHeaders", json!({"JournalName": "GenJrn", "Description": "Amazon settlement 1"}))
        .await;
    assert_eq!(journal["JournalBatchNumber"], "GJ-000001");
    assert_eq!(journal["AccountingCurrency"], "USD");
    let line = |account_type: &str, account: &str, debit: f64, credit: f64| json!({"JournalBatchNumber": "GJ-000001", "AccountType": account_type, "AccountDisplayValue": account, "DebitAmount": debit, "CreditAmount": credit});
    for (body, expected) in [
        (line("Ledger", "999999", 1.0, 0.0), "Main account 999999"),
        (line("Cust", "US-777", 1.0, 0.0), "Customer account US-777"),
        (line("Bank", "NOPE", 1.0, 0.0), "Bank account NOPE"),
        (line("Wizard", "401100", 1.0, 0.0), "not a member of the enum"),
        (line("Ledger", "401100", 1.0, 1.0), "not both"),
        (line("Ledger", "401100", 0.0, 0.0), "debit or a credit"),
    ] {
        let r = api.post("LedgerJournalLines", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.inner_error().contains(expected), "{body}: {}", r.body);
    }
    api.create("LedgerJournalLines", line("Bank", "USMF OPER", 100.0, 0.0)).await;
    api.create("LedgerJournalLines", line("Ledger", "401100-001", 0.0, 80.0)).await;
    let third = api.create("LedgerJournalLines", line("Cust", "US-001", 0.0, 20.0)).await;
    assert_eq!(third["LineNumber"], 3);
    let header = api.get("LedgerJournalHeaders(dataAreaId='usmf',JournalBatchNumber='GJ-000001')").await.json();
    assert_eq!(
        (header["JournalTotalDebit"].as_f64(), header["JournalTotalCredit"].as_f64()),
        (Some(100.0), Some(80.0 + 20.0))
    );
    let r = api.get("LedgerJournalLines(dataAreaId='usmf',JournalBatchNumber='GJ-000001',LineNumber=2)").await;
    assert_eq!(r.json()["AccountDisplayValue"], "401100-001", "{}", r.body);
}

#[tokio::test]
async fn fno_paging_follows_next_link_with_skip() {
    let api = Api::start().await;
    api.sandbox.set_page_size(3);
    let mut url = format!("{}/ReleasedProductsV2?$select=ItemNumber&cross-company=true", api.sandbox.data_url());
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let r = api.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.body);
        pages += 1;
        items.extend(r.values().iter().map(|v| v["ItemNumber"].as_str().unwrap_or_default().to_owned()));
        match r.json()["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("$skip=") || next.contains("%24skip="), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!((items.len(), pages), (16, 6), "8 products in two companies, 3 a page");
    // $top ends paging early.
    let r = api.query("ReleasedProductsV2", &[("$top", "4")]).await;
    let next = r.json()["@odata.nextLink"].as_str().map(str::to_owned).expect("next link");
    let r = api.get(&next).await;
    assert_eq!(r.values().len(), 1);
    assert!(r.json()["@odata.nextLink"].is_null());
}

#[tokio::test]
async fn fno_batch_change_set_is_atomic() {
    let api = Api::start().await;
    let (content_type, body) = batch_body(&[
        Item::ChangeSet(vec![
            (
                "POST SalesOrderHeadersV2",
                Some(json!({"SalesOrderNumber": "SO-B1", "OrderingCustomerAccountNumber": "US-001"})),
            ),
            ("POST SalesOrderLines", Some(json!({"SalesOrderNumber": "SO-B1", "ItemNumber": "A0001"}))),
            ("POST SalesOrderLines", Some(json!({"SalesOrderNumber": "SO-B1", "ItemNumber": "NOPE"}))),
        ]),
        Item::Single("GET CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')?$select=CustomerAccount", None),
    ]);
    let r = api.send("POST", "$batch", &[("Content-Type", &content_type)], Some(body)).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("HTTP/1.1 400") && r.body.contains("Item number NOPE does not exist"), "{}", r.body);
    assert!(!r.body.contains("HTTP/1.1 201"), "a failed change set answers with its error only");
    assert!(!r.body.contains("\"CustomerAccount\":\"US-001\""), "the batch stops at the failure");
    assert_eq!(
        api.get("SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='SO-B1')").await.status,
        404,
        "rolled back"
    );
    assert!(api.sandbox.rows("SalesOrderLines").is_empty(), "no line survived");
    // With continue-on-error the next part runs; a good change set commits all.
    let (content_type, body) = batch_body(&[
        Item::ChangeSet(vec![(
            "POST SalesOrderLines",
            Some(json!({"SalesOrderNumber": "SO-NONE", "ItemNumber": "A0001"})),
        )]),
        Item::ChangeSet(vec![
            (
                "POST SalesOrderHeadersV2",
                Some(json!({"SalesOrderNumber": "SO-B2", "OrderingCustomerAccountNumber": "US-001"})),
            ),
            ("POST SalesOrderLines", Some(json!({"SalesOrderNumber": "SO-B2", "ItemNumber": "A0001"}))),
            ("PATCH $2", Some(json!({"CustomersOrderReference": "via content id"}))),
        ]),
    ]);
    let r = api
        .send("POST", "$batch", &[("Content-Type", &content_type), ("Prefer", "odata.continue-on-error")], Some(body))
        .await;
    assert_eq!(r.body.matches("HTTP/1.1 201").count(), 2, "{}", r.body);
    assert!(r.body.contains("HTTP/1.1 204"));
    let so = api.get("SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='SO-B2')").await.json();
    assert_eq!(so["CustomersOrderReference"], "via content id");
}

#[tokio::test]
async fn fno_priority_throttling_answers_429_with_retry_after() {
    let mut config = FnoSandboxConfig::default();
    config.priorities.insert("high-app".into(), Priority::High);
    let api = Api::start_with(config).await;
    api.sandbox.set_throttle(Throttle::up_to(Priority::Low, 7));
    let r = api.get("CustomersV3").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("7"));
    assert!(r.inner_error().contains("throttled"));
    // The default application is unmapped (low); a high-priority one still gets through.
    api.sandbox.set_priority(DEFAULT_CLIENT_ID, Priority::High);
    assert_eq!(api.get("CustomersV3").await.status, 200);
    api.sandbox.set_throttle(Throttle::up_to(Priority::High, 3));
    assert_eq!(api.get("CustomersV3").await.status, 429);
    api.sandbox.set_throttle(Throttle::default());
    assert_eq!(api.get("CustomersV3").await.status, 200);
    assert_eq!(api.sandbox.throttled_count(), 2);
}

#[tokio::test]
async fn fno_faults_answer_in_fno_shape() {
    let config = FnoSandboxConfig {
        faults: FaultConfig { error_rate: 1.0, ..FaultConfig::default() },
        ..FnoSandboxConfig::default()
    };
    let api = Api::start_with(config).await;
    let r = api.get("CustomersV3").await;
    assert_eq!(r.status, 500);
    r.inner_error();
    api.sandbox.faults().set(FaultConfig::default());
    api.sandbox.faults().start_outage(Duration::from_secs(5));
    let r = api.get("CustomersV3").await;
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    api.sandbox.faults().end_outage();
    assert_eq!(api.get("CustomersV3").await.status, 200);
    // An unknown token is refused.
    let r = api
        .http
        .get(format!("{}/CustomersV3", api.sandbox.data_url()))
        .bearer_auth("forged")
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn fno_business_events_reach_an_https_endpoint() {
    let tls = ferry_sandbox::tls::SandboxTls::generate().expect("tls");
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push(v);
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(ferry_sandbox::tls::serve(listener, Some(Arc::clone(&tls)), router, std::future::pending()));
    let config = FnoSandboxConfig { event_ca_pem: Some(tls.ca_pem().to_owned()), ..FnoSandboxConfig::default() };
    let api = Api::start_with(config).await;
    api.sandbox.register_business_event_endpoint(&format!("https://127.0.0.1:{}/events", addr.port()));
    let so = api.create("SalesOrderHeadersV2", json!({"OrderingCustomerAccountNumber": "US-001"})).await;
    let number = so["SalesOrderNumber"].as_str().unwrap_or_default().to_owned();
    api.patch(
        &format!("SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='{number}')"),
        &json!({"DeliveryModeCode": "Air"}),
    )
    .await;
    api.create("ReturnOrderHeaders", json!({"CustomerAccountNumber": "US-001"})).await;
    // A failed request publishes nothing.
    api.post("SalesOrderHeadersV2", &json!({"OrderingCustomerAccountNumber": "NOPE"})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap_or_else(|e| e.into_inner()).len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let ids: Vec<&str> = events.iter().map(|e| e["BusinessEventId"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        ids,
        ["SalesOrderCreatedBusinessEvent", "SalesOrderChangedBusinessEvent", "ReturnOrderCreatedBusinessEvent"]
    );
    assert_eq!(events[0]["SalesOrderNumber"], number.as_str());
    assert_eq!(events[0]["BusinessEventLegalEntity"], "USMF");
    assert!(events[1]["ControlNumber"].as_u64() > events[0]["ControlNumber"].as_u64());
    assert!(events[2]["RMANumber"].as_str().is_some_and(|s| s.starts_with("RMA-")));
    assert!(api.sandbox.business_event_deliveries().iter().all(|d| d.outcome == Ok(200)));
}

#[tokio::test]
async fn fno_modified_timestamp_moves_on_write_and_filters_as_a_cursor() {
    let api = Api::start().await;
    let so = api.create("SalesOrderHeadersV2", json!({"OrderingCustomerAccountNumber": "US-001"})).await;
    let created = so["ModifiedDateTime"].as_str().unwrap_or_default().to_owned();
    assert!(created.ends_with('Z'));
    let r = api
        .query(
            "SalesOrderHeadersV2",
            &[("$filter", &format!("ModifiedDateTime ge {created}")), ("$orderby", "ModifiedDateTime")],
        )
        .await;
    assert_eq!(r.values().len(), 1, "{}", r.body);
    let r = api.query("SalesOrderHeadersV2", &[("$filter", "ModifiedDateTime gt 2999-01-01T00:00:00Z")]).await;
    assert!(r.values().is_empty());
    let r = api
        .post(
            "SalesOrderHeadersV2",
            &json!({"OrderingCustomerAccountNumber": "US-001", "ModifiedDateTime": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert!(r.inner_error().contains("read-only"));
}
