//! Who is calling (`GET /me`), console sign-in sessions, and portal sessions: an admin
//! opens one for a project, its one-time URL is opened in an iframe, and the portal
//! exchanges the URL's code for its bearer token.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tengine_application::Guarded;
use tengine_domain::session::NewPortalSession;
use tengine_domain::{time, ProjectId, SessionId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list_response;
use crate::doc::params::{PageQuery, PortalSessionPath, ProjectPath};
use crate::doc::responses::{AuthErrors, BodyErrors, ProjectErrors, QueryErrors, ResourceErrors};
use crate::dto::{ConsoleSessionBody, MeBody, PortalExchangeBody, PortalSessionBody, ThemeBody};
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Ids, Query};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(exchange))
        .routes(routes!(list_portals, open_portal))
        .routes(routes!(revoke_portal))
}

/// Who the caller is: key, scope, permissions, plan and the browser session, if any.
/// Any valid key or session.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "getMe",
    tag = "Me",
    summary = "Who am I",
    responses((status = 200, description = "The caller.", body = MeBody), AuthErrors)
)]
async fn me(State(s): State<AppState>, Auth(who): Auth) -> Result<Json<MeBody>, ApiError> {
    Ok(Json(MeBody::from(s.tengine.me(&who).await?)))
}

/// An empty JSON object.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SignInRequest)]
struct SignInBody {}

/// Signs in to the console: exchanges the API key in `Authorization` for a bearer token
/// that acts as the key for 8 hours, ends when the key is revoked or expires, and is
/// what the console keeps instead of the key. A session token cannot open sessions.
#[utoipa::path(
    post,
    path = "/api/v1/console/sessions",
    operation_id = "createConsoleSession",
    tag = "Me",
    summary = "Sign in to the console",
    request_body = SignInBody,
    responses(
        (status = 201, description = "The session's token (shown once).", body = ConsoleSessionBody,
            headers(("Location" = String, description = "`/api/v1/console/sessions/current`."))),
        AuthErrors,
        BodyErrors,
    )
)]
async fn sign_in(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    ApiJson(_body): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    idempotency
        .run(&s, &who, Guarded::ConsoleSession, async {
            let (session, token) = s.tengine.open_console_session(&who).await?;
            let body = ConsoleSessionBody {
                token: token.expose_secret().to_owned(),
                expires_at: time::format(session.expires_at),
            };
            let location = "/api/v1/console/sessions/current";
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
        })
        .await
}

/// Signs the calling console session out (its token stops working at once).
#[utoipa::path(
    delete,
    path = "/api/v1/console/sessions/current",
    operation_id = "deleteConsoleSession",
    tag = "Me",
    summary = "Sign out of the console",
    responses(
        (status = 204, description = "Signed out."),
        (status = 404, description = "The caller is not a console session.", body = crate::doc::schemas::ErrorBody),
        AuthErrors,
    )
)]
async fn sign_out(State(s): State<AppState>, Auth(who): Auth) -> Result<StatusCode, ApiError> {
    s.tengine.close_console_session(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A portal URL's one-time code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PortalExchangeRequest)]
struct ExchangeBody {
    /// The `code` from the portal URL's fragment (`psc_...`).
    #[schema(max_length = 128)]
    code: String,
}

/// Opens a portal: exchanges its URL's one-time code (no `Authorization`) for the
/// bearer token the portal uses. A code works once; a used, revoked or expired one is
/// 401. Not idempotent on purpose: a second exchange never returns the token again.
#[utoipa::path(
    post,
    path = "/api/v1/portal/exchange",
    operation_id = "exchangePortalCode",
    tag = "Portal sessions",
    summary = "Open a portal",
    security(()),
    request_body = ExchangeBody,
    responses(
        (status = 200, description = "The portal's token and what it shows.", body = PortalExchangeBody),
        (status = 401, description = "The code is unknown, used, revoked or expired.", body = crate::doc::schemas::ErrorBody),
        BodyErrors,
    )
)]
async fn exchange(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<ExchangeBody>,
) -> Result<Json<PortalExchangeBody>, ApiError> {
    let (session, token) = s.tengine.exchange_portal_code(&body.code).await?;
    Ok(Json(PortalExchangeBody {
        token: token.expose_secret().to_owned(),
        expires_at: time::format(session.expires_at),
        project_id: session.project_id.map(|p| p.to_string()).unwrap_or_default(),
        sections: session.sections.iter().map(|x| x.as_str()).collect(),
        permissions: session.permissions.names(),
        theme: session.theme.as_ref().map(ThemeBody::from),
    }))
}

/// A new portal session.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreatePortalSessionRequest)]
struct CreatePortalBody {
    /// What the portal may do: any of `read`, `write`, `webhook` (never `admin`).
    #[schema(min_items = 1)]
    permissions: Vec<String>,
    /// What it shows: any of `keys`, `webhooks`, `deliveries`, `usage` (default all).
    #[serde(default)]
    sections: Option<Vec<String>>,
    /// Its lifetime in seconds, 60 to 86400 (default 3600).
    #[serde(default)]
    #[schema(minimum = 60, maximum = 86_400)]
    lifetime_secs: Option<i64>,
    /// Origins whose pages may frame it (`https://host[:port]`; `http` for localhost), at
    /// most 16; none: it cannot be framed.
    #[serde(default)]
    allowed_origins: Vec<String>,
    /// Its look.
    #[serde(default)]
    theme: Option<ThemeBody>,
}

type PortalList = crate::dto::ListSchema<PortalSessionBody>;

/// Lists the project's portal sessions, newest first. Needs `admin`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/portal-sessions",
    operation_id = "listPortalSessions",
    tag = "Portal sessions",
    summary = "List portal sessions",
    params(ProjectPath, PageQuery),
    responses(
        (status = 200, description = "A page of portal sessions (never their codes or tokens).", body = PortalList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        ProjectErrors,
        QueryErrors,
    )
)]
async fn list_portals(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(pid): Ids<ProjectId>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let now = s.tengine.now();
    let sessions =
        s.tengine.list_portal_sessions(&who, pid, page).await?.map(|x| PortalSessionBody::new(&x, None, now));
    Ok(list_response(sessions, uri.path()))
}

/// Opens a portal session for the project: a one-time URL showing that project's chosen
/// sections, embeddable in an iframe of the allowed origins. Needs `admin` (an API key,
/// not a session); it ends when revoked, when it expires, or when the key is revoked.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/portal-sessions",
    operation_id = "createPortalSession",
    tag = "Portal sessions",
    summary = "Create a portal session",
    params(ProjectPath),
    request_body = CreatePortalBody,
    responses(
        (status = 201, description = "The session with its one-time URL (shown once).", body = PortalSessionBody,
            headers(("Location" = String, description = "`/api/v1/projects/{project_id}/portal-sessions/{id}`."))),
        ProjectErrors,
        BodyErrors,
    )
)]
async fn open_portal(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    Ids(pid): Ids<ProjectId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePortalBody>,
) -> Result<Response, ApiError> {
    let new = NewPortalSession::parse(
        &body.permissions,
        body.sections.as_deref(),
        body.lifetime_secs,
        &body.allowed_origins,
        body.theme.map(Into::into),
    )?;
    let base = crate::mcp::public_origin(&s.tengine, &headers);
    idempotency
        .run(&s, &who, Guarded::PortalSessions { project: pid }, async {
            let opened = s.tengine.open_portal_session(&who, pid, new).await?;
            let url = format!("{base}/portal/{}#code={}", opened.session.id, opened.code.expose_secret());
            let location = format!("/api/v1/projects/{pid}/portal-sessions/{}", opened.session.id);
            let body = PortalSessionBody::new(&opened.session, Some(url), s.tengine.now());
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
        })
        .await
}

/// Revokes a portal session: its page stops working at once. Needs `admin`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/portal-sessions/{session_id}",
    operation_id = "revokePortalSession",
    tag = "Portal sessions",
    summary = "Revoke a portal session",
    params(PortalSessionPath),
    responses((status = 204, description = "Revoked."), ResourceErrors)
)]
async fn revoke_portal(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, sid)): Ids<(ProjectId, SessionId)>,
) -> Result<StatusCode, ApiError> {
    s.tengine.revoke_portal_session(&who, pid, sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
