//! `/projects/{id}/webhooks` and below (deliveries are in `deliveries.rs`).

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tengine_application::{Guarded, NewWebhook, WebhookPatch};
use tengine_domain::delivery::{parse_description, parse_rate_limit, DeliveryOrder, EventFilter, WebhookUrl};
use tengine_domain::webhook::WebhookSecret;
use tengine_domain::ProjectId;
use tengine_domain::{CollectFields, ValidationError, WebhookId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::keyset_response;
use crate::doc::params::{KeysetQuery, ProjectPath, WebhookPath};
use crate::doc::responses::{BodyErrors, ProjectErrors, QueryErrors, ResourceErrors};
use crate::doc::schemas::EventSubscription;
use crate::dto::{Patch, TestBody, WebhookBody, WebhookHealthBody};
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Ids, OptionalJson, Query, CURSOR_PARAMS};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The webhook routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, destroy))
        .routes(routes!(rotate_secret))
        .routes(routes!(test))
        .routes(routes!(recover))
        .routes(routes!(health))
}

/// A webhook's health: its attempts over the last 24 hours (success rate, mean latency),
/// its newest delivery with its attempts, and why and when it was switched off. Reads
/// hourly rollups, so its cost does not grow with the webhook's traffic. Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}/health",
    operation_id = "getWebhookHealth",
    tag = "Webhooks",
    summary = "Get a webhook's health",
    params(WebhookPath),
    responses(
        (status = 200, description = "The webhook's health.", body = WebhookHealthBody),
        ResourceErrors,
    )
)]
async fn health(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
) -> Result<Json<WebhookHealthBody>, ApiError> {
    Ok(Json(s.tengine.webhook_health(&who, pid, wid).await?.into()))
}

/// The window of failed deliveries to re-send.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RecoverWebhookRequest, example = json!({"since": "2026-11-28T00:00:00Z"}))]
struct RecoverBody {
    /// Re-send deliveries created at or after this instant (RFC 3339).
    #[schema(format = DateTime)]
    since: String,
    /// ... and before this one (default now).
    #[serde(default)]
    #[schema(format = DateTime)]
    until: Option<String>,
}

/// What a recovery did.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = WebhookRecovery)]
struct RecoveryBody {
    /// Failed deliveries re-sent, each once, as new deliveries.
    recovered: u64,
    /// More failed deliveries remain in the window (at most 1,000 per call): call again.
    has_more: bool,
}

/// Re-sends every delivery of this webhook that ended `failed` in `[since, until)`, each
/// once however often this is called, as new deliveries (for when a receiver was down
/// for a while). At most 1,000 per call; `has_more` says to call again. Needs `webhook`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}/recover",
    operation_id = "recoverWebhookDeliveries",
    tag = "Webhooks",
    summary = "Recover failed deliveries",
    params(WebhookPath),
    request_body = RecoverBody,
    responses(
        (status = 202, description = "The failed deliveries were queued again.", body = RecoveryBody),
        ResourceErrors,
        BodyErrors,
    )
)]
async fn recover(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
    ApiJson(body): ApiJson<RecoverBody>,
) -> Result<Response, ApiError> {
    let instant = |field: &str, raw: &str| {
        tengine_domain::time::parse(raw).ok_or_else(|| {
            ValidationError::from(
                tengine_domain::FieldError::new(field, "must be an RFC 3339 date-time")
                    .with_value(raw.chars().take(64).collect::<String>()),
            )
        })
    };
    let since = instant("since", &body.since)?;
    let until = body.until.as_deref().map(|u| instant("until", u)).transpose()?;
    idempotency
        .run(&s, &who, Guarded::Webhooks { project: pid }, async {
            let r = s.tengine.recover_deliveries(&who, pid, wid, since, until).await?;
            let body = RecoveryBody { recovered: r.recovered, has_more: r.has_more };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        })
        .await
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
    /// At most this many deliveries per second (1 to 10,000), for receivers that cannot
    /// take bursts: deliveries wait their turn, they never fail for it. Null or absent:
    /// no limit.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000)]
    rate_limit: Option<i64>,
    /// `per_project`: deliveries go one at a time in creation order, the next waiting
    /// until the one before it succeeded or failed for good; `none` (the default): as
    /// they come, many at once.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(none|per_project)$")]
    ordering: Option<String>,
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
    /// A new throttle in deliveries per second (1 to 10,000), or `null` to lift it.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    rate_limit: Patch<i64>,
    /// `none` or `per_project`; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, pattern = "^(none|per_project)$")]
    ordering: Patch<String>,
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
        let rate_limit = b.rate_limit.map(parse_rate_limit).transpose();
        let ordering = b.ordering.as_deref().map_or(Ok(DeliveryOrder::default()), str::parse);
        let (url, events, secret, description, rate_limit, ordering) = (
            b.url.parse::<WebhookUrl>(),
            EventFilter::parse_list(&b.events),
            secret,
            description,
            rate_limit,
            ordering,
        )
            .collect_fields()?;
        Ok(NewWebhook { url, events, secret, description, rate_limit, ordering })
    }
}

impl TryFrom<PatchBody> for WebhookPatch {
    type Error = ValidationError;

    fn try_from(b: PatchBody) -> Result<Self, ValidationError> {
        let url = b.url.required("url", |u| u.parse::<WebhookUrl>());
        let events = b.events.required("events", |e| EventFilter::parse_list(&e));
        let active = b.active.required("active", Ok);
        let description = b.description.nullable(|d| parse_description(&d));
        let rate_limit = b.rate_limit.nullable(parse_rate_limit);
        let ordering = b.ordering.required("ordering", |o| o.parse::<DeliveryOrder>());
        let (url, events, active, description, rate_limit, ordering) =
            (url, events, active, description, rate_limit, ordering).collect_fields()?;
        Ok(WebhookPatch { url, events, active, description, rate_limit, ordering })
    }
}

/// Lists a project's webhooks, newest first. Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/webhooks",
    operation_id = "listWebhooks",
    tag = "Webhooks",
    summary = "List webhooks",
    params(ProjectPath, KeysetQuery),
    responses(
        (status = 200, description = "A page of webhooks (without secrets).", body = WebhookList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
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
    let page = Query::parse(q.as_deref(), &CURSOR_PARAMS)?.cursor_page()?;
    let hooks = s.tengine.list_webhooks(&who, pid, page).await?;
    Ok(keyset_response(hooks, |w| w.id.to_string(), |w| WebhookBody::new(w, None), uri.path(), ""))
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
    Ids(pid): Ids<ProjectId>,
    uri: OriginalUri,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
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
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
) -> Result<Json<WebhookBody>, ApiError> {
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
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<WebhookBody>, ApiError> {
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
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
) -> Result<StatusCode, ApiError> {
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
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
    OptionalJson(body): OptionalJson<RotateBody>,
) -> Result<Response, ApiError> {
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
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
) -> Result<Response, ApiError> {
    idempotency
        .run(&s, &who, Guarded::Webhooks { project: pid }, async {
            let (event, delivery) = s.tengine.test_webhook(&who, pid, wid).await?;
            let body =
                TestBody { event_id: event.id.to_string(), delivery_id: delivery.to_string(), status: "pending" };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        })
        .await
}
