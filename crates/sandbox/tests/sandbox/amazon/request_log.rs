//! The request log: off until asked for; then every SP-API request with its operation, its
//! caller (the LWA client and seller the token was issued for) and whether it was refused.

use std::time::Instant;

use super::{call, start, token};

#[tokio::test]
async fn the_request_log_names_each_operation_and_the_seller_and_app_it_was_metered_against() {
    let sandbox = start(1.0).await;
    let id = sandbox.seed_orders(1, 0.0).remove(0);
    let t = token(&sandbox).await;
    let get = format!("/orders/2026-01-01/orders/{id}");
    // Not recorded: the log is opt-in.
    assert_eq!(call(&sandbox, Some(&t), "GET", &get, None).await.status, 200);
    assert!(sandbox.request_log().is_empty(), "nothing is recorded before record_requests");

    let before = Instant::now();
    sandbox.record_requests();
    assert_eq!(call(&sandbox, Some(&t), "GET", &get, None).await.status, 200);
    assert_eq!(call(&sandbox, None, "GET", &get, None).await.status, 403);
    // getInventorySummaries has a burst of 2: the third call at Amazon's pace is throttled.
    let path = "/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId=ATVPDKIKX0DER&marketplaceIds=ATVPDKIKX0DER";
    let statuses: Vec<u16> = [
        call(&sandbox, Some(&t), "GET", path, None).await.status,
        call(&sandbox, Some(&t), "GET", path, None).await.status,
        call(&sandbox, Some(&t), "GET", path, None).await.status,
    ]
    .into();
    assert_eq!(statuses, [200, 200, 429]);

    let log = sandbox.request_log();
    let ops: Vec<(&str, &str, Option<u16>)> =
        log.iter().map(|r| (r.api.as_str(), r.operation.as_str(), r.refused)).collect();
    assert_eq!(
        ops,
        [
            ("orders_2026-01-01", "getOrder", None),
            ("orders_2026-01-01", "getOrder", Some(403)),
            ("fbaInventory", "getInventorySummaries", None),
            ("fbaInventory", "getInventorySummaries", None),
            ("fbaInventory", "getInventorySummaries", Some(429)),
        ]
    );
    let c = sandbox.config();
    let seller = log[0].caller.as_deref().expect("a token's caller");
    assert_eq!(
        (seller.client_id.as_str(), seller.seller_id.as_deref()),
        (c.client_id.as_str(), Some(c.seller_id.as_str()))
    );
    assert!(log[1].caller.is_none(), "no token, no caller");
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at) && log[0].at >= before, "in arrival order");

    sandbox.stop_recording_requests();
    assert_eq!(call(&sandbox, Some(&t), "GET", &get, None).await.status, 200);
    assert!(sandbox.request_log().is_empty(), "stopping frees the log and records nothing more");
}
