//! Wake-ups for idle workers: a store says when jobs may have become runnable, so a worker
//! with nothing to do sleeps until then (its poll interval stays as the fallback for jobs that
//! come due later, such as retries after a backoff).
//!
//! Within one process every store handle shares a [`tokio::sync::Notify`] that each write
//! adding jobs fires after its commit. On PostgreSQL the jobs table also carries a statement
//! trigger that sends `NOTIFY ferry_jobs` (migration 4), and the first worker that waits opens
//! one `LISTEN` connection per store, so a job enqueued on one node wakes the others at once
//! instead of at their next poll. The listener reconnects by itself after a lost connection; it
//! ends at the first notification after every handle of its store is gone.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{Notify, OnceCell};

/// The channel the jobs trigger notifies (migration 4 of the PostgreSQL backend).
pub const JOBS_CHANNEL: &str = "ferry_jobs";

/// How long the first wait gives the `LISTEN` connection to come up before it goes on without
/// it (the poll interval then covers until it does).
const LISTEN_START: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default)]
pub(crate) struct Wakeups {
    notify: Arc<Notify>,
    listening: Arc<OnceCell<()>>,
}

impl Wakeups {
    /// Called after a commit that added runnable jobs.
    pub(crate) fn jobs_written(&self) {
        self.notify.notify_waiters();
    }

    /// Resolves at the next [`Wakeups::jobs_written`] (or notification from another node).
    pub(crate) async fn wait(&self) {
        self.notify.notified().await;
    }

    /// Starts the store's `LISTEN` connection once, and waits (briefly) until it listens.
    pub(crate) async fn listen_postgres(&self, pool: &PgPool) {
        self.listening
            .get_or_init(|| async {
                let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
                tokio::spawn(listen(pool.clone(), Arc::downgrade(&self.notify), ready_tx));
                let _ = tokio::time::timeout(LISTEN_START, ready_rx).await;
            })
            .await;
    }
}

async fn listen(pool: PgPool, notify: Weak<Notify>, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(200);
    // Ends with the store: every handle dropped, or its pool closed.
    while notify.strong_count() > 0 && !pool.is_closed() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "job wake-ups: cannot open the LISTEN connection; workers poll meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        if let Err(e) = listener.listen(JOBS_CHANNEL).await {
            tracing::warn!(error = %e, "job wake-ups: LISTEN failed; workers poll meanwhile");
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(200);
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        // recv reconnects (and LISTENs again) by itself after a lost connection; what was sent
        // meanwhile is caught by the workers' poll.
        loop {
            match listener.recv().await {
                Ok(_) => match notify.upgrade() {
                    Some(n) => n.notify_waiters(),
                    None => return,
                },
                Err(_) if pool.is_closed() => return,
                Err(e) => {
                    tracing::warn!(error = %e, "job wake-ups: LISTEN connection failed; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}
