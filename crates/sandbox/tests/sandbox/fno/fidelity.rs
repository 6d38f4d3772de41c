//! The sandbox against the vendored F&O samples and what F&O refuses (DYNAMICS.md §B).

use ferry_sandbox::fno::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::{Value, json};

use super::support::{Api, samples};

/// (set, keys, [(name, type)]) of the vendored field list.
fn vendored_entity(set: &str) -> (Vec<String>, Vec<(String, String)>) {
    let text = std::fs::read_to_string(samples().join("fo-entity-fields.json")).expect("fo-entity-fields.json");
    let file: Value = serde_json::from_str(&text).expect("json");
    let entity = &file["entities"][set];
    let keys = entity["keys"].as_array().expect("keys").iter().map(|k| k.as_str().unwrap_or_default().to_owned());
    let props = entity["properties"].as_array().expect("properties").iter().map(|p| {
        (p["name"].as_str().unwrap_or_default().to_owned(), p["type"].as_str().unwrap_or_default().to_owned())
    });
    (keys.collect(), props.collect())
}

const SERVED: [&str; 10] = [
    "SalesOrderHeadersV2",
    "SalesOrderLines",
    "CustomersV3",
    "ReleasedProductsV2",
    "WarehousesOnHandV2",
    "InventorySitesOnHandV2",
    "ReturnOrderHeaders",
    "ReturnOrderLines",
    "LedgerJournalHeaders",
    "LedgerJournalLines",
];

#[tokio::test]
async fn fno_token_endpoint_takes_v2_scope_and_v1_resource_and_refuses_others() {
    let api = Api::start().await;
    let base = api.sandbox.base_url();
    let creds = [
        ("grant_type", "client_credentials"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
    ];
    let with = |extra: (&'static str, String)| {
        let mut pairs: Vec<(&str, String)> = creds.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        pairs.push(extra);
        pairs
    };
    let call = |url: String, pairs: Vec<(&'static str, String)>| {
        let http = api.http.clone();
        async move {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Api::token_call(&http, &url, &refs).await
        }
    };
    let (status, v2) = call(api.sandbox.token_url(), with(("scope", format!("{base}/.default")))).await;
    assert_eq!(status, 200, "{v2}");
    let (status, v1) = call(api.sandbox.token_url_v1(), with(("resource", base.clone()))).await;
    assert_eq!(status, 200, "{v1}");
    // Both tokens open /data/.
    for token in [&v2["access_token"], &v1["access_token"]] {
        let r = api
            .http
            .get(format!("{}/CustomersV3", api.sandbox.data_url()))
            .bearer_auth(token.as_str().unwrap_or_default())
            .send()
            .await
            .expect("call");
        assert_eq!(r.status().as_u16(), 200);
    }
    let (status, body) =
        call(api.sandbox.token_url(), with(("scope", "https://other.operations.dynamics.com/.default".into()))).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (status, body) =
        call(api.sandbox.token_url_v1(), with(("resource", "https://other.operations.dynamics.com".into()))).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_resource")), "{body}");
    assert!(body["error_description"].as_str().unwrap_or_default().starts_with("AADSTS500011"), "{body}");
    let (status, body) =
        call(api.sandbox.token_url_v1(), creds.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    // A v1 form sent to the v2 endpoint names no scope: refused.
    let (status, body) = call(api.sandbox.token_url(), with(("resource", base.clone()))).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn fno_every_vendored_field_is_served_and_a_customer_with_all_of_them_is_accepted() {
    let api = Api::start().await;
    // Rows of the entities the demo data does not seed.
    let so = api.create("SalesOrderHeadersV2", json!({"OrderingCustomerAccountNumber": "US-001"})).await;
    let number = so["SalesOrderNumber"].as_str().expect("number").to_owned();
    api.create(
        "SalesOrderLines",
        json!({"SalesOrderNumber": number, "ItemNumber": "A0001", "OrderedSalesQuantity": 2}),
    )
    .await;
    let ret = api.create("ReturnOrderHeaders", json!({"CustomerAccountNumber": "US-002"})).await;
    api.create(
        "ReturnOrderLines",
        json!({"ReturnOrderNumber": ret["ReturnOrderNumber"], "ItemNumber": "D0001", "ReturnSalesQuantity": -1}),
    )
    .await;
    let j = api.create("LedgerJournalHeaders", json!({"JournalName": "GenJrn"})).await;
    api.create("LedgerJournalLines", json!({"JournalBatchNumber": j["JournalBatchNumber"], "AccountType": "Ledger", "AccountDisplayValue": "401100", "CreditAmount": 10})).await;
    for set in SERVED {
        let (keys, props) = vendored_entity(set);
        let r = api.query(set, &[("$top", "1")]).await;
        assert_eq!(r.status, 200, "{set}: {}", r.body);
        let rows = r.values();
        let row = rows.first().unwrap_or_else(|| panic!("{set} has a row"));
        for (name, _) in &props {
            assert!(row.get(name).is_some(), "{set} lacks the vendored property {name}");
        }
        for key in keys {
            assert!(row[&key].is_string() || row[&key].is_number(), "{set}: key {key} is filled: {row}");
        }
    }
    // Every CustomersV3 property set at once is accepted and comes back.
    let (_, props) = vendored_entity("CustomersV3");
    let mut body = serde_json::Map::new();
    for (name, ty) in &props {
        let value = match ty.as_str() {
            "Edm.String" => json!(format!("v-{name}")),
            "Edm.Decimal" => json!(12.5),
            "Edm.Int32" | "Edm.Int64" => json!(3),
            "Edm.DateTimeOffset" => json!("2026-05-01T10:00:00Z"),
            "NoYes" => json!("Yes"),
            _ => json!("Member"),
        };
        body.insert(name.clone(), value);
    }
    body.insert("dataAreaId".into(), json!("usmf"));
    body.insert("CustomerAccount".into(), json!("US-900"));
    body.insert("CustomerGroupId".into(), json!("10"));
    let created = api.create("CustomersV3", Value::Object(body.clone())).await;
    let back = api.get("CustomersV3(dataAreaId='usmf',CustomerAccount='US-900')").await.json();
    for (name, value) in &body {
        assert_eq!(&back[name], value, "CustomersV3.{name} round-trips");
        assert_eq!(&created[name], value, "the created entity carries {name}");
    }
}

#[tokio::test]
async fn fno_metadata_carries_every_customer_v3_property_and_every_served_set() {
    let api = Api::start().await;
    let r = api.get("$metadata").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap_or_default().contains("xml"));
    let ours = r.body;
    assert!(ours.contains("<Schema Namespace=\"Microsoft.Dynamics.DataEntities\""), "namespace");
    let entity = |xml: &str, name: &str| -> String {
        let start = xml.find(&format!("<EntityType Name=\"{name}\"")).unwrap_or_else(|| panic!("{name} in metadata"));
        let end = xml[start..].find("</EntityType>").map_or(xml.len(), |e| start + e);
        xml[start..end].to_owned()
    };
    let ours_customer = entity(&ours, "CustomerV3");
    // Every property of the vendored field list, EDM types as they are, enums under the real
    // type names F&O's CSDL gives (the list's generator re-cased some: DYNAMICS.md §B.4).
    let (_, properties) = vendored_entity("CustomersV3");
    let mut checked = 0;
    for (name, ty) in &properties {
        let declared = if ty.starts_with("Edm.") {
            format!("<Property Name=\"{name}\" Type=\"{ty}\"")
        } else {
            format!("<Property Name=\"{name}\" Type=\"Microsoft.Dynamics.DataEntities.")
        };
        assert!(ours_customer.contains(&declared), "CustomerV3.{name} ({ty}) is in our $metadata");
        checked += 1;
    }
    for real in ["EFDocPresenceType_BR", "ABC", "PANStatus_IN", "MCRSOAllocPriority"] {
        assert!(
            ours_customer.contains(&format!("Type=\"Microsoft.Dynamics.DataEntities.{real}\"")),
            "enum {real} under its real name"
        );
    }
    assert_eq!(checked, 305, "the field list's properties were all checked");
    assert!(
        ours_customer.contains("<PropertyRef Name=\"dataAreaId\" />")
            && ours_customer.contains("<PropertyRef Name=\"CustomerAccount\" />")
    );
    assert!(ours.contains("<EnumType Name=\"NoYes\">") && ours.contains("<Member Name=\"Yes\" Value=\"1\" />"));
    assert!(ours.contains("<Member Name=\"Bank\" Value=\"6\" />"), "LedgerJournalAcType values from the reference");
    for set in SERVED {
        assert!(ours.contains(&format!("<EntitySet Name=\"{set}\"")), "{set} in the container");
    }
    assert!(
        ours.contains("<EntitySet Name=\"CustomersV3\" EntityType=\"Microsoft.Dynamics.DataEntities.CustomerV3\">")
    );
}

#[tokio::test]
async fn fno_refuses_what_fno_refuses() {
    let api = Api::start().await;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 7] = [
        (
            "SalesOrderHeadersV2",
            &[("$filter", "SalesOrderNumber in ('SO-1','SO-2')")],
            "operator 'in' is not supported",
        ),
        (
            "SalesOrderHeadersV2",
            &[("$filter", "SalesOrderStatus has Microsoft.Dynamics.DataEntities.SalesStatus'Backorder'")],
            "operator 'has' is not supported",
        ),
        ("CustomersV3", &[("$filter", "contains(OrganizationName,'Retail')")], "wildcard"),
        (
            "SalesOrderHeadersV2",
            &[("$filter", "SalesOrderStatus gt Microsoft.Dynamics.DataEntities.SalesStatus'None'")],
            "only eq and ne",
        ),
        ("SalesOrderHeadersV2", &[("$expand", "SalesOrderLines($expand=SalesOrderHeader)")], "first-level"),
        ("SalesOrderHeadersV2", &[("$expand", "SalesOrderLines/SalesOrderHeader")], "first-level"),
        ("SalesOrderHeadersV2", &[("$filter", "SalesOrderStatus eq 'Backorder'")], "incompatible types"),
    ];
    for (set, options, expected) in cases {
        let r = api.query(set, options).await;
        assert_eq!(r.status, 400, "{options:?}: {}", r.body);
        let message = r.inner_error();
        assert!(message.contains(expected), "{options:?}: '{message}' should say '{expected}'");
    }
    // A key without dataAreaId (or with a field missing) is refused, naming the key.
    for path in [
        "SalesOrderHeadersV2(SalesOrderNumber='SO-1')",
        "SalesOrderHeadersV2('SO-1')",
        "CustomersV3(CustomerAccount='US-001')",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        let message = r.inner_error();
        assert!(
            message.contains("does not match number of key properties") && message.contains("dataAreaId"),
            "{path}: {message}"
        );
    }
    // PATCH on a collection, as in the one error body the reference quotes.
    let r = api.patch("CustomersV3", &json!({"NameAlias": "x"})).await;
    assert_eq!(r.status, 400);
    assert!(r.inner_error().starts_with("More than one resource"));
    // Unknown properties and sets.
    let r = api.post("CustomersV3", &json!({"CustomerGroupId": "10", "Nope": 1})).await;
    assert!(
        r.inner_error()
            .contains("The property 'Nope' does not exist on type 'Microsoft.Dynamics.DataEntities.CustomerV3'")
    );
    let r = api.get("SalesOrders").await;
    assert_eq!(r.status, 404);
    assert!(r.inner_error().contains("'SalesOrders'"));
    // The on-hand entities are read-only.
    let r = api.post("WarehousesOnHandV2", &json!({"ItemNumber": "A0001"})).await;
    assert_eq!(r.status, 405, "{}", r.body);
}

#[tokio::test]
async fn fno_filter_dialect_wildcards_enums_grouping_and_options() {
    let api = Api::start().await;
    let names = |r: &super::support::Resp, field: &str| -> Vec<String> {
        r.values().iter().map(|v| v[field].as_str().unwrap_or_default().to_owned()).collect()
    };
    let r = api
        .query(
            "CustomersV3",
            &[("$filter", "OrganizationName eq '*retail*'"), ("$select", "CustomerAccount,OrganizationName")],
        )
        .await;
    assert_eq!(names(&r, "CustomerAccount"), ["US-001", "US-002"], "{}", r.body);
    assert_eq!(r.values()[0].as_object().map(|o| o.len()), Some(3), "$select keeps two fields and the etag");
    let r = api
        .query(
            "CustomersV3",
            &[
                (
                    "$filter",
                    "not (CustomerGroupId eq '30') and (CustomerAccount eq 'US-003' or CustomerAccount eq 'US-004')",
                ),
                ("$orderby", "CustomerAccount desc"),
                ("$count", "true"),
            ],
        )
        .await;
    assert_eq!(names(&r, "CustomerAccount"), ["US-004", "US-003"]);
    assert_eq!(r.json()["@odata.count"], 2);
    let r = api
        .query(
            "ReleasedProductsV2",
            &[("$filter", "SalesPrice gt 200 and SalesPrice le 499"), ("$orderby", "SalesPrice")],
        )
        .await;
    assert_eq!(names(&r, "ItemNumber"), ["D0001", "M0001", "D0002"]);
    let so = api.create("SalesOrderHeadersV2", json!({"OrderingCustomerAccountNumber": "US-003"})).await;
    assert_eq!(so["SalesOrderStatus"], "Backorder", "enums are strings in JSON");
    let r = api
        .query(
            "SalesOrderHeadersV2",
            &[("$filter", "SalesOrderStatus eq Microsoft.Dynamics.DataEntities.SalesStatus'Backorder'")],
        )
        .await;
    assert_eq!(names(&r, "SalesOrderNumber"), [so["SalesOrderNumber"].as_str().unwrap_or_default()]);
    let r = api
        .query(
            "SalesOrderHeadersV2",
            &[("$filter", "SalesOrderStatus ne Microsoft.Dynamics.DataEntities.SalesStatus'Backorder'")],
        )
        .await;
    assert!(r.values().is_empty());
    let r = api
        .query(
            "SalesOrderHeadersV2",
            &[("$filter", "SalesOrderStatus eq Microsoft.Dynamics.DataEntities.SalesStatus'Shipped'")],
        )
        .await;
    assert!(r.inner_error().contains("not a valid enumerated type constant"));
    let r = api.query("CustomersV3", &[("$top", "2"), ("$skip", "1"), ("$select", "CustomerAccount")]).await;
    assert_eq!(names(&r, "CustomerAccount"), ["US-002", "US-003"]);
    // The reference's own examples (DYNAMICS.md §B.1–B.2).
    let r = api
        .query("CustomersV3", &[("$filter", "PersonGender eq Microsoft.Dynamics.DataEntities.Gender'Unknown'")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .query(
            "CustomersV3",
            &[("$filter", "dataAreaId eq 'demf'"), ("cross-company", "true"), ("$select", "CustomerAccount")],
        )
        .await;
    assert_eq!(names(&r, "CustomerAccount"), ["DE-001", "DE-002"]);
    let r = api.get("CustomersV3/$count").await;
    assert_eq!(r.body, "4", "four usmf customers in the demo data");
}

#[tokio::test]
async fn fno_company_scoping_default_company_and_cross_company() {
    let api = Api::start().await;
    let companies = |r: &super::support::Resp| -> Vec<String> {
        let mut c: Vec<String> =
            r.values().iter().map(|v| v["dataAreaId"].as_str().unwrap_or_default().to_owned()).collect();
        c.dedup();
        c
    };
    let r = api.query("CustomersV3", &[]).await;
    assert_eq!(companies(&r), ["usmf"]);
    let r = api.query("CustomersV3", &[("cross-company", "true")]).await;
    assert_eq!(companies(&r), ["demf", "usmf"]);
    let r = api.query("CustomersV3", &[("$filter", "dataAreaId eq 'demf'"), ("cross-company", "true")]).await;
    assert_eq!(r.values().len(), 2);
    // Another company's row by key is not found without cross-company.
    let path = "CustomersV3(dataAreaId='demf',CustomerAccount='DE-001')";
    let r = api.get(path).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.inner_error().contains("DE-001"));
    let r = api.get(&format!("{path}?cross-company=true")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["SalesCurrencyCode"], "EUR");
    let r = api.patch(path, &json!({"NameAlias": "x"})).await;
    assert_eq!(r.status, 404);
    // Company isolation: a demf order cannot use a usmf-only customer.
    let r = api
        .post("SalesOrderHeadersV2", &json!({"dataAreaId": "demf", "OrderingCustomerAccountNumber": "US-001"}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.inner_error().contains("US-001 does not exist in company demf"));
    let de = api
        .create("SalesOrderHeadersV2", json!({"dataAreaId": "demf", "OrderingCustomerAccountNumber": "DE-001"}))
        .await;
    assert_eq!((de["CurrencyCode"].as_str(), de["dataAreaId"].as_str()), (Some("EUR"), Some("demf")));
    // Number sequences are per company.
    let us = api.create("SalesOrderHeadersV2", json!({"OrderingCustomerAccountNumber": "US-001"})).await;
    assert_eq!(
        (de["SalesOrderNumber"].as_str(), us["SalesOrderNumber"].as_str()),
        (Some("SO-000001"), Some("SO-000001"))
    );
}
