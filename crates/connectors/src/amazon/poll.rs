//! The searchOrders poll: the safety net under ORDER_CHANGE notifications. Each page of
//! orders becomes one job per order (carrying the order as the page returned it, so it is not
//! fetched again), enqueued in the same transaction that moves the cursor: a crash between
//! pages repeats at most one page, and the dedupe key (order id + last update) makes the
//! repeat enqueue nothing.

use ferry_model::{AmazonMarketplaceId, ConnectionId, TenantId};
use ferry_runtime::failure::Failure;
use ferry_store::{CursorUpdate, NewJob, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::client::AmazonClient;
use super::client::orders::{API as ORDERS_API, IncludedData, SearchOrdersRequest};

/// Amazon refuses a `lastUpdatedBefore` later than two minutes before now.
pub const MIN_DISTANCE_FROM_NOW: SignedDuration = SignedDuration::from_secs(120);

/// What one poller watches and what it enqueues.
#[derive(Debug, Clone)]
pub struct OrderPoll {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub marketplace_ids: Vec<AmazonMarketplaceId>,
    /// The cursor's name in the store, e.g. `amazon/orders`.
    pub cursor: String,
    /// The flow each order's job runs.
    pub flow: String,
    /// How far back the first poll looks.
    pub initial_lookback: SignedDuration,
    pub included_data: Vec<IncludedData>,
    pub page_size: u32,
    /// Put before each job's dedupe key and record (`<instance>/`), so two flow instances fed
    /// by one source keep their jobs apart; empty for a template's only instance.
    pub key_prefix: String,
}

/// The persisted position: the window being read and where in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollCursor {
    /// Orders updated at or after this are not read yet.
    pub after: Timestamp,
    /// While a window is being paged: its end and the next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// What a poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollOutcome {
    pub pages: usize,
    pub orders_seen: usize,
    /// Jobs enqueued; orders already enqueued at the same last-update time are skipped.
    pub jobs_enqueued: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("searchOrders: {0}")]
    Remote(Failure),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cursor {name} is not a poll cursor ({detail}); delete it to start over")]
    BadCursor { name: String, detail: String },
}

impl OrderPoll {
    /// Reads every order updated since the cursor, up to two minutes before `now`, one page
    /// per transaction. Stops early on an error; what was enqueued stays, with its cursor.
    pub async fn run<S: Store>(
        &self,
        client: &AmazonClient,
        store: &S,
        now: Timestamp,
    ) -> Result<PollOutcome, PollError> {
        let mut cursor = match store.cursor(&self.tenant, &self.cursor).await? {
            Some(text) => serde_json::from_str::<PollCursor>(&text)
                .map_err(|e| PollError::BadCursor { name: self.cursor.clone(), detail: e.to_string() })?,
            None => PollCursor {
                after: now.saturating_sub(self.initial_lookback).unwrap_or(now),
                before: None,
                token: None,
            },
        };
        let mut outcome = PollOutcome::default();
        let before = match cursor.before {
            Some(b) => b,
            None => now.saturating_sub(MIN_DISTANCE_FROM_NOW).unwrap_or(now),
        };
        if before <= cursor.after {
            return Ok(outcome);
        }
        loop {
            let request = SearchOrdersRequest {
                last_updated_after: Some(cursor.after),
                last_updated_before: Some(before),
                marketplace_ids: self.marketplace_ids.clone(),
                max_results_per_page: Some(self.page_size.clamp(1, 100)),
                pagination_token: cursor.token.clone(),
                included_data: self.included_data.clone(),
                ..SearchOrdersRequest::default()
            };
            // Within the limits every node shares: several nodes poll, one seller's rate holds.
            let page = client
                .within_limits(ORDERS_API, "searchOrders", client.search_orders(&request))
                .await
                .map_err(PollError::Remote)?;
            outcome.pages += 1;
            outcome.orders_seen += page.orders.len();
            let jobs: Vec<NewJob> = page
                .orders
                .iter()
                .map(|order| {
                    let payload = serde_json::json!({ "order_id": order.order_id, "source": "poll", "order": order });
                    NewJob::new(self.tenant.clone(), self.flow.clone(), payload)
                        .connection(self.connection.clone())
                        .dedupe_key(format!(
                            "{}amazon-order:{}:{}",
                            self.key_prefix, order.order_id, order.last_updated_time
                        ))
                        .record(format!("{}amazon:order:{}", self.key_prefix, order.order_id))
                })
                .collect();
            let next = page.pagination.and_then(|p| p.next_token).filter(|t| !t.is_empty());
            cursor = match next {
                Some(token) => PollCursor { after: cursor.after, before: Some(before), token: Some(token) },
                None => PollCursor { after: before, before: None, token: None },
            };
            let update = CursorUpdate {
                tenant: self.tenant.clone(),
                name: self.cursor.clone(),
                value: serde_json::to_string(&cursor).unwrap_or_default(),
            };
            let ids = store.enqueue_with_cursor(&jobs, &update).await?;
            outcome.jobs_enqueued += ids.iter().filter(|id| id.is_some()).count();
            if cursor.token.is_none() {
                return Ok(outcome);
            }
        }
    }
}
