//! `ferry map preview|schema`.

use std::process::ExitCode;

use ferry_mapping::preview::{PreviewContext, PreviewError, preview_named};

use super::{EXIT_BAD_INPUT, connection_ids, read_json};
use crate::cli::MapCommand;
use crate::config::NodeConfig;

pub async fn run(cfg: &NodeConfig, cmd: MapCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MapCommand::Schema => {
            println!("{}", serde_json::to_string_pretty(&ferry_mapping::json_schema())?);
            Ok(ExitCode::SUCCESS)
        }
        MapCommand::Preview { flow, input } => {
            let input = match read_json(&input) {
                Ok(v) => v,
                Err(message) => {
                    eprintln!("error: {message}");
                    return Ok(ExitCode::from(EXIT_BAD_INPUT));
                }
            };
            let connections = connection_ids(cfg);
            // The preview reads the same lookup tables and rates the node would.
            let store = crate::node::open_store(cfg).await?;
            let lookups = crate::lookups::load(&store, &cfg.tenant).await?;
            let ctx = PreviewContext { lookups: std::sync::Arc::new(lookups), ..PreviewContext::default() };
            match preview_named(&cfg.flows_dir, &flow, &connections, &input, &ctx) {
                Ok(output) => {
                    println!("{}", serde_json::to_string_pretty(&output)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(PreviewError::Invalid(diagnostics)) => {
                    for d in &diagnostics {
                        eprintln!("error: {d}");
                    }
                    eprintln!("the flows folder has {} error(s); nothing was mapped", diagnostics.len());
                    Ok(ExitCode::from(EXIT_BAD_INPUT))
                }
                Err(PreviewError::NotFound(name)) => {
                    eprintln!("error: no flow named `{name}` in {}", cfg.flows_dir.display());
                    Ok(ExitCode::from(EXIT_BAD_INPUT))
                }
                Err(PreviewError::Mapping(errors)) => {
                    for e in &errors {
                        eprintln!("error: {e}");
                    }
                    eprintln!("{} field(s) failed to map", errors.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
