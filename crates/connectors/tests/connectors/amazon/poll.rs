//! The searchOrders poll: every order once per version, the cursor moving with each page's
//! enqueue, and Amazon's two-minute rule respected.

use ferry_connectors::amazon::poll::{OrderPoll, PollCursor};
use ferry_model::{TenantId, Timestamp};
use ferry_store::testing::TempDir;
use ferry_store::{SqliteStore, Store};
use jiff::SignedDuration;

use super::sandbox_and_client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_enqueues_each_order_version_once_and_moves_the_cursor_with_it() {
    let (sandbox, client) = sandbox_and_client(1_000.0).await;
    let ids = sandbox.seed_orders(25, 0.0);
    let dir = TempDir::new("poll").unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("p.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let tenant: TenantId = "default".parse().unwrap();
    store.ensure_tenant(&tenant, "default").await.unwrap();
    let poll = OrderPoll {
        tenant: tenant.clone(),
        connection: "amazon".parse().unwrap(),
        marketplace_ids: vec![sandbox.config().marketplace_id.parse().unwrap()],
        cursor: "amazon/orders".into(),
        flow: "amazon-orders-to-crm".into(),
        initial_lookback: SignedDuration::from_hours(24 * 8),
        included_data: Vec::new(),
        page_size: 10,
        key_prefix: String::new(),
    };
    let now = Timestamp::now();
    let cursor_after = |text: Option<String>| serde_json::from_str::<PollCursor>(&text.unwrap()).unwrap();

    // An earlier poll: its window ends 2 minutes before its own "now".
    let earlier = now - SignedDuration::from_mins(600);
    let first = poll.run(&client, &store, earlier).await.unwrap();
    let cursor = cursor_after(store.cursor(&tenant, "amazon/orders").await.unwrap());
    assert_eq!(cursor.after, earlier - SignedDuration::from_secs(120), "the window ends two minutes before now");
    assert!(cursor.token.is_none());

    // One order changes after that window; the next poll picks up the rest and the change.
    let changed = ids[0].clone();
    sandbox.with_orders(|o| {
        if let Some(order) = o.by_id.get_mut(&changed) {
            order.last_updated = now - SignedDuration::from_mins(5);
        }
    });
    let second = poll.run(&client, &store, now).await.unwrap();
    assert!(second.pages >= 1);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!(first.jobs_enqueued + second.jobs_enqueued, stats.ready as usize);
    let changed_was_in_first = first.orders_seen + second.orders_seen > 25;
    assert_eq!(
        stats.ready as usize,
        25 + usize::from(changed_was_in_first),
        "every order once, plus the changed order's new version if the first window had it"
    );
    assert!(first.pages + second.pages >= 3, "pages of 10 were followed: {first:?} {second:?}");

    // Polling the same window again enqueues nothing new.
    let again = poll.run(&client, &store, now).await.unwrap();
    assert_eq!(again.pages, 0, "nothing between the cursor and two minutes ago");
    // Forgetting the cursor re-reads everything, and the dedupe keys keep it from doubling.
    let rewind = OrderPoll { cursor: "amazon/orders-rewound".into(), ..poll.clone() };
    let replay = rewind.run(&client, &store, now).await.unwrap();
    assert_eq!(replay.orders_seen, 25);
    assert_eq!(replay.jobs_enqueued, 0, "versions already enqueued are skipped");

    let job = store.claim("t", 1, std::time::Duration::from_secs(30)).await.unwrap().remove(0);
    let payload: serde_json::Value = job.payload_as().unwrap();
    assert_eq!(payload["source"], "poll");
    assert!(payload["order"]["orderItems"].is_array(), "the page's order travels with the job: {payload}");
    assert_eq!(job.connection.as_ref().map(|c| c.as_ref()), Some("amazon"));
}
