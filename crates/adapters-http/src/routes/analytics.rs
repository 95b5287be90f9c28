//! `GET /projects/{id}/analytics`.

use axum::extract::{RawQuery, State};
use axum::Json;
use tengine_application::AnalyticsFilter;
use tengine_domain::usage::AnalyticsRange;
use tengine_domain::{time, ApiKeyId, FieldError, MemberId, ProjectId, ToolId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::params::{AnalyticsQuery, ProjectPath};
use crate::doc::responses::{ProjectErrors, QueryErrors};
use crate::dto::{AnalyticsBody, CountsBody};
use crate::error::ApiError;
use crate::extract::{Auth, Ids, Query};
use crate::state::AppState;

/// The analytics route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

/// The project's usage from hourly rollups: requests, or with `tool_id` or `member_id`
/// the tool calls made through `/mcp`. Needs `read`.
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
    Ids(pid): Ids<ProjectId>,
    RawQuery(q): RawQuery,
) -> Result<Json<AnalyticsBody>, ApiError> {
    let q =
        Query::parse(q.as_deref(), &["start_date", "end_date", "granularity", "api_key_id", "tool_id", "member_id"])?;
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
    let tool = match q.get("tool_id") {
        None => None,
        Some(raw) => Some(raw.parse::<ToolId>().map_err(|_| {
            ApiError::from(tengine_domain::ValidationError::from(
                FieldError::new("tool_id", "must be a tool id (tool_...)")
                    .with_value(raw.chars().take(64).collect::<String>()),
            ))
        })?),
    };
    let member = match q.get("member_id") {
        None => None,
        Some(raw) => Some(raw.parse::<MemberId>().map_err(|e| {
            let reason = e.first().reason.clone();
            ApiError::from(tengine_domain::ValidationError::from(FieldError::new("member_id", reason)))
        })?),
    };
    let filter = AnalyticsFilter { api_key_id: key, tool_id: tool, member_id: member.clone() };
    let a = s.tengine.analytics(&who, pid, range, filter).await?;
    Ok(Json(AnalyticsBody {
        project_id: a.project_id.to_string(),
        start_date: time::format(a.range.start),
        end_date: time::format(a.range.end),
        granularity: a.range.granularity.as_str(),
        api_key_id: key.map(|k| k.to_string()),
        tool_id: tool.map(|t| t.to_string()),
        member_id: member.map(|m| m.as_str().to_owned()),
        totals: CountsBody::new(None, &a.totals),
        data: a.buckets.iter().map(|(t, c)| CountsBody::new(Some(time::format(*t)), c)).collect(),
    }))
}
