//! Amazon's static sandbox examples (`x-amzn-api-sandbox.static` in the models): for every
//! operation the connector implements, each example response deserialises into the
//! connector's types and re-serialises without losing a field, and the connector's request
//! for the example's parameters is the example's request.

use ferry_connectors::amazon::client::feeds::{
    create_feed_document_request, create_feed_request, get_feed_document_request, get_feed_request,
};
use ferry_connectors::amazon::client::finances::EventsQuery;
use ferry_connectors::amazon::client::listings::{get_listings_item_request, write_request};
use ferry_connectors::amazon::client::notifications_api::{
    create_destination_request, create_subscription_request, get_subscription_request,
};
use ferry_connectors::amazon::client::orders::{GetOrderRequest, IncludedData, SearchOrdersRequest};
use ferry_connectors::amazon::client::orders_v0::{
    self, GetOrdersRequest, confirm_shipment_request, get_order_address_request, get_order_buyer_info_request,
    get_order_items_request, get_order_request,
};
use ferry_connectors::amazon::client::reports::{
    create_report_request, get_report_document_request, get_report_request,
};
use ferry_connectors::amazon::errors::ErrorList;
use ferry_connectors::amazon::models::feeds as fd;
use ferry_connectors::amazon::models::finances as fin;
use ferry_connectors::amazon::models::listings as li;
use ferry_connectors::amazon::models::notifications_api as na;
use ferry_connectors::amazon::models::orders as o26;
use ferry_connectors::amazon::models::orders_v0 as v0;
use ferry_connectors::amazon::models::reports as rep;
use ferry_connectors::amazon::models::tokens as tok;
use ferry_connectors::amazon::rdt::create_rdt_request;
use ferry_connectors::amazon::{HttpRequest, client::encode_component};
use ferry_model::{AmazonMarketplaceId, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::spapi_reference;

type Params = Map<String, Value>;

fn value<'a>(params: &'a Params, name: &str) -> Option<&'a Value> {
    params.get(name).map(|p| &p["value"])
}

fn text(params: &Params, name: &str) -> Option<String> {
    value(params, name).and_then(Value::as_str).map(str::to_owned)
}

fn list(params: &Params, name: &str) -> Vec<String> {
    value(params, name)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn time(params: &Params, name: &str) -> Result<Option<Timestamp>, String> {
    text(params, name)
        .map(|t| {
            t.parse::<Timestamp>().map_err(|_| format!("{name}={t} is not a date-time; the typed request refuses it"))
        })
        .transpose()
}

fn marketplaces(params: &Params, name: &str) -> Result<Vec<AmazonMarketplaceId>, String> {
    list(params, name).into_iter().map(|m| AmazonMarketplaceId::new(m).map_err(|e| e.to_string())).collect()
}

/// A required parameter, or why the example cannot be built (some of Amazon's examples
/// leave required parameters out, since its sandbox matches on the ones given).
fn required(params: &Params, name: &str) -> Result<String, String> {
    text(params, name).ok_or_else(|| format!("example omits required parameter {name}"))
}

fn body<T: serde::de::DeserializeOwned>(params: &Params) -> Result<T, String> {
    let value = value(params, "body").cloned().ok_or("example omits required parameter body")?;
    serde_json::from_value(value).map_err(|e| format!("body: {e}"))
}

fn listing_write(method: &'static str, p: &Params) -> Result<HttpRequest, String> {
    let marketplaces = list(p, "marketplaceIds");
    let marketplaces: Vec<&str> = marketplaces.iter().map(String::as_str).collect();
    let validate = text(p, "mode").as_deref() == Some("VALIDATION_PREVIEW");
    let body_value = value(p, "body").cloned().ok_or("example omits required parameter body")?;
    Ok(write_request(method, &required(p, "sellerId")?, &required(p, "sku")?, &marketplaces, validate, body_value))
}

fn included(params: &Params) -> Vec<IncludedData> {
    list(params, "includedData").iter().filter_map(|d| IncludedData::parse(d)).collect()
}

/// The connector's request for an example's parameters; `Err` when the typed request
/// cannot represent them (Amazon's placeholders such as `CreatedAfter=TEST_CASE_200`).
type Build = fn(&Params) -> Result<HttpRequest, String>;

/// A response body's round trip through the connector's type.
type RoundTrip = fn(&Value) -> Result<Value, String>;

fn round_trip<T: DeserializeOwned + Serialize>(body: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(body.clone()).map_err(|e| format!("does not deserialise: {e}"))?;
    serde_json::to_value(&typed).map_err(|e| format!("does not serialise: {e}"))
}

struct Operation {
    api: &'static str,
    path: &'static str,
    method: &'static str,
    build: Build,
    ok: RoundTrip,
    error: RoundTrip,
}

fn operations() -> Vec<Operation> {
    vec![
        Operation {
            api: "orders_2026-01-01",
            path: "/orders/2026-01-01/orders",
            method: "get",
            build: |p| {
                Ok(SearchOrdersRequest {
                    created_after: time(p, "createdAfter")?,
                    created_before: time(p, "createdBefore")?,
                    last_updated_after: time(p, "lastUpdatedAfter")?,
                    last_updated_before: time(p, "lastUpdatedBefore")?,
                    fulfillment_statuses: list(p, "fulfillmentStatuses"),
                    marketplace_ids: marketplaces(p, "marketplaceIds")?,
                    fulfilled_by: list(p, "fulfilledBy"),
                    max_results_per_page: value(p, "maxResultsPerPage").and_then(Value::as_u64).map(|n| n as u32),
                    pagination_token: text(p, "paginationToken"),
                    included_data: included(p),
                }
                .to_http())
            },
            ok: round_trip::<o26::SearchOrdersResponse>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "orders_2026-01-01",
            path: "/orders/2026-01-01/orders/{orderId}",
            method: "get",
            build: |p| {
                let order_id = text(p, "orderId").ok_or("orderId missing")?;
                Ok(GetOrderRequest { order_id, included_data: included(p) }.to_http())
            },
            ok: round_trip::<o26::GetOrderResponse>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "ordersV0",
            path: "/orders/v0/orders",
            method: "get",
            build: |p| {
                Ok(GetOrdersRequest {
                    marketplace_ids: marketplaces(p, "MarketplaceIds")?,
                    created_after: time(p, "CreatedAfter")?,
                    created_before: time(p, "CreatedBefore")?,
                    last_updated_after: time(p, "LastUpdatedAfter")?,
                    last_updated_before: time(p, "LastUpdatedBefore")?,
                    order_statuses: list(p, "OrderStatuses"),
                    max_results_per_page: value(p, "MaxResultsPerPage").and_then(Value::as_u64).map(|n| n as u32),
                    next_token: text(p, "NextToken"),
                }
                .to_http())
            },
            ok: round_trip::<v0::Response<v0::OrdersList>>,
            error: round_trip::<v0::Response<v0::OrdersList>>,
        },
        Operation {
            api: "ordersV0",
            path: "/orders/v0/orders/{orderId}",
            method: "get",
            build: |p| Ok(get_order_request(&text(p, "orderId").ok_or("orderId missing")?)),
            ok: round_trip::<v0::Response<v0::Order>>,
            error: round_trip::<v0::Response<v0::Order>>,
        },
        Operation {
            api: "ordersV0",
            path: "/orders/v0/orders/{orderId}/orderItems",
            method: "get",
            build: |p| {
                Ok(get_order_items_request(
                    &text(p, "orderId").ok_or("orderId missing")?,
                    text(p, "NextToken").as_deref(),
                ))
            },
            ok: round_trip::<v0::Response<v0::OrderItemsList>>,
            error: round_trip::<v0::Response<v0::OrderItemsList>>,
        },
        Operation {
            api: "ordersV0",
            path: "/orders/v0/orders/{orderId}/address",
            method: "get",
            build: |p| Ok(get_order_address_request(&text(p, "orderId").ok_or("orderId missing")?)),
            ok: round_trip::<v0::Response<v0::OrderAddress>>,
            error: round_trip::<v0::Response<v0::OrderAddress>>,
        },
        Operation {
            api: "ordersV0",
            path: "/orders/v0/orders/{orderId}/buyerInfo",
            method: "get",
            build: |p| Ok(get_order_buyer_info_request(&text(p, "orderId").ok_or("orderId missing")?)),
            ok: round_trip::<v0::Response<v0::OrderBuyerInfo>>,
            error: round_trip::<v0::Response<v0::OrderBuyerInfo>>,
        },
        Operation {
            api: "ordersV0",
            path: "/orders/v0/orders/{orderId}/shipmentConfirmation",
            method: "post",
            build: |p| {
                let body: v0::ConfirmShipmentRequest =
                    serde_json::from_value(value(p, "body").cloned().ok_or("body missing")?)
                        .map_err(|e| format!("body: {e}"))?;
                confirm_shipment_request(&text(p, "orderId").ok_or("orderId missing")?, &body)
                    .map_err(|e| e.to_string())
            },
            ok: |body| Ok(body.clone()),
            error: round_trip::<v0::Response<Value>>,
        },
        Operation {
            api: "ordersV0",
            path: "/orders/v0/orders/{orderId}/shipment",
            method: "post",
            build: |p| {
                let body = value(p, "body").cloned().ok_or("example omits required parameter body")?;
                Ok(orders_v0::update_shipment_status_request(&required(p, "orderId")?, body))
            },
            ok: |body| Ok(body.clone()),
            error: round_trip::<v0::Response<Value>>,
        },
        Operation {
            api: "reports_2021-06-30",
            path: "/reports/2021-06-30/reports",
            method: "post",
            build: |p| {
                let spec: rep::CreateReportSpecification =
                    serde_json::from_value(value(p, "body").cloned().ok_or("body missing")?)
                        .map_err(|e| format!("body: {e}"))?;
                create_report_request(&spec).map_err(|e| e.to_string())
            },
            ok: round_trip::<rep::CreateReportResponse>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "reports_2021-06-30",
            path: "/reports/2021-06-30/reports/{reportId}",
            method: "get",
            build: |p| Ok(get_report_request(&text(p, "reportId").ok_or("reportId missing")?)),
            ok: round_trip::<rep::Report>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "reports_2021-06-30",
            path: "/reports/2021-06-30/documents/{reportDocumentId}",
            method: "get",
            build: |p| Ok(get_report_document_request(&text(p, "reportDocumentId").ok_or("reportDocumentId missing")?)),
            ok: round_trip::<rep::ReportDocument>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "financesV0",
            path: "/finances/v0/financialEvents",
            method: "get",
            build: |p| {
                let query = EventsQuery::Posted { after: time(p, "PostedAfter")?, before: time(p, "PostedBefore")? };
                let max = value(p, "MaxResultsPerPage").and_then(Value::as_u64).map(|n| n as u32);
                Ok(query.to_http(max, text(p, "NextToken").as_deref()).1)
            },
            ok: round_trip::<fin::ListFinancialEventsResponse>,
            error: round_trip::<fin::ListFinancialEventsResponse>,
        },
        Operation {
            api: "financesV0",
            path: "/finances/v0/orders/{orderId}/financialEvents",
            method: "get",
            build: |p| {
                let query = EventsQuery::Order(text(p, "orderId").ok_or("orderId missing")?);
                let max = value(p, "MaxResultsPerPage").and_then(Value::as_u64).map(|n| n as u32);
                Ok(query.to_http(max, text(p, "NextToken").as_deref()).1)
            },
            ok: round_trip::<fin::ListFinancialEventsResponse>,
            error: round_trip::<fin::ListFinancialEventsResponse>,
        },
        Operation {
            api: "listingsItems_2021-08-01",
            path: "/listings/2021-08-01/items/{sellerId}/{sku}",
            method: "get",
            build: |p| {
                let marketplaces = list(p, "marketplaceIds");
                let included = list(p, "includedData");
                let m: Vec<&str> = marketplaces.iter().map(String::as_str).collect();
                let i: Vec<&str> = included.iter().map(String::as_str).collect();
                Ok(get_listings_item_request(&required(p, "sellerId")?, &required(p, "sku")?, &m, &i))
            },
            ok: round_trip::<li::Item>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "listingsItems_2021-08-01",
            path: "/listings/2021-08-01/items/{sellerId}/{sku}",
            method: "put",
            build: |p| listing_write("PUT", p),
            ok: round_trip::<li::ListingsItemSubmissionResponse>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "listingsItems_2021-08-01",
            path: "/listings/2021-08-01/items/{sellerId}/{sku}",
            method: "patch",
            build: |p| listing_write("PATCH", p),
            ok: round_trip::<li::ListingsItemSubmissionResponse>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "feeds_2021-06-30",
            path: "/feeds/2021-06-30/documents",
            method: "post",
            build: |p| {
                create_feed_document_request(&body::<fd::CreateFeedDocumentSpecification>(p)?)
                    .map_err(|e| e.to_string())
            },
            ok: round_trip::<fd::CreateFeedDocumentResponse>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "feeds_2021-06-30",
            path: "/feeds/2021-06-30/feeds",
            method: "post",
            build: |p| create_feed_request(&body::<fd::CreateFeedSpecification>(p)?).map_err(|e| e.to_string()),
            ok: round_trip::<fd::CreateFeedResponse>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "feeds_2021-06-30",
            path: "/feeds/2021-06-30/feeds/{feedId}",
            method: "get",
            build: |p| Ok(get_feed_request(&required(p, "feedId")?)),
            ok: round_trip::<fd::Feed>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "feeds_2021-06-30",
            path: "/feeds/2021-06-30/documents/{feedDocumentId}",
            method: "get",
            build: |p| Ok(get_feed_document_request(&required(p, "feedDocumentId")?)),
            ok: round_trip::<fd::FeedDocument>,
            error: round_trip::<ErrorList>,
        },
        Operation {
            api: "notifications",
            path: "/notifications/v1/destinations",
            method: "post",
            build: |p| {
                Ok(create_destination_request(
                    value(p, "body").cloned().ok_or("example omits required parameter body")?,
                ))
            },
            ok: round_trip::<na::Response<na::Destination>>,
            error: round_trip::<na::Response<na::Destination>>,
        },
        Operation {
            api: "notifications",
            path: "/notifications/v1/destinations",
            method: "get",
            build: |_| Ok(HttpRequest::get("/notifications/v1/destinations".into())),
            ok: round_trip::<na::Response<Vec<na::Destination>>>,
            error: round_trip::<na::Response<Vec<na::Destination>>>,
        },
        Operation {
            api: "notifications",
            path: "/notifications/v1/subscriptions/{notificationType}",
            method: "post",
            build: |p| {
                let kind = required(p, "notificationType")?;
                Ok(create_subscription_request(
                    &kind,
                    value(p, "body").cloned().ok_or("example omits required parameter body")?,
                ))
            },
            ok: round_trip::<na::Response<na::Subscription>>,
            error: round_trip::<na::Response<na::Subscription>>,
        },
        Operation {
            api: "notifications",
            path: "/notifications/v1/subscriptions/{notificationType}",
            method: "get",
            build: |p| Ok(get_subscription_request(&required(p, "notificationType")?)),
            ok: round_trip::<na::Response<na::Subscription>>,
            error: round_trip::<na::Response<na::Subscription>>,
        },
        Operation {
            api: "tokens_2021-03-01",
            path: "/tokens/2021-03-01/restrictedDataToken",
            method: "post",
            build: |p| {
                create_rdt_request(&body::<tok::CreateRestrictedDataTokenRequest>(p)?).map_err(|e| e.to_string())
            },
            ok: round_trip::<tok::CreateRestrictedDataTokenResponse>,
            error: round_trip::<ErrorList>,
        },
    ]
}

/// Compares the connector's request with an example's parameters, using the model's
/// parameter locations.
fn check_request(op: &Operation, declared: &[Value], params: &Params, request: &HttpRequest) -> Result<(), String> {
    let mut path = op.path.to_owned();
    let mut expected_query = Vec::new();
    for (name, param) in params {
        let value = &param["value"];
        let location = declared.iter().find(|d| d["name"] == name.as_str()).map(|d| d["in"].as_str().unwrap_or(""));
        match (location, name.as_str()) {
            (Some("path"), _) => {
                path = path.replace(&format!("{{{name}}}"), &encode_component(value.as_str().unwrap_or_default()))
            }
            (Some("body"), _) | (None, "body") => {
                if request.body.as_ref() != Some(value) {
                    return Err(format!("body differs: {:?} vs {value}", request.body));
                }
            }
            (Some("query"), _) => {
                let text = match value {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned).unwrap_or(i.to_string()))
                        .collect::<Vec<_>>()
                        .join(","),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                expected_query.push((name.clone(), text));
            }
            other => return Err(format!("parameter {name} has unexpected location {other:?}")),
        }
    }
    if request.method != op.method.to_uppercase() {
        return Err(format!("method {} vs {}", request.method, op.method));
    }
    if request.path != path {
        return Err(format!("path {} vs {path}", request.path));
    }
    let mut got = request.query.clone();
    got.sort();
    expected_query.sort();
    if got != expected_query {
        return Err(format!("query {got:?} vs {expected_query:?}"));
    }
    Ok(())
}

#[test]
fn static_sandbox_examples_round_trip_and_requests_match() {
    let models = spapi_reference().join("models");
    let (mut responses, mut requests, mut refused) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for op in operations() {
        let text = std::fs::read_to_string(models.join(format!("{}.json", op.api))).unwrap();
        let model: Value = serde_json::from_str(&text).unwrap();
        let item = &model["paths"][op.path];
        let operation = &item[op.method];
        assert!(operation.is_object(), "{} {} {} not in the model", op.api, op.method, op.path);
        let mut declared: Vec<Value> = item["parameters"].as_array().cloned().unwrap_or_default();
        declared.extend(operation["parameters"].as_array().cloned().unwrap_or_default());
        for (status, response) in operation["responses"].as_object().unwrap() {
            let Some(examples) = response["x-amzn-api-sandbox"]["static"].as_array() else { continue };
            for (n, example) in examples.iter().enumerate() {
                let at = format!("{} {} {} [{status}] example {n}", op.api, op.method, op.path);
                if let Some(body) = example.get("response") {
                    let trip = if status.starts_with('2') { (op.ok)(body) } else { (op.error)(body) };
                    match trip {
                        Ok(back) if &back == body => responses += 1,
                        Ok(back) => failures.push(format!("{at}: lost or changed fields:\n  {body}\n  {back}")),
                        Err(e) => failures.push(format!("{at}: {e}")),
                    }
                }
                let params = example["request"]["parameters"].as_object().cloned().unwrap_or_default();
                match (op.build)(&params) {
                    Ok(request) => match check_request(&op, &declared, &params, &request) {
                        Ok(()) => requests += 1,
                        Err(e) => failures.push(format!("{at}: request: {e}")),
                    },
                    Err(reason) => refused.push(format!("{at}: {reason}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every example that is a well-formed request is built exactly; only Amazon's
    // placeholder dates and examples that leave out required parameters (or a body's
    // required fields, in Amazon's 400 examples) are refused by the typed request.
    let understood =
        |r: &String| r.contains("TEST_CASE") || r.contains("example omits required") || r.contains("missing field");
    assert!(refused.iter().all(understood), "{refused:#?}");
    assert!(responses >= 50 && requests >= 35, "responses {responses}, requests {requests}, refused {refused:#?}");
    eprintln!("{responses} responses and {requests} requests matched; refused: {refused:#?}");
    let _ = orders_v0::API;
}
