//! The `tengine` binary: parse configuration, set up logging, run a command.

mod cli;
mod commands;
mod listener;
mod secret_key;
mod serve;
mod wiring;
mod workers;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, LogFormat};

// glibc's allocator showed up as about a tenth of the hot path's CPU; mimalloc's
// thread-local free lists cost less per request (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.log_format, &cli.global.log);
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(serve) => serve::run(&cli.global, &serve).await,
        Command::Migrate => commands::migrate(&cli.global).await,
        Command::Accounts(cmd) => commands::accounts(&cli.global, cmd).await,
        Command::Keys(cmd) => commands::keys(&cli.global, cmd).await,
        Command::Secrets(cmd) => commands::secrets(&cli.global, cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "tengine failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.init(),
    }
}
