//! The tool call log: one record per call `/mcp` made or refused, and the hourly
//! per-tool rollups that analytics' `tool_id` and `member_id` dimensions read.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{FieldError, ValidationError};
use crate::ids::{AccountId, ApiKeyId, ProjectId, ToolCallId, ToolId};
use crate::member::MemberId;
use crate::secret_key::SealedSecret;
use crate::usage::UsageCounts;

/// How long the call log keeps a call.
pub const RETENTION: chrono::Duration = chrono::Duration::days(30);

/// What became of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolCallStatus {
    /// The API answered 2xx.
    Succeeded,
    /// The API answered otherwise, did not answer in time, or could not be reached.
    Failed,
    /// Nothing was sent: the arguments did not fit, a template could not be rendered
    /// safely, or the tool needs a member session.
    Refused,
}

impl ToolCallStatus {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Refused => "refused",
        }
    }
}

impl std::str::FromStr for ToolCallStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            "refused" => Ok(Self::Refused),
            _ => Err(FieldError::new("status", "must be one of succeeded, failed, refused").with_value(s).into()),
        }
    }
}

/// One logged call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallRecord {
    /// Its id.
    pub id: ToolCallId,
    /// The project's account.
    pub account_id: AccountId,
    /// The project.
    pub project_id: ProjectId,
    /// The tool called.
    pub tool_id: ToolId,
    /// Its name at the time of the call.
    pub tool_name: String,
    /// The key that called (a member session's issuing key).
    pub api_key_id: ApiKeyId,
    /// The member of a member session.
    pub member_id: Option<MemberId>,
    /// What became of it.
    pub status: ToolCallStatus,
    /// The API's HTTP status, when it answered.
    pub upstream_status: Option<u16>,
    /// From preparing the request to the shaped answer.
    pub latency_us: u64,
    /// What went wrong, in words the model also got; never a secret.
    pub error: Option<String>,
    /// The `X-Tengine-Request-Id` the API saw (absent on a refused call: nothing was sent).
    pub request_id: Option<Uuid>,
    /// The arguments, sealed; only for tools with `log_payloads`.
    pub arguments: Option<SealedSecret>,
    /// The tool result, sealed; only for tools with `log_payloads`.
    pub result: Option<SealedSecret>,
    /// When the call was made.
    pub created_at: DateTime<Utc>,
}

impl ToolCallRecord {
    /// Whether the call counts as an error in analytics.
    pub fn is_error(&self) -> bool {
        self.status != ToolCallStatus::Succeeded
    }
}

/// Which calls a call-log listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCallFilter {
    /// Only this tool's.
    pub tool_id: Option<ToolId>,
    /// Only this member's.
    pub member_id: Option<MemberId>,
    /// Only calls with this outcome.
    pub status: Option<ToolCallStatus>,
}

/// What a tool-usage rollup row is keyed by, besides its project and hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToolUsageKey {
    /// The project's account.
    pub account_id: AccountId,
    /// The project.
    pub project_id: ProjectId,
    /// The hour (truncated).
    pub hour: DateTime<Utc>,
    /// The tool.
    pub tool_id: ToolId,
    /// The member, or `""` without one.
    pub member_id: String,
    /// The calling key.
    pub api_key_id: ApiKeyId,
}

/// Counters to add into one tool-usage rollup row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolUsageDelta {
    /// The row.
    pub key: ToolUsageKey,
    /// What to add: `requests` are calls, `errors` calls that did not succeed.
    pub counts: UsageCounts,
}

/// Which tool calls an analytics query sums.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolUsageFilter {
    /// Only this tool's (`None`: every tool's).
    pub tool_id: Option<ToolId>,
    /// Only this member's.
    pub member_id: Option<MemberId>,
    /// Only this key's.
    pub api_key_id: Option<ApiKeyId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_others_are_named() {
        for s in [ToolCallStatus::Succeeded, ToolCallStatus::Failed, ToolCallStatus::Refused] {
            assert_eq!(s.as_str().parse::<ToolCallStatus>().ok(), Some(s));
        }
        let err = "ok".parse::<ToolCallStatus>().expect_err("unknown");
        assert_eq!(err.first().field, "status");
    }
}
