//! Shared rate-limit counters: batched syncs, atomic single admissions, and purging of
//! old windows.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use tengine_domain::AccountId;
use tengine_ports::{RateCounterRepository, RateDelta, RepoError};

use crate::error::map_err;
use crate::rows::{AdmitRow, RateCounterRow};
use crate::PgStore;

/// Adds the (merged, sorted) deltas and returns each row's new count with the count of
/// the window an hour earlier, taken from this statement's own results when that window
/// is in the batch too (a statement does not see its own writes).
const SYNC: &str = "\
WITH up AS ( \
    INSERT INTO rate_counters (account_id, window_start, count) \
    SELECT d.account_id, d.window_start, d.delta \
    FROM UNNEST($1::text[], $2::timestamptz[], $3::bigint[]) WITH ORDINALITY AS d(account_id, window_start, delta, ord) \
    ORDER BY d.ord \
    ON CONFLICT (account_id, window_start) DO UPDATE SET count = rate_counters.count + EXCLUDED.count \
    RETURNING account_id, window_start, count) \
SELECT up.account_id, up.window_start, up.count, COALESCE(batch.count, stored.count, 0) AS previous \
FROM up \
LEFT JOIN up batch ON batch.account_id = up.account_id AND batch.window_start = up.window_start - INTERVAL '1 hour' \
LEFT JOIN rate_counters stored ON stored.account_id = up.account_id AND stored.window_start = up.window_start - INTERVAL '1 hour'";

/// Adds `$3` pending requests, and one more if that keeps `count + $4 <= $5`. The SET
/// expressions see the row before the update, so `last_admitted` records the decision
/// for RETURNING; the row lock makes concurrent calls queue.
const ADMIT: &str = "\
INSERT INTO rate_counters AS c (account_id, window_start, count, last_admitted) \
VALUES ($1, $2, $3 + CASE WHEN $3 + 1 + $4 <= $5 THEN 1 ELSE 0 END, $3 + 1 + $4 <= $5) \
ON CONFLICT (account_id, window_start) DO UPDATE SET \
    count = c.count + $3 + CASE WHEN c.count + $3 + 1 + $4 <= $5 THEN 1 ELSE 0 END, \
    last_admitted = c.count + $3 + 1 + $4 <= $5 \
RETURNING count, last_admitted";

/// A count as stored.
fn stored(n: u64) -> Result<i64, RepoError> {
    i64::try_from(n).map_err(RepoError::other)
}

/// A count as read.
fn count(n: i64) -> Result<u64, RepoError> {
    u64::try_from(n).map_err(RepoError::other)
}

#[async_trait::async_trait]
impl RateCounterRepository for PgStore {
    async fn sync_rate_counters(&self, deltas: &[RateDelta]) -> Result<Vec<(u64, u64)>, RepoError> {
        // Merged per row (one upsert cannot touch a row twice) and in primary key
        // order, so concurrent syncs lock rows in the same order and never deadlock.
        let mut merged: BTreeMap<(String, DateTime<Utc>), u64> = BTreeMap::new();
        for d in deltas {
            let sum = merged.entry((d.account_id.to_string(), d.window_start)).or_default();
            *sum = sum.saturating_add(d.delta);
        }
        if merged.is_empty() {
            return Ok(Vec::new());
        }
        let mut accounts = Vec::with_capacity(merged.len());
        let mut windows = Vec::with_capacity(merged.len());
        let mut adds = Vec::with_capacity(merged.len());
        for ((account, window), delta) in merged {
            accounts.push(account);
            windows.push(window);
            adds.push(stored(delta)?);
        }
        let rows = sqlx::query_as::<_, RateCounterRow>(SYNC)
            .bind(accounts)
            .bind(windows)
            .bind(adds)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut totals = HashMap::with_capacity(rows.len());
        for row in rows {
            totals.insert((row.account_id, row.window_start), (count(row.count)?, count(row.previous)?));
        }
        deltas
            .iter()
            .map(|d| {
                totals
                    .get(&(d.account_id.to_string(), d.window_start))
                    .copied()
                    .ok_or_else(|| RepoError::other("a synced rate counter was not returned"))
            })
            .collect()
    }

    async fn admit_one(
        &self,
        account: AccountId,
        window_start: DateTime<Utc>,
        pending: u64,
        carried: u64,
        limit: u64,
    ) -> Result<(bool, u64), RepoError> {
        let row = sqlx::query_as::<_, AdmitRow>(ADMIT)
            .bind(account.to_string())
            .bind(window_start)
            .bind(stored(pending)?)
            .bind(stored(carried)?)
            .bind(stored(limit)?)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok((row.last_admitted, count(row.count)?))
    }

    async fn purge_rate_windows(&self, before: DateTime<Utc>) -> Result<(), RepoError> {
        // The limiter reads only the current window and the one before, so anything
        // older may go; alert claims of the same windows go with it.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM usage_alerts WHERE window_start < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}
