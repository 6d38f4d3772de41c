//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::commands::AuditArgs;

#[derive(Debug, Parser)]
#[command(name = "ferry", version, about = "Ferry keeps Amazon, Microsoft Dynamics and your web store in sync.")]
pub struct Cli {
    /// Node config file (TOML). Without one, Ferry uses an embedded SQLite store in ./.ferry.
    #[arg(long, short, global = true, env = "FERRY_CONFIG")]
    pub config: Option<PathBuf>,

    /// The tenant (seller) that tenant-scoped commands act on: dlq, secrets, lookups, rates,
    /// purge, map, setup, connections. Default: the config's node.tenant. It must exist
    /// (`ferry tenants list`).
    #[arg(long, global = true, env = "FERRY_TENANT", value_name = "ID")]
    pub tenant: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the demo in this process: Amazon orders → CRM sales orders → FBA fulfilment on local
    /// sandboxes, with live progress (`--self-check`: the runtime's self-check instead).
    Demo(DemoArgs),
    /// Run a node: the flows' polls, the workers and the HTTP listener (node.listen) until
    /// SIGTERM or Ctrl-C, then drain.
    Run,
    /// Create or upgrade the store's tables.
    Migrate,
    /// The selected tenant's queue depth, running jobs, dead letters and circuit breakers.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Node-wide totals and one line per tenant, instead of the selected tenant's.
        #[arg(long)]
        all_tenants: bool,
    },
    /// Delete the selected tenant's processed buyer data older than its retention (its own
    /// `--retention-days`, else `store.retention_days`); a running node does this for every
    /// tenant at start and every hour.
    Purge {
        /// Purge every tenant, each with its own retention.
        #[arg(long)]
        all_tenants: bool,
    },
    /// Add, list, enable and disable tenants (sellers), each with its own connections,
    /// secrets, flows and data; a running node picks changes up without a restart.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Add, list and remove the selected tenant's connections (no secret is ever shown).
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// Validate the node config and every flow in the tenant's flows folder, without running
    /// anything.
    Check {
        /// Also ask the remotes (changing nothing): every connection accepts its credentials,
        /// and every Dataverse org has the columns and keys its flows need.
        #[arg(long)]
        online: bool,
    },
    /// Work with flow mappings.
    #[command(subcommand)]
    Map(MapCommand),
    /// Inspect, replay or discard dead letters.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Bearer tokens of the admin API and console (`--tenant` picks whose).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Alert rules: what is watched and which webhook hears of it (`--tenant` picks whose).
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// The tenant's flow versions: list, show, run an earlier one, pause, resume, shadow.
    #[command(subcommand)]
    Flows(FlowsCommand),
    /// Lookup tables that mappings read with `lookup('table')`.
    #[command(subcommand)]
    Lookups(LookupsCommand),
    /// Exchange rates that mappings read with `convert_currency`.
    #[command(subcommand)]
    Rates(RatesCommand),
    /// Store and list encrypted secrets.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Run the local Amazon (SP-API, LWA, SQS) and Dataverse simulators until Ctrl-C, seeded as
    /// one world, and write a node config for them (`ferry run --config <printed path>`).
    Sandbox(SandboxArgs),
    /// Prepare a Dataverse org for the flows: create the custom columns and alternate keys
    /// they need and wait until the keys are active (a second run creates nothing).
    Setup {
        /// The Dataverse connection of the node config (e.g. `crm`).
        connection: String,
    },
    /// Measure the engine.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Amazon orders the sandbox receives (about 2% with a SKU the CRM does not know).
    #[arg(long, default_value_t = 200, conflicts_with = "self_check")]
    pub orders: usize,
    /// Run the sandboxes' clocks and rate plans this many times faster than the real services.
    #[arg(long, default_value_t = 600.0, conflicts_with = "self_check")]
    pub speedup: f64,
    /// Run the runtime self-check (queue, retries, throttling, dead letters) instead.
    #[arg(long)]
    pub self_check: bool,
    /// How many jobs the self-check runs (with --self-check only).
    #[arg(long, default_value_t = 2_000, requires = "self_check")]
    pub jobs: u32,
    /// Exit when all work is done instead of waiting for Ctrl-C.
    #[arg(long)]
    pub exit_when_idle: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port of the Amazon sandbox (LWA, SP-API and the SQS-compatible queue); 0 picks one.
    #[arg(long, default_value_t = 0)]
    pub amazon_port: u16,
    /// Port of the Dataverse sandbox (Entra token endpoint and Web API); 0 picks one.
    #[arg(long, default_value_t = 0)]
    pub dataverse_port: u16,
    /// Port of the F&O sandbox (Entra token endpoint and OData at /data/); 0 picks one.
    #[arg(long, default_value_t = 0)]
    pub fno_port: u16,
    /// Port the printed node config listens on (webhooks, /healthz); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub node_port: u16,
    /// Amazon orders to seed at start.
    #[arg(long, default_value_t = 40)]
    pub orders: usize,
    /// Share of seeded orders (0.0–1.0) carrying a SKU the catalogue does not know.
    #[arg(long, default_value_t = 0.05)]
    pub invalid_sku_share: f64,
    /// Run Amazon's clock (order lifecycle, report processing, fulfilment) and token buckets
    /// this many times faster than the real service.
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// Start Dataverse as a stock org, without the columns and keys Ferry's flows need (then
    /// run `ferry setup crm` against it).
    #[arg(long)]
    pub crm_stock: bool,
    /// Dataverse knobs at start (change them later with `POST <crm>/_sandbox/faults`).
    #[command(flatten)]
    pub crm_faults: CrmFaultArgs,
}

/// The Dataverse sandbox's fault and limit knobs, the same fields as `POST /_sandbox/faults`.
#[derive(Debug, Default, Args)]
pub struct CrmFaultArgs {
    /// Scale Dataverse's service protection window and request count (0.01: 60 requests per 3 s).
    #[arg(long)]
    pub crm_limit_scale: Option<f64>,
    /// Turn Dataverse's service protection limits off.
    #[arg(long)]
    pub crm_no_limits: bool,
    /// Answer the first N Web API requests with --crm-force-status.
    #[arg(long)]
    pub crm_force_count: Option<u32>,
    /// Status of forced answers: 429 (Dataverse's request-count 429), 500, 502, 503 or 504.
    #[arg(long)]
    pub crm_force_status: Option<u16>,
    /// Retry-After (seconds) of forced 429/503 answers.
    #[arg(long)]
    pub crm_retry_after_seconds: Option<u64>,
    /// Milliseconds added to every Web API answer.
    #[arg(long)]
    pub crm_latency_ms: Option<u64>,
    /// Share (0.0–1.0) of Web API answers that are a transient 500.
    #[arg(long)]
    pub crm_error_rate: Option<f64>,
    /// Share (0.0–1.0) of Web API answers that are a 429.
    #[arg(long)]
    pub crm_throttle_rate: Option<f64>,
    /// Answer every Web API request 503 for this many seconds after start.
    #[arg(long)]
    pub crm_outage_seconds: Option<f64>,
}

impl CrmFaultArgs {
    /// The knobs these flags ask for.
    pub fn knobs(&self) -> ferry_sandbox::dataverse::FaultKnobs {
        ferry_sandbox::dataverse::FaultKnobs {
            limit_scale: self.crm_limit_scale,
            limits: self.crm_no_limits.then_some(false),
            force_status: self.crm_force_status,
            force_count: self.crm_force_count,
            retry_after_seconds: self.crm_retry_after_seconds,
            latency_ms: self.crm_latency_ms,
            error_rate: self.crm_error_rate,
            throttle_rate: self.crm_throttle_rate,
            outage_seconds: self.crm_outage_seconds,
        }
    }
}

/// `ferry flows …`
#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// The tenant's flows: the version each runs, paused or not, its shadow.
    List,
    /// A flow's versions, newest first.
    Versions { flow: String },
    /// The text of the version that runs (or of `--version N`).
    Show {
        flow: String,
        #[arg(long)]
        version: Option<i64>,
    },
    /// Run version N of a flow (a rollback, or a roll forward); it must still check.
    Run {
        flow: String,
        version: i64,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Pause a flow: its jobs wait (none is lost), its polls and events stop.
    Pause {
        flow: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Resume a paused flow: its waiting jobs run, its polls catch up from their cursors.
    Resume {
        flow: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Shadow the running version with version N (it maps live records and writes nothing),
    /// or stop the shadow with `off`.
    Shadow {
        flow: String,
        version: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// What the shadow would have written differently, record by record.
    ShadowReport {
        flow: String,
        #[arg(long)]
        version: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Add a rule. The condition is JSON, as the API takes it, e.g.
    /// `{"kind": "breaker_open", "seconds": 300}`, `{"kind": "dead_letters", "above": 10,
    /// "minutes": 15}`, `{"kind": "auth_failure", "minutes": 60}`, `{"kind": "flow_silent"}`
    /// or `{"kind": "anomaly"}`.
    Add {
        condition: String,
        /// Where alerts are posted (`{"text": …}`, Slack and Teams take it): an https:// URL.
        #[arg(long)]
        webhook: Option<String>,
        /// An e-mail recipient (repeat for more), sent through the node's `[smtp]` server.
        #[arg(long = "email", value_name = "ADDRESS")]
        email: Vec<String>,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// The tenant's rules.
    List,
    /// Remove a rule (by its id in `ferry alerts list`).
    Remove {
        id: i64,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token; it is printed once and kept only as a hash.
    Create {
        /// viewer (reads), operator (also replays, discards, edits payloads, toggles flows) or
        /// admin (also manages connections, tokens and flow versions).
        #[arg(long)]
        role: String,
        /// What it is for, shown in `ferry tokens list` (e.g. `finance team`).
        #[arg(long, default_value = "cli")]
        name: String,
        /// When it stops working: `30d`, `12h` or an RFC 3339 instant; default never.
        #[arg(long)]
        expires: Option<String>,
        /// Print JSON (with the token) instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// The tenant's tokens (never the tokens themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: requests bearing it get 401 from then on.
    Revoke {
        /// Its id (`ferry tokens list`).
        id: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters (open ones unless --all).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one dead letter: step, error, attempts, payload (PII redacted).
    Show {
        id: String,
        /// Print the payload unredacted (to edit it for a replay); written to the audit log.
        /// Never use in logs.
        #[arg(long)]
        unredacted: bool,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Replay a dead letter as a new job, optionally with an edited payload.
    Replay {
        id: String,
        /// A JSON file with the edited payload ("-" reads standard input).
        #[arg(long)]
        payload: Option<PathBuf>,
        /// Run it with this version of its flow (`ferry flows versions <flow>`), not the one
        /// that runs now: e.g. the mapping as it was before a change.
        #[arg(long = "flow-version", value_name = "N")]
        flow_version: Option<i64>,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Discard a dead letter (kept for the record, never run again).
    Discard {
        id: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

/// A tenant's retention: a number of days, or `default` for the node's `store.retention_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(pub Option<u32>);

impl std::str::FromStr for Retention {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let max = crate::config::MAX_RETENTION_DAYS;
        if s == "default" {
            return Ok(Retention(None));
        }
        match s.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Retention(Some(n))),
            _ => {
                Err(format!("must be a number of days from 1 to {max}, or `default` (store.retention_days), got `{s}`"))
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Add a tenant (active at once).
    Add {
        /// Its id: what `--tenant`, `flows/<id>/` and the store use.
        id: String,
        /// A display name (default: the id).
        #[arg(long)]
        name: Option<String>,
        /// Days its processed data is kept (default: store.retention_days).
        #[arg(long, value_name = "DAYS")]
        retention_days: Option<Retention>,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// List tenants with their status and retention.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop running a tenant's work: its queued jobs stay queued, untouched, until enabled.
    Disable {
        id: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Run a disabled tenant's work again, queued jobs first.
    Enable {
        id: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Change a tenant's settings.
    Set {
        id: String,
        /// Days its processed data is kept, or `default` (store.retention_days).
        #[arg(long, value_name = "DAYS")]
        retention_days: Retention,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Add (or replace) a connection of the selected tenant, checked as the node config's
    /// `[[connections]]` are.
    Add {
        /// Its id, which flow files name.
        id: String,
        /// The remote system: amazon, dataverse, fno, dynamics-sl, clarity, http.
        #[arg(long)]
        system: String,
        /// The remote's base URL (http:// or https://).
        #[arg(long)]
        endpoint: String,
        /// A system option, KEY=VALUE; VALUE is JSON if it parses as JSON (numbers, lists such
        /// as ["ATVPDKIKX0DER"]), else text. Repeat for each option.
        #[arg(long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// A limit, KEY=VALUE (e.g. scale=0.5), read as --option is.
        #[arg(long = "limit", value_name = "KEY=VALUE")]
        limits: Vec<String>,
        /// The name of the secret holding its credentials (`ferry secrets set`).
        #[arg(long, value_name = "NAME")]
        credentials: Option<String>,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// List the selected tenant's connections (secret names only, never values).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a connection of the selected tenant.
    Remove {
        id: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Build a connection's client from its options and secrets and check that the remote
    /// accepts its credentials (Amazon: an LWA token, no SP-API quota spent; Dataverse: a
    /// token and a one-row read).
    Test { id: String },
}

#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// Map a sample record with a flow and print the result, or every field error.
    Preview {
        /// The flow's name (its `name:` in the flows folder).
        #[arg(long)]
        flow: String,
        /// A JSON file with the sample record ("-" reads standard input).
        #[arg(long)]
        input: PathBuf,
    },
    /// Print the JSON Schema of flow files (for editors).
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum LookupsCommand {
    /// Set one entry; VALUE is JSON if it parses as JSON, else text.
    Set { table: String, key: String, value: String },
    /// List entries (of one table if given).
    List { table: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum RatesCommand {
    /// Set the rate: 1 FROM buys RATE TO (e.g. `ferry rates set EUR USD 1.0842`).
    Set { from: String, to: String, rate: String },
    /// List the rates.
    List,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Store a secret; the value is read from standard input, never from the command line.
    Set {
        name: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// List secret names and dates (never values).
    List,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Queue throughput: enqueue → claim → complete with a no-op flow.
    Queue(QueueBenchArgs),
    /// Amazon orders → CRM sales orders (F1) end to end on the sandboxes: orders per second,
    /// time against the published limits, requests per order by operation.
    Orders(OrdersBenchArgs),
    /// Fairness between tenants: while one tenant's backlog drains, how long another tenant's
    /// new jobs wait from enqueue to run (median, p99).
    Fairness(FairnessBenchArgs),
    /// The console's pages on a large history: time to first byte of the overview, a record
    /// search and the dead-letter list (median, p99), on each store.
    Console(ConsoleBenchArgs),
    /// Scaling over nodes: end-to-end orders per second (Amazon sandbox → CRM sandbox, limits
    /// off) with 1, 2, 3 `ferry run` processes on one PostgreSQL, each pinned to one core.
    Nodes(NodesBenchArgs),
    /// Settlement → journal (F7) before posting: a generated settlement report of N rows read,
    /// aggregated and planned into its balanced journal with the reconciliation report;
    /// seconds, rows per second and peak memory.
    Settlement(SettlementBenchArgs),
}

#[derive(Debug, Args)]
pub struct SettlementBenchArgs {
    /// Transaction rows in the generated report.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
}

#[derive(Debug, Args)]
pub struct ConsoleBenchArgs {
    /// Finished jobs in the store (each with a trace line).
    #[arg(long, default_value_t = 1_000_000)]
    pub jobs: u32,
    /// Of those, open dead letters (over 50 causes).
    #[arg(long, default_value_t = 10_000)]
    pub dead: u32,
    /// Requests per page.
    #[arg(long, default_value_t = 50)]
    pub requests: u32,
    /// Stores to measure: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub stores: Vec<String>,
    /// PostgreSQL URL for the postgres run.
    #[arg(long, env = "FERRY_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/ferry_test")]
    pub pg_url: String,
}

#[derive(Debug, Args)]
pub struct NodesBenchArgs {
    /// Amazon orders waiting when the nodes start.
    #[arg(long, default_value_t = 3_000)]
    pub orders: usize,
    /// Node counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub nodes: Vec<usize>,
    /// `[workers] count` of each node.
    #[arg(long, default_value_t = 2)]
    pub workers: u32,
    /// `[workers] concurrency` of each node.
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,
    /// F1's buyer data policy: `guest` (poll pages carry whole orders) or `full` (a getOrder
    /// per order through a Restricted Data Token).
    #[arg(long, default_value = "guest")]
    pub buyer_pii: String,
    /// PostgreSQL URL (a fresh schema is made and dropped in it for each node count).
    #[arg(long, env = "FERRY_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/ferry_test")]
    pub pg_url: String,
}

#[derive(Debug, Args)]
pub struct FairnessBenchArgs {
    /// Jobs in the busy tenant's backlog.
    #[arg(long, default_value_t = 100_000)]
    pub backlog: u32,
    /// New jobs of the quiet tenant, one every 20 ms while the backlog drains.
    #[arg(long, default_value_t = 200)]
    pub probes: u32,
    /// Then, real Amazon orders of the quiet tenant (one every 100 ms, through the sandboxes'
    /// ORDER_CHANGE notifications and F1) while the busy backlog drains: event-to-CRM latency,
    /// against the same orders with no backlog. 0 skips this part.
    #[arg(long, default_value_t = 40)]
    pub orders: u32,
    /// Stores to measure: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub stores: Vec<String>,
    /// PostgreSQL URL for the postgres run.
    #[arg(long, env = "FERRY_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/ferry_test")]
    pub pg_url: String,
}

#[derive(Debug, Args)]
pub struct OrdersBenchArgs {
    /// Amazon orders waiting when the engine starts.
    #[arg(long, default_value_t = 1_000)]
    pub orders: usize,
    /// Stores to measure: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub stores: Vec<String>,
    /// `off`: nothing limits requests; `published`: Amazon's and Dataverse's published limits,
    /// with time run --speedup times faster (figures are reported in the vendors' time).
    #[arg(long, default_value = "off")]
    pub limits: String,
    /// Sandbox clocks (and, with published limits, rate plans) run this many times faster.
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// F1's buyer data policy: `guest` (poll pages carry whole orders) or `full` (every order
    /// is read with getOrder through a Restricted Data Token).
    #[arg(long, default_value = "guest")]
    pub buyer_pii: String,
    /// Also consume ORDER_CHANGE notifications, so each order arrives twice (event and poll).
    #[arg(long)]
    pub notifications: bool,
    /// Also run F2 (CRM orders → FBA fulfilment orders) and wait until it is idle too.
    #[arg(long)]
    pub with_fba: bool,
    /// PostgreSQL URL for the postgres run (a fresh schema is made and dropped in it).
    #[arg(long, env = "FERRY_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/ferry_test")]
    pub pg_url: String,
    /// Console clients beside the engine, one run per count (e.g. `0,4`): each keeps the
    /// overview's live updates open and fetches the overview page every second.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub console_clients: Vec<usize>,
}

#[derive(Debug, Args)]
pub struct QueueBenchArgs {
    /// Jobs in the backlog.
    #[arg(long, default_value_t = 50_000)]
    pub jobs: u32,
    /// Worker counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub workers: Vec<u32>,
    /// Stores to measure: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub stores: Vec<String>,
    /// PostgreSQL URL for the postgres run.
    #[arg(long, env = "FERRY_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/ferry_test")]
    pub pg_url: String,
}
