//! `GET /projects/{id}/analytics`.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tengine_domain::usage::{AnalyticsRange, UsageCounts};
use tengine_domain::{time, ApiKeyId, FieldError};

use super::project_id;
use crate::error::ApiError;
use crate::extract::{ApiPath, Auth, Query};
use crate::state::AppState;

/// The analytics route.
pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{project_id}/analytics", get(show))
}

#[derive(Serialize)]
struct CountsBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    requests: u64,
    errors: u64,
    rate_limited: u64,
    avg_latency_ms: f64,
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

#[derive(Serialize)]
struct AnalyticsBody {
    project_id: String,
    start_date: String,
    end_date: String,
    granularity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key_id: Option<String>,
    totals: CountsBody,
    data: Vec<CountsBody>,
}

async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(pid): ApiPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<AnalyticsBody>, ApiError> {
    let pid = project_id(&pid)?;
    let q = Query::parse(q.as_deref(), &["start_date", "end_date", "granularity", "api_key_id"])?;
    let range =
        AnalyticsRange::parse(q.get("start_date"), q.get("end_date"), q.get("granularity"), chrono::Utc::now())?;
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
