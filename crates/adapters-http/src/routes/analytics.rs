//! `GET /projects/{id}/analytics` and the account overview, `GET /analytics`.

use axum::extract::{RawQuery, State};
use axum::Json;
use tengine_application::{AnalyticsFilter, MAX_OVERVIEW_ROWS};
use tengine_domain::usage::{AnalyticsRange, Granularity};
use tengine_domain::{time, ApiKeyId, FieldError, MemberId, ProjectId, ToolId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::params::{AccountAnalyticsQuery, AnalyticsQuery, ProjectPath};
use crate::doc::responses::{AuthErrors, ProjectErrors, QueryErrors};
use crate::dto::{AccountAnalyticsBody, AnalyticsBody, CountsBody, FailingWebhookBody, ProjectTotalsBody, TotalsBody};
use crate::error::ApiError;
use crate::extract::{Auth, Ids, Query};
use crate::state::AppState;

/// The analytics route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show)).routes(routes!(overview))
}

/// Every project the key sees (an account-wide key: the account's; a project key: its
/// own): request totals over the range, the busiest projects, and with `webhook` the
/// webhooks failing now. What the console's overview shows. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/analytics",
    operation_id = "getAccountAnalytics",
    tag = "Analytics",
    summary = "Get the account overview",
    params(AccountAnalyticsQuery),
    responses(
        (status = 200, description = "Totals, busiest projects and failing webhooks.", body = AccountAnalyticsBody),
        AuthErrors,
        QueryErrors,
    )
)]
async fn overview(
    State(s): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> Result<Json<AccountAnalyticsBody>, ApiError> {
    let q = Query::parse(q.as_deref(), &["start_date", "end_date", "limit"])?;
    // No buckets here, so no bucket limit: checked as months (start < end, valid dates),
    // then read by the hour.
    let checked = AnalyticsRange::parse(q.get("start_date"), q.get("end_date"), Some("month"), s.tengine.now())?;
    let range = AnalyticsRange { granularity: Granularity::Hour, ..checked };
    let limit = match q.get("limit") {
        None => 5,
        Some(raw) => raw.parse::<u32>().ok().filter(|n| (1..=MAX_OVERVIEW_ROWS).contains(n)).ok_or_else(|| {
            ApiError::from(tengine_domain::ValidationError::from(
                FieldError::new("limit", format!("must be an integer from 1 to {MAX_OVERVIEW_ROWS}"))
                    .with_value(raw.chars().take(64).collect::<String>()),
            ))
        })?,
    };
    let a = s.tengine.account_analytics(&who, range, limit).await?;
    Ok(Json(AccountAnalyticsBody {
        start_date: time::format(a.start),
        end_date: time::format(a.end),
        totals: TotalsBody {
            requests: a.totals.requests,
            errors: a.totals.errors,
            rate_limited: a.totals.rate_limited,
        },
        active_projects: a.active_projects,
        projects: a
            .projects
            .into_iter()
            .map(|p| ProjectTotalsBody {
                project_id: p.project_id.to_string(),
                name: p.name,
                requests: p.requests,
                errors: p.errors,
                rate_limited: p.rate_limited,
            })
            .collect(),
        failing_webhooks: a.failing_webhooks.map(|list| {
            list.into_iter()
                .filter_map(|w| {
                    Some(FailingWebhookBody {
                        id: w.id.to_string(),
                        project_id: w.project_id.to_string(),
                        url: w.url.as_str().to_owned(),
                        active: w.active,
                        failing_since: time::format(w.failing_since?),
                    })
                })
                .collect()
        }),
    }))
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
    let q = Query::parse(
        q.as_deref(),
        &["start_date", "end_date", "granularity", "api_key_id", "integration_id", "tool_id", "member_id"],
    )?;
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
    let integration = match q.get("integration_id") {
        None => None,
        Some(raw) => Some(raw.parse::<tengine_domain::IntegrationId>().map_err(|_| {
            ApiError::from(tengine_domain::ValidationError::from(
                FieldError::new("integration_id", "must be an integration id (int_...)")
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
    let filter =
        AnalyticsFilter { api_key_id: key, integration_id: integration, tool_id: tool, member_id: member.clone() };
    let a = s.tengine.analytics(&who, pid, range, filter).await?;
    Ok(Json(AnalyticsBody {
        project_id: a.project_id.to_string(),
        start_date: time::format(a.range.start),
        end_date: time::format(a.range.end),
        granularity: a.range.granularity.as_str(),
        api_key_id: key.map(|k| k.to_string()),
        integration_id: integration.map(|i| i.to_string()),
        tool_id: tool.map(|t| t.to_string()),
        member_id: member.map(|m| m.as_str().to_owned()),
        totals: CountsBody::new(None, &a.totals),
        data: a.buckets.iter().map(|(t, c)| CountsBody::new(Some(time::format(*t)), c)).collect(),
    }))
}
