//! The delivery queue: leased claims with `FOR UPDATE SKIP LOCKED`, batched results,
//! releases and the next due time.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use tengine_domain::delivery::{throttle_window, DeliveryStatus, DisableReason};
use tengine_domain::{DeliveryId, EventId, WebhookId};
use tengine_ports::webhook::Purged;
use tengine_ports::{AttemptResult, DeliveryJob, DeliveryQueue, RepoError, WebhookEffect};

use crate::error::map_err;
use crate::kept::ReadConnection;
use crate::rows::{
    announcements, assemble_claim, event_columns, hourly_stats, webhook_columns, ClaimRow, EventRow, WebhookRow,
};
use crate::PgStore;

/// A pending delivery, in a statement that finds its rows by id: "not finished", which
/// (unlike `status = 'pending'`) implies no partial index's predicate, so the rows can
/// only be reached by primary key. The queue's plans are generic and made once, often
/// while `deliveries` is empty; then, with `= 'pending'`, a scan of the pending
/// deliveries' index filtered by id looked as cheap as the probe, and was kept: with a
/// backlog of 43,000 each claim read all of it (16,500 buffers, 40 ms a claim).
macro_rules! still_pending {
    () => {
        "status NOT IN ('succeeded', 'failed')"
    };
}

/// Leases up to `$4` due deliveries to worker `$1` until `$3`, in one statement, but
/// none of a throttled webhook whose second `$5` is used up. Three lanes, disjoint:
/// - `heads`: the ordered webhooks' heads, only each one's oldest pending delivery
///   (found through the partial index of pending deliveries, so the cost is one probe
///   per ordered webhook whatever their backlogs), and only when it is due and not
///   leased; a head another claim holds is skipped, never passed over for the one after.
/// - `throttled`: each active, unordered, throttled webhook's due deliveries, at most
///   what is left of its budget, so a throttled backlog costs what its budget takes.
///   The ids are chosen first and then locked by primary key, only those taken: joined
///   back to `deliveries` instead, the planner (which cannot estimate a per-webhook
///   limit) chose a hash join over the whole table, and locking them where they are read
///   would lock each webhook's share even when the limit takes fewer.
/// - `rest`: the due deliveries that are not paced, in due order, up to the limit,
///   straight from their index. None of a switched-off, ordered or throttled webhook is
///   among them (see the `paced_deliveries` migration), so no webhook is read.
///
/// Rows another claim has locked are skipped, so concurrent claims never wait or overlap.
/// The throttled lane locks its picks by primary key (see `still_pending!`).
/// Each lane only picks and locks its rows; one `UPDATE` leases them all, so a claim
/// starts one modifying node, not three (each opened all of the table's indexes, on every
/// claim, even with no ordered or throttled webhook).
///
/// The claimed deliveries come back with their events' and webhooks' columns, read in the
/// same round trip: they were two more statements on every claim. Each event and each
/// webhook is read once, by primary key, on one of its deliveries' rows (null on the
/// others, and on all of them when it is gone); `OFFSET 0` keeps the planner from turning
/// a probe into a join it might plan over the whole table.
pub const CLAIM: &str = concat!(
    "\
WITH heads AS MATERIALIZED ( \
    SELECT d.id FROM webhooks w \
    CROSS JOIN LATERAL (SELECT e.id FROM deliveries e WHERE e.webhook_id = w.id AND e.status = 'pending' \
        ORDER BY e.created_at, e.id LIMIT 1) h \
    JOIN deliveries d ON d.id = h.id \
    WHERE w.ordering = 'per_project' AND w.active AND d.status = 'pending' AND d.next_attempt_at <= $2 \
      AND (d.lease_until IS NULL OR d.lease_until < $2) \
      AND (w.rate_limit IS NULL OR w.throttle_used < w.rate_limit OR w.throttle_window < $5) \
    ORDER BY d.next_attempt_at, d.id LIMIT $4 \
    FOR UPDATE OF d SKIP LOCKED), \
throttled AS MATERIALIZED ( \
    SELECT id FROM deliveries WHERE id = ANY(ARRAY( \
        SELECT h.id FROM webhooks w \
        CROSS JOIN LATERAL (SELECT e.id, e.next_attempt_at FROM deliveries e WHERE e.webhook_id = w.id \
            AND e.status = 'pending' AND e.paced AND e.next_attempt_at <= $2 \
            AND (e.lease_until IS NULL OR e.lease_until < $2) \
            ORDER BY e.next_attempt_at, e.id \
            LIMIT CASE WHEN w.throttle_window IS NULL OR w.throttle_window < $5 THEN LEAST(w.rate_limit, $4) \
                ELSE LEAST(GREATEST(w.rate_limit - w.throttle_used, 0), $4) END) h \
        WHERE w.rate_limit IS NOT NULL AND w.ordering = 'none' AND w.active \
        ORDER BY h.next_attempt_at, h.id LIMIT GREATEST($4 - (SELECT count(*) FROM heads), 0))) \
      AND ",
    still_pending!(),
    " AND (lease_until IS NULL OR lease_until < $2) \
    FOR UPDATE SKIP LOCKED), \
rest AS MATERIALIZED ( \
    SELECT id FROM deliveries \
    WHERE status = 'pending' AND NOT paced AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
    ORDER BY next_attempt_at, id \
    LIMIT GREATEST($4 - (SELECT count(*) FROM heads) - (SELECT count(*) FROM throttled), 0) \
    FOR UPDATE SKIP LOCKED), \
claimed AS (UPDATE deliveries SET claimed_by = $1, lease_until = $3 \
    WHERE id = ANY(ARRAY(SELECT id FROM heads UNION ALL SELECT id FROM throttled UNION ALL SELECT id FROM rest)) \
    RETURNING id, event_id, webhook_id, attempt_count, created_at) \
SELECT c.id, c.event_id, c.webhook_id, c.attempt_count, c.created_at, e.*, w.* FROM ( \
    SELECT *, row_number() OVER (PARTITION BY event_id) AS event_nth, \
        row_number() OVER (PARTITION BY webhook_id) AS webhook_nth FROM claimed) c \
LEFT JOIN LATERAL (SELECT ",
    event_columns!(),
    " FROM events WHERE id = c.event_id AND c.event_nth = 1 OFFSET 0) e ON true \
LEFT JOIN LATERAL (SELECT ",
    webhook_columns!(),
    " FROM webhooks WHERE id = c.webhook_id AND c.webhook_nth = 1 OFFSET 0) w ON true"
);

/// When the next delivery that is not leased is due: the earliest of the common queue's
/// first (straight from its index), each throttled webhook's first (no sooner than its
/// next second if this one is used up) and each ordered webhook's oldest. No part reads a
/// backlog that is waiting, so the cost does not grow with one. A lease's end is left to
/// the worker's poll: finding leased rows cheaply needs statistics a new table lacks.
/// GREATEST ignores NULLs.
const NEXT_DUE: &str = "\
SELECT MIN(due) FROM ( \
    (SELECT next_attempt_at AS due FROM deliveries WHERE status = 'pending' AND NOT paced AND claimed_by IS NULL \
     ORDER BY next_attempt_at, id LIMIT 1) \
    UNION ALL \
    SELECT MIN(GREATEST(h.next_attempt_at, CASE WHEN w.throttle_used >= w.rate_limit \
        THEN w.throttle_window + interval '1 second' END)) FROM webhooks w \
    CROSS JOIN LATERAL (SELECT e.next_attempt_at FROM deliveries e WHERE e.webhook_id = w.id AND e.status = 'pending' \
        AND e.paced AND e.claimed_by IS NULL ORDER BY e.next_attempt_at, e.id LIMIT 1) h \
    WHERE w.rate_limit IS NOT NULL AND w.ordering = 'none' AND w.active \
    UNION ALL \
    SELECT MIN(GREATEST(d.next_attempt_at, CASE WHEN w.throttle_used >= w.rate_limit \
        THEN w.throttle_window + interval '1 second' END)) FROM webhooks w \
    CROSS JOIN LATERAL (SELECT e.id FROM deliveries e WHERE e.webhook_id = w.id AND e.status = 'pending' \
        ORDER BY e.created_at, e.id LIMIT 1) h \
    JOIN deliveries d ON d.id = h.id WHERE w.ordering = 'per_project' AND w.active AND d.claimed_by IS NULL) due";

/// Takes up to `$4` of webhook `$1`'s budget of `$3` per second in window `$2` (a newer
/// window another instance already moved to counts instead); returns what it got.
const TAKE_BUDGET: &str = "\
WITH old AS ( \
    SELECT GREATEST(COALESCE(throttle_window, $2), $2) AS win, \
        CASE WHEN throttle_window >= $2 THEN throttle_used ELSE 0 END AS used \
    FROM webhooks WHERE id = $1 FOR NO KEY UPDATE), \
g AS (SELECT win, used, LEAST($4::bigint, GREATEST($3::bigint - used, 0)) AS granted FROM old) \
UPDATE webhooks SET throttle_window = g.win, throttle_used = g.used + g.granted FROM g WHERE id = $1 \
RETURNING g.granted";

/// Hands claimed deliveries `$1` of worker `$2` back, due at `$3` (by key, see
/// `still_pending!`).
pub const POSTPONE: &str = concat!(
    "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL, next_attempt_at = $3 \
     WHERE id = ANY($1) AND claimed_by = $2 AND ",
    still_pending!()
);

/// Up to `$2` finished deliveries minted before id `$1` (ids are UUIDv7, so the
/// primary key orders them by creation), with the attempts they carry.
const PURGE_DELIVERIES: &str = "\
DELETE FROM deliveries WHERE id IN ( \
    SELECT id FROM deliveries WHERE id < $1 AND status <> 'pending' ORDER BY id LIMIT $2 \
    FOR UPDATE SKIP LOCKED)";

/// Up to `$2` events minted before id `$1` that no delivery refers to any more.
const PURGE_EVENTS: &str = "\
DELETE FROM events WHERE id IN ( \
    SELECT e.id FROM events e WHERE e.id < $1 \
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) \
    ORDER BY e.id LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// Fails deliveries worker `$2` claimed that can never be sent: their event or webhook
/// is gone ([`tengine_storage_rows::Claim::orphans`]), by key (see `still_pending!`).
pub const FAIL_ORPHANS: &str = concat!(
    "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, claimed_by = NULL, lease_until = NULL \
     WHERE id = ANY($1) AND claimed_by = $2 AND ",
    still_pending!()
);

/// The CTEs `r` (a batch's results, `$1`..`$8` as [`bind_round`] binds them) and
/// `done` (the deliveries they update, when `$guard` holds): each takes its new status
/// and due time, counts the attempt, drops its claim and appends the attempt to the
/// JSON array it carries (see `tengine_storage_rows::DeliveryRow`).
macro_rules! recorded {
    ($guard:literal) => {
        concat!(
            "r AS (SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[], \
             $6::bigint[], $7::text[], $8::text[]) \
             AS r(id, status, next_attempt_at, attempted_at, status_code, latency_ms, error, response_excerpt)), \
             done AS (UPDATE deliveries d SET status = r.status, next_attempt_at = r.next_attempt_at, \
                 attempt_count = d.attempt_count + 1, claimed_by = NULL, lease_until = NULL, \
                 attempts = COALESCE(left(d.attempts, -1) || ',', '[') || json_build_array(\
                     CAST(EXTRACT(EPOCH FROM r.attempted_at) * 1000000 AS BIGINT), r.status_code, r.latency_ms, \
                     r.error, r.response_excerpt)::text || ']' \
             FROM r WHERE d.id = r.id",
            $guard,
            " RETURNING d.id) "
        )
    };
}

/// Records one attempt per delivery (at most one per delivery id), as [`recorded`]
/// says. Deliveries deleted meanwhile are skipped.
const RECORD: &str = concat!("WITH ", recorded!(""), "SELECT count(*) FROM done");

/// The common completion as one statement, so one round trip and its own transaction:
/// each delivery once, no webhook switched off. It records the attempts as [`RECORD`]
/// does, moves the webhooks' `failing_since` as [`EFFECTS`] does (touching only rows
/// that change) and adds to the hourly rollups as [`ADD_HOURLY`] does. The webhooks
/// (`$9`) are key-share locked first, in id order, so a concurrent delete of one (which
/// locks the webhook, then its deliveries) waits for this statement instead of
/// deadlocking with it, while other completions go on: every change waits on
/// `(SELECT count(*) FROM lw)`, a constant condition PostgreSQL evaluates once, before
/// the node it guards reads a row.
pub const COMPLETE_ONCE: &str = concat!(
    "WITH lw AS (SELECT id FROM webhooks WHERE id = ANY($9) ORDER BY id FOR KEY SHARE), ",
    recorded!(" AND (SELECT count(*) FROM lw) >= 0"),
    ", \
health AS ( \
    UPDATE webhooks w SET failing_since = CASE e.health WHEN 'clear' THEN NULL WHEN 'set' THEN e.since \
        ELSE COALESCE(w.failing_since, e.since) END \
    FROM UNNEST($9::text[], $10::text[], $11::timestamptz[]) AS e(id, health, since) \
    WHERE w.id = e.id AND (SELECT count(*) FROM lw) >= 0 AND e.health <> 'keep' \
      AND (e.health <> 'clear' OR w.failing_since IS NOT NULL) \
      AND (e.health <> 'coalesce' OR w.failing_since IS NULL)), \
hourly AS ( \
    INSERT INTO webhook_hourly (webhook_id, hour, attempts, succeeded, latency_ms_sum) \
    SELECT * FROM UNNEST($12::text[], $13::timestamptz[], $14::bigint[], $15::bigint[], $16::bigint[]) \
    WHERE (SELECT count(*) FROM lw) >= 0 \
    ON CONFLICT (webhook_id, hour) DO UPDATE SET attempts = webhook_hourly.attempts + EXCLUDED.attempts, \
        succeeded = webhook_hourly.succeeded + EXCLUDED.succeeded, \
        latency_ms_sum = webhook_hourly.latency_ms_sum + EXCLUDED.latency_ms_sum) \
SELECT count(*) FROM done"
);

/// Applies each webhook's folded health change (see [`Health`]) and disables some,
/// recording why and when (a webhook already off keeps its reason); one switched off is
/// paced from then on (its pending deliveries are failed with it, see [`FAIL_PENDING`]).
const EFFECTS: &str = "\
UPDATE webhooks w SET \
    failing_since = CASE e.health WHEN 'clear' THEN NULL WHEN 'set' THEN e.since \
        WHEN 'coalesce' THEN COALESCE(w.failing_since, e.since) ELSE w.failing_since END, \
    disabled_reason = CASE WHEN w.active AND e.reason IS NOT NULL THEN e.reason ELSE w.disabled_reason END, \
    disabled_at = CASE WHEN w.active AND e.reason IS NOT NULL THEN e.at ELSE w.disabled_at END, \
    active = w.active AND e.reason IS NULL, paced = w.paced OR e.reason IS NOT NULL \
FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[]) AS e(id, health, since, reason, at) \
WHERE w.id = e.id";

/// Adds a batch's attempts to the webhooks' hourly rollups (rows in key order).
const ADD_HOURLY: &str = "\
INSERT INTO webhook_hourly (webhook_id, hour, attempts, succeeded, latency_ms_sum) \
SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[]) \
ON CONFLICT (webhook_id, hour) DO UPDATE SET attempts = webhook_hourly.attempts + EXCLUDED.attempts, \
    succeeded = webhook_hourly.succeeded + EXCLUDED.succeeded, \
    latency_ms_sum = webhook_hourly.latency_ms_sum + EXCLUDED.latency_ms_sum";

/// Fails every pending delivery of the disabled webhooks.
const FAIL_PENDING: &str = "\
UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, claimed_by = NULL, lease_until = NULL \
WHERE webhook_id = ANY($1) AND status = 'pending'";

/// The net change to a webhook's `failing_since` of several effects, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// No health effect.
    Keep,
    /// A success last: clear it.
    Clear,
    /// Failures after a success: set it to the first of them.
    Set(DateTime<Utc>),
    /// Failures only: set it to the first of them unless already set.
    Coalesce(DateTime<Utc>),
}

impl Health {
    /// The change after one more effect.
    fn then(self, effect: WebhookEffect) -> Health {
        match (self, effect) {
            (_, WebhookEffect::Healthy) => Health::Clear,
            (Health::Keep, WebhookEffect::Failing(t)) => Health::Coalesce(t),
            (Health::Clear, WebhookEffect::Failing(t)) => Health::Set(t),
            (h, _) => h,
        }
    }

    fn parts(self) -> (&'static str, Option<DateTime<Utc>>) {
        match self {
            Health::Keep => ("keep", None),
            Health::Clear => ("clear", None),
            Health::Set(t) => ("set", Some(t)),
            Health::Coalesce(t) => ("coalesce", Some(t)),
        }
    }
}

/// Each webhook's folded health change and, when it is to be disabled, why and when
/// (the first reason in the batch), in id order.
type Disable = Option<(DisableReason, DateTime<Utc>)>;

fn fold_effects(results: &[AttemptResult]) -> BTreeMap<String, (Health, Disable)> {
    let mut effects: BTreeMap<String, (Health, Disable)> = BTreeMap::new();
    for r in results {
        let (health, disable) = effects.entry(r.webhook_id.to_string()).or_insert((Health::Keep, None));
        *health = health.then(r.webhook_effect);
        if let (None, WebhookEffect::Disable(reason)) = (*disable, r.webhook_effect) {
            *disable = Some((reason, r.attempt.attempted_at));
        }
    }
    effects
}

/// Splits results into rounds holding each delivery at most once, sorted by id, with
/// a delivery's results in their given order across rounds.
fn rounds(results: &[AttemptResult]) -> Vec<Vec<&AttemptResult>> {
    let mut sorted: Vec<&AttemptResult> = results.iter().collect();
    sorted.sort_by_key(|r| r.delivery_id);
    let mut rounds: Vec<Vec<&AttemptResult>> = Vec::new();
    let mut previous: Option<(DeliveryId, usize)> = None;
    for r in sorted {
        let k = match previous {
            Some((id, k)) if id == r.delivery_id => k + 1,
            _ => 0,
        };
        previous = Some((r.delivery_id, k));
        if rounds.len() <= k {
            rounds.push(Vec::new());
        }
        rounds[k].push(r);
    }
    rounds
}

/// A delivery's due time as stored: only pending ones have one (at once if unset).
fn due(r: &AttemptResult) -> Option<DateTime<Utc>> {
    match r.status {
        DeliveryStatus::Pending => Some(r.next_attempt_at.unwrap_or(r.attempt.attempted_at)),
        DeliveryStatus::Succeeded | DeliveryStatus::Failed => None,
    }
}

/// One round of results (each delivery once) as the arrays [`RECORD`] and
/// [`COMPLETE_ONCE`] take as `$1`..`$8`.
fn bind_round<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    round: &[&'q AttemptResult],
) -> Result<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>, RepoError> {
    let mut ids = Vec::with_capacity(round.len());
    let mut statuses = Vec::with_capacity(round.len());
    let mut dues = Vec::with_capacity(round.len());
    let mut ats = Vec::with_capacity(round.len());
    let mut codes = Vec::with_capacity(round.len());
    let mut latencies = Vec::with_capacity(round.len());
    let mut errors = Vec::with_capacity(round.len());
    let mut excerpts = Vec::with_capacity(round.len());
    for r in round {
        ids.push(r.delivery_id.to_string());
        statuses.push(r.status.as_str());
        dues.push(due(r));
        ats.push(r.attempt.attempted_at);
        codes.push(r.attempt.status_code.map(i32::from));
        latencies.push(i64::try_from(r.attempt.latency_ms).map_err(RepoError::other)?);
        errors.push(r.attempt.error.as_deref());
        excerpts.push(r.attempt.response_excerpt.as_deref());
    }
    Ok(query.bind(ids).bind(statuses).bind(dues).bind(ats).bind(codes).bind(latencies).bind(errors).bind(excerpts))
}

/// Records one round of results (each delivery once).
async fn record(tx: &mut sqlx::PgConnection, round: &[&AttemptResult]) -> Result<(), RepoError> {
    bind_round(sqlx::query(RECORD), round)?.execute(tx).await.map_err(map_err)?;
    Ok(())
}

/// [`CLAIM`]'s rows as work: the claimed deliveries, paired with their events and
/// webhooks that still exist (each on the one row that carries it).
fn read_claim(rows: &[PgRow]) -> Result<tengine_storage_rows::Claim, RepoError> {
    let mut claimed = Vec::with_capacity(rows.len());
    let mut events = Vec::new();
    let mut webhooks = Vec::new();
    for row in rows {
        claimed.push(ClaimRow::read_at(row, &mut 0).map_err(map_err)?);
        if let Some(event) = joined(row, ClaimRow::COLUMNS, EventRow::read_at)? {
            events.push(event);
        }
        if let Some(webhook) = joined(row, ClaimRow::COLUMNS + EventRow::COLUMNS, WebhookRow::read_at)? {
            webhooks.push(webhook);
        }
    }
    assemble_claim(claimed, events, webhooks)
}

/// The joined row whose columns start at `at` (its id first), if the row carries it.
fn joined<'r, T>(
    row: &'r PgRow,
    at: usize,
    read: impl FnOnce(&'r PgRow, &mut usize) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, RepoError> {
    if row.try_get::<Option<&str>, _>(at).map_err(map_err)?.is_none() {
        return Ok(None);
    }
    let mut next = at;
    read(row, &mut next).map(Some).map_err(map_err)
}

impl PgStore {
    /// The common completion in one statement ([`COMPLETE_ONCE`]).
    async fn complete_once(
        &self,
        round: &[&AttemptResult],
        effects: &BTreeMap<String, (Health, Disable)>,
        results: &[AttemptResult],
    ) -> Result<(), RepoError> {
        let webhook_ids: Vec<&str> = effects.keys().map(String::as_str).collect();
        let (healths, sinces): (Vec<&str>, Vec<Option<DateTime<Utc>>>) =
            effects.values().map(|(health, _)| health.parts()).unzip();
        let hourly = hourly_stats(results);
        let mut conn = self.queue_connection().await?;
        bind_round(sqlx::query(COMPLETE_ONCE), round)?
            .bind(webhook_ids)
            .bind(healths)
            .bind(sinces)
            .bind(hourly.iter().map(|h| h.webhook_id.clone()).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.hour).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.attempts).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.succeeded).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.latency_ms_sum).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        conn.keep();
        Ok(())
    }

    /// A connection for one of the queue's single statements, kept after success.
    async fn queue_connection(&self) -> Result<ReadConnection, RepoError> {
        self.queue_kept.acquire(&self.queue).await
    }

    /// A connection for a claim or a hand-back, whose commit does not wait for the WAL
    /// (see `lease_pool`), kept after success.
    async fn lease_connection(&self) -> Result<ReadConnection, RepoError> {
        self.leases_kept.acquire(&self.leases).await
    }
}

#[async_trait::async_trait]
impl DeliveryQueue for PgStore {
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
        let mut conn = self.lease_connection().await?;
        let rows = sqlx::query(CLAIM)
            .bind(worker)
            .bind(now)
            .bind(until)
            .bind(i64::try_from(limit).map_err(RepoError::other)?)
            .bind(throttle_window(now).0)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        if rows.is_empty() {
            conn.keep();
            return Ok(Vec::new());
        }
        let claim = read_claim(&rows)?;
        if !claim.orphans.is_empty() {
            sqlx::query(FAIL_ORPHANS).bind(&claim.orphans).bind(worker).execute(&mut *conn).await.map_err(map_err)?;
        }
        conn.keep();
        Ok(claim.jobs)
    }

    async fn complete(&self, results: &[AttemptResult]) -> Result<(), RepoError> {
        if results.is_empty() {
            return Ok(());
        }
        let effects = fold_effects(results);
        let rounds = rounds(results);
        if let [round] = rounds.as_slice() {
            if effects.values().all(|(_, disable)| disable.is_none()) {
                return self.complete_once(round, &effects, results).await;
            }
        }
        let mut delivery_ids: Vec<String> = results.iter().map(|r| r.delivery_id.to_string()).collect();
        delivery_ids.sort();
        delivery_ids.dedup();
        let webhook_ids: Vec<&str> = effects.keys().map(String::as_str).collect();
        let mut tx = self.queue.begin().await.map_err(map_err)?;
        // Webhooks, then deliveries, each in id order: the order deleting a webhook
        // takes, so concurrent completions and deletes queue instead of deadlocking.
        // Locked for update, not only for a non-key update: switching one off changes
        // whether it is paced, so a fan-out (which holds its candidates' key share
        // locks) must not read it between that and its commit.
        let was_on: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM (SELECT id, active FROM webhooks WHERE id = ANY($1) ORDER BY id FOR UPDATE) w \
             WHERE w.active",
        )
        .bind(&webhook_ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("SELECT id FROM deliveries WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
            .bind(&delivery_ids)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for round in &rounds {
            record(&mut tx, round).await?;
        }
        let mut healths = Vec::with_capacity(effects.len());
        let mut sinces = Vec::with_capacity(effects.len());
        let mut reasons = Vec::with_capacity(effects.len());
        let mut ats = Vec::with_capacity(effects.len());
        for (health, disable) in effects.values() {
            let (name, since) = health.parts();
            healths.push(name);
            sinces.push(since);
            reasons.push(disable.map(|(r, _)| r.as_str()));
            ats.push(disable.map(|(_, at)| at));
        }
        sqlx::query(EFFECTS)
            .bind(&webhook_ids)
            .bind(&healths)
            .bind(&sinces)
            .bind(&reasons)
            .bind(&ats)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let hourly = hourly_stats(results);
        sqlx::query(ADD_HOURLY)
            .bind(hourly.iter().map(|h| h.webhook_id.as_str()).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.hour).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.attempts).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.succeeded).collect::<Vec<_>>())
            .bind(hourly.iter().map(|h| h.latency_ms_sum).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let disabled: Vec<&str> = effects.iter().filter(|(_, (_, d))| d.is_some()).map(|(id, _)| id.as_str()).collect();
        if !disabled.is_empty() {
            sqlx::query(FAIL_PENDING).bind(&disabled).execute(&mut *tx).await.map_err(map_err)?;
            // Announce what this batch switched off (not what was off already), once each.
            let announced = announcements(results, |id| disabled.contains(&id) && was_on.iter().any(|w| w == id));
            if !announced.is_empty() {
                crate::delivery::append_and_fan_out(&mut tx, &announced).await?;
            }
        }
        tx.commit().await.map_err(map_err)
    }

    async fn release(&self, worker: &str) -> Result<(), RepoError> {
        // Only pending deliveries are claimed; `claimed_by` has no index (see the
        // `hot_claims` migration), the pending ones have.
        sqlx::query(
            "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL WHERE status = 'pending' AND claimed_by = $1",
        )
        .bind(worker)
        .execute(&self.queue)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn pending_deliveries(&self) -> Result<u64, RepoError> {
        let mut conn = self.queue_connection().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_err)?;
        conn.keep();
        u64::try_from(n).map_err(RepoError::other)
    }

    async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<Purged, RepoError> {
        let mut tx = self.queue.begin().await.map_err(map_err)?;
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
        sqlx::query("DELETE FROM webhook_hourly WHERE hour < $1")
            .bind(before)
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
        let mut conn = self.queue_connection().await?;
        let granted: Option<i64> = sqlx::query_scalar(TAKE_BUDGET)
            .bind(webhook.to_string())
            .bind(window)
            .bind(i64::from(limit))
            .bind(i64::from(want))
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        conn.keep();
        // A webhook deleted meanwhile has no budget: its deliveries went with it.
        u32::try_from(granted.unwrap_or(0)).map_err(RepoError::other)
    }

    async fn postpone(&self, worker: &str, ids: &[DeliveryId], until: DateTime<Utc>) -> Result<(), RepoError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut conn = self.lease_connection().await?;
        sqlx::query(POSTPONE).bind(&ids).bind(worker).bind(until).execute(&mut *conn).await.map_err(map_err)?;
        conn.keep();
        Ok(())
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, RepoError> {
        let mut conn = self.queue_connection().await?;
        let due = sqlx::query_scalar(NEXT_DUE).fetch_one(&mut *conn).await.map_err(map_err)?;
        conn.keep();
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn health_effects_fold_in_order() {
        let fold = |effects: &[WebhookEffect]| effects.iter().fold(Health::Keep, |h, e| h.then(*e));
        assert_eq!(fold(&[]), Health::Keep);
        assert_eq!(fold(&[WebhookEffect::Failing(t(1)), WebhookEffect::Failing(t(2))]), Health::Coalesce(t(1)));
        assert_eq!(fold(&[WebhookEffect::Failing(t(1)), WebhookEffect::Healthy]), Health::Clear);
        assert_eq!(
            fold(&[WebhookEffect::Healthy, WebhookEffect::Failing(t(3)), WebhookEffect::Failing(t(4))]),
            Health::Set(t(3))
        );
        assert_eq!(fold(&[WebhookEffect::Disable(DisableReason::Gone)]), Health::Keep);
    }
}
