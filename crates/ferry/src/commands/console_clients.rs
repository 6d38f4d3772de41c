//! Console clients beside a benchmark's engine (`ferry bench orders --console-clients`): each
//! keeps the overview's live updates open (`/console/events`) and fetches the whole overview
//! page every second, as an operator's open console tab does, so the engine's figures with
//! and without the console open can be compared.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

/// How often each client fetches the overview page.
pub const FETCH_EVERY: Duration = Duration::from_secs(1);

/// What the clients received.
#[derive(Debug, Default)]
pub struct Counts {
    /// Live updates (`overview` events).
    pub events: AtomicU64,
    /// Of them, those showing rate-limit budgets (the node's runtime is wired to the console).
    pub with_budgets: AtomicU64,
    /// Overview pages fetched.
    pub pages: AtomicU64,
    /// Requests refused or failed.
    pub failures: AtomicU64,
}

/// Running clients; dropping this stops them.
pub struct Clients {
    pub counts: Arc<Counts>,
    _tasks: JoinSet<()>,
}

/// Starts `n` clients on the console at `base` (`http://host:port`), signed in with `token`.
pub fn start(base: &str, token: &str, n: usize) -> anyhow::Result<Clients> {
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default())?;
    let counts = Arc::new(Counts::default());
    let mut tasks = JoinSet::new();
    let cookie = format!("ferry_console={token}");
    for _ in 0..n {
        tasks.spawn(listen(http.clone(), format!("{base}/console/events"), cookie.clone(), counts.clone()));
        tasks.spawn(fetch(http.clone(), format!("{base}/console"), cookie.clone(), counts.clone()));
    }
    Ok(Clients { counts, _tasks: tasks })
}

/// Keeps the live updates open, counting events; reconnects after a second if refused.
async fn listen(http: reqwest::Client, url: String, cookie: String, counts: Arc<Counts>) {
    loop {
        match http.get(&url).header("cookie", &cookie).send().await {
            Ok(mut response) if response.status().is_success() => {
                let mut pending = String::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    pending.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = pending.find("\n\n") {
                        let event: String = pending.drain(..end + 2).collect();
                        if event.lines().any(|l| l == "event: overview") {
                            counts.events.fetch_add(1, Ordering::Relaxed);
                            if event.contains("id=\"budgets\"") {
                                counts.with_budgets.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
            _ => {
                counts.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Fetches the overview page every [`FETCH_EVERY`].
async fn fetch(http: reqwest::Client, url: String, cookie: String, counts: Arc<Counts>) {
    let mut every = tokio::time::interval(FETCH_EVERY);
    loop {
        every.tick().await;
        let fetched = match http.get(&url).header("cookie", &cookie).send().await {
            Ok(response) if response.status().is_success() => response.bytes().await.is_ok(),
            _ => false,
        };
        let counter = if fetched { &counts.pages } else { &counts.failures };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
