//! `ferry`: the integration engine's command line and node.

// `print!`, `println!` and `eprintln!` for the whole crate (macros defined here are in
// scope in every module below and take the place of std's): the same, except that a stdout or
// stderr that cannot be written (closed, or a pipe whose reader is gone: `ferry dlq list | head`)
// loses the text instead of panicking.
macro_rules! print {
    ($($arg:tt)*) => {{ let _ = std::io::Write::write_fmt(&mut std::io::stdout(), format_args!($($arg)*)); }};
}
macro_rules! println {
    () => { print!("\n") };
    ($($arg:tt)*) => {{ let _ = std::io::Write::write_fmt(&mut std::io::stdout(), format_args!("{}\n", format_args!($($arg)*))); }};
}
macro_rules! eprintln {
    () => {{ let _ = std::io::Write::write_all(&mut std::io::stderr(), b"\n"); }};
    ($($arg:tt)*) => {{ let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("{}\n", format_args!($($arg)*))); }};
}

mod builtin;
mod cli;
mod commands;
mod config;
mod logging;
mod lookups;
mod node;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by FERRY_LOG (default: info). A stderr that cannot be written
/// loses the lines; it never stops the node ([`logging::Stderr`]).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(logging::Stderr)
        .log_internal_errors(false)
        .with_target(false)
        .with_ansi(ansi)
        .try_init();
}
