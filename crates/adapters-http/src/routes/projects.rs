//! `/projects` and `/projects/{id}`.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tengine_application::{Guarded, NewProject};
use tengine_domain::ProjectId;
use tengine_domain::{CollectFields, ProjectDescription, ProjectName, ProjectPatch, ValidationError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::keyset_response;
use crate::doc::params::{KeysetQuery, ProjectPath};
use crate::doc::responses::{AuthErrors, BodyErrors, ProjectErrors, QueryErrors};
use crate::dto::{Patch, ProjectBody};
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Ids, Query, CURSOR_PARAMS};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The project routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update, destroy))
}

/// A new project.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateProjectRequest, example = json!({"name": "New Project", "description": "Project description"}))]
struct CreateBody {
    /// 1..=100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// At most 1000 characters after trimming; may be null.
    #[serde(default)]
    #[schema(max_length = 1000)]
    description: Option<String>,
}

/// Changes to a project: an absent field is left unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateProjectRequest, example = json!({"description": null}))]
struct PatchBody {
    /// A new name (1..=100 characters after trimming); `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    name: Patch<String>,
    /// A new description (at most 1000 characters), or `null` to clear it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1000)]
    description: Patch<String>,
}

impl TryFrom<CreateBody> for NewProject {
    type Error = ValidationError;

    fn try_from(b: CreateBody) -> Result<Self, ValidationError> {
        let description = b.description.map(|d| d.parse::<ProjectDescription>()).transpose();
        let (name, description) = (b.name.parse::<ProjectName>(), description).collect_fields()?;
        Ok(NewProject { name, description })
    }
}

impl TryFrom<PatchBody> for ProjectPatch {
    type Error = ValidationError;

    fn try_from(b: PatchBody) -> Result<Self, ValidationError> {
        let name = b.name.required("name", |n| n.parse::<ProjectName>());
        let description = b.description.nullable(|d| d.parse::<ProjectDescription>());
        let (name, description) = (name, description).collect_fields()?;
        Ok(ProjectPatch { name, description })
    }
}

/// A page of projects.
type ProjectList = crate::dto::ListSchema<ProjectBody>;

/// Lists the projects the key can see (a project-scoped key sees only its own), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    operation_id = "listProjects",
    tag = "Projects",
    summary = "List projects",
    params(KeysetQuery),
    responses(
        (status = 200, description = "A page of projects.", body = ProjectList,
            headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        AuthErrors,
        QueryErrors,
    )
)]
async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let page = Query::parse(q.as_deref(), &CURSOR_PARAMS)?.cursor_page()?;
    let projects = s.tengine.list_projects(&who, page).await?;
    Ok(keyset_response(projects, |p| p.id.to_string(), ProjectBody::from, uri.path(), ""))
}

/// Creates a project. Needs `write` and an account-wide key.
#[utoipa::path(
    post,
    path = "/api/v1/projects",
    operation_id = "createProject",
    tag = "Projects",
    summary = "Create a project",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The created project.", body = ProjectBody,
            headers(("Location" = String, description = "The new project's path, `/api/v1/projects/{id}`."))),
        AuthErrors,
        BodyErrors,
    )
)]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    uri: OriginalUri,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let new = NewProject::try_from(body)?;
    idempotency
        .run(&s, &who, Guarded::CreateProject, async {
            let project = s.tengine.create_project(&who, new).await?;
            let location = format!("{}/{}", uri.path().trim_end_matches('/'), project.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ProjectBody::from(project))).into_response())
        })
        .await
}

/// Gets a project. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}",
    operation_id = "getProject",
    tag = "Projects",
    summary = "Get a project",
    params(ProjectPath),
    responses(
        (status = 200, description = "The project.", body = ProjectBody),
        ProjectErrors,
    )
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(id): Ids<ProjectId>,
) -> Result<Json<ProjectBody>, ApiError> {
    let project = s.tengine.get_project(&who, id).await?;
    Ok(Json(project.into()))
}

/// Changes a project's name or description. Needs `write`.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{project_id}",
    operation_id = "updateProject",
    tag = "Projects",
    summary = "Update a project",
    params(ProjectPath),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The updated project.", body = ProjectBody),
        ProjectErrors,
        BodyErrors,
    )
)]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(id): Ids<ProjectId>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<ProjectBody>, ApiError> {
    let patch = ProjectPatch::try_from(body)?;
    let project = s.tengine.update_project(&who, id, patch).await?;
    Ok(Json(project.into()))
}

/// Soft-deletes a project: it, its keys and its webhooks stop working at once;
/// `project.deleted` is still delivered to its webhooks. Needs `admin`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}",
    operation_id = "deleteProject",
    tag = "Projects",
    summary = "Delete a project",
    params(ProjectPath),
    responses(
        (status = 204, description = "Deleted; no body."),
        ProjectErrors,
    )
)]
async fn destroy(State(s): State<AppState>, Auth(who): Auth, Ids(id): Ids<ProjectId>) -> Result<StatusCode, ApiError> {
    s.tengine.delete_project(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
