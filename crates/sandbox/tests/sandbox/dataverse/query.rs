//! Query options and paging.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::samples;
use super::support::{Api, json_shape};

async fn seed_contacts(api: &Api, n: usize) {
    for i in 0..n {
        api.create(
            "contacts",
            json!({"firstname": format!("First{i:02}"), "lastname": if i % 2 == 0 { "Even" } else { "O'Odd" },
                   "emailaddress1": format!("p{i}@example.com"), "numberofchildren": i, "birthdate": format!("2000-01-{:02}", i % 28 + 1)}),
        )
        .await;
    }
}

fn names(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["firstname"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn filter_grammar_select_orderby_top_and_count() {
    let api = Api::start().await;
    seed_contacts(&api, 12).await;
    let q = |filter: &str| {
        let filter = percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC).to_string();
        format!("contacts?$select=firstname&$orderby=firstname&$filter={filter}")
    };
    let cases: &[(&str, &[&str])] = &[
        ("numberofchildren ge 10", &["First10", "First11"]),
        ("numberofchildren gt 9 and lastname eq 'o''odd'", &["First11"]),
        ("numberofchildren lt 2 or numberofchildren eq 11", &["First00", "First01", "First11"]),
        ("not (numberofchildren le 9)", &["First10", "First11"]),
        ("startswith(firstname,'first1') and endswith(emailaddress1,'@EXAMPLE.com')", &["First10", "First11"]),
        ("contains(emailaddress1,'p3@') and numberofchildren ne 4", &["First03"]),
        ("birthdate ge 2000-01-11 and birthdate lt 2000-01-13T00:00:00Z", &["First10", "First11"]),
        ("telephone1 eq null and numberofchildren le 0", &["First00"]),
    ];
    for (filter, expected) in cases {
        let r = api.get(&q(filter)).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(names(&r.json()), *expected, "{filter}");
    }
    let r = api.get("contacts?$select=firstname&$orderby=numberofchildren desc&$top=3&$count=true").await.json();
    assert_eq!(names(&r), ["First11", "First10", "First09"]);
    assert_eq!(r["@odata.count"], 12);
    let row = &r["value"][0];
    let keys: HashSet<&str> = row.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(keys, HashSet::from(["@odata.etag", "firstname", "contactid"]));
    assert!(r["@odata.context"].as_str().is_some_and(|c| c.ends_with("/$metadata#contacts(firstname)")));
    // GUID literals.
    let id = r["value"][0]["contactid"].as_str().unwrap_or_default().to_uppercase();
    assert_eq!(
        names(&api.get(&format!("contacts?$select=firstname&$filter=contactid%20eq%20{id}")).await.json()),
        ["First11"]
    );
    assert_eq!(api.get("contacts/$count").await.body, "12");
    // Errors name the problem.
    let r = api.get("contacts?$filter=firstname%20eq%20'x").await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.contains("unterminated string literal"), "{}", r.body);
    let r = api.get("contacts?$skip=10").await;
    assert_eq!(r.status, 400);
    assert!(r.error().1.contains("$skip"));
}

#[tokio::test]
async fn paging_follows_next_links_in_the_reference_shape_and_returns_every_row_once() {
    let api = Api::start().await;
    seed_contacts(&api, 25).await;
    let first = api.send("GET", "contacts?$select=fullname", &[("Prefer", "odata.maxpagesize=2")], None).await;
    assert_eq!(first.header("Preference-Applied").as_deref(), Some("odata.maxpagesize=2"));
    let reference: Value = serde_json::from_str(samples::PAGING_PAGE1_RESPONSE).expect("sample");
    assert_eq!(json_shape(&first.json()), json_shape(&reference));
    let link = first.json()["@odata.nextLink"].as_str().expect("next link").to_owned();
    let expected_prefix = format!(
        "{}/contacts?$select=fullname&$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%253ccontactid%2520last%253d%2522%257b",
        api.sandbox.api_url()
    );
    assert!(link.starts_with(&expected_prefix), "{link}");
    assert!(link.ends_with("%22%20istracking=%22False%22%20/%3E"), "{link}");

    let mut seen = HashSet::new();
    let mut next = Some(format!("{}/contacts?$select=fullname", api.sandbox.api_url()));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let page = api.send_url("GET", &url, &[("Prefer", "odata.maxpagesize=10")], None).await.json();
        for row in page["value"].as_array().expect("value") {
            assert!(seen.insert(row["contactid"].as_str().expect("id").to_owned()), "row returned twice");
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!((seen.len(), pages), (25, 3));
    // Paging with an order, and a filter carried along in the link.
    let mut seen_ordered = Vec::new();
    let mut next = Some(format!(
        "{}/contacts?$select=firstname&$filter=lastname%20eq%20'Even'&$orderby=firstname%20desc",
        api.sandbox.api_url()
    ));
    while let Some(url) = next.take() {
        let page = api.send_url("GET", &url, &[("Prefer", "odata.maxpagesize=4")], None).await.json();
        seen_ordered.extend(names(&page));
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    let mut sorted = seen_ordered.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen_ordered, sorted);
    assert_eq!(seen_ordered.len(), 13);
}
