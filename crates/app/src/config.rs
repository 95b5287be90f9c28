//! The settings of the application as plain structs: the CLI parses flags and
//! environment into them; the fuzz harness and tests fill them in directly.
//!
//! `Debug` is not derived: several fields hold keys.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tengine_domain::event::Retention;

/// Everything `tengine serve` needs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Where the data lives and the keys that seal it.
    pub store: StoreConfig,
    /// The listeners, limits and workers.
    pub serve: ServeConfig,
}

/// Where the data lives and the server keys that seal stored secrets; every command
/// needs these.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `postgres://...` or `sqlite://PATH?mode=rwc`; `None` means an embedded SQLite
    /// file in `data_dir`.
    pub database_url: Option<String>,
    /// Where the embedded SQLite database and its generated key live.
    pub data_dir: PathBuf,
    /// Database connections per process.
    pub max_connections: u32,
    /// The current server key, in standard base64.
    pub secret_key: Option<String>,
    /// A file holding the current server key instead.
    pub secret_key_file: Option<PathBuf>,
    /// Earlier server keys, still read until everything is resealed.
    pub secret_keys_previous: Vec<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from("./tengine-data"),
            max_connections: 16,
            secret_key: None,
            secret_key_file: None,
            secret_keys_previous: Vec::new(),
        }
    }
}

impl StoreConfig {
    /// Whether `database_url` names a PostgreSQL server.
    pub fn is_postgres(&self) -> bool {
        self.database_url.as_deref().is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }
}

/// The settings of `tengine serve`.
#[derive(Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Where the API listens; port 0 picks a free port (see `Application::local_addr`).
    pub listen: SocketAddr,
    /// A key to use as the first admin key on an empty database.
    pub bootstrap_key: Option<String>,
    /// How long in-flight requests may take to finish after the stop signal.
    pub shutdown_timeout: Duration,
    /// Whether webhooks may target loopback, private and metadata addresses.
    pub webhook_allow_private: bool,
    /// Webhook deliveries in flight at once; 0 runs no delivery worker.
    pub webhook_concurrency: usize,
    /// Whether tool calls may reach loopback, private and metadata addresses over http.
    pub tools_allow_private: bool,
    /// Requests handled at once; past it, a 503.
    pub max_concurrent_requests: usize,
    /// How long one request may take; past it, a 503.
    pub request_timeout: Duration,
    /// How long a client has to send a request's headers.
    pub header_timeout: Duration,
    /// Open connections; past it, a new one gets a 503 and is closed.
    pub max_connections: usize,
    /// The bearer token `/metrics` requires.
    pub metrics_token: Option<String>,
    /// A listener of its own for `/metrics`; port 0 picks a free port.
    pub metrics_listen: Option<SocketAddr>,
    /// Browser origins allowed by CORS.
    pub cors_origins: Vec<String>,
    /// Usage recording and rate limiting (off only for benchmarks).
    pub metering: bool,
    /// The public origin (`https://host[:port]`); `None`: each request's own.
    pub public_url: Option<String>,
    /// How long finished deliveries and their events are kept.
    pub retention: Retention,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            bootstrap_key: None,
            shutdown_timeout: Duration::from_secs(30),
            webhook_allow_private: false,
            webhook_concurrency: 256,
            tools_allow_private: false,
            max_concurrent_requests: 1024,
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
            metrics_token: None,
            metrics_listen: None,
            public_url: None,
            cors_origins: Vec::new(),
            metering: true,
            retention: Retention::DEFAULT,
        }
    }
}
