//! Hourly usage rollups: batched upserts and per-hour range reads.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use tengine_domain::usage::{ProjectTotals, UsageCounts, HISTOGRAM_LEN};
use tengine_domain::{AccountId, ProjectId};
use tengine_ports::{RepoError, UsageDelta, UsageRepository};

use crate::error::map_err;
use crate::rows::{histogram_columns, UsageRow};
use crate::PgStore;

/// The counter columns after the key columns, in order: fixed ones, then h0..h15.
pub(crate) fn counter_columns() -> Vec<String> {
    ["requests", "errors", "rate_limited", "latency_sum_us"]
        .into_iter()
        .map(str::to_owned)
        .chain(histogram_columns().iter().cloned())
        .collect()
}

/// One statement per batch: the arrays are unnested in the given (primary key) order,
/// joined to the projects of the claimed accounts, and added into existing rows.
static ADD_USAGE: LazyLock<String> = LazyLock::new(|| {
    let counters = counter_columns();
    let list = counters.join(", ");
    let arrays: Vec<String> = (0..counters.len()).map(|i| format!("${}::bigint[]", i + 5)).collect();
    let picked: Vec<String> = counters.iter().map(|c| format!("d.{c}")).collect();
    let sums: Vec<String> = counters.iter().map(|c| format!("{c} = usage_hourly.{c} + EXCLUDED.{c}")).collect();
    format!(
        "INSERT INTO usage_hourly (project_id, hour, api_key_id, account_id, {list}) \
         SELECT d.project_id, d.hour, d.api_key_id, p.account_id, {picked} \
         FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], {arrays}) WITH ORDINALITY \
           AS d(project_id, hour, api_key_id, account_id, {list}, ord) \
         JOIN projects p ON p.id = d.project_id AND p.account_id = d.account_id \
         ORDER BY d.ord \
         ON CONFLICT (project_id, hour, api_key_id) DO UPDATE SET {sums}",
        picked = picked.join(", "),
        arrays = arrays.join(", "),
        sums = sums.join(", "),
    )
});

/// Sums per hour of one project (optionally one key), in `[$3, $4)`.
static USAGE_BY_HOUR: LazyLock<String> = LazyLock::new(|| {
    let sums: Vec<String> = counter_columns().iter().map(|c| format!("SUM({c})::bigint AS {c}")).collect();
    format!(
        "SELECT hour, {sums} FROM usage_hourly \
         WHERE project_id = $1 AND ($2::text IS NULL OR api_key_id = $2) AND hour >= $3 AND hour < $4 \
         GROUP BY hour ORDER BY hour",
        sums = sums.join(", "),
    )
});

/// A counter as stored.
pub(crate) fn stored(n: u64) -> Result<i64, RepoError> {
    i64::try_from(n).map_err(RepoError::other)
}

#[async_trait::async_trait]
impl UsageRepository for PgStore {
    async fn add_usage(&self, deltas: &[UsageDelta]) -> Result<(), RepoError> {
        // Deltas for one row are merged first (one upsert cannot touch a row twice), and
        // the map keeps primary key order, so concurrent flushers lock rows in the same
        // order and never deadlock.
        let mut merged: BTreeMap<(String, DateTime<Utc>, String, String), UsageCounts> = BTreeMap::new();
        for d in deltas {
            let key = (d.project_id.to_string(), d.hour, d.subject.to_string(), d.account_id.to_string());
            merged.entry(key).or_default().merge(&d.counts);
        }
        if merged.is_empty() {
            return Ok(());
        }
        let n = merged.len();
        let (mut projects, mut hours, mut keys, mut accounts) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut counters: Vec<Vec<i64>> = (0..4 + HISTOGRAM_LEN).map(|_| Vec::with_capacity(n)).collect();
        for ((project, hour, key, account), c) in merged {
            projects.push(project);
            hours.push(hour);
            keys.push(key);
            accounts.push(account);
            let values = [c.requests, c.errors, c.rate_limited, c.latency_sum_us];
            for (column, value) in counters.iter_mut().zip(values.iter().chain(c.histogram.iter())) {
                column.push(stored(*value)?);
            }
        }
        let mut query = sqlx::query(ADD_USAGE.as_str()).bind(projects).bind(hours).bind(keys).bind(accounts);
        for column in counters {
            query = query.bind(column);
        }
        query.execute(&self.pool).await.map_err(map_err)?;
        Ok(())
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
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
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
            "SELECT p.id, p.name, SUM(u.requests)::bigint AS requests, SUM(u.errors)::bigint, SUM(u.rate_limited)::bigint \
             FROM usage_hourly u JOIN projects p ON p.id = u.project_id \
             WHERE u.account_id = $1 AND ($2::text IS NULL OR u.project_id = $2) \
             AND u.hour >= $3 AND u.hour < $4 AND p.deleted_at IS NULL \
             GROUP BY p.id, p.name ORDER BY requests DESC, p.id",
        )
        .bind(account.to_string())
        .bind(project.map(|p| p.to_string()))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
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
