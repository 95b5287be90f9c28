//! Hourly usage rollups: batched upserts in one write transaction, per-hour range reads.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use tengine_domain::usage::{ProjectTotals, UsageCounts};
use tengine_domain::{AccountId, ProjectId};
use tengine_ports::{RepoError, UsageDelta, UsageRepository};

use crate::error::map_err;
use crate::rows::{histogram_columns, micros, UsageRow};
use crate::SqliteStore;

/// The counter columns after the key columns, in order: fixed ones, then h0..h15.
pub(crate) fn counter_columns() -> Vec<String> {
    ["requests", "errors", "rate_limited", "latency_sum_us"]
        .into_iter()
        .map(str::to_owned)
        .chain(histogram_columns().iter().cloned())
        .collect()
}

/// Adds one row's counters (`?5..`) if project `?1` belongs to account `?4`.
static ADD_USAGE: LazyLock<String> = LazyLock::new(|| {
    let counters = counter_columns();
    let params: Vec<String> = (0..counters.len()).map(|i| format!("?{}", i + 5)).collect();
    let sums: Vec<String> = counters.iter().map(|c| format!("{c} = usage_hourly.{c} + excluded.{c}")).collect();
    format!(
        "INSERT INTO usage_hourly (project_id, hour, api_key_id, account_id, {list}) \
         SELECT ?1, ?2, ?3, p.account_id, {params} FROM projects p WHERE p.id = ?1 AND p.account_id = ?4 \
         ON CONFLICT (project_id, hour, api_key_id) DO UPDATE SET {sums}",
        list = counters.join(", "),
        params = params.join(", "),
        sums = sums.join(", "),
    )
});

/// Sums per hour of one project (optionally one key), in `[?3, ?4)`.
static USAGE_BY_HOUR: LazyLock<String> = LazyLock::new(|| {
    let sums: Vec<String> = counter_columns().iter().map(|c| format!("SUM({c}) AS {c}")).collect();
    format!(
        "SELECT hour, {sums} FROM usage_hourly \
         WHERE project_id = ?1 AND (?2 IS NULL OR api_key_id = ?2) AND hour >= ?3 AND hour < ?4 \
         GROUP BY hour ORDER BY hour",
        sums = sums.join(", "),
    )
});

/// A counter as stored.
pub(crate) fn stored(n: u64) -> Result<i64, RepoError> {
    i64::try_from(n).map_err(RepoError::other)
}

#[async_trait::async_trait]
impl UsageRepository for SqliteStore {
    async fn add_usage(&self, deltas: &[UsageDelta]) -> Result<(), RepoError> {
        let mut merged: BTreeMap<(String, DateTime<Utc>, String, String), UsageCounts> = BTreeMap::new();
        for d in deltas {
            let key = (d.project_id.to_string(), d.hour, d.subject.to_string(), d.account_id.to_string());
            merged.entry(key).or_default().merge(&d.counts);
        }
        if merged.is_empty() {
            return Ok(());
        }
        // One write transaction for the batch.
        let mut tx = self.begin_immediate().await?;
        for ((project, hour, key, account), c) in merged {
            let mut query = sqlx::query(ADD_USAGE.as_str()).bind(project).bind(micros(hour)).bind(key).bind(account);
            let values = [c.requests, c.errors, c.rate_limited, c.latency_sum_us];
            for value in values.iter().chain(c.histogram.iter()) {
                query = query.bind(stored(*value)?);
            }
            query.execute(&mut *tx).await.map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn usage_by_hour(
        &self,
        project: ProjectId,
        key: Option<tengine_domain::usage::UsageSubject>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, UsageCounts)>, RepoError> {
        sqlx::query_as::<_, UsageRow>(USAGE_BY_HOUR.as_str())
            .bind(project.to_string())
            .bind(key.map(|k| k.to_string()))
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(UsageRow::into_counts)
            .collect()
    }

    async fn usage_by_project(
        &self,
        account: AccountId,
        project: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProjectTotals>, RepoError> {
        // The (account_id, hour) index keeps this to the range's rows.
        let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT p.id, p.name, SUM(u.requests) AS requests, SUM(u.errors), SUM(u.rate_limited) \
             FROM usage_hourly u JOIN projects p ON p.id = u.project_id \
             WHERE u.account_id = ?1 AND (?2 IS NULL OR u.project_id = ?2) \
             AND u.hour >= ?3 AND u.hour < ?4 AND p.deleted_at IS NULL \
             GROUP BY p.id, p.name ORDER BY requests DESC, p.id",
        )
        .bind(account.to_string())
        .bind(project.map(|p| p.to_string()))
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        let count = |n: i64| u64::try_from(n).map_err(RepoError::other);
        rows.into_iter()
            .map(|(id, name, requests, errors, rate_limited)| {
                Ok(ProjectTotals {
                    project_id: id.parse().map_err(RepoError::other)?,
                    name,
                    requests: count(requests)?,
                    errors: count(errors)?,
                    rate_limited: count(rate_limited)?,
                })
            })
            .collect()
    }
}
