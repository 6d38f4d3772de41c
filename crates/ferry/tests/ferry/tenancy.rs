//! One `ferry run` node serving three sellers, each with its own Amazon account and CRM (a
//! sandbox pair each) and its own flow settings: `seller-a` (the config's tenant, buyer data
//! `guest`), `seller-b` (added from the CLI, `full` buyer data) and `seller-c` (added from the
//! CLI, F2 switched off). Each CRM gets exactly its seller's orders; a fourth seller added
//! while the node runs starts syncing without a restart; the node's metrics keep the tenants'
//! series apart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ferry_connectors::dataverse::{DataverseClient, DataverseConfig, RecordKey};
use ferry_sandbox::amazon::state::Status;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DataverseSandbox, DataverseSandboxConfig,
};
use ferry_store::secrets::SecretValue;
use serde_json::json;

use super::support::{TempDir, ferry, run_with_stdin, text};

const ORDERS: usize = 40;
const SPEEDUP: f64 = 100.0;

/// One seller's Amazon account and CRM.
struct Seller {
    tenant: &'static str,
    amazon: AmazonSandbox,
    amazon_cfg: AmazonSandboxConfig,
    crm: DataverseSandbox,
    orders: Vec<String>,
}

impl Seller {
    async fn start(tenant: &'static str, n: u64) -> Seller {
        let amazon_cfg = AmazonSandboxConfig {
            speedup: SPEEDUP,
            order_lifecycle: false,
            seed: 1_000 + n,
            refresh_token: format!("Atzr|{tenant}-refresh-token"),
            seller_id: format!("A{n}SELLER{n}"),
            ..AmazonSandboxConfig::default()
        };
        let amazon = AmazonSandbox::start(amazon_cfg.clone()).await.expect("amazon sandbox");
        let crm = DataverseSandbox::start(DataverseSandboxConfig::default()).await.expect("dataverse sandbox");
        crm.seed_reference_data().expect("reference data");
        Seller { tenant, amazon, amazon_cfg, crm, orders: Vec::new() }
    }

    /// The connection options as `[[connections]]` TOML or `--option` pairs share them.
    fn amazon_options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("marketplace_ids", format!("[\"{}\"]", self.amazon_cfg.marketplace_id)),
            ("token_url", format!("\"{}\"", self.amazon.token_url())),
            ("fulfilment_poll_seconds", "1".into()),
        ]
    }

    fn crm_options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("tenant", format!("\"{DEFAULT_TENANT}\"")),
            ("client_id", format!("\"{DEFAULT_CLIENT_ID}\"")),
            ("authority", format!("\"{}\"", self.crm.authority_url())),
        ]
    }

    fn secrets(&self) -> Vec<(&'static str, String)> {
        vec![
            ("amazon.client_id", self.amazon_cfg.client_id.clone()),
            ("amazon.client_secret", self.amazon_cfg.client_secret.clone()),
            ("amazon.refresh_token", self.amazon_cfg.refresh_token.clone()),
            ("crm.client_secret", DEFAULT_CLIENT_SECRET.into()),
        ]
    }

    /// Seeds the CRM's catalogue (after `ferry setup` made its key) and Amazon's orders.
    async fn seed(&mut self) {
        let crm = DataverseClient::new(
            DataverseConfig::new(
                self.crm.base_url(),
                DEFAULT_TENANT,
                DEFAULT_CLIENT_ID,
                SecretValue::new(DEFAULT_CLIENT_SECRET),
            )
            .with_authority(self.crm.authority_url()),
        )
        .expect("client");
        for n in 0..ferry_sandbox::amazon::seed::CATALOG_SIZE {
            let sku = ferry_sandbox::amazon::seed::catalog_sku(n);
            let body = json!({ "name": format!("Product {sku}"), "new_fulfillmentchannel": "FBA" });
            crm.upsert("products", &RecordKey::alternate("productnumber", sku.as_str()), body.as_object().unwrap())
                .await
                .expect("product");
        }
        self.orders = self.amazon.seed_orders(ORDERS, 0.0);
    }

    /// The orders F1 writes: all but the Pending ones.
    fn expected(&self) -> BTreeSet<String> {
        self.amazon
            .with_orders(|o| self.orders.iter().filter(|id| o.by_id[*id].status != Status::Pending).cloned().collect())
    }

    /// The Amazon order ids of the CRM's sales orders, and whether any came twice.
    fn in_crm(&self) -> (BTreeSet<String>, bool) {
        let mut ids = BTreeSet::new();
        let mut twice = false;
        for row in self.crm.rows("salesorders") {
            if let Some(id) = row.get("new_amazonorderid").and_then(|v| v.as_str()) {
                twice |= !ids.insert(id.to_owned());
            }
        }
        (ids, twice)
    }
}

/// Flow files with polls every second; `buyer_pii` for F1; `f2` whether F2 runs.
fn write_flows(dir: &Path, buyer_pii: &str, f2: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let f1 = std::fs::read_to_string(shipped.join("amazon-orders-to-crm.yaml")).unwrap();
    let f1 = f1.replace("every: 5m", "every: 1s").replace("buyer_pii: full", &format!("buyer_pii: {buyer_pii}"));
    std::fs::write(dir.join("amazon-orders-to-crm.yaml"), f1).unwrap();
    let f2_text =
        std::fs::read_to_string(shipped.join("crm-orders-to-fba.yaml")).unwrap().replace("every: 2m", "every: 1s");
    let f2_text = if f2 {
        f2_text
    } else {
        f2_text.replacen("\nname: crm-orders-to-fba\n", "\nname: crm-orders-to-fba\nenabled: false\n", 1)
    };
    std::fs::write(dir.join("crm-orders-to-fba.yaml"), f2_text).unwrap();
}

fn cli(dir: &Path, config: &Path, tenant: &str, args: &[&str]) {
    let out = ferry(dir).arg("--config").arg(config).args(["--tenant", tenant]).args(args).output().unwrap();
    assert!(out.status.success(), "ferry {args:?} for {tenant}: {:?}", text(&out));
}

/// Adds `seller` as a tenant from the CLI: the tenant, its connections, secrets, CRM set-up.
fn add_from_cli(dir: &Path, config: &Path, node_tenant: &str, seller: &Seller) {
    cli(dir, config, node_tenant, &["tenants", "add", seller.tenant]);
    let mut amazon = vec!["connections", "add", "amazon", "--system", "amazon", "--endpoint"];
    let endpoint = seller.amazon.base_url().to_owned();
    amazon.push(&endpoint);
    let options: Vec<String> = seller.amazon_options().iter().map(|(k, v)| format!("{k}={v}")).collect();
    for o in &options {
        amazon.extend(["--option", o]);
    }
    amazon.extend(["--limit", "scale=100"]);
    cli(dir, config, seller.tenant, &amazon);
    let crm_endpoint = seller.crm.base_url().to_owned();
    let mut crm = vec!["connections", "add", "crm", "--system", "dataverse", "--endpoint", &crm_endpoint];
    let options: Vec<String> = seller.crm_options().iter().map(|(k, v)| format!("{k}={v}")).collect();
    for o in &options {
        crm.extend(["--option", o]);
    }
    cli(dir, config, seller.tenant, &crm);
    set_secrets(dir, config, seller);
    cli(dir, config, seller.tenant, &["setup", "crm"]);
}

fn set_secrets(dir: &Path, config: &Path, seller: &Seller) {
    for (name, value) in seller.secrets() {
        let mut cmd = ferry(dir);
        cmd.arg("--config").arg(config).args(["--tenant", seller.tenant, "secrets", "set", name]);
        let out = run_with_stdin(&mut cmd, &value);
        assert!(out.status.success(), "{:?}", text(&out));
    }
}

fn spawn(dir: &Path, config: &Path) -> Child {
    let log = std::fs::File::create(dir.join("node.log")).unwrap();
    ferry(dir).arg("--config").arg(config).arg("run").stdout(Stdio::null()).stderr(Stdio::from(log)).spawn().unwrap()
}

/// Waits until every seller's CRM holds exactly its expected orders.
async fn synced(sellers: &[&Seller], dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = sellers.iter().all(|s| s.in_crm().0 == s.expected());
        if done {
            return;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
            for s in sellers {
                let (got, _) = s.in_crm();
                eprintln!("{}: {} of {} orders", s.tenant, got.len(), s.expected().len());
            }
            panic!("not synced within two minutes; node log tail:\n{}", &log[log.len().saturating_sub(4000)..]);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_serves_three_sellers_apart_and_a_fourth_added_while_it_runs() {
    let dir = TempDir::new("tenancy");
    let mut a = Seller::start("seller-a", 1).await;
    let mut b = Seller::start("seller-b", 2).await;
    let mut c = Seller::start("seller-c", 3).await;
    let mut d = Seller::start("seller-d", 4).await;
    let flows = dir.path().join("flows");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let toml_options =
        |options: Vec<(&str, String)>| options.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
    let config: PathBuf = dir.path().join("ferry.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\ntenant = \"seller-a\"\ndata_dir = \"{}\"\nflows_dir = \"{}\"\nlisten = \"127.0.0.1:{port}\"\n\n\
             [store]\nurl = \"sqlite://{}\"\n\n[workers]\ncount = 2\nconcurrency = 16\n\n\
             [[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"{}\"\nlimits = {{ scale = 100 }}\n\
             options = {{ {} }}\n\n[[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"{}\"\n\
             options = {{ {} }}\n",
            dir.path().join("data").display(),
            flows.display(),
            dir.path().join("data/ferry.db").display(),
            a.amazon.base_url(),
            toml_options(a.amazon_options()),
            a.crm.base_url(),
            toml_options(a.crm_options()),
        ),
    )
    .unwrap();
    write_flows(&flows, "guest", true);
    write_flows(&flows.join("seller-b"), "full", true);
    write_flows(&flows.join("seller-c"), "guest", false);
    set_secrets(dir.path(), &config, &a);
    cli(dir.path(), &config, "seller-a", &["setup", "crm"]);
    add_from_cli(dir.path(), &config, "seller-a", &b);
    add_from_cli(dir.path(), &config, "seller-a", &c);
    for s in [&mut a, &mut b, &mut c] {
        s.seed().await;
    }
    // `ferry connections test` checks each remote accepts the credentials.
    for id in ["amazon", "crm"] {
        let out = ferry(dir.path())
            .arg("--config")
            .arg(&config)
            .args(["--tenant", "seller-b", "connections", "test", id])
            .output()
            .unwrap();
        let (o, e) = text(&out);
        assert!(out.status.success() && o.contains(&format!("connection `{id}`")) && o.contains("OK"), "{o}\n{e}");
    }
    let bad_crm = c.crm.base_url().to_owned();
    cli(
        dir.path(),
        &config,
        "seller-c",
        &[
            "connections",
            "add",
            "crm-bad",
            "--system",
            "dataverse",
            "--endpoint",
            &bad_crm,
            "--credentials",
            "bad",
            "--option",
            &format!("tenant=\"{DEFAULT_TENANT}\""),
            "--option",
            &format!("client_id=\"{DEFAULT_CLIENT_ID}\""),
            "--option",
            &format!("authority=\"{}\"", c.crm.authority_url()),
        ],
    );
    let mut cmd = ferry(dir.path());
    cmd.arg("--config").arg(&config).args(["--tenant", "seller-c", "secrets", "set", "bad.client_secret"]);
    assert!(run_with_stdin(&mut cmd, "not-the-secret").status.success());
    let out = ferry(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["--tenant", "seller-c", "connections", "test", "crm-bad"])
        .output()
        .unwrap();
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o}\n{e}");
    assert!(e.contains("connection `crm-bad` (dataverse):") && !e.contains("not-the-secret"), "{e}");
    cli(dir.path(), &config, "seller-c", &["connections", "remove", "crm-bad"]);
    let mut node = spawn(dir.path(), &config);

    synced(&[&a, &b, &c], dir.path()).await;
    for s in [&a, &b, &c] {
        let (got, twice) = s.in_crm();
        assert!(!twice, "{}: an order came twice", s.tenant);
        assert_eq!(got, s.expected(), "{}'s CRM holds exactly its seller's orders", s.tenant);
    }
    let all: Vec<&String> = a.orders.iter().chain(&b.orders).chain(&c.orders).collect();
    assert_eq!(all.len(), all.iter().collect::<BTreeSet<_>>().len(), "the sellers' order ids are distinct");

    // `ferry status` shows the selected tenant's queue and its hosts' breakers only;
    // `--all-tenants` the node's totals with a line per tenant.
    let status = |tenant: &str, extra: &[&str]| -> serde_json::Value {
        let out = ferry(dir.path())
            .arg("--config")
            .arg(&config)
            .args(["--tenant", tenant, "status", "--json"])
            .args(extra)
            .output()
            .unwrap();
        let (o, e) = text(&out);
        assert!(out.status.success(), "{o}\n{e}");
        serde_json::from_str(&o).unwrap_or_else(|err| panic!("{err}: {o}"))
    };
    let of_b = status("seller-b", &[]);
    assert_eq!(of_b["tenant"], "seller-b", "{of_b}");
    let every = status("seller-a", &["--all-tenants"]);
    let completed = |v: &serde_json::Value| v["queue"]["completed"].as_u64().unwrap();
    assert!(completed(&of_b) > 0, "seller-b's jobs ran: {of_b}");
    assert!(completed(&of_b) < completed(&every), "seller-b's status is not the node's: {of_b}\n{every}");
    let listed: Vec<&str> =
        every["tenants"].as_array().unwrap().iter().map(|t| t["tenant"].as_str().unwrap()).collect();
    for tenant in ["seller-a", "seller-b", "seller-c"] {
        assert!(listed.contains(&tenant), "{tenant} in {listed:?}");
    }
    let b_hosts: Vec<String> = [b.amazon.base_url().to_owned(), b.crm.base_url()]
        .iter()
        .map(|u| u.split("://").nth(1).unwrap().trim_end_matches('/').to_owned())
        .collect();
    for breaker in of_b["breakers"].as_array().unwrap() {
        let host = breaker["host"].as_str().unwrap();
        assert!(b_hosts.iter().any(|h| h == host), "seller-b's status shows another tenant's host {host}: {of_b}");
    }

    // F2 (and its status companion) runs for seller-a and seller-b and not for seller-c,
    // whose file says `enabled: false`: what the node says it runs per tenant.
    let log = std::fs::read_to_string(dir.path().join("node.log")).unwrap();
    let running = |tenant: &str| {
        log.lines()
            .rfind(|l| l.contains("tenant's flows running") && l.contains(&format!("tenant={tenant}")))
            .unwrap_or_else(|| panic!("no flows line for {tenant} in:\n{log}"))
            .to_owned()
    };
    assert!(running("seller-a").contains("crm-orders-to-fba.status"), "{}", running("seller-a"));
    assert!(running("seller-b").contains("crm-orders-to-fba"), "{}", running("seller-b"));
    assert!(!running("seller-c").contains("crm-orders-to-fba"), "{}", running("seller-c"));
    assert!(running("seller-c").contains("amazon-orders-to-crm"), "{}", running("seller-c"));

    // A fourth seller, added while the node runs, starts syncing without a restart (its
    // flows folder comes last: the tenant starts once it has flows).
    add_from_cli(dir.path(), &config, "seller-a", &d);
    d.seed().await;
    write_flows(&flows.join("seller-d"), "guest", true);
    synced(&[&d], dir.path()).await;
    for s in [&a, &b, &c] {
        assert_eq!(s.in_crm().0, s.expected(), "{} unchanged by seller-d", s.tenant);
    }

    // Each tenant's calls are its own series.
    let metrics = reqwest_get(port, "/metrics").await;
    for tenant in ["seller-a", "seller-b", "seller-d"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("ferry_api_requests_total{") && l.contains(&format!("tenant=\"{tenant}\""))),
            "no API series of {tenant} in:\n{metrics}"
        );
    }

    // The admin API tests a connection of the token's tenant, and only of it.
    let out = ferry(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["--tenant", "seller-b", "tokens", "create", "--role", "admin"])
        .output()
        .unwrap();
    let admin_b = text(&out).0.trim().to_owned();
    let http = ferry_connectors::http::client(&Default::default()).unwrap();
    let test = |token: String, id: &str| {
        http.post(format!("http://127.0.0.1:{port}/api/v1/connections/{id}/test")).bearer_auth(token).send()
    };
    let answer = test(admin_b.clone(), "crm").await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(body["ok"], true, "seller-b's CRM accepts its credentials: {body}");
    assert_eq!(
        test(admin_b.clone(), "crm-bad").await.unwrap().status().as_u16(),
        404,
        "seller-c's removed connection is not seller-b's"
    );

    // The console's limits are the runtime's, each tenant's own: seller-b reads every order
    // with getOrder (`full`), seller-c only pages through searchOrders (`guest`).
    let out = ferry(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["--tenant", "seller-c", "tokens", "create", "--role", "viewer"])
        .output()
        .unwrap();
    let viewer_c = text(&out).0.trim().to_owned();
    let get_json = |token: String, path: &str| {
        let (request, path) =
            (http.get(format!("http://127.0.0.1:{port}/api/v1/{path}")).bearer_auth(token), path.to_owned());
        async move {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status().as_u16(), 200, "{path}");
            serde_json::from_str::<serde_json::Value>(&answer.text().await.unwrap()).unwrap()
        }
    };
    let operations = |limits: &serde_json::Value| -> Vec<String> {
        limits["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| format!("{}/{}", b["connection"], b["operation"]))
            .collect()
    };
    let of_b = get_json(admin_b.clone(), "limits").await;
    assert_eq!(of_b["runtime"], true, "{of_b}");
    let (b_ops, c_ops) = (operations(&of_b), operations(&get_json(viewer_c.clone(), "limits").await));
    assert!(b_ops.iter().any(|o| o.ends_with("/getOrder\"")), "seller-b's getOrder budget: {b_ops:?}");
    assert!(b_ops.iter().any(|o| o.starts_with("\"crm\"/")), "and its CRM's: {b_ops:?}");
    assert!(!c_ops.is_empty() && !c_ops.iter().any(|o| o.ends_with("/getOrder\"")), "not seller-b's: {c_ops:?}");
    for b in of_b["budgets"].as_array().unwrap() {
        let (tokens, burst) = (b["tokens"].as_f64().unwrap(), b["burst"].as_f64().unwrap());
        assert!(tokens >= 0.0 && tokens <= burst, "{b}");
    }
    let tenants = get_json(viewer_c.clone(), "tenants").await;
    assert_eq!(tenants.as_array().unwrap().len(), 1, "its own tenant only: {tenants}");
    assert_eq!(tenants[0]["id"], "seller-c");
    let kinds: Vec<&str> =
        tenants[0]["connections"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["amazon", "dataverse"], "{tenants}");
    let answer = http.get(format!("http://127.0.0.1:{port}/api/v1/tenants/seller-b")).bearer_auth(viewer_c).send();
    assert_eq!(answer.await.unwrap().status().as_u16(), 404, "another tenant's id");

    // Disabled, a seller's flows stop (its queued jobs wait, see `tenants`); enabled, they run.
    let lines = |needle: &str| {
        std::fs::read_to_string(dir.path().join("node.log")).unwrap().lines().filter(|l| l.contains(needle)).count()
    };
    let started_b = lines("tenant's flows running tenant=seller-b");
    cli(dir.path(), &config, "seller-a", &["tenants", "disable", "seller-b"]);
    wait_for(|| lines("tenant stopped tenant=seller-b") == 1, "seller-b to stop").await;
    cli(dir.path(), &config, "seller-a", &["tenants", "enable", "seller-b"]);
    wait_for(|| lines("tenant's flows running tenant=seller-b") == started_b + 1, "seller-b to start again").await;

    node.kill().unwrap();
    node.wait().unwrap();
}

/// A plain HTTP GET on the node's listener.
async fn reqwest_get(port: u16, path: &str) -> String {
    let client = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
    client.get(format!("http://127.0.0.1:{port}{path}")).send().await.unwrap().text().await.unwrap()
}

async fn wait_for(done: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "waited 30 s for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
