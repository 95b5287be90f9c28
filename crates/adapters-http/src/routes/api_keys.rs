//! `/projects/{id}/api-keys` and below.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tengine_application::{ApiKeyPatch, Guarded, NewApiKey};
use tengine_domain::ProjectId;
use tengine_domain::{time, ApiKeyId, ApiKeyName, CollectFields, FieldError, PermissionSet, ValidationError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::keyset_response;
use crate::doc::params::{ApiKeyPath, KeysetQuery, ProjectPath};
use crate::doc::responses::{BodyErrors, ProjectErrors, QueryErrors, ResourceErrors};
use crate::doc::schemas::PermissionName;
use crate::dto::{ApiKeyBody, Patch};
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Ids, OptionalJson, Query, CURSOR_PARAMS};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The API key routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update, revoke)).routes(routes!(rotate))
}

/// A new project-scoped key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = CreateApiKeyRequest,
    example = json!({"name": "Production Key", "permissions": ["read", "write"], "expires_at": "2030-12-31T23:59:59Z"})
)]
struct CreateBody {
    /// 1..=100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// A non-empty set, without duplicates, of permissions the creating key holds itself.
    #[schema(value_type = Vec<PermissionName>, min_items = 1)]
    permissions: Vec<String>,
    /// A future time, no later than the creating key's own expiry; when omitted (or null)
    /// the key inherits the creating key's expiry.
    #[serde(default)]
    #[schema(format = DateTime)]
    expires_at: Option<String>,
}

/// Changes to a key: an absent field is left unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateApiKeyRequest, example = json!({"name": "Renamed Key", "expires_at": null}))]
struct PatchBody {
    /// A new name; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    name: Patch<String>,
    /// A new permission set, under the same rules as at creation; `null` is refused.
    #[serde(default)]
    #[schema(value_type = Vec<PermissionName>, min_items = 1)]
    permissions: Patch<Vec<String>>,
    /// A new future expiry, or `null` to clear it (refused when the calling key itself expires).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Patch<String>,
}

/// Rotation options; the whole body may be omitted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RotateApiKeyRequest, example = json!({"grace_period_seconds": 3600}))]
struct RotateBody {
    /// How long the old secret keeps working, in seconds.
    #[serde(default, deserialize_with = "crate::dto::optional_integer")]
    #[schema(minimum = 0, maximum = 604_800, default = 0)]
    grace_period_seconds: Option<i64>,
}

/// A page of keys.
type ApiKeyList = crate::dto::ListSchema<ApiKeyBody>;

/// Parses an expiry; a past one is reported here too, so it is listed with the other
/// invalid fields (the application checks it again against the caller's own expiry).
fn parse_expiry(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ValidationError> {
    let Some(at) = time::parse(raw).map(time::truncate_micros) else {
        let value: String = raw.chars().take(64).collect();
        let reason = "must be an RFC 3339 timestamp, e.g. 2030-12-31T23:59:59Z";
        return Err(FieldError::new("expires_at", reason).with_value(value).into());
    };
    if at <= now {
        return Err(tengine_domain::principal::past_expiry(at));
    }
    Ok(at)
}

impl CreateBody {
    /// The command, read at `now` (an expiry must be in the future), with every field error.
    fn parse(self, now: DateTime<Utc>) -> Result<NewApiKey, ValidationError> {
        let b = self;
        let expires_at = b.expires_at.map(|raw| parse_expiry(&raw, now)).transpose();
        let permissions = PermissionSet::parse_list("permissions", &b.permissions);
        let (name, permissions, expires_at) =
            (b.name.parse::<ApiKeyName>(), permissions, expires_at).collect_fields()?;
        Ok(NewApiKey { name, permissions, expires_at })
    }
}

impl PatchBody {
    /// The patch, read at `now`, with every field error.
    fn parse(self, now: DateTime<Utc>) -> Result<ApiKeyPatch, ValidationError> {
        let b = self;
        let name = b.name.required("name", |n| n.parse::<ApiKeyName>());
        let permissions = b.permissions.required("permissions", |p| PermissionSet::parse_list("permissions", &p));
        let expires_at = b.expires_at.nullable(|raw| parse_expiry(&raw, now));
        let (name, permissions, expires_at) = (name, permissions, expires_at).collect_fields()?;
        Ok(ApiKeyPatch { name, permissions, expires_at })
    }
}

/// Lists a project's keys (metadata only, revoked ones included), newest first. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/api-keys",
    operation_id = "listApiKeys",
    tag = "API keys",
    summary = "List API keys",
    params(ProjectPath, KeysetQuery),
    responses(
        (status = 200, description = "A page of keys.", body = ApiKeyList,
            headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
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
    let keys = s.tengine.list_api_keys(&who, pid, page).await?;
    Ok(keyset_response(keys, |k| k.id.to_string(), ApiKeyBody::new, uri.path(), ""))
}

/// Creates a key scoped to the project. Needs `admin`; a key may grant only what it
/// holds, with an expiry no later than its own. The response is the only time `key` is shown.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/api-keys",
    operation_id = "createApiKey",
    tag = "API keys",
    summary = "Create an API key",
    params(ProjectPath),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The created key, with its secret `key`.", body = ApiKeyBody,
            headers(("Location" = String, description = "The new key's path, `/api/v1/projects/{project_id}/api-keys/{id}`."))),
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
    let new = body.parse(s.tengine.now())?;
    let op = Guarded::CreateApiKey { project: pid, permissions: new.permissions, expires_at: new.expires_at };
    idempotency
        .run(&s, &who, op, async {
            let (key, secret) = s.tengine.create_api_key(&who, pid, new).await?;
            let location = format!("{}/{}", uri.path().trim_end_matches('/'), key.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ApiKeyBody::with_secret(key, &secret)))
                .into_response())
        })
        .await
}

/// Gets a key's metadata (never its secret). Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/api-keys/{key_id}",
    operation_id = "getApiKey",
    tag = "API keys",
    summary = "Get an API key",
    params(ApiKeyPath),
    responses(
        (status = 200, description = "The key, without `key`.", body = ApiKeyBody),
        ResourceErrors,
    )
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, kid)): Ids<(ProjectId, ApiKeyId)>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    Ok(Json(ApiKeyBody::new(s.tengine.get_api_key(&who, pid, kid).await?)))
}

/// Changes a key's name, permissions or expiry. Needs `admin`.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{project_id}/api-keys/{key_id}",
    operation_id = "updateApiKey",
    tag = "API keys",
    summary = "Update an API key",
    params(ApiKeyPath),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The updated key, without `key`.", body = ApiKeyBody),
        ResourceErrors,
        BodyErrors,
    )
)]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, kid)): Ids<(ProjectId, ApiKeyId)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let patch = body.parse(s.tengine.now())?;
    Ok(Json(ApiKeyBody::new(s.tengine.update_api_key(&who, pid, kid, patch).await?)))
}

/// Revokes a key at once; it stays listed with `revoked_at`. Needs `admin`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/api-keys/{key_id}",
    operation_id = "revokeApiKey",
    tag = "API keys",
    summary = "Revoke an API key",
    params(ApiKeyPath),
    responses(
        (status = 200, description = "The revoked key, with `revoked_at` set and without `key`.", body = ApiKeyBody),
        ResourceErrors,
    )
)]
async fn revoke(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, kid)): Ids<(ProjectId, ApiKeyId)>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    Ok(Json(ApiKeyBody::new(s.tengine.revoke_api_key(&who, pid, kid).await?)))
}

/// Issues a new secret for the same key record; the old one keeps working for
/// `grace_period_seconds`. Needs `admin`. The body may be empty.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/api-keys/{key_id}/rotate",
    operation_id = "rotateApiKey",
    tag = "API keys",
    summary = "Rotate an API key",
    params(ApiKeyPath),
    request_body(content = Option<RotateBody>, description = "Optional; an empty body means a grace period of 0."),
    responses(
        (status = 200, description = "The key, with its new secret `key`.", body = ApiKeyBody),
        ResourceErrors,
        BodyErrors,
    )
)]
async fn rotate(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    Ids((pid, kid)): Ids<(ProjectId, ApiKeyId)>,
    OptionalJson(body): OptionalJson<RotateBody>,
) -> Result<Response, ApiError> {
    let grace = tengine_domain::api_key::grace_period(body.and_then(|b| b.grace_period_seconds).unwrap_or(0))?;
    idempotency
        .run(&s, &who, Guarded::RotateApiKey { project: pid, key: kid }, async {
            let (key, secret) = s.tengine.rotate_api_key(&who, pid, kid, grace).await?;
            Ok(Json(ApiKeyBody::with_secret(key, &secret)).into_response())
        })
        .await
}
