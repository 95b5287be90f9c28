//! The delivery queue. Claims and results run in immediate write transactions: with a
//! single writer, two claims can never take the same delivery.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, SqliteConnection};
use tengine_domain::delivery::throttle_window;
use tengine_domain::delivery::DeliveryStatus;
use tengine_domain::{DeliveryId, EventId, WebhookId};
use tengine_ports::webhook::Purged;
use tengine_ports::{AttemptResult, DeliveryJob, DeliveryQueue, RepoError, WebhookEffect};

use crate::delivery::select_in;
use crate::error::map_err;
use crate::rows::{
    announcements, assemble_claim, at, event_columns, hourly_stats, micros, webhook_columns, ClaimRow, EventRow,
    WebhookRow,
};
use crate::SqliteStore;

/// Leases up to `?4` due deliveries that are not paced to worker `?1` until `?3`, straight
/// from their index. None of a switched-off, ordered or throttled webhook is among them
/// (see the `paced_deliveries` migration), so no webhook is read. (`?5` is unused, bound
/// as for every lane.)
const CLAIM: &str = "\
UPDATE deliveries SET claimed_by = ?1, lease_until = ?3 \
WHERE id IN ( \
    SELECT id FROM deliveries \
    WHERE status = 'pending' AND paced = 0 AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until < ?2) \
    ORDER BY next_attempt_at, id LIMIT ?4) \
RETURNING id, event_id, webhook_id, attempt_count, created_at";

/// As [`CLAIM`] for ordered webhooks: only each one's oldest pending delivery (one probe
/// of the partial index of pending deliveries per ordered webhook, whatever their
/// backlogs), when it is due and not leased.
const CLAIM_HEADS: &str = concat!(
    "UPDATE deliveries SET claimed_by = ?1, lease_until = ?3 WHERE id IN ( \
       SELECT d.id FROM (",
    "SELECT w.id AS webhook_id, w.rate_limit, w.throttle_used, w.throttle_window, \
       (SELECT e.id FROM deliveries e WHERE e.webhook_id = w.id AND e.status = 'pending' \
        ORDER BY e.created_at, e.id LIMIT 1) AS head \
     FROM webhooks w WHERE w.ordering = 'per_project' AND w.active",
    ") h JOIN deliveries d ON d.id = h.head \
       WHERE d.status = 'pending' AND d.next_attempt_at <= ?2 AND (d.lease_until IS NULL OR d.lease_until < ?2) \
         AND (h.rate_limit IS NULL OR h.throttle_used < h.rate_limit OR h.throttle_window < ?5) \
       ORDER BY d.next_attempt_at, d.id LIMIT ?4) \
     RETURNING id, event_id, webhook_id, attempt_count, created_at"
);

/// The active, unordered, throttled webhooks, each with how many it may send now: up to
/// `?1`, and no more than is left of its budget for second `?2`.
const THROTTLED_ROOM: &str = "\
SELECT id, CASE WHEN throttle_window IS NULL OR throttle_window < ?2 THEN MIN(rate_limit, ?1) \
    ELSE MIN(MAX(rate_limit - throttle_used, 0), ?1) END AS room \
FROM webhooks WHERE rate_limit IS NOT NULL AND ordering = 'none' AND active";

/// Leases up to `?4` of throttled webhook `?5`'s due deliveries, in due order, to worker
/// `?1` until `?3`: a throttled backlog costs what its budget takes.
const CLAIM_THROTTLED: &str = "\
UPDATE deliveries SET claimed_by = ?1, lease_until = ?3 \
WHERE id IN ( \
    SELECT id FROM deliveries WHERE webhook_id = ?5 AND status = 'pending' AND paced = 1 AND next_attempt_at <= ?2 \
      AND (lease_until IS NULL OR lease_until < ?2) \
    ORDER BY next_attempt_at, id LIMIT ?4) \
RETURNING id, event_id, webhook_id, attempt_count, created_at";

/// Up to `?2` finished deliveries minted before id `?1` (ids are UUIDv7, so the
/// primary key orders them by creation), with the attempts they carry.
const PURGE_DELIVERIES: &str = "\
DELETE FROM deliveries WHERE id IN ( \
    SELECT id FROM deliveries WHERE id < ?1 AND status <> 'pending' ORDER BY id LIMIT ?2)";

/// Up to `?2` events minted before id `?1` that no delivery refers to any more.
const PURGE_EVENTS: &str = "\
DELETE FROM events WHERE id IN ( \
    SELECT e.id FROM events e WHERE e.id < ?1 \
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) \
    ORDER BY e.id LIMIT ?2)";

/// Adds one webhook-hour of a batch's attempts to its rollup.
const ADD_HOURLY: &str = "\
INSERT INTO webhook_hourly (webhook_id, hour, attempts, succeeded, latency_ms_sum) VALUES (?1, ?2, ?3, ?4, ?5) \
ON CONFLICT (webhook_id, hour) DO UPDATE SET attempts = attempts + excluded.attempts, \
    succeeded = succeeded + excluded.succeeded, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum";

/// Fails a delivery just claimed that can never be sent: its event or webhook is gone
/// ([`tengine_storage_rows::Claim::orphans`]).
const FAIL_ORPHAN: &str = "\
UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, claimed_by = NULL, lease_until = NULL \
WHERE id = ?1 AND status = 'pending'";

/// Gives a delivery its new status and due time, counts the attempt, drops the claim
/// and appends the attempt (`?4`..`?8`) to the JSON array the row carries (see
/// `tengine_storage_rows::DeliveryRow`). A delivery deleted meanwhile is not there to
/// update.
const RECORD: &str = "\
UPDATE deliveries SET status = ?2, next_attempt_at = ?3, attempt_count = attempt_count + 1, \
    claimed_by = NULL, lease_until = NULL, \
    attempts = COALESCE(substr(attempts, 1, length(attempts) - 1) || ',', '[') \
        || json_array(?4, ?5, ?6, ?7, ?8) || ']' \
WHERE id = ?1";

/// Fails every pending delivery of a disabled webhook.
const FAIL_PENDING: &str = "\
UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, claimed_by = NULL, lease_until = NULL \
WHERE webhook_id = ?1 AND status = 'pending'";

/// A delivery's due time as stored: only pending ones have one (at once if unset).
fn due(r: &AttemptResult) -> Option<i64> {
    match r.status {
        DeliveryStatus::Pending => Some(micros(r.next_attempt_at.unwrap_or(r.attempt.attempted_at))),
        DeliveryStatus::Succeeded | DeliveryStatus::Failed => None,
    }
}

/// Who claims, when, and until when, as a claim lane binds them (`?1`..`?3`).
struct Lease<'a> {
    worker: &'a str,
    now: i64,
    until: i64,
}

/// Runs one lane of a claim: up to `room` (`?4`) deliveries, with the lane's own `?5`.
async fn lane<'q, T>(
    conn: &mut SqliteConnection,
    sql: &'q str,
    lease: &Lease<'q>,
    room: i64,
    fifth: T,
) -> Result<Vec<ClaimRow>, RepoError>
where
    T: 'q + Send + sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite>,
{
    sqlx::query_as::<_, ClaimRow>(sql)
        .bind(lease.worker)
        .bind(lease.now)
        .bind(lease.until)
        .bind(room)
        .bind(fifth)
        .fetch_all(conn)
        .await
        .map_err(map_err)
}

#[async_trait::async_trait]
impl DeliveryQueue for SqliteStore {
    async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<DeliveryJob>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = now + chrono::Duration::from_std(lease).map_err(RepoError::other)?;
        let mut tx = self.begin_immediate().await?;
        let window = micros(throttle_window(now).0);
        let lease = Lease { worker, now: micros(now), until: micros(until) };
        let whole = i64::try_from(limit).map_err(RepoError::other)?;
        // Ordered webhooks' heads first (few, and each holds its webhook's queue), then
        // the throttled webhooks' deliveries, each up to its budget, then the rest up to
        // the limit: three lanes that never meet the same delivery.
        let mut claimed = lane(&mut tx, CLAIM_HEADS, &lease, whole, window).await?;
        let throttled: Vec<(String, i64)> =
            sqlx::query_as(THROTTLED_ROOM).bind(whole).bind(window).fetch_all(&mut *tx).await.map_err(map_err)?;
        for (webhook, room) in throttled {
            let left = whole - i64::try_from(claimed.len()).map_err(RepoError::other)?;
            if left <= 0 {
                break;
            }
            if room > 0 {
                claimed.extend(lane(&mut tx, CLAIM_THROTTLED, &lease, room.min(left), webhook).await?);
            }
        }
        let left = whole - i64::try_from(claimed.len()).map_err(RepoError::other)?;
        if left > 0 {
            claimed.extend(lane(&mut tx, CLAIM, &lease, left, window).await?);
        }
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let event_ids: Vec<String> = claimed.iter().map(|c| c.event_id.clone()).collect();
        let webhook_ids: Vec<String> = claimed.iter().map(|c| c.webhook_id.clone()).collect();
        let events = select_in(concat!("SELECT ", event_columns!(), " FROM events WHERE id"), &event_ids, "")
            .build_query_as::<EventRow>()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        let webhooks = select_in(concat!("SELECT ", webhook_columns!(), " FROM webhooks WHERE id"), &webhook_ids, "")
            .build_query_as::<WebhookRow>()
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        let claim = assemble_claim(claimed, events, webhooks)?;
        for orphan in &claim.orphans {
            sqlx::query(FAIL_ORPHAN).bind(orphan).execute(&mut *tx).await.map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(claim.jobs)
    }

    async fn complete(&self, results: &[AttemptResult]) -> Result<(), RepoError> {
        if results.is_empty() {
            return Ok(());
        }
        // One writer holds the whole database, so the order of writes cannot deadlock;
        // results apply in the order given, like the PostgreSQL adapter's batches.
        let mut tx = self.begin_immediate().await?;
        for r in results {
            sqlx::query(RECORD)
                .bind(r.delivery_id.to_string())
                .bind(r.status.as_str())
                .bind(due(r))
                .bind(micros(r.attempt.attempted_at))
                .bind(r.attempt.status_code.map(i64::from))
                .bind(i64::try_from(r.attempt.latency_ms).map_err(RepoError::other)?)
                .bind(r.attempt.error.as_deref())
                .bind(r.attempt.response_excerpt.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        let mut disabled = BTreeMap::new();
        for r in results {
            let webhook = r.webhook_id.to_string();
            let change = match r.webhook_effect {
                WebhookEffect::Healthy => {
                    sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = ?1").bind(&webhook)
                }
                WebhookEffect::Failing(since) => {
                    sqlx::query("UPDATE webhooks SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1")
                        .bind(&webhook)
                        .bind(micros(since))
                }
                WebhookEffect::Disable(reason) => {
                    // The first reason in the batch is the one recorded.
                    disabled.entry(webhook).or_insert((reason, r.attempt.attempted_at));
                    continue;
                }
            };
            change.execute(&mut *tx).await.map_err(map_err)?;
        }
        // Last, so a pending result later in the batch cannot revive a delivery. A webhook
        // already off keeps the reason it was switched off for.
        let mut switched_off = std::collections::BTreeSet::new();
        for (webhook, (reason, at)) in &disabled {
            let was_on: Option<bool> = sqlx::query_scalar("SELECT active FROM webhooks WHERE id = ?1")
                .bind(webhook)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if was_on == Some(true) {
                switched_off.insert(webhook.as_str());
            }
            sqlx::query(
                "UPDATE webhooks SET disabled_reason = CASE WHEN active THEN ?2 ELSE disabled_reason END, \
                 disabled_at = CASE WHEN active THEN ?3 ELSE disabled_at END, active = 0, paced = 1 WHERE id = ?1",
            )
            .bind(webhook)
            .bind(reason.as_str())
            .bind(micros(*at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            sqlx::query(FAIL_PENDING).bind(webhook).execute(&mut *tx).await.map_err(map_err)?;
        }
        let announced = announcements(results, |id| switched_off.contains(id));
        if !announced.is_empty() {
            crate::event::append(&mut tx, &announced).await?;
        }
        for h in hourly_stats(results) {
            sqlx::query(ADD_HOURLY)
                .bind(&h.webhook_id)
                .bind(micros(h.hour))
                .bind(h.attempts)
                .bind(h.succeeded)
                .bind(h.latency_ms_sum)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn release(&self, worker: &str) -> Result<(), RepoError> {
        let mut tx = self.begin_immediate().await?;
        // Only pending deliveries are claimed; `claimed_by` has no index (see the
        // `hot_claims` migration), the pending ones have.
        sqlx::query(
            "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL WHERE status = 'pending' AND claimed_by = ?1",
        )
        .bind(worker)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn pending_deliveries(&self) -> Result<u64, RepoError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&self.reader)
            .await
            .map_err(map_err)?;
        u64::try_from(n).map_err(RepoError::other)
    }

    async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<Purged, RepoError> {
        let mut tx = self.begin_immediate().await?;
        let deliveries = sqlx::query(PURGE_DELIVERIES)
            .bind(DeliveryId::first_at(before).to_string())
            .bind(i64::from(limit))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        let events = sqlx::query(PURGE_EVENTS)
            .bind(EventId::first_at(before).to_string())
            .bind(i64::from(limit))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        sqlx::query("DELETE FROM webhook_hourly WHERE hour < ?1")
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Purged { deliveries, events })
    }

    async fn take_send_budget(
        &self,
        webhook: WebhookId,
        window: DateTime<Utc>,
        limit: u32,
        want: u32,
    ) -> Result<u32, RepoError> {
        let mut tx = self.begin_immediate().await?;
        let row: Option<(Option<i64>, i64)> =
            sqlx::query_as("SELECT throttle_window, throttle_used FROM webhooks WHERE id = ?1")
                .bind(webhook.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        // A webhook deleted meanwhile has no budget: its deliveries went with it.
        let Some((stored, used)) = row else { return Ok(0) };
        let window = micros(window);
        // A newer window (a clock a little ahead) counts instead of ours.
        let (window, used) = match stored {
            Some(w) if w >= window => (w, used),
            _ => (window, 0),
        };
        let granted = i64::from(want).min((i64::from(limit) - used).max(0));
        sqlx::query("UPDATE webhooks SET throttle_window = ?2, throttle_used = ?3 WHERE id = ?1")
            .bind(webhook.to_string())
            .bind(window)
            .bind(used + granted)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        u32::try_from(granted).map_err(RepoError::other)
    }

    async fn postpone(&self, worker: &str, ids: &[DeliveryId], until: DateTime<Utc>) -> Result<(), RepoError> {
        let mut tx = self.begin_immediate().await?;
        for id in ids {
            sqlx::query(
                "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL, next_attempt_at = ?3 \
                 WHERE id = ?1 AND claimed_by = ?2 AND status = 'pending'",
            )
            .bind(id.to_string())
            .bind(worker)
            .bind(micros(until))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, RepoError> {
        // The earliest of the common queue's first free delivery (straight from its
        // index), each throttled webhook's first free one (no sooner than its next second
        // if this one is used up) and each ordered webhook's oldest, if free; as on
        // PostgreSQL, a lease's end is left to the worker's poll. No part reads a backlog
        // that is waiting. A multi-argument MAX is NULL if an argument is; MIN skips NULLs.
        let due: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT MIN(due) FROM ( \
               SELECT (SELECT next_attempt_at FROM deliveries WHERE status = 'pending' AND paced = 0 \
                 AND claimed_by IS NULL ORDER BY next_attempt_at, id LIMIT 1) AS due \
               UNION ALL \
               SELECT MIN(MAX(t.next, COALESCE(CASE WHEN t.throttle_used >= t.rate_limit \
                 THEN t.throttle_window + 1000000 END, t.next))) FROM ( \
                 SELECT w.rate_limit, w.throttle_used, w.throttle_window, \
                   (SELECT e.next_attempt_at FROM deliveries e WHERE e.webhook_id = w.id AND e.status = 'pending' \
                    AND e.paced = 1 AND e.claimed_by IS NULL ORDER BY e.next_attempt_at, e.id LIMIT 1) AS next \
                 FROM webhooks w WHERE w.rate_limit IS NOT NULL AND w.ordering = 'none' AND w.active) t \
               UNION ALL \
               SELECT MIN(MAX(d.next_attempt_at, \
                 COALESCE(CASE WHEN h.throttle_used >= h.rate_limit THEN h.throttle_window + 1000000 END, \
                 d.next_attempt_at))) FROM (",
            "SELECT w.id AS webhook_id, w.rate_limit, w.throttle_used, w.throttle_window, \
               (SELECT e.id FROM deliveries e WHERE e.webhook_id = w.id AND e.status = 'pending' \
                ORDER BY e.created_at, e.id LIMIT 1) AS head \
             FROM webhooks w WHERE w.ordering = 'per_project' AND w.active",
            ") h JOIN deliveries d ON d.id = h.head WHERE d.claimed_by IS NULL)"
        ))
        .fetch_one(&self.reader)
        .await
        .map_err(map_err)?;
        due.map(at).transpose()
    }
}
