//! The background use cases of a running server: flushing buffered usage and key use,
//! purging what has outlived its purpose, and reading the delivery backlog.

use chrono::{DateTime, Duration, Utc};

use crate::{AppError, Tengine, UsageBuffer};

/// Rate-limit windows older than this are no longer part of any sliding hour.
const RATE_WINDOWS_KEPT: Duration = Duration::hours(3);

/// Rows of each kind one retention batch deletes at most: its transaction lasts
/// milliseconds, so writers (SQLite's one writer above all) wait at most that long.
pub const PURGE_BATCH: u32 = 1_000;

/// The pause between two retention batches, which lets waiting writers in.
const PURGE_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// What a retention purge deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Finished deliveries created before this moment, and events no delivery refers to,
    /// were deleted.
    pub before: DateTime<Utc>,
    /// Deliveries deleted (with their attempts).
    pub deliveries: u64,
    /// Events deleted.
    pub events: u64,
}

impl Tengine {
    /// Now, by the Clock port (adapters read time only through here).
    pub fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    /// Writes buffered usage and pending `last_used_at` values. Usage that cannot be
    /// written goes back into the buffer for the next flush; failures are logged.
    pub async fn flush_usage(&self, usage: &UsageBuffer) {
        let batch = usage.drain();
        if !batch.is_empty() {
            if let Err(e) = self.deps.store.add_usage(&batch).await {
                tracing::warn!(error = %e, rows = batch.len(), "could not write usage; keeping it buffered");
                usage.restore(batch);
            }
        }
        let (calls, tool_usage) = self.calls.drain();
        if !calls.is_empty() {
            if let Err(e) = self.deps.store.insert_tool_calls(&calls).await {
                tracing::warn!(error = %e, calls = calls.len(), "could not write the tool call log; keeping it buffered");
                self.calls.restore_calls(calls);
            }
        }
        if !tool_usage.is_empty() {
            if let Err(e) = self.deps.store.add_tool_usage(&tool_usage).await {
                tracing::warn!(error = %e, rows = tool_usage.len(), "could not write tool usage; keeping it buffered");
                self.calls.restore_usage(tool_usage);
            }
        }
        let used = self.last_used.drain();
        if !used.is_empty() {
            if let Err(e) = self.deps.store.touch_last_used(&used).await {
                tracing::warn!(error = %e, keys = used.len(), "could not record key use");
            }
        }
        let used = self.connections_used.drain();
        if !used.is_empty() {
            if let Err(e) = self.deps.store.touch_connections(&used).await {
                tracing::warn!(error = %e, connections = used.len(), "could not record connection use");
            }
        }
    }

    /// Deletes rate-limit windows no sliding hour reaches, idempotency records past
    /// their 24 hours, logged tool calls past their 30 days, sessions a day after
    /// they ended, and finished deliveries and events past the retention.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached (the next run tries again).
    pub async fn purge_expired(&self) -> Result<(), AppError> {
        self.deps.store.purge_rate_windows(self.now() - RATE_WINDOWS_KEPT).await?;
        self.purge_idempotency().await?;
        self.deps.store.purge_tool_calls(self.now() - tengine_domain::tool_call::RETENTION).await?;
        self.deps.store.purge_sessions(crate::sessions::purge_before(self.now())).await?;
        self.deps.store.purge_assertion_jtis(self.now()).await?;
        self.deps.store.purge_oauth(self.now() - Duration::days(1)).await?;
        let done = self.purge_delivered().await?;
        if done.deliveries + done.events > 0 {
            tracing::info!(deliveries = done.deliveries, events = done.events, "purged past the retention");
        }
        Ok(())
    }

    /// Deletes finished deliveries (with their attempts) created before the retention's
    /// horizon, and the events no delivery refers to any more, in batches of
    /// [`PURGE_BATCH`] until none is left. Pending deliveries and their events are kept.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; batches already done stay done.
    pub async fn purge_delivered(&self) -> Result<PurgeReport, AppError> {
        let before = self.retention.horizon(self.now());
        let mut report = PurgeReport { before, deliveries: 0, events: 0 };
        loop {
            let batch = self.deps.store.purge_delivered(before, PURGE_BATCH).await?;
            report.deliveries += batch.deliveries;
            report.events += batch.events;
            if batch.deliveries < u64::from(PURGE_BATCH) && batch.events < u64::from(PURGE_BATCH) {
                return Ok(report);
            }
            tokio::time::sleep(PURGE_PAUSE).await;
        }
    }

    /// Deliveries waiting to be sent, for the queue-depth gauge.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    pub async fn pending_deliveries(&self) -> Result<u64, AppError> {
        Ok(self.deps.store.pending_deliveries().await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tengine_ports::{UsageRecord, UsageSink};

    use super::*;
    use crate::test_support::*;

    fn buffer_with_one_record() -> UsageBuffer {
        let usage = UsageBuffer::new(100, || {});
        let record = UsageRecord {
            at: now(),
            account_id: account_id(),
            project_id: project_id(1),
            subject: api_key(1, tengine_domain::KeyScope::Account, &[]).id.into(),
            status: 200,
            latency_us: 1_000,
        };
        usage.record(record);
        usage
    }

    #[tokio::test]
    async fn usage_that_cannot_be_written_stays_buffered() {
        let app = harness(|s| {
            s.expect_add_usage().times(1).returning(|_| Err(outage()));
        });
        let usage = buffer_with_one_record();
        app.flush_usage(&usage).await;
        assert_eq!(usage.depth(), 1, "the row is back in the buffer");
    }

    #[tokio::test]
    async fn purging_uses_the_clock() {
        let app = harness(|s| {
            s.expect_purge_rate_windows()
                .withf(|before| *before == now() - RATE_WINDOWS_KEPT)
                .times(1)
                .returning(|_| Ok(()));
            s.expect_purge_idempotency()
                .withf(|before| *before == now() - tengine_domain::idempotency::RETENTION)
                .times(1)
                .returning(|_| Ok(3));
            s.expect_purge_tool_calls()
                .withf(|before| *before == now() - tengine_domain::tool_call::RETENTION)
                .times(1)
                .returning(|_| Ok(0));
            s.expect_purge_sessions().withf(|before| *before == now() - chrono::Duration::days(1)).returning(|_| Ok(0));
            s.expect_purge_assertion_jtis().withf(|before| *before == now()).returning(|_| Ok(0));
            s.expect_purge_oauth().withf(|before| *before == now() - chrono::Duration::days(1)).returning(|_| Ok(0));
            s.expect_purge_delivered()
                .withf(|before, limit| *before == now() - chrono::Duration::days(30) && *limit == PURGE_BATCH)
                .times(1)
                .returning(|_, _| Ok(tengine_ports::webhook::Purged { deliveries: 2, events: 1 }));
        });
        app.purge_expired().await.unwrap();
    }

    #[tokio::test]
    async fn the_retention_purge_goes_on_while_a_batch_comes_back_full() {
        let full = u64::from(PURGE_BATCH);
        let batches = std::sync::Mutex::new(vec![
            tengine_ports::webhook::Purged { deliveries: 0, events: 7 },
            tengine_ports::webhook::Purged { deliveries: 5, events: full },
            tengine_ports::webhook::Purged { deliveries: full, events: 0 },
        ]);
        let app = harness(move |s| {
            s.expect_purge_delivered()
                .withf(|before, _| *before == now() - chrono::Duration::days(7))
                .times(3)
                .returning(move |_, _| Ok(batches.lock().unwrap().pop().unwrap()));
        })
        .with_retention(tengine_domain::event::Retention::days(7).unwrap());
        let done = app.purge_delivered().await.unwrap();
        assert_eq!((done.deliveries, done.events), (full + 5, full + 7));
        assert_eq!(done.before, now() - chrono::Duration::days(7));
    }

    #[tokio::test]
    async fn a_failed_retention_batch_is_reported() {
        let app = harness(|s| {
            s.expect_purge_delivered().times(1).returning(|_, _| Err(outage()));
        });
        assert!(matches!(app.purge_delivered().await, Err(AppError::Unavailable(_))));
    }
}
