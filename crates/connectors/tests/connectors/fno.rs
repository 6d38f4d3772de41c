//! F&O connector tests, against the F&O sandbox over real sockets.

use std::time::Duration;

use ferry_connectors::fno::batch::{Batch, Operation, Outcome};
use ferry_connectors::fno::models::{
    Customer, CustomerAccount, ItemNumber, LedgerJournalAcType, NewCustomer, NewLedgerJournal, NewLedgerJournalLine,
    NewReturnOrder, NewReturnOrderLine, NewSalesOrder, NewSalesOrderLine, ReleasedProduct, ReturnOrderHeader,
    ReturnOrderLine, SalesOrderHeader, SalesOrderLine, SalesStatus, SiteOnHand, WarehouseOnHand,
};
use ferry_connectors::fno::query::QueryError;
use ferry_connectors::fno::webhooks::{Document, parse_business_event};
use ferry_connectors::fno::{DataAreaId, EntityKey, Filter, FnoClient, FnoConfig, Query, TokenForm, is_not_found};
use ferry_model::Decimal;
use ferry_runtime::failure::Failure;
use ferry_sandbox::fno::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, FnoSandbox, FnoSandboxConfig, Priority, Throttle,
};
use ferry_store::secrets::SecretValue;
use serde_json::json;

fn company(id: &str) -> DataAreaId {
    DataAreaId::new(id).expect("company id")
}

fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

fn config(sandbox: &FnoSandbox, id: &str) -> FnoConfig {
    let config = FnoConfig::new(
        sandbox.base_url(),
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID,
        SecretValue::new(DEFAULT_CLIENT_SECRET),
        company(id),
    )
    .with_authority(sandbox.authority_url());
    // The sandbox's service user defaults to usmf.
    if id == "usmf" { config.default_company() } else { config }
}

async fn start() -> (FnoSandbox, FnoClient) {
    let sandbox = FnoSandbox::start(FnoSandboxConfig::default()).await.expect("sandbox");
    let client = FnoClient::new(config(&sandbox, "usmf")).expect("client");
    (sandbox, client)
}

fn obj(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn new_order(customer: &str, requisition: &str) -> NewSalesOrder {
    NewSalesOrder {
        ordering_customer_account_number: Some(CustomerAccount::new(customer).expect("account")),
        customer_requisition_number: Some(requisition.to_owned()),
        delivery_address_name: Some("Jane Buyer".into()),
        delivery_address_city: Some("Seattle".into()),
        ..NewSalesOrder::default()
    }
}

#[tokio::test]
async fn fno_client_reads_creates_updates_and_deletes_typed_entities() {
    let (_sandbox, client) = start().await;
    // Get by key and typed lists.
    let customer: Customer =
        client.find(&client.key().with("CustomerAccount", "US-001")).await.expect("get").expect("exists");
    assert_eq!(
        (customer.organization_name.as_str(), customer.sales_currency_code.as_str()),
        ("Contoso Retail San Diego", "USD")
    );
    let missing: Option<Customer> = client.find(&client.key().with("CustomerAccount", "US-404")).await.expect("get");
    assert!(missing.is_none());
    let products: Vec<ReleasedProduct> =
        client.list(Query::new().filter(Filter::gt("SalesPrice", dec("300")))).await.expect("list");
    let mut items: Vec<&str> = products.iter().map(|p| p.item_number.as_str()).collect();
    items.sort_unstable();
    assert_eq!(items, ["D0002", "M0001", "T0002"]);
    assert_eq!(products.iter().find(|p| p.item_number.as_str() == "D0002").map(|p| p.sales_price), Some(dec("499")));

    // A sales order: the entity assigns the number and defaults; lines from the product.
    let order: SalesOrderHeader =
        client.insert(&new_order("US-003", "114-0000001-0000001")).await.expect("create order");
    assert_eq!(order.sales_order_number.as_str(), "SO-000001");
    assert_eq!((order.currency_code.as_str(), order.default_shipping_warehouse_id.as_str()), ("USD", "13"));
    assert_eq!(order.sales_order_status, SalesStatus::Backorder);
    let line: SalesOrderLine = client
        .insert(&NewSalesOrderLine {
            sales_order_number: Some(order.sales_order_number.clone()),
            item_number: Some(ItemNumber::new("A0001").expect("item")),
            ordered_sales_quantity: Some(dec("3")),
            sales_price: Some(dec("12.34")),
            ..NewSalesOrderLine::default()
        })
        .await
        .expect("create line");
    assert_eq!((line.line_amount, line.line_number, line.shipping_site_id.as_str()), (dec("37.02"), dec("1"), "1"));
    // Found again by the Amazon order id (the F3 lookup).
    let found = client.sales_orders_by_requisition("114-0000001-0000001").await.expect("lookup");
    assert_eq!(found.iter().map(|o| o.sales_order_number.as_str()).collect::<Vec<_>>(), ["SO-000001"]);
    assert!(client.sales_orders_by_requisition("114-0000001-0000002").await.expect("lookup").is_empty());

    // PATCH, with and without an ETag.
    let key = client.key().with("SalesOrderNumber", &order.sales_order_number);
    client
        .update("SalesOrderHeadersV2", &key, &obj(json!({"CustomersOrderReference": "ref-1"})), None)
        .await
        .expect("update");
    let record = client.get("SalesOrderHeadersV2", &key, &Query::new()).await.expect("get");
    assert_eq!(record.str("CustomersOrderReference"), Some("ref-1"));
    let etag = record.etag.clone().expect("etag");
    client
        .update("SalesOrderHeadersV2", &key, &obj(json!({"DeliveryModeCode": "Air"})), Some(&etag))
        .await
        .expect("with etag");
    let stale = client
        .update("SalesOrderHeadersV2", &key, &obj(json!({"DeliveryModeCode": "Sea"})), Some(&etag))
        .await
        .expect_err("stale etag");
    assert!(ferry_connectors::fno::is_conflict(&stale), "{stale:?}");
    // $expand (first level) and $count.
    let with_lines = client
        .get(
            "SalesOrderHeadersV2",
            &key,
            &Query::new().select(&["SalesOrderNumber"]).expand("SalesOrderLines", &["ItemNumber", "LineAmount"]),
        )
        .await
        .expect("expand");
    assert_eq!(with_lines.fields["SalesOrderLines"][0]["ItemNumber"], "A0001");
    assert_eq!(client.count("SalesOrderLines", &Query::new()).await.expect("count"), 1);
    // DELETE takes the lines along.
    client.delete("SalesOrderHeadersV2", &key).await.expect("delete");
    let gone = client.get("SalesOrderHeadersV2", &key, &Query::new()).await.expect_err("gone");
    assert!(is_not_found(&gone));
    assert!(gone.message().contains("SO-000001"), "{gone:?}");
    assert_eq!(client.count("SalesOrderLines", &Query::new()).await.expect("count"), 0);

    // Customers, returns and on-hand, typed.
    let created: Customer = client
        .insert(&NewCustomer {
            organization_name: "Amazon US".into(),
            customer_group_id: "30".into(),
            ..NewCustomer::default()
        })
        .await
        .expect("customer");
    assert_eq!((created.customer_account.as_str(), created.data_area_id.as_str()), ("C-000001", "usmf"));
    let ret: ReturnOrderHeader = client
        .insert(&NewReturnOrder {
            customer_account_number: Some(created.customer_account.clone()),
            customer_return_reason_code: Some("Damaged".into()),
            customers_order_reference: Some("FBA-RETURN-1".into()),
            ..NewReturnOrder::default()
        })
        .await
        .expect("return order");
    assert!(ret.rma_number.starts_with("RMA-"));
    let ret_line: ReturnOrderLine = client
        .insert(&NewReturnOrderLine {
            return_order_number: Some(ret.return_order_number.clone()),
            item_number: Some(ItemNumber::new("T0001").expect("item")),
            return_sales_quantity: Some(dec("-2")),
            return_disposition_code: Some("Sellable".into()),
            ..NewReturnOrderLine::default()
        })
        .await
        .expect("return line");
    assert_eq!(ret_line.line_amount, dec("-15"));
    let on_hand: Vec<WarehouseOnHand> =
        client.list(Query::new().filter(Filter::eq("ItemNumber", "A0001").expect("filter"))).await.expect("on-hand");
    let mut per_warehouse: Vec<(String, Decimal)> =
        on_hand.iter().map(|r| (r.inventory_warehouse_id.clone(), r.available_on_hand_quantity)).collect();
    per_warehouse.sort();
    assert_eq!(per_warehouse, [("11".to_owned(), dec("120")), ("21".to_owned(), dec("40"))]);
    let sites: Vec<SiteOnHand> =
        client.list(Query::new().filter(Filter::eq("ItemNumber", "D0001").expect("filter"))).await.expect("sites");
    assert_eq!(
        sites.iter().map(|s| s.on_hand_quantity).collect::<Vec<_>>(),
        [dec("24")],
        "warehouses 11 and 13 of site 1"
    );
}

#[tokio::test]
async fn fno_client_takes_tokens_in_the_v1_resource_form_and_renews_revoked_ones() {
    let (sandbox, _) = start().await;
    let client = FnoClient::new(config(&sandbox, "usmf").with_token_form(TokenForm::V1Resource)).expect("client");
    assert_eq!(client.count("CustomersV3", &Query::new()).await.expect("count"), 4);
    sandbox.revoke_tokens();
    let refused = client.count("CustomersV3", &Query::new()).await.expect_err("revoked");
    assert!(matches!(refused, Failure::Auth { .. }), "{refused:?}");
    assert_eq!(client.count("CustomersV3", &Query::new()).await.expect("a new token"), 4);
    // A wrong secret is an auth failure naming Entra's reason.
    let mut bad = config(&sandbox, "usmf");
    bad.client_secret = SecretValue::new("wrong");
    let failure =
        FnoClient::new(bad).expect("client").count("CustomersV3", &Query::new()).await.expect_err("bad secret");
    assert!(matches!(failure, Failure::Auth { .. }) && failure.message().contains("AADSTS7000215"), "{failure:?}");
}

#[tokio::test]
async fn fno_client_pages_across_25000_rows() {
    let (sandbox, client) = start().await;
    let items: Vec<String> = (0..25_000).map(|i| format!("BULK{i:05}")).collect();
    sandbox.set_on_hand_bulk(items.iter().map(|item| ("usmf", item.as_str(), "2", "24", 5)));
    sandbox.set_on_hand_bulk([("demf", "BULK00001", "1", "11", 1)]);
    let query =
        Query::new().filter(Filter::starts_with("ItemNumber", "BULK")).select(&["ItemNumber", "OnHandQuantity"]);
    let first = client.query("WarehousesOnHandV2", &query).await.expect("first page");
    assert_eq!(first.records.len(), 10_000, "F&O's page");
    assert!(first.next_link.is_some());
    let requests_before = client.stats().requests.load(std::sync::atomic::Ordering::Relaxed);
    let rows = client.query_all("WarehousesOnHandV2", &query).await.expect("all pages");
    let requests = client.stats().requests.load(std::sync::atomic::Ordering::Relaxed) - requests_before;
    assert_eq!((rows.len(), requests), (25_000, 3), "three pages of at most 10,000, usmf only");
    let mut seen: Vec<&str> = rows.iter().filter_map(|r| r.str("ItemNumber")).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 25_000, "no row twice, none missing");
    // The page size knob pages smaller.
    sandbox.set_page_size(7_000);
    let typed: Vec<WarehouseOnHand> =
        client.list(Query::new().filter(Filter::starts_with("ItemNumber", "BULK"))).await.expect("typed");
    assert_eq!(typed.len(), 25_000);
    assert!(typed.iter().all(|r| r.on_hand_quantity == dec("5") && r.data_area_id.as_str() == "usmf"));
}

#[tokio::test]
async fn fno_client_batch_change_set_rolls_back_as_a_whole() {
    let (sandbox, client) = start().await;
    let order = |number: &str| obj(json!({"SalesOrderNumber": number, "OrderingCustomerAccountNumber": "US-001"}));
    let line = |number: &str, item: &str| obj(json!({"SalesOrderNumber": number, "ItemNumber": item}));
    let mut batch = Batch::new();
    batch
        .push_change_set(vec![
            Operation::create("SalesOrderHeadersV2", client.body(&order("SO-A")).expect("body")),
            Operation::create("SalesOrderLines", client.body(&line("SO-A", "A0001")).expect("body")),
            Operation::create("SalesOrderLines", client.body(&line("SO-A", "NOPE")).expect("body")),
        ])
        .expect("change set");
    batch.push(Operation::get("CustomersV3?$top=1")).expect("get");
    let results = client.execute_batch(&batch, true).await.expect("batch");
    assert_eq!(results.len(), 4);
    for r in &results[..3] {
        match &r.outcome {
            Outcome::RolledBack(f) => assert!(f.message().contains("Item number NOPE does not exist"), "{f:?}"),
            other => panic!("operation {} should be rolled back: {other:?}", r.index),
        }
    }
    assert!(results[3].outcome.is_success(), "continue-on-error runs the next part");
    assert!(
        sandbox.rows("SalesOrderHeadersV2").is_empty() && sandbox.rows("SalesOrderLines").is_empty(),
        "nothing written"
    );
    // Without continue-on-error the batch stops at the failed change set.
    let mut batch = Batch::new();
    batch
        .push_change_set(vec![Operation::create("SalesOrderLines", client.body(&line("SO-X", "A0001")).expect("body"))])
        .expect("cs");
    batch.push(Operation::create("SalesOrderHeadersV2", client.body(&order("SO-B")).expect("body"))).expect("op");
    let results = client.execute_batch(&batch, false).await.expect("batch");
    assert!(matches!(results[0].outcome, Outcome::RolledBack(_)));
    assert_eq!(results[1].outcome, Outcome::NotRun);
    // A good change set commits everything and returns the created entities.
    let mut batch = Batch::new();
    batch
        .push_change_set(vec![
            Operation::create("SalesOrderHeadersV2", client.body(&order("SO-C")).expect("body")),
            Operation::create("SalesOrderLines", client.body(&line("SO-C", "A0002")).expect("body")),
        ])
        .expect("cs");
    let results = client.execute_batch(&batch, false).await.expect("batch");
    match &results[1].outcome {
        Outcome::Done { status: 201, record: Some(record) } => {
            assert_eq!(record.decimal("SalesPrice"), Some(dec("19.99")))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sandbox.rows("SalesOrderLines").len(), 1);
    // A journal is one header plus its lines in one change set.
    let lines = [
        NewLedgerJournalLine {
            account_type: LedgerJournalAcType::Bank,
            account_display_value: "USMF OPER".into(),
            debit_amount: Some(dec("100.10")),
            ..NewLedgerJournalLine::default()
        },
        NewLedgerJournalLine {
            account_type: LedgerJournalAcType::Ledger,
            account_display_value: "401100".into(),
            credit_amount: Some(dec("120.00")),
            ..NewLedgerJournalLine::default()
        },
        NewLedgerJournalLine {
            account_type: LedgerJournalAcType::Ledger,
            account_display_value: "618900".into(),
            debit_amount: Some(dec("19.90")),
            text: Some("FBA fees".into()),
            ..NewLedgerJournalLine::default()
        },
    ];
    let header = NewLedgerJournal {
        journal_name: "GenJrn".into(),
        integration_key: Some("settlement-42".into()),
        ..NewLedgerJournal::default()
    };
    let journal = client.create_journal(&header, &lines).await.expect("journal");
    assert_eq!((journal.journal_total_debit, journal.journal_total_credit), (dec("120.00"), dec("120")), "balanced");
    let again = client.journal_by_integration_key("settlement-42").await.expect("lookup").expect("found");
    assert_eq!(again.journal_batch_number, journal.journal_batch_number);
    // A bad line fails the call with F&O's message, and none of its change set stays.
    let bad = [
        lines[0].clone(),
        NewLedgerJournalLine {
            account_type: LedgerJournalAcType::Ledger,
            account_display_value: "999999".into(),
            credit_amount: Some(dec("1")),
            ..NewLedgerJournalLine::default()
        },
    ];
    let failure = client.add_journal_lines(&journal.journal_batch_number, &bad).await.expect_err("bad account");
    assert!(failure.message().contains("Main account 999999"), "{failure:?}");
    assert_eq!(sandbox.rows("LedgerJournalLines").len(), 3);
}

#[tokio::test]
async fn fno_client_surfaces_429_as_throttled_and_holds_back_until_retry_after() {
    let (sandbox, client) = start().await;
    sandbox.set_throttle(Throttle::up_to(Priority::Low, 1));
    let failure = client.count("CustomersV3", &Query::new()).await.expect_err("throttled");
    match &failure {
        Failure::Throttled { retry_after, message } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1)));
            assert!(message.contains("priority-based throttling"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The next call does not leave while the wait runs.
    let held = client.count("CustomersV3", &Query::new()).await.expect_err("held back");
    assert!(matches!(held, Failure::Throttled { .. }));
    assert_eq!(sandbox.throttled_count(), 1, "the second call never reached F&O");
    assert_eq!(client.stats().held_back.load(std::sync::atomic::Ordering::Relaxed), 1);
    sandbox.set_throttle(Throttle::default());
    let wait = client.told_to_wait().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    assert_eq!(client.count("CustomersV3", &Query::new()).await.expect("after the wait"), 4);
    // A high-priority application is not throttled at low pressure.
    sandbox.set_priority(DEFAULT_CLIENT_ID, Priority::High);
    sandbox.set_throttle(Throttle::up_to(Priority::Medium, 5));
    assert_eq!(client.count("CustomersV3", &Query::new()).await.expect("high priority"), 4);
}

#[tokio::test]
async fn fno_client_keeps_to_its_company_and_crosses_only_when_asked() {
    let (sandbox, usmf) = start().await;
    let demf = FnoClient::new(config(&sandbox, "demf")).expect("client");
    let accounts = |rows: Vec<Customer>| -> Vec<String> {
        rows.into_iter().map(|c| format!("{}/{}", c.data_area_id, c.customer_account)).collect()
    };
    assert_eq!(
        accounts(usmf.list(Query::new()).await.expect("usmf")),
        ["usmf/US-001", "usmf/US-002", "usmf/US-003", "usmf/US-004"]
    );
    assert_eq!(
        accounts(demf.list(Query::new()).await.expect("demf")),
        ["demf/DE-001", "demf/DE-002"],
        "cross-company plus a dataAreaId filter"
    );
    assert_eq!(usmf.list::<Customer>(Query::new().cross_company()).await.expect("all").len(), 6);
    // Keys carry the company; the demf client reads and writes demf rows.
    let de: Option<Customer> = demf.find(&demf.key().with("CustomerAccount", "DE-001")).await.expect("get");
    assert_eq!(de.map(|c| c.sales_currency_code), Some("EUR".into()));
    let not_ours: Option<Customer> =
        usmf.find(&EntityKey::new(&company("demf")).with("CustomerAccount", "DE-001")).await.expect("get");
    assert!(not_ours.is_none(), "another company's row is not visible without cross-company");
    let order: SalesOrderHeader = demf.insert(&new_order("DE-002", "302-1")).await.expect("demf order");
    assert_eq!((order.data_area_id.as_str(), order.currency_code.as_str()), ("demf", "EUR"));
    demf.update(
        "SalesOrderHeadersV2",
        &demf.key().with("SalesOrderNumber", &order.sales_order_number),
        &obj(json!({"CustomersOrderReference": "x"})),
        None,
    )
    .await
    .expect("demf update");
    assert!(usmf.sales_orders_by_requisition("302-1").await.expect("usmf lookup").is_empty(), "isolated");
    // A usmf customer cannot order in demf: F&O's own words come back.
    let failure = demf.insert::<_, SalesOrderHeader>(&new_order("US-001", "x")).await.expect_err("isolation");
    assert!(failure.message().contains("Customer account US-001 does not exist in company demf"), "{failure:?}");
}

#[tokio::test]
async fn fno_client_errors_carry_fno_inner_messages() {
    let (sandbox, client) = start().await;
    let cases: Vec<(Failure, &str)> = vec![
        (
            client
                .create("SalesOrderHeadersV2", &obj(json!({"OrderingCustomerAccountNumber": "NOPE"})))
                .await
                .expect_err("customer"),
            "Customer account NOPE does not exist in company usmf.",
        ),
        (
            client.create("SalesOrderHeadersV2", &obj(json!({"Bogus": 1}))).await.expect_err("property"),
            "The property 'Bogus' does not exist",
        ),
        (
            client.create("WarehousesOnHandV2", &obj(json!({"ItemNumber": "A0001"}))).await.expect_err("read-only"),
            "read-only",
        ),
        (
            client
                .get("SalesOrderHeadersV2", &client.key().with("SalesOrderNumber", "SO-9"), &Query::new())
                .await
                .expect_err("missing"),
            "SO-9",
        ),
        (
            client
                .query("SalesOrderHeadersV2", &Query::new().expand("SalesOrderLines", &["Nope"]))
                .await
                .expect_err("select"),
            "Could not find a property named 'Nope'",
        ),
    ];
    for (failure, expected) in cases {
        assert!(matches!(failure, Failure::Permanent { .. }), "{failure:?}");
        assert!(failure.message().contains(expected), "'{}' should say '{expected}'", failure.message());
        assert!(!failure.message().contains("An error has occurred."), "the inner message, not the outer one");
    }
    // 5xx and outages are transient; the outage says how long.
    sandbox.faults().start_outage(Duration::from_secs(3));
    let outage = client.count("CustomersV3", &Query::new()).await.expect_err("outage");
    assert!(matches!(outage, Failure::Transient { .. }) && outage.message().contains("503"), "{outage:?}");
    sandbox.faults().end_outage();
}

#[tokio::test]
async fn fno_filter_builder_escapes_quotes_and_writes_enums_and_wildcards() {
    let (_sandbox, client) = start().await;
    let obrien: Customer = client
        .insert(&NewCustomer {
            organization_name: "O'Brien & Sons #1".into(),
            customer_group_id: "10".into(),
            ..NewCustomer::default()
        })
        .await
        .expect("customer");
    let found: Vec<Customer> = client
        .list(Query::new().filter(Filter::eq("OrganizationName", "O'Brien & Sons #1").expect("eq")))
        .await
        .expect("eq");
    assert_eq!(found.iter().map(|c| &c.customer_account).collect::<Vec<_>>(), [&obrien.customer_account]);
    let found: Vec<Customer> =
        client.list(Query::new().filter(Filter::contains("OrganizationName", "retail"))).await.expect("contains");
    assert_eq!(found.len(), 2, "wildcard equality, case-insensitive");
    let found: Vec<Customer> = client
        .list(
            Query::new()
                .filter(Filter::any_of("CustomerAccount", ["US-001", "US-004"]).expect("any_of"))
                .order_by("CustomerAccount", true),
        )
        .await
        .expect("or instead of in");
    assert_eq!(found.iter().map(|c| c.customer_account.as_str()).collect::<Vec<_>>(), ["US-004", "US-001"]);
    assert_eq!(Filter::eq("OrganizationName", "50*"), Err(QueryError::Wildcard { field: "OrganizationName".into() }));
    assert_eq!(
        Filter::any_of::<&str>("CustomerAccount", []),
        Err(QueryError::NoValues { field: "CustomerAccount".into() })
    );
    let enum_filter = Filter::enum_eq("SalesOrderStatus", "SalesStatus", "Backorder");
    assert_eq!(enum_filter.as_str(), "SalesOrderStatus eq Microsoft.Dynamics.DataEntities.SalesStatus'Backorder'");
    let _: SalesOrderHeader = client.insert(&new_order("US-002", "r-1")).await.expect("order");
    let open: Vec<SalesOrderHeader> = client.list(Query::new().filter(enum_filter)).await.expect("enum");
    assert_eq!(open.len(), 1);
    let none: Vec<SalesOrderHeader> = client
        .list(Query::new().filter(Filter::enum_ne("SalesOrderStatus", "SalesStatus", "Backorder")))
        .await
        .expect("enum ne");
    assert!(none.is_empty());
    // Keys escape quotes too.
    let key = EntityKey::new(&company("usmf")).with("CustomerAccount", "A'B");
    assert_eq!(key.segment().expect("segment"), "dataAreaId='usmf',CustomerAccount='A''B'");
    assert!(client.find::<Customer>(&key).await.expect("find").is_none());
    assert!(DataAreaId::new("us mf").is_err() && DataAreaId::new("USMF").map(|c| c.to_string()) == Ok("usmf".into()));
}

#[tokio::test]
async fn fno_business_events_parse_into_documents() {
    let (sandbox, client) = start().await;
    // An endpoint nobody listens on: the delivery fails, and the sandbox keeps the event.
    sandbox.register_business_event_endpoint("http://127.0.0.1:9/events");
    let order: SalesOrderHeader = client.insert(&new_order("US-001", "r-9")).await.expect("order");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let delivery = loop {
        if let Some(d) = sandbox.business_event_deliveries().into_iter().next() {
            break d;
        }
        assert!(tokio::time::Instant::now() < deadline, "no delivery attempt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(delivery.outcome.is_err());
    let event = parse_business_event(delivery.event.to_string().as_bytes()).expect("parses");
    assert_eq!(event.business_event_id, "SalesOrderCreatedBusinessEvent");
    assert_eq!(event.document, Document::SalesOrder(order.sales_order_number.to_string()));
    assert_eq!(event.company, Some(company("usmf")));
    assert!(parse_business_event(b"{\"nope\":1}").is_err());
}
