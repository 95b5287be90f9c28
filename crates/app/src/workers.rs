//! The background loops of `tengine serve`: usage and `last_used_at` flushing, rate
//! counter syncing and purging, and webhook delivery. Each stops when `stop` turns
//! true, after finishing its current round.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tengine_application::delivery::DeliveryWorker;
use tengine_application::{SlidingWindowLimiter, Tengine, UsageBuffer};
use tengine_ports::DeliveryNotifier;
use tokio::sync::{watch, Notify};

/// How often buffered usage is written (an unclean crash loses at most this much).
pub const USAGE_FLUSH: Duration = Duration::from_secs(1);

/// How long the delivery worker sleeps at most when nothing wakes it.
const DELIVERY_POLL: Duration = Duration::from_secs(5);

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Writes buffered usage and pending `last_used_at` values every second, or sooner
/// when the buffer fills.
pub async fn flush_usage_loop(
    tengine: Tengine,
    usage: Arc<UsageBuffer>,
    wake: Arc<Notify>,
    backend: crate::wiring::Backend,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(USAGE_FLUSH);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = wake.notified() => {}
            () = stopped(&mut stop) => return,
        }
        metrics::gauge!("tengine_db_connections_in_use").set(backend.connections_in_use());
        if let Ok(depth) = tengine.pending_deliveries().await {
            metrics::gauge!("tengine_webhook_queue_depth").set(depth as f64);
        }
        flush_usage(&tengine, &usage).await;
    }
}

/// One flush; on failure the records go back into the buffer for the next try.
pub async fn flush_usage(tengine: &Tengine, usage: &UsageBuffer) {
    metrics::gauge!("tengine_usage_buffer_rows").set(usage.depth() as f64);
    for (cache, entries, capacity) in tengine.cache_sizes() {
        metrics::gauge!("tengine_cache_entries", "cache" => cache).set(entries as f64);
        metrics::gauge!("tengine_cache_capacity", "cache" => cache).set(capacity as f64);
    }
    metrics::gauge!("tengine_rate_limiter_accounts").set(tengine.rate_limited_accounts() as f64);
    metrics::counter!("tengine_usage_records_dropped_total").absolute(usage.dropped());
    tengine.flush_usage(usage).await;
}

/// Hourly: deletes old rate-limit windows and expired idempotency records.
pub async fn maintenance(tengine: Tengine, mut stop: watch::Receiver<bool>) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3_600));
    loop {
        tokio::select! {
            _ = hourly.tick() => {}
            () = stopped(&mut stop) => return,
        }
        if let Err(e) = tengine.purge_expired().await {
            tracing::warn!(error = %e, "could not purge old rate-limit windows and idempotency records");
        }
    }
}

/// Keeps a shared rate limiter's counts in step with other instances.
pub async fn sync_limiter(limiter: Arc<SlidingWindowLimiter>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(tengine_application::rate_limit::SYNC_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            () = stopped(&mut stop) => true,
        };
        if let Err(e) = limiter.sync(Utc::now()).await {
            tracing::warn!(error = %e, "could not sync rate-limit counters");
        }
        if stopping {
            return;
        }
    }
}

/// Sends due deliveries: drains everything due, then sleeps until the next due time,
/// a commit notification, or at most a few seconds. On stop, releases its claims.
pub async fn deliver(
    worker: Arc<DeliveryWorker>,
    notifier: Arc<dyn DeliveryNotifier>,
    mut stop: watch::Receiver<bool>,
) {
    let batch = worker.config().batch;
    loop {
        loop {
            match worker.run_once().await {
                Ok(n) if n >= batch && !*stop.borrow() => {}
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %tengine_adapters_http::error::error_chain(&e), "delivery round failed; retrying shortly");
                    // Hand this round's claims back at once rather than after the lease.
                    let _ = worker.release().await;
                    break;
                }
            }
        }
        let wait = match worker.next_due().await {
            Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(DELIVERY_POLL),
            Ok(None) => DELIVERY_POLL,
            Err(_) => Duration::from_secs(1),
        };
        tokio::select! {
            () = notifier.wait() => {}
            () = tokio::time::sleep(wait) => {}
            () = stopped(&mut stop) => break,
        }
    }
    if let Err(e) = worker.release().await {
        tracing::warn!(error = %e, "could not release delivery claims; they expire with their lease");
    }
}
