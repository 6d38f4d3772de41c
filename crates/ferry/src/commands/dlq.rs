//! `ferry dlq list|show|replay|discard`.

use std::process::ExitCode;

use ferry_console::ServiceError;
use ferry_console::service;
use ferry_store::{DeadLetterId, Store};

use super::{AuditArgs, EXIT_BAD_INPUT, cut, parse_id, table, when};
use crate::cli::DlqCommand;
use crate::config::NodeConfig;

/// The audit actor of `audit`, or the exit for a bad `--label` (already reported).
fn actor_or_exit(audit: &AuditArgs) -> Result<String, ExitCode> {
    audit.actor().map_err(|message| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// Every command acts on the selected tenant's dead letters only: another tenant's id is
/// "not found", the same as an id that does not exist.
pub async fn run(cfg: &NodeConfig, cmd: DlqCommand) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    match cmd {
        DlqCommand::List { all, limit } => {
            let rows = store.dead_letters(&cfg.tenant, !all, limit).await?;
            if rows.is_empty() {
                println!("{}", if all { "no dead letters" } else { "no open dead letters" });
                return Ok(ExitCode::SUCCESS);
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        d.status.as_str().to_string(),
                        d.flow.clone(),
                        d.step.clone(),
                        d.attempts.to_string(),
                        d.error_kind.clone(),
                        cut(&d.error, 60),
                        when(d.created_at),
                    ]
                })
                .collect();
            println!("{}", table(&["ID", "STATUS", "FLOW", "STEP", "ATTEMPTS", "KIND", "ERROR", "AT"], &cells));
        }
        DlqCommand::Show { id, unredacted, audit } => {
            let id: DeadLetterId = parse_id(&id)?;
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            // The same function as the API's: an unredacted view is audited before it is shown.
            let d = match service::dead_letter(&store, &cfg.tenant, id, unredacted, &actor).await {
                Ok(d) => d,
                Err(e) => return service_error(cfg, id, e),
            };
            println!("dead letter {}  ({})", d.id, d.status.as_str());
            println!("flow        {}", d.flow);
            println!("job         {}", d.job);
            println!("step        {}", d.step);
            println!("attempts    {}", d.attempts);
            println!("error       {} — {}", d.error_kind, d.error);
            println!("at          {}", when(d.created_at));
            if let (Some(at), Some(by)) = (d.resolved_at, &d.resolved_by) {
                println!("resolved    {} by {}", when(at), by);
            }
            if let Some(j) = d.replay_job {
                println!("replayed as job {j}");
            }
            if unredacted {
                eprintln!("warning: printing the payload unredacted; it may contain buyer PII");
                println!("payload\n{}", d.payload);
            } else {
                println!("payload (PII redacted; --unredacted to edit for a replay)\n{}", d.payload);
            }
            let trace = store.runs_for_job(d.job).await?;
            if !trace.is_empty() {
                println!("trace");
                for t in trace {
                    println!("  {}  {:<10} {:<9} {}", when(t.at), t.step, t.outcome, t.message);
                }
            }
        }
        DlqCommand::Replay { id, payload, flow_version, audit } => {
            let id: DeadLetterId = parse_id(&id)?;
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            let edited = match payload {
                None => None,
                Some(path) => match super::read_json(&path) {
                    Ok(v) => Some(v),
                    Err(message) => {
                        eprintln!("error: {message}");
                        return Ok(ExitCode::from(EXIT_BAD_INPUT));
                    }
                },
            };
            let job = match service::replay(&store, &cfg.tenant, id, edited.as_ref(), flow_version, &actor).await {
                Ok(job) => job,
                Err(e) => return service_error(cfg, id, e),
            };
            let version = flow_version.map(|v| format!(" with flow version {v}")).unwrap_or_default();
            println!(
                "dead letter {id} replayed as job {job}{}{version}",
                if edited.is_some() { " with the edited payload" } else { "" }
            );
        }
        DlqCommand::Discard { id, audit } => {
            let id: DeadLetterId = parse_id(&id)?;
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            if let Err(e) = service::discard(&store, &cfg.tenant, id, &actor).await {
                return service_error(cfg, id, e);
            }
            println!("dead letter {id} discarded");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A service refusal as the CLI reports it; a store failure is an error of the command.
fn service_error(cfg: &NodeConfig, id: DeadLetterId, e: ServiceError) -> anyhow::Result<ExitCode> {
    match e {
        ServiceError::NotFound(_) => Ok(not_found(cfg, id)),
        ServiceError::BadInput(m) | ServiceError::Conflict(m) => {
            eprintln!("error: {m}");
            Ok(ExitCode::from(EXIT_BAD_INPUT))
        }
        ServiceError::Store(e) => Err(e.into()),
    }
}

/// The answer for an id the selected tenant has no dead letter with.
fn not_found(cfg: &NodeConfig, id: DeadLetterId) -> ExitCode {
    eprintln!("error: dead letter {id} not found for tenant `{}`", cfg.tenant);
    ExitCode::from(EXIT_BAD_INPUT)
}
