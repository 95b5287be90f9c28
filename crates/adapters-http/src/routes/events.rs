//! `GET /projects/{id}/events`: the project's event log.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use tengine_domain::event::EventEnvelope;
use tengine_domain::{Event, EventType, FieldError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{list_response, project_id};
use crate::doc::params::{EventQuery, ProjectPath};
use crate::doc::responses::{ProjectErrors, QueryErrors};
use crate::doc::schemas::EventTypeName;
use crate::error::ApiError;
use crate::extract::{ApiPath, Auth, Query};
use crate::state::AppState;

/// The event-log route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// An event of the log, in the delivery envelope's shape.
#[derive(Serialize, ToSchema)]
#[schema(
    as = Event,
    example = json!({
        "id": "evt_2cqkZW0aB2cD4eF6gH8iJ0",
        "type": "project.created",
        "data": {"id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE", "name": "My Project"},
        "created_at": "2026-11-28T12:00:00Z",
        "api_version": "v1"
    })
)]
pub struct EventBody {
    /// The event's id (also `webhook-id` on deliveries).
    #[schema(pattern = r"^evt_[0-9A-Za-z]{22}$")]
    id: String,
    /// The event's type.
    #[serde(rename = "type")]
    #[schema(value_type = EventTypeName)]
    kind: &'static str,
    /// The event's payload (the resource it is about); never a key or webhook secret.
    #[schema(value_type = Object)]
    data: Value,
    /// When it happened.
    #[schema(format = DateTime)]
    created_at: String,
    /// The API version of the payload.
    #[schema(example = "v1")]
    api_version: &'static str,
}

impl From<Event> for EventBody {
    fn from(e: Event) -> Self {
        let EventEnvelope { id, kind, data, created_at, api_version } = EventEnvelope::from(&e);
        Self { id, kind, data, created_at, api_version }
    }
}

/// A page of events.
type EventList = crate::dto::ListSchema<EventBody>;

/// Lists the project's events (kept at least 30 days), newest first. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/events",
    operation_id = "listEvents",
    tag = "Events",
    summary = "List events",
    params(ProjectPath, EventQuery),
    responses(
        (status = 200, description = "A page of events.", body = EventList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        ProjectErrors,
        QueryErrors,
    )
)]
async fn events(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(pid): ApiPath<String>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pid = project_id(&pid)?;
    let q = Query::parse(q.as_deref(), &["page", "per_page", "type"])?;
    let page = q.page()?;
    let kind = match q.get("type") {
        None => None,
        Some(raw) => Some(raw.parse::<EventType>().map_err(|()| {
            ApiError::from(tengine_domain::ValidationError::from(
                FieldError::new("type", "unknown event type").with_value(raw.chars().take(64).collect::<String>()),
            ))
        })?),
    };
    let list = s.tengine.list_events(&who, pid, kind, page).await?.map(EventBody::from);
    Ok(list_response(list, uri.path()))
}
