//! `GET /projects/{id}/analytics`.

use axum::extract::{RawQuery, State};
use axum::Json;
use tengine_domain::usage::AnalyticsRange;
use tengine_domain::{time, ApiKeyId, FieldError, ProjectId};
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
    Ids(pid): Ids<ProjectId>,
    RawQuery(q): RawQuery,
) -> Result<Json<AnalyticsBody>, ApiError> {
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
