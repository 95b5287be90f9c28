//! Rows of `tool_calls`, the call log.

use tengine_domain::secret_key::SealedSecret;
use tengine_domain::tool_call::ToolCallRecord;
use tengine_ports::RepoError;

use crate::{at, narrow, Dialect};

/// A row of `tool_calls`.
#[derive(sqlx::FromRow)]
pub struct ToolCallRow<D: Dialect> {
    id: String,
    account_id: String,
    project_id: String,
    tool_id: String,
    tool_name: String,
    api_key_id: String,
    member_id: Option<String>,
    status: String,
    upstream_status: Option<D::Int>,
    latency_us: i64,
    error: Option<String>,
    request_id: Option<String>,
    arguments: Option<String>,
    result: Option<String>,
    created_at: D::Timestamp,
}

impl<D: Dialect> TryFrom<ToolCallRow<D>> for ToolCallRecord {
    type Error = RepoError;

    fn try_from(row: ToolCallRow<D>) -> Result<Self, RepoError> {
        Ok(ToolCallRecord {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            tool_id: row.tool_id.parse().map_err(RepoError::other)?,
            tool_name: row.tool_name,
            api_key_id: row.api_key_id.parse().map_err(RepoError::other)?,
            member_id: row.member_id.map(|m| m.parse().map_err(RepoError::other)).transpose()?,
            status: row.status.parse().map_err(RepoError::other)?,
            upstream_status: row.upstream_status.map(narrow).transpose()?,
            latency_us: narrow(row.latency_us)?,
            error: row.error,
            request_id: row.request_id.map(|r| r.parse().map_err(RepoError::other)).transpose()?,
            arguments: row.arguments.map(SealedSecret::from_stored),
            result: row.result.map(SealedSecret::from_stored),
            created_at: at::<D>(row.created_at)?,
        })
    }
}
