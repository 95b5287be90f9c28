//! `/projects/{id}/tool-calls`: the call log of a project's tools.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::response::Response;
use axum::Json;
use tengine_domain::tool_call::ToolCallFilter;
use tengine_domain::{FieldError, MemberId, ProjectId, ToolCallId, ToolId, ValidationError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list_response;
use crate::doc::params::{ProjectPath, ToolCallPath, ToolCallQuery};
use crate::doc::responses::{ProjectErrors, QueryErrors, ResourceErrors};
use crate::dto::ToolCallBody;
use crate::error::ApiError;
use crate::extract::{Auth, Ids, Query};
use crate::state::AppState;

/// The call log routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show))
}

type ToolCallList = crate::dto::ListSchema<ToolCallBody>;

fn invalid(field: &str, reason: impl Into<String>, raw: &str) -> ApiError {
    ApiError::from(ValidationError::from(
        FieldError::new(field, reason).with_value(raw.chars().take(64).collect::<String>()),
    ))
}

/// Lists the project's tool calls, newest first; calls reach the log within about a
/// second. Kept 30 days. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/tool-calls",
    operation_id = "listToolCalls",
    tag = "Tool calls",
    summary = "List tool calls",
    params(ProjectPath, ToolCallQuery),
    responses(
        (status = 200, description = "A page of logged calls.", body = ToolCallList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        ProjectErrors,
        QueryErrors,
    )
)]
async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(pid): Ids<ProjectId>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["page", "per_page", "tool_id", "member_id", "status"])?;
    let page = q.page()?;
    let mut filter = ToolCallFilter::default();
    if let Some(raw) = q.get("tool_id") {
        filter.tool_id =
            Some(raw.parse::<ToolId>().map_err(|_| invalid("tool_id", "must be a tool id (tool_...)", raw))?);
    }
    if let Some(raw) = q.get("member_id") {
        filter.member_id =
            Some(raw.parse::<MemberId>().map_err(|e| invalid("member_id", e.first().reason.clone(), raw))?);
    }
    if let Some(raw) = q.get("status") {
        filter.status = Some(raw.parse()?);
    }
    let calls = s.tengine.list_tool_calls(&who, pid, &filter, page).await?.map(ToolCallBody::from);
    Ok(list_response(calls, uri.path()))
}

/// Gets one logged tool call. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/tool-calls/{call_id}",
    operation_id = "getToolCall",
    tag = "Tool calls",
    summary = "Get a tool call",
    params(ToolCallPath),
    responses(
        (status = 200, description = "The logged call.", body = ToolCallBody),
        ResourceErrors,
    )
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, cid)): Ids<(ProjectId, ToolCallId)>,
) -> Result<Json<ToolCallBody>, ApiError> {
    Ok(Json(ToolCallBody::from(s.tengine.get_tool_call(&who, pid, cid).await?)))
}
