//! `/projects/{id}/webhooks` and below (deliveries are in `deliveries.rs`).

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tengine_application::{Guarded, NewWebhook, WebhookPatch};
use tengine_domain::delivery::{parse_description, EventFilter, Webhook, WebhookUrl};
use tengine_domain::webhook::WebhookSecret;
use tengine_domain::{time, CollectFields, ValidationError, WebhookId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{list_response, path_id, project_id};
use crate::doc::params::{PageQuery, ProjectPath, WebhookPath};
use crate::doc::responses::{BodyErrors, ProjectErrors, QueryErrors, ResourceErrors};
use crate::doc::schemas::{DeliveryStatusName, EventSubscription};
use crate::dto::Patch;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Auth, OptionalJson, Query};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The webhook routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, destroy))
        .routes(routes!(rotate_secret))
        .routes(routes!(test))
}

/// A webhook as the API shows it; `secret` only on create and rotate-secret.
#[derive(Serialize, ToSchema)]
#[schema(
    as = Webhook,
    example = json!({
        "id": "wh_2cqkZQ4dE6fG8hJ0kL2mN4",
        "project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "url": "https://your-app.com/webhook",
        "description": null,
        "events": ["project.created", "api_key.created"],
        "active": true,
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "created_at": "2026-11-28T12:00:00Z",
        "updated_at": "2026-11-28T12:00:00Z"
    })
)]
pub struct WebhookBody {
    /// The webhook's id.
    #[schema(pattern = r"^wh_[0-9A-Za-z]{22}$")]
    id: String,
    /// The project it belongs to.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    project_id: String,
    /// Where deliveries are POSTed: an absolute http(s) URL as it was given (it may hold
    /// characters a strict RFC 3986 URI would percent-encode).
    #[schema(max_length = 2048)]
    url: String,
    /// A description, or null.
    #[schema(max_length = 1000, required = true)]
    description: Option<String>,
    /// The subscribed event types, or `["*"]` for all.
    #[schema(value_type = EventSubscription)]
    events: Vec<&'static str>,
    /// Whether deliveries are made (set false after 5 days of failures, or a 410 answer).
    active: bool,
    /// The signing secret. Present only in the create and rotate-secret responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, min_length = 8, max_length = 256)]
    secret: Option<String>,
    /// When it was created.
    #[schema(format = DateTime)]
    created_at: String,
    /// When it was last changed.
    #[schema(format = DateTime)]
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

/// A new webhook.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = CreateWebhookRequest,
    example = json!({
        "url": "https://your-app.com/webhook",
        "events": ["project.created", "api_key.created"],
        "secret": "webhook_secret"
    })
)]
struct CreateBody {
    /// An absolute http(s) URL with a host and no credentials.
    #[schema(max_length = 2048)]
    url: String,
    /// A non-empty list of event types without duplicates, or `["*"]` for all.
    #[schema(value_type = EventSubscription)]
    events: Vec<String>,
    /// The signing secret; when omitted (or null) the server generates `whsec_` + base64
    /// of 24 random bytes and returns it in this response only.
    #[serde(default)]
    #[schema(min_length = 8, max_length = 256)]
    secret: Option<String>,
    /// At most 1000 characters after trimming; may be null.
    #[serde(default)]
    #[schema(max_length = 1000)]
    description: Option<String>,
}

/// Changes to a webhook: an absent field is left unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateWebhookRequest, example = json!({"active": false}))]
struct PatchBody {
    /// A new URL; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, max_length = 2048)]
    url: Patch<String>,
    /// A new subscription; `null` is refused.
    #[serde(default)]
    #[schema(value_type = EventSubscription)]
    events: Patch<Vec<String>>,
    /// Turns deliveries on or off; `null` is refused.
    #[serde(default)]
    #[schema(value_type = bool)]
    active: Patch<bool>,
    /// A new description, or `null` to clear it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1000)]
    description: Patch<String>,
}

/// Secret rotation options; the whole body may be omitted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RotateWebhookSecretRequest, example = json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))]
struct RotateBody {
    /// The new secret; when omitted (or null) the server generates one.
    #[serde(default)]
    #[schema(min_length = 8, max_length = 256)]
    secret: Option<String>,
}

/// A page of webhooks.
type WebhookList = crate::dto::ListSchema<WebhookBody>;

impl TryFrom<CreateBody> for NewWebhook {
    type Error = ValidationError;

    fn try_from(b: CreateBody) -> Result<Self, ValidationError> {
        let secret = b.secret.map(|s| s.parse::<WebhookSecret>()).transpose();
        let description = b.description.map(|d| parse_description(&d)).transpose();
        let (url, events, secret, description) =
            (b.url.parse::<WebhookUrl>(), EventFilter::parse_list(&b.events), secret, description).collect_fields()?;
        Ok(NewWebhook { url, events, secret, description })
    }
}

impl TryFrom<PatchBody> for WebhookPatch {
    type Error = ValidationError;

    fn try_from(b: PatchBody) -> Result<Self, ValidationError> {
        let url = b.url.required("url", |u| u.parse::<WebhookUrl>());
        let events = b.events.required("events", |e| EventFilter::parse_list(&e));
        let active = b.active.required("active", Ok);
        let description = b.description.nullable(|d| parse_description(&d));
        let (url, events, active, description) = (url, events, active, description).collect_fields()?;
        Ok(WebhookPatch { url, events, active, description })
    }
}

/// Parses a project and a webhook id from a path.
pub(super) fn ids(pid: &str, wid: &str) -> Result<(tengine_domain::ProjectId, WebhookId), ApiError> {
    Ok((project_id(pid)?, path_id(wid, WebhookId::KIND)?))
}

/// Lists a project's webhooks, newest first. Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/webhooks",
    operation_id = "listWebhooks",
    tag = "Webhooks",
    summary = "List webhooks",
    params(ProjectPath, PageQuery),
    responses(
        (status = 200, description = "A page of webhooks (without secrets).", body = WebhookList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        ProjectErrors,
        QueryErrors,
    )
)]
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

/// Creates a webhook. Needs `webhook`. The response is the only time `secret` is shown.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/webhooks",
    operation_id = "createWebhook",
    tag = "Webhooks",
    summary = "Create a webhook",
    params(ProjectPath),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The created webhook, with its `secret`.", body = WebhookBody,
            headers(("Location" = String, description = "The new webhook's path, `/api/v1/projects/{project_id}/webhooks/{id}`."))),
        ProjectErrors,
        BodyErrors,
    )
)]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    ApiPath(pid): ApiPath<String>,
    uri: OriginalUri,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let pid = project_id(&pid)?;
    let new = NewWebhook::try_from(body)?;
    idempotency
        .run(&s, &who, Guarded::Webhooks { project: pid }, async {
            let (webhook, secret) = s.tengine.create_webhook(&who, pid, new).await?;
            let location = format!("{}/{}", uri.path().trim_end_matches('/'), webhook.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(WebhookBody::new(webhook, Some(&secret))))
                .into_response())
        })
        .await
}

/// Gets a webhook (without its secret). Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}",
    operation_id = "getWebhook",
    tag = "Webhooks",
    summary = "Get a webhook",
    params(WebhookPath),
    responses(
        (status = 200, description = "The webhook, without `secret`.", body = WebhookBody),
        ResourceErrors,
    )
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<Json<WebhookBody>, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    Ok(Json(WebhookBody::new(s.tengine.get_webhook(&who, pid, wid).await?, None)))
}

/// Changes a webhook's URL, events, active flag or description. Needs `webhook`.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}",
    operation_id = "updateWebhook",
    tag = "Webhooks",
    summary = "Update a webhook",
    params(WebhookPath),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The updated webhook, without `secret`.", body = WebhookBody),
        ResourceErrors,
        BodyErrors,
    )
)]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<WebhookBody>, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let patch = WebhookPatch::try_from(body)?;
    Ok(Json(WebhookBody::new(s.tengine.update_webhook(&who, pid, wid, patch).await?, None)))
}

/// Deletes a webhook; no further deliveries are made to it. Needs `webhook`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}",
    operation_id = "deleteWebhook",
    tag = "Webhooks",
    summary = "Delete a webhook",
    params(WebhookPath),
    responses(
        (status = 204, description = "Deleted; no body."),
        ResourceErrors,
    )
)]
async fn destroy(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    s.tengine.delete_webhook(&who, pid, wid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new signing secret (given or generated). For the next 24 hours deliveries are
/// signed with both the old and the new secret. Needs `webhook`. The body may be empty.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "Webhooks",
    summary = "Rotate a webhook's secret",
    params(WebhookPath),
    request_body(content = Option<RotateBody>, description = "Optional; an empty body means a generated secret."),
    responses(
        (status = 200, description = "The webhook, with its new `secret`.", body = WebhookBody),
        ResourceErrors,
        BodyErrors,
    )
)]
async fn rotate_secret(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<RotateBody>,
) -> Result<Response, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let secret = match body.and_then(|b| b.secret) {
        None => None,
        Some(raw) => Some(raw.parse::<WebhookSecret>()?),
    };
    idempotency
        .run(&s, &who, Guarded::Webhooks { project: pid }, async {
            let (webhook, secret) = s.tengine.rotate_webhook_secret(&who, pid, wid, secret).await?;
            Ok(Json(WebhookBody::new(webhook, Some(&secret))).into_response())
        })
        .await
}

/// The test event and its queued delivery.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookTest)]
struct TestBody {
    /// The `webhook.test` event.
    #[schema(pattern = r"^evt_[0-9A-Za-z]{22}$")]
    event_id: String,
    /// Its delivery to this webhook (see `listDeliveries`).
    #[schema(pattern = r"^del_[0-9A-Za-z]{22}$")]
    delivery_id: String,
    /// Always `pending`: the delivery is sent in the background.
    #[schema(value_type = DeliveryStatusName, example = "pending")]
    status: &'static str,
}

/// Sends a `webhook.test` event to this webhook, whatever its subscription. Needs `webhook`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}/test",
    operation_id = "testWebhook",
    tag = "Webhooks",
    summary = "Send a test event",
    params(WebhookPath),
    responses(
        (status = 202, description = "The test event was queued for delivery.", body = TestBody),
        ResourceErrors,
    )
)]
async fn test(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    idempotency
        .run(&s, &who, Guarded::Webhooks { project: pid }, async {
            let (event, delivery) = s.tengine.test_webhook(&who, pid, wid).await?;
            let body =
                TestBody { event_id: event.id.to_string(), delivery_id: delivery.to_string(), status: "pending" };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        })
        .await
}
