//! Response bodies of the analytics routes.

use crate::doc::schemas::GranularityName;
use serde::Serialize;
use tengine_domain::usage::UsageCounts;
use utoipa::ToSchema;

/// Usage in one bucket (with `timestamp`) or over the whole range (`totals`, without).
#[derive(Serialize, ToSchema)]
#[schema(as = UsageCounts)]
pub struct CountsBody {
    /// The bucket's start (RFC 3339, UTC); present in `data`, absent in `totals`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    pub(crate) timestamp: Option<String>,
    /// Authenticated requests.
    pub(crate) requests: u64,
    /// Responses with status >= 400 other than 429.
    pub(crate) errors: u64,
    /// 429 responses.
    pub(crate) rate_limited: u64,
    /// Mean latency in milliseconds (0 without requests).
    pub(crate) avg_latency_ms: f64,
    /// 95th percentile latency in milliseconds, from a fixed histogram (0 without requests).
    p95_latency_ms: f64,
}

impl CountsBody {
    pub(crate) fn new(timestamp: Option<String>, c: &UsageCounts) -> Self {
        Self {
            timestamp,
            requests: c.requests,
            errors: c.errors,
            rate_limited: c.rate_limited,
            avg_latency_ms: c.avg_latency_ms(),
            p95_latency_ms: c.p95_latency_ms(),
        }
    }
}

/// A project's usage over a range, bucketed.
#[derive(Serialize, ToSchema)]
#[schema(
    as = Analytics,
    example = json!({
        "project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "start_date": "2026-11-27T00:00:00Z",
        "end_date": "2026-11-28T00:00:00Z",
        "granularity": "day",
        "totals": {"requests": 1200, "errors": 12, "rate_limited": 3, "avg_latency_ms": 18.4, "p95_latency_ms": 50.0},
        "data": [{
            "timestamp": "2026-11-27T00:00:00Z",
            "requests": 1200, "errors": 12, "rate_limited": 3, "avg_latency_ms": 18.4, "p95_latency_ms": 50.0
        }]
    })
)]
pub struct AnalyticsBody {
    /// The project.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    pub(crate) project_id: String,
    /// The range's start (inclusive).
    #[schema(format = DateTime)]
    pub(crate) start_date: String,
    /// The range's end (exclusive).
    #[schema(format = DateTime)]
    pub(crate) end_date: String,
    /// The bucket size.
    #[schema(value_type = GranularityName)]
    pub(crate) granularity: &'static str,
    /// The key the answer is filtered to; present only when `api_key_id` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, pattern = r"^key_[0-9A-Za-z]{22}$")]
    pub(crate) api_key_id: Option<String>,
    /// The integration the answer is filtered to; present only when `integration_id` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, pattern = r"^int_[0-9A-Za-z]{22}$")]
    pub(crate) integration_id: Option<String>,
    /// The tool the answer counts the calls of; present only when `tool_id` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, pattern = r"^tool_[0-9A-Za-z]{22}$")]
    pub(crate) tool_id: Option<String>,
    /// The member the answer counts the calls of; present only when `member_id` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub(crate) member_id: Option<String>,
    /// The sums over the range (no `timestamp`).
    pub(crate) totals: CountsBody,
    /// Every bucket that overlaps the range, zeros included, in time order.
    pub(crate) data: Vec<CountsBody>,
}

/// Request counts of a range, without latency (the overview's totals).
#[derive(Serialize, ToSchema)]
#[schema(as = RequestTotals)]
pub struct TotalsBody {
    /// Authenticated requests.
    pub(crate) requests: u64,
    /// Responses with status >= 400 other than 429.
    pub(crate) errors: u64,
    /// 429 responses.
    pub(crate) rate_limited: u64,
}

/// One project's requests over the range.
#[derive(Serialize, ToSchema)]
#[schema(as = ProjectTotals)]
pub struct ProjectTotalsBody {
    /// The project.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    pub(crate) project_id: String,
    /// Its name.
    pub(crate) name: String,
    /// Authenticated requests.
    pub(crate) requests: u64,
    /// Responses with status >= 400 other than 429.
    pub(crate) errors: u64,
    /// 429 responses.
    pub(crate) rate_limited: u64,
}

/// A webhook whose deliveries are failing now.
#[derive(Serialize, ToSchema)]
#[schema(as = FailingWebhook)]
pub struct FailingWebhookBody {
    /// The webhook.
    #[schema(pattern = r"^wh_[0-9A-Za-z]{22}$")]
    pub(crate) id: String,
    /// Its project.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    pub(crate) project_id: String,
    /// Where it delivers.
    pub(crate) url: String,
    /// False once disabled.
    pub(crate) active: bool,
    /// When its deliveries started failing (RFC 3339).
    #[schema(format = DateTime)]
    pub(crate) failing_since: String,
}

/// The overview of every project the key sees: totals over the range, the busiest
/// projects, and the webhooks failing now.
#[derive(Serialize, ToSchema)]
#[schema(
    as = AccountAnalytics,
    example = json!({
        "start_date": "2026-11-27T00:00:00Z",
        "end_date": "2026-11-28T00:00:00Z",
        "totals": {"requests": 1200, "errors": 12, "rate_limited": 3},
        "active_projects": 1,
        "projects": [{"project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE", "name": "Support bot", "requests": 1200, "errors": 12, "rate_limited": 3}],
        "failing_webhooks": []
    })
)]
pub struct AccountAnalyticsBody {
    /// The range's start (inclusive).
    #[schema(format = DateTime)]
    pub(crate) start_date: String,
    /// The range's end (exclusive).
    #[schema(format = DateTime)]
    pub(crate) end_date: String,
    /// Sums over every project the key sees.
    pub(crate) totals: TotalsBody,
    /// How many projects had requests in the range.
    pub(crate) active_projects: u64,
    /// The busiest projects, most requests first, at most `limit`.
    pub(crate) projects: Vec<ProjectTotalsBody>,
    /// Webhooks failing now, longest first, at most `limit`; `null` for a key without
    /// the `webhook` permission.
    pub(crate) failing_webhooks: Option<Vec<FailingWebhookBody>>,
}
