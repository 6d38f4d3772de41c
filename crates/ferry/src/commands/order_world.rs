//! What `ferry demo` and `ferry bench orders` run: the Amazon and Dataverse sandboxes in this
//! process (over HTTPS, with a CA generated for the run), a node on an embedded SQLite file (or a PostgreSQL schema) with the sandbox's test
//! credentials sealed in its secrets table, the server with the Dataverse webhook, and F1/F2.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ferry_connectors::dataverse::{DataverseClient, DataverseConfig, RecordKey};
use ferry_connectors::http::Tls;
use ferry_model::ConnectionId;
use ferry_runtime::Pool;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{
    DataverseSandbox, DataverseSandboxConfig, ServiceLimits, WebhookAuth, WebhookRegistration,
};
use ferry_sandbox::tls::SandboxTls;
use ferry_server::Server;
use ferry_store::secrets::{MasterKey, SecretValue};
use ferry_store::{AnyStore, Store};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{ConnectionConfig, NodeConfig};
use ferry_flows::TenantEngine as Engine;
use ferry_flows::polls::PollStats;

const F1_TEMPLATE: &str = include_str!("../../../../flows/amazon-orders-to-crm.yaml");
/// F1's `name:`.
const F1_NAME: &str = "amazon-orders-to-crm";
const F2_TEMPLATE: &str = include_str!("../../../../flows/crm-orders-to-fba.yaml");

/// How the sandboxes limit the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limits {
    /// Amazon's published plans and Dataverse's service protection limits, with time run
    /// `speedup` times faster; the engine's own limits are scaled the same way.
    Published,
    /// The demo's pace: Amazon as [`Limits::Published`], Dataverse a thirtieth of that.
    Demo,
    /// Nothing refuses a request and the engine never waits for a token.
    Off,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// Sandbox clocks (and, with limits on, rate plans) run this many times faster.
    pub speedup: f64,
    pub limits: Limits,
    /// Seeded Amazon orders move on by themselves (Pending → Unshipped, FBA ones ship).
    pub order_lifecycle: bool,
    /// `None`: an SQLite file in the world's folder.
    pub store_url: Option<String>,
    /// Overrides the F1 file's `settings.buyer_pii` (`full` or `guest`).
    pub buyer_pii: Option<String>,
    /// Consume ORDER_CHANGE and FULFILLMENT_ORDER_STATUS from the sandbox's SQS queue.
    pub notifications: bool,
    /// Run F2 (CRM orders → FBA and tracking back) besides F1.
    pub crm_to_fba: bool,
}

/// A started world: sandboxes, store, engine and server; [`World::start_flows`] sets it moving.
pub struct World {
    pub amazon: AmazonSandbox,
    pub amazon_config: AmazonSandboxConfig,
    pub dataverse: DataverseSandbox,
    pub cfg: NodeConfig,
    pub store: AnyStore,
    pub engine: Arc<Engine>,
    pub metrics: Arc<ferry_server::metrics::Metrics>,
    pub server_addr: std::net::SocketAddr,
    /// The catalogue the CRM has: every SKU the sandbox sells.
    pub skus: Vec<String>,
    pub poll_stats: Arc<PollStats>,
    pool: Option<(Pool<AnyStore>, Refresh)>,
    stop_tx: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// What the world's tenant refresh needs besides the store.
struct Refresh {
    key: Arc<MasterKey>,
    resilience: Arc<ferry_runtime::Resilience>,
    ingress: ferry_server::Ingress<AnyStore>,
}

/// How often the world reads its tenant's flows again (a version, pause or shadow set in the
/// console takes effect within this).
const FLOWS_REFRESH: Duration = Duration::from_secs(1);

/// The demo's catalogue: the Amazon sandbox's SKUs as CRM products; every fifth is shipped
/// by the seller (MFN), the rest by Amazon (FBA).
async fn seed_products(client: &DataverseClient, skus: &[String]) -> anyhow::Result<()> {
    for (n, sku) in skus.iter().enumerate() {
        let channel = if n % 5 == 4 { "MFN" } else { "FBA" };
        let body = json!({ "name": format!("Ferry sample product {}", n + 1), "new_fulfillmentchannel": channel });
        client
            .upsert(
                "products",
                &RecordKey::alternate("productnumber", sku.as_str()),
                body.as_object().unwrap_or(&Default::default()),
            )
            .await
            .map_err(|e| anyhow::anyhow!("seeding product {sku}: {e}"))?;
    }
    Ok(())
}

/// Writes the flow files into `dir`: the shipped ones from `base`'s flows folder when it has
/// them, else the built-in templates; `buyer_pii` overrides F1's setting.
pub fn write_flows(
    base: &NodeConfig,
    dir: &Path,
    crm_to_fba: bool,
    buyer_pii: Option<&str>,
    polls: PollSeconds,
) -> anyhow::Result<()> {
    ferry_store::private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The polls run at the flows' `trigger.poll.every`.
    let seconds = |s: f64| s.max(1.0).ceil() as u64;
    let mut files = vec![("amazon-orders-to-crm.yaml", F1_TEMPLATE, seconds(polls.orders))];
    if crm_to_fba {
        files.push(("crm-orders-to-fba.yaml", F2_TEMPLATE, seconds(polls.crm)));
    }
    for (name, template, every) in files {
        let mut text = std::fs::read_to_string(base.flows_dir.join(name)).unwrap_or_else(|_| template.to_owned());
        text = with_poll_every(&text, every);
        if let Some(pii) = buyer_pii {
            let line = text.lines().find(|l| l.trim_start().starts_with("buyer_pii:")).map(str::to_owned);
            if let Some(line) = line {
                let indent = &line[..line.len() - line.trim_start().len()];
                text = text.replace(&line, &format!("{indent}buyer_pii: {pii}"));
            }
        }
        std::fs::write(dir.join(name), text).with_context(|| format!("cannot write {}", dir.join(name).display()))?;
    }
    Ok(())
}

/// The two sandboxes a node is pointed at, and the CA file it trusts them with.
pub struct Sandboxes<'a> {
    pub amazon: &'a AmazonSandbox,
    pub amazon_config: &'a AmazonSandboxConfig,
    pub dataverse: &'a DataverseSandbox,
    pub ca_file: &'a Path,
}

/// How often (seconds) the node polls: searchOrders (F1's `every`), fulfilment orders (the
/// Amazon connection's `fulfilment_poll_seconds`), CRM changes (F2's `every`).
#[derive(Debug, Clone, Copy)]
pub struct PollSeconds {
    pub orders: f64,
    pub fulfilment: f64,
    pub crm: f64,
}

impl Sandboxes<'_> {
    /// The node's `amazon` and `crm` connections to the sandboxes (credentials `amazon` and
    /// `crm`, see [`seal_sandbox_credentials`]); `notifications` adds the SQS queue.
    pub fn connections(
        &self,
        amazon_scale: f64,
        crm_scale: f64,
        polls: PollSeconds,
        notifications: bool,
    ) -> anyhow::Result<Vec<ConnectionConfig>> {
        let ca_file = self.ca_file.display().to_string();
        let mut amazon_options = json!({
            "marketplace_ids": [self.amazon_config.marketplace_id],
            "ca_file": ca_file,
            "token_url": self.amazon.token_url(),
            "aws_region": self.amazon_config.aws_region,
            "queue_wait_seconds": 1,
            "fulfilment_poll_seconds": polls.fulfilment,
        });
        if notifications {
            amazon_options["queue_url"] = json!(self.amazon.queue_url());
        }
        Ok(vec![
            ConnectionConfig {
                id: ConnectionId::try_from("amazon".to_string())?,
                system: "amazon".into(),
                endpoint: self.amazon.base_url().to_owned(),
                credentials: Some("amazon".into()),
                limits: json!({ "scale": amazon_scale }),
                options: amazon_options,
            },
            ConnectionConfig {
                id: ConnectionId::try_from("crm".to_string())?,
                system: "dataverse".into(),
                endpoint: self.dataverse.base_url(),
                credentials: Some("crm".into()),
                limits: json!({ "scale": crm_scale }),
                options: json!({
                    "tenant": ferry_sandbox::dataverse::DEFAULT_TENANT,
                    "client_id": ferry_sandbox::dataverse::DEFAULT_CLIENT_ID,
                    "authority": self.dataverse.authority_url(),
                    "ca_file": ca_file,
                }),
            },
        ])
    }
}

/// Seals the sandboxes' fixed test credentials (and the Dataverse webhook's key) into the
/// node's secrets table under the names [`Sandboxes::connections`] refers to, as `ferry secrets
/// set` would.
pub async fn seal_sandbox_credentials(
    store: &AnyStore,
    cfg: &NodeConfig,
    key: &MasterKey,
    amazon_config: &AmazonSandboxConfig,
    webhook_key: &str,
) -> anyhow::Result<()> {
    for (name, value) in [
        ("amazon.client_id", amazon_config.client_id.as_str()),
        ("amazon.client_secret", amazon_config.client_secret.as_str()),
        ("amazon.refresh_token", amazon_config.refresh_token.as_str()),
        ("amazon.aws_access_key_id", amazon_config.aws_access_key_id.as_str()),
        ("amazon.aws_secret_access_key", amazon_config.aws_secret_access_key.as_str()),
        ("crm.client_secret", ferry_sandbox::dataverse::DEFAULT_CLIENT_SECRET),
        ("crm.webhook_key", webhook_key),
    ] {
        store.put_secret(&key.seal(&cfg.tenant, name, &SecretValue::new(value))?, "sandbox").await?;
    }
    Ok(())
}

/// Prepares the Dataverse sandbox (a stock org) as `ferry setup crm` would, then gives it the
/// Amazon sandbox's catalogue as products; returns the catalogue's SKUs.
pub async fn prepare_crm(dataverse: &DataverseSandbox, ca_file: &Path) -> anyhow::Result<Vec<String>> {
    let client = DataverseClient::new(
        DataverseConfig::new(
            dataverse.base_url(),
            ferry_sandbox::dataverse::DEFAULT_TENANT,
            ferry_sandbox::dataverse::DEFAULT_CLIENT_ID,
            SecretValue::new(ferry_sandbox::dataverse::DEFAULT_CLIENT_SECRET),
        )
        .with_authority(dataverse.authority_url())
        .with_tls(Tls::from_ca_file(ca_file)?),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let skus: Vec<String> =
        (0..ferry_sandbox::amazon::seed::CATALOG_SIZE).map(ferry_sandbox::amazon::seed::catalog_sku).collect();
    let quick = ferry_flows::setup::SetupOptions {
        wait_for_keys: Duration::from_secs(60),
        poll_every: Duration::from_millis(100),
    };
    let needs = ferry_flows::setup::shipped_needs("dataverse");
    ferry_flows::setup::apply(&client, &needs, quick, &mut |line: &str| tracing::debug!("setup: {line}"))
        .await
        .map_err(anyhow::Error::msg)?;
    seed_products(&client, &skus).await?;
    Ok(skus)
}

/// `text` with the interval of its `trigger.poll` line (`every: 5m`) set to `seconds`.
pub(crate) fn with_poll_every(text: &str, seconds: u64) -> String {
    text.lines()
        .map(|line| match (line.trim_start().starts_with("poll:"), line.find("every:")) {
            (true, Some(at)) => {
                let rest = &line[at + "every:".len()..];
                let value = rest.trim_start();
                let end = value.find([',', ' ', '}']).unwrap_or(value.len());
                let skipped = rest.len() - value.len();
                format!("{}every: {seconds}s{}", &line[..at], &rest[skipped + end..])
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

impl World {
    /// Starts everything in `dir` (emptied first); nothing moves until [`World::start_flows`].
    pub async fn start(base: &NodeConfig, dir: &Path, opts: &WorldOptions) -> anyhow::Result<World> {
        if !(opts.speedup.is_finite() && opts.speedup >= 1.0) {
            anyhow::bail!("--speedup must be a number ≥ 1, got {}", opts.speedup);
        }
        let _ = std::fs::remove_dir_all(dir);
        ferry_store::private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let flows_dir = dir.join("flows");
        let polls = PollSeconds {
            orders: 300.0 / opts.speedup,
            fulfilment: (600.0 / opts.speedup).max(1.0),
            crm: 120.0 / opts.speedup,
        };
        write_flows(base, &flows_dir, opts.crm_to_fba, opts.buyer_pii.as_deref(), polls)?;

        // The two remote systems, over HTTPS with a CA made for this run; the node trusts it
        // through each connection's `ca_file`, as it would trust a corporate CA.
        let tls = SandboxTls::generate()?;
        let ca_file = dir.join("sandbox-ca.pem");
        tls.write_ca(&ca_file).with_context(|| format!("cannot write {}", ca_file.display()))?;
        let amazon_config = AmazonSandboxConfig {
            tls: Some(tls.clone()),
            speedup: opts.speedup,
            order_lifecycle: opts.order_lifecycle,
            rate_limits: opts.limits != Limits::Off,
            ..AmazonSandboxConfig::default()
        };
        let amazon = AmazonSandbox::start(amazon_config.clone()).await?;
        let (crm_limits, crm_scale) = match opts.limits {
            Limits::Off => (ServiceLimits::off(), 1e6),
            // The same 6,000 requests, in a window `speedup` times shorter.
            Limits::Published => {
                let d = ServiceLimits::default();
                (d.clone().with_requests(d.requests, d.window.div_f64(opts.speedup)), opts.speedup)
            }
            Limits::Demo => {
                let scale = (opts.speedup / 30.0).max(1.0);
                (ServiceLimits { requests: (6000.0 * scale) as u32, ..ServiceLimits::default() }, scale)
            }
        };
        let dataverse = DataverseSandbox::start(DataverseSandboxConfig {
            limits: crm_limits,
            tls: Some(tls),
            ..DataverseSandboxConfig::default()
        })
        .await?;
        dataverse.seed_reference_data().map_err(|e| anyhow::anyhow!("seeding Dataverse reference data: {e:?}"))?;
        let skus = prepare_crm(&dataverse, &ca_file).await?;
        // The node, with the sandbox's test credentials sealed in its secrets table.
        let mut cfg = base.clone();
        cfg.node_id = Some("demo".into());
        cfg.data_dir = dir.to_owned();
        cfg.flows_dir = flows_dir;
        cfg.store_url =
            opts.store_url.clone().unwrap_or_else(|| format!("sqlite://{}", dir.join("ferry.db").display()));
        cfg.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let amazon_scale = if opts.limits == Limits::Off { 1e6 } else { opts.speedup };
        let sandboxes =
            Sandboxes { amazon: &amazon, amazon_config: &amazon_config, dataverse: &dataverse, ca_file: &ca_file };
        cfg.connections = sandboxes.connections(amazon_scale, crm_scale, polls, opts.notifications)?;
        let store = crate::node::open_store(&cfg).await?;
        let key = Arc::new(MasterKey::from_bytes(&rand::random()));
        let webhook_key: String = rand::random::<[u8; 32]>().iter().map(|b| format!("{b:02x}")).collect();
        seal_sandbox_credentials(&store, &cfg, &key, &amazon_config, &webhook_key).await?;
        let metrics = Arc::new(ferry_server::metrics::Metrics::new());
        let assembled = crate::node::assemble(&cfg, store.clone(), metrics.clone(), &key).await?;
        let engine = assembled.engine.clone().context("the connections did not start the order flows")?;
        let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
        let server_addr = listener.local_addr()?;
        let api = ferry_console::api::router(Arc::new(
            ferry_console::api::ApiState::new(store.clone())
                .with_key(key.clone())
                .with_flows(Arc::new(ferry_flows::tenants::TenantSource {
                    node_tenant: cfg.tenant.clone(),
                    node_connections: cfg.connections.clone(),
                    flows_dir: cfg.flows_dir.clone(),
                }))
                .with_runtime(assembled.resilience.clone()),
        ));
        let server = Server::with_metrics(store.clone(), assembled.server, metrics.clone()).with_routes(api);
        let refresh = Refresh { key: key.clone(), resilience: assembled.resilience.clone(), ingress: server.ingress() };
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut server_stop = stop_rx.clone();
        tasks.spawn(async move {
            let stopped = async move {
                let _ = server_stop.wait_for(|s| *s).await;
            };
            if let Err(e) = server.serve(listener, stopped).await {
                tracing::warn!(error = %e, "the server stopped");
            }
        });
        if opts.crm_to_fba {
            dataverse.register_webhook(WebhookRegistration {
                url: format!("http://{server_addr}/ingress/dataverse/crm"),
                entity: "salesorder".into(),
                messages: vec!["Create".into(), "Update".into()],
                auth: WebhookAuth::WebhookKey(webhook_key),
            });
        }
        Ok(World {
            amazon,
            amazon_config,
            dataverse,
            cfg,
            store,
            engine,
            metrics,
            server_addr,
            skus,
            poll_stats: Arc::new(PollStats::default()),
            pool: Some((assembled.pool, refresh)),
            stop_tx,
            tasks,
        })
    }

    /// Starts the polls and the workers (once), and the refresh that keeps the tenant's flows
    /// as the store says, as `ferry run` does.
    pub async fn start_flows(&mut self) -> anyhow::Result<()> {
        let Some((pool, refresh)) = self.pool.take() else { return Ok(()) };
        let source = ferry_flows::tenants::TenantSource {
            node_tenant: self.cfg.tenant.clone(),
            node_connections: self.cfg.connections.clone(),
            flows_dir: self.cfg.flows_dir.clone(),
        };
        let tenants = crate::node::tenants(
            &self.store,
            &refresh.key,
            &refresh.resilience,
            pool.registry(),
            refresh.ingress,
            source,
            Some(&self.engine),
            Some((self.poll_stats.clone(), jiff::SignedDuration::from_hours(24 * 8))),
        )
        .await?;
        let refreshing = tenants.spawn(FLOWS_REFRESH, self.stop_tx.subscribe());
        let mut stop = self.stop_tx.subscribe();
        self.tasks.spawn(pool.run(async move {
            let _ = stop.wait_for(|s| *s).await;
        }));
        self.tasks.spawn(async move {
            let _ = refreshing.await;
        });
        Ok(())
    }

    /// Stops the workers (they drain), the polls and the server.
    pub async fn stop(mut self) {
        let _ = self.stop_tx.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Seeds `n` Amazon orders, a share of them with a SKU the CRM does not know; returns
    /// their ids and those of the unknown-SKU ones.
    pub fn seed_orders(&self, n: usize, unknown_sku_share: f64) -> (Vec<String>, Vec<String>) {
        let ids = self.amazon.seed_orders(n, unknown_sku_share);
        let unknown = self.amazon.with_orders(|o| {
            ids.iter()
                .filter(|id| {
                    o.by_id.get(*id).is_some_and(|order| order.items.iter().any(|i| !self.skus.contains(&i.sku)))
                })
                .cloned()
                .collect()
        });
        (ids, unknown)
    }

    /// Of `ids`, the orders F1 writes as things stand (the flow leaves Pending ones out).
    pub fn writable(&self, ids: &[String]) -> usize {
        use ferry_sandbox::amazon::state::Status;
        self.amazon.with_orders(|o| {
            ids.iter()
                .filter_map(|id| o.by_id.get(id))
                .filter(|order| {
                    order.status != Status::Pending && order.items.iter().all(|i| self.skus.contains(&i.sku))
                })
                .count()
        })
    }

    /// Where everything stands.
    pub async fn progress(&self) -> anyhow::Result<Progress> {
        use ferry_sandbox::amazon::fulfillment::FoStatus;
        use ferry_sandbox::amazon::state::Status;
        let q = self.store.queue_stats().await?;
        let (fulfilments, open_fulfilments) = self.amazon.with_fulfillment(|f| {
            let open = f
                .orders
                .values()
                .filter(|o| !matches!(o.status, FoStatus::Complete | FoStatus::Cancelled | FoStatus::Unfulfillable))
                .count();
            (f.orders.len(), open)
        });
        let amazon_moving = if self.amazon_config.order_lifecycle {
            self.amazon.with_orders(|o| {
                o.by_id
                    .values()
                    .filter(|o| o.status == Status::Pending || (o.status == Status::Unshipped && o.fulfilled_by_amazon))
                    .count()
            })
        } else {
            0
        };
        let rows = self.dataverse.rows("salesorders");
        let tracked = rows.iter().filter(|r| r.get("new_trackingnumber").is_some_and(|v| !v.is_null())).count();
        // Amazon orders F1 is done with: in the CRM, or dead-lettered (counted once per order,
        // whichever jobs carried it: notification, poll, retry).
        let mut orders_done: std::collections::BTreeSet<String> =
            rows.iter().filter_map(|r| r.get("new_amazonorderid")?.as_str().map(str::to_owned)).collect();
        if q.dead_letters_open > 0 {
            for d in self.store.dead_letters(&self.cfg.tenant, false, 10_000).await? {
                if d.flow == F1_NAME
                    && let Ok(payload) = serde_json::from_str::<serde_json::Value>(&d.payload)
                    && let Some(id) = payload.get("order_id").and_then(|v| v.as_str())
                {
                    orders_done.insert(id.to_owned());
                }
            }
        }
        Ok(Progress {
            orders_done: orders_done.len(),
            jobs_finished: q.completed + q.dead_letters_open,
            crm_orders: rows.len(),
            fulfilments,
            open_fulfilments,
            tracked,
            dead_letters: q.dead_letters_open,
            queued: q.ready + q.scheduled + q.running,
            amazon_moving,
        })
    }

    /// Waits until `done` holds for the progress, checking every `every`; `None` after `limit`.
    pub async fn wait_for(
        &self,
        limit: Duration,
        every: Duration,
        mut done: impl FnMut(&Progress) -> bool,
    ) -> anyhow::Result<Option<Progress>> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let p = self.progress().await?;
            if done(&p) {
                return Ok(Some(p));
            }
            if std::time::Instant::now() > deadline {
                return Ok(None);
            }
            tokio::time::sleep(every).await;
        }
    }

    /// How many of `orders` have a dead letter naming them.
    pub async fn dead_lettered(&self, orders: &[String]) -> anyhow::Result<usize> {
        let dls = self.store.dead_letters(&self.cfg.tenant, true, 10_000).await?;
        Ok(orders.iter().filter(|id| dls.iter().any(|d| d.error.contains(id.as_str()))).count())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Amazon orders in the CRM or dead-lettered (each once).
    pub orders_done: usize,
    /// Jobs of every flow finished (completed or dead-lettered): events, polls and retries
    /// of one order are several jobs.
    pub jobs_finished: u64,
    pub crm_orders: usize,
    pub fulfilments: usize,
    pub open_fulfilments: usize,
    pub tracked: usize,
    pub dead_letters: u64,
    pub queued: u64,
    /// Amazon orders the sandbox will still move on its own (Pending, AFN not yet shipped).
    pub amazon_moving: usize,
}
