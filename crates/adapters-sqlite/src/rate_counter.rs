//! Shared rate-limit counters: batched syncs, atomic single admissions, and purging of
//! old windows, each in one immediate write transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use tengine_domain::AccountId;
use tengine_ports::{RateCounterRepository, RateDelta, RepoError};

use crate::error::map_err;
use crate::rows::{micros, AdmitRow};
use crate::SqliteStore;

/// One rate window, as stored.
const HOUR_MICROS: i64 = 3_600_000_000;

/// Adds `?3` pending requests, and one more if that keeps `count + ?4 <= ?5`. The SET
/// expressions see the row before the update, so `last_admitted` records the decision
/// for RETURNING.
const ADMIT: &str = "\
INSERT INTO rate_counters AS c (account_id, window_start, count, last_admitted) \
VALUES (?1, ?2, ?3 + CASE WHEN ?3 + 1 + ?4 <= ?5 THEN 1 ELSE 0 END, ?3 + 1 + ?4 <= ?5) \
ON CONFLICT (account_id, window_start) DO UPDATE SET \
    count = c.count + ?3 + CASE WHEN c.count + ?3 + 1 + ?4 <= ?5 THEN 1 ELSE 0 END, \
    last_admitted = c.count + ?3 + 1 + ?4 <= ?5 \
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
impl RateCounterRepository for SqliteStore {
    async fn sync_rate_counters(&self, deltas: &[RateDelta]) -> Result<Vec<(u64, u64)>, RepoError> {
        let mut merged: BTreeMap<(String, i64), u64> = BTreeMap::new();
        for d in deltas {
            let sum = merged.entry((d.account_id.to_string(), micros(d.window_start))).or_default();
            *sum = sum.saturating_add(d.delta);
        }
        if merged.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_immediate().await?;
        let mut totals = Vec::with_capacity(merged.len());
        for ((account, window), delta) in merged {
            let total: i64 = sqlx::query_scalar(
                "INSERT INTO rate_counters (account_id, window_start, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (account_id, window_start) DO UPDATE SET count = count + excluded.count \
                 RETURNING count",
            )
            .bind(&account)
            .bind(window)
            .bind(stored(delta)?)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
            totals.push((account, window, count(total)?));
        }
        // Read after every add, so a previous window in the same batch counts in full.
        let mut results = HashMap::with_capacity(totals.len());
        for (account, window, total) in totals {
            let previous: Option<i64> =
                sqlx::query_scalar("SELECT count FROM rate_counters WHERE account_id = ?1 AND window_start = ?2")
                    .bind(&account)
                    .bind(window - HOUR_MICROS)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
            results.insert((account, window), (total, count(previous.unwrap_or(0))?));
        }
        tx.commit().await.map_err(map_err)?;
        deltas
            .iter()
            .map(|d| {
                results
                    .get(&(d.account_id.to_string(), micros(d.window_start)))
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
        let mut tx = self.begin_immediate().await?;
        let row = sqlx::query_as::<_, AdmitRow>(ADMIT)
            .bind(account.to_string())
            .bind(micros(window_start))
            .bind(stored(pending)?)
            .bind(stored(carried)?)
            .bind(stored(limit)?)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok((row.last_admitted, count(row.count)?))
    }

    async fn purge_rate_windows(&self, before: DateTime<Utc>) -> Result<(), RepoError> {
        // The limiter reads only the current window and the one before, so anything
        // older may go; alert claims of the same windows go with it.
        let mut tx = self.begin_immediate().await?;
        sqlx::query("DELETE FROM rate_counters WHERE window_start < ?1")
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM usage_alerts WHERE window_start < ?1")
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}
