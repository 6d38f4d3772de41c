//! The polls that run beside the events: the searchOrders safety net under ORDER_CHANGE, the
//! SQS notification queue, Dataverse change tracking on sales orders, and the fulfilment-order
//! list under FULFILLMENT_ORDER_STATUS. Each moves its cursor in the same transaction as the
//! jobs it enqueues, so a crash repeats at most one page and loses nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_connectors::amazon::IncludedData;
use ferry_connectors::amazon::poll::OrderPoll;
use ferry_connectors::dataverse::ChangeTrackingSource;
use ferry_store::{AnyStore, CursorUpdate, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::routing::Routes;
use super::settings::BuyerPii;
use super::{Engine, amazon_orders, crm_to_fba};

/// How often each poll runs.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// The searchOrders poll: F1's `trigger.poll.every`; `None` (no `trigger.poll`) runs none.
    pub orders: Option<Duration>,
    /// Long-poll wait of one SQS receive (`options.queue_wait_seconds`, at most 20 s).
    pub notifications: Duration,
    /// The fulfilment-order list (`options.fulfilment_poll_seconds`).
    pub fulfilment: Duration,
    /// Dataverse change tracking: F2's `trigger.poll.every`; `None` runs none.
    pub crm: Option<Duration>,
}

/// Counters of what the polls brought in (the demo's progress line reads them).
#[derive(Debug, Default)]
pub struct PollStats {
    pub notifications: AtomicU64,
    pub orders_polled: AtomicU64,
    pub crm_changes: AtomicU64,
    pub errors: AtomicU64,
}

/// Cursor of the fulfilment-order poll.
pub const FULFILMENT_CURSOR: &str = "amazon/fulfillment-orders";
/// Cursor of the searchOrders poll.
pub const ORDERS_CURSOR: &str = "amazon/orders";

impl Engine {
    /// Routes of this engine's flows.
    pub fn routes(&self) -> Routes {
        Routes {
            tenant: self.tenant.clone(),
            amazon: self.amazon_connection.clone(),
            crm: self.crm_connection.clone(),
            orders_to_crm: self.f1.is_some() && self.order_events,
            crm_to_fba: self.f2.is_some(),
            crm_events: self.crm_events.clone(),
        }
    }

    /// Starts every poll this engine's flows need; they stop when `stop` turns true.
    pub fn spawn_polls(
        self: &Arc<Self>,
        store: AnyStore,
        stop: watch::Receiver<bool>,
        stats: Arc<PollStats>,
        initial_lookback: SignedDuration,
    ) -> JoinSet<()> {
        let mut set = JoinSet::new();
        if let (Some((_, settings)), Some(period)) = (&self.f1, self.schedule.orders) {
            let full = settings.buyer_pii == BuyerPii::Full;
            let poll = OrderPoll {
                tenant: self.tenant.clone(),
                connection: self.amazon_connection.clone(),
                marketplace_ids: self.marketplace_ids.clone(),
                cursor: ORDERS_CURSOR.into(),
                flow: amazon_orders::FLOW.into(),
                initial_lookback,
                // Buyer and recipient need a Restricted Data Token: with the `full` policy
                // the job reads them through getOrder; the page carries the rest.
                included_data: IncludedData::for_order_flow(false, false)
                    .into_iter()
                    .chain(if full { None } else { Some(IncludedData::Buyer) })
                    .collect(),
                page_size: 100,
            };
            let (engine, store, stats) = (self.clone(), store.clone(), stats.clone());
            set.spawn(every(period, stop.clone(), move || {
                let (engine, store, stats, poll) = (engine.clone(), store.clone(), stats.clone(), poll.clone());
                async move {
                    match poll.run(&engine.amazon.client, &store, Timestamp::now()).await {
                        Ok(outcome) => {
                            stats.orders_polled.fetch_add(outcome.jobs_enqueued as u64, Ordering::Relaxed);
                            None
                        }
                        Err(e) => {
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(error = %e, "searchOrders poll failed; the next poll resumes from the cursor");
                            match &e {
                                ferry_connectors::amazon::poll::PollError::Remote(failure) => failure.retry_after(),
                                _ => None,
                            }
                        }
                    }
                }
            }));
        }
        if let Some(sqs) = &self.sqs {
            let (sqs, store, stats, routes) = (sqs.clone(), store.clone(), stats.clone(), self.routes());
            let wait = self.schedule.notifications.as_secs().clamp(0, 20) as u8;
            let mut stop = stop.clone();
            set.spawn(async move {
                loop {
                    if *stop.borrow() {
                        return;
                    }
                    let poll = sqs.poll_into(&store, &routes.tenant, &routes.amazon, wait, |n| routes.amazon(n));
                    tokio::select! {
                        _ = stop.changed() => return,
                        result = poll => match result {
                            Ok(report) => {
                                stats.notifications.fetch_add(report.stored as u64, Ordering::Relaxed);
                                if report.received == 0 && wait == 0 {
                                    tokio::time::sleep(Duration::from_millis(200)).await;
                                }
                            }
                            Err(e) => {
                                stats.errors.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(error = %e, "notification queue receive failed; retrying");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        },
                    }
                }
            });
        }
        if let (Some(_), Some(period)) = (&self.f2, self.schedule.crm) {
            let source = ChangeTrackingSource {
                tenant: self.tenant.clone(),
                connection: self.crm_connection.clone(),
                entity_set: "salesorders".into(),
                primary_id: "salesorderid".into(),
                select: vec!["salesorderid".into(), "statecode".into(), "statuscode".into()],
                flow: crm_to_fba::FLOW.into(),
                page_size: Some(500),
            };
            let (engine, store2, stats2) = (self.clone(), store.clone(), stats.clone());
            set.spawn(every(period, stop.clone(), move || {
                let (engine, store, stats, source) = (engine.clone(), store2.clone(), stats2.clone(), source.clone());
                async move {
                    match source.poll(&store, &engine.crm.crm().client).await {
                        Ok(outcome) => {
                            stats.crm_changes.fetch_add(outcome.enqueued as u64, Ordering::Relaxed);
                            None
                        }
                        Err(e) => {
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(error = %e, "Dataverse change tracking poll failed; retrying next time");
                            e.retry_after()
                        }
                    }
                }
            }));
        }
        if self.f2.is_some() {
            let (engine, store, stats) = (self.clone(), store.clone(), stats.clone());
            set.spawn(every(self.schedule.fulfilment, stop.clone(), move || {
                let (engine, store, stats) = (engine.clone(), store.clone(), stats.clone());
                async move {
                    let Err(e) = engine.poll_fulfilment_orders(&store).await else { return None };
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "fulfilment order poll failed; retrying next time");
                    e.downcast_ref::<ferry_runtime::failure::Failure>().and_then(|f| f.retry_after())
                }
            }));
        }
        set
    }

    /// One fulfilment-order poll: a status job per order changed since the cursor.
    pub async fn poll_fulfilment_orders(&self, store: &AnyStore) -> anyhow::Result<usize> {
        let since = match store.cursor(&self.tenant, FULFILMENT_CURSOR).await? {
            Some(text) => Some(text.parse::<Timestamp>()?),
            None => None,
        };
        let started = Timestamp::now();
        let orders = self.amazon.client.list_all_fulfillment_orders(since).await?;
        let routes = self.routes();
        let jobs: Vec<_> = orders
            .iter()
            .map(|o| {
                routes.fulfilment_status(
                    &o.seller_fulfillment_order_id,
                    &format!("{}:{}", o.fulfillment_order_status, o.status_updated_date),
                )
            })
            .collect();
        // A minute of overlap: an order updated while the page was read is read again.
        let next = started.saturating_sub(SignedDuration::from_secs(60)).unwrap_or(started);
        let update =
            CursorUpdate { tenant: self.tenant.clone(), name: FULFILMENT_CURSOR.into(), value: next.to_string() };
        let ids = store.enqueue_with_cursor(&jobs, &update).await?;
        Ok(ids.iter().flatten().count())
    }
}

/// How often a flow's poll runs: its `trigger.poll.every`; `None` without `trigger.poll` (the
/// flow then runs on events only). `ferry check` has refused an interval outside 1s..1d.
pub fn poll_interval(flow: &ferry_mapping::Flow) -> Option<Duration> {
    let poll = flow.trigger.poll.as_ref()?;
    ferry_mapping::check::parse_interval(&poll.every.value).map(Duration::from_secs)
}

/// When the next poll may start: a period after this one started, and never before the wait
/// the remote asked for (a 429's `Retry-After`) has passed since this one ended.
fn next_poll(started: Instant, ended: Instant, period: Duration, retry_after: Option<Duration>) -> Instant {
    let regular = started + period;
    match retry_after {
        Some(wait) => regular.max(ended + wait),
        None => regular,
    }
}

/// Runs `tick` now and then every `period` until `stop` turns true. A tick returns the wait
/// the remote asked for when it was throttled, which the next tick honours.
async fn every<F, Fut>(period: Duration, mut stop: watch::Receiver<bool>, tick: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<Duration>>,
{
    let period = period.max(Duration::from_millis(50));
    let mut next = Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep_until(next.into()) => {}
        }
        let started = Instant::now();
        let retry_after = tokio::select! {
            _ = stop.changed() => return,
            wait = tick() => wait,
        };
        next = next_poll(started, Instant::now(), period, retry_after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(trigger: &str) -> ferry_mapping::Flow {
        let text = format!(
            "name: f\ntrigger: {trigger}\nsource: {{ connection: amazon, operation: getOrder }}\n\
             target: {{ connection: crm, entity: salesorder, key: {{ n: \"{{{{ record.id }}}}\" }} }}\n"
        );
        ferry_mapping::flow::parse_flow(std::path::Path::new("f.yaml"), &text).expect("flow")
    }

    #[test]
    fn a_flows_poll_runs_at_its_trigger_poll_every_and_not_at_all_without_one() {
        let every = |t: &str| poll_interval(&flow(t));
        let poll = |e: &str| format!("{{ poll: {{ connection: amazon, operation: searchOrders, every: {e} }} }}");
        assert_eq!(every(&poll("7m")), Some(Duration::from_secs(420)));
        assert_eq!(every(&poll("1s")), Some(Duration::from_secs(1)));
        assert_eq!(every(&poll("1d")), Some(Duration::from_secs(86_400)));
        assert_eq!(every("{ events: { connection: amazon, types: [ORDER_CHANGE] } }"), None, "events only: no poll");
    }

    #[test]
    fn a_poll_never_comes_back_before_the_remotes_retry_after() {
        let t0 = Instant::now();
        let ended = t0 + Duration::from_millis(200);
        let period = Duration::from_secs(1);
        assert_eq!(next_poll(t0, ended, period, None), t0 + period, "the interval when nothing was asked");
        assert_eq!(
            next_poll(t0, ended, period, Some(Duration::from_secs(60))),
            ended + Duration::from_secs(60),
            "a 429 asking for a minute holds a one-second poll for a minute"
        );
        assert_eq!(
            next_poll(t0, ended, period, Some(Duration::from_millis(100))),
            t0 + period,
            "a shorter wait changes nothing"
        );
    }
}
