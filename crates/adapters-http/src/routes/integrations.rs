//! `/projects/{id}/integrations` and below: OAuth clients of a project, their
//! connections, and the project's client registration policy. Also the consent
//! endpoints the console's consent page calls (`/oauth/authorization`).

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tengine_application::{AuthorizeError, AuthorizeParams, AuthorizeRequest, Guarded};
use tengine_domain::integration::{
    scope_of, IntegrationDraft, IntegrationPatch, IntegrationPatchDraft, NewIntegration, RegistrationPolicy,
};
use tengine_domain::{ConnectionId, IntegrationId, PermissionSet, ProjectId, ValidationError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list_response;
use crate::doc::params::{AuthorizeQuery, ConnectionPath, IntegrationPath, PageQuery, ProjectPath};
use crate::doc::responses::{BodyErrors, ProjectErrors, QueryErrors, ResourceErrors};
use crate::doc::schemas::PermissionName;
use crate::dto::{ConnectionBody, IntegrationBody, Patch, RegistrationPolicyBody};
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Ids, Query};
use crate::idempotency::Idempotency;
use crate::oauth::redirect_with;
use crate::state::AppState;

/// The integration routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, destroy))
        .routes(routes!(rotate_secret))
        .routes(routes!(connections))
        .routes(routes!(disconnect))
        .routes(routes!(registration, set_registration))
        .routes(routes!(consent_request, consent))
}

/// A new integration.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = CreateIntegrationRequest,
    example = json!({
        "name": "Claude Desktop",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "permissions": ["read", "write"],
        "client_type": "public"
    })
)]
struct CreateBody {
    /// Shown on the consent page: 1 to 100 characters after trimming.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// 1 to 10 absolute URIs without fragments: `https`, loopback `http` (any port
    /// matches), or a native app's private-use scheme (`com.example.app:/cb`).
    #[schema(min_items = 1, max_items = 10)]
    redirect_uris: Vec<String>,
    /// The most the integration may ask for; the caller must hold each.
    #[schema(value_type = Vec<PermissionName>, min_items = 1)]
    permissions: Vec<String>,
    /// `public` (no secret, PKCE only) or `confidential` (default: gets a `client_secret`).
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(public|confidential)$")]
    client_type: Option<String>,
}

/// Changes to an integration: an absent field is left unchanged. Narrowing
/// `permissions` narrows every connection too.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateIntegrationRequest, example = json!({"permissions": ["read"]}))]
struct PatchBody {
    /// A new name; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    name: Patch<String>,
    /// New redirect URIs, replacing the old; `null` is refused.
    #[serde(default)]
    #[schema(value_type = Vec<String>, min_items = 1, max_items = 10)]
    redirect_uris: Patch<Vec<String>>,
    /// New permissions; `null` is refused.
    #[serde(default)]
    #[schema(value_type = Vec<PermissionName>, min_items = 1)]
    permissions: Patch<Vec<String>>,
}

/// The client registration policy to set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetClientRegistrationRequest, example = json!({"enabled": true, "permissions": ["read", "write"]}))]
struct RegistrationBody {
    /// Whether clients may register themselves (RFC 7591).
    enabled: bool,
    /// The most a registered client may ask for (default read and write).
    #[serde(default)]
    #[schema(value_type = Option<Vec<PermissionName>>, min_items = 1)]
    permissions: Option<Vec<String>>,
}

/// A page of integrations.
type IntegrationList = crate::dto::ListSchema<IntegrationBody>;
/// A page of connections.
type ConnectionList = crate::dto::ListSchema<ConnectionBody>;

fn patch(b: PatchBody) -> Result<IntegrationPatch, ValidationError> {
    use tengine_domain::CollectFields;
    let (name, redirect_uris, permissions) = (
        b.name.required("name", Ok),
        b.redirect_uris.required("redirect_uris", Ok),
        b.permissions.required("permissions", Ok),
    )
        .collect_fields()?;
    IntegrationPatch::parse(IntegrationPatchDraft { name, redirect_uris, permissions })
}

/// Lists a project's integrations, newest first. Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/integrations",
    operation_id = "listIntegrations",
    tag = "Integrations",
    summary = "List integrations",
    params(ProjectPath, PageQuery),
    responses(
        (status = 200, description = "A page of integrations (without secrets).", body = IntegrationList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
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
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let items = s.tengine.list_integrations(&who, pid, page).await?.map(|i| IntegrationBody::new(i, None));
    Ok(list_response(items, uri.path()))
}

/// Creates an integration. Needs `webhook` and every permission it may ask for. A
/// confidential client's `client_secret` is shown in this response only.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/integrations",
    operation_id = "createIntegration",
    tag = "Integrations",
    summary = "Create an integration",
    params(ProjectPath),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The created integration, with `client_secret` for a confidential client.", body = IntegrationBody,
            headers(("Location" = String, description = "The new integration's path."))),
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
    let new = NewIntegration::parse(IntegrationDraft {
        name: body.name,
        redirect_uris: body.redirect_uris,
        permissions: body.permissions,
        client_type: body.client_type,
    })?;
    idempotency
        .run(&s, &who, Guarded::Integrations { project: pid }, async {
            let (integration, secret) = s.tengine.create_integration(&who, pid, new).await?;
            let location = format!("{}/{}", uri.path().trim_end_matches('/'), integration.id);
            let body = IntegrationBody::new(integration, secret.as_ref());
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
        })
        .await
}

/// Gets an integration (without its secret). Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/integrations/{integration_id}",
    operation_id = "getIntegration",
    tag = "Integrations",
    summary = "Get an integration",
    params(IntegrationPath),
    responses((status = 200, description = "The integration.", body = IntegrationBody), ResourceErrors)
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, iid)): Ids<(ProjectId, IntegrationId)>,
) -> Result<Json<IntegrationBody>, ApiError> {
    Ok(Json(IntegrationBody::new(s.tengine.get_integration(&who, pid, iid).await?, None)))
}

/// Changes an integration's name, redirect URIs or permissions. Needs `webhook` and any
/// permission it adds. Narrowed permissions narrow every connection at once.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{project_id}/integrations/{integration_id}",
    operation_id = "updateIntegration",
    tag = "Integrations",
    summary = "Update an integration",
    params(IntegrationPath),
    request_body = PatchBody,
    responses((status = 200, description = "The updated integration.", body = IntegrationBody), ResourceErrors, BodyErrors)
)]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, iid)): Ids<(ProjectId, IntegrationId)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<IntegrationBody>, ApiError> {
    let patch = patch(body)?;
    Ok(Json(IntegrationBody::new(s.tengine.update_integration(&who, pid, iid, patch).await?, None)))
}

/// Deletes an integration: every connection is disconnected and its tokens stop working.
/// Needs `webhook`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/integrations/{integration_id}",
    operation_id = "deleteIntegration",
    tag = "Integrations",
    summary = "Delete an integration",
    params(IntegrationPath),
    responses((status = 204, description = "Deleted; no body."), ResourceErrors)
)]
async fn destroy(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, iid)): Ids<(ProjectId, IntegrationId)>,
) -> Result<StatusCode, ApiError> {
    s.tengine.delete_integration(&who, pid, iid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a confidential client a new secret; the old one stops working at once. Needs
/// `webhook` and the integration's permissions. A public client has none (422).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/integrations/{integration_id}/rotate-secret",
    operation_id = "rotateIntegrationSecret",
    tag = "Integrations",
    summary = "Rotate a client secret",
    params(IntegrationPath),
    responses((status = 200, description = "The integration, with its new `client_secret`.", body = IntegrationBody), ResourceErrors, BodyErrors)
)]
async fn rotate_secret(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    Ids((pid, iid)): Ids<(ProjectId, IntegrationId)>,
) -> Result<Response, ApiError> {
    idempotency
        .run(&s, &who, Guarded::Integrations { project: pid }, async {
            let (integration, secret) = s.tengine.rotate_client_secret(&who, pid, iid).await?;
            Ok(Json(IntegrationBody::new(integration, Some(&secret))).into_response())
        })
        .await
}

/// Lists an integration's connections (who approved, what was granted, last use), newest
/// first, revoked ones included. Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/integrations/{integration_id}/connections",
    operation_id = "listIntegrationConnections",
    tag = "Integrations",
    summary = "List connections",
    params(IntegrationPath, PageQuery),
    responses(
        (status = 200, description = "A page of connections.", body = ConnectionList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        ResourceErrors,
        QueryErrors,
    )
)]
async fn connections(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, iid)): Ids<(ProjectId, IntegrationId)>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let items = s.tengine.list_connections(&who, pid, iid, page).await?.map(ConnectionBody::from);
    Ok(list_response(items, uri.path()))
}

/// Disconnects a connection: every token issued from it stops working at once on this
/// instance and within a second on others. Needs `webhook`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/integrations/{integration_id}/connections/{connection_id}",
    operation_id = "deleteIntegrationConnection",
    tag = "Integrations",
    summary = "Disconnect a connection",
    params(ConnectionPath),
    responses((status = 204, description = "Disconnected; no body."), ResourceErrors)
)]
async fn disconnect(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, iid, cid)): Ids<(ProjectId, IntegrationId, ConnectionId)>,
) -> Result<StatusCode, ApiError> {
    s.tengine.disconnect(&who, pid, iid, cid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether clients may register themselves with this project (RFC 7591 dynamic client
/// registration, off by default). Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/client-registration",
    operation_id = "getClientRegistration",
    tag = "Integrations",
    summary = "Get the client registration policy",
    params(ProjectPath),
    responses((status = 200, description = "The policy.", body = RegistrationPolicyBody), ProjectErrors)
)]
async fn registration(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(pid): Ids<ProjectId>,
) -> Result<Json<RegistrationPolicyBody>, ApiError> {
    Ok(Json(s.tengine.registration_policy(&who, pid).await?.into()))
}

/// Turns dynamic client registration on or off for this project. Needs `admin`: once on,
/// anyone who can reach the server can register a client (each still needs an admin's
/// consent to connect).
#[utoipa::path(
    put,
    path = "/api/v1/projects/{project_id}/client-registration",
    operation_id = "setClientRegistration",
    tag = "Integrations",
    summary = "Set the client registration policy",
    params(ProjectPath),
    request_body = RegistrationBody,
    responses((status = 200, description = "The policy now.", body = RegistrationPolicyBody), ProjectErrors, BodyErrors)
)]
async fn set_registration(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(pid): Ids<ProjectId>,
    ApiJson(body): ApiJson<RegistrationBody>,
) -> Result<Json<RegistrationPolicyBody>, ApiError> {
    let permissions = match body.permissions {
        Some(p) => PermissionSet::parse_list("permissions", &p)?,
        None => RegistrationPolicy::default().permissions,
    };
    let policy = RegistrationPolicy { enabled: body.enabled, permissions };
    Ok(Json(s.tengine.set_registration_policy(&who, pid, policy).await?.into()))
}

/// What the consent page shows of an authorization request.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsentPrompt)]
struct ConsentBody {
    /// The integration asking.
    integration: IntegrationBody,
    /// The project it would reach.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    project_id: String,
    /// The project's name.
    project_name: String,
    /// What it asks for.
    #[schema(value_type = Vec<PermissionName>)]
    permissions: Vec<&'static str>,
    /// Where the answer will be sent.
    redirect_uri: String,
    /// The audience asked for (RFC 8707), or null.
    #[schema(required = true)]
    resource: Option<String>,
}

/// The consent decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ConsentDecisionRequest, example = json!({"approve": true, "permissions": ["read"]}))]
struct DecisionBody {
    /// Approve (a code is issued) or deny (`access_denied` goes back to the client).
    approve: bool,
    /// What to grant: at most what was asked (default: all of it).
    #[serde(default)]
    #[schema(value_type = Option<Vec<PermissionName>>, min_items = 1)]
    permissions: Option<Vec<String>>,
}

/// Where the browser goes next.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsentDecision)]
struct RedirectBody {
    /// The client's redirect URI with `code` and `state` (or `error`).
    redirect_to: String,
}

/// The authorization request parameters, read strictly from the query string.
fn authorize_params(q: Option<&str>) -> Result<AuthorizeParams, ApiError> {
    let q = Query::parse(
        q,
        &[
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "resource",
        ],
    )?;
    let get = |n: &str| q.get(n).map(str::to_owned);
    Ok(AuthorizeParams {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        resource: get("resource"),
    })
}

/// Checks an authorization request for the consent endpoints: a missing or unknown client
/// is a 404 (no such integration), anything else a 422 naming the OAuth error, so the
/// page can say why.
async fn checked_request(s: &AppState, params: &AuthorizeParams) -> Result<AuthorizeRequest, ApiError> {
    if params.client_id.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::not_found(IntegrationId::KIND));
    }
    s.tengine.authorize_request(params).await.map_err(|e| {
        let error = match e {
            AuthorizeError::Unredirectable(e) | AuthorizeError::Redirect { error: e, .. } => e,
        };
        if error.code == "invalid_client" {
            return ApiError::not_found(IntegrationId::KIND);
        }
        let reason = format!("{}: {}", error.code, error.description);
        ApiError::from(ValidationError::field("authorization_request", reason))
    })
}

/// Checks an authorization request for the consent page and says what it asks. The
/// caller must hold `admin` on the integration's project.
#[utoipa::path(
    get,
    path = "/api/v1/oauth/authorization",
    operation_id = "getConsentRequest",
    tag = "Integrations",
    summary = "Describe an authorization request",
    params(AuthorizeQuery),
    responses((status = 200, description = "What the request asks for.", body = ConsentBody), ProjectErrors, QueryErrors)
)]
async fn consent_request(
    State(s): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> Result<Json<ConsentBody>, ApiError> {
    let params = authorize_params(q.as_deref())?;
    // Permission before existence (SPEC's check order).
    who.require(tengine_domain::Permission::Admin).map_err(tengine_application::AppError::from)?;
    let request = checked_request(&s, &params).await?;
    let project = s.tengine.get_project(&who, request.integration.project_id).await?;
    Ok(Json(ConsentBody {
        project_id: project.id.to_string(),
        project_name: project.name.as_str().to_owned(),
        permissions: request.permissions.names(),
        redirect_uri: request.redirect_uri,
        resource: request.resource,
        integration: IntegrationBody::new(request.integration, None),
    }))
}

/// Approves or denies an authorization request as the caller, who must hold `admin` on
/// the integration's project (a key, or the console signed in with one). Answers where
/// to send the browser: the client's redirect URI with a code, or with `access_denied`.
#[utoipa::path(
    post,
    path = "/api/v1/oauth/authorization",
    operation_id = "decideConsent",
    tag = "Integrations",
    summary = "Approve or deny an authorization request",
    params(AuthorizeQuery),
    request_body = DecisionBody,
    responses((status = 200, description = "Where to send the browser.", body = RedirectBody), ProjectErrors, BodyErrors)
)]
async fn consent(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    RawQuery(q): RawQuery,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Response, ApiError> {
    let params = authorize_params(q.as_deref())?;
    let granted = body.permissions.map(|p| PermissionSet::parse_list("permissions", &p)).transpose()?;
    who.require(tengine_domain::Permission::Admin).map_err(tengine_application::AppError::from)?;
    let request = checked_request(&s, &params).await?;
    let project = request.integration.project_id;
    idempotency
        .run(&s, &who, Guarded::Consent { project }, async {
            let state = request.state.as_deref();
            let to = if body.approve {
                let code = s.tengine.approve_authorization(&who, &request, granted).await?;
                let scope = scope_of(granted.unwrap_or(request.permissions));
                redirect_with(&request.redirect_uri, &[("code", code.expose_secret()), ("scope", &scope)], state)
            } else {
                // Only someone who could approve may send the refusal on.
                s.tengine.get_project(&who, project).await?;
                let denied = [("error", "access_denied"), ("error_description", "the request was denied")];
                redirect_with(&request.redirect_uri, &denied, state)
            };
            Ok(Json(RedirectBody { redirect_to: to }).into_response())
        })
        .await
}
