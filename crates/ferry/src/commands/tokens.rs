//! `ferry tokens create|list|revoke`: the selected tenant's admin API tokens, through the same
//! functions the API's token routes use ([`ferry_console::auth`]).

use std::process::ExitCode;

use ferry_console::auth::{self, Role};
use ferry_store::Store as _;

use super::{actor_or_exit, bad, table, when};
use crate::cli::TokensCommand;
use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, cmd: TokensCommand) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    match cmd {
        TokensCommand::Create { role, name, expires, json, audit } => {
            let role: Role = match role.parse() {
                Ok(r) => r,
                Err(e) => return Ok(bad(format!("--role: {e}"))),
            };
            let expires_at = match expires.as_deref().map(|e| auth::parse_expiry(e, jiff::Timestamp::now())) {
                None => None,
                Some(Ok(at)) => Some(at),
                Some(Err(e)) => return Ok(bad(format!("--expires: {e}"))),
            };
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            // Tokens belong to a tenant the store has (the node's own is made on first use).
            store.ensure_tenant(&cfg.tenant, cfg.tenant.as_ref()).await?;
            let issued = match auth::issue(&store, &cfg.tenant, role, &name, expires_at, &actor).await {
                Ok(i) => i,
                Err(ferry_console::ServiceError::BadInput(m)) => return Ok(bad(format!("--name: {m}"))),
                Err(e) => return Err(e.into()),
            };
            if json {
                let out = serde_json::json!({
                    "token": issued.token,
                    "id": issued.row.id,
                    "tenant": cfg.tenant,
                    "role": role,
                    "expires_at": issued.row.expires_at,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("{}", issued.token);
                eprintln!(
                    "token {} of tenant `{}` ({role}{}): shown once, keep it safe; `ferry tokens revoke {}` ends it",
                    issued.row.id,
                    cfg.tenant,
                    issued.row.expires_at.map(|t| format!(", expires {}", when(t))).unwrap_or_default(),
                    issued.row.id
                );
            }
        }
        TokensCommand::List { json } => {
            let rows = store.api_tokens(&cfg.tenant).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(ExitCode::SUCCESS);
            }
            if rows.is_empty() {
                println!("tenant `{}` has no tokens; `ferry tokens create --role viewer` makes one", cfg.tenant);
                return Ok(ExitCode::SUCCESS);
            }
            let now = jiff::Timestamp::now();
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|t| {
                    let state = match (t.revoked_at, t.expires_at) {
                        (Some(_), _) => "revoked".to_owned(),
                        (None, Some(at)) if at <= now => "expired".to_owned(),
                        _ => "active".to_owned(),
                    };
                    vec![
                        t.id.clone(),
                        t.role.clone(),
                        state,
                        t.label.clone(),
                        t.created_by.clone(),
                        when(t.created_at),
                        t.expires_at.map(when).unwrap_or_else(|| "never".into()),
                    ]
                })
                .collect();
            println!("{}", table(&["ID", "ROLE", "STATE", "NAME", "CREATED BY", "CREATED", "EXPIRES"], &cells));
        }
        TokensCommand::Revoke { id, audit } => {
            let actor = match actor_or_exit(&audit) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            match store.revoke_api_token(&cfg.tenant, &id, &actor).await {
                Ok(true) => println!("token {id} of tenant `{}` revoked", cfg.tenant),
                Ok(false) => println!("token {id} was revoked already"),
                Err(ferry_store::StoreError::NotFound { .. }) => {
                    return Ok(bad(format!("token `{id}` not found for tenant `{}`", cfg.tenant)));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
