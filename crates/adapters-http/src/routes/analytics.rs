//! `GET /projects/{id}/analytics`.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;
use tengine_domain::usage::{AnalyticsRange, UsageCounts};
use tengine_domain::{time, ApiKeyId, FieldError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::project_id;
use crate::doc::params::{AnalyticsQuery, ProjectPath};
use crate::doc::responses::{ProjectErrors, QueryErrors};
use crate::doc::schemas::GranularityName;
use crate::error::ApiError;
use crate::extract::{ApiPath, Auth, Query};
use crate::state::AppState;

/// The analytics route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

/// Usage in one bucket (with `timestamp`) or over the whole range (`totals`, without).
#[derive(Serialize, ToSchema)]
#[schema(as = UsageCounts)]
struct CountsBody {
    /// The bucket's start (RFC 3339, UTC); present in `data`, absent in `totals`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    timestamp: Option<String>,
    /// Authenticated requests.
    requests: u64,
    /// Responses with status >= 400 other than 429.
    errors: u64,
    /// 429 responses.
    rate_limited: u64,
    /// Mean latency in milliseconds (0 without requests).
    avg_latency_ms: f64,
    /// 95th percentile latency in milliseconds, from a fixed histogram (0 without requests).
    p95_latency_ms: f64,
}

impl CountsBody {
    fn new(timestamp: Option<String>, c: &UsageCounts) -> Self {
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
struct AnalyticsBody {
    /// The project.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    project_id: String,
    /// The range's start (inclusive).
    #[schema(format = DateTime)]
    start_date: String,
    /// The range's end (exclusive).
    #[schema(format = DateTime)]
    end_date: String,
    /// The bucket size.
    #[schema(value_type = GranularityName)]
    granularity: &'static str,
    /// The key the answer is filtered to; present only when `api_key_id` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, pattern = r"^key_[0-9A-Za-z]{22}$")]
    api_key_id: Option<String>,
    /// The sums over the range (no `timestamp`).
    totals: CountsBody,
    /// Every bucket that overlaps the range, zeros included, in time order.
    data: Vec<CountsBody>,
}

/// The project's usage from hourly rollups. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/analytics",
    operation_id = "getAnalytics",
    tag = "Analytics",
    summary = "Get usage analytics",
    params(ProjectPath, AnalyticsQuery),
    responses(
        (status = 200, description = "Usage over the range.", body = AnalyticsBody),
        ProjectErrors,
        QueryErrors,
    )
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(pid): ApiPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<AnalyticsBody>, ApiError> {
    let pid = project_id(&pid)?;
    let q = Query::parse(q.as_deref(), &["start_date", "end_date", "granularity", "api_key_id"])?;
    let range = AnalyticsRange::parse(q.get("start_date"), q.get("end_date"), q.get("granularity"), s.tengine.now())?;
    let key = match q.get("api_key_id") {
        None => None,
        Some(raw) => Some(raw.parse::<ApiKeyId>().map_err(|_| {
            ApiError::from(tengine_domain::ValidationError::from(
                FieldError::new("api_key_id", "must be an API key id (key_...)")
                    .with_value(raw.chars().take(64).collect::<String>()),
            ))
        })?),
    };
    let a = s.tengine.analytics(&who, pid, range, key).await?;
    Ok(Json(AnalyticsBody {
        project_id: a.project_id.to_string(),
        start_date: time::format(a.range.start),
        end_date: time::format(a.range.end),
        granularity: a.range.granularity.as_str(),
        api_key_id: key.map(|k| k.to_string()),
        totals: CountsBody::new(None, &a.totals),
        data: a.buckets.iter().map(|(t, c)| CountsBody::new(Some(time::format(*t)), c)).collect(),
    }))
}
