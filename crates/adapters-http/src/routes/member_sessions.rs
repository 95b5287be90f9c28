//! Member sessions: a project's signing keys (`/projects/{id}/signing-keys`) and the
//! exchange of a member assertion for a `tng_mst_` token (`POST /mcp/session-token`).

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tengine_application::Guarded;
use tengine_domain::member_session::{NewSigningKey, PublicKey, SigningKey};
use tengine_domain::{time, ProjectId, SigningKeyId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list_response;
use crate::doc::params::{PageQuery, ProjectPath, SigningKeyPath};
use crate::doc::responses::{BodyErrors, ProjectErrors, QueryErrors, ResourceErrors};
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Ids, Query};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, destroy)).routes(routes!(session_token))
}

/// A project's public key for member assertions.
#[derive(Serialize, ToSchema)]
#[schema(as = SigningKey)]
pub struct SigningKeyBody {
    /// Its id.
    #[schema(pattern = r"^sk_[0-9A-Za-z]{22}$")]
    id: String,
    /// The project.
    project_id: String,
    /// The `kid` assertions name it by.
    kid: String,
    /// `ES256`, `ES384`, `EdDSA` or `RS256`.
    #[schema(pattern = "^(ES256|ES384|EdDSA|RS256)$")]
    alg: &'static str,
    /// The PEM public key, when registered as PEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_pem: Option<String>,
    /// The JWK, when registered as a JWK.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    jwk: Option<Value>,
    /// When it was registered.
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<SigningKey> for SigningKeyBody {
    fn from(k: SigningKey) -> Self {
        let (public_key_pem, jwk) = match k.key {
            PublicKey::Pem(p) => (Some(p), None),
            PublicKey::Jwk(j) => (None, Some(j)),
        };
        Self {
            id: k.id.to_string(),
            project_id: k.project_id.to_string(),
            kid: k.kid,
            alg: k.alg.as_str(),
            public_key_pem,
            jwk,
            created_at: time::format(k.created_at),
        }
    }
}

/// A key to register: exactly one of `public_key_pem` and `jwk`, never a private key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateSigningKeyRequest)]
struct CreateBody {
    /// The `kid` your assertions' header names (1 to 128 visible characters).
    #[schema(min_length = 1, max_length = 128)]
    kid: String,
    /// `ES256`, `ES384`, `EdDSA` or `RS256`.
    #[schema(pattern = "^(ES256|ES384|EdDSA|RS256)$")]
    alg: String,
    /// A `-----BEGIN PUBLIC KEY-----` PEM (SubjectPublicKeyInfo).
    #[serde(default)]
    #[schema(max_length = 16384)]
    public_key_pem: Option<String>,
    /// A public JWK whose `kty`/`crv` fit `alg`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    jwk: Option<Value>,
}

type SigningKeyList = crate::dto::ListSchema<SigningKeyBody>;

/// Lists the project's signing keys, newest first. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/signing-keys",
    operation_id = "listSigningKeys",
    tag = "Member sessions",
    summary = "List signing keys",
    params(ProjectPath, PageQuery),
    responses(
        (status = 200, description = "A page of signing keys.", body = SigningKeyList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
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
    let keys = s.tengine.list_signing_keys(&who, pid, page).await?.map(SigningKeyBody::from);
    Ok(list_response(keys, uri.path()))
}

/// Registers a public key your backend signs member assertions with. Needs `admin`. A
/// `kid` already registered in the project is a 422 on `kid`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/signing-keys",
    operation_id = "createSigningKey",
    tag = "Member sessions",
    summary = "Register a signing key",
    params(ProjectPath),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The key.", body = SigningKeyBody,
            headers(("Location" = String, description = "`/api/v1/projects/{project_id}/signing-keys/{id}`."))),
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
    let new = NewSigningKey::parse(&body.kid, &body.alg, body.public_key_pem.as_deref(), body.jwk.as_ref())?;
    idempotency
        .run(&s, &who, Guarded::SigningKeys { project: pid }, async {
            let key = s.tengine.create_signing_key(&who, pid, new).await?;
            let location = format!("{}/{}", uri.path().trim_end_matches('/'), key.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(SigningKeyBody::from(key))).into_response())
        })
        .await
}

/// Gets a signing key. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/signing-keys/{signing_key_id}",
    operation_id = "getSigningKey",
    tag = "Member sessions",
    summary = "Get a signing key",
    params(SigningKeyPath),
    responses((status = 200, description = "The key.", body = SigningKeyBody), ResourceErrors)
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, kid)): Ids<(ProjectId, SigningKeyId)>,
) -> Result<Json<SigningKeyBody>, ApiError> {
    Ok(Json(SigningKeyBody::from(s.tengine.get_signing_key(&who, pid, kid).await?)))
}

/// Deletes a signing key: assertions it signed are refused from now on (member sessions
/// already opened end within their 15 minutes). Needs `admin`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/signing-keys/{signing_key_id}",
    operation_id = "deleteSigningKey",
    tag = "Member sessions",
    summary = "Delete a signing key",
    params(SigningKeyPath),
    responses((status = 204, description = "Deleted."), ResourceErrors)
)]
async fn destroy(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, kid)): Ids<(ProjectId, SigningKeyId)>,
) -> Result<StatusCode, ApiError> {
    s.tengine.delete_signing_key(&who, pid, kid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member assertion to exchange.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SessionTokenRequest)]
struct SessionTokenBody {
    /// A JWT your backend signed with a registered key: header `kid` and `alg`; claims
    /// `sub` (the member's stable id), optional `email` and `roles`, `aud` (this server's
    /// public URL), `exp` (at most 60 s ahead), `jti` (used once).
    #[schema(max_length = 16384)]
    member_assertion: String,
}

/// A member session.
#[derive(Serialize, ToSchema)]
#[schema(as = SessionToken)]
pub struct SessionTokenAnswer {
    /// The bearer token for `/mcp` (`tng_mst_...`), shown in this answer only.
    token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires (900).
    expires_in: i64,
    /// When it expires.
    #[schema(format = DateTime)]
    expires_at: String,
    /// The project it is bound to.
    project_id: String,
    /// The member it acts for.
    #[schema(value_type = Object)]
    member: Value,
}

/// Exchanges a member assertion for a member session token valid 15 minutes at `/mcp`,
/// bound to the project and the member. Call it from your backend with a project key
/// that has `write` (an account-wide key names the project with `X-Tengine-Project-Id`).
/// A refused assertion is a 422 on `member_assertion` saying why.
#[utoipa::path(
    post,
    path = "/api/v1/mcp/session-token",
    operation_id = "createMemberSessionToken",
    tag = "Member sessions",
    summary = "Open a member session",
    params(("X-Tengine-Project-Id" = Option<String>, Header, description = "The project, for an account-wide key.")),
    request_body = SessionTokenBody,
    responses(
        (status = 201, description = "The member session token (shown once).", body = SessionTokenAnswer,
            headers(("Location" = String, description = "`/mcp`, where the token works."))),
        ProjectErrors,
        BodyErrors,
    )
)]
async fn session_token(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SessionTokenBody>,
) -> Result<Response, ApiError> {
    let project = s.tengine.mcp_project(&who, crate::mcp::requested_project(&headers)?)?;
    let audience = crate::mcp::public_origin(&s.tengine, &headers);
    idempotency
        .run(&s, &who, Guarded::MemberSession { project }, async {
            let (session, token) =
                s.tengine.open_member_session(&who, project, &body.member_assertion, &audience).await?;
            let member = session.member.as_ref().map_or(Value::Null, |m| {
                serde_json::json!({
                    "id": m.id.as_str(),
                    "email": m.email.as_ref().map(|e| e.as_str()),
                    "roles": m.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                })
            });
            let answer = SessionTokenAnswer {
                token: token.expose_secret().to_owned(),
                token_type: "Bearer",
                expires_in: (session.expires_at - session.created_at).num_seconds().max(0),
                expires_at: time::format(session.expires_at),
                project_id: project.to_string(),
                member,
            };
            Ok((StatusCode::CREATED, [(header::LOCATION, "/mcp")], Json(answer)).into_response())
        })
        .await
}
