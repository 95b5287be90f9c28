//! `/projects/{id}/webhooks` and below, and the project event log.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tengine_application::{NewWebhook, WebhookPatch};
use tengine_domain::delivery::{parse_description, Delivery, EventFilter, Webhook, WebhookUrl};
use tengine_domain::webhook::WebhookSecret;
use tengine_domain::{time, DeliveryId, Event, EventType, FieldError, Validator, WebhookId};

use super::{list_response, path_id, project_id};
use crate::dto::double_option;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Auth, OptionalJson, Query};
use crate::state::AppState;

/// The webhook and event-log routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{project_id}/webhooks", get(list).post(create))
        .route("/projects/{project_id}/webhooks/{webhook_id}", get(show).patch(update).delete(destroy))
        .route("/projects/{project_id}/webhooks/{webhook_id}/rotate-secret", post(rotate_secret))
        .route("/projects/{project_id}/webhooks/{webhook_id}/test", post(test))
        .route("/projects/{project_id}/webhooks/{webhook_id}/deliveries", get(deliveries))
        .route("/projects/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", post(redeliver))
        .route("/projects/{project_id}/events", get(events))
}

/// A webhook as the API shows it; `secret` only on create and rotate-secret.
#[derive(Serialize)]
pub struct WebhookBody {
    id: String,
    project_id: String,
    url: String,
    description: Option<String>,
    events: Vec<&'static str>,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    created_at: String,
    updated_at: String,
}

impl WebhookBody {
    fn new(w: Webhook, secret: Option<&WebhookSecret>) -> Self {
        Self {
            id: w.id.to_string(),
            project_id: w.project_id.to_string(),
            url: w.url.as_str().to_owned(),
            description: w.description,
            events: w.events.names(),
            active: w.active,
            secret: secret.map(|s| s.expose_secret().to_owned()),
            created_at: time::format(w.created_at),
            updated_at: time::format(w.updated_at),
        }
    }
}

#[derive(Serialize)]
struct AttemptBody {
    attempted_at: String,
    status_code: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
    response_excerpt: Option<String>,
}

/// A delivery with its attempts.
#[derive(Serialize)]
pub struct DeliveryBody {
    id: String,
    event_id: String,
    event_type: &'static str,
    status: &'static str,
    attempts: Vec<AttemptBody>,
    next_attempt_at: Option<String>,
    created_at: String,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.as_str(),
            status: d.status.as_str(),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptBody {
                    attempted_at: time::format(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error,
                    response_excerpt: a.response_excerpt,
                })
                .collect(),
            next_attempt_at: d.next_attempt_at.map(time::format),
            created_at: time::format(d.created_at),
        }
    }
}

/// An event of the log, in the delivery envelope's shape.
#[derive(Serialize)]
pub struct EventBody {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    data: Value,
    created_at: String,
    api_version: &'static str,
}

impl From<Event> for EventBody {
    fn from(e: Event) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.event_type.as_str(),
            data: e.data,
            created_at: time::format(e.created_at),
            api_version: tengine_application::delivery::API_VERSION,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    events: Vec<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "double_option")]
    url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    events: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    active: Option<Option<bool>>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    secret: Option<String>,
}

fn not_null<T>(v: &mut Validator, field: &str, value: Option<Option<T>>) -> Option<T> {
    match value {
        Some(None) => {
            v.push(FieldError::new(field, "must not be null"));
            None
        }
        Some(Some(x)) => Some(x),
        None => None,
    }
}

fn ids(pid: &str, wid: &str) -> Result<(tengine_domain::ProjectId, WebhookId), ApiError> {
    Ok((project_id(pid)?, path_id(wid, WebhookId::KIND)?))
}

async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(pid): ApiPath<String>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pid = project_id(&pid)?;
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let hooks = s.tengine.list_webhooks(&who, pid, page).await?.map(|w| WebhookBody::new(w, None));
    Ok(list_response(hooks, uri.path()))
}

async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(pid): ApiPath<String>,
    uri: OriginalUri,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let pid = project_id(&pid)?;
    let mut v = Validator::new();
    let url = v.check(body.url.parse::<WebhookUrl>());
    let events = v.check(EventFilter::parse_list(&body.events));
    let secret = body.secret.map(|s| v.check(s.parse::<WebhookSecret>()));
    let description = body.description.map(|d| v.check(parse_description(&d)));
    v.finish()?;
    let (Some(url), Some(events)) = (url, events) else { return Err(ApiError::internal()) };
    let new = NewWebhook { url, events, secret: secret.flatten(), description: description.flatten() };
    let (webhook, secret) = s.tengine.create_webhook(&who, pid, new).await?;
    let location = format!("{}/{}", uri.path().trim_end_matches('/'), webhook.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(WebhookBody::new(webhook, Some(&secret))))
        .into_response())
}

async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<Json<WebhookBody>, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    Ok(Json(WebhookBody::new(s.tengine.get_webhook(&who, pid, wid).await?, None)))
}

async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<WebhookBody>, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let mut v = Validator::new();
    let mut patch = WebhookPatch::default();
    if let Some(url) = not_null(&mut v, "url", body.url) {
        patch.url = v.check(url.parse::<WebhookUrl>());
    }
    if let Some(events) = not_null(&mut v, "events", body.events) {
        patch.events = v.check(EventFilter::parse_list(&events));
    }
    patch.active = not_null(&mut v, "active", body.active);
    match body.description {
        None => {}
        Some(None) => patch.description = Some(None),
        Some(Some(d)) => patch.description = v.check(parse_description(&d)).map(Some),
    }
    v.finish()?;
    Ok(Json(WebhookBody::new(s.tengine.update_webhook(&who, pid, wid, patch).await?, None)))
}

async fn destroy(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    s.tengine.delete_webhook(&who, pid, wid).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_secret(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<RotateBody>,
) -> Result<Json<WebhookBody>, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let secret = match body.and_then(|b| b.secret) {
        None => None,
        Some(raw) => Some(raw.parse::<WebhookSecret>()?),
    };
    let (webhook, secret) = s.tengine.rotate_webhook_secret(&who, pid, wid, secret).await?;
    Ok(Json(WebhookBody::new(webhook, Some(&secret))))
}

#[derive(Serialize)]
struct TestBody {
    event_id: String,
    delivery_id: String,
    status: &'static str,
}

async fn test(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<TestBody>), ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let (event, delivery) = s.tengine.test_webhook(&who, pid, wid).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TestBody { event_id: event.id.to_string(), delivery_id: delivery.to_string(), status: "pending" }),
    ))
}

async fn deliveries(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let list = s.tengine.list_deliveries(&who, pid, wid, page).await?.map(DeliveryBody::from);
    Ok(list_response(list, uri.path()))
}

async fn redeliver(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid, did)): ApiPath<(String, String, String)>,
) -> Result<(StatusCode, Json<DeliveryBody>), ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let did: DeliveryId = path_id(&did, DeliveryId::KIND)?;
    let delivery = s.tengine.redeliver(&who, pid, wid, did).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

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
