//! `/projects/{id}/api-keys` and below.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tengine_application::{ApiKeyPatch, NewApiKey};
use tengine_domain::{time, ApiKeyId, ApiKeyName, FieldError, PermissionSet, Validator};

use super::{list_response, path_id, project_id};
use crate::dto::{double_option, ApiKeyBody};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Auth, OptionalJson, Query};
use crate::state::AppState;

/// The API key routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{project_id}/api-keys", get(list).post(create))
        .route("/projects/{project_id}/api-keys/{key_id}", get(show).patch(update).delete(revoke))
        .route("/projects/{project_id}/api-keys/{key_id}/rotate", post(rotate))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    permissions: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "double_option")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    permissions: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    expires_at: Option<Option<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    grace_period_seconds: Option<i64>,
}

/// Parses an expiry; a past one is reported here too, so it is listed with the other
/// invalid fields (the application checks it again against the caller's own expiry).
fn parse_expiry(v: &mut Validator, raw: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let Some(at) = time::parse(raw).map(time::truncate_micros) else {
        let value: String = raw.chars().take(64).collect();
        v.push(
            FieldError::new("expires_at", "must be an RFC 3339 timestamp, e.g. 2030-12-31T23:59:59Z").with_value(value),
        );
        return None;
    };
    if at <= chrono::Utc::now() {
        v.check::<()>(Err(tengine_domain::principal::past_expiry(at)));
        return None;
    }
    Some(at)
}

fn required_null(v: &mut Validator, field: &str) {
    v.push(FieldError::new(field, "must not be null"));
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
    let keys = s.tengine.list_api_keys(&who, pid, page).await?.map(ApiKeyBody::new);
    Ok(list_response(keys, uri.path()))
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
    let name = v.check(body.name.parse::<ApiKeyName>());
    let permissions = v.check(PermissionSet::parse_list("permissions", &body.permissions));
    let expires_at = body.expires_at.as_deref().map(|raw| parse_expiry(&mut v, raw));
    v.finish()?;
    let (Some(name), Some(permissions)) = (name, permissions) else { return Err(ApiError::internal()) };
    let new = NewApiKey { name, permissions, expires_at: expires_at.flatten() };
    let (key, secret) = s.tengine.create_api_key(&who, pid, new).await?;
    let location = format!("{}/{}", uri.path().trim_end_matches('/'), key.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ApiKeyBody::with_secret(key, &secret)))
        .into_response())
}

async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, kid)): ApiPath<(String, String)>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let pid = project_id(&pid)?;
    let kid: ApiKeyId = path_id(&kid, ApiKeyId::KIND)?;
    Ok(Json(ApiKeyBody::new(s.tengine.get_api_key(&who, pid, kid).await?)))
}

async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, kid)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let pid = project_id(&pid)?;
    let kid: ApiKeyId = path_id(&kid, ApiKeyId::KIND)?;
    let mut v = Validator::new();
    let mut patch = ApiKeyPatch::default();
    match body.name {
        None => {}
        Some(None) => required_null(&mut v, "name"),
        Some(Some(n)) => patch.name = v.check(n.parse::<ApiKeyName>()),
    }
    match body.permissions {
        None => {}
        Some(None) => required_null(&mut v, "permissions"),
        Some(Some(p)) => patch.permissions = v.check(PermissionSet::parse_list("permissions", &p)),
    }
    match body.expires_at {
        None => {}
        Some(None) => patch.expires_at = Some(None),
        Some(Some(raw)) => patch.expires_at = parse_expiry(&mut v, &raw).map(Some),
    }
    v.finish()?;
    Ok(Json(ApiKeyBody::new(s.tengine.update_api_key(&who, pid, kid, patch).await?)))
}

async fn revoke(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, kid)): ApiPath<(String, String)>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let pid = project_id(&pid)?;
    let kid: ApiKeyId = path_id(&kid, ApiKeyId::KIND)?;
    Ok(Json(ApiKeyBody::new(s.tengine.revoke_api_key(&who, pid, kid).await?)))
}

async fn rotate(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, kid)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<RotateBody>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let pid = project_id(&pid)?;
    let kid: ApiKeyId = path_id(&kid, ApiKeyId::KIND)?;
    let grace = tengine_domain::api_key::grace_period(body.and_then(|b| b.grace_period_seconds).unwrap_or(0))?;
    let (key, secret) = s.tengine.rotate_api_key(&who, pid, kid, grace).await?;
    Ok(Json(ApiKeyBody::with_secret(key, &secret)))
}
