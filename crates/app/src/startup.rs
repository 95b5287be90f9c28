//! `tengine serve` as a library: [`Application::build`] checks the settings and binds the
//! listeners (port 0 picks a free one, read back with [`Application::local_addr`]);
//! [`Application::run_until_stopped`] opens the database, bootstraps, serves and runs
//! the background workers until the stop signal, then shuts down gracefully.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tengine_adapters_http::{Edge, HttpConfig, MetricsAccess, MetricsToken, Pages};
use tengine_application::secrets::Reseal;
use tengine_application::{AccountWithKey, Tengine};
use tengine_domain::secret_key::Keyring;
use tengine_domain::PlainApiKey;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, ServeConfig};
use crate::listener::{self, Limits};
use crate::wiring::{self, Backend, Wired};
use crate::workers;

/// Connections the metrics listener holds at once (it serves a scraper or two).
const METRICS_CONNECTIONS: usize = 64;
/// The least a request, or its headers, may take: a zero setting would refuse everything.
const ONE_SECOND: Duration = Duration::from_secs(1);

/// The server, bound but not yet serving.
pub struct Application {
    config: Config,
    listener: TcpListener,
    addr: SocketAddr,
    metrics_listener: Option<(TcpListener, SocketAddr)>,
    metrics_access: MetricsAccess,
    keyring: Arc<Keyring>,
    preset: Option<PlainApiKey>,
}

impl Application {
    /// Checks the settings and the server keys, then binds the listeners. Nothing is
    /// served until [`Application::run_until_stopped`]; connections wait in the backlog.
    ///
    /// # Errors
    /// When a setting or a key is invalid, or an address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let preset = match config.serve.bootstrap_key.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<PlainApiKey>()
                    .map_err(|e| anyhow::anyhow!("TENGINE_BOOTSTRAP_KEY is not a valid Tengine key ({e})"))?,
            ),
        };
        // A missing or malformed key stops the start before anything listens.
        let keyring = Arc::new(crate::secret_key::load(&config.store)?);
        let metrics_access = metrics_access(&config.serve)?;
        if let Some(url) = config.serve.public_url.as_deref() {
            public_origin(url)?;
        }
        let listen = config.serve.listen;
        let listener = TcpListener::bind(listen).await.with_context(|| format!("could not listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let metrics_listener = match config.serve.metrics_listen {
            Some(at) => {
                let listener = TcpListener::bind(at).await.with_context(|| format!("could not listen on {at}"))?;
                let addr = listener.local_addr()?;
                Some((listener, addr))
            }
            None => None,
        };
        Ok(Self { config, listener, addr, metrics_listener, metrics_access, keyring, preset })
    }

    /// The address the API listens on (the actual port when the setting said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the API listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address of the `/metrics` listener, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, addr)| *addr)
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (up to the
    /// shutdown timeout), writes buffered usage and stops the workers. Until the
    /// database answers, `/healthz` is 200 and everything else a 503.
    ///
    /// # Errors
    /// When the database cannot be opened or bootstrapped, or the delivery worker or
    /// the tool-call client cannot start.
    pub async fn run_until_stopped<S>(self, shutdown: S) -> anyhow::Result<()>
    where
        S: Future<Output = ()>,
    {
        let Self { config, listener, addr, metrics_listener, metrics_access, keyring, preset } = self;
        let serve = &config.serve;
        let public_url = serve.public_url.as_deref().map(public_origin).transpose()?;
        let tools = wiring::tool_caller(serve.tools_allow_private)?;
        // Polled in two places: while the database is awaited, then while serving.
        let mut shutdown = std::pin::pin!(shutdown);
        // Dropping `stop_tx` (an early error) stops every loop, as sending `true` does.
        let (stop_tx, stop_rx) = watch::channel(false);
        let limits =
            Limits { header_timeout: serve.header_timeout.max(ONE_SECOND), max_connections: serve.max_connections };
        let (router_tx, router_rx) = watch::channel::<Option<Edge>>(None);
        let server = tokio::spawn(listener::accept_loop(listener, router_rx, stop_rx.clone(), limits));
        let (metrics_tx, metrics_rx) = watch::channel::<Option<Edge>>(None);
        let metrics_server = metrics_listener.map(|(listener, at)| {
            tracing::info!(addr = %at, "serving /metrics on its own listener");
            let limits = Limits { max_connections: METRICS_CONNECTIONS, ..limits };
            tokio::spawn(listener::accept_loop(listener, metrics_rx, stop_rx.clone(), limits))
        });
        tracing::info!(%addr, "tengine listening; connecting to the database");

        let backend = tokio::select! {
            opened = Backend::open(&config.store, Duration::MAX) => opened?,
            () = &mut shutdown => {
                let _ = stop_tx.send(true);
                let _ = server.await;
                if let Some(metrics_server) = metrics_server {
                    let _ = metrics_server.await;
                }
                return Ok(());
            }
        };
        let Wired { tengine, limiter, usage, usage_full, state } =
            wiring::wire(&backend, keyring.clone(), tools, serve, public_url.clone(), wiring::metrics());
        bootstrap(&tengine, preset, addr).await?;
        seal_plaintext_secrets(&tengine).await;

        let syncer = limiter.is_shared().then(|| tokio::spawn(workers::sync_limiter(limiter.clone(), stop_rx.clone())));
        // A worker (with its own claim name) per loop: a loop that hands its claims back
        // after a failed round hands back only its own, never another's sends in flight.
        let mut deliveries = Vec::new();
        if serve.webhook_concurrency == 0 {
            // An API-only instance: its events wait in the outbox for an instance that sends.
            tracing::info!("webhook delivery is off on this instance (TENGINE_WEBHOOK_CONCURRENCY=0)");
        } else {
            let notifier = backend.delivery_notifier().await?;
            for _ in 0..backend.delivery_loops() {
                let worker = wiring::delivery_worker(&backend, serve, keyring.clone())?;
                deliveries.push(tokio::spawn(workers::deliver(worker, notifier.clone(), stop_rx.clone())));
            }
        }
        let mut http = HttpConfig {
            max_concurrent_requests: serve.max_concurrent_requests,
            request_timeout: serve.request_timeout.max(ONE_SECOND),
            cors_origins: serve.cors_origins.clone(),
            metrics: metrics_access,
            pages: None,
        };
        if metrics_server.is_some() {
            let _ = metrics_tx.send(Some(tengine_adapters_http::metrics_router(state.clone(), &http)));
            http.metrics = MetricsAccess::Off;
        }
        let maintenance = tokio::spawn(workers::maintenance(tengine.clone(), stop_rx.clone()));
        let usage_task = tokio::spawn(workers::flush_usage_loop(
            tengine.clone(),
            usage.clone(),
            usage_full,
            backend.clone(),
            stop_rx.clone(),
        ));
        // The console and portal pages ride on the API listener only.
        let answer: tengine_adapters_console::ErrorAnswer =
            |e| axum::response::IntoResponse::into_response(tengine_adapters_http::ApiError::from(e));
        http.pages = Some(Pages(tengine_adapters_console::router(tengine.clone(), answer)));
        let streams = state.streams.clone();
        let _ = router_tx.send(Some(tengine_adapters_http::router_with(state, &http)));
        tracing::info!(%addr, backend = backend.describe(), "tengine ready");

        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        streams.close();
        let _ = stop_tx.send(true);
        match tokio::time::timeout(serve.shutdown_timeout, server).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "server task failed"),
            Err(_) => tracing::warn!("in-flight requests did not finish in time"),
        }
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        let _ = usage_task.await;
        // Requests are done: write every buffered usage record before exiting.
        workers::flush_usage(&tengine, &usage).await;
        if let Some(syncer) = syncer {
            let _ = syncer.await;
        }
        for loop_task in deliveries {
            let _ = loop_task.await;
        }
        let _ = maintenance.await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Who may read `/metrics`: a token when one is set; else anyone on a listener of its
/// own (a private network, the operator's choice); else nobody (the main listener faces
/// clients, and whether a proxy forwards to it cannot be told from its address).
fn metrics_access(serve: &ServeConfig) -> anyhow::Result<MetricsAccess> {
    let access = match serve.metrics_token.as_deref() {
        Some(token) if !token.is_empty() => MetricsAccess::Token(
            MetricsToken::try_from(token).map_err(|e| anyhow::anyhow!("TENGINE_METRICS_TOKEN {e}"))?,
        ),
        _ if serve.metrics_listen.is_some() => MetricsAccess::Open,
        _ => {
            tracing::info!("/metrics is off: set TENGINE_METRICS_TOKEN or TENGINE_METRICS_LISTEN to serve it");
            MetricsAccess::Off
        }
    };
    Ok(access)
}

/// Creates the default account and admin key on an empty database and prints the key
/// once, on stdout, never in a log, with the console's address (`addr` as a browser on
/// this machine reaches it).
async fn bootstrap(tengine: &Tengine, preset: Option<PlainApiKey>, addr: SocketAddr) -> anyhow::Result<()> {
    let Some(AccountWithKey { account, key, secret }) = tengine.bootstrap(preset).await.context("bootstrap failed")?
    else {
        return Ok(());
    };
    tracing::info!(account_id = %account.id, key_id = %key.id, prefix = %key.prefix, "created the default account and its admin key (printed once on stdout)");
    let base = browsable(addr);
    let bar = "=".repeat(72);
    println!(
        "{bar}\n  TENGINE ADMIN API KEY (shown once; store it now)\n\n  account: {}\n  key id:  {}\n  key:     {}\n\n  console: {base}/  (sign in with the key)\n  curl -H \"Authorization: Bearer {}\" {base}/api/v1/projects\n{bar}",
        account.id,
        key.id,
        secret.expose_secret(),
        secret.expose_secret()
    );
    Ok(())
}

/// `TENGINE_PUBLIC_URL` as an origin: `http(s)://host[:port]`, a trailing `/` dropped.
fn public_origin(raw: &str) -> anyhow::Result<String> {
    let url = raw.trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    match rest {
        Some(host) if !host.is_empty() && host.chars().all(plain) => Ok(url.to_owned()),
        _ => anyhow::bail!("TENGINE_PUBLIC_URL must be an origin like https://mcp.example.com (no path), not {raw:?}"),
    }
}

/// The URL a browser on this machine opens for a listener at `addr` (a wildcard
/// address is reached through loopback).
fn browsable(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("http://[::1]:{}", addr.port()),
        IpAddr::V4(ip) => format!("http://{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
    }
}

/// Seals webhook secrets a version before encryption at rest stored in plaintext. They
/// stay readable meanwhile, so a failure here only waits for the next start.
async fn seal_plaintext_secrets(tengine: &Tengine) {
    match tengine.reseal_webhook_secrets(Reseal::Plaintext).await {
        Ok(r) if r.resealed > 0 => tracing::info!(sealed = r.resealed, "sealed plaintext webhook secrets"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not seal plaintext webhook secrets; retrying at the next start"),
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C): the binary's stop signal.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
