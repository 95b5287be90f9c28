//! The tool call log and per-tool usage rollups: batched writes in one write
//! transaction, filtered reads.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use tengine_domain::tool_call::{ToolCallFilter, ToolCallRecord, ToolUsageDelta, ToolUsageFilter, ToolUsageKey};
use tengine_domain::usage::UsageCounts;
use tengine_domain::{Page, PageRequest, ProjectId, ToolCallId};
use tengine_ports::{RepoError, ToolCallRepository};
use tengine_storage_rows::convert;

use crate::error::map_err;
use crate::rows::{micros, ToolCallRow, UsageRow};
use crate::usage::{counter_columns, stored};
use crate::SqliteStore;

const CALL_COLUMNS: &str = "id, account_id, project_id, tool_id, tool_name, api_key_id, member_id, status, \
     upstream_status, latency_us, error, request_id, arguments, result, created_at";

/// The filter of a call-log listing, on `?1` (project) and `?2..?4`.
const CALL_FILTER: &str = "project_id = ?1 AND (?2 IS NULL OR tool_id = ?2) AND (?3 IS NULL OR member_id = ?3) \
     AND (?4 IS NULL OR status = ?4)";

/// Adds one tool-usage row's counters (`?7..`) if project `?1` belongs to account `?6`.
static ADD_TOOL_USAGE: LazyLock<String> = LazyLock::new(|| {
    let counters = counter_columns();
    let params: Vec<String> = (0..counters.len()).map(|i| format!("?{}", i + 7)).collect();
    let sums: Vec<String> = counters.iter().map(|c| format!("{c} = tool_usage_hourly.{c} + excluded.{c}")).collect();
    format!(
        "INSERT INTO tool_usage_hourly (project_id, hour, tool_id, member_id, api_key_id, account_id, {list}) \
         SELECT ?1, ?2, ?3, ?4, ?5, p.account_id, {params} FROM projects p WHERE p.id = ?1 AND p.account_id = ?6 \
         ON CONFLICT (project_id, hour, tool_id, member_id, api_key_id) DO UPDATE SET {sums}",
        list = counters.join(", "),
        params = params.join(", "),
        sums = sums.join(", "),
    )
});

/// Sums per hour of one project's tool calls passing the filter `?2..?4`, in `[?5, ?6)`.
static TOOL_USAGE_BY_HOUR: LazyLock<String> = LazyLock::new(|| {
    let sums: Vec<String> = counter_columns().iter().map(|c| format!("SUM({c}) AS {c}")).collect();
    format!(
        "SELECT hour, {sums} FROM tool_usage_hourly \
         WHERE project_id = ?1 AND (?2 IS NULL OR tool_id = ?2) AND (?3 IS NULL OR member_id = ?3) \
         AND (?4 IS NULL OR api_key_id = ?4) AND hour >= ?5 AND hour < ?6 \
         GROUP BY hour ORDER BY hour",
        sums = sums.join(", "),
    )
});

#[async_trait::async_trait]
impl ToolCallRepository for SqliteStore {
    async fn insert_tool_calls(&self, calls: &[ToolCallRecord]) -> Result<(), RepoError> {
        if calls.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO tool_calls ({CALL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
             ?14, ?15) ON CONFLICT (id) DO NOTHING"
        );
        let mut tx = self.begin_immediate().await?;
        for c in calls {
            sqlx::query(&sql)
                .bind(c.id.to_string())
                .bind(c.account_id.to_string())
                .bind(c.project_id.to_string())
                .bind(c.tool_id.to_string())
                .bind(&c.tool_name)
                .bind(c.api_key_id.to_string())
                .bind(c.member_id.as_ref().map(|m| m.as_str()))
                .bind(c.status.as_str())
                .bind(c.upstream_status.map(i64::from))
                .bind(stored(c.latency_us)?)
                .bind(c.error.as_deref())
                .bind(c.request_id.map(|r| r.to_string()))
                .bind(c.arguments.as_ref().map(|s| s.as_stored()))
                .bind(c.result.as_ref().map(|s| s.as_stored()))
                .bind(micros(c.created_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn add_tool_usage(&self, deltas: &[ToolUsageDelta]) -> Result<(), RepoError> {
        let mut merged: BTreeMap<&ToolUsageKey, UsageCounts> = BTreeMap::new();
        for d in deltas {
            merged.entry(&d.key).or_default().merge(&d.counts);
        }
        if merged.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_immediate().await?;
        for (k, c) in merged {
            let mut query = sqlx::query(ADD_TOOL_USAGE.as_str())
                .bind(k.project_id.to_string())
                .bind(micros(k.hour))
                .bind(k.tool_id.to_string())
                .bind(k.member_id.as_str())
                .bind(k.api_key_id.to_string())
                .bind(k.account_id.to_string());
            let values = [c.requests, c.errors, c.rate_limited, c.latency_sum_us];
            for value in values.iter().chain(c.histogram.iter()) {
                query = query.bind(stored(*value)?);
            }
            query.execute(&mut *tx).await.map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn list_tool_calls(
        &self,
        project: ProjectId,
        filter: &ToolCallFilter,
        page: PageRequest,
    ) -> Result<Page<ToolCallRecord>, RepoError> {
        let project = project.to_string();
        let tool = filter.tool_id.map(|t| t.to_string());
        let member = filter.member_id.as_ref().map(|m| m.as_str().to_owned());
        let status = filter.status.map(|s| s.as_str());
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tool_calls WHERE {CALL_FILTER}"))
            .bind(&project)
            .bind(&tool)
            .bind(&member)
            .bind(status)
            .fetch_one(&self.reader)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query_as::<_, ToolCallRow>(&format!(
            "SELECT {CALL_COLUMNS} FROM tool_calls WHERE {CALL_FILTER} \
             ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6"
        ))
        .bind(&project)
        .bind(&tool)
        .bind(&member)
        .bind(status)
        .bind(i64::from(page.per_page()))
        .bind(i64::try_from(page.offset()).map_err(RepoError::other)?)
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        Ok(Page::new(convert(rows)?, u64::try_from(count).map_err(RepoError::other)?, page))
    }

    async fn get_tool_call(&self, project: ProjectId, id: ToolCallId) -> Result<Option<ToolCallRecord>, RepoError> {
        sqlx::query_as::<_, ToolCallRow>(&format!(
            "SELECT {CALL_COLUMNS} FROM tool_calls WHERE project_id = ?1 AND id = ?2"
        ))
        .bind(project.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?
        .map(ToolCallRecord::try_from)
        .transpose()
    }

    async fn tool_usage_by_hour(
        &self,
        project: ProjectId,
        filter: &ToolUsageFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, UsageCounts)>, RepoError> {
        sqlx::query_as::<_, UsageRow>(TOOL_USAGE_BY_HOUR.as_str())
            .bind(project.to_string())
            .bind(filter.tool_id.map(|t| t.to_string()))
            .bind(filter.member_id.as_ref().map(|m| m.as_str().to_owned()))
            .bind(filter.api_key_id.map(|k| k.to_string()))
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(UsageRow::into_counts)
            .collect()
    }

    async fn purge_tool_calls(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let done = sqlx::query("DELETE FROM tool_calls WHERE created_at < ?1")
            .bind(micros(before))
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
