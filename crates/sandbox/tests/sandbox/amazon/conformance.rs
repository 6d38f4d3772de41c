//! The sandbox's responses, for every operation it serves, validated against the response
//! schemas of Amazon's models.

use serde_json::{Value, json};

use super::schema::validate;
use super::{Reply, call, spapi_reference, start, token};

fn model(api: &str) -> Value {
    let path = spapi_reference().join("models").join(format!("{api}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Validates `reply` against the schema the model declares for its status; returns the
/// number of checks (0 for a bodiless response the model declares without schema).
fn conform(model: &Value, path: &str, method: &str, reply: &Reply, failures: &mut Vec<String>) -> usize {
    let status = reply.status.to_string();
    let response = &model["paths"][path][method]["responses"][&status];
    if !response.is_object() {
        failures.push(format!("{method} {path}: status {status} is not declared in the model"));
        return 0;
    }
    if reply.header("x-amzn-RequestId").is_none() {
        failures.push(format!("{method} {path} [{status}]: no x-amzn-RequestId"));
    }
    let declared_limit = response["headers"].get("x-amzn-RateLimit-Limit").is_some();
    if reply.header("x-amzn-RateLimit-Limit").is_some() && !declared_limit {
        failures.push(format!("{method} {path} [{status}]: x-amzn-RateLimit-Limit where the model declares none"));
    }
    match response.get("schema") {
        None if reply.body.is_null() => 1,
        None => {
            failures.push(format!("{method} {path} [{status}]: body where the model declares none"));
            0
        }
        Some(schema) => {
            for error in validate(model, schema, &reply.body) {
                failures.push(format!("{method} {path} [{status}]: {error}"));
            }
            1
        }
    }
}

#[tokio::test]
async fn every_served_operation_answers_in_the_models_shapes() {
    let sandbox = start(100_000.0).await;
    let ids = sandbox.seed_orders(40, 0.1);
    let token = token(&sandbox).await;
    let t = Some(token.as_str());
    let (o26, v0) = (model("orders_2026-01-01"), model("ordersV0"));
    let mut failures = Vec::new();
    let mut checks = 0;
    let all = "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT";

    // Orders 2026-01-01: pages, every dataset, errors.
    let search = format!(
        "/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&marketplaceIds=ATVPDKIKX0DER&maxResultsPerPage=7&includedData={all}"
    );
    let page = call(&sandbox, t, "GET", &search, None).await;
    assert_eq!(page.status, 200);
    checks += conform(&o26, "/orders/2026-01-01/orders", "get", &page, &mut failures);
    let next = page.body["pagination"]["nextToken"].as_str().expect("a second page").to_owned();
    let second = call(&sandbox, t, "GET", &format!("{search}&paginationToken={next}"), None).await;
    checks += conform(&o26, "/orders/2026-01-01/orders", "get", &second, &mut failures);
    for bad in [
        "/orders/2026-01-01/orders?marketplaceIds=ATVPDKIKX0DER",
        "/orders/2026-01-01/orders?createdAfter=yesterday&marketplaceIds=X",
    ] {
        let reply = call(&sandbox, t, "GET", bad, None).await;
        assert_eq!(reply.status, 400);
        checks += conform(&o26, "/orders/2026-01-01/orders", "get", &reply, &mut failures);
    }
    for id in &ids {
        let reply = call(&sandbox, t, "GET", &format!("/orders/2026-01-01/orders/{id}?includedData={all}"), None).await;
        checks += conform(&o26, "/orders/2026-01-01/orders/{orderId}", "get", &reply, &mut failures);
    }
    let missing = call(&sandbox, t, "GET", "/orders/2026-01-01/orders/999-9999999-9999999", None).await;
    assert_eq!(missing.status, 404);
    checks += conform(&o26, "/orders/2026-01-01/orders/{orderId}", "get", &missing, &mut failures);
    let denied = call(&sandbox, None, "GET", "/orders/2026-01-01/orders/999-9999999-9999999", None).await;
    assert_eq!(denied.status, 403);
    checks += conform(&o26, "/orders/2026-01-01/orders/{orderId}", "get", &denied, &mut failures);

    // Orders v0.
    let list = call(
        &sandbox,
        t,
        "GET",
        "/orders/v0/orders?CreatedAfter=2020-01-01T00:00:00Z&MarketplaceIds=ATVPDKIKX0DER&MaxResultsPerPage=9",
        None,
    )
    .await;
    checks += conform(&v0, "/orders/v0/orders", "get", &list, &mut failures);
    for id in &ids {
        for (suffix, path) in [
            ("", "/orders/v0/orders/{orderId}"),
            ("/orderItems", "/orders/v0/orders/{orderId}/orderItems"),
            ("/address", "/orders/v0/orders/{orderId}/address"),
            ("/buyerInfo", "/orders/v0/orders/{orderId}/buyerInfo"),
        ] {
            let reply = call(&sandbox, t, "GET", &format!("/orders/v0/orders/{id}{suffix}"), None).await;
            checks += conform(&v0, path, "get", &reply, &mut failures);
        }
    }
    // v0 getOrder with an RDT for its restricted data elements.
    let rdt = call(&sandbox, t, "POST", "/tokens/2021-03-01/restrictedDataToken", Some(json!({ "restrictedResources": ids.iter().map(|id| json!({ "method": "GET", "path": format!("/orders/v0/orders/{id}"), "dataElements": ["buyerInfo", "shippingAddress"] })).collect::<Vec<_>>() }))).await;
    let rdt = rdt.body["restrictedDataToken"].as_str().unwrap().to_owned();
    let mut restricted = 0;
    for id in &ids {
        let reply = call(&sandbox, Some(&rdt), "GET", &format!("/orders/v0/orders/{id}"), None).await;
        restricted += usize::from(reply.body["payload"]["BuyerInfo"].is_object());
        checks += conform(&v0, "/orders/v0/orders/{orderId}", "get", &reply, &mut failures);
    }
    assert!(restricted > 0, "shipped or unshipped orders carry BuyerInfo with the RDT");

    // confirmShipment: a 400 and a 204.
    let (id, items) = sandbox
        .with_orders(|o| {
            o.by_id
                .values()
                .find(|o| o.status == ferry_sandbox::amazon::state::Status::Unshipped && !o.fulfilled_by_amazon)
                .map(|o| {
                    (
                        o.id.clone(),
                        o.items
                            .iter()
                            .map(|i| json!({"orderItemId": i.item_id, "quantity": i.quantity}))
                            .collect::<Vec<_>>(),
                    )
                })
        })
        .expect("an unshipped MFN order");
    let path = format!("/orders/v0/orders/{id}/shipmentConfirmation");
    let body = |items: Vec<Value>| {
        json!({ "marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
        "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z1", "shipDate": "2026-01-01T00:00:00Z",
        "orderItems": items } })
    };
    let bad = call(&sandbox, t, "POST", &path, Some(body(vec![json!({"orderItemId": "nope", "quantity": 1})]))).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body["errors"][0]["message"].as_str().unwrap().contains("orderItems[0].orderItemId"));
    checks += conform(&v0, "/orders/v0/orders/{orderId}/shipmentConfirmation", "post", &bad, &mut failures);
    let pickup = format!("/orders/v0/orders/{id}/shipment");
    let updated = call(
        &sandbox,
        t,
        "POST",
        &pickup,
        Some(json!({ "marketplaceId": "ATVPDKIKX0DER", "shipmentStatus": "ReadyForPickup" })),
    )
    .await;
    assert_eq!(updated.status, 204);
    checks += conform(&v0, "/orders/v0/orders/{orderId}/shipment", "post", &updated, &mut failures);
    let refused =
        call(&sandbox, t, "POST", &pickup, Some(json!({ "marketplaceId": "1", "shipmentStatus": "ReadyForPickup" })))
            .await;
    assert_eq!(refused.status, 400);
    checks += conform(&v0, "/orders/v0/orders/{orderId}/shipment", "post", &refused, &mut failures);
    let ok = call(&sandbox, t, "POST", &path, Some(body(items))).await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    checks += conform(&v0, "/orders/v0/orders/{orderId}/shipmentConfirmation", "post", &ok, &mut failures);

    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checks > 200, "{checks}");
}

fn notification_schema(file: &str) -> Value {
    let path = spapi_reference().join("notifications").join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[tokio::test]
async fn emitted_notifications_and_fulfilment_responses_match_amazons_schemas() {
    let sandbox = start(3600.0).await;
    let ids = sandbox.seed_orders(10, 0.0);
    let token = token(&sandbox).await;
    let t = Some(token.as_str());
    let fo = model("fulfillmentOutbound_2020-07-01");
    let mut failures = Vec::new();
    let mut checks = 0;

    // An MFN shipment confirmation emits ORDER_CHANGE.
    let (id, items) = sandbox
        .with_orders(|o| {
            ids.iter()
                .map(|id| &o.by_id[id])
                .find(|o| o.status == ferry_sandbox::amazon::state::Status::Unshipped && !o.fulfilled_by_amazon)
                .map(|o| {
                    (
                        o.id.clone(),
                        o.items
                            .iter()
                            .map(|i| json!({"orderItemId": i.item_id, "quantity": i.quantity}))
                            .collect::<Vec<_>>(),
                    )
                })
        })
        .expect("an unshipped MFN order");
    let confirm = json!({ "marketplaceId": "ATVPDKIKX0DER", "packageDetail": { "packageReferenceId": "7", "carrierCode": "USPS",
        "trackingNumber": "9400", "shipDate": "2026-01-01T00:00:00Z", "orderItems": items } });
    assert_eq!(
        call(&sandbox, t, "POST", &format!("/orders/v0/orders/{id}/shipmentConfirmation"), Some(confirm)).await.status,
        204
    );

    // A fulfilment order through preview, create, progress, tracking, list and a late cancel.
    let address = json!({ "name": "Pat Doe", "addressLine1": "1 Main St", "city": "Seattle", "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US" });
    let line = json!({ "sellerSku": "FERRY-SKU-0001", "sellerFulfillmentOrderItemId": "line-1", "quantity": 2 });
    let preview = call(
        &sandbox,
        t,
        "POST",
        "/fba/outbound/2020-07-01/fulfillmentOrders/preview",
        Some(json!({ "address": address, "items": [line] })),
    )
    .await;
    checks += conform(&fo, "/fba/outbound/2020-07-01/fulfillmentOrders/preview", "post", &preview, &mut failures);
    let create = json!({ "sellerFulfillmentOrderId": "FO-1", "displayableOrderId": "FO-1", "displayableOrderDate": "2026-01-01T00:00:00Z",
        "displayableOrderComment": "Thanks", "shippingSpeedCategory": "Standard", "destinationAddress": address, "items": [line] });
    let created = call(&sandbox, t, "POST", "/fba/outbound/2020-07-01/fulfillmentOrders", Some(create.clone())).await;
    assert_eq!(created.status, 200);
    checks += conform(&fo, "/fba/outbound/2020-07-01/fulfillmentOrders", "post", &created, &mut failures);
    let duplicate = call(&sandbox, t, "POST", "/fba/outbound/2020-07-01/fulfillmentOrders", Some(create)).await;
    assert_eq!(duplicate.status, 400);
    checks += conform(&fo, "/fba/outbound/2020-07-01/fulfillmentOrders", "post", &duplicate, &mut failures);
    let mut package = None;
    for _ in 0..100 {
        let order = call(&sandbox, t, "GET", "/fba/outbound/2020-07-01/fulfillmentOrders/FO-1", None).await;
        checks += conform(
            &fo,
            "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}",
            "get",
            &order,
            &mut failures,
        );
        if order.body["payload"]["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Complete" {
            package =
                order.body["payload"]["fulfillmentShipments"][0]["fulfillmentShipmentPackage"][0]["packageNumber"]
                    .as_i64();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let package = package.expect("the order completes with a package");
    let tracking =
        call(&sandbox, t, "GET", &format!("/fba/outbound/2020-07-01/tracking?packageNumber={package}"), None).await;
    checks += conform(&fo, "/fba/outbound/2020-07-01/tracking", "get", &tracking, &mut failures);
    let list = call(
        &sandbox,
        t,
        "GET",
        "/fba/outbound/2020-07-01/fulfillmentOrders?queryStartDate=2020-01-01T00:00:00Z",
        None,
    )
    .await;
    checks += conform(&fo, "/fba/outbound/2020-07-01/fulfillmentOrders", "get", &list, &mut failures);
    let cancel = call(&sandbox, t, "PUT", "/fba/outbound/2020-07-01/fulfillmentOrders/FO-1/cancel", None).await;
    assert_eq!(cancel.status, 400);
    checks += conform(
        &fo,
        "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}/cancel",
        "put",
        &cancel,
        &mut failures,
    );

    // FBA inventory, with and without details.
    let inventory = model("fbaInventory");
    for query in ["details=true&", ""] {
        let reply = call(
            &sandbox,
            t,
            "GET",
            &format!("/fba/inventory/v1/summaries?{query}granularityType=Marketplace&granularityId=ATVPDKIKX0DER&marketplaceIds=ATVPDKIKX0DER"),
            None,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        checks += conform(&inventory, "/fba/inventory/v1/summaries", "get", &reply, &mut failures);
    }
    let bad = call(&sandbox, t, "GET", "/fba/inventory/v1/summaries?granularityType=Marketplace", None).await;
    assert_eq!(bad.status, 400);
    checks += conform(&inventory, "/fba/inventory/v1/summaries", "get", &bad, &mut failures);

    // Every message on the queue validates against its notification schema.
    let schemas = [
        ("ORDER_CHANGE", notification_schema("OrderChangeNotification.json")),
        ("FULFILLMENT_ORDER_STATUS", notification_schema("FulfillmentOrderStatusNotification.json")),
        ("FBA_INVENTORY_AVAILABILITY_CHANGES", notification_schema("FBAInventoryAvailabilityChangeNotification.json")),
    ];
    let mut seen = std::collections::BTreeMap::new();
    for body in sandbox.queued_notifications() {
        let message: Value = serde_json::from_str(&body).expect("JSON message");
        let kind = message["NotificationType"].as_str().unwrap_or("?").to_owned();
        let (_, schema) = schemas.iter().find(|(k, _)| *k == kind).unwrap_or_else(|| panic!("unexpected {kind}"));
        for error in validate(schema, schema, &message) {
            failures.push(format!("{kind}: {error}"));
        }
        *seen.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(seen.get("ORDER_CHANGE"), Some(&11), "10 new orders and one shipment: {seen:?}");
    assert!(seen.get("FULFILLMENT_ORDER_STATUS").is_some_and(|n| *n >= 4), "{seen:?}");
    assert_eq!(seen.get("FBA_INVENTORY_AVAILABILITY_CHANGES"), Some(&1), "planning took stock once: {seen:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checks >= 8);
}

#[tokio::test]
async fn reports_and_finances_answer_in_the_models_shapes() {
    let sandbox = start(100_000.0).await;
    sandbox.seed_orders(60, 0.0);
    // Every kind of financial event is on the wire: shipments, a refund and a service fee.
    let shipped = sandbox.shipped_order_ids();
    sandbox.refund_order(shipped.first().expect("a shipped order")).unwrap();
    sandbox.charge_service_fee("FBAStorageFee", "Monthly inventory storage", "12.34".parse().unwrap(), "USD");
    let token = token(&sandbox).await;
    let t = Some(token.as_str());
    let (reports, finances) = (model("reports_2021-06-30"), model("financesV0"));
    let mut failures = Vec::new();

    let create = call(
        &sandbox,
        t,
        "POST",
        "/reports/2021-06-30/reports",
        Some(json!({ "reportType": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "marketplaceIds": ["ATVPDKIKX0DER"] })),
    )
    .await;
    assert_eq!(create.status, 202);
    conform(&reports, "/reports/2021-06-30/reports", "post", &create, &mut failures);
    let refused = call(
        &sandbox,
        t,
        "POST",
        "/reports/2021-06-30/reports",
        Some(
            json!({ "reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "marketplaceIds": ["ATVPDKIKX0DER"] }),
        ),
    )
    .await;
    assert_eq!(refused.status, 400);
    conform(&reports, "/reports/2021-06-30/reports", "post", &refused, &mut failures);
    let id = create.body["reportId"].as_str().unwrap().to_owned();
    let mut done = None;
    for _ in 0..100 {
        let report = call(&sandbox, t, "GET", &format!("/reports/2021-06-30/reports/{id}"), None).await;
        conform(&reports, "/reports/2021-06-30/reports/{reportId}", "get", &report, &mut failures);
        if report.body["processingStatus"] == "DONE" {
            done = report.body["reportDocumentId"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let document_id = done.expect("the report finishes");
    let document = call(&sandbox, t, "GET", &format!("/reports/2021-06-30/documents/{document_id}"), None).await;
    conform(&reports, "/reports/2021-06-30/documents/{reportDocumentId}", "get", &document, &mut failures);
    sandbox.close_settlement("99999999999");
    let list = call(&sandbox, t, "GET", "/reports/2021-06-30/reports?reportTypes=GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2,GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA&pageSize=1", None).await;
    assert!(list.body["nextToken"].is_string());
    conform(&reports, "/reports/2021-06-30/reports", "get", &list, &mut failures);

    let events = call(&sandbox, t, "GET", "/finances/v0/financialEvents?MaxResultsPerPage=5", None).await;
    conform(&finances, "/finances/v0/financialEvents", "get", &events, &mut failures);
    let order = events.body["payload"]["FinancialEvents"]["ShipmentEventList"][0]["AmazonOrderId"]
        .as_str()
        .expect("a shipped order")
        .to_owned();
    let by_order = call(&sandbox, t, "GET", &format!("/finances/v0/orders/{order}/financialEvents"), None).await;
    conform(&finances, "/finances/v0/orders/{orderId}/financialEvents", "get", &by_order, &mut failures);
    let by_group =
        call(&sandbox, t, "GET", "/finances/v0/financialEventGroups/FEG-SANDBOX-OPEN/financialEvents", None).await;
    conform(
        &finances,
        "/finances/v0/financialEventGroups/{eventGroupId}/financialEvents",
        "get",
        &by_group,
        &mut failures,
    );
    let lists = &by_group.body["payload"]["FinancialEvents"];
    assert_eq!(lists["RefundEventList"].as_array().map(Vec::len), Some(1), "{lists}");
    assert_eq!(lists["ServiceFeeEventList"].as_array().map(Vec::len), Some(1), "{lists}");
    let bad = call(&sandbox, t, "GET", "/finances/v0/financialEvents?MaxResultsPerPage=0", None).await;
    assert_eq!(bad.status, 400);
    conform(&finances, "/finances/v0/financialEvents", "get", &bad, &mut failures);

    let schema = notification_schema("ReportProcessingFinishedNotification.json");
    let finished: Vec<Value> = sandbox
        .queued_notifications()
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).unwrap())
        .filter(|n| n["notificationType"] == "REPORT_PROCESSING_FINISHED")
        .collect();
    assert_eq!(finished.len(), 1);
    for error in validate(&schema, &schema, &finished[0]) {
        failures.push(format!("REPORT_PROCESSING_FINISHED: {error}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn listings_feeds_tokens_and_notification_settings_answer_in_the_models_shapes() {
    let sandbox = start(100_000.0).await;
    let ids = sandbox.seed_orders(5, 0.0);
    let token = token(&sandbox).await;
    let t = Some(token.as_str());
    let seller = sandbox.config().seller_id.clone();
    let mut failures = Vec::new();

    let listings = model("listingsItems_2021-08-01");
    let item = format!("/listings/2021-08-01/items/{seller}/FERRY-SKU-0001");
    let path = "/listings/2021-08-01/items/{sellerId}/{sku}";
    let get = call(
        &sandbox,
        t,
        "GET",
        &format!(
            "{item}?marketplaceIds=ATVPDKIKX0DER&includedData=summaries,attributes,issues,fulfillmentAvailability"
        ),
        None,
    )
    .await;
    assert_eq!(get.status, 200, "{}", get.body);
    conform(&listings, path, "get", &get, &mut failures);
    let patch = json!({ "productType": "PRODUCT", "patches": [{ "op": "replace", "path": "/attributes/fulfillment_availability", "value": [{ "fulfillment_channel_code": "DEFAULT", "quantity": 3 }] }] });
    let patched = call(&sandbox, t, "PATCH", &format!("{item}?marketplaceIds=ATVPDKIKX0DER"), Some(patch)).await;
    conform(&listings, path, "patch", &patched, &mut failures);
    let put = call(
        &sandbox,
        t,
        "PUT",
        &format!("{item}?marketplaceIds=ATVPDKIKX0DER&mode=VALIDATION_PREVIEW"),
        Some(json!({ "productType": "PRODUCT", "attributes": {} })),
    )
    .await;
    assert_eq!(put.body["status"], "INVALID");
    conform(&listings, path, "put", &put, &mut failures);
    let bad = call(&sandbox, t, "GET", &item, None).await;
    assert_eq!(bad.status, 400);
    conform(&listings, path, "get", &bad, &mut failures);

    let feeds = model("feeds_2021-06-30");
    let doc = call(
        &sandbox,
        t,
        "POST",
        "/feeds/2021-06-30/documents",
        Some(json!({ "contentType": "application/json; charset=UTF-8" })),
    )
    .await;
    assert_eq!(doc.status, 201);
    conform(&feeds, "/feeds/2021-06-30/documents", "post", &doc, &mut failures);
    let content = json!({ "header": { "sellerId": seller, "version": "2.0" }, "messages": [{ "messageId": 1, "sku": "FERRY-SKU-0002", "operationType": "PATCH", "productType": "PRODUCT", "patches": [{ "op": "delete", "path": "/attributes/purchasable_offer" }] }] });
    let upload = crate::http().put(doc.body["url"].as_str().unwrap()).body(content.to_string()).send().await.unwrap();
    assert_eq!(upload.status().as_u16(), 200);
    let feed = call(&sandbox, t, "POST", "/feeds/2021-06-30/feeds", Some(json!({ "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": ["ATVPDKIKX0DER"], "inputFeedDocumentId": doc.body["feedDocumentId"] }))).await;
    assert_eq!(feed.status, 202);
    conform(&feeds, "/feeds/2021-06-30/feeds", "post", &feed, &mut failures);
    let id = feed.body["feedId"].as_str().unwrap().to_owned();
    let mut result = None;
    for _ in 0..100 {
        let got = call(&sandbox, t, "GET", &format!("/feeds/2021-06-30/feeds/{id}"), None).await;
        conform(&feeds, "/feeds/2021-06-30/feeds/{feedId}", "get", &got, &mut failures);
        if got.body["processingStatus"] == "DONE" {
            result = got.body["resultFeedDocumentId"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let result = result.expect("the feed finishes");
    let document = call(&sandbox, t, "GET", &format!("/feeds/2021-06-30/documents/{result}"), None).await;
    conform(&feeds, "/feeds/2021-06-30/documents/{feedDocumentId}", "get", &document, &mut failures);
    // The result document validates against Amazon's processing-report schema.
    let bytes = crate::http().get(document.body["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    let report_schema: Value = serde_json::from_str(
        &std::fs::read_to_string(spapi_reference().join("feeds/listings-feed-processing-report-schema-v2.json"))
            .unwrap(),
    )
    .unwrap();
    for error in validate(&report_schema, &report_schema, &report) {
        failures.push(format!("processing report: {error}"));
    }
    assert_eq!(report["summary"]["messagesAccepted"], 1);

    let tokens = model("tokens_2021-03-01");
    let rdt = call(&sandbox, t, "POST", "/tokens/2021-03-01/restrictedDataToken", Some(json!({ "restrictedResources": [{ "method": "GET", "path": format!("/orders/v0/orders/{}/address", ids[0]) }] }))).await;
    assert_eq!(rdt.status, 200);
    conform(&tokens, "/tokens/2021-03-01/restrictedDataToken", "post", &rdt, &mut failures);
    let bad_rdt =
        call(&sandbox, t, "POST", "/tokens/2021-03-01/restrictedDataToken", Some(json!({ "restrictedResources": [] })))
            .await;
    conform(&tokens, "/tokens/2021-03-01/restrictedDataToken", "post", &bad_rdt, &mut failures);

    let notifications = model("notifications");
    let c = sandbox.config().clone();
    let grantless = super::post_form(
        &sandbox.token_url(),
        format!(
            "grant_type=client_credentials&scope=sellingpartnerapi%3A%3Anotifications&client_id={}&client_secret={}",
            super::urlenc(&c.client_id),
            super::urlenc(&c.client_secret)
        ),
    )
    .await;
    let g = grantless.body["access_token"].as_str().map(str::to_owned);
    let refused = call(&sandbox, t, "POST", "/notifications/v1/destinations", Some(json!({}))).await;
    assert_eq!(refused.status, 403, "destinations need a grantless token");
    let destination = call(&sandbox, g.as_deref(), "POST", "/notifications/v1/destinations", Some(json!({ "name": "q", "resourceSpecification": { "sqs": { "arn": "arn:aws:sqs:us-east-1:000000000000:q" } } }))).await;
    conform(&notifications, "/notifications/v1/destinations", "post", &destination, &mut failures);
    let listed = call(&sandbox, g.as_deref(), "GET", "/notifications/v1/destinations", None).await;
    conform(&notifications, "/notifications/v1/destinations", "get", &listed, &mut failures);
    let subscription = call(
        &sandbox,
        t,
        "POST",
        "/notifications/v1/subscriptions/ORDER_CHANGE",
        Some(json!({ "payloadVersion": "1.0", "destinationId": destination.body["payload"]["destinationId"] })),
    )
    .await;
    conform(&notifications, "/notifications/v1/subscriptions/{notificationType}", "post", &subscription, &mut failures);
    let got = call(&sandbox, t, "GET", "/notifications/v1/subscriptions/ORDER_CHANGE", None).await;
    conform(&notifications, "/notifications/v1/subscriptions/{notificationType}", "get", &got, &mut failures);

    let schema = notification_schema("FeedProcessingFinishedNotification.json");
    let finished: Vec<Value> = sandbox
        .queued_notifications()
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).unwrap())
        .filter(|n| n["notificationType"] == "FEED_PROCESSING_FINISHED")
        .collect();
    assert_eq!(finished.len(), 1);
    for error in validate(&schema, &schema, &finished[0]) {
        failures.push(format!("FEED_PROCESSING_FINISHED: {error}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
