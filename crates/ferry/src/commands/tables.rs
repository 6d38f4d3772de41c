//! `ferry lookups set|list` and `ferry rates set|list`: the tables mappings read with
//! `lookup('table')` and `convert_currency`.

use std::process::ExitCode;

use ferry_store::{FxRate, Store};

use super::{EXIT_BAD_INPUT, table};
use crate::cli::{LookupsCommand, RatesCommand};
use crate::config::NodeConfig;

pub async fn lookups(cfg: &NodeConfig, cmd: LookupsCommand) -> anyhow::Result<ExitCode> {
    let store = crate::node::open_store(cfg).await?;
    match cmd {
        LookupsCommand::Set { table: name, key, value } => {
            // JSON when it parses as JSON, else the text itself.
            let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
            store.put_lookup(&cfg.tenant, &name, &key, &value).await?;
            println!("{name}[{key}] = {value}");
        }
        LookupsCommand::List { table: only } => {
            let rows: Vec<Vec<String>> = store
                .lookups(&cfg.tenant)
                .await?
                .into_iter()
                .filter(|e| only.as_ref().is_none_or(|t| &e.table == t))
                .map(|e| vec![e.table, e.key, e.value.to_string()])
                .collect();
            if rows.is_empty() {
                println!("no lookup entries");
            } else {
                println!("{}", table(&["TABLE", "KEY", "VALUE"], &rows));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rates(cfg: &NodeConfig, cmd: RatesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RatesCommand::Set { from, to, rate } => {
            let parsed = (from.parse(), to.parse(), rate.parse::<ferry_model::Decimal>());
            let (from, to, rate) = match parsed {
                (Ok(f), Ok(t), Ok(r)) if r > ferry_model::Decimal::ZERO => (f, t, r),
                (Err(e), _, _) | (_, Err(e), _) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(EXIT_BAD_INPUT));
                }
                _ => {
                    eprintln!("error: rate `{rate}` is not a positive decimal number such as 1.0842");
                    return Ok(ExitCode::from(EXIT_BAD_INPUT));
                }
            };
            let store = crate::node::open_store(cfg).await?;
            store.put_rate(&cfg.tenant, &FxRate { from, to, rate }).await?;
            println!("1 {from} = {rate} {to}");
        }
        RatesCommand::List => {
            let store = crate::node::open_store(cfg).await?;
            let rows: Vec<Vec<String>> = store
                .rates(&cfg.tenant)
                .await?
                .into_iter()
                .map(|r| vec![r.from.to_string(), r.to.to_string(), r.rate.to_string()])
                .collect();
            if rows.is_empty() {
                println!("no exchange rates");
            } else {
                println!("{}", table(&["FROM", "TO", "RATE"], &rows));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
