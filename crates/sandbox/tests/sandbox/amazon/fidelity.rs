//! Where third-party clients found the sandbox laxer than Amazon: getReports' `nextToken`
//! (sent alone, carrying the query), getOrders' `CreatedBefore` (at least two minutes before
//! now), report times that do not change between polls, and settlement dates written like
//! Amazon's examples.

use std::io::Read as _;

use ferry_sandbox::amazon::reports::Reserve;
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use serde_json::json;

use super::{call, start, token, urlenc};

const SETTLEMENT: &str = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2";
const INVENTORY: &str = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA";

#[tokio::test]
async fn a_reports_next_token_carries_the_query_and_must_be_sent_alone() {
    let sandbox = start(1.0).await;
    let token = token(&sandbox).await;
    let t = Some(token.as_str());
    let mut settlements = Vec::new();
    for n in 0..3 {
        settlements.push(sandbox.close_settlement(&format!("1000000000{n}")));
        // Interleave reports of another type, which a filtered listing must never show.
        let body = json!({ "reportType": INVENTORY, "marketplaceIds": ["ATVPDKIKX0DER"] });
        assert_eq!(call(&sandbox, t, "POST", "/reports/2021-06-30/reports", Some(body)).await.status, 202);
    }

    let first =
        call(&sandbox, t, "GET", &format!("/reports/2021-06-30/reports?reportTypes={SETTLEMENT}&pageSize=2"), None)
            .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let next = first.body["nextToken"].as_str().expect("a second page").to_owned();
    let second =
        call(&sandbox, t, "GET", &format!("/reports/2021-06-30/reports?nextToken={}", urlenc(&next)), None).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(second.body.get("nextToken").is_none(), "three settlements fit two pages of two");
    let mut listed: Vec<String> = first.body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["reports"].as_array().unwrap())
        .map(|r| {
            assert_eq!(r["reportType"], SETTLEMENT, "page 2 is the filtered listing too: {r}");
            r["reportId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(listed.len(), 3, "no report repeated or left out: {listed:?}");
    listed.sort();
    settlements.sort();
    assert_eq!(listed, settlements);

    // "Specifying nextToken with any other parameters will cause the request to fail."
    let with_types = format!("/reports/2021-06-30/reports?nextToken={}&reportTypes={SETTLEMENT}", urlenc(&next));
    let refused = call(&sandbox, t, "GET", &with_types, None).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["code"], "InvalidInput");
    assert!(refused.body["errors"][0]["message"].as_str().unwrap().contains("nextToken"), "{}", refused.body);
    let with_size = format!("/reports/2021-06-30/reports?pageSize=2&nextToken={}", urlenc(&next));
    assert_eq!(call(&sandbox, t, "GET", &with_size, None).await.status, 400);
    // A token the sandbox never issued (garbage, or the old offset form).
    for garbage in ["rep-2", "bm90IGEgdG9rZW4=", "%%%"] {
        let path = format!("/reports/2021-06-30/reports?nextToken={}", urlenc(garbage));
        let reply = call(&sandbox, t, "GET", &path, None).await;
        assert_eq!(reply.status, 400, "{garbage}: {}", reply.body);
        assert_eq!(reply.body["errors"][0]["code"], "InvalidInput");
    }
    // The model's own sandbox example: an unknown processing status is invalid input.
    let bad_status =
        format!("/reports/2021-06-30/reports?reportTypes={SETTLEMENT}&processingStatuses=BAD_VALUE,IN_PROGRESS");
    assert_eq!(call(&sandbox, t, "GET", &bad_status, None).await.status, 400);
}

#[tokio::test]
async fn a_done_reports_processing_end_time_stays_put_and_times_are_amazons_shape() {
    let sandbox = start(1.0).await;
    let token = token(&sandbox).await;
    let t = Some(token.as_str());
    let id = sandbox.close_settlement("20000000001");
    let path = format!("/reports/2021-06-30/reports/{id}");
    let first = call(&sandbox, t, "GET", &path, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let second = call(&sandbox, t, "GET", &path, None).await;
    let end = first.body["processingEndTime"].as_str().expect("a DONE report has an end time");
    assert_eq!(second.body["processingEndTime"].as_str(), Some(end), "the end time is fixed once DONE");
    for field in ["createdTime", "processingEndTime"] {
        let text = first.body[field].as_str().unwrap();
        // Amazon's example: 2024-03-10T13:47:20.677Z (milliseconds at most).
        assert_eq!(text.len(), "2024-03-10T13:47:20.677Z".len(), "{field}: {text}");
        assert!(text.ends_with('Z'), "{field}: {text}");
        text.parse::<Timestamp>().unwrap();
    }

    // A report still in the queue has no end time yet.
    let body = json!({ "reportType": INVENTORY, "marketplaceIds": ["ATVPDKIKX0DER"] });
    let created = call(&sandbox, t, "POST", "/reports/2021-06-30/reports", Some(body)).await;
    let queued = call(
        &sandbox,
        t,
        "GET",
        &format!("/reports/2021-06-30/reports/{}", created.body["reportId"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(queued.body["processingStatus"], "IN_QUEUE");
    assert!(queued.body.get("processingEndTime").is_none(), "{}", queued.body);
}

/// The text of a report's document.
async fn document_text(sandbox: &ferry_sandbox::amazon::AmazonSandbox, token: &str, report_id: &str) -> String {
    let report = call(sandbox, Some(token), "GET", &format!("/reports/2021-06-30/reports/{report_id}"), None).await;
    let doc_id = report.body["reportDocumentId"].as_str().unwrap();
    let doc = call(sandbox, Some(token), "GET", &format!("/reports/2021-06-30/documents/{doc_id}"), None).await;
    let gz = crate::http().get(doc.body["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn a_closed_settlement_has_amazons_dates_refunds_fees_and_reserves_that_add_up() {
    let sandbox = start(100_000.0).await;
    sandbox.seed_orders(60, 0.0);
    let shipped = sandbox.shipped_order_ids();
    sandbox.refund_order(&shipped[0]).unwrap();
    sandbox.charge_service_fee("Subscription", "Professional selling plan", Decimal::new(3999, 2), "USD");
    let reserve = Reserve { previous: Decimal::new(12_000, 2), current: Decimal::new(-15_050, 2) };
    let id = sandbox.close_settlement_with("30000000001", Some(reserve));
    let token = token(&sandbox).await;
    let text = document_text(&sandbox, &token, &id).await;
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert!(lines.iter().all(|cells| cells.len() == 23), "23 columns on every line");
    let summary = &lines[1];
    for (column, value) in
        [("settlement-start-date", summary[1]), ("settlement-end-date", summary[2]), ("deposit-date", summary[3])]
    {
        // Amazon's example: 2003-10-03T16:00:00-07:00.
        assert_eq!(value.len(), "2003-10-03T16:00:00-07:00".len(), "{column}: {value}");
        assert!(!value.contains('.'), "{column} has no fraction of a second: {value}");
        value.parse::<Timestamp>().unwrap();
    }
    let rows = &lines[2..];
    let find = |kind: &str, description: &str| rows.iter().filter(|r| r[6] == kind && r[13] == description).count();
    assert!(find("Refund", "Principal") >= 1, "the refund is settled");
    assert!(find("Refund", "RefundCommission") >= 1, "with Amazon's refund administration fee");
    assert_eq!(find("ServiceFee", "Subscription"), 1);
    let reserve_row = |description: &str| rows.iter().find(|r| r[13] == description).map(|r| r[14].to_owned());
    assert_eq!(reserve_row("Previous Reserve Amount Balance").as_deref(), Some("120.00"));
    assert_eq!(reserve_row("Current Reserve Amount").as_deref(), Some("-150.50"));
    let sum: Decimal = rows.iter().map(|r| r[14].parse::<Decimal>().unwrap()).sum();
    assert_eq!(summary[4].parse::<Decimal>().unwrap(), sum, "the deposit is the sum of the rows");
}

#[tokio::test]
async fn get_orders_refuses_a_created_before_later_than_two_minutes_ago() {
    let sandbox = start(1.0).await;
    sandbox.seed_orders(5, 0.0);
    let token = token(&sandbox).await;
    let t = Some(token.as_str());
    let now = Timestamp::now();
    let after = urlenc(&(now - SignedDuration::from_hours(24 * 30)).to_string());
    let too_late = urlenc(&(now - SignedDuration::from_secs(30)).to_string());
    let fine = urlenc(&(now - SignedDuration::from_secs(180)).to_string());
    for (path, bound) in [
        ("/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&CreatedAfter", "CreatedBefore"),
        ("/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter", "LastUpdatedBefore"),
        ("/orders/2026-01-01/orders?marketplaceIds=ATVPDKIKX0DER&createdAfter", "createdBefore"),
        ("/orders/2026-01-01/orders?marketplaceIds=ATVPDKIKX0DER&lastUpdatedAfter", "lastUpdatedBefore"),
    ] {
        let refused = call(&sandbox, t, "GET", &format!("{path}={after}&{bound}={too_late}"), None).await;
        assert_eq!(refused.status, 400, "{bound}: {}", refused.body);
        assert_eq!(refused.body["errors"][0]["code"], "InvalidInput");
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(bound) && message.contains("two minutes"), "{message}");
        let accepted = call(&sandbox, t, "GET", &format!("{path}={after}&{bound}={fine}"), None).await;
        assert_eq!(accepted.status, 200, "{bound}: {}", accepted.body);
        // Before earlier than After is refused too.
        let backwards = call(&sandbox, t, "GET", &format!("{path}={fine}&{bound}={after}"), None).await;
        assert_eq!(backwards.status, 400, "{bound}: {}", backwards.body);
    }
}
