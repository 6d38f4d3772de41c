//! `ferry alerts add|list|remove`: the selected tenant's alert rules, through the same
//! functions as the API's alert routes ([`ferry_console::alerts`]).

use std::process::ExitCode;

use ferry_console::alerts::{self, Condition, Rule};
use ferry_store::Store as _;

use super::{actor_or_exit, bad, table, when};
use crate::cli::AlertsCommand;
use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, cmd: AlertsCommand) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    match cmd {
        AlertsCommand::Add { condition, webhook, email, audit } => {
            let condition: Condition = match serde_json::from_str(&condition) {
                Ok(c) => c,
                Err(e) => {
                    return Ok(bad(format!(
                        "condition `{condition}`: {e} (kinds: breaker_open, dead_letters, auth_failure, flow_silent, anomaly)"
                    )));
                }
            };
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            store.ensure_tenant(&cfg.tenant, cfg.tenant.as_ref()).await?;
            let rule = Rule { condition, webhook, email };
            match alerts::add_rule(&store, &cfg.tenant, &rule, &actor, cfg.smtp.is_some()).await {
                Ok(id) => println!("alert rule {id} added for tenant `{}`", cfg.tenant),
                Err(ferry_console::ServiceError::BadInput(m)) => return Ok(bad(m)),
                Err(e) => return Err(e.into()),
            }
        }
        AlertsCommand::List => {
            let rules = alerts::rules(&store, &cfg.tenant).await?;
            if rules.is_empty() {
                println!("tenant `{}` has no alert rules", cfg.tenant);
                return Ok(ExitCode::SUCCESS);
            }
            let cells: Vec<Vec<String>> = rules
                .iter()
                .map(|(row, rule)| {
                    vec![
                        row.id.to_string(),
                        serde_json::to_string(&rule.condition).unwrap_or_default(),
                        rule.webhook.as_deref().map(alerts::masked).unwrap_or_default(),
                        rule.email.join(", "),
                        row.created_by.clone(),
                        when(row.created_at),
                    ]
                })
                .collect();
            println!("{}", table(&["ID", "CONDITION", "WEBHOOK", "E-MAIL", "BY", "CREATED"], &cells));
        }
        AlertsCommand::Remove { id, audit } => {
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            match store.remove_alert_rule(&cfg.tenant, id, &actor).await {
                Ok(()) => println!("alert rule {id} of tenant `{}` removed", cfg.tenant),
                Err(ferry_store::StoreError::NotFound { .. }) => {
                    return Ok(bad(format!("alert rule {id} not found for tenant `{}`", cfg.tenant)));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
