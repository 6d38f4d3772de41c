//! The shipped order flows as executable handlers, and what feeds them: the events that start
//! them (Amazon notifications, Dataverse webhooks) and the polls that back the events up.
//!
//! - F1 `amazon-orders-to-crm` ([`amazon_orders`]): Amazon order → CRM sales order.
//! - F2 `crm-orders-to-fba` ([`crm_to_fba`]): submitted CRM order → FBA fulfilment order, and
//!   its companion [`fba_status`]: fulfilment status and tracking → CRM order.
//!
//! The flow files in the flows folder carry the mappings; the handlers carry the steps.

pub mod amazon_orders;
pub mod contract;
pub mod crm;
pub mod crm_schema;
pub mod crm_to_fba;
pub mod fba_status;
pub mod remote;
pub mod routing;
pub mod schedule;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use ferry_connectors::amazon::sqs::{SqsConfig, SqsConsumer};
use ferry_connectors::amazon::{AmazonClient, AmazonConfig, LwaCredentials};
use ferry_connectors::dataverse::{DataverseClient, DataverseConfig};
use ferry_mapping::CompiledMapping;
use ferry_model::AmazonMarketplaceId;
use ferry_runtime::{Registry, Resilience};
use ferry_store::secrets::{MasterKey, SecretValue};
use ferry_store::{AnyStore, Store};
use serde_json::Value;

use crate::config::{ConnectionConfig, NodeConfig};
use remote::{Amazon, Crm};
use settings::FlowSettings;

/// The remote systems and flows of a node that has an Amazon and a Dataverse connection.
pub struct Engine {
    pub tenant: ferry_model::TenantId,
    pub amazon: Arc<Amazon>,
    pub crm: Arc<crm::CrmReader>,
    pub amazon_connection: ferry_model::ConnectionId,
    pub crm_connection: ferry_model::ConnectionId,
    pub marketplace_ids: Vec<AmazonMarketplaceId>,
    pub sqs: Option<Arc<SqsConsumer>>,
    pub f1: Option<(Arc<CompiledMapping>, FlowSettings)>,
    pub f2: Option<Arc<CompiledMapping>>,
    /// Whether F1's `trigger.events` lets Amazon's ORDER_CHANGE start it.
    pub order_events: bool,
    /// The Dataverse messages (`salesorder.Update`…) F2's `trigger.events` starts it on.
    pub crm_events: Vec<String>,
    pub schedule: schedule::Intervals,
}

fn option<'a>(conn: &'a ConnectionConfig, name: &str) -> Option<&'a Value> {
    conn.options.get(name)
}

fn option_str(conn: &ConnectionConfig, name: &str) -> Option<String> {
    option(conn, name).and_then(Value::as_str).map(str::to_owned)
}

/// A number of seconds the config validation has range-checked; never panics on a value it
/// did not see (a config built in code), which falls back to `default`.
fn seconds(conn: &ConnectionConfig, name: &str, default: Duration) -> Duration {
    option(conn, name).and_then(Value::as_f64).and_then(|s| Duration::try_from_secs_f64(s).ok()).unwrap_or(default)
}

fn scale(conn: &ConnectionConfig) -> f64 {
    conn.limits.get("scale").and_then(Value::as_f64).filter(|s| s.is_finite() && *s > 0.0).unwrap_or(1.0)
}

async fn secret(
    store: &AnyStore,
    key: &MasterKey,
    tenant: &ferry_model::TenantId,
    name: &str,
) -> anyhow::Result<SecretValue> {
    let sealed = store
        .secret(tenant, name)
        .await?
        .with_context(|| format!("secret {name} is not set (ferry secrets set {name})"))?;
    Ok(key.open(&sealed)?)
}

/// A client for a Dataverse connection of the config, with its secret from the store.
pub async fn dataverse_client(
    cfg: &NodeConfig,
    store: &AnyStore,
    key: &MasterKey,
    crm_conn: &ConnectionConfig,
) -> anyhow::Result<DataverseClient> {
    let crm_prefix = crm_conn.credentials.clone().unwrap_or_else(|| crm_conn.id.to_string());
    let client_id = option_str(crm_conn, "client_id")
        .with_context(|| format!("connection {}: options.client_id is required", crm_conn.id))?;
    let entra_tenant = option_str(crm_conn, "tenant")
        .with_context(|| format!("connection {}: options.tenant (the Entra tenant) is required", crm_conn.id))?;
    let client_secret = secret(store, key, &cfg.tenant, &format!("{crm_prefix}.client_secret")).await?;
    let crm_tls = crate::config::connection_tls(crm_conn).map_err(anyhow::Error::msg)?;
    let mut dv_config =
        DataverseConfig::new(&crm_conn.endpoint, entra_tenant, client_id, client_secret).with_tls(crm_tls);
    if let Some(authority) = option_str(crm_conn, "authority") {
        dv_config = dv_config.with_authority(authority);
    }
    DataverseClient::new(dv_config).map_err(|e| anyhow::anyhow!("connection {}: {e}", crm_conn.id))
}

/// What [`Engine::build`] refuses in the flows beyond the file format: the order flows'
/// `settings:`, and keys that do not match what their handlers do or bind connections of the
/// wrong system (see [`contract`]); each names the file. `ferry check` reports the same.
pub fn flow_problems(flows: &[ferry_mapping::flow::FlowFile], connections: &[ConnectionConfig]) -> Vec<String> {
    let settings = flows
        .iter()
        .filter(|f| f.flow.name.value == amazon_orders::FLOW)
        .filter_map(|f| FlowSettings::from_flow(amazon_orders::FLOW, &f.flow.settings).err().map(|e| (f, e)))
        .map(|(f, e)| format!("{}: {e}", f.path.display()));
    let (_, contract) = contract::check(flows, connections);
    settings.chain(contract).collect()
}

impl Engine {
    /// Builds the clients from the config's connections and their secrets, and compiles the
    /// order flows found in the flows folder. `None` when the config has no Amazon + Dataverse
    /// pair (the node then runs only the built-in flows).
    pub async fn build(
        cfg: &NodeConfig,
        store: &AnyStore,
        resilience: Arc<Resilience>,
        key: &MasterKey,
    ) -> anyhow::Result<Option<Engine>> {
        let has = |system: &str| cfg.connections.iter().any(|c| c.system == system);
        if !(has("amazon") && has("dataverse")) {
            return Ok(None);
        }
        let known: Vec<&str> = cfg.connections.iter().map(|c| c.id.as_ref()).collect();
        let (flows, problems) = ferry_mapping::check::load_dir(&cfg.flows_dir, &known);
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            bail!("the flows folder {} has problems:\n{}", cfg.flows_dir.display(), text.join("\n"));
        }
        let problems = flow_problems(&flows, &cfg.connections);
        if !problems.is_empty() {
            bail!("the flows folder {} has problems:\n{}", cfg.flows_dir.display(), problems.join("\n"));
        }
        // The connections the flow files bind; without files, the first of each system.
        let (bindings, _) = contract::check(&flows, &cfg.connections);
        let pick = |bound: Option<&String>, system: &str| match bound {
            Some(id) => cfg.connections.iter().find(|c| c.id.as_ref() == id.as_str()),
            None => cfg.connections.iter().find(|c| c.system == system),
        };
        let amazon_conn = pick(bindings.amazon.as_ref(), "amazon");
        let crm_conn = pick(bindings.crm.as_ref(), "dataverse");
        let (Some(amazon_conn), Some(crm_conn)) = (amazon_conn, crm_conn) else {
            return Ok(None);
        };
        let tenant = &cfg.tenant;
        let prefix = amazon_conn.credentials.clone().unwrap_or_else(|| amazon_conn.id.to_string());
        let credentials = LwaCredentials::from_store(store, key, tenant, &prefix)
            .await
            .with_context(|| format!("connection {}: LWA credentials", amazon_conn.id))?;
        let marketplace_ids: Vec<AmazonMarketplaceId> = match option(amazon_conn, "marketplace_ids") {
            Some(Value::Array(ids)) => ids
                .iter()
                .filter_map(Value::as_str)
                .map(|s| AmazonMarketplaceId::new(s).map_err(|e| anyhow::anyhow!("connection {}: {e}", amazon_conn.id)))
                .collect::<anyhow::Result<_>>()?,
            _ => bail!("connection {}: options.marketplace_ids is required (e.g. [\"ATVPDKIKX0DER\"])", amazon_conn.id),
        };
        let mut amazon_config = AmazonConfig::production(
            ferry_connectors::amazon::Region::NorthAmerica,
            credentials,
            marketplace_ids.clone(),
        );
        amazon_config.endpoint = amazon_conn.endpoint.trim_end_matches('/').to_owned();
        if let Some(url) = option_str(amazon_conn, "token_url") {
            amazon_config.token_url = url;
        }
        amazon_config.limits_scale = scale(amazon_conn);
        let amazon_tls = crate::config::connection_tls(amazon_conn).map_err(anyhow::Error::msg)?;
        amazon_config.tls = amazon_tls.clone();
        let client = AmazonClient::new(amazon_config)
            .map_err(|e| anyhow::anyhow!("connection {}: {e}", amazon_conn.id))?
            .with_runtime(resilience.clone(), amazon_conn.id.to_string());
        let amazon = Arc::new(Amazon { client, connection: amazon_conn.id.to_string() });
        let sqs = match option_str(amazon_conn, "queue_url") {
            Some(queue_url) => {
                let access_key_id = secret(store, key, tenant, &format!("{prefix}.aws_access_key_id")).await?;
                let secret_access_key = secret(store, key, tenant, &format!("{prefix}.aws_secret_access_key")).await?;
                Some(Arc::new(
                    SqsConsumer::new(SqsConfig {
                        endpoint: option_str(amazon_conn, "sqs_endpoint").unwrap_or_else(|| {
                            queue_url.split("/000000000000").next().unwrap_or(&queue_url).to_owned()
                        }),
                        queue_url,
                        region: option_str(amazon_conn, "aws_region").unwrap_or_else(|| "us-east-1".into()),
                        credentials: ferry_connectors::amazon::sigv4::AwsCredentials {
                            access_key_id: access_key_id.expose().to_owned(),
                            secret_access_key,
                            session_token: None,
                        },
                        tls: amazon_tls,
                    })
                    .map_err(|e| anyhow::anyhow!("connection {}: {e}", amazon_conn.id))?,
                ))
            }
            None => None,
        };

        let dv = dataverse_client(cfg, store, key, crm_conn).await?;
        let crm = crm::CrmReader::new(Crm::new(dv, crm_conn.id.to_string(), scale(crm_conn)));

        let compile = |name: &str| -> anyhow::Result<Option<(Arc<CompiledMapping>, ferry_mapping::Flow)>> {
            let Some(file) = flows.iter().find(|f| f.flow.name.value == name) else { return Ok(None) };
            let mapping = CompiledMapping::compile_file(&file.flow, &file.path, None)
                .map_err(|d| anyhow::anyhow!("{}", d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
            Ok(Some((Arc::new(mapping), file.flow.clone())))
        };
        let f1 = match compile(amazon_orders::FLOW)? {
            Some((mapping, flow)) => {
                let settings =
                    FlowSettings::from_flow(amazon_orders::FLOW, &flow.settings).map_err(anyhow::Error::msg)?;
                Some((mapping, settings, flow))
            }
            None => None,
        };
        let f2 = compile(crm_to_fba::FLOW)?;
        let every = |flow: Option<&ferry_mapping::Flow>| flow.and_then(schedule::poll_interval);
        let schedule = schedule::Intervals {
            orders: every(f1.as_ref().map(|(_, _, flow)| flow)),
            notifications: seconds(amazon_conn, "queue_wait_seconds", Duration::from_secs(1)),
            fulfilment: seconds(amazon_conn, "fulfilment_poll_seconds", Duration::from_secs(600)),
            crm: every(f2.as_ref().map(|(_, flow)| flow)),
        };
        Ok(Some(Engine {
            tenant: tenant.clone(),
            amazon,
            crm,
            amazon_connection: amazon_conn.id.clone(),
            crm_connection: crm_conn.id.clone(),
            marketplace_ids,
            sqs,
            f1: f1.map(|(mapping, settings, _)| (mapping, settings)),
            f2: f2.map(|(mapping, _)| mapping),
            order_events: contract::amazon_events_start_orders(&flows),
            crm_events: contract::crm_event_types(&flows),
            schedule,
        }))
    }

    /// Registers the flows whose files are in the flows folder.
    pub fn register(&self, registry: &mut Registry, store: &AnyStore) {
        if let Some((mapping, settings)) = &self.f1 {
            registry.register(
                amazon_orders::FLOW,
                amazon_orders::AmazonOrdersToCrm {
                    mapping: mapping.clone(),
                    settings: settings.clone(),
                    amazon: self.amazon.clone(),
                    crm: self.crm.clone(),
                    store: store.clone(),
                    running: Arc::default(),
                },
            );
        }
        if let Some(mapping) = &self.f2 {
            registry.register(
                crm_to_fba::FLOW,
                crm_to_fba::CrmOrdersToFba {
                    mapping: mapping.clone(),
                    amazon: self.amazon.clone(),
                    crm: self.crm.clone(),
                    store: store.clone(),
                },
            );
            registry.register(
                fba_status::FLOW,
                fba_status::FbaStatusToCrm { amazon: self.amazon.clone(), crm: self.crm.clone(), store: store.clone() },
            );
        }
    }

    /// The flows that are running, for messages.
    pub fn flow_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.f1.is_some() {
            names.push(amazon_orders::FLOW);
        }
        if self.f2.is_some() {
            names.extend([crm_to_fba::FLOW, fba_status::FLOW]);
        }
        names
    }
}

/// A failure no retry can mend: it goes to the dead-letter table with `code` and `message`.
pub(crate) fn permanent(step: &str, code: &str, message: impl Into<String>) -> ferry_runtime::JobError {
    ferry_runtime::JobError::failed(step, ferry_runtime::failure::Failure::permanent_with_code(code, message))
}

/// A finished job's effects with one line of trace saying what it did.
pub(crate) fn note(record: &str, step: &str, message: String) -> ferry_runtime::Effects {
    ferry_runtime::Effects {
        trace: vec![ferry_store::RunRecord {
            record: record.to_owned(),
            step: step.into(),
            outcome: "ok".into(),
            message,
            at: ferry_model::Timestamp::now(),
        }],
        ..ferry_runtime::Effects::default()
    }
}

/// A mapping's result as a flow acts on it: `Some` to write, `None` when `only_if` skipped the
/// record, a permanent failure (dead letter) for field errors and stopping lookups.
pub(crate) fn mapped(
    result: Result<ferry_mapping::MappedRecord, Vec<ferry_mapping::FieldError>>,
) -> Result<Option<ferry_mapping::MappedRecord>, ferry_runtime::JobError> {
    let record = result.map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        permanent("map", "mapping", text.join("; "))
    })?;
    match &record.outcome {
        ferry_mapping::Outcome::Mapped => Ok(Some(record)),
        ferry_mapping::Outcome::Skipped => Ok(None),
        ferry_mapping::Outcome::DeadLetter(reason) => Err(permanent("map", "lookup", reason.clone())),
        ferry_mapping::Outcome::HoldForReview(reason) => Err(permanent("map", "hold_for_review", reason.clone())),
    }
}

/// Reports to `/metrics` that `job` has just written its record to the target: the time from
/// the event's arrival (when its job was stored) to now.
pub(crate) fn delivered(ctx: &ferry_runtime::JobContext, job: &ferry_store::Job) {
    let seconds = ferry_model::Timestamp::now().duration_since(job.created_at).as_secs_f64();
    ctx.resilience.delivered(&job.flow, seconds);
}
