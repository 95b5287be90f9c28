//! Command-line interface: every setting is a flag with a matching environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tengine_app::config::{Config, ServeConfig, StoreConfig};
use tengine_domain::event::Retention;

/// Tengine: projects, API keys, usage analytics, rate limits and signed webhooks.
#[derive(Debug, Parser)]
#[command(name = "tengine", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve` settings, for when no subcommand is given.
    #[command(flatten)]
    pub serve: Serve,
}

/// Settings shared by every command.
#[derive(Debug, Args)]
pub struct Global {
    /// `postgres://...` for PostgreSQL or `sqlite://PATH?mode=rwc`; unset means an
    /// embedded SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the embedded SQLite database lives when `DATABASE_URL` is unset.
    #[arg(long, env = "TENGINE_DATA_DIR", default_value_os_t = StoreConfig::default().data_dir, global = true)]
    pub data_dir: PathBuf,
    /// Log format.
    #[arg(long, env = "TENGINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "TENGINE_LOG", default_value = "info", global = true)]
    pub log: String,
    /// Maximum database connections per process.
    #[arg(long, env = "TENGINE_DB_MAX_CONNECTIONS", default_value_t = StoreConfig::default().max_connections, global = true)]
    pub db_max_connections: u32,
    /// The server key that seals webhook secrets at rest: 32 random bytes in standard
    /// base64 (`openssl rand -base64 32`). Required with PostgreSQL (the same on every
    /// instance); with SQLite, generated into the data directory when unset.
    #[arg(long, env = "TENGINE_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
    /// A file holding the server key, instead of `TENGINE_SECRET_KEY`.
    #[arg(long, env = "TENGINE_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// Comma-separated earlier server keys, still read until `tengine secrets rotate`
    /// has sealed everything under the current one.
    #[arg(long, env = "TENGINE_SECRET_KEYS_PREVIOUS", global = true, hide_env_values = true, value_delimiter = ',')]
    pub secret_keys_previous: Vec<String>,
}

/// How logs are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and background workers (the default).
    Serve(Serve),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Manage account-wide API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the server keys that seal stored secrets.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Delete finished webhook deliveries and events older than the retention now (a
    /// running server does it every hour), and print how many.
    Purge(Purge),
    /// Forward a project's events from a running server to a local URL, signed as
    /// webhook deliveries (for developing a receiver without a public URL).
    Listen(Listen),
}

/// Settings of `listen`.
#[derive(Debug, Args)]
pub struct Listen {
    /// The project whose events to forward (`proj_...`).
    #[arg(long)]
    pub project: String,
    /// Where to POST each event, e.g. `http://localhost:3000/hook`.
    #[arg(long)]
    pub forward_to: String,
    /// The server's origin.
    #[arg(long, env = "TENGINE_SERVER_URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// A key with `read` on the project.
    #[arg(long, env = "TENGINE_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// The secret to sign with (8..=256 characters); a new `whsec_` secret when unset,
    /// printed once on start.
    #[arg(long, env = "TENGINE_LISTEN_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Comma-separated event types to forward (all when unset).
    #[arg(long, value_delimiter = ',')]
    pub events: Vec<String>,
}

/// Settings of `purge`.
#[derive(Debug, Args)]
pub struct Purge {
    /// Days finished webhook deliveries, their attempts and their events are kept.
    #[arg(long, env = "TENGINE_RETENTION_DAYS", default_value_t = ServeConfig::default().retention.as_days().into(), value_parser = retention_days)]
    pub retention_days: u32,
}

/// Settings of `serve`.
#[derive(Debug, Args)]
pub struct Serve {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, env = "TENGINE_LISTEN", default_value_t = ServeConfig::default().listen)]
    pub listen: SocketAddr,
    /// A key to use as the first admin key on an empty database.
    #[arg(long, env = "TENGINE_BOOTSTRAP_KEY", hide_env_values = true)]
    pub bootstrap_key: Option<String>,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, env = "TENGINE_SHUTDOWN_TIMEOUT_SECS", default_value_t = ServeConfig::default().shutdown_timeout.as_secs())]
    pub shutdown_timeout_secs: u64,
    /// Allow webhooks to loopback, private, link-local and metadata addresses
    /// (tests and local development only).
    #[arg(long, env = "TENGINE_WEBHOOK_ALLOW_PRIVATE", default_value_t = ServeConfig::default().webhook_allow_private, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Allow tool calls to loopback, private, link-local and metadata addresses and
    /// plain http (tests and local development only).
    #[arg(long, env = "TENGINE_TOOLS_ALLOW_PRIVATE", default_value_t = ServeConfig::default().tools_allow_private, action = clap::ArgAction::Set)]
    pub tools_allow_private: bool,
    /// Webhook deliveries in flight at once per instance; 0 sends none (an API-only
    /// instance beside others that deliver).
    #[arg(long, env = "TENGINE_WEBHOOK_CONCURRENCY", default_value_t = ServeConfig::default().webhook_concurrency)]
    pub webhook_concurrency: usize,
    /// Requests handled at once; past it, a clean 503.
    #[arg(long, env = "TENGINE_MAX_CONCURRENT_REQUESTS", default_value_t = ServeConfig::default().max_concurrent_requests)]
    pub max_concurrent_requests: usize,
    /// Seconds one request (reading its body included) may take; past it, a 503.
    #[arg(long, env = "TENGINE_REQUEST_TIMEOUT_SECS", default_value_t = ServeConfig::default().request_timeout.as_secs())]
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request's headers, on a new connection and between
    /// requests on a kept-alive one; past it, the connection is closed.
    #[arg(long, env = "TENGINE_HEADER_TIMEOUT_SECS", default_value_t = ServeConfig::default().header_timeout.as_secs())]
    pub header_timeout_secs: u64,
    /// Open connections per instance; past it, a new connection gets a 503 and is closed.
    #[arg(long, env = "TENGINE_MAX_CONNECTIONS", default_value_t = ServeConfig::default().max_connections)]
    pub max_connections: usize,
    /// Bearer token `/metrics` requires (at least 16 characters).
    #[arg(long, env = "TENGINE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A separate address that serves `/metrics` (e.g. on a private network); when set,
    /// the main listener does not serve it.
    #[arg(long, env = "TENGINE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Comma-separated browser origins allowed by CORS (none by default).
    #[arg(long, env = "TENGINE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// The server's public origin as clients reach it (e.g. `https://mcp.example.com`):
    /// the audience member assertions must name, and the origin of portal URLs. Unset:
    /// the origin each request reached (`Host`, `X-Forwarded-Proto`).
    #[arg(long, env = "TENGINE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Usage recording and rate limiting; `false` only for benchmarks and debugging.
    #[arg(long, env = "TENGINE_METERING", default_value_t = ServeConfig::default().metering, action = clap::ArgAction::Set)]
    pub metering: bool,
    /// Days finished webhook deliveries, their attempts and their events are kept before
    /// the hourly purge deletes them (pending deliveries are kept until they finish).
    #[arg(long, env = "TENGINE_RETENTION_DAYS", default_value_t = ServeConfig::default().retention.as_days().into(), value_parser = retention_days)]
    pub retention_days: u32,
}

/// Checks `--retention-days` at parse time, so a bad value stops startup with clap's message.
fn retention_days(raw: &str) -> Result<u32, String> {
    let days: u32 = raw.trim().parse().map_err(|_| format!("{raw:?} is not a whole number of days"))?;
    Retention::days(days).map(|r| r.as_days().into())
}

impl From<&Global> for StoreConfig {
    fn from(g: &Global) -> Self {
        Self {
            database_url: g.database_url.clone(),
            data_dir: g.data_dir.clone(),
            max_connections: g.db_max_connections,
            secret_key: g.secret_key.clone(),
            secret_key_file: g.secret_key_file.clone(),
            secret_keys_previous: g.secret_keys_previous.clone(),
        }
    }
}

impl From<&Serve> for ServeConfig {
    fn from(s: &Serve) -> Self {
        Self {
            listen: s.listen,
            bootstrap_key: s.bootstrap_key.clone(),
            shutdown_timeout: Duration::from_secs(s.shutdown_timeout_secs),
            webhook_allow_private: s.webhook_allow_private,
            webhook_concurrency: s.webhook_concurrency,
            tools_allow_private: s.tools_allow_private,
            max_concurrent_requests: s.max_concurrent_requests,
            request_timeout: Duration::from_secs(s.request_timeout_secs),
            header_timeout: Duration::from_secs(s.header_timeout_secs),
            max_connections: s.max_connections,
            metrics_token: s.metrics_token.clone(),
            metrics_listen: s.metrics_listen,
            cors_origins: s.cors_origins.clone(),
            metering: s.metering,
            public_url: s.public_url.clone(),
            // Checked by the parser; the default stands in for a value it never lets through.
            retention: Retention::days(s.retention_days).unwrap_or_default(),
        }
    }
}

/// The configuration of `tengine serve`.
pub fn config(global: &Global, serve: &Serve) -> Config {
    Config { store: global.into(), serve: serve.into() }
}

/// `tengine accounts ...`.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account and an account-wide key with every permission.
    Create {
        /// The account's name.
        #[arg(long)]
        name: String,
        /// Its plan: free, pro or enterprise.
        #[arg(long, default_value = "free")]
        plan: String,
        /// Requests per hour (enterprise only; omit for unlimited).
        #[arg(long)]
        limit: Option<u32>,
    },
}

/// `tengine keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an account-wide key.
    Create {
        /// The account (`acct_...`).
        #[arg(long)]
        account: String,
        /// Comma-separated permissions: read, write, webhook, admin.
        #[arg(long, value_delimiter = ',', default_value = "read,write,webhook,admin")]
        permissions: Vec<String>,
    },
    /// Revoke any key at once.
    Revoke {
        /// The key (`key_...`).
        #[arg(long)]
        key_id: String,
    },
}

/// `tengine secrets ...`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Seal every stored webhook secret under `TENGINE_SECRET_KEY`, opening old ones with
    /// `TENGINE_SECRET_KEYS_PREVIOUS`; afterwards the previous keys can be dropped.
    Rotate,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["tengine", "serve"]).expect("no arguments parse");
        let Some(Command::Serve(serve)) = cli.command else { panic!("serve is a subcommand") };
        // Only when the environment sets none of the CLI's variables (a developer's shell may).
        let command = <Cli as clap::CommandFactory>::command();
        let serve_command = command.find_subcommand("serve").expect("serve exists");
        let read = command.get_arguments().chain(serve_command.get_arguments()).filter_map(clap::Arg::get_env);
        if read.into_iter().all(|name| std::env::var_os(name).is_none()) {
            assert!(config(&cli.global, &serve) == Config::default());
        }
    }

    #[test]
    fn port_zero_is_a_valid_listen_address() {
        let cli = Cli::try_parse_from(["tengine", "serve", "--listen", "127.0.0.1:0"]).expect("port 0 parses");
        let Some(Command::Serve(serve)) = cli.command else { panic!("serve is a subcommand") };
        assert_eq!(ServeConfig::from(&serve).listen.port(), 0);
    }

    #[test]
    fn retention_days_are_checked_when_parsed() {
        let cli = Cli::try_parse_from(["tengine", "serve", "--retention-days", "7"]).expect("7 days parse");
        let Some(Command::Serve(serve)) = cli.command else { panic!("serve is a subcommand") };
        assert_eq!(ServeConfig::from(&serve).retention.as_days(), 7);
        for bad in ["0", "3651", "-1", "a week"] {
            assert!(Cli::try_parse_from(["tengine", "serve", "--retention-days", bad]).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn tools_allow_private_reaches_the_serve_config() {
        let cli = Cli::try_parse_from(["tengine", "serve", "--tools-allow-private", "true"]).expect("a bool parses");
        let Some(Command::Serve(serve)) = cli.command else { panic!("serve is a subcommand") };
        assert!(ServeConfig::from(&serve).tools_allow_private);
    }
}
