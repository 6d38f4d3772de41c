//! Auth, Orders 2026-01-01 and v0 through the connector against the sandbox.

use std::sync::atomic::Ordering;

use ferry_connectors::amazon::client::orders::SearchOrdersRequest;
use ferry_connectors::amazon::models::orders_v0::{ConfirmShipmentOrderItem, ConfirmShipmentRequest, PackageDetail};
use ferry_connectors::amazon::transformers::{order_from_2026, order_from_v0};
use ferry_connectors::amazon::{GetOrderRequest, Grant, IncludedData};
use ferry_model::{AmazonOrderId, FulfillmentChannel, OrderStatus, Timestamp};
use ferry_runtime::failure::{Failure, FailureKind};
use ferry_sandbox::faults::FaultConfig;

use super::{client_for, sandbox_and_client};

fn week_ago() -> Timestamp {
    Timestamp::now() - jiff::SignedDuration::from_hours(24 * 8)
}

#[tokio::test]
async fn search_orders_follows_pagination_to_the_end_and_to_a_cursor() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let seeded = sandbox.seed_orders(57, 0.0);
    let request = SearchOrdersRequest {
        created_after: Some(week_ago()),
        marketplace_ids: client.config().marketplace_ids.clone(),
        max_results_per_page: Some(10),
        included_data: IncludedData::for_order_flow(false, false),
        ..Default::default()
    };
    let all = client.search_orders_all(&request, None).await.expect("search");
    assert_eq!(all.pages, 6);
    assert_eq!(all.resume_token, None);
    let mut ids: Vec<String> = all.orders.iter().map(|o| o.order_id.clone()).collect();
    ids.sort();
    let mut expected = seeded.clone();
    expected.sort();
    assert_eq!(ids, expected, "every seeded order exactly once");

    // Stop after two pages, then resume from the returned token: the rest, nothing twice.
    let first = client.search_orders_all(&request, Some(2)).await.expect("first part");
    assert_eq!(first.orders.len(), 20);
    let token = first.resume_token.clone().expect("a token to resume from");
    let rest = client
        .search_orders_all(&SearchOrdersRequest { pagination_token: Some(token), ..request.clone() }, None)
        .await
        .expect("rest");
    assert_eq!(first.orders.len() + rest.orders.len(), 57);
    let mut resumed: Vec<String> = first.orders.iter().chain(&rest.orders).map(|o| o.order_id.clone()).collect();
    resumed.sort();
    assert_eq!(resumed, expected);
}

#[tokio::test]
async fn get_order_with_included_data_becomes_a_canonical_order() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let ids = sandbox.seed_orders(30, 0.0);
    let id = sandbox
        .with_orders(|o| {
            ids.iter().find(|id| o.by_id[*id].status == ferry_sandbox::amazon::state::Status::Unshipped).cloned()
        })
        .expect("an unshipped order");
    let order_id = AmazonOrderId::new(&id).unwrap();

    // Without PII datasets: no buyer, no address; amounts tie to Amazon's total.
    let wire = client
        .get_order(&GetOrderRequest::new(&order_id, IncludedData::for_order_flow(false, false)))
        .await
        .expect("getOrder");
    assert!(wire.buyer.is_none() && wire.recipient.is_none());
    let order = order_from_2026(&wire).expect("transform");
    assert_eq!(order.status, OrderStatus::Unshipped);
    assert_eq!(order.id.id(), id);
    assert_eq!(order.total().unwrap(), order.reported_total.unwrap(), "lines explain the total");
    assert!(order.buyer.is_none());

    // With BUYER and RECIPIENT: buyer and address, redacted in Debug.
    let wire = client
        .get_order(&GetOrderRequest::new(&order_id, IncludedData::for_order_flow(true, true)))
        .await
        .expect("getOrder with PII");
    let order = order_from_2026(&wire).expect("transform");
    let buyer = order.buyer.as_ref().expect("buyer");
    assert!(buyer.exposed_email().unwrap().ends_with("@marketplace.amazon.com"));
    let address = order.shipping_address.as_ref().expect("address");
    assert_eq!(address.country.as_str(), "US");
    let debug = format!("{order:?} {wire:?}");
    assert!(!debug.contains("Sample Buyer") && !debug.contains("Main St"), "no PII in Debug: {debug}");
}

#[tokio::test]
async fn v0_fallback_reads_build_the_same_order() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let ids = sandbox.seed_orders(30, 0.0);
    let id = sandbox
        .with_orders(|o| {
            ids.iter().find(|id| o.by_id[*id].status == ferry_sandbox::amazon::state::Status::Unshipped).cloned()
        })
        .expect("an unshipped order");
    // getOrders v0 follows NextToken to the end.
    let all = client
        .get_orders_v0_all(&ferry_connectors::amazon::client::orders_v0::GetOrdersRequest {
            marketplace_ids: client.config().marketplace_ids.clone(),
            created_after: Some(week_ago()),
            max_results_per_page: Some(7),
            ..Default::default()
        })
        .await
        .expect("getOrders v0");
    assert_eq!(all.len(), 30);
    let order = client.get_order_v0(&id).await.expect("getOrder v0");
    let items = client.get_order_items(&id).await.expect("items");
    // Without a Restricted Data Token: no name, street or email.
    let plain = client.get_order_address(&id).await.expect("address");
    let shipping = plain.shipping_address.as_ref().expect("the non-identifying part");
    assert!(shipping.name.is_none() && shipping.address_line1.is_none());
    assert_eq!(shipping.country_code.as_deref(), Some("US"));
    assert!(client.get_order_buyer_info(&id).await.unwrap().buyer_email.is_none());
    // With an RDT scoped to this order's paths: the full data.
    let address = client.get_order_address_restricted(&id).await.expect("address with RDT");
    let buyer = client.get_order_buyer_info_restricted(&id).await.expect("buyer with RDT");
    assert!(address.shipping_address.as_ref().unwrap().name.is_some());
    assert!(buyer.buyer_email.is_some());
    // An RDT for another order's path opens nothing here.
    let other =
        ferry_connectors::amazon::rdt::RestrictedResource::get("/orders/v0/orders/999-9999999-9999999/address", vec![]);
    let request = ferry_connectors::amazon::client::orders_v0::get_order_address_request(&id);
    let response = client.execute_restricted("ordersV0", "getOrderAddress", &request, &[other]).await.unwrap();
    assert!(!String::from_utf8_lossy(&response.body).contains("Main St"));
    // Expired RDTs are renewed once.
    sandbox.expire_tokens();
    assert!(client.get_order_address_restricted(&id).await.unwrap().shipping_address.unwrap().name.is_some());
    let v0 = order_from_v0(&order, &items, Some(&address), Some(&buyer)).expect("v0 transform");
    // getOrder with an RDT for exactly the data elements the flow needs.
    use ferry_connectors::amazon::rdt::DataElement;
    let only_address = client.get_order_v0_restricted(&id, &[DataElement::ShippingAddress]).await.unwrap();
    assert!(only_address.shipping_address.is_some() && only_address.buyer_info.is_none());
    let both =
        client.get_order_v0_restricted(&id, &[DataElement::BuyerInfo, DataElement::ShippingAddress]).await.unwrap();
    let from_order = order_from_v0(&both, &items, None, None).unwrap();
    assert_eq!(from_order.shipping_address, v0.shipping_address, "the same address by either restricted path");
    assert_eq!(
        from_order.buyer.as_ref().and_then(|b| b.exposed_email().map(str::to_owned)),
        v0.buyer.as_ref().and_then(|b| b.exposed_email().map(str::to_owned))
    );
    let wire = client
        .get_order(&GetOrderRequest::new(&AmazonOrderId::new(&id).unwrap(), IncludedData::for_order_flow(true, true)))
        .await
        .unwrap();
    let new = order_from_2026(&wire).unwrap();
    assert_eq!(v0.lines.len(), new.lines.len());
    assert_eq!(v0.total().unwrap(), new.total().unwrap(), "both APIs yield the same amounts");
    assert_eq!(v0.reported_total, new.reported_total);
    assert_eq!(v0.shipping_address, new.shipping_address);
    assert_eq!(v0.status, new.status);
}

#[tokio::test]
async fn confirm_shipment_ships_the_order_and_rejects_bad_input_with_amazons_message() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let ids = sandbox.seed_orders(40, 0.0);
    let (id, items) = sandbox
        .with_orders(|o| {
            ids.iter()
                .map(|id| &o.by_id[id])
                .find(|o| o.status == ferry_sandbox::amazon::state::Status::Unshipped && !o.fulfilled_by_amazon)
                .map(|o| (o.id.clone(), o.items.iter().map(|i| (i.item_id.clone(), i.quantity)).collect::<Vec<_>>()))
        })
        .expect("an unshipped MFN order");
    let request = |items: Vec<ConfirmShipmentOrderItem>| ConfirmShipmentRequest {
        marketplace_id: "ATVPDKIKX0DER".into(),
        package_detail: PackageDetail {
            package_reference_id: "1".into(),
            carrier_code: "UPS".into(),
            carrier_name: None,
            shipping_method: Some("Ground".into()),
            tracking_number: "1Z999AA10123456784".into(),
            ship_date: Timestamp::now().to_string(),
            ship_from_supply_source_id: None,
            order_items: items,
        },
        cod_collection_method: None,
    };
    let too_many = vec![ConfirmShipmentOrderItem {
        order_item_id: items[0].0.clone(),
        quantity: items[0].1 + 1,
        transparency_codes: None,
    }];
    match client.confirm_shipment(&id, &request(too_many)).await {
        Err(Failure::Permanent { code, message }) => {
            assert_eq!(code.as_deref(), Some("InvalidInput"));
            assert!(message.contains("exceeds the unshipped quantity"), "{message}");
        }
        other => panic!("expected a permanent InvalidInput, got {other:?}"),
    }
    let all = items
        .iter()
        .map(|(id, q)| ConfirmShipmentOrderItem { order_item_id: id.clone(), quantity: *q, transparency_codes: None })
        .collect();
    client.confirm_shipment(&id, &request(all)).await.expect("confirmShipment");
    let wire = client
        .get_order(&GetOrderRequest::new(
            &AmazonOrderId::new(&id).unwrap(),
            vec![IncludedData::Fulfillment, IncludedData::Proceeds],
        ))
        .await
        .unwrap();
    let order = order_from_2026(&wire).unwrap();
    assert_eq!(order.status, OrderStatus::Shipped);
    let marketplace = ferry_model::AmazonMarketplaceId::new("ATVPDKIKX0DER").unwrap();
    client.update_shipment_status(&id, &marketplace, "PickedUp", &[]).await.expect("updateShipmentStatus");
    let bad = client.update_shipment_status(&id, &marketplace, "Lost", &[]).await.unwrap_err();
    assert!(bad.message().contains("shipmentStatus must be"), "{bad}");
    assert_eq!(order.fulfillment_channel, FulfillmentChannel::Merchant);
    assert!(order.is_fully_shipped());
}

#[tokio::test]
async fn errors_are_classified_with_amazons_code() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    // Unknown order: permanent NotFound with Amazon's code and a request id.
    let missing = GetOrderRequest { order_id: "111-1111111-1111111".into(), included_data: vec![] };
    match client.get_order(&missing).await {
        Err(Failure::Permanent { code, message }) => {
            assert_eq!(code.as_deref(), Some("NotFound"));
            assert!(message.contains("x-amzn-RequestId"), "{message}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    // A throttle storm: throttled, with a wait derived from the operation's rate.
    sandbox.faults().set(FaultConfig { throttle_rate: 1.0, ..Default::default() });
    let failure = client.get_order(&missing).await.expect_err("throttled");
    assert_eq!(failure.kind(), FailureKind::Throttled);
    assert!(failure.message().contains("QuotaExceeded"));
    assert!(failure.retry_after().is_some());
    // Server errors and outages: transient.
    sandbox.faults().set(FaultConfig { error_rate: 1.0, ..Default::default() });
    assert_eq!(client.get_order(&missing).await.unwrap_err().kind(), FailureKind::Transient);
    sandbox.faults().set(FaultConfig::default());
    sandbox.faults().start_outage(std::time::Duration::from_secs(30));
    assert_eq!(client.get_order(&missing).await.unwrap_err().kind(), FailureKind::Transient);
    sandbox.faults().end_outage();
    // Invalid input is refused before a request is spent.
    let before = sandbox.stats().requests.load(Ordering::Relaxed);
    let bad = SearchOrdersRequest { marketplace_ids: client.config().marketplace_ids.clone(), ..Default::default() };
    let failure = client.search_orders(&bad).await.unwrap_err();
    assert!(failure.message().contains("createdAfter"), "{failure}");
    assert_eq!(sandbox.stats().requests.load(Ordering::Relaxed), before);
}

#[tokio::test]
async fn lwa_tokens_are_cached_refreshed_once_on_403_then_auth_fails() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let ids = sandbox.seed_orders(3, 0.0);
    let request = GetOrderRequest { order_id: ids[0].clone(), included_data: vec![] };
    for _ in 0..3 {
        client.get_order(&request).await.expect("getOrder");
    }
    assert_eq!(sandbox.stats().lwa_requests.load(Ordering::Relaxed), 1, "one token for many calls");

    // The token expires early (revoked): one refresh, the call succeeds.
    sandbox.expire_tokens();
    client.get_order(&request).await.expect("refreshed");
    assert_eq!(sandbox.stats().lwa_requests.load(Ordering::Relaxed), 2);

    // Tokens that are dead on arrival: refresh once, then an auth failure (no loop).
    sandbox.set_token_lifetime(std::time::Duration::ZERO);
    sandbox.expire_tokens();
    let failure = client.get_order(&request).await.unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Auth, "{failure}");
    assert_eq!(sandbox.stats().lwa_requests.load(Ordering::Relaxed), 3);

    // A wrong refresh token is an auth failure naming LWA's error, without the secret.
    let mut bad = client_for(&sandbox, 100_000.0).config().clone();
    bad.credentials.refresh_token = ferry_store::secrets::SecretValue::new("Atzr|wrong-and-secret");
    let bad = ferry_connectors::amazon::AmazonClient::new(bad).unwrap();
    let failure = bad.get_order(&request).await.unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Auth);
    assert!(failure.message().contains("invalid_grant"), "{failure}");
    assert!(!failure.message().contains("wrong-and-secret"));

    // The grantless grant gets its own token with a scope.
    let token =
        client.auth().access_token(&Grant::Grantless { scope: "sellingpartnerapi::notifications".into() }).await;
    assert!(token.is_ok());
}

#[tokio::test]
async fn tokens_are_refreshed_ahead_of_expiry_without_a_rejected_call() {
    let (sandbox, client) = sandbox_and_client(100_000.0).await;
    let ids = sandbox.seed_orders(1, 0.0);
    // Two-second tokens: the cache renews at half-life (its refresh-ahead margin is longer).
    sandbox.set_token_lifetime(std::time::Duration::from_secs(2));
    let request = GetOrderRequest { order_id: ids[0].clone(), included_data: vec![] };
    client.get_order(&request).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    client.get_order(&request).await.unwrap();
    assert_eq!(sandbox.stats().lwa_requests.load(Ordering::Relaxed), 2, "renewed before it expired");
    assert_eq!(sandbox.stats().requests.load(Ordering::Relaxed), 2, "no call was refused and retried");
}

#[tokio::test]
async fn credentials_come_from_the_encrypted_secrets_store() {
    use ferry_connectors::amazon::LwaCredentials;
    use ferry_connectors::amazon::auth::CredentialsError;
    use ferry_store::secrets::{MasterKey, SecretValue};
    use ferry_store::{SqliteStore, Store};

    let (sandbox, _) = sandbox_and_client(100_000.0).await;
    let dir = ferry_store::testing::TempDir::new("ferry-amazon-secrets").unwrap();
    let store = SqliteStore::open(&dir.path().join("ferry.db").to_string_lossy()).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = ferry_model::TenantId::new("acme").unwrap();
    store.ensure_tenant(&tenant, "Acme").await.unwrap();
    let key = MasterKey::from_bytes(&[7u8; 32]);
    let missing = LwaCredentials::from_store(&store, &key, &tenant, "amazon").await.unwrap_err();
    assert!(matches!(missing, CredentialsError::Missing { .. }));
    assert_eq!(missing.to_string(), "secret amazon.client_id of tenant acme is missing");
    let c = sandbox.config().clone();
    for (name, value) in [
        ("amazon.client_id", &c.client_id),
        ("amazon.client_secret", &c.client_secret),
        ("amazon.refresh_token", &c.refresh_token),
    ] {
        store.put_secret(&key.seal(&tenant, name, &SecretValue::new(value.clone())).unwrap(), "test").await.unwrap();
    }
    let credentials = LwaCredentials::from_store(&store, &key, &tenant, "amazon").await.unwrap();
    assert!(!format!("{credentials:?}").contains(&c.client_secret), "secrets redacted in Debug");
    let mut config = client_for(&sandbox, 100_000.0).config().clone();
    config.credentials = credentials;
    let client = ferry_connectors::amazon::AmazonClient::new(config).unwrap();
    let ids = sandbox.seed_orders(1, 0.0);
    client.get_order(&GetOrderRequest { order_id: ids[0].clone(), included_data: vec![] }).await.expect("authorized");
}

#[test]
fn query_values_are_form_encoded_and_decode_back_unchanged() {
    use ferry_connectors::amazon::client::HttpRequest;
    let values = [
        ("CreatedAfter", "2026-01-01T00:00:00+01:00"),
        ("MarketplaceIds", "ATVPDKIKX0DER,A2EUQ1WTGCTBG2"),
        ("q", "a b&c=d/é"),
    ];
    let mut request = HttpRequest::get("/orders/v0/orders".into());
    for (name, value) in values {
        request = request.param(name, Some(value));
    }
    let encoded = request.path_and_query();
    let (path, query) = encoded.split_once('?').expect("a query");
    assert_eq!(path, "/orders/v0/orders");
    assert!(query.starts_with("CreatedAfter=2026-01-01T00%3A00%3A00%2B01%3A00&"), "{query}");
    let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let expected: Vec<(String, String)> = values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(decoded, expected);
}
