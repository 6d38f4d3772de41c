//! The newcomer's first hour, as the README tells it: `ferry sandbox` in one terminal,
//! `ferry run --config <the config it printed>` in another; the CRM fills with the valid
//! Amazon orders and the only dead letters are the unknown-SKU orders, one each.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ferry_connectors::dataverse::query::Query;
use ferry_connectors::dataverse::{DataverseClient, DataverseConfig};
use ferry_store::Store as _;

use super::support::{TempDir, ferry, text};

/// Generous: the whole exchange takes seconds; this only stops a hang.
const WALL: Duration = Duration::from_secs(240);

/// Kills the process when the test ends, however it ends.
pub(super) struct Running(pub(super) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Reads the sandbox's stdout until the line that says how to run the node; returns what it
/// printed so far (the reader thread keeps draining the pipe).
pub(super) fn sandbox_banner(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut banner = String::new();
    let deadline = Instant::now() + WALL;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                banner.push_str(&line);
                banner.push('\n');
                if line.contains("Ctrl-C stops") {
                    return banner;
                }
            }
            Err(_) => panic!("`ferry sandbox` did not finish starting within {WALL:?}; it printed:\n{banner}"),
        }
    }
}

/// `ferry sandbox` in `dir` with `orders` Amazon orders (a share `invalid` with SKUs the CRM
/// lacks), its node to listen on `node_port`; the sandbox and what it printed.
pub(super) fn start_sandbox(dir: &Path, orders: &str, invalid: &str, node_port: u16) -> (Running, String) {
    let mut sandbox = ferry(dir);
    sandbox
        .args(["sandbox", "--orders", orders, "--invalid-sku-share", invalid, "--speedup", "600"])
        .args(["--amazon-port", &free_port().to_string(), "--dataverse-port", &free_port().to_string()])
        .args(["--node-port", &node_port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut sandbox = Running(sandbox.spawn().expect("spawn ferry sandbox"));
    let banner = sandbox_banner(&mut sandbox.0);
    (sandbox, banner)
}

/// The (order id, SKU) of each unknown-SKU order the sandbox's banner lists.
pub(super) fn unknown_skus(banner: &str) -> Vec<(String, String)> {
    banner
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("unknown SKU"))
        .map(|rest| {
            let (order, sku) = rest.trim().strip_prefix("order ").unwrap().split_once(": ").unwrap();
            (order.to_owned(), sku.trim().to_owned())
        })
        .collect()
}

/// `ferry run --config <config>` from `cwd`, its log written to `log`.
pub(super) fn start_node(cwd: &Path, config: &Path, log: &Path) -> Running {
    let mut node = ferry(cwd);
    node.arg("run").arg("--config").arg(config).stdout(Stdio::null()).stderr(std::fs::File::create(log).unwrap());
    Running(node.spawn().expect("spawn ferry run"))
}

pub(super) fn value_after<'a>(text: &'a str, label: &str) -> &'a str {
    let line =
        text.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("no `{label}` in:\n{text}"));
    line.trim_start()[label.len()..].trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_then_run_with_the_printed_config_fills_the_crm_and_dead_letters_only_unknown_skus() {
    let dir = TempDir::new("newcomer");
    let (_sandbox, banner) = start_sandbox(dir.path(), "30", "0.1", free_port());

    // What the sandbox printed: the config, the command, the orders it seeded.
    let config = PathBuf::from(value_after(&banner, "Node config"));
    assert!(config.is_absolute() && config.starts_with(dir.path().canonicalize().unwrap()), "{banner}");
    let command = format!("ferry run --config {}", config.display());
    assert!(banner.lines().any(|l| l.trim() == command), "the exact command is printed:\n{banner}");
    let seeded: usize = value_after(&banner, "orders seeded").split(' ').next().unwrap().parse().unwrap();
    let unknown: Vec<String> = unknown_skus(&banner).into_iter().map(|(order, _)| order).collect();
    assert_eq!(seeded, 30, "{banner}");
    let said: usize = value_after(&banner, "of them unknown").split(' ').next().unwrap().parse().unwrap();
    assert_eq!(said, unknown.len(), "{banner}");
    assert!(banner.contains("products         20 (the Amazon catalogue)"), "{banner}");
    assert!(banner.contains("settlement       report"), "{banner}");

    // The printed config passes `ferry check`, from another folder, with nothing else set.
    let elsewhere = TempDir::new("newcomer-elsewhere");
    let check = ferry(elsewhere.path()).arg("--config").arg(&config).arg("check").output().unwrap();
    let (o, e) = text(&check);
    assert!(check.status.success(), "the printed config passes `ferry check`:\n{o}\n{e}");

    let node_log = dir.path().join("node.log");
    let _node = start_node(elsewhere.path(), &config, &node_log);

    let crm = crm_client(&config);
    let store_url = config_value(&config, &["store", "url"]);
    // Payloads are sealed at rest under the node's master key, in its data folder.
    let data_dir = config_value(&config, &["node", "data_dir"]);
    let (key, _) = ferry_store::secrets::MasterKey::load(&Path::new(&data_dir).join("master.key")).expect("master key");
    let key = std::sync::Arc::new(key);
    let tenant = ferry_model::TenantId::new("default").unwrap();
    let expected_crm = seeded - unknown.len();
    let deadline = Instant::now() + WALL;
    let (mut crm_orders, mut dead): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    while Instant::now() < deadline {
        let rows = crm.query_all("salesorders", &Query::new().select(&["new_amazonorderid"]), None).await;
        crm_orders = rows
            .map(|rows| {
                rows.iter().filter_map(|r| r.fields.get("new_amazonorderid")?.as_str().map(str::to_owned)).collect()
            })
            .unwrap_or_default();
        let store = ferry_store::AnyStore::open(&store_url).await.unwrap().with_payload_key(key.clone());
        dead = store
            .dead_letters(&tenant, false, 1_000)
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|d| {
                serde_json::from_str::<serde_json::Value>(&d.payload).ok()?["order_id"].as_str().map(str::to_owned)
            })
            .collect();
        if crm_orders.len() >= expected_crm && dead.len() >= unknown.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let log = std::fs::read_to_string(&node_log).unwrap_or_default();
    let tail: String = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    assert!(
        crm_orders.len() >= expected_crm && dead.len() >= unknown.len(),
        "within {WALL:?} the CRM should have {expected_crm} orders (has {}) and {} dead letters should exist (has {dead:?});\nsandbox:\n{banner}\nnode log (tail):\n{tail}",
        crm_orders.len(),
        unknown.len()
    );
    let mut distinct = crm_orders.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), crm_orders.len(), "each order once in the CRM");
    assert_eq!(crm_orders.len(), expected_crm, "the CRM has exactly the valid orders");
    assert!(crm_orders.iter().all(|id| !unknown.contains(id)), "no unknown-SKU order in the CRM");
    dead.sort();
    let mut want = unknown.clone();
    want.sort();
    assert_eq!(dead, want, "the dead letters are exactly the unknown-SKU orders, one each");
    assert!(!log.contains("ferry-sandbox-secret"), "no secret in the node's log");
}

pub(super) fn config_value(config: &Path, path: &[&str]) -> String {
    let table: toml::Table = std::fs::read_to_string(config).unwrap().parse().unwrap();
    let mut value = toml::Value::Table(table);
    for key in path {
        value = value.get(key).unwrap_or_else(|| panic!("no {key} in {}", config.display())).clone();
    }
    value.as_str().unwrap().to_owned()
}

/// A Dataverse client for the CRM connection of the printed config.
pub(super) fn crm_client(config: &Path) -> DataverseClient {
    let table: toml::Table = std::fs::read_to_string(config).unwrap().parse().unwrap();
    let crm = table["connections"].as_array().unwrap().iter().find(|c| c["id"].as_str() == Some("crm")).unwrap();
    let option = |name: &str| crm["options"][name].as_str().unwrap().to_owned();
    DataverseClient::new(
        DataverseConfig::new(
            crm["endpoint"].as_str().unwrap(),
            option("tenant"),
            option("client_id"),
            ferry_store::secrets::SecretValue::new(ferry_sandbox::dataverse::DEFAULT_CLIENT_SECRET),
        )
        .with_authority(option("authority"))
        .with_tls(ferry_connectors::http::Tls::from_ca_file(Path::new(&option("ca_file"))).unwrap()),
    )
    .unwrap()
}
