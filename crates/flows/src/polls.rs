//! The polls that run beside the events: each flow instance's safety-net poll (searchOrders
//! under ORDER_CHANGE, Dataverse change tracking on sales orders, the fulfilment-order list
//! under FULFILLMENT_ORDER_STATUS) and each Amazon connection's SQS notification queue. Each
//! moves its cursor in the same transaction as the jobs it enqueues, so a crash repeats at
//! most one page and loses nothing.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_model::TenantId;
use ferry_store::AnyStore;
use jiff::SignedDuration;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::connectors::amazon::AmazonConnection;
use crate::routing::Router;

/// Counters of what the polls brought in (the demo's progress line reads them).
#[derive(Debug, Default)]
pub struct PollStats {
    pub notifications: AtomicU64,
    pub orders_polled: AtomicU64,
    pub crm_changes: AtomicU64,
    pub errors: AtomicU64,
}

/// Where flow instances start their polls: the tasks stop when `stop` turns true.
pub struct Polls {
    pub set: JoinSet<()>,
    pub store: AnyStore,
    pub stop: watch::Receiver<bool>,
    pub stats: Arc<PollStats>,
    /// How far back a poll with no cursor yet starts.
    pub initial_lookback: SignedDuration,
}

impl Polls {
    pub fn new(
        store: AnyStore,
        stop: watch::Receiver<bool>,
        stats: Arc<PollStats>,
        initial_lookback: SignedDuration,
    ) -> Self {
        Polls { set: JoinSet::new(), store, stop, stats, initial_lookback }
    }

    /// Runs `tick` now and then every `period` (see [`every`]).
    pub fn every<F, Fut>(&mut self, period: Duration, tick: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Option<Duration>> + Send + 'static,
    {
        self.set.spawn(every(period, self.stop.clone(), tick));
    }

    /// Receives `amazon`'s SQS notifications (when it has a queue) into the jobs `router`
    /// makes of them.
    pub fn notifications(&mut self, tenant: &TenantId, amazon: &Arc<AmazonConnection>, router: Router) {
        let Some(sqs) = amazon.sqs.clone() else { return };
        let (store, stats, tenant, connection) =
            (self.store.clone(), self.stats.clone(), tenant.clone(), amazon.id.clone());
        let wait = amazon.queue_wait.as_secs().clamp(0, 20) as u8;
        let mut stop = self.stop.clone();
        self.set.spawn(async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                let poll = sqs.poll_into(&store, &tenant, &connection, wait, |n| router.amazon(&connection, n));
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
pub async fn every<F, Fut>(period: Duration, mut stop: watch::Receiver<bool>, tick: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Duration>>,
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
