//! `GET /projects/{id}/events`: the project's event log; `GET /event-types`: what each
//! type means and the schema of its `data`.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::response::{IntoResponse, Response};
use tengine_domain::ProjectId;
use tengine_domain::{EventType, FieldError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::keyset_response;
use crate::doc::params::{EventQuery, ProjectPath};
use crate::doc::responses::{AuthErrors, ProjectErrors, QueryErrors};
use crate::dto::event_types::CatalogueBody;
use crate::dto::EventBody;
use crate::error::ApiError;
use crate::extract::{Auth, Ids, Query};
use crate::state::AppState;

/// The event-log route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events)).routes(routes!(event_types))
}

/// Lists every event type with what it means, where it is sent and the JSON Schema of
/// its `data` (the OpenAPI document's `webhooks` section describes each delivery too).
/// Any valid key may read it.
#[utoipa::path(
    get,
    path = "/api/v1/event-types",
    operation_id = "getEventTypes",
    tag = "Events",
    summary = "List event types",
    responses(
        (status = 200, description = "Every event type.", body = CatalogueBody),
        AuthErrors,
        QueryErrors,
    )
)]
async fn event_types(Auth(_who): Auth, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    Query::parse(q.as_deref(), &[])?;
    // Rendered when the router was built.
    let body = crate::doc::EVENT_TYPES.get().map_or("{\"data\": []}", String::as_str);
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A page of events.
type EventList = crate::dto::ListSchema<EventBody>;

/// Lists the project's events, newest first: those of the last `TENGINE_RETENTION_DAYS`
/// (30 by default) and any older ones a delivery still waits on. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/events",
    operation_id = "listEvents",
    tag = "Events",
    summary = "List events",
    params(ProjectPath, EventQuery),
    responses(
        (status = 200, description = "A page of events.", body = EventList, headers(
            ("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."),
            ("X-Tengine-Retained-Since" = String, description = "RFC 3339: everything since this moment is kept (`TENGINE_RETENTION_DAYS`, 30 by default); finished deliveries and their events before it may have been purged."),
        )),
        ProjectErrors,
        QueryErrors,
    )
)]
async fn events(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(pid): Ids<ProjectId>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["page", "per_page", "starting_after", "ending_before", "type"])?;
    let page = q.cursor_page()?;
    let kind = match q.get("type") {
        None => None,
        Some(raw) => Some(raw.parse::<EventType>().map_err(|()| {
            ApiError::from(tengine_domain::ValidationError::from(
                FieldError::new("type", "unknown event type").with_value(raw.chars().take(64).collect::<String>()),
            ))
        })?),
    };
    let filter = kind.map(|k| format!("&type={}", k.as_str())).unwrap_or_default();
    let list = s.tengine.list_events(&who, pid, kind, page).await?;
    let mut response = keyset_response(list, |e| e.id.to_string(), EventBody::from, uri.path(), &filter);
    super::retained_since(&mut response, &s.tengine);
    Ok(response)
}
