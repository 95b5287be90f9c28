//! `GET /projects/{id}/events`: the project's event log; `GET /event-types`: what each
//! type means and the schema of its `data`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tengine_domain::{EventId, ProjectId};
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
    OpenApiRouter::new().routes(routes!(events)).routes(routes!(event_types)).routes(routes!(stream))
}

/// How often a live stream looks for new events.
const STREAM_POLL: Duration = Duration::from_millis(250);

/// How long one stream lasts before the server ends it. The client reconnects with
/// `Last-Event-ID` (an `EventSource` does by itself) and its key is checked again, so a
/// revoked key's stream ends within this.
const STREAM_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Follows the project's event log live as Server-Sent Events: one message per event,
/// its `id` the event id, its `event` the type, its `data` the envelope a webhook
/// delivery carries. Without `Last-Event-ID` the stream starts after the newest event;
/// with it, after that event (every event since is sent first). Comments keep the
/// connection alive every 15 s; the server ends a stream after 15 minutes, and the
/// client resumes with `Last-Event-ID`. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/events/stream",
    operation_id = "streamEvents",
    tag = "Events",
    summary = "Stream events (Server-Sent Events)",
    params(
        ProjectPath,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (`evt_...`): every event of the project since is sent first."),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `id: evt_...`, `event: <type>`, `data: <the event envelope as JSON>` per event.", content_type = "text/event-stream", body = String),
        ProjectErrors,
        QueryErrors,
    )
)]
async fn stream(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(pid): Ids<ProjectId>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    Query::parse(q.as_deref(), &[])?;
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(raw) => Some(raw.to_str().ok().and_then(|v| v.trim().parse::<EventId>().ok()).ok_or_else(|| {
            ApiError::from(tengine_domain::ValidationError::from(FieldError::new(
                "Last-Event-ID",
                "must be an event id (evt_...)",
            )))
        })?),
    };
    // Everything that can be refused is refused here, before the 200.
    let mut live = Live {
        tengine: s.tengine.clone(),
        who,
        project: pid,
        cursor: None,
        queue: VecDeque::new(),
        more: false,
        until: tokio::time::Instant::now() + STREAM_LIFETIME,
        gate: s.streams.clone(),
    };
    match resume {
        Some(after) => {
            let (events, more) = s.tengine.events_after(&live.who, pid, Some(after)).await?;
            live.cursor = Some(after);
            live.queue.extend(events);
            live.more = more;
        }
        None => live.cursor = s.tengine.latest_event(&live.who, pid).await?,
    }
    let events = futures::stream::unfold(live, Live::next);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// A live stream's state between messages.
struct Live {
    tengine: tengine_application::Tengine,
    who: tengine_domain::Principal,
    project: ProjectId,
    /// The last event sent (or where the stream began).
    cursor: Option<EventId>,
    /// Events read but not yet sent, oldest first.
    queue: VecDeque<tengine_domain::Event>,
    /// Whether newer events were waiting at the last read.
    more: bool,
    until: tokio::time::Instant,
    gate: crate::state::StreamGate,
}

impl Live {
    /// The next message, or `None` when the stream ends (its lifetime is over, the server
    /// is stopping, or the log can no longer be read).
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.cursor = Some(event.id);
                let message = SseEvent::default().id(event.id.to_string()).event(event.event_type.as_str());
                // An envelope of strings and a checked JSON payload always serializes.
                let body = serde_json::to_string(&EventBody::from(event)).unwrap_or_default();
                return Some((Ok(message.data(body)), self));
            }
            if !self.more {
                tokio::select! {
                    () = tokio::time::sleep_until(self.until.min(tokio::time::Instant::now() + STREAM_POLL)) => {}
                    () = self.gate.closed() => return None,
                }
            }
            if tokio::time::Instant::now() >= self.until {
                return None;
            }
            match self.tengine.events_after(&self.who, self.project, self.cursor).await {
                Ok((events, more)) => {
                    self.queue.extend(events);
                    self.more = more;
                }
                Err(e) => {
                    // The client resumes with Last-Event-ID and sees the refusal, if any.
                    tracing::info!(error = %e, project_id = %self.project, "ending an event stream");
                    return None;
                }
            }
        }
    }
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
