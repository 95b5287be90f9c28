//! The tool call log and per-tool usage rollups: one statement per batch, filtered reads.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use tengine_domain::tool_call::{ToolCallFilter, ToolCallRecord, ToolUsageDelta, ToolUsageFilter, ToolUsageKey};
use tengine_domain::usage::{UsageCounts, HISTOGRAM_LEN};
use tengine_domain::{Page, PageRequest, ProjectId, ToolCallId};
use tengine_ports::{RepoError, ToolCallRepository};
use tengine_storage_rows::convert;

use crate::error::map_err;
use crate::rows::{ToolCallRow, UsageRow};
use crate::usage::{counter_columns, stored};
use crate::PgStore;

const CALL_COLUMNS: &str = "id, account_id, project_id, tool_id, tool_name, api_key_id, member_id, status, \
     upstream_status, latency_us, error, request_id, arguments, result, created_at";

/// The filter of a call-log listing, on `$1` (project) and `$2..$4`.
const CALL_FILTER: &str = "project_id = $1 AND ($2::text IS NULL OR tool_id = $2) \
     AND ($3::text IS NULL OR member_id = $3) AND ($4::text IS NULL OR status = $4)";

/// Unnests a batch of calls (arrays in column order) into the log.
const INSERT_CALLS: &str = "INSERT INTO tool_calls (id, account_id, project_id, tool_id, tool_name, api_key_id, \
     member_id, status, upstream_status, latency_us, error, request_id, arguments, result, created_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
     $8::text[], $9::int[], $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[], $15::timestamptz[]) \
     ON CONFLICT (id) DO NOTHING";

/// One statement per batch, in the merged (sorted) order, joined to the projects of the
/// claimed accounts.
static ADD_TOOL_USAGE: LazyLock<String> = LazyLock::new(|| {
    let counters = counter_columns();
    let list = counters.join(", ");
    let arrays: Vec<String> = (0..counters.len()).map(|i| format!("${}::bigint[]", i + 7)).collect();
    let picked: Vec<String> = counters.iter().map(|c| format!("d.{c}")).collect();
    let sums: Vec<String> = counters.iter().map(|c| format!("{c} = tool_usage_hourly.{c} + EXCLUDED.{c}")).collect();
    format!(
        "INSERT INTO tool_usage_hourly (project_id, hour, tool_id, member_id, api_key_id, account_id, {list}) \
         SELECT d.project_id, d.hour, d.tool_id, d.member_id, d.api_key_id, p.account_id, {picked} \
         FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], {arrays}) \
           WITH ORDINALITY AS d(project_id, hour, tool_id, member_id, api_key_id, account_id, {list}, ord) \
         JOIN projects p ON p.id = d.project_id AND p.account_id = d.account_id \
         ORDER BY d.ord \
         ON CONFLICT (project_id, hour, tool_id, member_id, api_key_id) DO UPDATE SET {sums}",
        picked = picked.join(", "),
        arrays = arrays.join(", "),
        sums = sums.join(", "),
    )
});

/// Sums per hour of one project's tool calls passing the filter `$2..$4`, in `[$5, $6)`.
static TOOL_USAGE_BY_HOUR: LazyLock<String> = LazyLock::new(|| {
    let sums: Vec<String> = counter_columns().iter().map(|c| format!("SUM({c})::bigint AS {c}")).collect();
    format!(
        "SELECT hour, {sums} FROM tool_usage_hourly \
         WHERE project_id = $1 AND ($2::text IS NULL OR tool_id = $2) AND ($3::text IS NULL OR member_id = $3) \
         AND ($4::text IS NULL OR api_key_id = $4) AND hour >= $5 AND hour < $6 \
         GROUP BY hour ORDER BY hour",
        sums = sums.join(", "),
    )
});

#[async_trait::async_trait]
impl ToolCallRepository for PgStore {
    async fn insert_tool_calls(&self, calls: &[ToolCallRecord]) -> Result<(), RepoError> {
        if calls.is_empty() {
            return Ok(());
        }
        let text = |f: &dyn Fn(&ToolCallRecord) -> String| calls.iter().map(f).collect::<Vec<String>>();
        let maybe = |f: &dyn Fn(&ToolCallRecord) -> Option<String>| calls.iter().map(f).collect::<Vec<_>>();
        let latencies = calls.iter().map(|c| stored(c.latency_us)).collect::<Result<Vec<i64>, _>>()?;
        sqlx::query(INSERT_CALLS)
            .bind(text(&|c| c.id.to_string()))
            .bind(text(&|c| c.account_id.to_string()))
            .bind(text(&|c| c.project_id.to_string()))
            .bind(text(&|c| c.tool_id.to_string()))
            .bind(text(&|c| c.tool_name.clone()))
            .bind(text(&|c| c.api_key_id.to_string()))
            .bind(maybe(&|c| c.member_id.as_ref().map(|m| m.as_str().to_owned())))
            .bind(text(&|c| c.status.as_str().to_owned()))
            .bind(calls.iter().map(|c| c.upstream_status.map(i32::from)).collect::<Vec<_>>())
            .bind(latencies)
            .bind(maybe(&|c| c.error.clone()))
            .bind(maybe(&|c| c.request_id.map(|r| r.to_string())))
            .bind(maybe(&|c| c.arguments.as_ref().map(|s| s.as_stored().to_owned())))
            .bind(maybe(&|c| c.result.as_ref().map(|s| s.as_stored().to_owned())))
            .bind(calls.iter().map(|c| c.created_at).collect::<Vec<_>>())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn add_tool_usage(&self, deltas: &[ToolUsageDelta]) -> Result<(), RepoError> {
        // Merged first (one upsert cannot touch a row twice), in one order for every
        // flusher, so concurrent flushers never deadlock.
        let mut merged: BTreeMap<&ToolUsageKey, UsageCounts> = BTreeMap::new();
        for d in deltas {
            merged.entry(&d.key).or_default().merge(&d.counts);
        }
        if merged.is_empty() {
            return Ok(());
        }
        let n = merged.len();
        let mut keys: Vec<Vec<String>> = (0..5).map(|_| Vec::with_capacity(n)).collect();
        let mut hours = Vec::with_capacity(n);
        let mut counters: Vec<Vec<i64>> = (0..4 + HISTOGRAM_LEN).map(|_| Vec::with_capacity(n)).collect();
        for (k, c) in merged {
            hours.push(k.hour);
            let parts = [
                k.project_id.to_string(),
                k.tool_id.to_string(),
                k.member_id.clone(),
                k.api_key_id.to_string(),
                k.account_id.to_string(),
            ];
            for (column, part) in keys.iter_mut().zip(parts) {
                column.push(part);
            }
            let values = [c.requests, c.errors, c.rate_limited, c.latency_sum_us];
            for (column, value) in counters.iter_mut().zip(values.iter().chain(c.histogram.iter())) {
                column.push(stored(*value)?);
            }
        }
        let mut keys = keys.into_iter();
        let mut next = || keys.next().unwrap_or_default();
        let (projects, tools, members, api_keys, accounts) = (next(), next(), next(), next(), next());
        let mut query = sqlx::query(ADD_TOOL_USAGE.as_str())
            .bind(projects)
            .bind(hours)
            .bind(tools)
            .bind(members)
            .bind(api_keys)
            .bind(accounts);
        for column in counters {
            query = query.bind(column);
        }
        query.execute(&self.pool).await.map_err(map_err)?;
        Ok(())
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
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query_as::<_, ToolCallRow>(&format!(
            "SELECT {CALL_COLUMNS} FROM tool_calls WHERE {CALL_FILTER} \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(&project)
        .bind(&tool)
        .bind(&member)
        .bind(status)
        .bind(i64::from(page.per_page()))
        .bind(i64::try_from(page.offset()).map_err(RepoError::other)?)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Page::new(convert(rows)?, u64::try_from(count).map_err(RepoError::other)?, page))
    }

    async fn get_tool_call(&self, project: ProjectId, id: ToolCallId) -> Result<Option<ToolCallRecord>, RepoError> {
        sqlx::query_as::<_, ToolCallRow>(&format!(
            "SELECT {CALL_COLUMNS} FROM tool_calls WHERE project_id = $1 AND id = $2"
        ))
        .bind(project.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
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
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(UsageRow::into_counts)
            .collect()
    }

    async fn purge_tool_calls(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let done = sqlx::query("DELETE FROM tool_calls WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
