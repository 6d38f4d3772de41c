//! F1 and F2 end to end through real sockets: the Amazon and Dataverse sandboxes in this
//! process over HTTPS (the node trusts their CA through `ca_file`) with faults switched on, `ferry run` as a child process, and the result checked
//! through the Dataverse sandbox's own OData API.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ferry_connectors::dataverse::{DataverseClient, DataverseConfig, Query, RecordKey};
use ferry_connectors::http::Tls;
use ferry_sandbox::amazon::fulfillment::FoStatus;
use ferry_sandbox::amazon::state::Status;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DataverseSandbox, DataverseSandboxConfig, ServiceLimits,
    WebhookAuth, WebhookRegistration,
};
use ferry_sandbox::faults::FaultConfig;
use ferry_sandbox::tls::SandboxTls;
use ferry_store::secrets::SecretValue;
use ferry_store::{AnyStore, Store};
use serde_json::{Value, json};

use super::support::{TempDir, ferry, run_with_stdin, text};

const SPEEDUP: f64 = 600.0;
const CRM_SCALE: f64 = 20.0;

struct World {
    amazon: AmazonSandbox,
    dataverse: DataverseSandbox,
    crm: DataverseClient,
    dir: TempDir,
    config: std::path::PathBuf,
    skus: Vec<String>,
    /// The node's server port (`/metrics`).
    port: u16,
    /// The store the nodes share.
    store_url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

async fn world(name: &str, orders: usize) -> (World, Vec<String>) {
    world_on(name, orders, None).await
}

/// A world whose nodes use the store at `store_url` (default: SQLite in the data folder).
async fn world_on(name: &str, orders: usize, store_url: Option<String>) -> (World, Vec<String>) {
    // Both sandboxes serve HTTPS with a CA made for this test; the node trusts it only
    // through each connection's `ca_file`, so every run exercises the TLS path.
    let dir = TempDir::new(name);
    let ca = SandboxTls::generate().expect("certificates");
    let ca_file = dir.path().join("sandbox-ca.pem");
    ca.write_ca(&ca_file).expect("CA file");
    let amazon_cfg = AmazonSandboxConfig {
        speedup: SPEEDUP,
        order_lifecycle: false,
        tls: Some(ca.clone()),
        ..AmazonSandboxConfig::default()
    };
    let amazon = AmazonSandbox::start(amazon_cfg.clone()).await.expect("amazon sandbox");
    let dataverse = DataverseSandbox::start(DataverseSandboxConfig {
        limits: ServiceLimits { requests: (6000.0 * CRM_SCALE) as u32, ..ServiceLimits::default() },
        tls: Some(ca),
        ..DataverseSandboxConfig::default()
    })
    .await
    .expect("dataverse sandbox");
    assert!(amazon.base_url().starts_with("https://") && dataverse.base_url().starts_with("https://"));
    dataverse.seed_reference_data().expect("reference data");
    let crm = DataverseClient::new(
        DataverseConfig::new(
            dataverse.base_url(),
            DEFAULT_TENANT,
            DEFAULT_CLIENT_ID,
            SecretValue::new(DEFAULT_CLIENT_SECRET),
        )
        .with_authority(dataverse.authority_url())
        .with_tls(Tls::from_ca_file(&ca_file).expect("CA")),
    )
    .expect("client");
    let skus: Vec<String> =
        (0..ferry_sandbox::amazon::seed::CATALOG_SIZE).map(ferry_sandbox::amazon::seed::catalog_sku).collect();
    let port = free_port();
    let options = super::support::sandbox_connections(&amazon, &dataverse, (SPEEDUP, CRM_SCALE), &ca_file);
    // The shipped flows, polling every second (`trigger.poll.every` sets the polls' interval).
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).expect("flows folder");
    for name in ["amazon-orders-to-crm.yaml", "crm-orders-to-fba.yaml"] {
        let text = std::fs::read_to_string(shipped.join(name)).expect("shipped flow");
        assert!(text.contains("every: 5m") || text.contains("every: 2m"), "{name} polls every few minutes");
        std::fs::write(flows.join(name), text.replace("every: 5m", "every: 1s").replace("every: 2m", "every: 1s"))
            .expect("flow");
    }
    let config = dir.path().join("ferry.toml");
    let store_url = store_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("data/ferry.db").display()));
    std::fs::write(
        &config,
        format!(
            "[node]\ndata_dir = \"{}\"\nflows_dir = \"{}\"\nlisten = \"127.0.0.1:{port}\"\n\n[store]\nurl = \"{store_url}\"\n\n[workers]\ncount = 2\nconcurrency = 32\nlease_seconds = 10\n\n{options}",
            dir.path().join("data").display(),
            flows.display()
        ),
    )
    .expect("config");
    let webhook_key = "test-webhook-key-0123456789";
    for (name, value) in [
        ("amazon.client_id", amazon_cfg.client_id.as_str()),
        ("amazon.client_secret", amazon_cfg.client_secret.as_str()),
        ("amazon.refresh_token", amazon_cfg.refresh_token.as_str()),
        ("amazon.aws_access_key_id", amazon_cfg.aws_access_key_id.as_str()),
        ("amazon.aws_secret_access_key", amazon_cfg.aws_secret_access_key.as_str()),
        ("crm.client_secret", DEFAULT_CLIENT_SECRET),
        ("crm.webhook_key", webhook_key),
    ] {
        let out = run_with_stdin(ferry(dir.path()).arg("--config").arg(&config).args(["secrets", "set", name]), value);
        assert!(out.status.success(), "{:?}", text(&out));
    }
    // The sandbox starts as a stock org: `ferry setup` creates the columns and keys.
    let out = ferry(dir.path()).arg("--config").arg(&config).args(["setup", "crm"]).output().expect("ferry setup");
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("created key salesorder(ordernumber)"), "{:?}", text(&out));
    for (n, sku) in skus.iter().enumerate() {
        let channel = if n % 5 == 4 { "MFN" } else { "FBA" };
        add_product(&crm, sku, channel).await;
    }
    dataverse.register_webhook(WebhookRegistration {
        url: format!("http://127.0.0.1:{port}/ingress/dataverse/crm"),
        entity: "salesorder".into(),
        messages: vec!["Create".into(), "Update".into()],
        auth: WebhookAuth::WebhookKey(webhook_key.into()),
    });
    let ids = amazon.seed_orders(orders, 0.02);
    (World { amazon, dataverse, crm, dir, config, skus, port, store_url }, ids)
}

async fn add_product(crm: &DataverseClient, sku: &str, channel: &str) {
    let body = json!({ "name": format!("Product {sku}"), "new_fulfillmentchannel": channel });
    crm.upsert("products", &RecordKey::alternate("productnumber", sku), body.as_object().expect("object"))
        .await
        .expect("product");
}

impl World {
    /// How many event-to-target latencies the running node's `/metrics` has recorded.
    async fn latencies_observed(&self) -> u64 {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        let body = ferry_connectors::http::client(&Default::default())
            .expect("client")
            .get(&url)
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body");
        // One histogram per tenant (`ferry_event_to_target_seconds_count{tenant="…"} n`): all of them.
        let counts: Vec<u64> = body
            .lines()
            .filter(|l| l.starts_with("ferry_event_to_target_seconds_count"))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert!(!counts.is_empty(), "no ferry_event_to_target_seconds_count in /metrics:\n{body}");
        counts.iter().sum()
    }

    /// A change the CRM order already holds (the twin of a notification or a poll job)
    /// reads nothing from Amazon and writes nothing to the CRM; a newer one does both.
    async fn known_changes_cost_no_request(&self, store: &AnyStore, orders: &[String]) {
        let count = |rows: Vec<(String, u64)>, name: &str| rows.into_iter().find(|(k, _)| k == name).map_or(0, |r| r.1);
        let get_orders = || count(self.amazon.stats().by_operation(), "getOrder");
        let batches = || count(self.dataverse.requests_by_kind(), "POST $batch");
        let before = (get_orders(), batches());
        let tenant = ferry_model::TenantId::try_from("default".to_string()).expect("tenant");
        let job = |id: &str, changed_at: String, tag: &str| {
            let payload = serde_json::json!({ "order_id": id, "source": "notification", "changed_at": changed_at });
            ferry_store::NewJob::new(tenant.clone(), "amazon-orders-to-crm", payload).dedupe_key(format!("{tag}:{id}"))
        };
        let old: Vec<_> = orders.iter().map(|id| job(id, "2020-01-01T00:00:00Z".into(), "test-old")).collect();
        store.enqueue(&old).await.expect("enqueue");
        self.settle(store, orders.len(), Duration::from_secs(60)).await;
        assert_eq!((get_orders(), batches()), before, "{} known changes cost requests", orders.len());
        let newer = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
        store.enqueue(&[job(&orders[0], newer, "test-new")]).await.expect("enqueue");
        self.settle(store, orders.len(), Duration::from_secs(60)).await;
        assert_eq!((get_orders(), batches()), (before.0 + 1, before.1 + 1), "a newer change is read and written");
    }

    fn start(&self) -> Child {
        self.start_with(&self.config)
    }

    /// A node with the same store, secrets and connections that listens on a port of its own.
    fn second_node_config(&self) -> std::path::PathBuf {
        let text = std::fs::read_to_string(&self.config).expect("config");
        let text = text.replace(&format!("127.0.0.1:{}\"", self.port), &format!("127.0.0.1:{}\"", free_port()));
        let path = self.dir.path().join("ferry-2.toml");
        std::fs::write(&path, text).expect("second config");
        path
    }

    fn start_with(&self, config: &Path) -> Child {
        ferry(self.dir.path())
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferry run")
    }

    async fn store(&self) -> AnyStore {
        AnyStore::open(&self.store_url).await.expect("store")
    }

    /// Amazon orders F1 writes (Pending orders are left out by the flow's `only_if`).
    fn expected(&self, ids: &[String]) -> (Vec<String>, Vec<String>) {
        self.amazon.with_orders(|o| {
            let (mut valid, mut unknown) = (Vec::new(), Vec::new());
            for id in ids {
                let order = &o.by_id[id];
                if order.status == Status::Pending {
                    continue;
                }
                if order.items.iter().all(|i| self.skus.contains(&i.sku)) {
                    valid.push(id.clone());
                } else {
                    unknown.push(id.clone());
                }
            }
            (valid, unknown)
        })
    }

    /// Waits until the CRM has `want` orders, the queue is empty and every fulfilment order
    /// has reached its end, for two seconds in a row.
    async fn settle(&self, store: &AnyStore, want: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut quiet = 0;
        loop {
            let q = store.queue_stats().await.expect("stats");
            let open = self.amazon.with_fulfillment(|f| {
                f.orders
                    .values()
                    .filter(|o| !matches!(o.status, FoStatus::Complete | FoStatus::Cancelled | FoStatus::Unfulfillable))
                    .count()
            });
            let crm = self.dataverse.row_count("salesorders");
            if crm >= want && open == 0 && q.ready + q.scheduled + q.running == 0 {
                quiet += 1;
                if quiet >= 8 {
                    return;
                }
            } else {
                quiet = 0;
            }
            assert!(Instant::now() < deadline, "not settled: {crm}/{want} CRM orders, {open} open fulfilments, {q:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every check the issue names, through the Dataverse Web API.
    async fn verify(&self, valid: &[String]) {
        let query =
            Query::new().expand("order_details", &["quantity", "priceperunit", "_productid_value", "new_sourcelineid"]);
        let rows = self.crm.query_all("salesorders", &query, None).await.expect("orders");
        let mut by_number: HashMap<String, Vec<&ferry_connectors::dataverse::Record>> = HashMap::new();
        for row in &rows {
            by_number.entry(row.str("ordernumber").unwrap_or_default().to_owned()).or_default().push(row);
        }
        assert_eq!(rows.len(), valid.len(), "one CRM order per valid Amazon order and nothing else");
        let products = self.crm.query_all("products", &Query::new(), None).await.expect("products");
        let sku_of: HashMap<String, String> = products
            .iter()
            .filter_map(|p| Some((p.str("productid")?.to_owned(), p.str("productnumber")?.to_owned())))
            .collect();
        let fulfilment = self.amazon.with_fulfillment(|f| {
            f.orders
                .values()
                .map(|o| {
                    (
                        o.request["displayableOrderId"].as_str().unwrap_or_default().to_owned(),
                        (o.status, o.package.as_ref().map(|p| p.tracking_number.clone())),
                    )
                })
                .collect::<Vec<_>>()
        });
        self.amazon.with_orders(|o| {
            for id in valid {
                let order = &o.by_id[id];
                let found = by_number.get(id).unwrap_or_else(|| panic!("order {id} is not in the CRM"));
                assert_eq!(found.len(), 1, "order {id} exists exactly once");
                let row = found[0];
                let lines = row.get("order_details").and_then(Value::as_array).cloned().unwrap_or_default();
                assert_eq!(lines.len(), order.items.len(), "order {id} has its {} lines once each", order.items.len());
                for item in &order.items {
                    let line = lines
                        .iter()
                        .find(|l| l["new_sourcelineid"] == json!(format!("{id}.{}", item.item_id)))
                        .unwrap_or_else(|| panic!("order {id} line {} missing", item.item_id));
                    assert_eq!(line["quantity"].as_f64(), Some(f64::from(item.quantity)), "order {id} quantity");
                    let price: ferry_model::Decimal = line["priceperunit"].to_string().parse().expect("price");
                    assert_eq!(price, item.unit_price, "order {id} unit price");
                    let product = line["_productid_value"].as_str().and_then(|p| sku_of.get(p));
                    assert_eq!(product, Some(&item.sku), "order {id} line product is SKU {}", item.sku);
                }
                let total: ferry_model::Decimal =
                    row.get("totalamount").map(|v| v.to_string()).unwrap_or_default().parse().expect("total");
                assert_eq!(total, order.total(), "order {id} total");
                let state = row.get("statecode").and_then(Value::as_i64);
                let shipped_by_fba = fulfilment.iter().any(|(n, (s, _))| n == id && *s == FoStatus::Complete);
                let want = match order.status {
                    Status::Unshipped if shipped_by_fba => 3,
                    Status::Unshipped => 1,
                    Status::Shipped => 3,
                    Status::Canceled => 2,
                    other => panic!("order {id} has unexpected status {other:?}"),
                };
                assert_eq!(state, Some(want), "order {id} ({:?}) state", order.status);
                // F2: MFN orders the seller ships with at least one FBA line → one fulfilment order.
                let fba_lines = order
                    .items
                    .iter()
                    .filter(|i| self.skus.iter().position(|s| s == &i.sku).is_none_or(|n| n % 5 != 4))
                    .count();
                let eligible = order.status == Status::Unshipped && !order.fulfilled_by_amazon && fba_lines > 0;
                let made: Vec<_> = fulfilment.iter().filter(|(n, _)| n == id).collect();
                assert_eq!(made.len(), usize::from(eligible), "order {id}: fulfilment orders");
                if let Some((_, (FoStatus::Complete, Some(tracking)))) = made.first() {
                    assert_eq!(
                        row.str("new_trackingnumber"),
                        Some(tracking.as_str()),
                        "order {id} tracking in the CRM"
                    );
                }
            }
        });
    }

    /// Adds the unknown SKUs as products (and FBA stock) and replays every dead letter.
    async fn fix_and_replay(&self, store: &AnyStore, unknown: &[String]) {
        let tenant = ferry_model::TenantId::try_from("default".to_string()).expect("tenant");
        let dead = store.dead_letters(&tenant, true, 10_000).await.expect("dead letters");
        let missing: Vec<String> = self.amazon.with_orders(|o| {
            unknown
                .iter()
                .flat_map(|id| o.by_id[id].items.iter().filter(|i| !self.skus.contains(&i.sku)).map(|i| i.sku.clone()))
                .collect()
        });
        for id in unknown {
            let sku = self
                .amazon
                .with_orders(|o| o.by_id[id].items.iter().find(|i| !self.skus.contains(&i.sku)).map(|i| i.sku.clone()));
            let sku = sku.expect("unknown sku");
            assert!(
                dead.iter().any(|d| d.error.contains(id.as_str()) && d.error.contains(&sku)),
                "order {id} is a dead letter naming SKU {sku}"
            );
        }
        for sku in &missing {
            add_product(&self.crm, sku, "FBA").await;
            self.amazon.with_fulfillment(|f| {
                f.inventory.insert(sku.clone(), 100);
            });
        }
        for d in dead {
            store.replay_dead_letter(&tenant, d.id, None, "test").await.expect("replay");
        }
    }
}

/// A CRM order a salesperson submits: two FBA lines, a US ship-to address.
async fn submit_order(w: &World, products: &HashMap<String, String>, n: usize) -> String {
    let body = json!({
        "name": format!("Phone order {n}"),
        "shipto_name": "Jo Buyer",
        "shipto_line1": format!("{} Pine St", 100 + n),
        "shipto_city": "Seattle",
        "shipto_stateorprovince": "WA",
        "shipto_postalcode": "98101",
        "shipto_country": "US",
    });
    let id = w.crm.create("salesorders", body.as_object().expect("object")).await.expect("create order");
    for (line, sku) in w.skus.iter().take(4).enumerate().filter(|(i, _)| i % 2 == n % 2) {
        let body = json!({
            "salesorderid@odata.bind": format!("/salesorders({id})"),
            "productid@odata.bind": format!("/products({})", products[sku]),
            "quantity": line + 1,
        });
        w.crm.create("salesorderdetails", body.as_object().expect("object")).await.expect("create line");
    }
    w.crm
        .set_sales_order_state(id, ferry_connectors::dataverse::models::SalesOrderState::Submitted)
        .await
        .expect("submit");
    id.to_string()
}

/// F2 through 20 SIGKILLs: CRM orders are submitted while the node is killed and restarted at
/// random moments (each status change reaches it twice, by notification and by poll). At the
/// end every order is fulfilled by Amazon once, closed in the CRM by exactly one successful
/// FulfillSalesOrder with exactly one task, and nothing is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f2_killed_twenty_times_closes_each_crm_order_exactly_once() {
    let (w, _) = world("f2-kill", 0).await;
    f2_kill_scenario(w, 1).await;
}

/// The same on PostgreSQL with two nodes sharing it, one of them killed at each round: the
/// jobs of one record never run on both at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_killed_twenty_times_close_each_crm_order_exactly_once() {
    let Some(url) = super::support::pg_url("f2_kill").await else { return };
    let (w, _) = world_on("f2-kill-pg", 0, Some(url)).await;
    f2_kill_scenario(w, 2).await;
}

async fn f2_kill_scenario(w: World, nodes: usize) {
    const KILLS: usize = 20;
    const PER_ROUND: usize = 2;
    let products: HashMap<String, String> = w
        .crm
        .query_all("products", &Query::new(), None)
        .await
        .expect("products")
        .iter()
        .filter_map(|p| Some((p.str("productnumber")?.to_owned(), p.str("productid")?.to_owned())))
        .collect();
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut orders = Vec::new();
    let configs: Vec<std::path::PathBuf> =
        (0..nodes).map(|n| if n == 0 { w.config.clone() } else { w.second_node_config() }).collect();
    let mut children: Vec<Child> = configs.iter().map(|c| w.start_with(c)).collect();
    for round in 0..KILLS {
        for _ in 0..PER_ROUND {
            orders.push(submit_order(&w, &products, orders.len()).await);
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(500..1_500))).await;
        let victim = round % nodes;
        children[victim].kill().expect("SIGKILL");
        let _ = children[victim].wait();
        let closed = w.dataverse.rows("salesorders").iter().filter(|r| r["statecode"] == json!(3)).count();
        assert!(
            round < KILLS / 2 || closed < orders.len(),
            "every order was closed before kill {round}: the kills would prove nothing (seed {seed})"
        );
        children[victim] = w.start_with(&configs[victim]);
    }
    let store = w.store().await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let closed = w.dataverse.rows("salesorders").iter().filter(|r| r["statecode"] == json!(3)).count();
        let q = store.queue_stats().await.expect("stats");
        if closed == orders.len() && q.ready + q.scheduled + q.running == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{closed}/{} orders closed, queue {q:?} (seed {seed})", orders.len());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Let the twins that arrive late (the next fulfilment poll) run too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for child in &mut children {
        child.kill().expect("stop");
        let _ = child.wait();
    }

    let per_order = |set: &str, column: &str| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for row in w.dataverse.rows(set) {
            if let Some(order) = row.get(column).and_then(Value::as_str) {
                *counts.entry(order.to_owned()).or_default() += 1;
            }
        }
        counts
    };
    let closures = per_order("orderclosures", "_salesorderid_value");
    let tasks = per_order("tasks", "_regardingobjectid_value");
    for id in &orders {
        assert_eq!(closures.get(id), Some(&1), "CRM order {id}: closures (seed {seed})");
        assert_eq!(tasks.get(id), Some(&1), "CRM order {id}: tasks (seed {seed})");
    }
    let attempts: u64 = w
        .dataverse
        .requests_by_kind()
        .into_iter()
        .filter(|(k, _)| k == "POST FulfillSalesOrder" || k == "POST CancelSalesOrder")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(attempts, orders.len() as u64, "one close per order was ever sent, none refused (seed {seed})");
    let made = w.amazon.with_fulfillment(|f| f.orders.len());
    assert_eq!(made, orders.len(), "one fulfilment order per CRM order");
    let tenant = ferry_model::TenantId::try_from("default".to_string()).expect("tenant");
    let dead = store.dead_letters(&tenant, true, 50).await.expect("dead letters");
    assert!(dead.is_empty(), "no dead letter: {:?}", dead.iter().map(|d| &d.error).collect::<Vec<_>>());
    eprintln!(
        "F2 kill test ({nodes} node(s), {}): {KILLS} kills, {} orders, seed {seed}",
        store.backend(),
        orders.len()
    );
}

async fn scenario(name: &str, kills: usize) {
    let (w, ids) = world(name, 500).await;
    let (valid, unknown) = w.expected(&ids);
    assert!(!unknown.is_empty(), "the seed has unknown SKUs");
    w.amazon.faults().set(FaultConfig { error_rate: 0.05, ..FaultConfig::default() });
    w.dataverse.faults().set(FaultConfig { error_rate: 0.05, ..FaultConfig::default() });
    let mut child = w.start();
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.dataverse.faults().start_outage(Duration::from_secs(10));
    let mut rng = fastrand::Rng::with_seed(kills as u64 + 11);
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.u64(700..2_500))).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        child = w.start();
    }
    let store = w.store().await;
    w.settle(&store, valid.len(), Duration::from_secs(240)).await;
    w.amazon.faults().set(FaultConfig::default());
    w.dataverse.faults().set(FaultConfig::default());
    w.fix_and_replay(&store, &unknown).await;
    let all: Vec<String> = valid.iter().chain(&unknown).cloned().collect();
    w.settle(&store, all.len(), Duration::from_secs(120)).await;
    if kills == 0 {
        // One process saw every order through: each CRM write is in the latency histogram.
        let written = w.latencies_observed().await;
        assert!(written >= all.len() as u64, "end-to-end latency observed {written} times for {} orders", all.len());
        w.known_changes_cost_no_request(&store, &all).await;
    }
    child.kill().expect("stop");
    let _ = child.wait();
    let tenant = ferry_model::TenantId::try_from("default".to_string()).expect("tenant");
    for d in store.dead_letters(&tenant, true, 50).await.expect("dead letters") {
        eprintln!("open dead letter after replay: {} {} {}", d.flow, d.step, d.error);
    }
    w.verify(&all).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_orders_through_faults_an_outage_and_throttling() {
    scenario("flows-e2e", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_run_killed_at_random_moments_ends_in_the_same_state() {
    scenario("flows-e2e-kill", 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_of_new_buyers_running_at_once_create_one_contact_per_buyer_without_a_key() {
    let (w, ids) = world("flows-buyers", 60).await;
    // The org has no key on contacts: setup creates none there.
    let keys = w.crm.entity_keys("contact").await.expect("contact keys");
    assert!(keys.is_empty(), "{keys:?}");
    // Twenty orders for each of three buyers the CRM does not know, all queued together.
    let buyers = ["alice.new@example.com", "Bob.New@Example.com", "carol.new@example.com"];
    w.amazon.with_orders(|o| {
        for (n, order) in o.by_id.values_mut().enumerate() {
            order.buyer_email = buyers[n % buyers.len()].to_owned();
        }
    });
    let (valid, _) = w.expected(&ids);
    let mut child = w.start();
    let store = w.store().await;
    w.settle(&store, valid.len(), Duration::from_secs(120)).await;
    child.kill().expect("stop");
    let _ = child.wait();
    let contacts = w
        .crm
        .query_all("contacts", &Query::new().select(&["contactid", "emailaddress1"]), None)
        .await
        .expect("contacts");
    let orders =
        w.crm.query_all("salesorders", &Query::new().select(&["_customerid_value"]), None).await.expect("orders");
    assert_eq!(orders.len(), valid.len());
    for buyer in buyers {
        let email = buyer.to_lowercase();
        let mine: Vec<_> = contacts.iter().filter(|c| c.str("emailaddress1") == Some(email.as_str())).collect();
        assert_eq!(mine.len(), 1, "one contact for {email}: {mine:?}");
        let id = mine[0].str("contactid").expect("contactid");
        let theirs = orders.iter().filter(|o| o.str("_customerid_value") == Some(id)).count();
        assert!(theirs > 0, "orders of {email} are bound to its contact");
    }
    // Amazon shares the buyer of every order but canceled ones.
    let with_buyer = w.amazon.with_orders(|o| valid.iter().filter(|id| o.by_id[*id].status.shares_address()).count());
    assert_eq!(
        orders.iter().filter(|o| o.str("_customerid_value").is_some()).count(),
        with_buyer,
        "every order whose buyer Amazon shares is bound to the buyer's contact"
    );
}

/// A changed F1 mapping set as a shadow of the running one (as the console's designer saves
/// it) maps each live order beside it: the CRM gets only what the running version writes, and
/// the store reports, order by order, the field the shadow would have written differently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_f1_mapping_over_a_hundred_orders_writes_nothing_and_reports_the_diff() {
    use ferry_store::{Activate, FlowHeadChange};
    const F1: &str = "amazon-orders-to-crm";
    let (w, _) = world("flows-shadow", 0).await;
    // Shadow results are sealed under the node's key, as payloads are.
    let (key, _) = ferry_store::secrets::MasterKey::load(&w.dir.path().join("data/master.key")).expect("master key");
    let store = w.store().await.with_payload_key(std::sync::Arc::new(key));
    let tenant = ferry_model::TenantId::try_from("default".to_string()).expect("tenant");
    let mut child = w.start();
    // The node imports the flows folder as version 1 of each flow when it starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let versions = store.flow_versions(&tenant, Some(F1)).await.expect("versions");
        if let Some(v) = versions.into_iter().next() {
            break v;
        }
        assert!(Instant::now() < deadline, "the node did not import its flows");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let changed =
        running.text.replace(r#"name: "AMZ-{{ order.id.id }}""#, r#"name: "Amazon {{ order.id.id }}""#).replace(
            r#"description: "Amazon order {{ order.id.id }} ({{ order.fulfillment_channel }})""#,
            r#"description: "Order {{ order.id.id }} from Amazon""#,
        );
    assert_ne!(changed, running.text);
    let (shadow, _) =
        store.add_flow_version(&tenant, F1, &changed, "test", Activate::Never, "test").await.expect("draft");
    store.set_flow_head(&tenant, F1, FlowHeadChange::Shadow(Some(shadow)), "test").await.expect("shadow");
    // The node rebuilds its flows within a refresh; one order at a time until the shadow maps.
    let mut probes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while store.shadow_report(&tenant, F1, shadow, 1).await.expect("report").records == 0 {
        assert!(Instant::now() < deadline, "the shadow never ran");
        probes.extend(w.amazon.seed_orders(1, 0.0));
        let (valid, _) = w.expected(&probes);
        w.settle(&store, valid.len(), Duration::from_secs(60)).await;
    }
    let before = store.shadow_report(&tenant, F1, shadow, 1).await.expect("report").records;

    let ids = w.amazon.seed_orders(100, 0.0);
    let all: Vec<String> = probes.iter().chain(&ids).cloned().collect();
    let (valid, _) = w.expected(&all);
    w.settle(&store, valid.len(), Duration::from_secs(180)).await;
    child.kill().expect("stop");
    let _ = child.wait();

    let report = store.shadow_report(&tenant, F1, shadow, 1000).await.expect("report");
    let (new_valid, _) = w.expected(&ids);
    assert_eq!(report.records, before + ids.len() as u64, "each live order is mapped by the shadow too, once");
    for id in &new_valid {
        let result = report
            .results
            .iter()
            .find(|r| r.record.ends_with(id.as_str()))
            .unwrap_or_else(|| panic!("no shadow result for {id}"));
        let diff: Vec<Value> = serde_json::from_str(&result.diff).expect("diff");
        assert_eq!(result.differing as usize, diff.len());
        let field = |name: &str| diff.iter().find(|d| d["field"] == name).unwrap_or_else(|| panic!("{id}: {diff:?}"));
        let description = field("fields.description");
        assert!(description["current"].as_str().unwrap().starts_with(&format!("Amazon order {id} (")), "{id}");
        assert_eq!(description["shadow"], json!(format!("Order {id} from Amazon")), "{id}");
        // A field named like personal data is shown redacted, whatever it holds.
        assert_eq!(field("fields.name")["current"], json!("<redacted>"));
        assert_eq!(field("fields.name")["shadow"], json!("<redacted>"));
        assert_eq!(diff.len(), 2, "only the changed fields differ: {diff:?}");
    }
    assert!(report.differing_records >= new_valid.len() as u64);
    // The CRM holds what the running version wrote, and nothing of the shadow's.
    let columns = ["name", "ordernumber", "description"];
    let rows = w.crm.query_all("salesorders", &Query::new().select(&columns), None).await.expect("orders");
    assert_eq!(rows.len(), valid.len(), "one CRM order per order, none from the shadow");
    for row in &rows {
        let number = row.str("ordernumber").unwrap_or_default();
        assert_eq!(row.str("name"), Some(format!("AMZ-{number}").as_str()), "the running mapping wrote {number}");
        assert!(row.str("description").unwrap_or_default().starts_with("Amazon order "), "{number}");
    }
    let head = store.flow_heads(&tenant).await.expect("heads").into_iter().find(|h| h.flow == F1).expect("head");
    assert_eq!((head.active, head.shadow), (running.version, Some(shadow)), "the shadow never ran in its place");
}
