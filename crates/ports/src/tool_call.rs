//! The tool call log and per-tool usage rollups. Both are written in batches by the
//! background flusher, never on a call's path.

use chrono::{DateTime, Utc};
use tengine_domain::tool_call::{ToolCallFilter, ToolCallRecord, ToolUsageDelta, ToolUsageFilter};
use tengine_domain::usage::UsageCounts;
use tengine_domain::{Page, PageRequest, ProjectId, ToolCallId};

use crate::RepoError;

/// Stores logged calls and their hourly rollups.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait ToolCallRepository: Send + Sync {
    /// Writes a batch of logged calls in one transaction; an id already stored is
    /// skipped (a retried flush writes nothing twice).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; nothing is then written.
    async fn insert_tool_calls(&self, calls: &[ToolCallRecord]) -> Result<(), RepoError>;

    /// Adds each delta into its (project, hour, tool, member, key) row in one
    /// transaction. Deltas whose project is not their account's are dropped.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; nothing is then written.
    async fn add_tool_usage(&self, deltas: &[ToolUsageDelta]) -> Result<(), RepoError>;

    /// A page of the project's logged calls that pass `filter`, newest first (ties by
    /// id, descending).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn list_tool_calls(
        &self,
        project: ProjectId,
        filter: &ToolCallFilter,
        page: PageRequest,
    ) -> Result<Page<ToolCallRecord>, RepoError>;

    /// The project's logged call `id`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn get_tool_call(&self, project: ProjectId, id: ToolCallId) -> Result<Option<ToolCallRecord>, RepoError>;

    /// The project's tool-usage rollups that pass `filter`, summed per hour for hours
    /// in `[from, to)`, ascending; hours without rows are absent.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn tool_usage_by_hour(
        &self,
        project: ProjectId,
        filter: &ToolUsageFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, UsageCounts)>, RepoError>;

    /// Deletes logged calls made before `before`; how many went.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn purge_tool_calls(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
