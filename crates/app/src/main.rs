//! The `tengine` binary: parse configuration, set up logging, run a command.

mod cli;
mod commands;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, Global, LogFormat, Serve};
use tengine_app::{Application, StoreConfig};

// glibc's allocator showed up as about a tenth of the hot path's CPU; mimalloc's
// thread-local free lists cost less per request (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.log_format, &cli.global.log);
    let store = StoreConfig::from(&cli.global);
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(serve) => serve_until_stopped(&cli.global, &serve).await,
        Command::Migrate => commands::migrate(&store).await,
        Command::Accounts(cmd) => commands::accounts(&store, cmd).await,
        Command::Keys(cmd) => commands::keys(&store, cmd).await,
        Command::Secrets(cmd) => commands::secrets(&store, cmd).await,
        Command::Purge(purge) => commands::purge(&store, &purge).await,
        Command::Listen(listen) => commands::listen(listen).await,
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

/// `tengine serve`. Once listening, prints `tengine: listening on ADDR` (and
/// `tengine: metrics listening on ADDR`) on stdout, so whoever started it with port 0
/// learns the port.
async fn serve_until_stopped(global: &Global, serve: &Serve) -> anyhow::Result<()> {
    let app = Application::build(cli::config(global, serve)).await?;
    {
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the server (println! would panic).
        let _ = writeln!(out, "tengine: listening on {}", app.local_addr());
        if let Some(at) = app.metrics_addr() {
            let _ = writeln!(out, "tengine: metrics listening on {at}");
        }
        let _ = out.flush();
    }
    app.run_until_stopped(tengine_app::shutdown_signal()).await
}

fn init_tracing(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.init(),
    }
}
