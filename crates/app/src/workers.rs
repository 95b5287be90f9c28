//! The background loops of `tengine serve`: usage and `last_used_at` flushing, rate
//! counter syncing and purging, and webhook delivery. Each stops when `stop` turns
//! true, after finishing its current round.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tengine_application::delivery::{soonest, DeliveryWorker};
use tengine_application::{SlidingWindowLimiter, Tengine, UsageBuffer};
use tengine_ports::DeliveryNotifier;
use tokio::sync::{watch, Notify};

/// How often buffered usage is written (an unclean crash loses at most this much).
pub const USAGE_FLUSH: Duration = Duration::from_secs(1);

/// How often the webhook queue depth gauge is read: a count of the pending
/// deliveries, about 18 ms of PostgreSQL time at 100,000 of them, so not every second.
const QUEUE_DEPTH_EVERY: Duration = Duration::from_secs(10);

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
    let mut depth_read: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = wake.notified() => {}
            () = stopped(&mut stop) => return,
        }
        metrics::gauge!("tengine_db_connections_in_use").set(backend.connections_in_use());
        if depth_read.is_none_or(|at| at.elapsed() >= QUEUE_DEPTH_EVERY) {
            depth_read = Some(tokio::time::Instant::now());
            if let Ok(depth) = tengine.pending_deliveries().await {
                metrics::gauge!("tengine_webhook_queue_depth").set(depth as f64);
            }
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

/// Sends due deliveries: drains everything due, then sleeps until a commit
/// notification, the soonest time its own rounds made something due again (a retry, a
/// throttled second, the next in line of an ordered webhook), or at most a few seconds.
/// It asks the store when the next delivery is due (a few index probes; a claim whose
/// lease ran out is found by the poll) only when it starts and when a sleep ran out with
/// nothing waking it, not after every notification. On stop, releases its claims.
pub async fn deliver(
    worker: Arc<DeliveryWorker>,
    notifier: Arc<dyn DeliveryNotifier>,
    mut stop: watch::Receiver<bool>,
) {
    let batch = worker.config().batch;
    let mut ask_store = true;
    loop {
        let mut wake_at = None;
        loop {
            match worker.run_once().await {
                Ok(round) => {
                    wake_at = soonest(wake_at, round.wake_at);
                    if round.handled < batch || *stop.borrow() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %tengine_domain::error::error_chain(&e), "delivery round failed; retrying shortly");
                    // Hand this round's claims back at once rather than after the lease.
                    let _ = worker.release().await;
                    wake_at = soonest(wake_at, Some(Utc::now() + chrono::Duration::seconds(1)));
                    break;
                }
            }
        }
        if ask_store {
            match worker.next_due().await {
                Ok(at) => wake_at = soonest(wake_at, at),
                Err(_) => wake_at = soonest(wake_at, Some(Utc::now() + chrono::Duration::seconds(1))),
            }
        }
        let wait =
            wake_at.map_or(DELIVERY_POLL, |at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)).min(DELIVERY_POLL);
        tokio::select! {
            () = notifier.wait() => ask_store = false,
            () = tokio::time::sleep(wait) => ask_store = true,
            () = stopped(&mut stop) => break,
        }
    }
    if let Err(e) = worker.release().await {
        tracing::warn!(error = %e, "could not release delivery claims; they expire with their lease");
    }
}
