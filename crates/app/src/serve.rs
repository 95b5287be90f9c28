//! `tengine serve`: bootstrap, the HTTP server, background flushers and graceful
//! shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tengine_adapters_http::{Edge, MetricsAccess, MetricsToken};
use tengine_application::secrets::Reseal;
use tengine_application::{AccountWithKey, Tengine, UsageBuffer};
use tengine_domain::PlainApiKey;
use tokio::sync::{watch, Notify};

use crate::cli::{Global, Serve};
use crate::listener::{self, Limits};
use crate::wiring::{self, Backend};
use crate::workers;

/// Distinct (project, key, hour) rows the usage buffer holds before dropping.
const USAGE_CAPACITY: usize = 100_000;

/// Runs the server until SIGTERM/SIGINT.
///
/// # Errors
/// When the database or the listen address cannot be opened.
pub async fn run(global: &Global, serve: &Serve) -> anyhow::Result<()> {
    let preset = match serve.bootstrap_key.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            raw.parse::<PlainApiKey>()
                .map_err(|e| anyhow::anyhow!("TENGINE_BOOTSTRAP_KEY is not a valid Tengine key ({e})"))?,
        ),
    };
    // A missing or malformed key stops the start before anything listens.
    let keyring = Arc::new(crate::secret_key::load(global)?);
    let metrics_access = metrics_access(serve)?;
    // Listen at once: until the database answers, /healthz is 200 and the rest a 503.
    let listener = tokio::net::TcpListener::bind(serve.listen())
        .await
        .with_context(|| format!("could not listen on {}", serve.listen()))?;
    let addr = listener.local_addr()?;
    let limits = Limits {
        header_timeout: Duration::from_secs(serve.header_timeout_secs.max(1)),
        max_connections: serve.max_connections,
    };
    let (router_tx, router_rx) = watch::channel::<Option<Edge>>(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = tokio::spawn(listener::accept_loop(listener, router_rx, stop_rx.clone(), limits));
    let (metrics_tx, metrics_rx) = watch::channel::<Option<Edge>>(None);
    let metrics_server = match serve.metrics_listen {
        Some(at) => {
            let listener =
                tokio::net::TcpListener::bind(at).await.with_context(|| format!("could not listen on {at}"))?;
            tracing::info!(addr = %listener.local_addr()?, "serving /metrics on its own listener");
            let limits = Limits { max_connections: METRICS_CONNECTIONS, ..limits };
            Some(tokio::spawn(listener::accept_loop(listener, metrics_rx, stop_rx.clone(), limits)))
        }
        None => None,
    };
    tracing::info!(%addr, "tengine listening; connecting to the database");

    let opened = tokio::select! {
        opened = Backend::open(global, Duration::MAX) => Some(opened?),
        () = shutdown_signal() => None,
    };
    let Some(backend) = opened else {
        let _ = stop_tx.send(true);
        let _ = server.await;
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        return Ok(());
    };
    let limiter = backend.limiter();
    let tengine = wiring::tengine_with(&backend, limiter.clone(), keyring.clone());
    bootstrap(&tengine, preset).await?;
    seal_plaintext_secrets(&tengine).await;
    let wake = Arc::new(Notify::new());
    let waker = wake.clone();
    let usage = Arc::new(UsageBuffer::new(USAGE_CAPACITY, move || waker.notify_one()));

    let syncer = limiter.is_shared().then(|| tokio::spawn(workers::sync_limiter(limiter.clone(), stop_rx.clone())));
    let worker = wiring::delivery_worker(&backend, serve, keyring)?;
    let notifier = backend.delivery_notifier().await?;
    let deliveries = tokio::spawn(workers::deliver(worker, notifier, stop_rx.clone()));
    let metrics = wiring::metrics();
    let state = wiring::http_state(&backend, tengine.clone(), usage.clone(), serve.metering, metrics);
    let mut http = tengine_adapters_http::HttpConfig {
        max_concurrent_requests: serve.max_concurrent_requests,
        request_timeout: Duration::from_secs(serve.request_timeout_secs.max(1)),
        cors_origins: serve.cors_origins.clone(),
        metrics: metrics_access,
    };
    if metrics_server.is_some() {
        let _ = metrics_tx.send(Some(tengine_adapters_http::metrics_router(state.clone(), &http)));
        http.metrics = MetricsAccess::Off;
    }
    let maintenance = tokio::spawn(workers::maintenance(tengine.clone(), stop_rx.clone()));
    let usage_task =
        tokio::spawn(workers::flush_usage_loop(tengine.clone(), usage.clone(), wake, backend.clone(), stop_rx.clone()));
    let _ = router_tx.send(Some(tengine_adapters_http::router_with(state, &http)));
    tracing::info!(%addr, backend = backend.describe(), "tengine ready");

    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(serve.shutdown_timeout_secs), server).await {
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
    let _ = deliveries.await;
    let _ = maintenance.await;
    tracing::info!("stopped");
    Ok(())
}

/// Connections the metrics listener holds at once (it serves a scraper or two).
const METRICS_CONNECTIONS: usize = 64;

/// Who may read `/metrics`: a token when one is set; else anyone on a listener of its
/// own (a private network, the operator's choice); else nobody (the main listener faces
/// clients, and whether a proxy forwards to it cannot be told from its address).
fn metrics_access(serve: &Serve) -> anyhow::Result<MetricsAccess> {
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
/// once, on stdout, never in a log.
async fn bootstrap(tengine: &Tengine, preset: Option<PlainApiKey>) -> anyhow::Result<()> {
    let Some(AccountWithKey { account, key, secret }) = tengine.bootstrap(preset).await.context("bootstrap failed")?
    else {
        return Ok(());
    };
    tracing::info!(account_id = %account.id, key_id = %key.id, prefix = %key.prefix, "created the default account and its admin key (printed once on stdout)");
    let bar = "=".repeat(72);
    println!(
        "{bar}\n  TENGINE ADMIN API KEY (shown once; store it now)\n\n  account: {}\n  key id:  {}\n  key:     {}\n\n  curl -H \"Authorization: Bearer {}\" http://HOST/api/v1/projects\n{bar}",
        account.id,
        key.id,
        secret.expose_secret(),
        secret.expose_secret()
    );
    Ok(())
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

async fn shutdown_signal() {
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
