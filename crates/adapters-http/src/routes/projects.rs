//! `/projects` and `/projects/{id}`.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tengine_application::NewProject;
use tengine_domain::{ProjectDescription, ProjectName, ProjectPatch, Validator};

use super::{list_response, project_id};
use crate::dto::{double_option, ProjectBody};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Auth, Query};
use crate::state::AppState;

/// The project routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list).post(create))
        .route("/projects/{project_id}", get(show).patch(update).delete(destroy))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "double_option")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
}

async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let projects = s.tengine.list_projects(&who, page).await?.map(ProjectBody::from);
    Ok(list_response(projects, uri.path()))
}

async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    uri: OriginalUri,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let mut v = Validator::new();
    let name = v.check(body.name.parse::<ProjectName>());
    let description = body.description.map(|d| v.check(d.parse::<ProjectDescription>()));
    v.finish()?;
    let (Some(name), description) = (name, description.flatten()) else { return Err(ApiError::internal()) };
    let project = s.tengine.create_project(&who, NewProject { name, description }).await?;
    let location = format!("{}/{}", uri.path().trim_end_matches('/'), project.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ProjectBody::from(project))).into_response())
}

async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ProjectBody>, ApiError> {
    let project = s.tengine.get_project(&who, project_id(&id)?).await?;
    Ok(Json(project.into()))
}

async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<ProjectBody>, ApiError> {
    let id = project_id(&id)?;
    let mut v = Validator::new();
    let name = match body.name {
        None => None,
        Some(None) => {
            v.push(tengine_domain::FieldError::new("name", "must not be null"));
            None
        }
        Some(Some(n)) => v.check(n.parse::<ProjectName>()),
    };
    let description = match body.description {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) => v.check(d.parse::<ProjectDescription>()).map(Some),
    };
    v.finish()?;
    let project = s.tengine.update_project(&who, id, ProjectPatch { name, description }).await?;
    Ok(Json(project.into()))
}

async fn destroy(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.tengine.delete_project(&who, project_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
