//! `ferry secrets set|list`. Values come from standard input and are sealed before they
//! reach the store; nothing ever prints them.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use ferry_store::Store;
use ferry_store::secrets::{KeySource, MasterKey, SecretValue};

use super::{EXIT_BAD_INPUT, table, when};
use crate::cli::SecretsCommand;
use crate::config::NodeConfig;

/// The node's master key: `FERRY_MASTER_KEY`, else `<data dir>/master.key` (created 0600).
pub fn master_key(cfg: &NodeConfig) -> anyhow::Result<MasterKey> {
    let path = cfg.data_dir.join("master.key");
    let (key, source) = MasterKey::load(&path)?;
    if let KeySource::CreatedFile(p) = source {
        eprintln!(
            "created master key {} (mode 0600); back it up: without it, stored secrets cannot be read",
            p.display()
        );
    }
    Ok(key)
}

/// Secret names: what a connection's `credentials` may refer to.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

pub async fn run(cfg: &NodeConfig, cmd: SecretsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SecretsCommand::Set { name, audit } => {
            if !valid_name(&name) {
                eprintln!("error: secret name `{name}` is not valid: use 1–128 letters, digits, '-', '_', '.', '/'");
                return Ok(ExitCode::from(EXIT_BAD_INPUT));
            }
            let actor = match audit.actor() {
                Ok(a) => a,
                Err(message) => {
                    eprintln!("error: {message}");
                    return Ok(ExitCode::from(EXIT_BAD_INPUT));
                }
            };
            let mut value = String::new();
            std::io::stdin().read_to_string(&mut value).context("reading the secret from standard input")?;
            let value = value.strip_suffix('\n').map(|v| v.strip_suffix('\r').unwrap_or(v)).unwrap_or(&value);
            if value.is_empty() {
                eprintln!("error: no value on standard input; pipe it in, e.g. `ferry secrets set {name} < file`");
                return Ok(ExitCode::from(EXIT_BAD_INPUT));
            }
            let store = crate::node::open_store(cfg).await?;
            let key = master_key(cfg)?;
            let sealed = key.seal(&cfg.tenant, &name, &SecretValue::new(value))?;
            store.put_secret(&sealed, &actor).await?;
            println!("stored secret {name} (sealed with master key {})", key.id());
        }
        SecretsCommand::List => {
            let store = crate::node::open_store(cfg).await?;
            let rows = store.secret_names(&cfg.tenant).await?;
            if rows.is_empty() {
                println!("no secrets stored");
            } else {
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|s| vec![s.name.clone(), s.key_id.clone(), when(s.created_at), when(s.updated_at)])
                    .collect();
                println!("{}", table(&["NAME", "KEY", "CREATED", "UPDATED"], &cells));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
