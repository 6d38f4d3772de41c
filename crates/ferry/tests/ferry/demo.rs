//! `ferry demo` on the order flows and `ferry bench orders`, as a newcomer runs them.

use super::support::{TempDir, ferry, pg_url, text};

/// The number after `label` in `text` (e.g. "seeded             200 Amazon orders (4 with…").
fn number_after(text: &str, label: &str) -> usize {
    let rest = &text[text.find(label).unwrap_or_else(|| panic!("no `{label}` in:\n{text}")) + label.len()..];
    let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after `{label}` in:\n{text}"))
}

#[test]
fn the_demo_runs_two_hundred_orders_to_a_consistent_end() {
    let dir = TempDir::new("demo-orders");
    let out = ferry(dir.path()).args(["demo", "--orders", "200", "--exit-when-idle"]).output().expect("run demo");
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    for url in [
        // The sandboxes speak TLS as the real services do; the node's own listener is plain here.
        "Amazon sandbox     https://127.0.0.1:",
        "Dataverse sandbox  https://127.0.0.1:",
        "Ferry server       http://127.0.0.1:",
    ] {
        assert!(o.contains(url), "the demo prints where things run: {url}\n{o}");
    }
    let unknown = number_after(&o, "200 Amazon orders (");
    assert!(unknown > 0, "the demo seeds a few unknown SKUs: {o}");
    assert!(o.contains("CRM orders"), "live progress is shown: {o}");
    let summary = &o[o.find("summary").unwrap_or_else(|| panic!("no summary: {o}"))..];
    assert_eq!(number_after(summary, "summary"), 200, "{summary}");
    let crm = number_after(summary, "s:");
    assert_eq!(crm, 200 - unknown, "every valid order is in the CRM once: {summary}");
    // One dead letter per unknown-SKU order, not one per twin job of it (notification, polls).
    assert_eq!(number_after(summary, "shipped with tracking in the CRM),"), unknown, "{summary}");
    assert!(o.contains("every order with an unknown SKU is a dead letter naming it"), "{o}");
    assert!(!e.contains("client_secret") && !e.contains("sandbox-client-secret"), "no secret in the log: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orders_benchmark_reports_the_same_orders_on_both_stores_with_their_request_counts() {
    let dir = TempDir::new("bench-orders");
    let stores = if pg_url("bench_probe").await.is_some() { "sqlite,postgres" } else { "sqlite" };
    let pg = ferry_store::testing::pg_test_url();
    let out = ferry(dir.path())
        .args(["bench", "orders", "--orders", "60", "--stores", stores, "--pg-url", &pg])
        .output()
        .expect("run bench");
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    let written: Vec<usize> = o
        .lines()
        .filter(|l| l.contains("orders written to the CRM"))
        .map(|l| number_after(l, if l.starts_with("sqlite") { "sqlite" } else { "postgres" }))
        .collect();
    assert_eq!(written.len(), stores.split(',').count(), "one result per store: {o}");
    assert!(written[0] > 30 && written.iter().all(|w| *w == written[0]), "the same orders land on each store: {o}");
    // Guest policy: the poll pages carry whole orders and each order is one $batch.
    assert!(o.contains("searchOrders"), "{o}");
    assert!(o.contains(&format!("POST $batch {}", written[0])), "one change set per order: {o}");

    // Published limits with full buyer data: every order is one getOrder, measured against
    // the least the published rate and burst allow; once alone, once with two console clients
    // beside the engine (live updates open, the overview fetched every second).
    let out = ferry(dir.path())
        .args(["bench", "orders", "--orders", "60", "--stores", "sqlite", "--limits", "published"])
        .args(["--speedup", "100", "--buyer-pii", "full", "--console-clients", "0,2"])
        .output()
        .expect("run bench");
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    assert!(number_after(&o, "sqlite") > 30, "{o}");
    assert!(o.contains("the least the published rates and bursts allow is"), "{o}");
    // Pending orders are read too (the flow then leaves them out).
    assert!(o.contains("getOrder 60 "), "one getOrder per order, no more: {o}");
    let runs: Vec<&str> = o.lines().filter(|l| l.contains("orders written to the CRM")).collect();
    assert_eq!(runs.len(), 2, "one run per client count: {o}");
    assert!(!runs[0].contains("console clients") && runs[1].contains("with 2 console clients"), "{o}");
    assert_eq!(number_after(runs[0], "sqlite"), number_after(runs[1], "sqlite"), "the same orders either way: {o}");
    let console = o.lines().find(|l| l.contains("live updates received")).unwrap_or_else(|| panic!("{o}"));
    assert!(number_after(console, "console:") >= 2, "each client got the overview's live updates: {console}");
    assert!(number_after(console, "budgets), ") >= 2, "and fetched the overview: {console}");
    assert!(console.ends_with(" 0 refused or failed"), "{console}");
}
