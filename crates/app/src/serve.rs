//! `tengine serve`: bootstrap, the HTTP server, background flushers and graceful
//! shutdown.

use std::time::Duration;

use std::sync::Arc;

use anyhow::Context;
use tengine_application::{AccountWithKey, SlidingWindowLimiter, Tengine, UsageBuffer};
use tengine_domain::PlainApiKey;
use tokio::sync::{watch, Notify};

use crate::cli::{Global, Serve};
use crate::wiring::{self, Backend};

/// How often `last_used_at` updates are written.
const LAST_USED_FLUSH: Duration = Duration::from_secs(5);

/// How often buffered usage is written (an unclean crash loses at most this much).
const USAGE_FLUSH: Duration = Duration::from_secs(1);

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
    let backend = Backend::open(global, Duration::from_secs(60)).await?;
    let limiter = backend.limiter();
    let tengine = wiring::tengine_with(&backend, limiter.clone());
    bootstrap(&tengine, preset).await?;
    let wake = Arc::new(Notify::new());
    let waker = wake.clone();
    let usage = Arc::new(UsageBuffer::new(USAGE_CAPACITY, move || waker.notify_one()));

    let listener = tokio::net::TcpListener::bind(serve.listen())
        .await
        .with_context(|| format!("could not listen on {}", serve.listen()))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = backend.describe(), "tengine listening");

    let (stop_tx, stop_rx) = watch::channel(false);
    let flusher = tokio::spawn(flush_last_used(tengine.clone(), stop_rx.clone()));
    let syncer = limiter.is_shared().then(|| tokio::spawn(sync_limiter(limiter.clone(), stop_rx.clone())));
    let app = tengine_adapters_http::router(wiring::http_state(&backend, tengine.clone(), usage.clone()));
    let mut shutdown_rx = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = shutdown_rx.wait_for(|stop| *stop).await;
    });
    let server = tokio::spawn(async move { server.await });
    let usage_task = tokio::spawn(flush_usage_loop(tengine.clone(), usage.clone(), wake, stop_rx.clone()));

    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(serve.shutdown_timeout_secs), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::error!(error = %e, "server error"),
        Ok(Err(e)) => tracing::error!(error = %e, "server task failed"),
        Err(_) => tracing::warn!("in-flight requests did not finish in time"),
    }
    let _ = flusher.await;
    let _ = usage_task.await;
    // Requests are done: write every buffered usage record before exiting.
    flush_usage(&tengine, &usage).await;
    if let Some(syncer) = syncer {
        let _ = syncer.await;
    }
    tracing::info!("stopped");
    Ok(())
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

/// Writes pending `last_used_at` values every few seconds, and once more on shutdown.
async fn flush_last_used(tengine: Tengine, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(LAST_USED_FLUSH);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        let batch = tengine.last_used().drain();
        if !batch.is_empty() {
            if let Err(e) = tengine.store().touch_last_used(&batch).await {
                tracing::warn!(error = %e, keys = batch.len(), "could not record key use");
            }
        }
        if stopping {
            return;
        }
    }
}

/// Writes buffered usage every second, or sooner when the buffer fills.
async fn flush_usage_loop(
    tengine: Tengine,
    usage: Arc<UsageBuffer>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(USAGE_FLUSH);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = wake.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        flush_usage(&tengine, &usage).await;
    }
}

/// One flush; on failure the records go back into the buffer for the next try.
async fn flush_usage(tengine: &Tengine, usage: &UsageBuffer) {
    let batch = usage.drain();
    if batch.is_empty() {
        return;
    }
    if let Err(e) = tengine.store().add_usage(&batch).await {
        tracing::warn!(error = %e, rows = batch.len(), "could not write usage; keeping it buffered");
        usage.restore(batch);
    }
}

/// Keeps a shared rate limiter's counts in step with the other instances.
async fn sync_limiter(limiter: Arc<SlidingWindowLimiter>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(tengine_application::rate_limit::SYNC_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if let Err(e) = limiter.sync(chrono::Utc::now()).await {
            tracing::warn!(error = %e, "could not sync rate-limit counters");
        }
        if stopping {
            return;
        }
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
