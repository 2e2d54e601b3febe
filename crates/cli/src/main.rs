//! `tlsdeck`: the management server, the probe and the API client in one binary.

mod args;
mod client;
mod commands;
mod config;
mod input;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

/// A mistake in how the command was called; exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) if e.is::<UsageError>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TLSDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // The HTTP client's traces print request headers, bearer tokens included.
        .add_directive("ureq=info".parse().expect("a valid directive"))
        .add_directive("ureq_proto=info".parse().expect("a valid directive"))
        // PostgreSQL's client traces every statement's parameters: hashes and sealed keys.
        .add_directive("tokio_postgres=info".parse().expect("a valid directive"))
        .add_directive("postgres=info".parse().expect("a valid directive"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}
