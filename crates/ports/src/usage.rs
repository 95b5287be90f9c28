//! Usage recording and analytics rollups.

use chrono::{DateTime, Utc};
use tengine_domain::usage::{ProjectTotals, UsageCounts, UsageSubject};
use tengine_domain::{AccountId, ProjectId};

use crate::RepoError;

/// One counted request (what the HTTP layer reports after each response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// The key's account.
    pub account_id: AccountId,
    /// The project it is attributed to.
    pub project_id: ProjectId,
    /// The key (or integration) that authenticated it.
    pub subject: UsageSubject,
    /// The response status.
    pub status: u16,
    /// Time from request to response, in microseconds.
    pub latency_us: u64,
}

/// Counters to add to one hourly rollup row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    /// The hour (truncated) the requests fall in.
    pub hour: DateTime<Utc>,
    /// The account of the key; rows whose project is not this account's are dropped.
    pub account_id: AccountId,
    /// The project.
    pub project_id: ProjectId,
    /// The key or integration.
    pub subject: UsageSubject,
    /// What to add.
    pub counts: UsageCounts,
}

/// Receives usage records on the request path: never blocks, never does I/O.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait UsageSink: Send + Sync {
    /// Takes one record (or counts it as dropped if the buffer is full).
    fn record(&self, record: UsageRecord);
}

/// Hourly usage rollups per project and key.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait UsageRepository: Send + Sync {
    /// Adds each delta into its (project, key, hour) row, creating it if needed, in
    /// one transaction. Deltas whose project does not belong to their account are
    /// silently dropped (a request can name any project id in its path).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; nothing is then written.
    async fn add_usage(&self, deltas: &[UsageDelta]) -> Result<(), RepoError>;

    /// The project's rollups summed over keys (or for one key) per hour, for hours in
    /// `[from, to)`, ascending; hours without rows are absent.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn usage_by_hour(
        &self,
        project: ProjectId,
        key: Option<UsageSubject>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, UsageCounts)>, RepoError>;

    /// Each live project of `account` (or only `project`) with requests in `[from, to)`,
    /// summed over keys and hours, busiest first (ties by project id).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn usage_by_project(
        &self,
        account: AccountId,
        project: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProjectTotals>, RepoError>;
}
